//! Last.fm (API 2.0, JSON): an artist's biography and picture, and similar artists
//! and tracks.

use serde_json::Value;

use super::http::{Client, Service, MAX_IMAGE_BYTES};
use super::{LastfmSettings, ProviderError};
use crate::media::art::Image;

/// Last.fm's error code for an artist or track it does not know.
const NOT_FOUND: i64 = 6;

/// The picture Last.fm has shown for every artist since it stopped serving artist
/// images: never stored as anyone's art.
const PLACEHOLDER_IMAGE: &str = "2a96cbd8b46e442fc41c2b86b821562f";

/// At most this many similar items are asked for.
const SIMILAR_LIMIT: &str = "100";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LfmArtist {
    pub mbid: Option<String>,
    pub summary: Option<String>,
    /// The largest picture's URL.
    pub image: Option<String>,
}

/// A similar artist or track: a name (and the track's artist), an id if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Similar {
    pub name: String,
    pub artist: Option<String>,
    pub mbid: Option<String>,
}

pub struct Lastfm<'a> {
    client: &'a Client,
    settings: &'a LastfmSettings,
}

impl<'a> Lastfm<'a> {
    pub fn new(client: &'a Client, settings: &'a LastfmSettings) -> Lastfm<'a> {
        Lastfm { client, settings }
    }

    /// Calls `method`; `None` when Last.fm does not know the subject.
    async fn call(
        &self,
        method: &str,
        params: &[(&str, &str)],
    ) -> Result<Option<Value>, ProviderError> {
        let mut query: Vec<(&str, &str)> = vec![
            ("method", method),
            ("api_key", &self.settings.api_key),
            ("format", "json"),
        ];
        query.extend_from_slice(params);
        let Some(answer) = self
            .client
            .get_json(Service::Lastfm, &self.settings.url, &query)
            .await?
        else {
            return Ok(None);
        };
        match answer["error"].as_i64() {
            None => Ok(Some(answer)),
            Some(NOT_FOUND) => Ok(None),
            Some(code) => Err(ProviderError::Refused {
                service: Service::Lastfm.name(),
                message: format!(
                    "{} (error {code})",
                    answer["message"].as_str().unwrap_or("no message")
                ),
            }),
        }
    }

    pub async fn artist_info(&self, name: &str) -> Result<Option<LfmArtist>, ProviderError> {
        let Some(answer) = self.call("artist.getinfo", &[("artist", name)]).await? else {
            return Ok(None);
        };
        let artist = &answer["artist"];
        if !artist.is_object() {
            return Err(bad("no artist object"));
        }
        Ok(Some(LfmArtist {
            mbid: text(&artist["mbid"]),
            summary: artist["bio"]["summary"].as_str().and_then(clean_summary),
            image: largest_image(&artist["image"]),
        }))
    }

    pub async fn similar_artists(&self, name: &str) -> Result<Vec<Similar>, ProviderError> {
        let Some(answer) = self
            .call(
                "artist.getsimilar",
                &[("artist", name), ("limit", SIMILAR_LIMIT)],
            )
            .await?
        else {
            return Ok(Vec::new());
        };
        let list = list_of(&answer["similarartists"]["artist"])?;
        Ok(list
            .iter()
            .filter_map(|a| {
                Some(Similar {
                    name: text(&a["name"])?,
                    artist: None,
                    mbid: text(&a["mbid"]),
                })
            })
            .collect())
    }

    pub async fn similar_tracks(
        &self,
        artist: &str,
        title: &str,
    ) -> Result<Vec<Similar>, ProviderError> {
        let Some(answer) = self
            .call(
                "track.getsimilar",
                &[
                    ("artist", artist),
                    ("track", title),
                    ("limit", SIMILAR_LIMIT),
                ],
            )
            .await?
        else {
            return Ok(Vec::new());
        };
        let list = list_of(&answer["similartracks"]["track"])?;
        Ok(list
            .iter()
            .filter_map(|t| {
                Some(Similar {
                    name: text(&t["name"])?,
                    artist: text(&t["artist"]["name"]),
                    mbid: text(&t["mbid"]),
                })
            })
            .collect())
    }

    /// Downloads a picture Last.fm named.
    pub async fn image(&self, url: &str) -> Result<Option<Image>, ProviderError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Ok(None);
        }
        let Some(body) = self
            .client
            .get(Service::Lastfm, url, &[], MAX_IMAGE_BYTES)
            .await?
        else {
            return Ok(None);
        };
        super::coverart::image_of(Service::Lastfm, body).map(Some)
    }
}

fn bad(why: &str) -> ProviderError {
    ProviderError::BadAnswer {
        service: Service::Lastfm.name(),
        why: why.into(),
    }
}

/// A list Last.fm may send as an array, a single object, or (when empty) a string.
fn list_of(value: &Value) -> Result<Vec<Value>, ProviderError> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(_) => Ok(vec![value.clone()]),
        Value::Null | Value::String(_) => Ok(Vec::new()),
        _ => Err(bad("unexpected list")),
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The URL of the largest picture in Last.fm's `image` list, unless it is the
/// placeholder.
fn largest_image(images: &Value) -> Option<String> {
    let rank = |size: &str| match size {
        "mega" => 5,
        "extralarge" => 4,
        "large" => 3,
        "medium" => 2,
        "small" => 1,
        _ => 0,
    };
    images
        .as_array()?
        .iter()
        .filter_map(|i| Some((rank(i["size"].as_str().unwrap_or("")), text(&i["#text"])?)))
        .filter(|(_, url)| !url.contains(PLACEHOLDER_IMAGE))
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, url)| url)
}

/// The biography summary as plain text: without Last.fm's "Read more on Last.fm"
/// link and without markup.
fn clean_summary(html: &str) -> Option<String> {
    let without_link = match html.rfind("<a href=") {
        Some(start) if html[start..].contains("Read more on Last.fm") => &html[..start],
        _ => html,
    };
    let mut out = String::with_capacity(without_link.len());
    let mut in_tag = false;
    for c in without_link.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let out = out.trim();
    (!out.is_empty()).then(|| out.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_without_the_link() {
        assert_eq!(
            clean_summary(
                "Cher is an <b>American</b> singer &amp; actress. <a href=\"https://www.last.fm/music/Cher\">Read more on Last.fm</a>"
            )
            .as_deref(),
            Some("Cher is an American singer & actress.")
        );
        assert_eq!(
            clean_summary(" <a href=\"x\">Read more on Last.fm</a>"),
            None
        );
    }

    #[test]
    fn largest_real_image() {
        let images = serde_json::json!([
            {"#text": "http://i/small.png", "size": "small"},
            {"#text": "http://i/xl.png", "size": "extralarge"},
            {"#text": "http://i/2a96cbd8b46e442fc41c2b86b821562f.png", "size": "mega"},
            {"#text": "", "size": "large"}
        ]);
        assert_eq!(largest_image(&images).as_deref(), Some("http://i/xl.png"));
    }
}
