//! Playlist methods: read, create, edit, delete, add and remove songs, generate.

use super::browse::Browser;
use crate::api::error::ApiError;
use crate::api::ids::smart_id;
use crate::api::reply::{Document, Index, Reply};
use crate::api::Request;
use crate::params::Params;
use crate::store::browse::{LibraryTable, Page, SongScope};
use crate::store::playlists::Playlist;
use crate::store::sessions::Session;
use crate::store::smartlists::SmartList;
use crate::store::users::access;

fn success(message: &str) -> Result<Reply, ApiError> {
    Ok(Reply::Document(Document::Success(message.to_string())))
}

fn access_denied() -> ApiError {
    ApiError::playlist_denied()
}

/// The regular playlist named by `filter`/`id`; a smart playlist (`smart_N`) is none
/// (only the read methods take those).
async fn find(request: &Request<'_>, params: &Params) -> Result<Option<Playlist>, ApiError> {
    let text = params
        .get("filter")
        .or_else(|| params.get("id"))
        .ok_or_else(|| ApiError::missing("filter"))?;
    if text.starts_with("smart_") {
        return Ok(None);
    }
    let id = params.object_id(&["filter", "id"])?;
    Ok(request.state.store.playlist(id).await?)
}

/// A playlist the caller may read: public, theirs, or they are an admin.
async fn readable(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Playlist, ApiError> {
    let playlist = find(request, params)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if playlist.row.public
        || playlist.owner_id == session.user.id
        || session.user.access >= access::ADMIN
    {
        Ok(playlist)
    } else {
        Err(access_denied())
    }
}

/// A playlist the caller may change: theirs, or they are an admin. A missing one is
/// refused the same way, as in Ampache.
async fn writable(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Playlist, ApiError> {
    match find(request, params).await? {
        Some(p) if p.owner_id == session.user.id || session.user.access >= access::ADMIN => Ok(p),
        _ => Err(access_denied()),
    }
}

fn playlist_id(playlist: &Playlist) -> i64 {
    playlist.row.id
}

/// A smart playlist (`smart_N`) the caller may read, if `filter`/`id` names one.
async fn readable_smart(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Option<SmartList>, ApiError> {
    let Some(id) = params
        .get("filter")
        .or_else(|| params.get("id"))
        .and_then(smart_id)
    else {
        return Ok(None);
    };
    let list = request
        .state
        .store
        .smartlist(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if list.row.public || list.owner_id == session.user.id || session.user.access >= access::ADMIN {
        Ok(Some(list))
    } else {
        Err(access_denied())
    }
}

pub async fn playlist(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    if let Some(list) = readable_smart(request, session, params).await? {
        return Ok(Reply::Document(Document::Playlists(vec![list.row])));
    }
    let playlist = readable(request, session, params).await?;
    Ok(Reply::Document(Document::Playlists(vec![playlist.row])))
}

pub async fn playlist_songs(
    b: &Browser<'_>,
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let paging = params.paging()?;
    let page = Page {
        offset: paging.offset,
        limit: paging.limit,
    };
    if let Some(list) = readable_smart(request, session, params).await? {
        let ids = request
            .state
            .store
            .smartlist_song_ids(&list, session.user.id, page.offset, page.limit)
            .await?;
        return Ok(Reply::Songs(b.listing_of(ids, page.offset + 1)));
    }
    let playlist = readable(request, session, params).await?;
    Ok(Reply::Songs(
        b.song_listing(&SongScope::Playlist(playlist_id(&playlist)), page)
            .await?,
    ))
}

fn visibility(params: &Params) -> Option<bool> {
    params.get("type").map(|t| t != "private")
}

pub async fn playlist_create(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let name = params.require("name")?.trim();
    let public = visibility(params).ok_or_else(|| ApiError::missing("type"))?;
    let store = &request.state.store;
    let id = store.create_playlist(session.user.id, name, public).await?;
    let playlist = store.playlist(id).await?.ok_or_else(ApiError::internal)?;
    Ok(Reply::Document(Document::Playlists(vec![playlist.row])))
}

/// Comma-separated whole numbers.
fn numbers(params: &Params, name: &str) -> Result<Option<Vec<i64>>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(text) => text
            .split(',')
            .map(|part| part.trim().parse::<i64>().ok().filter(|n| *n > 0))
            .collect::<Option<Vec<i64>>>()
            .map(Some)
            .ok_or_else(|| ApiError::bad_parameter(name, "expected comma-separated ids")),
    }
}

/// `playlist_edit`: rename, change visibility, and place songs: `items` alone appends
/// them; with `tracks`, song items[i] goes to position tracks[i].
pub async fn playlist_edit(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let playlist = writable(request, session, params).await?;
    let id = playlist_id(&playlist);
    let store = &request.state.store;
    let name = params.get("name").map(str::trim).filter(|n| !n.is_empty());
    let public = visibility(params);
    let items = numbers(params, "items")?;
    let tracks = numbers(params, "tracks")?;
    if name.is_none() && public.is_none() && items.is_none() {
        return Err(ApiError::nothing_changed());
    }
    if let Some(items) = &items {
        if store.count_existing_songs(items).await? != {
            let mut unique = items.clone();
            unique.sort_unstable();
            unique.dedup();
            unique.len()
        } {
            return Err(ApiError::not_found());
        }
        match &tracks {
            None => {
                store.append_playlist_songs(id, items, false).await?;
            }
            Some(tracks) if tracks.len() == items.len() => {
                store
                    .edit_playlist_songs(id, |songs| {
                        for (song, track) in items.iter().zip(tracks) {
                            let position = (*track - 1) as usize;
                            if position < songs.len() {
                                songs[position] = *song;
                            } else {
                                songs.push(*song);
                            }
                        }
                        Ok::<(), ApiError>(())
                    })
                    .await?;
            }
            Some(_) => {
                return Err(ApiError::bad_parameter(
                    "tracks",
                    "needs one position per item",
                ))
            }
        }
    }
    if name.is_some() || public.is_some() {
        store.rename_playlist(id, name, public).await?;
    }
    success("playlist changes saved")
}

pub async fn playlist_delete(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let playlist = writable(request, session, params).await?;
    request
        .state
        .store
        .delete_playlist(playlist_id(&playlist))
        .await?;
    success("playlist deleted")
}

pub async fn playlist_add_song(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let playlist = writable(request, session, params).await?;
    let id = playlist_id(&playlist);
    let song = params.object_id(&["song"])?;
    let store = &request.state.store;
    if store.count_existing_songs(&[song]).await? == 0 {
        return Err(ApiError::not_found());
    }
    let check = params.boolean("check")?.unwrap_or(false);
    if !store.append_playlist_songs(id, &[song], check).await? {
        return Err(ApiError::duplicate_in_playlist());
    }
    success("song added to playlist")
}

/// `playlist_remove_song`: by `song` id (every entry of it), by `track` position, or
/// `clear=1`; the remaining tracks are renumbered 1..n.
pub async fn playlist_remove_song(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let playlist = writable(request, session, params).await?;
    let id = playlist_id(&playlist);
    let store = &request.state.store;
    if params.boolean("clear")?.unwrap_or(false) {
        store.set_playlist_songs(id, &[]).await?;
        return success("all songs removed from playlist");
    }
    let song = match params.get("song") {
        Some(_) => Some(params.object_id(&["song"])?),
        None => None,
    };
    let track = match song {
        Some(_) => 0,
        None => params.object_id(&["track"])?,
    };
    store
        .edit_playlist_songs(id, |songs| {
            if let Some(song) = song {
                let before = songs.len();
                songs.retain(|s| *s != song);
                if songs.len() == before {
                    return Err(ApiError::song_not_in_playlist());
                }
            } else {
                if track as usize > songs.len() {
                    return Err(ApiError::track_not_in_playlist());
                }
                songs.remove(track as usize - 1);
            }
            Ok(())
        })
        .await?;
    success("song removed from playlist")
}

/// `playlist_generate`: a shuffled song list from simple criteria; nothing is stored.
pub async fn playlist_generate(
    b: &Browser<'_>,
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    use crate::store::playlists::GenerateMode;
    let mode = match params.get("mode").unwrap_or("random") {
        "recent" => GenerateMode::Recent,
        "forgotten" => GenerateMode::Forgotten,
        "unplayed" => GenerateMode::Unplayed,
        _ => GenerateMode::Random,
    };
    let format = params.get("format").unwrap_or("song");
    if !["song", "index", "id"].contains(&format) {
        return Err(ApiError::bad_parameter(
            "format",
            "expected song, index or id",
        ));
    }
    let store = &request.state.store;
    // Ampache applies the album and artist filters only when they exist.
    let mut album = None;
    if params.get("album").is_some() {
        let id = params.object_id(&["album"])?;
        if store.exists(LibraryTable::Albums, id).await? {
            album = Some(id);
        }
    }
    let mut artist = None;
    if params.get("artist").is_some() {
        let id = params.object_id(&["artist"])?;
        if store.exists(LibraryTable::Artists, id).await? {
            artist = Some(id);
        }
    }
    let criteria = crate::store::playlists::Generate {
        mode,
        title: params.get("filter").map(|f| crate::store::fold(f.trim())),
        album,
        artist,
        flagged: params.boolean("flag")?.unwrap_or(false),
    };
    let paging = params.paging()?;
    let limit = match params.get("limit") {
        Some(_) => paging.limit.unwrap_or(i64::MAX),
        None => 5000,
    };
    let ids = store
        .generate_playlist(session.user.id, &criteria, paging.offset, limit)
        .await?;
    let document = match format {
        "id" => Document::Ids(ids),
        _ => {
            let songs = b.songs(&SongScope::Ids(ids.clone()), Page::ALL).await?;
            let songs = super::browse::in_order(&ids, songs, |s| s.row.id);
            if format == "index" {
                Document::Index(Index::Songs(songs))
            } else {
                Document::Songs {
                    songs,
                    first_position: 1,
                }
            }
        }
    };
    Ok(Reply::Document(document))
}
