//! `/image.php?object_id=N&object_type=album|artist|song|playlist&auth=TOKEN`: the
//! `art` URLs inside API objects (spec section 7.3). `size=N` (or `WxH`) or Ampache's
//! `thumb=N` codes ask for a resized JPEG.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::art::{self, ArtObject, Fit};
use super::{authenticate, internal_error, store_failure, text};
use crate::app::AppState;
use crate::params::Params;
use crate::store::acl::AclKind;

pub async fn image(
    State(state): State<Arc<AppState>>,
    ConnectInfo(connection): ConnectInfo<crate::app::Connection>,
    uri: Uri,
) -> Response {
    let Ok(params) = Params::parse(uri.query(), None) else {
        return text(StatusCode::BAD_REQUEST, "Bad request\n");
    };
    // The token is an API session's, so the API's ACL governs it here too.
    let session = match authenticate(
        &state,
        params.get("auth"),
        AclKind::Api,
        connection.peer.ip().to_canonical(),
    )
    .await
    {
        Ok(session) => session,
        Err(response) => return response,
    };
    let Some(id) = params
        .get("object_id")
        .and_then(|id| id.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
    else {
        return text(StatusCode::BAD_REQUEST, "Missing or invalid object_id\n");
    };
    let object = match params.get("object_type") {
        Some("album") => ArtObject::Album(id),
        Some("artist") => ArtObject::Artist(id),
        Some("song") => ArtObject::Song(id),
        Some("playlist") => ArtObject::Playlist(id),
        Some("video") => ArtObject::Video(id),
        _ => return text(StatusCode::BAD_REQUEST, "Missing or unknown object_type\n"),
    };
    let fit = match (params.get("size"), params.get("thumb")) {
        (Some(size), _) => match Fit::parse_size(size) {
            Some(fit) => Some(fit),
            None => return text(StatusCode::BAD_REQUEST, "Invalid size\n"),
        },
        (None, Some(thumb)) => match thumb.trim().parse::<i64>() {
            Ok(code) => Some(Fit::thumb(code)),
            Err(_) => return text(StatusCode::BAD_REQUEST, "Invalid thumb\n"),
        },
        (None, None) => None,
    };
    let source = match art::find(&state.store, object, session.user.id).await {
        Ok(Some(source)) => source,
        Ok(None) => return text(StatusCode::NOT_FOUND, "No art\n"),
        Err(e) => {
            tracing::error!("cannot look up art: {e}");
            return store_failure(&e);
        }
    };
    match art::load(source, fit, art::cache_dir(&state.settings.data_dir)).await {
        Ok(Some(image)) => {
            let mut response = (StatusCode::OK, image.bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&image.mime)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            response
        }
        Ok(None) => text(StatusCode::NOT_FOUND, "No art\n"),
        Err(e) => {
            tracing::error!("cannot read art: {e}");
            internal_error()
        }
    }
}
