//! The API methods, one file per group, and the table of what each requires.

mod browse;
mod catalogs;
mod control;
mod media;
mod metadata;
mod playlists;
mod search;
mod session;
mod social;
mod userdata;
mod users;
mod videos;
pub use session::parse_version;

use super::error::ApiError;
use super::reply::Reply;
use super::Request;
use crate::params::Params;
use crate::store::sessions::Session;

/// How a method deals with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionNeed {
    /// The dispatcher requires a live session before calling the method.
    Required,
    /// The method handles credentials itself (handshake, ping, goodbye).
    Own,
}

#[derive(Debug)]
pub struct Method {
    pub name: &'static str,
    pub session: SessionNeed,
    /// The lowest user access level allowed to call it.
    pub min_access: i64,
}

/// A method that handles credentials itself.
const fn own(name: &'static str) -> Method {
    Method {
        name,
        session: SessionNeed::Own,
        min_access: 0,
    }
}

/// A method that needs a live session and at least `min_access`.
const fn with_session(name: &'static str, min_access: i64) -> Method {
    Method {
        name,
        session: SessionNeed::Required,
        min_access,
    }
}

/// Every method this server answers; anything else is 405.
const METHODS: &[Method] = &[
    own("handshake"),
    own("ping"),
    own("goodbye"),
    with_session("user", 0),
    with_session("get_indexes", 0),
    with_session("artists", 0),
    with_session("artist", 0),
    with_session("artist_albums", 0),
    with_session("artist_songs", 0),
    with_session("albums", 0),
    with_session("album", 0),
    with_session("album_songs", 0),
    with_session("tags", 0),
    with_session("tag", 0),
    with_session("tag_artists", 0),
    with_session("tag_albums", 0),
    with_session("tag_songs", 0),
    with_session("genres", 0),
    with_session("genre", 0),
    with_session("genre_artists", 0),
    with_session("genre_albums", 0),
    with_session("genre_songs", 0),
    with_session("songs", 0),
    with_session("song", 0),
    with_session("search_songs", 0),
    with_session("url_to_song", 0),
    with_session("playlists", 0),
    with_session("stats", 0),
    with_session("advanced_search", 0),
    with_session("search", 0),
    with_session("followers", 0),
    with_session("following", 0),
    with_session("toggle_follow", 0),
    with_session("last_shouts", 0),
    with_session("timeline", 0),
    with_session("friends_timeline", 0),
    with_session("playlist", 0),
    with_session("playlist_songs", 0),
    with_session("playlist_create", 0),
    with_session("playlist_edit", 0),
    with_session("playlist_delete", 0),
    with_session("playlist_add_song", 0),
    with_session("playlist_remove_song", 0),
    with_session("playlist_generate", 0),
    with_session("user_create", 100),
    with_session("user_update", 100),
    with_session("user_delete", 100),
    with_session("rate", 0),
    with_session("flag", 0),
    with_session("record_play", 0),
    with_session("scrobble", 0),
    with_session("stream", 0),
    with_session("download", 0),
    with_session("get_art", 0),
    // The levels of localplay (the configured localplay level) and of democratic
    // voting are checked by the methods, as they are settings.
    with_session("localplay", 0),
    with_session("democratic", 0),
    with_session("update_artist_info", 75),
    with_session("update_art", 75),
    with_session("get_similar", 0),
    with_session("videos", 0),
    with_session("video", 0),
    with_session("catalog_action", 75),
    with_session("catalogs", 0),
    with_session("catalog", 0),
    with_session("catalog_file", 50),
    with_session("update_from_tags", 75),
];

pub fn lookup(action: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == action)
}

