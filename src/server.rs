//! Running the HTTP server: bind, scan in the background, serve until a signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::scanner::{self, LogProgress, ScanOptions};
use crate::store::Store;

pub async fn run(store: Store, settings: Settings, scan: bool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    // Scripts and tests read this line to find the port when --listen asked for port 0.
    println!("tonearm listening on http://{address}");
    tracing::info!(
        "serving the Ampache API at http://{address}/server/xml.server.php and /server/json.server.php (database {})",
        crate::store::redact(&settings.database_url)
    );
    if scan {
        let scan_store = store.clone();
        tokio::spawn(async move {
            match scanner::scan_all(
                &scan_store,
                ScanOptions::default(),
                Arc::new(LogProgress::default()),
            )
            .await
            {
                Ok(summary) => tracing::info!("background scan finished: {summary}"),
                Err(e) => tracing::error!("background scan failed: {e:#}"),
            }
        });
    }
    let state = Arc::new(AppState { store, settings });
    let app = api::router(state).layer(tower_http::trace::TraceLayer::new_for_http());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the server stopped with an error")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
