//! JSON for library items: ids as strings, numbers as numbers, missing text as null.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::reply::{Album, Artist, Index, Song, Video};
use crate::store::browse::{GenreRow, Named, Opinion, PlaylistRow};
use crate::store::social::{ActivityRow, ShoutRow};

fn named(value: &Named) -> Value {
    json!({ "id": value.id.to_string(), "name": value.name })
}

fn tags(genres: &[Named]) -> Value {
    Value::Array(genres.iter().map(named).collect())
}

fn text_or_null(value: Option<&str>) -> Value {
    match value {
        Some(text) if !text.is_empty() => json!(text),
        _ => Value::Null,
    }
}

fn opinion(object: &mut Map<String, Value>, opinion: &Opinion) {
    object.insert("flag".into(), json!(opinion.flag as i64));
    object.insert("preciserating".into(), json!(opinion.rating));
    object.insert("rating".into(), json!(opinion.rating));
    object.insert(
        "averagerating".into(),
        json!(opinion.average_rating.map(|v| (v * 100.0).round() / 100.0)),
    );
}

/// A song as JSON, serialised straight from borrowed fields: song lists are the
/// largest answers, so they skip building a map per song.
#[derive(Serialize)]
pub struct SongJson<'a> {
    id: String,
    title: &'a str,
    name: &'a str,
    artist: RefJson<'a>,
    album: RefJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    albumartist: Option<RefJson<'a>>,
    disk: i64,
    track: i64,
    filename: &'a str,
    tag: Vec<RefJson<'a>>,
    playlisttrack: i64,
    time: i64,
    year: i64,
    bitrate: i64,
    rate: i64,
    mode: Option<&'a str>,
    mime: &'a str,
    url: &'a str,
    size: i64,
    mbid: Option<&'a str>,
    album_mbid: Option<&'a str>,
    artist_mbid: Option<&'a str>,
    albumartist_mbid: Option<&'a str>,
    art: &'a str,
    flag: i64,
    preciserating: Option<i64>,
    rating: Option<i64>,
    averagerating: Option<f64>,
    playcount: i64,
    catalog: i64,
    composer: Option<&'a str>,
    channels: Option<i64>,
    comment: Option<&'a str>,
    license: Option<&'a str>,
    publisher: Option<&'a str>,
    language: Option<&'a str>,
    replaygain_album_gain: Option<f64>,
    replaygain_album_peak: Option<f64>,
    replaygain_track_gain: Option<f64>,
    replaygain_track_peak: Option<f64>,
    genre: Vec<GenreName<'a>>,
}

#[derive(Serialize)]
struct RefJson<'a> {
    id: String,
    name: &'a str,
}

impl<'a> RefJson<'a> {
    fn of(value: &'a Named) -> RefJson<'a> {
        RefJson {
            id: value.id.to_string(),
            name: &value.name,
        }
    }
}

#[derive(Serialize)]
struct GenreName<'a> {
    name: &'a str,
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

pub fn song_objects(songs: &[Song], first_position: i64) -> Vec<SongJson<'_>> {
    songs
        .iter()
        .enumerate()
        .map(|(index, song)| {
            let s = &song.row;
            SongJson {
                id: s.id.to_string(),
                title: &s.title,
                name: &s.title,
                artist: RefJson::of(&s.artist),
                album: RefJson::of(&s.album),
                albumartist: s.album_artist.as_ref().map(RefJson::of),
                disk: s.disc,
                track: s.track,
                filename: &s.path,
                tag: s.genres.iter().map(RefJson::of).collect(),
                playlisttrack: first_position + index as i64,
                time: s.duration.round() as i64,
                year: s.year,
                bitrate: s.bitrate,
                rate: s.sample_rate,
                mode: None,
                mime: &s.mime,
                url: &song.url,
                size: s.size,
                mbid: non_empty(s.mbid.as_deref()),
                album_mbid: non_empty(s.album_mbid.as_deref()),
                artist_mbid: non_empty(s.artist_mbid.as_deref()),
                albumartist_mbid: non_empty(s.album_artist_mbid.as_deref()),
                art: &song.art,
                flag: s.opinion.flag as i64,
                preciserating: s.opinion.rating,
                rating: s.opinion.rating,
                averagerating: s
                    .opinion
                    .average_rating
                    .map(|v| (v * 100.0).round() / 100.0),
                playcount: s.play_count,
                catalog: s.catalog_id,
                composer: non_empty(s.composer.as_deref()),
                channels: Some(s.channels).filter(|c| *c > 0),
                comment: non_empty(s.comment.as_deref()),
                license: None,
                publisher: None,
                language: None,
                replaygain_album_gain: s.rg_album_gain,
                replaygain_album_peak: s.rg_album_peak,
                replaygain_track_gain: s.rg_track_gain,
                replaygain_track_peak: s.rg_track_peak,
                genre: s
                    .genres
                    .iter()
                    .map(|g| GenreName { name: &g.name })
                    .collect(),
            }
        })
        .collect()
}

/// Songs as a JSON value, for lists nested in other objects.
pub fn songs(songs: &[Song], first_position: i64) -> Value {
    serde_json::to_value(song_objects(songs, first_position)).unwrap_or(Value::Null)
}

