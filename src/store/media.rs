//! Reading what the media endpoints serve: the file behind a song or video id, and
//! where an object's art comes from. Paths only ever come from here, never from a
//! request.

use super::db::{Row, Sql};
use super::{Store, StoreResult};
use crate::values;

/// The kinds of playable object the play endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Song,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Song => "song",
            MediaKind::Video => "video",
        }
    }
}

/// A playable file, as the store knows it.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub kind: MediaKind,
    pub id: i64,
    pub path: String,
    pub mime: String,
    /// Seconds.
    pub duration: f64,
    /// Bits per second, as the scanner read it (0 when unknown).
    pub bitrate: i64,
    pub title: String,
    /// The track artist's name; empty for videos.
    pub artist: String,
}

/// Where an image is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtKind {
    /// `path` is an image file.
    File,
    /// `path` is an audio file whose tags hold the picture.
    Embedded,
}

/// The image to show for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtSource {
    /// What the image belongs to (`album-3`, `song-7`): names resized copies in the cache.
    pub owner: String,
    pub kind: ArtKind,
    pub path: String,
    /// The type the scanner recorded, if any; the bytes decide in the end.
    pub mime: Option<String>,
}

impl Store {
    /// The enabled song or video with this id.
    pub async fn media_file(&self, kind: MediaKind, id: i64) -> StoreResult<Option<MediaFile>> {
        let sql = match kind {
            MediaKind::Song => {
                "SELECT s.id, s.path, s.mime, s.duration, s.bitrate, s.title, a.name AS artist FROM songs s \
                 JOIN artists a ON a.id = s.artist_id WHERE s.id = $1 AND s.enabled = 1"
            }
            MediaKind::Video => {
                "SELECT v.id, v.path, v.mime, v.duration, v.bitrate, v.title, '' AS artist FROM videos v \
                 WHERE v.id = $1 AND v.enabled = 1"
            }
        };
        // A decoder is a plain fn and cannot see `kind`: the row is read as a song's and
        // given its kind afterwards.
        fn decode(r: &mut dyn Row) -> StoreResult<MediaFile> {
            Ok(MediaFile {
                kind: MediaKind::Song,
                id: r.int("id")?,
                path: r.text("path")?,
                mime: r.text("mime")?,
                duration: r.real("duration")?,
                bitrate: r.int("bitrate")?,
                title: r.text("title")?,
                artist: r.text("artist")?,
            })
        }
        Ok(self
            .db
            .fetch_optional(Sql::bound(sql, values![id]), decode)
            .await?
            .map(|file| MediaFile { kind, ..file }))
    }

    /// An album's art.
    pub async fn album_art(&self, album_id: i64) -> StoreResult<Option<ArtSource>> {
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT id, art_kind, art_path, art_mime FROM albums WHERE id = $1 AND art_kind IS NOT NULL",
                    values![album_id],
                ),
                album_art_row,
            )
            .await?
            .flatten())
    }

    /// A song's art: the picture in its own tags if it has one, else its album's.
    pub async fn song_art(&self, song_id: i64) -> StoreResult<Option<ArtSource>> {
        fn decode(r: &mut dyn Row) -> StoreResult<Option<ArtSource>> {
            let album = album_art_row(r)?;
            let song_id = r.int("song_id")?;
            let path = r.text("path")?;
            if r.int("embedded_art")? != 0 {
                return Ok(Some(ArtSource {
                    owner: format!("song-{song_id}"),
                    kind: ArtKind::Embedded,
                    path,
                    mime: None,
                }));
            }
            Ok(album)
        }
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT a.id, a.art_kind, a.art_path, a.art_mime, s.id AS song_id, s.path, s.embedded_art \
                     FROM songs s JOIN albums a ON a.id = s.album_id WHERE s.id = $1 AND s.enabled = 1",
                    values![song_id],
                ),
                decode,
            )
            .await?
            .flatten())
    }

    /// An artist's own picture (update_art found or fetched one).
    async fn artist_own_art(&self, artist_id: i64) -> StoreResult<Option<ArtSource>> {
        fn decode(r: &mut dyn Row) -> StoreResult<Option<ArtSource>> {
            let id = r.int("id")?;
            let path = r.opt_text("art_path")?;
            let mime = r.opt_text("art_mime")?;
            Ok(path.map(|path| ArtSource {
                owner: format!("artist-{id}"),
                kind: ArtKind::File,
                path,
                mime,
            }))
        }
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT id, art_path, art_mime FROM artists WHERE id = $1 AND art_kind = 'file'",
                    values![artist_id],
                ),
                decode,
            )
            .await?
            .flatten())
    }

    /// An artist's art: their own picture, else that of their first album with art,
    /// by name; albums they are the album artist of come before albums they only
    /// appear on.
    pub async fn artist_art(&self, artist_id: i64) -> StoreResult<Option<ArtSource>> {
        if let Some(own) = self.artist_own_art(artist_id).await? {
            return Ok(Some(own));
        }
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT a.id, a.art_kind, a.art_path, a.art_mime FROM albums a \
                     WHERE a.art_kind IS NOT NULL AND (a.album_artist_id = $1 OR EXISTS (\
                       SELECT 1 FROM songs s WHERE s.album_id = a.id AND (s.artist_id = $1 \
                         OR s.id IN (SELECT sa.song_id FROM song_artists sa WHERE sa.artist_id = $1)))) \
                     ORDER BY CASE WHEN a.album_artist_id = $1 THEN 0 ELSE 1 END, a.sort_name, a.id \
                     LIMIT 1",
                    values![artist_id],
                ),
                album_art_row,
            )
            .await?
            .flatten())
    }

    /// The art of a random song of a playlist `user_id` may see (their own or a public
    /// one), among the songs that have some.
    pub async fn playlist_art(
        &self,
        playlist_id: i64,
        user_id: i64,
    ) -> StoreResult<Option<ArtSource>> {
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT a.id, a.art_kind, a.art_path, a.art_mime FROM playlist_items i \
                     JOIN playlists p ON p.id = i.playlist_id \
                     JOIN songs s ON s.id = i.song_id \
                     JOIN albums a ON a.id = s.album_id \
                     WHERE i.playlist_id = $1 AND (p.public = 1 OR p.user_id = $2) \
                       AND s.enabled = 1 AND a.art_kind IS NOT NULL \
                     ORDER BY RANDOM() LIMIT 1",
                    values![playlist_id, user_id],
                ),
                album_art_row,
            )
            .await?
            .flatten())
    }
}

/// An album's art from the columns `id, art_kind, art_path, art_mime`; `None` when it
/// has none (or of a kind this version does not know).
fn album_art_row(r: &mut dyn Row) -> StoreResult<Option<ArtSource>> {
    let id = r.int("id")?;
    let kind = r.opt_text("art_kind")?;
    let path = r.opt_text("art_path")?;
    let mime = r.opt_text("art_mime")?;
    let kind = match kind.as_deref() {
        Some("file") => ArtKind::File,
        Some("embedded") => ArtKind::Embedded,
        _ => return Ok(None),
    };
    let Some(path) = path else {
        return Ok(None);
    };
    Ok(Some(ArtSource {
        owner: format!("album-{id}"),
        kind,
        path,
        mime,
    }))
}
