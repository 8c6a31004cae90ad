//! Running the HTTP server: bind, scan in the background, serve until a signal.

use std::sync::Arc;

use anyhow::Context;

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::scanner;
use crate::store::{Engine, Store};

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
    let interval = if settings.watch {
        settings.rescan_interval
    } else {
        0
    };
    let upkeep = scanner::upkeep::Upkeep::start(store.clone(), interval);
    if scan {
        upkeep.rescan_all().await?;
    }
    if let Some(address) = settings.metrics_listen {
        crate::metrics::serve(address, store.clone()).await?;
    }
    // Kept to the end of `run`: dropping it stops the watches.
    let _watcher = if settings.watch {
        upkeep.start_periodic_rescans();
        scanner::watch::start(upkeep.clone(), store.catalogs().await?)
    } else {
        None
    };
    tokio::spawn(return_freed_memory(store.clone()));
    if store.engine == Engine::Postgres {
        tokio::spawn(keep_opinion_statistics_fresh(store.clone()));
    }
    let metadata = crate::metadata::Metadata::new(settings.metadata.clone())
        .context("cannot set up the metadata services' HTTP client")?;
    let transcoder =
        crate::media::transcode::Transcoder::new(settings.transcode.clone(), &settings.data_dir);
    let state = Arc::new(AppState {
        store: store.clone(),
        settings,
        metadata,
        transcoder: transcoder.clone(),
        upkeep,
    });
    let limits = state.settings.http;
    let app = api::router(state)
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span));
    let shutdown = {
        let transcoder = transcoder.clone();
        async move {
            shutdown_signal().await;
            // Streams of running transcodes end now, so their connections close.
            transcoder.shutdown(std::time::Duration::ZERO).await;
        }
    };
    crate::http::serve(listener, app, limits, shutdown).await;
    // Every ffmpeg is killed; wait until each is reaped, so none outlives us.
    transcoder.shutdown(std::time::Duration::from_secs(5)).await;
    // A background scan may hold a connection for the rest of its batch; do not wait
    // on it for long.
    if tokio::time::timeout(std::time::Duration::from_secs(5), store.close())
        .await
        .is_err()
    {
        tracing::warn!("the database was still busy at exit");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The span of one request: its method and path, never the query string or the
/// headers, which carry passwords' hashes, API keys and session tokens (`auth`,
/// `ssid`, `apikey`, `passphrase`, `password`, `Authorization`).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    )
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

/// Few malloc arenas (one per core, 2 to 4), freed memory kept up to 8 MB per arena,
/// and everything free returned every two seconds by [`return_freed_memory`]. Called
/// first thing in `main`, before any thread exists: a thread that has already
/// allocated keeps the arena it has.
///
/// With glibc's defaults (up to 8 arenas a core, large buffers mapped and unmapped
/// each time, freed heap returned at once) every chunk of a list faulted its pages in
/// again: a fifth of a 5000-song page's CPU. Keeping freed memory without bounding
/// the arenas cost idle RSS instead, since `malloc_trim` does not shrink the top of a
/// thread arena's heap (idle RSS 24 -> 48-58 MiB); the 8 MB trim threshold bounds
/// each arena's top, and few arenas bound their number. One arena was measured too:
/// its lock made the scanner's threads and a list's reading and writing threads wait
/// for each other (first scan of 100,000 files 6.3 -> 8.2 s). On the 100,000-track
/// library, 2 cores:
/// - a 5000-song page in JSON, 40 requests one after another: 51 -> 42 ms of
///   server CPU each when this came; at the end of that session, alternating the
///   two builds, 35-38 ms with one arena a core and 43-52 ms with one arena;
/// - first scan 6.2-6.3 s with the defaults, 6.9-7.1 s with this;
/// - idle RSS after large lists 24 -> 27.5 MiB; eight concurrent `songs limit=none`:
///   peak 72 -> 59 MiB.
pub fn tune_the_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let arenas = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
        // SAFETY: mallopt only changes allocator tuning parameters.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas as libc::c_int);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * 1024 * 1024);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 8 * 1024 * 1024);
        }
    }
}

/// Large answers (a page of 5000 songs is megabytes) leave freed memory in the
/// allocator's arenas; glibc keeps it unless asked. Every two seconds the server asks
/// (a walk of the free lists, well under a millisecond, on a blocking thread so no
/// request waits behind it), so its resident size falls back soon after a burst.
/// Every half second it also checks whether the store has been idle since the last
/// check; if so the read connections' page caches are emptied first and the memory
/// returned at once (idle RSS stays what it was with caches a quarter the size).
async fn return_freed_memory(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        let store = store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if store.release_idle_caches() || ticks.is_multiple_of(4) {
                trim_the_allocator();
            }
        })
        .await;
    }
}

/// Analyzes PostgreSQL's ratings, flags and plays every two seconds once they have
/// changed enough (see `store/opinion_statistics.rs`). Started on PostgreSQL only.
async fn keep_opinion_statistics_fresh(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        tick.tick().await;
        match store.refresh_opinion_statistics().await {
            Ok(analyzed) if analyzed > 0 => {
                tracing::debug!(tables = analyzed, "analyzed the opinion tables");
            }
            Ok(_) => {}
            // A database that is away is reported by the requests; try again later.
            Err(error) => tracing::debug!(%error, "could not check the opinion tables"),
        }
    }
}

/// Hands the allocator's free memory back to the kernel (glibc only).
fn trim_the_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory back to the kernel; it takes no
    // pointers and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
