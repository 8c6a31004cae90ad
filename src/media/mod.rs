//! Media: the URLs responses carry, streaming files by id, and art.
//!
//! Two endpoints live here beside the API: `/play/index.php` (and its path form
//! `/play/ssid/../oid/..`) serves songs and videos with HTTP ranges, and `/image.php`
//! serves art. Both take the caller's API session token; unlike the API they answer
//! with plain HTTP statuses (403, 404, ...), since players and image loaders read
//! statuses, not documents.

pub mod art;
mod democratic;
mod file_body;
mod image_php;
mod play;
pub mod range;
pub mod transcode;
pub mod urls;

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::store::acl::{AclDecision, AclKind};
use crate::store::sessions::Session;

/// The media endpoints, merged into the API's router.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/play/index.php", get(play::play))
        .route("/play/{*rest}", get(play::play))
        .route("/image.php", get(image_php::image))
}

/// A short plain-text answer.
fn text(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

fn internal_error() -> Response {
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

/// A store call that failed: 503 with a `Retry-After` while the database cannot be
/// reached (a PostgreSQL restart; players retry on it), 500 otherwise.
fn store_failure(error: &crate::store::StoreError) -> Response {
    if matches!(error, crate::store::StoreError::Unavailable(_)) {
        let mut response = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is not available; try again shortly\n",
        );
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        response
    } else {
        internal_error()
    }
}

/// The live session of `token` whose user is enabled, and the ACL of `kind` allowing
/// this address; a 403 (or 500) response otherwise.
async fn authenticate(
    state: &AppState,
    token: Option<&str>,
    kind: AclKind,
    ip: IpAddr,
) -> Result<Session, Response> {
    let expired = || text(StatusCode::FORBIDDEN, "Session Expired\n");
    let token = token.ok_or_else(expired)?;
    let session = match state.store.session(token).await {
        Ok(Some(session)) if !session.user.disabled => session,
        Ok(_) => return Err(expired()),
        Err(e) => {
            tracing::error!("cannot check a session: {e}");
            return Err(store_failure(&e));
        }
    };
    match state.store.check_acl(kind, ip, Some(session.user.id)).await {
        Ok(AclDecision::Denied) => Err(text(
            StatusCode::FORBIDDEN,
            "Unauthorized access attempt - ACL Error\n",
        )),
        Ok(_) => Ok(session),
        Err(e) => {
            tracing::error!("cannot check the ACLs: {e}");
            Err(store_failure(&e))
        }
    }
}
