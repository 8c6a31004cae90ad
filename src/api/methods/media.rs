//! The binary methods of API4 (spec section 5.12): `stream` and `download` hand the
//! client to the play endpoint with a 302; `get_art` answers with the image itself.

use crate::api::error::ApiError;
use crate::api::reply::Reply;
use crate::api::Request;
use crate::media::art::{self, ArtObject, Fit};
use crate::media::urls;
use crate::params::Params;
use crate::store::media::{MediaFile, MediaKind};
use crate::store::sessions::Session;

fn not_found() -> ApiError {
    ApiError::not_found()
}

fn wrong_type(kind: &str) -> ApiError {
    ApiError::wrong_object_type(kind)
}

/// `id` (or `filter`, as newer clients name it) must be there before anything else
/// is looked at, as Ampache checks its mandatory parameters first.
fn require_id(params: &Params) -> Result<(), ApiError> {
    if params.get("id").is_none() && params.get("filter").is_none() {
        return Err(ApiError::missing("id"));
    }
    Ok(())
}

pub async fn stream(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    play_redirect(request, session, params, false).await
}

pub async fn download(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    play_redirect(request, session, params, true).await
}

/// A 302 to the play URL of the song or video, with the extras the spec lists.
async fn play_redirect(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
    download: bool,
) -> Result<Reply, ApiError> {
    require_id(params)?;
    let kind = match params.require("type")? {
        "song" => Some(MediaKind::Song),
        "video" => Some(MediaKind::Video),
        // A valid type in the spec, but this server has no podcast episodes, so none
        // can be found: the same answer as an unknown id.
        "podcast" | "podcast_episode" => None,
        other => return Err(wrong_type(other)),
    };
    let id = params.object_id(&["id", "filter"])?;
    let format = match params.get("format").map(str::trim) {
        Some(format)
            if !format.is_empty()
                && format.len() <= 16
                && format.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some(format.to_ascii_lowercase())
        }
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "format",
                "expected a format name such as mp3, ogg or raw",
            ))
        }
        None => None,
    };
    let bitrate = match params.integer("bitrate")? {
        Some(n) if n < 0 => {
            return Err(ApiError::bad_parameter(
                "bitrate",
                "expected a positive number",
            ))
        }
        other => other.filter(|n| *n > 0),
    };
    // `offset` was checked as a paging value (a whole number, 0 or more) already.
    let offset = params.integer("offset")?.filter(|n| *n > 0);
    let length = params.integer("length")?;

    let media = match kind {
        Some(kind) => request.state.store.media_file(kind, id).await?,
        None => None,
    };
    let Some(media) = media else {
        return Err(ApiError::failed("create", ""));
    };
    let transcode = format.as_deref().filter(|f| *f != "raw");
    let target_extension = match (transcode, media.kind) {
        (Some(target), MediaKind::Song) => request
            .state
            .transcoder
            .settings()
            .profile(target)
            .map(|p| p.extension.clone()),
        _ => None,
    };
    if let (Some(target), MediaKind::Song, None) = (transcode, media.kind, &target_extension) {
        let known: Vec<&str> = request
            .state
            .transcoder
            .settings()
            .profiles
            .keys()
            .map(String::as_str)
            .collect();
        return Err(ApiError::bad_parameter(
            "format",
            &format!(
                "no transcode profile for {target}; use raw or one of {}",
                known.join(", ")
            ),
        ));
    }
    let mut extra = String::new();
    if download {
        extra.push_str("&action=download&client=api&cache=1");
        if let Some(target) = transcode {
            extra.push_str(&format!("&transcode_to={target}"));
        }
        if let Some(format) = &format {
            extra.push_str(&format!("&format={format}"));
        }
    } else {
        extra.push_str("&client=api");
        if let Some(target) = transcode {
            extra.push_str(&format!("&transcode_to={target}"));
        }
        if let Some(bitrate) = bitrate {
            extra.push_str(&format!("&bitrate={bitrate}"));
        }
        if let Some(offset) = offset {
            extra.push_str(&format!("&frame={offset}"));
        }
        if length == Some(1) {
            extra.push_str("&content_length=required");
        }
    }
    Ok(Reply::Redirect(urls::stream_url(
        &request.base_url(),
        &session.token,
        media.kind.as_str(),
        media.id,
        session.user.id,
        &extra,
        &play_name(&media, target_extension),
    )))
}

