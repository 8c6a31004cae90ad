//! XML for library items (songs, albums, artists, genres, playlists, indexes), in the
//! element order Ampache writes them.

use std::fmt::Write;

use super::xml::push_cdata;
use crate::api::reply::{Album, Artist, Index, Song, Video};
use crate::model::{ActivityRow, GenreRow, Named, Opinion, PlaylistRow, ShoutRow};

/// Writes elements at one indentation depth.
struct Out<'a> {
    out: &'a mut String,
    indent: usize,
}

impl Out<'_> {
    /// The indent, as one slice when it is no deeper than a song's fields in a list.
    fn pad(&mut self) {
        const SPACES: &str = "            ";
        match SPACES.get(..self.indent * 2) {
            Some(spaces) => self.out.push_str(spaces),
            None => {
                for _ in 0..self.indent {
                    self.out.push_str("  ");
                }
            }
        }
    }
    fn text(&mut self, name: &str, value: &str) {
        self.pad();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        push_cdata(self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
    fn opt_text(&mut self, name: &str, value: Option<&str>) {
        self.text(name, value.unwrap_or(""));
    }
    /// `<name>value</name>`, the number written without the formatting machinery
    /// (a song has a dozen: `write!` took 4% of an XML song list's CPU).
    fn int(&mut self, name: &str, value: i64) {
        self.pad();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.out.push_str(itoa::Buffer::new().format(value));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
    /// `<name/>`: a value Ampache leaves empty.
    fn empty(&mut self, name: &str) {
        self.pad();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str("/>\n");
    }
    fn opt_int(&mut self, name: &str, value: Option<i64>) {
        match value {
            Some(value) => self.int(name, value),
            None => self.empty(name),
        }
    }
    /// `<name>value</name>` with the number as Rust displays it (shortest form that
    /// reads back the same, never an exponent), or `<name/>`. Only the number goes
    /// through the formatting machinery: a song has up to eight of these, and
    /// `writeln!` of whole elements was 1.9% of an XML search's CPU (`perf`).
    fn opt_real(&mut self, name: &str, value: Option<f64>) {
        let Some(value) = value else {
            return self.empty(name);
        };
        self.pad();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        let _ = write!(self.out, "{value}");
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
    /// `<name id="…">` with the id written in place.
    fn open_tag_with_id(&mut self, name: &str, id: i64) {
        self.pad();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" id=\"");
        self.out.push_str(itoa::Buffer::new().format(id));
        self.out.push('"');
    }
    fn named(&mut self, name: &str, value: &Named) {
        self.open_tag_with_id(name, value.id);
        self.out.push('>');
        push_cdata(self.out, &value.name);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
    fn tags(&mut self, genres: &[Named]) {
        for genre in genres {
            self.open_tag_with_id("tag", genre.id);
            self.out.push_str(" count=\"1\">");
            push_cdata(self.out, &genre.name);
            self.out.push_str("</tag>\n");
        }
    }
    /// `<name id="…">`, and what follows one level deeper.
    fn open_with_id(&mut self, name: &str, id: i64) {
        self.open_tag_with_id(name, id);
        self.out.push_str(">\n");
        self.indent += 1;
    }
    fn open(&mut self, name: &str, id: &str) {
        self.pad();
        if id.is_empty() {
            let _ = writeln!(self.out, "<{name}>");
        } else {
            let _ = writeln!(self.out, "<{name} id=\"{id}\">");
        }
        self.indent += 1;
    }
    fn close(&mut self, name: &str) {
        self.indent -= 1;
        self.pad();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
    fn opinion(&mut self, opinion: &Opinion) {
        self.int("flag", opinion.flag as i64);
        self.opt_int("preciserating", opinion.rating);
        self.opt_int("rating", opinion.rating);
        self.opt_real("averagerating", opinion.average_rating.map(round2));
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

pub fn total_count(out: &mut String, count: usize) {
    let _ = writeln!(out, "  <total_count>{count}</total_count>");
}

pub fn songs(out: &mut String, songs: &[Song], first_position: i64, indent: usize) {
    let mut w = Out { out, indent };
    for (index, song) in songs.iter().enumerate() {
        song_element(&mut w, song, first_position + index as i64);
    }
}

fn song_element(w: &mut Out, song: &Song, position: i64) {
    let s = &song.row;
    w.open_with_id("song", s.id);
    w.text("title", &s.title);
    w.text("name", &s.title);
    w.named("artist", &s.artist);
    w.named("album", &s.album);
    if let Some(album_artist) = &s.album_artist {
        w.named("albumartist", album_artist);
    }
    w.text("disk", itoa::Buffer::new().format(s.disc));
    w.int("track", s.track);
    w.tags(&s.genres);
    w.text("filename", &s.path);
    w.int("playlisttrack", position);
    w.int("time", s.duration.round() as i64);
    w.int("year", s.year);
    w.int("bitrate", s.bitrate);
    w.int("rate", s.sample_rate);
    w.text("mode", "");
    w.text("mime", &s.mime);
    w.text("url", &song.url);
    w.int("size", s.size);
    w.opt_text("mbid", s.mbid.as_deref());
    w.opt_text("album_mbid", s.album_mbid.as_deref());
    w.opt_text("artist_mbid", s.artist_mbid.as_deref());
    w.opt_text("albumartist_mbid", s.album_artist_mbid.as_deref());
    w.text("art", &song.art);
    w.opinion(&s.opinion);
    w.int("playcount", s.play_count);
    w.int("catalog", s.catalog_id);
    w.opt_text("composer", s.composer.as_deref());
    w.opt_int("channels", Some(s.channels).filter(|c| *c > 0));
    w.opt_text("comment", s.comment.as_deref());
    w.text("license", "");
    w.text("publisher", "");
    w.empty("language");
    w.opt_real("replaygain_album_gain", s.rg_album_gain);
    w.opt_real("replaygain_album_peak", s.rg_album_peak);
    w.opt_real("replaygain_track_gain", s.rg_track_gain);
    w.opt_real("replaygain_track_peak", s.rg_track_peak);
    for genre in &s.genres {
        w.text("genre", &genre.name);
    }
    w.close("song");
}

pub fn albums(out: &mut String, albums: &[Album], indent: usize) {
    let mut w = Out { out, indent };
    for album in albums {
        album_element(&mut w, album);
    }
}

fn album_element(w: &mut Out, album: &Album) {
    let a = &album.row;
    w.open("album", &a.id.to_string());
    w.text("name", &a.name);
    w.named("artist", &a.artist);
    w.int("time", a.total_time);
    w.int("year", a.year);
    match &album.songs {
        Some(list) => {
            w.open("tracks", "");
            let indent = w.indent;
            songs(w.out, list, 1, indent);
            w.close("tracks");
        }
        None => w.int("tracks", a.song_count),
    }
    w.int("songcount", a.song_count);
    w.empty("type");
    w.int("disk", a.disc_count);
    w.tags(&a.genres);
    w.text("art", &album.art);
    w.opinion(&a.opinion);
    w.opt_text("mbid", a.mbid.as_deref());
    w.close("album");
}

pub fn artists(out: &mut String, artists: &[Artist], indent: usize) {
    let mut w = Out { out, indent };
    for artist in artists {
        let a = &artist.row;
        w.open("artist", &a.id.to_string());
        w.text("name", &a.name);
        w.tags(&a.genres);
        match &artist.albums {
            Some(list) => {
                w.open("albums", "");
                let indent = w.indent;
                albums(w.out, list, indent);
                w.close("albums");
            }
            None => w.int("albums", a.album_count),
        }
        w.int("albumcount", a.album_count);
        match &artist.songs {
            Some(list) => {
                w.open("songs", "");
                let indent = w.indent;
                songs(w.out, list, 1, indent);
                w.close("songs");
            }
            None => w.int("songs", a.song_count),
        }
        w.int("songcount", a.song_count);
        w.text("art", &artist.art);
        w.opinion(&a.opinion);
        w.opt_text("mbid", a.mbid.as_deref());
        w.text("summary", a.summary.as_deref().unwrap_or(""));
        w.text("time", &a.total_time.to_string());
        w.opt_int("yearformed", (a.year_formed > 0).then_some(a.year_formed));
        w.text("placeformed", a.place_formed.as_deref().unwrap_or(""));
        w.close("artist");
    }
}

pub fn genres(out: &mut String, genres: &[GenreRow]) {
    let mut w = Out { out, indent: 1 };
    for g in genres {
        w.open("tag", &g.id.to_string());
        w.text("name", &g.name);
        w.int("albums", g.albums);
        w.int("artists", g.artists);
        w.int("songs", g.songs);
        w.int("videos", 0);
        w.int("playlists", 0);
        w.int("stream", 0);
        w.close("tag");
    }
}

pub fn playlists(out: &mut String, playlists: &[PlaylistRow]) {
    let mut w = Out { out, indent: 1 };
    for p in playlists {
        w.open("playlist", &crate::api::ids::playlist_id(p));
        w.text("name", &p.name);
        w.text("owner", &p.owner);
        w.int("items", p.items);
        w.text("type", if p.public { "public" } else { "private" });
        w.close("playlist");
    }
}

/// The slim index shapes of `get_indexes` (spec 4.9).
pub fn index(out: &mut String, index: &Index) {
    let mut w = Out { out, indent: 1 };
    match index {
        Index::Songs(songs) => {
            for song in songs {
                let s = &song.row;
                w.open("song", &s.id.to_string());
                w.text("title", &s.title);
                w.text("name", &s.title);
                w.named("artist", &s.artist);
                w.named("album", &s.album);
                if let Some(album_artist) = &s.album_artist {
                    w.named("albumartist", album_artist);
                }
                w.text("disk", &s.disc.to_string());
                w.int("track", s.track);
                w.close("song");
            }
        }
        Index::Albums(albums) => {
            for album in albums {
                let a = &album.row;
                w.open("album", &a.id.to_string());
                w.text("name", &a.name);
                w.named("artist", &a.artist);
                w.close("album");
            }
        }
        Index::Artists(artists) => {
            for (artist, albums) in artists {
                w.open("artist", &artist.row.id.to_string());
                w.text("name", &artist.row.name);
                for album in albums {
                    w.named("album", album);
                }
                w.close("artist");
            }
        }
        Index::Playlists(playlists) => {
            // Empty playlists are listed too (Ampache leaves them out of the XML
            // index only, so a client that just created one could not find it).
            for p in playlists {
                w.open("playlist", &crate::api::ids::playlist_id(p));
                w.text("name", &p.name);
                for position in 1..=p.items.min(100_000) {
                    w.int("playlisttrack", position);
                }
                w.int("items", p.items);
                w.text("owner", &p.owner);
                w.text("type", if p.public { "public" } else { "private" });
                w.close("playlist");
            }
        }
        Index::Videos(list) => videos(w.out, list),
    }
}

/// How many items an index document counts.
pub fn index_len(index: &Index) -> usize {
    match index {
        Index::Songs(v) => v.len(),
        Index::Albums(v) => v.len(),
        Index::Artists(v) => v.len(),
        Index::Playlists(v) => v.len(),
        Index::Videos(v) => v.len(),
    }
}

fn user_ref(w: &mut Out, user: &Named) {
    w.open("user", &user.id.to_string());
    w.text("username", &user.name);
    w.close("user");
}

/// `<users>` without a total_count (followers, following).
pub fn users(out: &mut String, users: &[Named]) {
    let mut w = Out { out, indent: 1 };
    w.open("users", "");
    for user in users {
        user_ref(&mut w, user);
    }
    w.close("users");
}

pub fn shouts(out: &mut String, shouts: &[ShoutRow]) {
    let mut w = Out { out, indent: 1 };
    w.open("shouts", "");
    for shout in shouts {
        w.open("shout", &shout.id.to_string());
        w.int("date", shout.date);
        w.text("text", &shout.text);
        user_ref(&mut w, &shout.user);
        w.close("shout");
    }
    w.close("shouts");
}

pub fn timeline(out: &mut String, activity: &[ActivityRow]) {
    let mut w = Out { out, indent: 1 };
    w.open("timeline", "");
    for a in activity {
        w.open("activity", &a.id.to_string());
        w.int("date", a.date);
        w.text("object_type", &a.object_type);
        w.int("object_id", a.object_id);
        w.text("action", &a.action);
        user_ref(&mut w, &a.user);
        w.close("activity");
    }
    w.close("timeline");
}

pub fn videos(out: &mut String, videos: &[Video]) {
    let mut w = Out { out, indent: 1 };
    for video in videos {
        let v = &video.row;
        w.open("video", &v.id.to_string());
        w.text("title", &v.title);
        w.text("name", &v.title);
        w.text("mime", &v.mime);
        w.text(
            "resolution",
            &format!("{}x{}", v.resolution_x, v.resolution_y),
        );
        w.int("size", v.size);
        // Modern API4's shape (examples/api4-modern/xml/videos.xml): `time`, `art` and
        // the opinion, which no API4 method can set on a video (rate and flag take
        // songs, albums and artists), so it is always "not flagged, not rated".
        w.int("time", v.time);
        w.text("url", &video.url);
        w.text("art", &video.art);
        w.opinion(&crate::model::Opinion::default());
        w.close("video");
    }
}
