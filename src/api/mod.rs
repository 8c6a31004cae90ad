//! The Ampache API: request parsing, authentication, dispatch and encoding.
//!
//! A request becomes an action and [`Params`]; the session, ACL and access level are
//! checked once here; a handler returns a typed [`Reply`]; the encoder for the
//! endpoint's format writes it. Every failure becomes an Ampache error with HTTP 200.

pub mod base_url;
pub mod encode;
pub mod error;
pub mod ids;
mod methods;
pub use methods::parse_version;
pub mod reply;
pub mod search_operators;
pub mod throttle;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::params::Params;
use crate::store::acl::{AclDecision, AclKind};
use crate::store::now;
use crate::store::sessions::Session;
use encode::Format;
use error::ApiError;
use reply::Reply;

pub use crate::app::{AppState, Connection};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/server/xml.server.php",
            get(xml_endpoint).post(xml_endpoint),
        )
        .route(
            "/server/json.server.php",
            get(json_endpoint).post(json_endpoint),
        )
        .merge(crate::media::routes())
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found\n")
}

async fn xml_endpoint(
    State(state): State<Arc<AppState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    endpoint(&state, Format::Xml, connection, &headers, &uri, &body).await
}

async fn json_endpoint(
    State(state): State<Arc<AppState>>,
    ConnectInfo(connection): ConnectInfo<Connection>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    endpoint(&state, Format::Json, connection, &headers, &uri, &body).await
}

async fn endpoint(
    state: &AppState,
    format: Format,
    connection: Connection,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Response {
    let form_body = is_form(headers).then_some(body).filter(|b| !b.is_empty());
    let request = Request {
        state,
        ip: connection.peer.ip().to_canonical(),
        local: connection.local,
        headers,
    };
    let started = std::time::Instant::now();
    let (method, result) = match parse_params(uri, form_body).await {
        Ok(params) => (
            params
                .get("action")
                .and_then(methods::lookup)
                .map(|m| m.name),
            request.handle(&params).await,
        ),
        Err(error) => (None, Err(error)),
    };
    let result = match result {
        Ok(Reply::Songs(listing)) => listing.first_loaded().await.map(Reply::Songs),
        Ok(Reply::Albums(listing)) => listing.first_loaded().await.map(Reply::Albums),
        Ok(Reply::Artists(listing)) => listing.first_loaded().await.map(Reply::Artists),
        other => other,
    };
    let error_code = result.as_ref().err().map(|e| e.code);
    let seconds = started.elapsed().as_secs_f64();
    crate::metrics::metrics().record_request(method, format.name(), seconds, error_code);
    // One structured line per request: the method, never its parameters (they hold
    // passwords, keys and tokens). Lists stream on after this; the time is to the
    // first byte.
    tracing::info!(
        target: "tonearm::request",
        method = method.unwrap_or("unknown"),
        format = format.name(),
        ms = (seconds * 1000.0 * 100.0).round() / 100.0,
        error = error_code,
    );
    let body = match result {
        Ok(Reply::Document(document)) => Body::from(format.encode(&document)),
        Ok(Reply::Songs(listing)) => Body::from_stream(format.list_stream(listing)),
        Ok(Reply::Albums(listing)) => Body::from_stream(format.list_stream(listing)),
        Ok(Reply::Artists(listing)) => Body::from_stream(format.list_stream(listing)),
        Ok(Reply::Redirect(url)) => return redirect(&url),
        Ok(Reply::Binary { bytes, mime }) => return binary(bytes, &mime),
        Err(error) => Body::from(format.encode_error(&error)),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if format == Format::Xml {
        response_headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=information.xml"),
        );
    }
    response
}

/// Inputs larger than this are parsed on a blocking thread: parsing is linear, but a
/// 2 MB body still takes milliseconds that other requests on this worker should not
/// wait for.
const PARSE_INLINE_MAX: usize = 64 * 1024;

async fn parse_params(uri: &Uri, body: Option<&[u8]>) -> Result<Params, ApiError> {
    let size = uri.query().map_or(0, str::len) + body.map_or(0, <[u8]>::len);
    if size <= PARSE_INLINE_MAX {
        return Ok(Params::parse(uri.query(), body)?);
    }
    let query = uri.query().map(str::to_owned);
    let body = body.map(<[u8]>::to_vec);
    match tokio::task::spawn_blocking(move || Params::parse(query.as_deref(), body.as_deref()))
        .await
    {
        Ok(parsed) => Ok(parsed?),
        Err(_) => Err(ApiError::internal()),
    }
}

fn redirect(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => (StatusCode::BAD_REQUEST, "bad redirect target\n").into_response(),
    }
}

