//! `localplay` (spec 5.16) and `democratic` (5.17): the API side of [`crate::control`].

use crate::api::error::ApiError;
use crate::api::reply::{ControlDocument, DemocraticSong, Document, LocalplayStatus, Reply};
use crate::api::Request;
use crate::control::localplay::{self, Command, Outcome, PlayerStatus};
use crate::media::urls;
use crate::params::Params;
use crate::store::browse::{Page, SongScope};
use crate::store::democratic::QUEUE_ID;
use crate::store::media::MediaKind;
use crate::store::sessions::Session;
use crate::store::users::access;

fn control(document: ControlDocument) -> Result<Reply, ApiError> {
    Ok(Reply::Document(Document::Control(document)))
}

pub async fn localplay(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let settings = &request.state.settings.control;
    if session.user.access < settings.localplay_level {
        return Err(ApiError::access_denied());
    }
    let name = params.require("command")?.trim();
    // No player, nothing to do: the spec's 405, before any other look at the input.
    let instance = settings
        .mpd
        .as_ref()
        .ok_or_else(ApiError::localplay_not_configured)?;
    let command = match name {
        "next" => Command::Next,
        "prev" => Command::Prev,
        "stop" => Command::Stop,
        "play" => Command::Play,
        "pause" => Command::Pause,
        "skip" => Command::Skip(track(params)?),
        "volume_up" => Command::VolumeUp,
        "volume_down" => Command::VolumeDown,
        "volume_mute" => Command::VolumeMute,
        "delete_all" => Command::DeleteAll,
        "status" => Command::Status,
        "add" => Command::Add {
            urls: add_urls(request, session, params).await?,
            clear: params.boolean("clear")?.unwrap_or(false),
        },
        _ => return Err(ApiError::invalid_request()),
    };
    let outcome = localplay::run(instance, &command).await.map_err(|e| {
        tracing::warn!("localplay on {}:{}: {e}", instance.host, instance.port);
        ApiError::localplay_unreachable()
    })?;
    match outcome {
        Outcome::Done(done) => control(ControlDocument::Localplay {
            command: command.name(),
            done,
        }),
        Outcome::Status(status) => control(ControlDocument::LocalplayStatus(
            describe(request, session, status).await?,
        )),
    }
}

/// `skip`'s `track`: the 1-based queue position to play.
fn track(params: &Params) -> Result<i64, ApiError> {
    match params.integer("track")? {
        None => Err(ApiError::missing("track")),
        Some(n) if n >= 1 => Ok(n),
        Some(_) => Err(ApiError::bad_parameter(
            "track",
            "expected a queue position from 1",
        )),
    }
}

