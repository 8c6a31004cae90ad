//! Ampache's JSON: pretty-printed, ids as strings, counts as integers, keyed documents
//! as plain objects.

use serde_json::{json, Map, Value};

use super::iso8601;
use crate::api::error::ApiError;
use crate::api::reply::{Reply, ServerStats};

pub fn reply(reply: &Reply) -> String {
    let value = match reply {
        Reply::Handshake(h) => {
            let mut object = Map::new();
            object.insert("auth".into(), json!(h.auth));
            object.insert("api".into(), json!(h.stats.api));
            object.insert("session_expire".into(), json!(iso8601(h.session_expire)));
            stats(&mut object, &h.stats, false);
            Value::Object(object)
        }
        Reply::Ping(p) => {
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
        Reply::Success(message) => json!({ "success": message }),
    };
    pretty(&value)
}

pub fn error(error: &ApiError) -> String {
    pretty(&json!({ "error": { "code": error.code.to_string(), "message": error.message } }))
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

/// Four-space indentation, as PHP's `JSON_PRETTY_PRINT` writes it.
fn pretty(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serialising a Value into memory cannot fail.
    let _ = serde::Serialize::serialize(value, &mut serializer);
    String::from_utf8(out).unwrap_or_default()
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
