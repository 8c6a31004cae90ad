//! XML and JSON of the localplay and democratic answers, in the shapes of
//! `examples/api4-modern/{xml,json}/localplay*.{xml,json}` and `democratic*`.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::xml::cdata;
use crate::api::reply::{ControlDocument, DemocraticSong, LocalplayStatus};

fn flag(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

pub fn xml(out: &mut String, document: &ControlDocument) {
    match document {
        ControlDocument::Localplay { command, done } => {
            out.push_str("  <localplay>\n    <command>\n");
            let _ = writeln!(out, "      <{command}>{}</{command}>", cdata(flag(*done)));
            out.push_str("    </command>\n  </localplay>\n");
        }
        ControlDocument::LocalplayStatus(status) => {
            out.push_str("  <localplay>\n    <command>\n      <status>\n");
            for (name, value) in status_fields(status) {
                let _ = writeln!(out, "        <{name}>{}</{name}>", cdata(&value));
            }
            out.push_str("      </status>\n    </command>\n  </localplay>\n");
        }
        ControlDocument::Democratic { method, result } => {
            let _ = writeln!(out, "  <action>{}</action>", cdata("democratic"));
            let _ = writeln!(out, "  <method>{}</method>", cdata(method));
            let _ = writeln!(out, "  <result>{}</result>", cdata(flag(*result)));
        }
        ControlDocument::Url(url) => {
            let _ = writeln!(out, "  <url>{}</url>", cdata(url));
        }
        ControlDocument::DemocraticSongs(songs) => {
            for song in songs {
                democratic_song_xml(out, song);
            }
        }
    }
}

/// The fields of `status`, as text (XML writes every one in CDATA).
fn status_fields(status: &LocalplayStatus) -> [(&'static str, String); 8] {
    [
        ("state", status.state.clone()),
        ("volume", status.volume.max(0).to_string()),
        ("repeat", flag(status.repeat).to_string()),
        ("random", flag(status.random).to_string()),
        ("track", status.track.to_string()),
        ("track_title", status.track_title.clone()),
        ("track_artist", status.track_artist.clone()),
        ("track_album", status.track_album.clone()),
    ]
}

/// A democratic song (spec 4.10): a slim song with its votes.
fn democratic_song_xml(out: &mut String, entry: &DemocraticSong) {
    let s = &entry.song.row;
    let _ = writeln!(out, "  <song id=\"{}\">", s.id);
    let _ = writeln!(out, "    <title>{}</title>", cdata(&s.title));
    let _ = writeln!(out, "    <name>{}</name>", cdata(&s.title));
    let _ = writeln!(
        out,
        "    <artist id=\"{}\">{}</artist>",
        s.artist.id,
        cdata(&s.artist.name)
    );
    let _ = writeln!(
        out,
        "    <album id=\"{}\">{}</album>",
        s.album.id,
        cdata(&s.album.name)
    );
    // The first genre, as Ampache writes it (id 0 and no name without one).
    let (genre_id, genre_name) = s.genres.first().map_or((0, ""), |g| (g.id, &*g.name));
    let _ = writeln!(
        out,
        "    <genre id=\"{genre_id}\">{}</genre>",
        cdata(genre_name)
    );
    for genre in &s.genres {
        let _ = writeln!(
            out,
            "    <tag id=\"{}\" count=\"1\">{}</tag>",
            genre.id,
            cdata(&genre.name)
        );
    }
    let _ = writeln!(out, "    <track>{}</track>", s.track);
    let time = (s.duration.round() as i64).to_string();
    let _ = writeln!(out, "    <time>{}</time>", cdata(&time));
    let _ = writeln!(out, "    <mime>{}</mime>", cdata(&s.mime));
    let _ = writeln!(out, "    <url>{}</url>", cdata(&entry.song.url));
    let _ = writeln!(out, "    <size>{}</size>", s.size);
    let _ = writeln!(out, "    <art>{}</art>", cdata(&entry.song.art));
    let rating = s.opinion.rating.map(|r| r.to_string());
    let average = s
        .opinion
        .average_rating
        .map(|v| ((v * 100.0).round() / 100.0).to_string());
    for (name, value) in [
        ("preciserating", &rating),
        ("rating", &rating),
        ("averagerating", &average),
    ] {
        match value {
            Some(v) => {
                let _ = writeln!(out, "    <{name}>{v}</{name}>");
            }
            None => {
                let _ = writeln!(out, "    <{name}/>");
            }
        }
    }
    let _ = writeln!(out, "    <vote>{}</vote>", entry.votes);
    out.push_str("  </song>\n");
}

pub fn json(document: &ControlDocument) -> Value {
    match document {
        ControlDocument::Localplay { command, done } => {
            let mut command_object = Map::new();
            command_object.insert((*command).to_string(), json!(done));
            json!({ "localplay": { "command": command_object } })
        }
        ControlDocument::LocalplayStatus(status) => {
            let mut object = Map::new();
            for (name, value) in status_fields(status) {
                // `track` is a number in Ampache's JSON, the rest text.
                let value = if name == "track" {
                    json!(status.track)
                } else {
                    json!(value)
                };
                object.insert(name.to_string(), value);
            }
            json!({ "localplay": { "command": { "status": object } } })
        }
        ControlDocument::Democratic { method, result } => {
            json!({ "action": "democratic", "method": method, "result": result })
        }
        ControlDocument::Url(url) => json!({ "url": url }),
        ControlDocument::DemocraticSongs(songs) => {
            Value::Array(songs.iter().map(democratic_song_json).collect())
        }
    }
}

fn democratic_song_json(entry: &DemocraticSong) -> Value {
    let s = &entry.song.row;
    let tags: Vec<Value> = s
        .genres
        .iter()
        .map(|g| json!({ "id": g.id.to_string(), "name": g.name }))
        .collect();
    let genres: Vec<Value> = s.genres.iter().map(|g| json!({ "name": g.name })).collect();
    json!({
        "id": s.id.to_string(),
        "title": s.title,
        "artist": { "id": s.artist.id.to_string(), "name": s.artist.name },
        "album": { "id": s.album.id.to_string(), "name": s.album.name },
        "tag": tags,
        "track": s.track,
        "time": s.duration.round() as i64,
        "mime": s.mime,
        "url": entry.song.url,
        "size": s.size,
        "art": entry.song.art,
        "preciserating": s.opinion.rating,
        "rating": s.opinion.rating,
        "averagerating": s.opinion.average_rating.map(|v| (v * 100.0).round() / 100.0),
        "vote": entry.votes,
        "genre": genres,
    })
}
