//! The wire format: the only code that knows how replies look in XML and JSON.

mod catalogs;
mod control;
pub mod json;
mod json_items;
mod json_song;
mod words;
pub mod xml;
mod xml_items;

use axum::body::Bytes;
use futures_util::StreamExt;

use super::error::ApiError;
use super::reply::{Album, Artist, Document, Listing, Song};

/// Items per part of a streamed list's text (a song is ~1.7 KB).
const TEXT_PART: usize = 48;

/// What a streamed list holds: items the encoders can write a part of at a time.
pub trait ListItem: Send + Sync + 'static {
    /// `items` as list entries in `format`; `position` numbers the first (songs'
    /// `playlisttrack`), `first` tells whether text came before them.
    fn encode(format: Format, items: &[Self], position: i64, first: bool) -> Bytes
    where
        Self: Sized;
}

impl ListItem for Song {
    fn encode(format: Format, items: &[Song], position: i64, first: bool) -> Bytes {
        match format {
            Format::Xml => xml::song_items(items, position).into(),
            Format::Json => json::song_items(items, position, first),
        }
    }
}

impl ListItem for Album {
    fn encode(format: Format, items: &[Album], _: i64, first: bool) -> Bytes {
        match format {
            Format::Xml => xml::album_items(items).into(),
            Format::Json => json::album_items(items, first),
        }
    }
}

impl ListItem for Artist {
    fn encode(format: Format, items: &[Artist], _: i64, first: bool) -> Bytes {
        match format {
            Format::Xml => xml::artist_items(items).into(),
            Format::Json => json::artist_items(items, first),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// The format's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Format::Xml => "xml",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=UTF-8",
            Format::Json => "application/json; charset=UTF-8",
        }
    }

    pub fn encode(self, document: &Document) -> String {
        match self {
            Format::Xml => xml::document(document),
            Format::Json => json::document(document),
        }
    }

    /// A list as a stream of text chunks, byte for byte the document `encode` writes
    /// for the same items: the opening (XML's `total_count`), then each chunk's items
    /// as it is read, then the closing. A chunk that fails to load ends the body early
    /// (the status has been sent by then); the client sees a broken answer, never a
    /// wrong one.
    pub fn list_stream<T: ListItem>(
        self,
        listing: Listing<T>,
    ) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
        let Listing {
            total,
            first_position,
            chunks,
        } = listing;
        let opening = match self {
            Format::Xml => xml::list_opening(total),
            Format::Json => json::list_opening(total),
        };
        let mut position = first_position;
        let mut first = true;
        let items = chunks
            .map(move |chunk| {
                let parts: Vec<Result<Bytes, std::io::Error>> = match chunk {
                    // A chunk's text in parts of a few dozen items: each part's buffer
                    // stays under the allocator's mapping threshold (128 KiB), so it
                    // reuses heap memory instead of faulting in fresh pages.
                    Ok(items) => items
                        .chunks(TEXT_PART)
                        .map(|part| {
                            let text = T::encode(self, part, position, first);
                            position += part.len() as i64;
                            first = false;
                            Ok(text)
                        })
                        .collect(),
                    Err(error) => {
                        tracing::error!("a list stopped half-way: {}", error.message);
                        vec![Err(std::io::Error::other(error.message))]
                    }
                };
                futures_util::stream::iter(parts)
            })
            .flatten();
        let closing = match self {
            Format::Xml => xml::list_closing(),
            Format::Json => json::list_closing(total),
        };
        futures_util::stream::once(async move { Ok(Bytes::from(opening)) })
            .chain(items)
            .chain(futures_util::stream::once(async move {
                Ok(Bytes::from(closing))
            }))
    }

    pub fn encode_error(self, error: &ApiError) -> String {
        match self {
            Format::Xml => xml::error(error),
            Format::Json => json::error(error),
        }
    }
}

