//! Ampache's JSON: pretty-printed, ids as strings, counts as integers, keyed documents
//! as plain objects.

use axum::body::Bytes;
use serde_json::{json, Map, Value};

use super::{iso8601, json_items, json_song};
use crate::api::error::ApiError;
use crate::api::reply::{Document, Index, ServerStats, UserView};

pub fn document(reply: &Document) -> String {
    let value = match reply {
        Document::Handshake(h) => {
            let mut object = Map::new();
            object.insert("auth".into(), json!(h.auth));
            object.insert("api".into(), json!(h.stats.api));
            object.insert("session_expire".into(), json!(iso8601(h.session_expire)));
            stats(&mut object, &h.stats, false);
            Value::Object(object)
        }
        Document::Ping(p) => {
            let mut object = Map::new();
            if let Some((expire, _)) = &p.session {
                object.insert("session_expire".into(), json!(iso8601(*expire)));
            }
            object.insert("server".into(), json!(p.server));
            object.insert("version".into(), json!(p.version));
            object.insert("compatible".into(), json!(p.compatible));
            if let Some((_, s)) = &p.session {
                stats(&mut object, s, true);
            }
            Value::Object(object)
        }
        Document::Success(message) => json!({ "success": message }),
        Document::User(view) => json!({ "user": user(view) }),
        // Item lists, the largest answers, are serialised straight, without an
        // intermediate value.
        Document::Songs {
            songs,
            first_position,
        } => return text(json_song::array(songs, *first_position)),
        Document::Albums(albums) => return pretty(&json_items::album_objects(albums)),
        Document::Artists(artists) => return pretty(&json_items::artist_objects(artists)),
        Document::Genres(genres) => json_items::genres(genres),
        Document::Playlists(playlists) => json_items::playlists(playlists),
        // get_indexes answers with the full objects.
        Document::Index(index) => {
            return match index {
                Index::Songs(list) => text(json_song::array(list, 1)),
                Index::Albums(list) => pretty(&json_items::album_objects(list)),
                Index::Artists(list) => pretty(
                    &list
                        .iter()
                        .map(|(artist, _)| json_items::artist_json(artist))
                        .collect::<Vec<_>>(),
                ),
                Index::Playlists(list) => pretty(&json_items::playlists(list)),
                Index::Videos(list) => pretty(&json_items::videos(list)),
            }
        }
        Document::Ids(ids) => json!(ids),
        Document::Videos(videos) => json_items::videos(videos),
        Document::Catalogs(catalogs) => super::catalogs::json(catalogs),
        Document::Users(users) => json_items::users(users),
        Document::Shouts(shouts) => json_items::shouts(shouts),
        Document::Timeline(activity) => json_items::timeline(activity),
        Document::Control(control) => super::control::json(control),
    };
    pretty(&value)
}

/// A song list's text before its items: `[` (an empty list is `[]`, written whole
/// by [`list_closing`]).
pub fn list_opening(total: usize) -> String {
    if total == 0 {
        String::new()
    } else {
        "[\n".to_string()
    }
}

/// Songs as array items, numbered from `first_position`.
pub fn song_items(songs: &[crate::api::reply::Song], first_position: i64, first: bool) -> Bytes {
    Bytes::from(json_song::list_items(songs, first_position, first))
}

pub fn album_items(albums: &[crate::api::reply::Album], first: bool) -> Bytes {
    array_items(&json_items::album_objects(albums), first)
}

pub fn artist_items(artists: &[crate::api::reply::Artist], first: bool) -> Bytes {
    array_items(&json_items::artist_objects(artists), first)
}

/// Items of an array as the pretty printer writes them inside the whole array: the
/// part is printed as an array (`[\n` items `\n]`) and its brackets dropped in place,
/// with `,` before every part but the first. The bytes are handed on as written:
/// checking them as UTF-8 and copying them without the brackets took 13% of the
/// CPU of a 5000-song page (they are serde_json's output, UTF-8 by construction).
fn array_items<T: serde::Serialize>(items: &[T], first: bool) -> Bytes {
    if items.is_empty() {
        return Bytes::new();
    }
    // About 1.8 KB a song: a part of a list fits without growing.
    let mut out = pretty_bytes(items, items.len() * 2048);
    out.truncate(out.len().saturating_sub(2));
    if first {
        Bytes::from(out).slice(2..)
    } else {
        out[0] = b',';
        Bytes::from(out)
    }
}

pub fn list_closing(total: usize) -> String {
    if total == 0 {
        "[]".to_string()
    } else {
        "\n]".to_string()
    }
}

pub fn error(error: &ApiError) -> String {
    pretty(&json!({ "error": { "code": error.code.to_string(), "message": error.message } }))
}

fn user(view: &UserView) -> Value {
    let u = &view.user;
    let text_or_null = |text: &str| {
        if text.is_empty() {
            Value::Null
        } else {
            json!(text)
        }
    };
    let mut object = Map::new();
    object.insert("id".into(), json!(u.id.to_string()));
    object.insert("username".into(), json!(u.username));
    if view.full {
        object.insert("auth".into(), json!(u.apikey.clone().unwrap_or_default()));
        object.insert("email".into(), json!(u.email));
        object.insert("access".into(), json!(u.access.to_string()));
        object.insert(
            "fullname_public".into(),
            json!(if u.fullname_public { "1" } else { "0" }),
        );
        object.insert("validation".into(), Value::Null);
        object.insert("disabled".into(), json!(if u.disabled { "1" } else { "0" }));
    }
    object.insert("create_date".into(), json!(u.created));
    object.insert("last_seen".into(), json!(u.last_seen));
    object.insert("website".into(), text_or_null(&u.website));
    object.insert("state".into(), text_or_null(&u.state));
    object.insert("city".into(), text_or_null(&u.city));
    if u.fullname_public {
        object.insert("fullname".into(), json!(u.fullname));
    }
    Value::Object(object)
}

fn stats(object: &mut Map<String, Value>, s: &ServerStats, with_api: bool) {
    if with_api {
        object.insert("api".into(), json!(s.api));
    }
    object.insert("update".into(), json!(iso8601(s.update)));
    object.insert("add".into(), json!(iso8601(s.add)));
    object.insert("clean".into(), json!(iso8601(s.clean)));
    for (name, value) in [
        ("songs", s.songs),
        ("albums", s.albums),
        ("artists", s.artists),
        ("playlists", s.playlists),
        ("videos", s.videos),
        ("catalogs", s.catalogs),
        ("users", s.users),
        ("tags", s.tags),
    ] {
        object.insert(name.into(), json!(value));
    }
}

/// Bytes written as JSON, as text. They are UTF-8 by construction (pieces of
/// `&str` and ASCII), which the check confirms rather than assumes.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// Four-space indentation, as PHP's `JSON_PRETTY_PRINT` writes it.
fn pretty<T: serde::Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8(pretty_bytes(value, 256)).unwrap_or_default()
}

fn pretty_bytes<T: serde::Serialize + ?Sized>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serialising into memory cannot fail.
    let _ = serde::Serialize::serialize(value, &mut serializer);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_is_a_string() {
        let text = error(&ApiError::session_expired());
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["error"]["code"], json!("401"));
        assert_eq!(value["error"]["message"], json!("Session Expired"));
    }
}
