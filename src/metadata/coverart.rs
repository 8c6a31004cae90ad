//! The Cover Art Archive: a release's front cover by its MusicBrainz id. The archive
//! answers with a redirect to the image's host, which the client follows.

use super::http::{Client, Service, MAX_IMAGE_BYTES};
use super::musicbrainz::is_mbid;
use super::ProviderError;
use crate::media::art::Image;

pub struct CoverArt<'a> {
    client: &'a Client,
    base: &'a str,
}

impl<'a> CoverArt<'a> {
    pub fn new(client: &'a Client, base: &'a str) -> CoverArt<'a> {
        CoverArt { client, base }
    }

    /// The front cover of release `mbid`; `None` when the archive has none.
    pub async fn front(&self, mbid: &str) -> Result<Option<Image>, ProviderError> {
        if !is_mbid(mbid) {
            return Ok(None);
        }
        let url = format!("{}/release/{mbid}/front", self.base.trim_end_matches('/'));
        let Some(body) = self
            .client
            .get(Service::CoverArt, &url, &[], MAX_IMAGE_BYTES)
            .await?
        else {
            return Ok(None);
        };
        image_of(Service::CoverArt, body).map(Some)
    }
}

/// Image bytes as served; anything that is not an image we can name is refused,
/// so a wrong answer never becomes an album's art.
pub fn image_of(service: Service, body: super::http::Body) -> Result<Image, ProviderError> {
    match image::guess_format(&body.bytes) {
        Ok(format) => Ok(Image {
            mime: format.to_mime_type().to_string(),
            bytes: body.bytes,
        }),
        Err(_) => Err(ProviderError::BadAnswer {
            service: service.name(),
            why: format!(
                "not an image ({})",
                body.content_type.as_deref().unwrap_or("no content type")
            ),
        }),
    }
}