fn binary(bytes: Vec<u8>, mime: &str) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn is_form(headers: &HeaderMap) -> bool {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(kind) => kind
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded"),
    }
}

/// One API request in flight.
pub struct Request<'a> {
    pub state: &'a AppState,
    pub ip: IpAddr,
    /// The address the connection arrived on.
    pub local: SocketAddr,
    pub headers: &'a HeaderMap,
}

impl Request<'_> {
    async fn handle(&self, params: &Params) -> Result<Reply, ApiError> {
        let action = params.get("action").ok_or_else(ApiError::invalid_request)?;
        let method = methods::lookup(action).ok_or_else(ApiError::invalid_request)?;
        if !self.state.settings.access_control {
            return Err(ApiError::access_control_disabled());
        }
        // Paging parameters mean the same to every method, so a malformed one is
        // refused whatever the method, rather than silently ignored by some.
        params.paging()?;
        let session = match method.session {
            methods::SessionNeed::Own => None,
            methods::SessionNeed::Required => {
                Some(self.authenticate(params, method.min_access).await?)
            }
        };
        let result = methods::call(self, method, session.as_ref(), params).await;
        if result.is_ok() {
            if let Some(session) = &session {
                self.keep_alive(session).await?;
            }
        }
        result
    }

    /// The session token: `auth`, or a Bearer header as modern clients send it.
    pub fn token<'p>(&'p self, params: &'p Params) -> Option<&'p str> {
        params.get("auth").or_else(|| {
            self.headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        })
    }

    /// Checks session, then ACL, then access level, in Ampache's order and with its codes.
    async fn authenticate(&self, params: &Params, min_access: i64) -> Result<Session, ApiError> {
        let token = self.token(params).ok_or_else(ApiError::session_expired)?;
        let session = self
            .state
            .store
            .session(token)
            .await?
            .ok_or_else(ApiError::session_expired)?;
        if session.user.disabled {
            return Err(ApiError::session_expired());
        }
        if self.acl(AclKind::Api, Some(session.user.id)).await? == AclDecision::Denied {
            return Err(ApiError::acl_denied());
        }
        if session.user.access < min_access {
            return Err(ApiError::access_denied());
        }
        Ok(session)
    }

    pub async fn acl(&self, kind: AclKind, user_id: Option<i64>) -> Result<AclDecision, ApiError> {
        Ok(self.state.store.check_acl(kind, self.ip, user_id).await?)
    }

    /// Extends a used session. A write only when the expiry would move by a minute or
    /// more, so a busy client does not turn every read into a write.
    async fn keep_alive(&self, session: &Session) -> Result<(), ApiError> {
        let expire = now() + self.state.settings.session_length;
        if expire - session.expire >= 60 {
            self.state
                .store
                .extend_session(&session.token, expire, None)
                .await?;
        }
        Ok(())
    }

    /// The base URL for URLs inside responses: see [`base_url`].
    pub fn base_url(&self) -> String {
        let settings = &self.state.settings;
        let trust = base_url::Trust {
            public_url: settings.public_url.as_deref(),
            hosts: &settings.trusted_hosts,
            proxies: &settings.trusted_proxies,
        };
        base_url::base_url(&trust, self.headers, self.ip, self.local)
    }

    pub fn user_agent(&self) -> String {
        self.headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(255)
            .collect()
    }
}
