//! Media: the URLs responses carry, streaming files by id, and art.

pub mod urls;
