//! The files of a catalog as the passes that keep it in step with the disk need
//! them: the known files under a few paths (the watcher's passes), the stored
//! songs a moved file may be, and the files behind an artist, album or song.

use std::collections::HashMap;

use super::catalogs::Catalog;
use super::db::{Row, Sql};
use super::{Store, StoreResult};
use crate::model::{KnownFile, KnownKind};
use crate::values;

/// A stored song or video a vanished file was, for matching it to a new path.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub path: String,
    pub size: i64,
    pub mtime: i64,
    pub kind: KnownKind,
    pub title: String,
    pub duration: f64,
}

/// One row of the stored-files map a scan compares the disk with.
pub(super) fn decode_known(
    known: &mut HashMap<String, KnownFile>,
    r: &mut dyn Row,
) -> StoreResult<()> {
    let path = r.text("path")?;
    let size = r.int("size")?;
    let mtime = r.int("mtime")?;
    let kind = match r.int("kind")? {
        0 => KnownKind::Song,
        1 => KnownKind::Video,
        _ => KnownKind::Skipped,
    };
    known.insert(path, KnownFile { size, mtime, kind });
    Ok(())
}

fn decode_stored(r: &mut dyn Row) -> StoreResult<StoredFile> {
    Ok(StoredFile {
        path: r.text("path")?,
        size: r.int("size")?,
        mtime: r.int("mtime")?,
        kind: if r.int("kind")? == 0 {
            KnownKind::Song
        } else {
            KnownKind::Video
        },
        title: r.text("title")?,
        duration: r.real("duration")?,
    })
}

impl Store {
    pub async fn catalog(&self, id: i64) -> StoreResult<Option<Catalog>> {
        Ok(self.catalogs().await?.into_iter().find(|c| c.id == id))
    }

    /// The known files (songs, videos, skipped) of a catalog at `path` or under it as
    /// a folder. An exact path is an index lookup; a folder compares the start of
    /// every path (`substr`, which counts characters on both engines, unlike a
    /// `LIKE` that would need escaping, or a range that PostgreSQL's collations sort
    /// differently from bytes).
    pub async fn known_files_at(
        &self,
        catalog_id: i64,
        path: &str,
        as_folder: bool,
    ) -> StoreResult<HashMap<String, KnownFile>> {
        let sql = if as_folder {
            let prefix = format!("{}/", path.trim_end_matches('/'));
            let length = prefix.chars().count() as i64;
            Sql::bound(
                "SELECT path, size, mtime, 0 AS kind FROM songs WHERE catalog_id = $1 AND substr(path, 1, CAST($2 AS INTEGER)) = $3 \
                 UNION ALL SELECT path, size, mtime, 1 FROM videos WHERE catalog_id = $1 AND substr(path, 1, CAST($2 AS INTEGER)) = $3 \
                 UNION ALL SELECT path, size, mtime, 2 FROM skipped_files WHERE catalog_id = $1 AND substr(path, 1, CAST($2 AS INTEGER)) = $3",
                values![catalog_id, length, prefix],
            )
        } else {
            Sql::bound(
                "SELECT path, size, mtime, 0 AS kind FROM songs WHERE catalog_id = $1 AND path = $2 \
                 UNION ALL SELECT path, size, mtime, 1 FROM videos WHERE catalog_id = $1 AND path = $2 \
                 UNION ALL SELECT path, size, mtime, 2 FROM skipped_files WHERE catalog_id = $1 AND path = $2",
                values![catalog_id, path],
            )
        };
        self.db.fold(sql, HashMap::new(), decode_known).await
    }

    /// Stored songs and videos of the catalog with one of `sizes`: the files that a
    /// new file of that size may be, moved.
    pub async fn files_with_sizes(
        &self,
        catalog_id: i64,
        sizes: &[i64],
    ) -> StoreResult<Vec<StoredFile>> {
        let mut found = Vec::new();
        for chunk in sizes.chunks(super::db::ID_CHUNK) {
            let mut sql = Sql::bound("", values![catalog_id]);
            let list: Vec<String> = chunk.iter().map(|size| sql.arg(*size)).collect();
            let list = list.join(", ");
            sql.push(&format!(
                "SELECT path, size, mtime, 0 AS kind, title, duration FROM songs WHERE catalog_id = $1 AND size IN ({list}) \
                 UNION ALL SELECT path, size, mtime, 1, title, duration FROM videos WHERE catalog_id = $1 AND size IN ({list})"
            ));
            found.extend(self.db.fetch_all(sql, decode_stored).await?);
        }
        Ok(found)
    }

