//! rate, flag, record_play and scrobble: what a user says about the library.

use crate::api::error::ApiError;
use crate::api::reply::{Document, Reply};
use crate::api::Request;
use crate::params::Params;
use crate::store::now;
use crate::store::sessions::Session;
use crate::store::userdata::ObjectKind;
use crate::store::users::access;

fn success(message: String) -> Result<Reply, ApiError> {
    Ok(Reply::Document(Document::Success(message)))
}

fn not_found() -> ApiError {
    ApiError::not_found()
}

/// `type` among the kinds a method accepts.
fn object_kind(params: &Params, allowed: &[ObjectKind]) -> Result<ObjectKind, ApiError> {
    let text = params.require("type")?;
    ObjectKind::parse(text)
        .filter(|kind| allowed.contains(kind))
        .ok_or_else(|| ApiError::wrong_object_type(text))
}

pub async fn rate(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let kind = object_kind(
        params,
        &[ObjectKind::Song, ObjectKind::Album, ObjectKind::Artist],
    )?;
    let id = params.object_id(&["id", "filter"])?;
    let text = params.require("rating")?;
    let rating = text
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|r| (0..=5).contains(r))
        .ok_or_else(|| ApiError::bad_rating(text))?;
    let store = &request.state.store;
    if !store.object_exists(kind, id).await? {
        return Err(not_found());
    }
    store.rate(session.user.id, kind, id, rating).await?;
    success(format!("rating set to {rating} for {id}"))
}

pub async fn flag(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let kind = object_kind(
        params,
        &[
            ObjectKind::Song,
            ObjectKind::Album,
            ObjectKind::Artist,
            ObjectKind::Playlist,
        ],
    )?;
    let id = params.object_id(&["id", "filter"])?;
    let flag = params
        .boolean("flag")?
        .ok_or_else(|| ApiError::missing("flag"))?;
    let store = &request.state.store;
    if !store.object_exists(kind, id).await? {
        return Err(not_found());
    }
    store.set_flag(session.user.id, kind, id, flag).await?;
    if flag {
        success(format!("flag ADDED to {id}"))
    } else {
        success(format!("flag REMOVED from {id}"))
    }
}

pub async fn record_play(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let song = params.object_id(&["id", "filter"])?;
    let user_id = match params.get("user") {
        None => session.user.id,
        Some(_) => params
            .object_id(&["user"])
            .map_err(|_| ApiError::user_id_not_found())?,
    };
    // Recording a play for someone else is an admin's business.
    if user_id != session.user.id && session.user.access < access::ADMIN {
        return Err(ApiError::access_denied());
    }
    let store = &request.state.store;
    if store.user_by_id(user_id).await?.is_none() {
        return Err(ApiError::user_id_not_found());
    }
    if !store.object_exists(ObjectKind::Song, song).await? {
        return Err(not_found());
    }
    let agent = params.get("client").unwrap_or("api");
    store.record_play(user_id, song, now(), agent).await?;
    success(format!("successfully recorded play: {song}"))
}

pub async fn scrobble(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let title = params.require("song")?;
    let artist = params.require("artist")?;
    let album = params.require("album")?;
    let mbid = params.get("song_mbid").or_else(|| params.get("songmbid"));
    let when = match params.get("date") {
        None => now(),
        Some(_) => params
            .integer("date")?
            .filter(|t| *t > 0)
            .ok_or_else(|| ApiError::bad_parameter("date", "expected a Unix time"))?,
    };
    let store = &request.state.store;
    let song = store
        .find_song_by_names(title, artist, album, mbid)
        .await?
        .ok_or_else(ApiError::scrobble_not_found)?;
    let agent = params.get("client").unwrap_or("api");
    store
        .record_play(session.user.id, song, when, agent)
        .await?;
    success(format!("successfully scrobbled: {song}"))
}
