//! The stream and art URLs that responses carry (spec section 7). Players open them
//! directly, so they embed the caller's session token.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters escaped in a URL query value: everything but unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// `name=` as Ampache writes it: "<artist> - <title>.<ext>" with every character
/// outside `[A-Za-z0-9. ]` replaced by `-`, then URL-encoded.
pub fn stream_name(artist: &str, title: &str, ext: &str) -> String {
    safe_name(&format!("{artist} - {title}.{ext}"))
}

/// `name=` for an object without an artist (a video): "<title>.<ext>", made safe the
/// same way.
pub fn title_name(title: &str, ext: &str) -> String {
    safe_name(&format!("{title}.{ext}"))
}

fn safe_name(raw: &str) -> String {
    let safe: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == ' ' {
                c
            } else {
                '-'
            }
        })
        .collect();
    encode(&safe)
}

/// `<base>/play/index.php?ssid=..&type=song&oid=..&uid=..[&extra]&player=api&name=..`
pub fn stream_url(
    base: &str,
    token: &str,
    kind: &str,
    object_id: i64,
    user_id: i64,
    extra: &str,
    name: &str,
) -> String {
    format!(
        "{base}/play/index.php?ssid={token}&type={kind}&oid={object_id}&uid={user_id}{extra}&player=api&name={name}"
    )
}

/// `<base>/image.php?object_id=..&object_type=..&auth=..` (songs add `&name=art.jpg`).
pub fn art_url(
    base: &str,
    token: &str,
    object_type: &str,
    object_id: i64,
    with_name: bool,
) -> String {
    let name = if with_name { "&name=art.jpg" } else { "" };
    format!("{base}/image.php?object_id={object_id}&object_type={object_type}&auth={token}{name}")
}

/// The extension a stream name ends with, from the mime type.
pub fn extension_for_mime(mime: &str) -> &'static str {
    match mime {
        "audio/mpeg" => "mp3",
        "audio/flac" => "flac",
        "audio/ogg" => "ogg",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/wav" => "wav",
        "audio/aiff" => "aiff",
        "audio/x-wavpack" => "wv",
        "audio/x-ape" => "ape",
        "audio/x-musepack" => "mpc",
        "video/mp4" => "mp4",
        "video/x-matroska" => "mkv",
        "video/webm" => "webm",
        "video/x-msvideo" => "avi",
        "video/quicktime" => "mov",
        "video/mpeg" => "mpg",
        "video/ogg" => "ogv",
        "video/x-ms-wmv" => "wmv",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_ampache() {
        assert_eq!(
            stream_name("Alpha Band", "Dawn", "mp3"),
            "Alpha%20Band%20-%20Dawn.mp3"
        );
        assert_eq!(stream_name("Björk", "Ø/1", "flac"), "Bj-rk%20-%20--1.flac");
    }
}
