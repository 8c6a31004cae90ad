//! End-to-end tests: a real tonearm process, a real library, real HTTP, on SQLite and
//! on PostgreSQL.

mod harness;

mod auth;
mod browse;
mod errors;
mod playlists;
mod scan;
mod social;
mod userdata;