pub fn albums(albums: &[Album]) -> Value {
    Value::Array(albums.iter().map(album_object).collect())
}

fn album_object(album: &Album) -> Value {
    let a = &album.row;
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id.to_string()));
    o.insert("name".into(), json!(a.name));
    o.insert("artist".into(), named(&a.artist));
    o.insert("time".into(), json!(a.total_time));
    o.insert("year".into(), json!(a.year));
    match &album.songs {
        Some(list) => o.insert("tracks".into(), songs(list, 1)),
        None => o.insert("tracks".into(), json!(a.song_count)),
    };
    o.insert("songcount".into(), json!(a.song_count));
    o.insert("type".into(), Value::Null);
    o.insert("disk".into(), json!(a.disc_count));
    o.insert("tag".into(), tags(&a.genres));
    o.insert("art".into(), json!(album.art));
    opinion(&mut o, &a.opinion);
    o.insert("mbid".into(), text_or_null(a.mbid.as_deref()));
    Value::Object(o)
}

pub fn artists(artists: &[Artist]) -> Value {
    Value::Array(artists.iter().map(artist_object).collect())
}

fn artist_object(artist: &Artist) -> Value {
    let a = &artist.row;
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id.to_string()));
    o.insert("name".into(), json!(a.name));
    match &artist.albums {
        Some(list) => o.insert("albums".into(), albums(list)),
        None => o.insert("albums".into(), json!(a.album_count)),
    };
    o.insert("albumcount".into(), json!(a.album_count));
    match &artist.songs {
        Some(list) => o.insert("songs".into(), songs(list, 1)),
        None => o.insert("songs".into(), json!(a.song_count)),
    };
    o.insert("songcount".into(), json!(a.song_count));
    o.insert("tag".into(), tags(&a.genres));
    o.insert("art".into(), json!(artist.art));
    opinion(&mut o, &a.opinion);
    o.insert("mbid".into(), text_or_null(a.mbid.as_deref()));
    o.insert("summary".into(), Value::Null);
    o.insert("time".into(), json!(a.total_time));
    o.insert("yearformed".into(), json!(0));
    o.insert("placeformed".into(), Value::Null);
    Value::Object(o)
}

/// Tags are wrapped: `[{"tag": [...]}]`.
pub fn genres(genres: &[GenreRow]) -> Value {
    let list: Vec<Value> = genres
        .iter()
        .map(|g| {
            json!({
                "id": g.id.to_string(),
                "name": g.name,
                "albums": g.albums,
                "artists": g.artists,
                "songs": g.songs,
                "videos": 0,
                "playlists": 0,
                "stream": 0,
            })
        })
        .collect();
    json!([{ "tag": list }])
}

pub fn playlists(playlists: &[PlaylistRow]) -> Value {
    Value::Array(
        playlists
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "name": p.name,
                    "owner": p.owner,
                    "items": p.items,
                    "type": if p.public { "public" } else { "private" },
                })
            })
            .collect(),
    )
}

/// JSON `get_indexes` answers with the full objects.
pub fn index(index: &Index) -> Value {
    match index {
        Index::Songs(list) => songs(list, 1),
        Index::Albums(list) => albums(list),
        Index::Artists(list) => Value::Array(
            list.iter()
                .map(|(artist, _)| artist_object(artist))
                .collect(),
        ),
        Index::Playlists(list) => playlists(list),
    }
}

fn user_list(user: &Named) -> Value {
    json!([{ "id": user.id.to_string(), "username": user.name }])
}

/// followers / following: `[{"user": [...]}]`.
pub fn users(users: &[Named]) -> Value {
    let list: Vec<Value> = users
        .iter()
        .map(|u| json!({ "id": u.id.to_string(), "username": u.name }))
        .collect();
    json!([{ "user": list }])
}

pub fn shouts(shouts: &[ShoutRow]) -> Value {
    Value::Array(
        shouts
            .iter()
            .map(|s| {
                json!({
                    "id": s.id.to_string(),
                    "date": s.date.to_string(),
                    "text": s.text,
                    "user": user_list(&s.user),
                })
            })
            .collect(),
    )
}

/// `{"timeline": [...]}`; the date is under `data` (4.2's spelling, which clients
/// read) and `date`.
pub fn timeline(activity: &[ActivityRow]) -> Value {
    let list: Vec<Value> = activity
        .iter()
        .map(|a| {
            json!({
                "id": a.id.to_string(),
                "data": a.date.to_string(),
                "date": a.date.to_string(),
                "object_type": a.object_type,
                "object_id": a.object_id.to_string(),
                "action": a.action,
                "user": user_list(&a.user),
            })
        })
        .collect();
    json!({ "timeline": list })
}

pub fn videos(videos: &[Video]) -> Value {
    Value::Array(
        videos
            .iter()
            .map(|video| {
                let v = &video.row;
                json!({
                    "id": v.id.to_string(),
                    "title": v.title,
                    "mime": v.mime,
                    "resolution": format!("{}x{}", v.resolution_x, v.resolution_y),
                    "size": v.size,
                    "tag": [],
                    "url": video.url,
                })
            })
            .collect(),
    )
}