pub async fn call(
    request: &Request<'_>,
    method: &Method,
    session: Option<&Session>,
    params: &Params,
) -> Result<Reply, ApiError> {
    match method.name {
        "handshake" => session::handshake(request, params).await,
        "ping" => session::ping(request, params).await,
        "goodbye" => session::goodbye(request, params).await,
        "user" => users::user(request, required(session)?, params).await,
        "user_create" => users::user_create(request, params).await,
        "user_update" => users::user_update(request, params).await,
        "user_delete" => users::user_delete(request, required(session)?, params).await,
        "playlist" => playlists::playlist(request, required(session)?, params).await,
        "playlist_create" => playlists::playlist_create(request, required(session)?, params).await,
        "playlist_edit" => playlists::playlist_edit(request, required(session)?, params).await,
        "playlist_delete" => playlists::playlist_delete(request, required(session)?, params).await,
        "playlist_add_song" => {
            playlists::playlist_add_song(request, required(session)?, params).await
        }
        "playlist_remove_song" => {
            playlists::playlist_remove_song(request, required(session)?, params).await
        }
        "followers" => social::followers(request, params).await,
        "following" => social::following(request, params).await,
        "toggle_follow" => social::toggle_follow(request, required(session)?, params).await,
        "last_shouts" => social::last_shouts(request, params).await,
        "timeline" => social::timeline(request, params).await,
        "friends_timeline" => social::friends_timeline(request, required(session)?, params).await,
        "rate" => userdata::rate(request, required(session)?, params).await,
        "flag" => userdata::flag(request, required(session)?, params).await,
        "record_play" => userdata::record_play(request, required(session)?, params).await,
        "scrobble" => userdata::scrobble(request, required(session)?, params).await,
        "stream" => media::stream(request, required(session)?, params).await,
        "download" => media::download(request, required(session)?, params).await,
        "get_art" => media::get_art(request, required(session)?, params).await,
        "localplay" => control::localplay(request, required(session)?, params).await,
        "democratic" => control::democratic(request, required(session)?, params).await,
        "update_artist_info" => metadata::update_artist_info(request, params).await,
        "update_art" => metadata::update_art(request, params).await,
        "get_similar" => metadata::get_similar(request, required(session)?, params).await,
        "videos" => videos::videos(request, required(session)?, params).await,
        "video" => videos::video(request, required(session)?, params).await,
        "catalog_action" => catalogs::catalog_action(request, params).await,
        "catalogs" => catalogs::catalogs(request, required(session)?, params).await,
        "catalog" => catalogs::catalog(request, required(session)?, params).await,
        "catalog_file" => catalogs::catalog_file(request, params).await,
        "update_from_tags" => catalogs::update_from_tags(request, params).await,
        name => browse_method(request, required(session)?, name, params).await,
    }
}

async fn browse_method(
    request: &Request<'_>,
    session: &Session,
    name: &str,
    params: &Params,
) -> Result<Reply, ApiError> {
    let b = browse::Browser::new(request, session);
    match name {
        "get_indexes" => browse::get_indexes(&b, params).await,
        "artists" => browse::artists(&b, params).await,
        "artist" => browse::artist(&b, params).await,
        "artist_albums" => browse::artist_albums(&b, params).await,
        "artist_songs" => browse::artist_songs(&b, params).await,
        "albums" => browse::albums(&b, params).await,
        "album" => browse::album(&b, params).await,
        "album_songs" => browse::album_songs(&b, params).await,
        "tags" | "genres" => browse::tags(&b, params).await,
        "tag" | "genre" => browse::tag(&b, params).await,
        "tag_artists" | "genre_artists" => browse::tag_artists(&b, params).await,
        "tag_albums" | "genre_albums" => browse::tag_albums(&b, params).await,
        "tag_songs" | "genre_songs" => browse::tag_songs(&b, params).await,
        "songs" => browse::songs(&b, params).await,
        "song" => browse::song(&b, params).await,
        "search_songs" => browse::search_songs(&b, params).await,
        "url_to_song" => browse::url_to_song(&b, params).await,
        "playlists" => browse::playlists(&b, params).await,
        "stats" => browse::stats(&b, params).await,
        "advanced_search" | "search" => search::advanced_search(&b, request, session, params).await,
        "playlist_songs" => playlists::playlist_songs(&b, request, session, params).await,
        "playlist_generate" => playlists::playlist_generate(&b, request, session, params).await,
        _ => Err(ApiError::invalid_request()),
    }
}

/// The session of a method the table marks [`SessionNeed::Required`].
fn required(session: Option<&Session>) -> Result<&Session, ApiError> {
    session.ok_or_else(ApiError::session_expired)
}
