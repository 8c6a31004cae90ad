//! What the HTTP side of tonearm shares: the state every handler reaches (the
//! protocol fronts and the media endpoints alike) and the listener with the two ends
//! of each connection.

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

/// The server's listener: TCP, with Nagle's algorithm off on every connection, so
/// small answers (a redirect, a ping) do not wait for the peer's delayed ACK.
pub struct Listener(pub tokio::net::TcpListener);

impl axum::serve::Listener for Listener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer) = axum::serve::Listener::accept(&mut self.0).await;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        (stream, peer)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Listener>>
    for Connection
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, Listener>) -> Connection {
        let peer = *stream.remote_addr();
        let local = stream.io().local_addr().unwrap_or(peer);
        Connection { peer, local }
    }
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
