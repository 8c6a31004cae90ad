//! MusicBrainz (web service v2, JSON): an artist's id, where and when they formed,
//! and the release id of an album for the Cover Art Archive.

use serde_json::Value;

use super::http::{Client, Service};
use super::ProviderError;
use crate::store::fold;

/// Search hits below this score (0–100) are not taken as the same artist or album.
const MIN_SCORE: i64 = 90;

/// What MusicBrainz knows of an artist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MbArtist {
    pub mbid: String,
    /// The year the artist was born or formed; 0 when unknown.
    pub year_formed: i64,
    /// Where they began (begin area), else their area.
    pub place_formed: Option<String>,
}

pub struct MusicBrainz<'a> {
    client: &'a Client,
    base: &'a str,
}

impl<'a> MusicBrainz<'a> {
    pub fn new(client: &'a Client, base: &'a str) -> MusicBrainz<'a> {
        MusicBrainz { client, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/ws/2/{path}", self.base.trim_end_matches('/'))
    }

    /// The artist with this MusicBrainz id.
    pub async fn artist(&self, mbid: &str) -> Result<Option<MbArtist>, ProviderError> {
        if !is_mbid(mbid) {
            return Ok(None);
        }
        let answer = self
            .client
            .get_json(
                Service::MusicBrainz,
                &self.url(&format!("artist/{mbid}")),
                &[("fmt", "json")],
            )
            .await?;
        Ok(answer.as_ref().and_then(artist_of))
    }

    /// The best search hit named `name` (compared folded), if it scores well.
    pub async fn find_artist(&self, name: &str) -> Result<Option<MbArtist>, ProviderError> {
        let query = format!("artist:\"{}\"", escape(name));
        let answer = self
            .client
            .get_json(
                Service::MusicBrainz,
                &self.url("artist"),
                &[("query", &query), ("fmt", "json"), ("limit", "5")],
            )
            .await?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        let hits = answer["artists"]
            .as_array()
            .ok_or_else(|| bad("no artists list"))?;
        let wanted = fold(name);
        Ok(hits
            .iter()
            .filter(|hit| score(hit) >= MIN_SCORE)
            .find(|hit| hit["name"].as_str().map(fold).as_deref() == Some(wanted.as_str()))
            .and_then(artist_of))
    }

    /// The release id of the best hit for an album by an artist.
    pub async fn find_release(
        &self,
        album: &str,
        artist: &str,
    ) -> Result<Option<String>, ProviderError> {
        let query = format!(
            "release:\"{}\" AND artist:\"{}\"",
            escape(album),
            escape(artist)
        );
        let answer = self
            .client
            .get_json(
                Service::MusicBrainz,
                &self.url("release"),
                &[("query", &query), ("fmt", "json"), ("limit", "5")],
            )
            .await?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        let hits = answer["releases"]
            .as_array()
            .ok_or_else(|| bad("no releases list"))?;
        let wanted = fold(album);
        Ok(hits
            .iter()
            .filter(|hit| score(hit) >= MIN_SCORE)
            .find(|hit| hit["title"].as_str().map(fold).as_deref() == Some(wanted.as_str()))
            .and_then(|hit| hit["id"].as_str())
            .filter(|id| is_mbid(id))
            .map(str::to_string))
    }
}

/// A search hit's score: a number in JSON answers (older mirrors sent a string).
fn score(hit: &Value) -> i64 {
    hit["score"]
        .as_i64()
        .or_else(|| hit["score"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn bad(why: &str) -> ProviderError {
    ProviderError::BadAnswer {
        service: Service::MusicBrainz.name(),
        why: why.into(),
    }
}

/// An artist object as both lookups and search hits have it.
fn artist_of(value: &Value) -> Option<MbArtist> {
    let mbid = value["id"].as_str().filter(|id| is_mbid(id))?.to_string();
    let year_formed = value["life-span"]["begin"]
        .as_str()
        .and_then(|begin| begin.get(..4))
        .and_then(|year| year.parse::<i64>().ok())
        .unwrap_or(0);
    let place_formed = [&value["begin-area"]["name"], &value["area"]["name"]]
        .into_iter()
        .filter_map(|v| v.as_str())
        .map(str::trim)
        .find(|name| !name.is_empty())
        .map(str::to_string);
    Some(MbArtist {
        mbid,
        year_formed,
        place_formed,
    })
}

/// A MusicBrainz id: a UUID (it goes into URL paths, so nothing else passes).
pub fn is_mbid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Text inside a quoted Lucene phrase: backslash and quote escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_artist() {
        let value = serde_json::json!({
            "id": "5b11f4ce-a62d-471e-81fc-a69a8278c7da",
            "name": "Nirvana",
            "life-span": {"begin": "1987-03", "ended": true},
            "area": {"name": "United States"},
            "begin-area": {"name": "Aberdeen"}
        });
        assert_eq!(
            artist_of(&value),
            Some(MbArtist {
                mbid: "5b11f4ce-a62d-471e-81fc-a69a8278c7da".into(),
                year_formed: 1987,
                place_formed: Some("Aberdeen".into()),
            })
        );
        assert!(artist_of(&serde_json::json!({"id": "../etc"})).is_none());
    }

    #[test]
    fn escapes_phrases() {
        assert_eq!(escape(r#"AC/DC "live" \o/"#), r#"AC/DC \"live\" \\o/"#);
        assert!(is_mbid("5b11f4ce-a62d-471e-81fc-a69a8278c7da"));
        assert!(!is_mbid("5b11f4ce-a62d-471e-81fc-a69a8278c7d/"));
    }
}
