//! End-to-end tests: a real tonearm process, a real library, real HTTP, on SQLite and
//! on PostgreSQL.

mod harness;

mod auth;
mod bad_input;
mod browse;
mod catalog;
mod defects;
mod democratic;
mod diskfull;
mod errors;
mod faults;
mod folding;
mod localplay;
mod media;
mod metadata;
mod metrics;
mod playlists;
mod scan;
mod search;
mod security;
mod social;
mod stats_random;
mod transcode;
mod userdata;
mod video;
