//! tonearm: a fast, self-hosted music and video server speaking Ampache's API.
//!
//! The crate is a library with a thin binary (`main.rs`) so that benchmarks and the
//! fuzz targets (`fuzz/`) reach the same parsers the server runs.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod control;
pub mod files;
pub mod http;
pub mod media;
pub mod metadata;
pub mod metrics;
pub mod model;
pub mod params;
pub mod private_files;
pub mod scanner;
pub mod server;
pub mod store;
