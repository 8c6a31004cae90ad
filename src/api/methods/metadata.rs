//! update_artist_info, update_art and get_similar (4.2): art and artist information
//! from local files and the metadata services (crate::metadata).

use super::browse::{in_order, Browser, Include};
use crate::api::error::ApiError;
use crate::api::reply::{Document, Index, Reply};
use crate::api::Request;
use crate::metadata::update::{self, ArtOutcome, UpdateError};
use crate::params::Params;
use crate::store::browse::{ArtistScope, Page, SongScope};
use crate::store::sessions::Session;

/// An update's failure as the client sees it: unknown objects 404, everything else
/// (nothing found, no service configured, a service failing) 400 with the reason.
fn failure(method: &str, id: i64, error: UpdateError) -> ApiError {
    match error {
        UpdateError::NotFound => ApiError::requested_item_not_found(),
        UpdateError::Store(e) => e.into(),
        other => {
            tracing::warn!("{method} for {id} failed: {other}");
            ApiError::maintenance_failed(method, id, &other.to_string())
        }
    }
}

pub async fn update_artist_info(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let id = params.object_id(&["id", "filter"])?;
    let state = request.state;
    update::artist_info(&state.store, &state.metadata, id)
        .await
        .map_err(|e| failure("update_artist_info", id, e))?;
    Ok(Reply::Document(Document::Success(format!(
        "Updated artist info: {id}"
    ))))
}

pub async fn update_art(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let kind = params.require("type")?;
    if kind != "artist" && kind != "album" {
        return Err(ApiError::wrong_object_type(kind));
    }
    let id = params.object_id(&["id", "filter"])?;
    let overwrite = params.boolean("overwrite")?.unwrap_or(false);
    let state = request.state;
    let data_dir = &state.settings.data_dir;
    let gathered = if kind == "album" {
        update::album_art(&state.store, &state.metadata, data_dir, id, overwrite).await
    } else {
        update::artist_art(&state.store, &state.metadata, data_dir, id, overwrite).await
    };
    let outcome = gathered.map_err(|e| failure("update_art", id, e))?;
    tracing::info!(
        "update_art {kind} {id}: {}",
        match outcome {
            ArtOutcome::Kept => "kept the art it had",
            ArtOutcome::Local => "local art",
            ArtOutcome::Fetched(service) => service,
        }
    );
    Ok(Reply::Document(Document::Success(format!(
        "Gathered new art for: {id} ({kind})"
    ))))
}

/// `get_similar`: the local artists or songs Last.fm calls similar, most similar
/// first, paged, in get_indexes' shape (as Ampache 4.2 answers it).
pub async fn get_similar(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let kind = params.require("type")?;
    if kind != "artist" && kind != "song" {
        return Err(ApiError::wrong_object_type(kind));
    }
    let id = params.object_id(&["filter", "id"])?;
    let paging = params.paging()?;
    let state = request.state;
    let similar = if kind == "artist" {
        update::similar_artists(&state.store, &state.metadata, id).await
    } else {
        update::similar_songs(&state.store, &state.metadata, id).await
    };
    let ids = similar.map_err(|e| match e {
        // A read method: an unknown id is the usual 404.
        UpdateError::NotFound => ApiError::not_found(),
        other => failure("get_similar", id, other),
    })?;
    let offset = usize::try_from(paging.offset).unwrap_or(0);
    let limit = paging
        .limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    let ids: Vec<i64> = ids.into_iter().skip(offset).take(limit).collect();
    let b = Browser::new(request, session);
    let index = if ids.is_empty() {
        if kind == "artist" {
            Index::Artists(Vec::new())
        } else {
            Index::Songs(Vec::new())
        }
    } else if kind == "artist" {
        let artists = b
            .artists(
                &ArtistScope::Ids(ids.clone()),
                Page::ALL,
                &Include::default(),
            )
            .await?;
        let artists = in_order(&ids, artists, |a| a.row.id);
        let mut albums = state.store.albums_of_artists(&ids).await?;
        Index::Artists(
            artists
                .into_iter()
                .map(|artist| {
                    let list = albums.remove(&artist.row.id).unwrap_or_default();
                    (artist, list)
                })
                .collect(),
        )
    } else {
        let songs = b.songs(&SongScope::Ids(ids.clone()), Page::ALL).await?;
        Index::Songs(in_order(&ids, songs, |s| s.row.id))
    };
    Ok(Reply::Document(Document::Index(index)))
}
