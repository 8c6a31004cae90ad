//! Ampache's XML: one `<root>`, text in CDATA, numbers bare, key/value documents with
//! every value in CDATA.

use std::fmt::Write;

use super::{iso8601, words, xml_items};
use crate::api::error::ApiError;
use crate::api::reply::{Document, ServerStats, Song, UserView};

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root>\n";
const FOOTER: &str = "</root>\n";

/// A song list's text before its items.
pub fn list_opening(total: usize) -> String {
    let mut out = String::from(HEADER);
    xml_items::total_count(&mut out, total);
    out
}

/// Songs as a list's items, numbered from `first_position`.
pub fn song_items(songs: &[Song], first_position: i64) -> String {
    // About 1.7 KB a song: one allocation for the chunk's text.
    let mut out = String::with_capacity(songs.len() * 1800);
    xml_items::songs(&mut out, songs, first_position, 1);
    out
}

pub fn album_items(albums: &[crate::api::reply::Album]) -> String {
    let mut out = String::with_capacity(albums.len() * 700);
    xml_items::albums(&mut out, albums, 1);
    out
}

pub fn artist_items(artists: &[crate::api::reply::Artist]) -> String {
    let mut out = String::with_capacity(artists.len() * 700);
    xml_items::artists(&mut out, artists, 1);
    out
}

pub fn list_closing() -> String {
    FOOTER.to_string()
}

pub fn document(reply: &Document) -> String {
    let mut out = String::from(HEADER);
    match reply {
        Document::Handshake(h) => {
            keyed(&mut out, "auth", &h.auth);
            keyed(&mut out, "api", &h.stats.api);
            keyed(&mut out, "session_expire", &iso8601(h.session_expire));
            stats(&mut out, &h.stats, false);
        }
        Document::Ping(p) => {
            if let Some((expire, _)) = &p.session {
                keyed(&mut out, "session_expire", &iso8601(*expire));
            }
            keyed(&mut out, "server", &p.server);
            keyed(&mut out, "version", &p.version);
            keyed(&mut out, "compatible", &p.compatible);
            if let Some((_, s)) = &p.session {
                stats(&mut out, s, true);
            }
        }
        Document::Success(message) => {
            let _ = writeln!(out, "  <success code=\"1\">{}</success>", cdata(message));
        }
        Document::User(view) => user(&mut out, view),
        Document::Songs {
            songs,
            first_position,
        } => {
            xml_items::total_count(&mut out, songs.len());
            xml_items::songs(&mut out, songs, *first_position, 1);
        }
        Document::Albums(albums) => {
            xml_items::total_count(&mut out, albums.len());
            xml_items::albums(&mut out, albums, 1);
        }
        Document::Artists(artists) => {
            xml_items::total_count(&mut out, artists.len());
            xml_items::artists(&mut out, artists, 1);
        }
        Document::Genres(genres) => {
            xml_items::total_count(&mut out, genres.len());
            xml_items::genres(&mut out, genres);
        }
        Document::Playlists(playlists) => {
            xml_items::total_count(&mut out, playlists.len());
            xml_items::playlists(&mut out, playlists);
        }
        Document::Ids(ids) => {
            for (index, id) in ids.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  <id index=\"{index}\">{}</id>",
                    cdata(&id.to_string())
                );
            }
        }
        Document::Videos(videos) => {
            xml_items::total_count(&mut out, videos.len());
            xml_items::videos(&mut out, videos);
        }
        Document::Catalogs(catalogs) => super::catalogs::xml(&mut out, catalogs),
        Document::Users(users) => xml_items::users(&mut out, users),
        Document::Shouts(shouts) => xml_items::shouts(&mut out, shouts),
        Document::Timeline(activity) => xml_items::timeline(&mut out, activity),
        Document::Index(index) => {
            xml_items::total_count(&mut out, xml_items::index_len(index));
            xml_items::index(&mut out, index);
        }
        Document::Control(control) => super::control::xml(&mut out, control),
    }
    out.push_str(FOOTER);
    out
}

pub fn error(error: &ApiError) -> String {
    format!(
        "{HEADER}  <error code=\"{}\">{}</error>\n{FOOTER}",
        error.code,
        cdata(&error.message)
    )
}

fn stats(out: &mut String, s: &ServerStats, with_api: bool) {
    if with_api {
        keyed(out, "api", &s.api);
    }
    keyed(out, "update", &iso8601(s.update));
    keyed(out, "add", &iso8601(s.add));
    keyed(out, "clean", &iso8601(s.clean));
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
        keyed(out, name, &value.to_string());
    }
}

