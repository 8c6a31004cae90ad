//! Prometheus metrics: API requests and their latency per method, errors by code,
//! live sessions, scan progress and transcodes running. Off unless an address is
//! given (`--metrics-listen`), and then served there only, never beside the API, so
//! that what it tells stays on the network the admin chose.

use std::net::SocketAddr;
use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::Store;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// An API method's name, or "unknown": the label never holds what a client
    /// made up, so the number of series stays bounded.
    method: &'static str,
    format: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

type LatencyFamily = Family<MethodLabel, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    errors: Family<CodeLabel, Counter>,
    sessions: Gauge,
    /// Files the running scan has read, and those it found to read (0 when idle).
    pub scan_files_done: Gauge,
    pub scan_files_total: Gauge,
    /// ffmpeg processes running for transcodes.
    pub transcodes_running: Gauge,
}

/// The process's metrics; every part of tonearm records into the same ones.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tonearm");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = LatencyFamily::new_with_constructor(latency_histogram);
        let errors = Family::<CodeLabel, Counter>::default();
        let sessions = Gauge::default();
        let scan_files_done = Gauge::default();
        let scan_files_total = Gauge::default();
        let transcodes_running = Gauge::default();
        registry.register(
            "api_requests",
            "API requests answered, by method and format",
            requests.clone(),
        );
        registry.register(
            "api_request_duration_seconds",
            "Time to the start of the answer, by API method",
            latency.clone(),
        );
        registry.register(
            "api_errors",
            "Ampache errors answered, by code",
            errors.clone(),
        );
        registry.register("sessions", "Live API sessions", sessions.clone());
        registry.register(
            "scan_files_done",
            "Files the running scan has read",
            scan_files_done.clone(),
        );
        registry.register(
            "scan_files_total",
            "Files the running scan found to read",
            scan_files_total.clone(),
        );
        registry.register(
            "transcodes_running",
            "ffmpeg processes transcoding now",
            transcodes_running.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            errors,
            sessions,
            scan_files_done,
            scan_files_total,
            transcodes_running,
        }
    }

    /// One API request: its method (None: not a method), format, time to the start
    /// of its answer, and its Ampache error code if it failed.
    pub fn record_request(
        &self,
        method: Option<&'static str>,
        format: &'static str,
        seconds: f64,
        error: Option<u16>,
    ) {
        let method = method.unwrap_or("unknown");
        self.requests
            .get_or_create(&RequestLabels { method, format })
            .inc();
        self.latency
            .get_or_create(&MethodLabel { method })
            .observe(seconds);
        if let Some(code) = error {
            self.errors.get_or_create(&CodeLabel { code }).inc();
        }
    }

    /// The text exposition, with the gauges read now.
    pub async fn render(&self, store: &Store) -> String {
        match store.live_sessions().await {
            Ok(count) => {
                self.sessions.set(count);
            }
            Err(e) => tracing::warn!("metrics: cannot count sessions: {e}"),
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Serves `/metrics` on `address` until the process ends.
pub async fn serve(address: SocketAddr, store: Store) -> anyhow::Result<()> {
    use anyhow::Context;
    use axum::http::header;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("metrics at http://{bound}/metrics");
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let store = store.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics().render(&store).await,
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the metrics server stopped: {e}");
        }
    });
    Ok(())
}