    /// The stored songs and videos at `paths`.
    pub async fn stored_files(&self, paths: &[String]) -> StoreResult<Vec<StoredFile>> {
        let mut found = Vec::new();
        for chunk in paths.chunks(super::db::ID_CHUNK) {
            let mut sql = Sql::default();
            let list: Vec<String> = chunk.iter().map(|path| sql.arg(path.as_str())).collect();
            let list = list.join(", ");
            sql.push(&format!(
                "SELECT path, size, mtime, 0 AS kind, title, duration FROM songs WHERE path IN ({list}) \
                 UNION ALL SELECT path, size, mtime, 1, title, duration FROM videos WHERE path IN ({list})"
            ));
            found.extend(self.db.fetch_all(sql, decode_stored).await?);
        }
        Ok(found)
    }

    /// (catalog id, path) of the files behind an artist (as track, album or credited
    /// artist), an album or a song; empty when there is no such object.
    pub async fn object_files(&self, kind: &str, id: i64) -> StoreResult<Vec<(i64, String)>> {
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, String)> {
            Ok((r.int("catalog_id")?, r.text("path")?))
        }
        let sql = match kind {
            "song" => "SELECT catalog_id, path FROM songs WHERE id = $1",
            "album" => "SELECT catalog_id, path FROM songs WHERE album_id = $1",
            "artist" => {
                "SELECT catalog_id, path FROM songs WHERE artist_id = $1 OR album_artist_id = $1 \
                 OR id IN (SELECT song_id FROM song_artists WHERE artist_id = $1) \
                 OR album_id IN (SELECT id FROM albums WHERE album_artist_id = $1)"
            }
            _ => return Ok(Vec::new()),
        };
        self.db
            .fetch_all(Sql::bound(sql, values![id]), decode)
            .await
    }

    /// Stores the library totals the handshake and ping report, after a pass that
    /// changed a few files (a whole scan recounts everything instead).
    pub async fn store_library_totals(&self) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        for statement in [
            "DELETE FROM meta WHERE key = 'library_counts'",
            "INSERT INTO meta (key, value) SELECT 'library_counts', \
               CAST((SELECT COUNT(*) FROM songs WHERE enabled = 1) AS TEXT) || ' ' || \
               CAST((SELECT COUNT(*) FROM albums) AS TEXT) || ' ' || \
               CAST((SELECT COUNT(*) FROM artists) AS TEXT) || ' ' || \
               CAST((SELECT COUNT(*) FROM videos WHERE enabled = 1) AS TEXT)",
        ] {
            tx.execute(&Sql::bound(statement, values![])).await?;
        }
        tx.commit().await
    }

    /// Points the albums of the songs in `folder` (and in its disc subfolders) at
    /// the folder's cover image: `gather_art`.
    pub async fn set_folder_art(
        &self,
        folder: &str,
        art: &crate::model::FolderArt,
    ) -> StoreResult<u64> {
        let prefix = format!("{}/", folder.trim_end_matches('/'));
        let length = prefix.chars().count() as i64;
        self.db
            .execute(Sql::bound(
                "UPDATE albums SET art_kind = 'file', art_path = $1, art_mime = $2, art_width = $3, art_height = $4 \
                 WHERE id IN (SELECT album_id FROM songs WHERE substr(path, 1, CAST($5 AS INTEGER)) = $6) \
                 AND (art_kind IS NULL OR art_kind <> 'file' OR art_path <> $1 OR art_width <> $3)",
                values![
                    art.path.to_string_lossy().into_owned(),
                    art.mime,
                    i64::from(art.width),
                    i64::from(art.height),
                    length,
                    prefix
                ],
            ))
            .await
    }
}
