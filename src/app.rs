//! What the HTTP side of tonearm shares: the state every handler reaches (the
//! protocol fronts and the media endpoints alike) and the two ends of each
//! connection (the accept loop is `http`).

use std::net::SocketAddr;

use crate::config::Settings;
use crate::store::Store;

/// Both ends of a client's connection: whom it came from, and which of our addresses
/// it reached (the only host a response's URLs may name without configuration).
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// What every request handler can reach. Holds nothing a request needs beyond the
/// store, so any number of processes can serve the same database.
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    /// The metadata services' client (shared, so their rate limits hold).
    pub metadata: crate::metadata::Metadata,
    /// This process's ffmpeg jobs (their output is shared through the cache on disk).
    pub transcoder: crate::media::transcode::Transcoder,
    /// This process's queue of catalog passes (catalog_action, the watcher, rescans).
    pub upkeep: std::sync::Arc<crate::scanner::upkeep::Upkeep>,
}
