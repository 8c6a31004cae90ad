//! End-to-end tests: a real tonearm process, a real library, real HTTP, on SQLite and
//! on PostgreSQL.

mod harness;

mod auth;
mod browse;
mod defects;
mod diskfull;
mod errors;
mod folding;
mod media;
mod playlists;
mod scan;
mod search;
mod security;
mod social;
mod stats_random;
mod userdata;
