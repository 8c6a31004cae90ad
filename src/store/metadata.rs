//! What update_art, update_artist_info and get_similar read and write: the subject's
//! names and ids, the files art is looked for next to, the fetched information, and
//! local objects matching names a service gave.

use super::db::{Row, Sql};
use super::{fold, now, Store, StoreResult};
use crate::values;

/// An artist as the metadata services are asked about them.
#[derive(Debug, Clone)]
pub struct ArtistSubject {
    pub name: String,
    pub mbid: Option<String>,
    /// Art of their own (not borrowed from an album).
    pub has_art: bool,
}

/// An album as the metadata services are asked about it.
#[derive(Debug, Clone)]
pub struct AlbumSubject {
    pub name: String,
    pub artist: String,
    pub mbid: Option<String>,
    pub has_art: bool,
}

/// Artist information fetched from the services.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtistInfo {
    pub summary: Option<String>,
    pub place_formed: Option<String>,
    pub year_formed: i64,
    pub mbid: Option<String>,
}

/// Where an album's art now comes from.
#[derive(Debug, Clone)]
pub struct NewArt {
    /// `file` or `embedded`, as the scanner records it.
    pub kind: &'static str,
    pub path: String,
    pub mime: Option<String>,
    pub width: i64,
    pub height: i64,
}

/// A song file of an album, and whether its tags hold a picture (with its size).
#[derive(Debug, Clone)]
pub struct AlbumFile {
    pub path: String,
    pub embedded_art: bool,
    pub art_width: i64,
    pub art_height: i64,
}

/// At most this many files are looked at to find an artist's folder.
const ARTIST_FILES: i64 = 2000;

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