fn user(out: &mut String, view: &UserView) {
    let u = &view.user;
    let _ = writeln!(out, "  <user id=\"{}\">", u.id);
    let mut field = |name: &str, value: &str| {
        let _ = writeln!(out, "    <{name}>{}</{name}>", cdata(value));
    };
    field("username", &u.username);
    if view.full {
        field("auth", u.apikey.as_deref().unwrap_or(""));
        field("email", &u.email);
        field("access", &u.access.to_string());
        field("fullname_public", flag(u.fullname_public));
        field("validation", "");
        field("disabled", flag(u.disabled));
    }
    field("create_date", &u.created.to_string());
    field("last_seen", &u.last_seen.to_string());
    field("link", "");
    field("website", &u.website);
    field("state", &u.state);
    field("city", &u.city);
    if view.full || u.fullname_public {
        field("fullname", &u.fullname);
    }
    out.push_str("  </user>\n");
}

fn flag(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

fn keyed(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "  <{name}>{}</{name}>", cdata(value));
}

/// Wraps text in CDATA, splitting any `]]>` inside it and dropping characters XML 1.0
/// cannot carry, so any stored text yields a well-formed document.
pub fn cdata(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 12);
    push_cdata(&mut out, text);
    out
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether `text` can go into CDATA as it is: no `]]>`, no character XML forbids.
/// Words of eight bytes without a control character, `]` or U+FFFE/U+FFFF's first
/// byte are passed whole; the bytes of the others are checked one by one (three
/// scans of every string took 7% of an XML song list's CPU, and one scan byte by
/// byte still 7.5% of a `search_songs` answer's).
fn cdata_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let flagged = |word| {
        words::has_byte_below(word, 0x20)
            || words::has_byte(word, b']')
            || words::has_byte(word, 0xef)
    };
    let mut at = 0;
    while at < bytes.len() {
        at = words::skip_unflagged_words(bytes, at, flagged);
        let end = (at + 8).min(bytes.len());
        if !(at..end).all(|at| plain_byte(bytes, at)) {
            return false;
        }
        at = end;
    }
    true
}

/// Whether the byte at `at` can stay as it is in CDATA.
fn plain_byte(bytes: &[u8], at: usize) -> bool {
    match bytes[at] {
        b'\t' | b'\n' | b'\r' => true,
        0..=0x1f => false,
        b']' => !bytes[at + 1..].starts_with(b"]>"),
        // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
        0xef => !matches!(bytes.get(at + 1..at + 3), Some([0xbf, 0xbe | 0xbf])),
        _ => true,
    }
}

/// Appends `text` as CDATA to `out`; text that needs no mending (nearly all of it) is
/// copied as it is, without an intermediate string.
pub fn push_cdata(out: &mut String, text: &str) {
    out.push_str("<![CDATA[");
    if cdata_plain(text) {
        out.push_str(text);
    } else {
        let clean: String = text.chars().filter(|c| xml_char(*c)).collect();
        out.push_str(&clean.replace("]]>", "]]]]><![CDATA[>"));
    }
    out.push_str("]]>");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time scan agrees with checking every byte, whatever the place
    /// of the byte that decides, across word boundaries included.
    #[test]
    fn cdata_scan_agrees_with_a_byte_by_byte_check_everywhere() {
        let pieces = [
            "\u{1}", "\t", "\n", "]]>", "]]", "]>", "]", "\u{FFFE}", "\u{FFFF}", "\u{EFFF}", "é",
            "日",
        ];
        for piece in pieces {
            for before in 0..18 {
                for after in [0, 1, 2, 7, 8, 9] {
                    let text = "a".repeat(before) + piece + &"b".repeat(after);
                    let bytes = text.as_bytes();
                    let expected = (0..bytes.len()).all(|at| plain_byte(bytes, at));
                    assert_eq!(cdata_plain(&text), expected, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn only_text_that_needs_it_is_mended() {
        for plain in [
            "",
            "a]b",
            "]]",
            "a]>",
            "é 日本 🎵\u{FFFD}",
            "\t\n\r",
            "\u{EFFF}",
        ] {
            assert!(cdata_plain(plain), "{plain:?}");
        }
        for mended in ["]]>", "a]]>b", "\u{1}", "x\u{FFFE}", "\u{FFFF}y", "\u{0}"] {
            assert!(!cdata_plain(mended), "{mended:?}");
        }
    }

    #[test]
    fn cdata_survives_terminators_and_controls() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        assert_eq!(cdata("x\u{1}y"), "<![CDATA[xy]]>");
    }

    #[test]
    fn errors_have_the_code_attribute() {
        let text = error(&ApiError::invalid_request());
        assert!(text.contains("<error code=\"405\"><![CDATA[Invalid Request]]></error>"));
    }
}
