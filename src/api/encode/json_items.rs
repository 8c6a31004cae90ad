//! JSON for library items: ids as strings, numbers as numbers, missing text as null.

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

pub fn songs(songs: &[Song], first_position: i64) -> Value {
    Value::Array(
        songs
            .iter()
            .enumerate()
            .map(|(index, song)| song_object(song, first_position + index as i64))
            .collect(),
    )
}

fn song_object(song: &Song, position: i64) -> Value {
    let s = &song.row;
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id.to_string()));
    o.insert("title".into(), json!(s.title));
    o.insert("name".into(), json!(s.title));
    o.insert("artist".into(), named(&s.artist));
    o.insert("album".into(), named(&s.album));
    if let Some(album_artist) = &s.album_artist {
        o.insert("albumartist".into(), named(album_artist));
    }
    o.insert("disk".into(), json!(s.disc));
    o.insert("track".into(), json!(s.track));
    o.insert("filename".into(), json!(s.path));
    o.insert("tag".into(), tags(&s.genres));
    o.insert("playlisttrack".into(), json!(position));
    o.insert("time".into(), json!(s.duration.round() as i64));
    o.insert("year".into(), json!(s.year));
    o.insert("bitrate".into(), json!(s.bitrate));
    o.insert("rate".into(), json!(s.sample_rate));
    o.insert("mode".into(), Value::Null);
    o.insert("mime".into(), json!(s.mime));
    o.insert("url".into(), json!(song.url));
    o.insert("size".into(), json!(s.size));
    o.insert("mbid".into(), text_or_null(s.mbid.as_deref()));
    o.insert("album_mbid".into(), text_or_null(s.album_mbid.as_deref()));
    o.insert("artist_mbid".into(), text_or_null(s.artist_mbid.as_deref()));
    o.insert(
        "albumartist_mbid".into(),
        text_or_null(s.album_artist_mbid.as_deref()),
    );
    o.insert("art".into(), json!(song.art));
    opinion(&mut o, &s.opinion);
    o.insert("playcount".into(), json!(s.play_count));
    o.insert("catalog".into(), json!(s.catalog_id));
    o.insert("composer".into(), text_or_null(s.composer.as_deref()));
    o.insert(
        "channels".into(),
        json!(Some(s.channels).filter(|c| *c > 0)),
    );
    o.insert("comment".into(), text_or_null(s.comment.as_deref()));
    o.insert("license".into(), Value::Null);
    o.insert("publisher".into(), Value::Null);
    o.insert("language".into(), Value::Null);
    o.insert("replaygain_album_gain".into(), json!(s.rg_album_gain));
    o.insert("replaygain_album_peak".into(), json!(s.rg_album_peak));
    o.insert("replaygain_track_gain".into(), json!(s.rg_track_gain));
    o.insert("replaygain_track_peak".into(), json!(s.rg_track_peak));
    o.insert(
        "genre".into(),
        Value::Array(s.genres.iter().map(|g| json!({ "name": g.name })).collect()),
    );
    Value::Object(o)
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
