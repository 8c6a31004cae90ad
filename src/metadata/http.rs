//! The one HTTP client the metadata services share: a total timeout per request,
//! a size cap on every answer, and a gate per service that spaces its requests as
//! the service asks (MusicBrainz: one a second, or it answers 503).

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{MetadataSettings, ProviderError};

/// Largest JSON answer read (a search page is a few kB).
const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;
/// Largest image read (the Cover Art Archive's originals can be several MB).
pub const MAX_IMAGE_BYTES: usize = 32 * 1024 * 1024;

/// A service, with the spacing its requests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    MusicBrainz,
    CoverArt,
    Lastfm,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::MusicBrainz => "MusicBrainz",
            Service::CoverArt => "the Cover Art Archive",
            Service::Lastfm => "Last.fm",
        }
    }

    /// MusicBrainz allows one request a second per client; Last.fm five a second;
    /// the Cover Art Archive states no limit, so it gets Last.fm's courtesy spacing.
    fn spacing(self) -> Duration {
        match self {
            Service::MusicBrainz => Duration::from_secs(1),
            Service::CoverArt | Service::Lastfm => Duration::from_millis(200),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

pub struct Client {
    inner: reqwest::Client,
    timeout: Duration,
    /// When each service's last request started.
    gates: [Mutex<Option<Instant>>; 3],
}

/// An answer's body and content type.
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

impl Client {
    pub fn new(settings: &MetadataSettings) -> anyhow::Result<Client> {
        let inner = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()?;
        Ok(Client {
            inner,
            timeout: settings.timeout,
            gates: Default::default(),
        })
    }

    /// Waits until `service` may be asked again, and books the slot. The gate is held
    /// while waiting, so concurrent callers queue in order.
    async fn wait_turn(&self, service: Service) {
        let mut last = self.gates[service.index()].lock().await;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + service.spacing()).await;
        }
        *last = Some(Instant::now());
    }

    /// GET `url` with `query`; `None` when the service answers 404 (nothing known).
    pub async fn get(
        &self,
        service: Service,
        url: &str,
        query: &[(&str, &str)],
        max_bytes: usize,
    ) -> Result<Option<Body>, ProviderError> {
        // A caller queued behind many others gives up after the same timeout as a
        // request, rather than holding its client for minutes.
        tokio::time::timeout(self.timeout, self.wait_turn(service))
            .await
            .map_err(|_| ProviderError::Busy {
                service: service.name(),
            })?;
        let failed = |e: reqwest::Error| self.error(service, e);
        let mut response = self
            .inner
            .get(url)
            .query(query)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(ProviderError::BadAnswer {
                    service: service.name(),
                    why: format!("larger than {max_bytes} bytes"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        // Last.fm reports its errors as JSON with a 4xx status: the caller reads them.
        let lastfm_error = service == Service::Lastfm && status.is_client_error();
        if !status.is_success() && !lastfm_error {
            return Err(ProviderError::Status {
                service: service.name(),
                status: status.as_u16(),
            });
        }
        Ok(Some(Body {
            bytes,
            content_type,
        }))
    }

    /// GET a JSON document.
    pub async fn get_json(
        &self,
        service: Service,
        url: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let Some(body) = self.get(service, url, query, MAX_JSON_BYTES).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&body.bytes)
            .map(Some)
            .map_err(|e| ProviderError::BadAnswer {
                service: service.name(),
                why: format!("invalid JSON: {e}"),
            })
    }

    fn error(&self, service: Service, error: reqwest::Error) -> ProviderError {
        tracing::warn!("request to {} failed: {error}", service.name());
        if error.is_timeout() {
            ProviderError::Timeout {
                service: service.name(),
                seconds: self.timeout.as_secs_f64(),
            }
        } else if error.is_decode() || error.is_body() {
            ProviderError::BadAnswer {
                service: service.name(),
                why: "the answer broke off".into(),
            }
        } else {
            ProviderError::Unreachable {
                service: service.name(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_queued_past_the_timeout_gives_up() {
        let settings = MetadataSettings {
            timeout: Duration::from_millis(200),
            ..Default::default()
        };
        let client = Client::new(&settings).unwrap();
        let started = Instant::now();
        client.wait_turn(Service::MusicBrainz).await;
        // MusicBrainz's next slot is a second away: more than the timeout.
        let error = client
            .get(Service::MusicBrainz, "http://127.0.0.1:9/", &[], 10)
            .await
            .err()
            .unwrap();
        assert!(matches!(error, ProviderError::Busy { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_millis(900));
        // Another service has its own gate.
        client.wait_turn(Service::Lastfm).await;
        assert!(started.elapsed() < Duration::from_millis(900));
    }
}