impl Store {
    pub async fn artist_subject(&self, id: i64) -> StoreResult<Option<ArtistSubject>> {
        fn decode(r: &mut dyn Row) -> StoreResult<ArtistSubject> {
            Ok(ArtistSubject {
                name: r.text("name")?,
                mbid: non_empty(r.opt_text("mbid")?),
                has_art: r.opt_text("art_kind")?.is_some(),
            })
        }
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT name, mbid, art_kind FROM artists WHERE id = $1",
                    values![id],
                ),
                decode,
            )
            .await
    }

    pub async fn album_subject(&self, id: i64) -> StoreResult<Option<AlbumSubject>> {
        fn decode(r: &mut dyn Row) -> StoreResult<AlbumSubject> {
            Ok(AlbumSubject {
                name: r.text("name")?,
                artist: r.text("artist")?,
                mbid: non_empty(r.opt_text("mbid")?),
                has_art: r.opt_text("art_kind")?.is_some(),
            })
        }
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT al.name AS name, ar.name AS artist, al.mbid AS mbid, al.art_kind AS art_kind \
                     FROM albums al JOIN artists ar ON ar.id = al.album_artist_id WHERE al.id = $1",
                    values![id],
                ),
                decode,
            )
            .await
    }

    /// The (title, artist name) of an enabled song.
    pub async fn song_subject(&self, id: i64) -> StoreResult<Option<(String, String)>> {
        fn decode(r: &mut dyn Row) -> StoreResult<(String, String)> {
            Ok((r.text("title")?, r.text("artist")?))
        }
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT s.title AS title, a.name AS artist FROM songs s JOIN artists a ON a.id = s.artist_id \
                     WHERE s.id = $1 AND s.enabled = 1",
                    values![id],
                ),
                decode,
            )
            .await
    }

    /// The enabled files of an album, in track order.
    pub async fn album_files(&self, id: i64) -> StoreResult<Vec<AlbumFile>> {
        fn decode(r: &mut dyn Row) -> StoreResult<AlbumFile> {
            Ok(AlbumFile {
                path: r.text("path")?,
                embedded_art: r.int("embedded_art")? != 0,
                art_width: r.int("art_width")?,
                art_height: r.int("art_height")?,
            })
        }
        self.db
            .fetch_all(
                Sql::bound(
                    "SELECT path, embedded_art, art_width, art_height FROM songs \
                     WHERE album_id = $1 AND enabled = 1 ORDER BY disc, track, path",
                    values![id],
                ),
                decode,
            )
            .await
    }

    /// Paths of files on an artist's albums or by the artist.
    pub async fn artist_files(&self, id: i64) -> StoreResult<Vec<String>> {
        fn decode(r: &mut dyn Row) -> StoreResult<String> {
            r.text("path")
        }
        self.db
            .fetch_all(
                Sql::bound(
                    "SELECT s.path AS path FROM songs s JOIN albums al ON al.id = s.album_id \
                     WHERE s.enabled = 1 AND (al.album_artist_id = $1 OR s.artist_id = $1) \
                     ORDER BY s.path LIMIT $2",
                    values![id, ARTIST_FILES],
                ),
                decode,
            )
            .await
    }

    pub async fn set_album_art(&self, id: i64, art: &NewArt) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE albums SET art_kind = $1, art_path = $2, art_mime = $3, art_width = $4, art_height = $5, \
                 updated = $6 WHERE id = $7",
                values![art.kind, art.path.as_str(), art.mime.clone(), art.width, art.height, now(), id],
            ))
            .await?;
        Ok(())
    }

    /// An artist's own picture (an image file).
    pub async fn set_artist_art(&self, id: i64, path: &str, mime: &str) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE artists SET art_kind = 'file', art_path = $1, art_mime = $2, updated = $3 WHERE id = $4",
                values![path, mime, now(), id],
            ))
            .await?;
        Ok(())
    }

    /// Stores what was fetched (what a service did not say is kept); a MusicBrainz id
    /// only where the tags gave none.
    pub async fn set_artist_info(&self, id: i64, info: &ArtistInfo) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE artists SET summary = COALESCE($1, summary), placeformed = COALESCE($2, placeformed), \
                 placeformed_folded = COALESCE($7, placeformed_folded), \
                 yearformed = CASE WHEN $3 > 0 THEN $3 ELSE yearformed END, \
                 mbid = CASE WHEN mbid IS NULL OR mbid = '' THEN $4 ELSE mbid END, \
                 info_updated = $5, updated = $5 WHERE id = $6",
                values![
                    info.summary.clone(),
                    info.place_formed.clone(),
                    info.year_formed,
                    info.mbid.clone(),
                    now(),
                    id,
                    info.place_formed.as_deref().map(fold)
                ],
            ))
            .await?;
        Ok(())
    }

    /// Local artists whose name (folded) or MusicBrainz id is among those given:
    /// (id, folded name, mbid).
    pub async fn artists_named(
        &self,
        names: &[String],
        mbids: &[String],
    ) -> StoreResult<Vec<(i64, String, Option<String>)>> {
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, String, Option<String>)> {
            Ok((r.int("id")?, r.text("name_folded")?, r.opt_text("mbid")?))
        }
        let mut out = Vec::new();
        for chunk in names.chunks(200) {
            let mut sql = Sql::default();
            let list: Vec<String> = chunk.iter().map(|n| sql.arg(fold(n))).collect();
            sql.text = format!(
                "SELECT id, name_folded, mbid FROM artists WHERE name_folded IN ({}) AND (song_count > 0 OR album_count > 0)",
                list.join(", ")
            );
            out.extend(self.db.fetch_all(sql, decode).await?);
        }
        for chunk in mbids.chunks(200) {
            let mut sql = Sql::default();
            let list: Vec<String> = chunk.iter().map(|m| sql.arg(m.as_str())).collect();
            sql.text = format!(
                "SELECT id, name_folded, mbid FROM artists WHERE mbid IN ({}) AND (song_count > 0 OR album_count > 0)",
                list.join(", ")
            );
            out.extend(self.db.fetch_all(sql, decode).await?);
        }
        Ok(out)
    }

    /// Enabled local songs whose title (folded) is among `titles`: (id, folded title,
    /// folded artist name, mbid).
    pub async fn songs_titled(
        &self,
        titles: &[String],
    ) -> StoreResult<Vec<(i64, String, String, Option<String>)>> {
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, String, String, Option<String>)> {
            Ok((
                r.int("id")?,
                r.text("title_folded")?,
                r.text("artist_folded")?,
                r.opt_text("mbid")?,
            ))
        }
        let mut out = Vec::new();
        for chunk in titles.chunks(200) {
            let mut sql = Sql::default();
            let list: Vec<String> = chunk.iter().map(|t| sql.arg(fold(t))).collect();
            sql.text = format!(
                "SELECT s.id AS id, s.title_folded AS title_folded, a.name_folded AS artist_folded, s.mbid AS mbid \
                 FROM songs s JOIN artists a ON a.id = s.artist_id \
                 WHERE s.enabled = 1 AND s.title_folded IN ({}) ORDER BY s.id",
                list.join(", ")
            );
            out.extend(self.db.fetch_all(sql, decode).await?);
        }
        Ok(out)
    }
}
