//! A song as Ampache's pretty-printed JSON, written straight into bytes: keys as
//! literals, numbers through `itoa`/`ryu`, strings escaped only where needed, and
//! nothing allocated per song. Song lists are the largest answers: serialised
//! through serde (a struct of borrowed fields, two vectors a song for its genres),
//! their JSON took a fifth of a `search_songs` request's CPU. The bytes are those
//! serde_json's pretty printer (four-space indent) writes for the same object,
//! which the tests check against serde's own output.

use super::words;
use crate::api::reply::Song;
use crate::model::Named;

/// A list's songs as the items of an array, numbered from `first_position`: each
/// on its own line at depth 1, after a `,` unless `first` (the array's first part).
pub fn list_items(songs: &[Song], first_position: i64, first: bool) -> Vec<u8> {
    // About 1.8 KB a song.
    let mut out = Vec::with_capacity(songs.len() * 2048);
    for (index, song) in songs.iter().enumerate() {
        if index > 0 || !first {
            out.extend_from_slice(b",\n");
        }
        indent(&mut out, 1);
        write_song(&mut out, song, first_position + index as i64, 1);
    }
    out
}

/// A whole document of songs: a top-level array (`[]` when empty).
pub fn array(songs: &[Song], first_position: i64) -> Vec<u8> {
    if songs.is_empty() {
        return b"[]".to_vec();
    }
    let mut out = b"[\n".to_vec();
    out.extend_from_slice(&list_items(songs, first_position, true));
    out.extend_from_slice(b"\n]");
    out
}

/// Songs nested in another item (an album's tracks, an artist's songs) as values,
/// which the enclosing item's serialiser indents to their depth. Rare (only with
/// `include`), so their bytes are read back rather than written at each depth.
pub fn values(songs: &[Song]) -> Vec<serde_json::Value> {
    let mut out = Vec::with_capacity(2048);
    songs
        .iter()
        .zip(1..)
        .map(|(song, position)| {
            out.clear();
            write_song(&mut out, song, position, 0);
            // Written just above as JSON: reading it back cannot fail.
            serde_json::from_slice(&out).unwrap_or_default()
        })
        .collect()
}

/// The bytes of one song object, its `{` at the current position and its fields
/// one level deeper than `depth` (the `}` at `depth`).
pub fn write_song(out: &mut Vec<u8>, song: &Song, position: i64, depth: usize) {
    let s = &song.row;
    let mut w = Object::open(out, depth);
    w.id("id", s.id);
    w.text("title", &s.title);
    w.text("name", &s.title);
    w.named("artist", &s.artist);
    w.named("album", &s.album);
    if let Some(album_artist) = &s.album_artist {
        w.named("albumartist", album_artist);
    }
    w.int("disk", s.disc);
    w.int("track", s.track);
    w.text("filename", &s.path);
    w.key("tag");
    w.array(&s.genres, |out, depth, genre| {
        named_object(out, depth, genre)
    });
    w.int("playlisttrack", position);
    w.int("time", s.duration.round() as i64);
    w.int("year", s.year);
    w.int("bitrate", s.bitrate);
    w.int("rate", s.sample_rate);
    w.null("mode");
    w.text("mime", &s.mime);
    w.text("url", &song.url);
    w.int("size", s.size);
    w.opt_text("mbid", s.mbid.as_deref());
    w.opt_text("album_mbid", s.album_mbid.as_deref());
    w.opt_text("artist_mbid", s.artist_mbid.as_deref());
    w.opt_text("albumartist_mbid", s.album_artist_mbid.as_deref());
    w.text("art", &song.art);
    w.int("flag", s.opinion.flag as i64);
    w.opt_int("preciserating", s.opinion.rating);
    w.opt_int("rating", s.opinion.rating);
    w.opt_real(
        "averagerating",
        s.opinion
            .average_rating
            .map(|v| (v * 100.0).round() / 100.0),
    );
    w.int("playcount", s.play_count);
    w.int("catalog", s.catalog_id);
    w.opt_text("composer", s.composer.as_deref());
    w.opt_int("channels", Some(s.channels).filter(|c| *c > 0));
    w.opt_text("comment", s.comment.as_deref());
    w.null("license");
    w.null("publisher");
    w.null("language");
    w.opt_real("replaygain_album_gain", s.rg_album_gain);
    w.opt_real("replaygain_album_peak", s.rg_album_peak);
    w.opt_real("replaygain_track_gain", s.rg_track_gain);
    w.opt_real("replaygain_track_peak", s.rg_track_peak);
    w.key("genre");
    w.array(&s.genres, |out, depth, genre| {
        let mut object = Object::open(out, depth);
        object.text("name", &genre.name);
        object.close();
    });
    w.close();
}