/// `name=`: the transcode target's extension (spec 7.1; clients guess the format
/// from it), or the file's own.
fn play_name(media: &MediaFile, target_extension: Option<String>) -> String {
    let extension = target_extension.unwrap_or_else(|| {
        std::path::Path::new(&media.path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()))
            .unwrap_or_else(|| urls::extension_for_mime(&media.mime).to_string())
    });
    match media.kind {
        MediaKind::Song => urls::stream_name(&media.artist, &media.title, &extension),
        MediaKind::Video => urls::title_name(&media.title, &extension),
    }
}

pub async fn get_art(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    require_id(params)?;
    let kind = params.require("type")?;
    if !matches!(
        kind,
        "song" | "album" | "artist" | "playlist" | "search" | "podcast" | "video"
    ) {
        return Err(wrong_type(kind));
    }
    let fit = match params.get("size") {
        None => None,
        Some(size) => Some(Fit::parse_size(size).ok_or_else(|| {
            ApiError::bad_parameter(
                "size",
                &format!(
                    "expected a size from {} to {}, such as 300 or 300x300",
                    art::MIN_SIZE,
                    art::MAX_SIZE
                ),
            )
        })?),
    };
    // Smart playlists ("smart_N", or type `search`) have no art yet: their songs
    // are only known once their rules run, which the store does not do here.
    let smart = params
        .get("id")
        .or_else(|| params.get("filter"))
        .is_some_and(|id| id.trim().starts_with("smart_"));
    let smart_song = if smart || kind == "search" {
        smart_list_song(request, session, params).await?
    } else {
        None
    };
    let object = match kind {
        "playlist" | "search" if smart || kind == "search" => smart_song.map(ArtObject::Song),
        "song" => Some(ArtObject::Song(params.object_id(&["id", "filter"])?)),
        "album" => Some(ArtObject::Album(params.object_id(&["id", "filter"])?)),
        "artist" => Some(ArtObject::Artist(params.object_id(&["id", "filter"])?)),
        "playlist" => Some(ArtObject::Playlist(params.object_id(&["id", "filter"])?)),
        "video" => Some(ArtObject::Video(params.object_id(&["id", "filter"])?)),
        _ => None,
    };
    let Some(object) = object else {
        return Err(not_found());
    };
    let state = request.state;
    let source = art::find(&state.store, object, session.user.id)
        .await?
        .ok_or_else(not_found)?;
    let image = art::load(source, fit, art::cache_dir(&state.settings.data_dir))
        .await
        .map_err(|e| {
            tracing::error!("cannot read art: {e}");
            ApiError::internal()
        })?
        .ok_or_else(not_found)?;
    Ok(Reply::Binary {
        bytes: image.bytes,
        mime: image.mime,
    })
}

/// A random song of the smart playlist `id`/`filter` names (`smart_N` or N), when the
/// caller may see it: its art stands for the list's.
async fn smart_list_song(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Option<i64>, ApiError> {
    let text = params
        .get("id")
        .or_else(|| params.get("filter"))
        .unwrap_or("");
    let id = crate::api::ids::smart_id(text).or_else(|| text.trim().parse().ok());
    let Some(id) = id else { return Ok(None) };
    let store = &request.state.store;
    let Some(list) = store.smartlist(id).await? else {
        return Ok(None);
    };
    let visible = list.row.public
        || list.owner_id == session.user.id
        || session.user.access >= crate::store::users::access::ADMIN;
    if !visible {
        return Ok(None);
    }
    let mut ids = store
        .smartlist_song_ids(&list, session.user.id, 0, Some(500))
        .await?;
    use rand::seq::SliceRandom;
    ids.shuffle(&mut rand::thread_rng());
    Ok(ids.first().copied())
}