/// The URLs `add` gives the player: this server's stream URLs for `oid` of `type`
/// (a song, a video, every song of a playlist, or the democratic stream), made with
/// the caller's session, so the player streams from tonearm as the caller.
async fn add_urls(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Vec<String>, ApiError> {
    let kind = params.get("type").map(str::trim).unwrap_or("song");
    let base = request.base_url();
    if kind == "democratic" {
        return Ok(vec![democratic_url(&base, session)]);
    }
    if params.get("oid").is_none() && params.get("filter").is_none() {
        return Err(ApiError::missing("oid"));
    }
    let id = params.object_id(&["oid", "filter"])?;
    let store = &request.state.store;
    let song_url = |row: &crate::store::browse::SongRow| {
        let name = urls::stream_name(
            &row.artist.name,
            &row.title,
            urls::extension_for_mime(&row.mime),
        );
        urls::stream_url(
            &base,
            &session.token,
            "song",
            row.id,
            session.user.id,
            "",
            &name,
        )
    };
    match kind {
        "song" => {
            let rows = store
                .songs(session.user.id, &SongScope::Ids(vec![id]), Page::ALL)
                .await?;
            let row = rows.first().ok_or_else(ApiError::not_found)?;
            Ok(vec![song_url(row)])
        }
        "video" => {
            let video = store
                .media_file(MediaKind::Video, id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let name = urls::title_name(&video.title, urls::extension_for_mime(&video.mime));
            Ok(vec![urls::stream_url(
                &base,
                &session.token,
                "video",
                video.id,
                session.user.id,
                "",
                &name,
            )])
        }
        "playlist" => {
            let playlist = store.playlist(id).await?.ok_or_else(ApiError::not_found)?;
            let readable = playlist.row.public
                || playlist.owner_id == session.user.id
                || session.user.access >= access::ADMIN;
            if !readable {
                return Err(ApiError::playlist_denied());
            }
            let rows = store
                .songs(session.user.id, &SongScope::Playlist(id), Page::ALL)
                .await?;
            Ok(rows.iter().map(song_url).collect())
        }
        other => Err(ApiError::wrong_object_type(other)),
    }
}

/// `status` with the current entry named: for one of this server's stream URLs, by
/// the song in the store (MPD knows no tags of a stream it has not played yet).
async fn describe(
    request: &Request<'_>,
    session: &Session,
    status: PlayerStatus,
) -> Result<LocalplayStatus, ApiError> {
    let mut title = status.title;
    let mut artist = status.artist;
    let mut album = status.album;
    let song_id = status
        .file
        .as_deref()
        .filter(|file| file.contains("/play/"))
        .and_then(super::browse::song_id_from_url);
    if let Some(song_id) = song_id {
        let rows = request
            .state
            .store
            .songs(session.user.id, &SongScope::Ids(vec![song_id]), Page::ALL)
            .await?;
        if let Some(row) = rows.into_iter().next() {
            title = row.title;
            artist = row.artist.name.to_string();
            album = row.album.name.to_string();
        }
    } else if title.is_empty() {
        title = status.file.unwrap_or_default();
    }
    Ok(LocalplayStatus {
        state: status.state,
        volume: status.volume,
        repeat: status.repeat,
        random: status.random,
        track: status.track,
        track_title: title,
        track_artist: artist,
        track_album: album,
    })
}

/// The democratic stream: each request plays the queue's head and takes it off.
fn democratic_url(base: &str, session: &Session) -> String {
    format!(
        "{base}/play/index.php?ssid={}&uid={}&demo_id={QUEUE_ID}",
        session.token, session.user.id
    )
}

pub async fn democratic(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let store = &request.state.store;
    match params.require("method")?.trim() {
        method @ ("vote" | "devote") => {
            if session.user.access < request.state.settings.control.democratic_level {
                return Err(ApiError::access_denied());
            }
            let song_id = params
                .get("oid")
                .and_then(|oid| oid.trim().parse::<i64>().ok())
                .filter(|id| *id > 0)
                .ok_or_else(ApiError::media_invalid)?;
            if store
                .songs(session.user.id, &SongScope::Ids(vec![song_id]), Page::ALL)
                .await?
                .is_empty()
            {
                return Err(ApiError::media_invalid());
            }
            if method == "vote" {
                store.democratic_vote(session.user.id, song_id).await?;
                control(ControlDocument::Democratic {
                    method: "vote",
                    result: true,
                })
            } else {
                store.democratic_devote(session.user.id, song_id).await?;
                control(ControlDocument::Democratic {
                    method: "devote",
                    result: true,
                })
            }
        }
        "playlist" => {
            let queue = store.democratic_queue().await?;
            let ids: Vec<i64> = queue.iter().map(|e| e.song_id).collect();
            let browser = super::browse::Browser::new(request, session);
            let mut songs = Vec::with_capacity(queue.len());
            for chunk in ids.chunks(crate::store::db::ID_CHUNK) {
                songs.extend(store.songs_by_ids(session.user.id, chunk).await?);
            }
            let songs = super::browse::in_order(&ids, songs, |row| row.id);
            let votes: std::collections::HashMap<i64, i64> =
                queue.iter().map(|e| (e.song_id, e.votes)).collect();
            let list = songs
                .into_iter()
                .map(|row| DemocraticSong {
                    votes: votes.get(&row.id).copied().unwrap_or(0),
                    song: browser.song(row),
                })
                .collect();
            control(ControlDocument::DemocraticSongs(list))
        }
        "play" => control(ControlDocument::Url(democratic_url(
            &request.base_url(),
            session,
        ))),
        _ => Err(ApiError::invalid_request()),
    }
}