/// An object being written: its fields go one level deeper than `depth`.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    depth: usize,
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>, depth: usize) -> Object<'a> {
        out.push(b'{');
        Object {
            out,
            depth,
            empty: true,
        }
    }

    fn close(self) {
        if self.empty {
            self.out.push(b'}');
        } else {
            self.out.push(b'\n');
            indent(self.out, self.depth);
            self.out.push(b'}');
        }
    }

    fn key(&mut self, key: &str) {
        // `,\n` and the indent as one slice (the comma left out before the first key).
        let skip = usize::from(self.empty);
        self.empty = false;
        match SEPARATOR.get(skip..2 + (self.depth + 1) * 4) {
            Some(separator) => self.out.extend_from_slice(separator),
            None => {
                self.out.extend_from_slice(&SEPARATOR[skip..2]);
                indent(self.out, self.depth + 1);
            }
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        string(self.out, value);
    }

    /// Text that is null when missing or empty.
    fn opt_text(&mut self, key: &str, value: Option<&str>) {
        match value.filter(|v| !v.is_empty()) {
            Some(value) => self.text(key, value),
            None => self.null(key),
        }
    }

    /// An id, written as a string (`"id": "42"`).
    fn id(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out.push(b'"');
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self.out.push(b'"');
    }

    fn int(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn opt_int(&mut self, key: &str, value: Option<i64>) {
        match value {
            Some(value) => self.int(key, value),
            None => self.null(key),
        }
    }

    /// A number as serde_json writes an `f64`: the shortest form that reads back the
    /// same (`4.0`, `-3.25`), null when not finite.
    fn opt_real(&mut self, key: &str, value: Option<f64>) {
        match value.filter(|v| v.is_finite()) {
            Some(value) => {
                self.key(key);
                self.out
                    .extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
            }
            None => self.null(key),
        }
    }

    fn null(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    /// `"key": {"id": "…", "name": "…"}`.
    fn named(&mut self, key: &str, value: &Named) {
        self.key(key);
        named_object(self.out, self.depth + 1, value);
    }

    /// An array value after its key; `item` writes each item at the depth it is
    /// given (two levels below this object's brace).
    fn array<T>(&mut self, items: &[T], item: impl Fn(&mut Vec<u8>, usize, &T)) {
        if items.is_empty() {
            self.out.extend_from_slice(b"[]");
            return;
        }
        self.out.push(b'[');
        for (index, value) in items.iter().enumerate() {
            self.out
                .extend_from_slice(if index == 0 { b"\n" } else { b",\n" });
            indent(self.out, self.depth + 2);
            item(self.out, self.depth + 2, value);
        }
        self.out.push(b'\n');
        indent(self.out, self.depth + 1);
        self.out.push(b']');
    }
}

/// `{"id": "…", "name": "…"}`, its `}` at `depth`.
fn named_object(out: &mut Vec<u8>, depth: usize, value: &Named) {
    let mut object = Object::open(out, depth);
    object.id("id", value.id);
    object.text("name", &value.name);
    object.close();
}

/// `,\n` and the spaces of the deepest indent written in one piece (a song in a
/// list has its keys at depth 2, its genres' at 4).
const SEPARATOR: &[u8] = b",\n                        ";

fn indent(out: &mut Vec<u8>, depth: usize) {
    const SPACES: &[u8] = SEPARATOR.split_at(2).1;
    let mut width = depth * 4;
    while width > 0 {
        let step = width.min(SPACES.len());
        out.extend_from_slice(&SPACES[..step]);
        width -= step;
    }
}

/// The bytes a JSON string must escape: control characters, `"` and `\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Whether any of the eight bytes of `word` must be escaped: below 0x20, `"` or
/// `\`.
fn word_needs_escape(word: u64) -> bool {
    words::has_byte_below(word, 0x20) || words::has_byte(word, b'"') || words::has_byte(word, b'\\')
}

/// The position of the first byte at or after `at` that must be escaped, or the
/// length: eight bytes at a time, then byte by byte within the word that has one.
fn next_escape(bytes: &[u8], at: usize) -> usize {
    let mut at = words::skip_unflagged_words(bytes, at, word_needs_escape);
    while at < bytes.len() && !ESCAPED[bytes[at] as usize] {
        at += 1;
    }
    at
}

/// A JSON string as serde_json escapes it: `"` and `\`, and control characters
/// (`\n`, `\t`, … or `\u00XX`); everything else, non-ASCII included, as it is.
/// Runs without escapes are found eight bytes at a time and copied whole (a match
/// per byte was the JSON writer's largest cost; a table lookup per byte was still
/// 5.6% of a `search_songs` answer's CPU).
fn string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut start = 0;
    loop {
        let at = next_escape(bytes, start);
        out.extend_from_slice(&bytes[start..at]);
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(byte >> 4) as usize]);
                out.push(HEX[(byte & 0xf) as usize]);
            }
        }
        start = at + 1;
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte that needs escaping, at every place in and around an eight-byte
    /// word, among ASCII and multi-byte characters: the same bytes as serde_json.
    #[test]
    fn strings_escape_like_serde_at_every_position() {
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', '/', '\u{7f}', 'é', '日', '🎵', '\u{2028}'])
            .collect();
        for special in specials {
            for before in 0..18 {
                for after in [0, 1, 7, 8, 9] {
                    let text: String =
                        "a".repeat(before) + &special.to_string() + &"ü".repeat(after);
                    let mut written = Vec::new();
                    string(&mut written, &text);
                    assert_eq!(
                        String::from_utf8(written).unwrap(),
                        serde_json::to_string(&text).unwrap(),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn words_needing_escapes_are_found_exactly() {
        for byte in 0..=255u8 {
            for place in 0..8 {
                let mut word = *b"abcdefgh";
                word[place] = byte;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(word)),
                    ESCAPED[byte as usize],
                    "byte {byte:#x} at {place}"
                );
            }
        }
    }
}