/// Unix seconds as ISO 8601 with a numeric offset, as PHP's `date('c')` writes them.
pub fn iso8601(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlbumRow, ArtistRow, Named, Opinion, SongRow};

    pub(super) fn song(id: i64) -> Song {
        Song {
            row: SongRow {
                id,
                title: format!("Song {id} <&\"é"),
                artist: Named {
                    id: 1,
                    name: "Artist".into(),
                },
                album: Named {
                    id: 2,
                    name: "Album".into(),
                },
                album_artist: None,
                disc: 1,
                track: id,
                path: format!("/music/{id}.mp3"),
                duration: 61.5,
                year: 2001,
                bitrate: 128_000,
                sample_rate: 44_100,
                channels: 2,
                mime: "audio/mpeg".into(),
                size: 1234,
                mbid: None,
                album_mbid: None,
                artist_mbid: None,
                album_artist_mbid: None,
                composer: Some("Composer".into()),
                comment: None,
                catalog_id: 1,
                rg_album_gain: None,
                rg_album_peak: None,
                rg_track_gain: Some(-3.5),
                rg_track_peak: None,
                opinion: Opinion::default(),
                play_count: id % 3,
                genres: vec![Named {
                    id: 7,
                    name: "Rock".into(),
                }],
            },
            url: format!("http://h/play/index.php?oid={id}"),
            art: "http://h/image.php?object_id=2".into(),
        }
    }

    /// The streamed text of `chunks`, as one string.
    async fn streamed<T: ListItem>(
        format: Format,
        chunks: Vec<Vec<T>>,
        first_position: i64,
    ) -> String {
        let total = chunks.iter().map(Vec::len).sum();
        let listing = Listing {
            total,
            first_position,
            chunks: Box::pin(futures_util::stream::iter(chunks.into_iter().map(Ok))),
        };
        let parts: Vec<Result<Bytes, std::io::Error>> = format.list_stream(listing).collect().await;
        parts
            .into_iter()
            .map(|part| String::from_utf8(part.unwrap().to_vec()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn streamed_lists_are_the_documents_byte_for_byte() {
        for format in [Format::Xml, Format::Json] {
            for sizes in [vec![], vec![0], vec![1], vec![3, 0, 100, 2]] {
                let mut next = 1;
                let chunks: Vec<Vec<Song>> = sizes
                    .iter()
                    .map(|size| {
                        let chunk = (next..next + *size as i64).map(song).collect();
                        next += *size as i64;
                        chunk
                    })
                    .collect();
                let all: Vec<Song> = chunks.iter().flatten().cloned().collect();
                let whole = format.encode(&Document::Songs {
                    songs: all,
                    first_position: 11,
                });
                assert_eq!(
                    streamed(format, chunks, 11).await,
                    whole,
                    "{format:?} {sizes:?}"
                );
            }
        }
    }

    fn album(id: i64, with_songs: bool) -> Album {
        Album {
            row: AlbumRow {
                id,
                name: format!("Album {id} & <co>"),
                artist: Named {
                    id: 1,
                    name: "Artist".into(),
                },
                year: 1999,
                song_count: 2,
                disc_count: 1,
                total_time: 122,
                mbid: None,
                opinion: Opinion::default(),
                genres: vec![Named {
                    id: 7,
                    name: "Rock".into(),
                }],
            },
            art: format!("http://h/image.php?object_id={id}"),
            songs: with_songs.then(|| vec![song(id * 10), song(id * 10 + 1)]),
        }
    }

    fn artist(id: i64) -> Artist {
        Artist {
            row: ArtistRow {
                id,
                name: format!("Artist {id} \"Ø\""),
                album_count: 1,
                song_count: 2,
                total_time: 122,
                mbid: Some("abc".into()),
                summary: None,
                place_formed: None,
                year_formed: 0,
                opinion: Opinion::default(),
                genres: Vec::new(),
            },
            art: format!("http://h/image.php?object_id={id}&object_type=artist"),
            albums: (id % 2 == 0).then(|| vec![album(id, false)]),
            songs: None,
        }
    }

    #[tokio::test]
    async fn streamed_albums_and_artists_are_the_documents_byte_for_byte() {
        for format in [Format::Xml, Format::Json] {
            for count in [0, 1, 100] {
                for with_songs in [false, true] {
                    let albums: Vec<Album> = (1..=count).map(|id| album(id, with_songs)).collect();
                    let whole = format.encode(&Document::Albums(albums.clone()));
                    assert_eq!(
                        streamed(format, vec![albums], 1).await,
                        whole,
                        "{format:?} {count}"
                    );
                }
                let artists: Vec<Artist> = (1..=count).map(artist).collect();
                let whole = format.encode(&Document::Artists(artists.clone()));
                assert_eq!(
                    streamed(format, vec![artists], 1).await,
                    whole,
                    "{format:?} {count}"
                );
            }
        }
    }

    #[test]
    fn dates_like_php() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(super::iso8601(1_600_000_000), "2020-09-13T12:26:40+00:00");
    }
}
