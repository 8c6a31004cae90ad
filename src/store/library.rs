//! The library as the scanner writes it: artists, albums, genres, songs, videos and
//! the files a scan had to skip; plus the stored counts the API shows.

use std::collections::HashMap;

use super::db::{decode_count, decode_id, Row, Sql, Tx, Value};
use crate::values;

use super::counts::{self, Touched};
use super::{fold, now, sort_key, Store, StoreResult};
use crate::model::{TrackInfo, UNKNOWN_ARTIST, VARIOUS_ARTISTS};

pub use crate::model::{FolderArt, KnownFile, KnownKind, ScannedFile};

/// Library-wide totals, as the handshake and ping report them.
#[derive(Debug, Clone, Copy, Default)]
pub struct LibraryCounts {
    pub songs: i64,
    pub albums: i64,
    pub artists: i64,
    pub videos: i64,
    pub catalogs: i64,
    pub genres: i64,
    pub users: i64,
}

impl Store {
    /// Every file of a catalog the store knows (songs, videos, skipped files), by
    /// path. Rows stream into the map as they are read: at
    /// 100,000 files, holding them all first (`fetch_all`) doubled a rescan's peak.
    pub async fn known_files(&self, catalog_id: i64) -> StoreResult<HashMap<String, KnownFile>> {
        let sql = Sql::bound(
            "SELECT path, size, mtime, 0 AS kind FROM songs WHERE catalog_id = $1 \
             UNION ALL SELECT path, size, mtime, 1 FROM videos WHERE catalog_id = $1 \
             UNION ALL SELECT path, size, mtime, 2 FROM skipped_files WHERE catalog_id = $1",
            values![catalog_id],
        );
        self.db
            .fold(sql, HashMap::new(), super::catalog_files::decode_known)
            .await
    }

    /// Files skipped by scans, with the reason: (path, reason).
    pub async fn skipped_files(&self) -> StoreResult<Vec<(String, String)>> {
        fn decode(r: &mut dyn Row) -> StoreResult<(String, String)> {
            Ok((r.text("path")?, r.text("reason")?))
        }
        self.db
            .fetch_all(
                Sql::bound(
                    "SELECT path, reason FROM skipped_files ORDER BY path",
                    Vec::new(),
                ),
                decode,
            )
            .await
    }

    /// The library's totals: songs, albums, artists and videos as the last scan stored
    /// them (counted here only before any scan stored them), the small tables counted.
    pub async fn library_counts(&self) -> StoreResult<LibraryCounts> {
        fn decode_small(r: &mut dyn Row) -> StoreResult<(Option<String>, [i64; 3])> {
            Ok((
                r.opt_text("stored")?,
                [r.int("catalogs")?, r.int("genres")?, r.int("users")?],
            ))
        }
        let (stored, [catalogs, genres, users]) = self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT (SELECT value FROM meta WHERE key = 'library_counts') AS stored, \
                     (SELECT COUNT(*) FROM catalogs) AS catalogs, (SELECT COUNT(*) FROM genres) AS genres, \
                     (SELECT COUNT(*) FROM users) AS users",
                    Vec::new(),
                ),
                decode_small,
            )
            .await?
            .unwrap_or((None, [0, 0, 0]));
        let stored: Option<Vec<i64>> = stored.and_then(|text| {
            text.split(' ')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<i64>>>()
                .filter(|numbers| numbers.len() == 4)
        });
        let numbers = match stored {
            Some(numbers) => numbers,
            None => {
                fn decode(r: &mut dyn Row) -> StoreResult<Vec<i64>> {
                    Ok(vec![
                        r.int("songs")?,
                        r.int("albums")?,
                        r.int("artists")?,
                        r.int("videos")?,
                    ])
                }
                self.db
                    .fetch_optional(
                        Sql::bound(
                            "SELECT (SELECT COUNT(*) FROM songs WHERE enabled = 1) AS songs, (SELECT COUNT(*) FROM albums) AS albums, \
                             (SELECT COUNT(*) FROM artists) AS artists, (SELECT COUNT(*) FROM videos WHERE enabled = 1) AS videos",
                            Vec::new(),
                        ),
                        decode,
                    )
                    .await?
                    .unwrap_or_else(|| vec![0; 4])
            }
        };
        Ok(LibraryCounts {
            songs: numbers[0],
            albums: numbers[1],
            artists: numbers[2],
            videos: numbers[3],
            catalogs,
            genres,
            users,
        })
    }

    /// Playlists `user_id` can see: public ones, their own (an admin all), and smart
    /// ones likewise: what `playlists` lists.
    pub async fn visible_playlist_count(&self, user_id: i64, admin: bool) -> StoreResult<i64> {
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT (SELECT COUNT(*) FROM playlists WHERE public = 1 OR user_id = $1 OR $2 = 1) + \
                     (SELECT COUNT(*) FROM smart_playlists WHERE public = 1 OR user_id = $1 OR $2 = 1) AS n",
                    values![user_id, admin],
                ),
                decode_count,
            )
            .await?
            .unwrap_or(0))
    }

    /// Deletes the songs, videos and skipped records of files that are gone: 500
    /// paths to a statement (one statement per path made a clean of 10,000 files
    /// 30,000 round trips), and 5,000 to a transaction, whose counts are refreshed
    /// once (the refresh recounts every genre touched, which is most of them).
    pub async fn remove_files(&self, catalog_id: i64, paths: &[String]) -> StoreResult<u64> {
        let mut removed = 0;
        for group in paths.chunks(5000) {
            let mut tx = self.db.begin().await?;
            mark_dirty(&mut tx, catalog_id).await?;
            let mut touched = Touched::default();
            for chunk in group.chunks(500) {
                let paths: Vec<&str> = chunk.iter().map(String::as_str).collect();
                touched.before_change(&mut tx, &paths).await?;
                let list = (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let args: Vec<Value> = chunk.iter().map(|p| Value::from(p.as_str())).collect();
                for (table, counted) in
                    [("songs", true), ("videos", true), ("skipped_files", false)]
                {
                    let changed = tx
                        .execute(&Sql::bound(
                            format!("DELETE FROM {table} WHERE path IN ({list})"),
                            args.clone(),
                        ))
                        .await?;
                    if counted {
                        removed += changed;
                    }
                }
            }
            counts::refresh(&mut tx, &touched).await?;
            tx.commit().await?;
        }
        Ok(removed)
    }

    /// Drops albums, artists and genres nothing refers to any more, recomputes every
    /// stored count, and points albums without art at a song with embedded art. Set
    /// based, so it costs a few statements however large the library.
    pub async fn recount(&self) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        counts::recount_all(&mut tx).await?;
        for statement in [
            "UPDATE albums SET art_width = 0, art_height = 0 WHERE art_kind IS NULL",
            "DELETE FROM labels WHERE NOT EXISTS (SELECT 1 FROM songs s WHERE s.label_id = labels.id)",
            // The totals the handshake and every ping report, so that those do not
            // count 100,000 songs each time; only a scan changes them.
            "DELETE FROM meta WHERE key = 'library_counts'",
            "INSERT INTO meta (key, value) SELECT 'library_counts', \
               CAST((SELECT COUNT(*) FROM songs WHERE enabled = 1) AS TEXT) || ' ' || \
               CAST((SELECT COUNT(*) FROM albums) AS TEXT) || ' ' || \
               CAST((SELECT COUNT(*) FROM artists) AS TEXT) || ' ' || \
               CAST((SELECT COUNT(*) FROM videos WHERE enabled = 1) AS TEXT)",
        ] {
            tx.execute(&Sql::bound(statement, values![])).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn mark_dirty(tx: &mut Tx<'_>, catalog_id: i64) -> StoreResult<()> {
    tx.execute(&Sql::bound(
        "UPDATE catalogs SET dirty = 1 WHERE id = $1 AND dirty = 0",
        values![catalog_id],
    ))
    .await?;
    Ok(())
}

/// What one written batch changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchOutcome {
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
}

/// Where a scanned track lives, and whether the store had it as a song already.
struct TrackFile<'a> {
    path: &'a str,
    size: i64,
    mtime: i64,
    known_song: bool,
}

/// Writes scanned files in large transactions, remembering the ids of artists, albums
/// and genres it has seen so that most lookups never reach the database.
pub struct LibraryWriter {
    store: Store,
    catalog_id: i64,
    artists: HashMap<String, i64>,
    albums: HashMap<(String, i64), i64>,
    genres: HashMap<String, i64>,
    labels: HashMap<String, i64>,
    metadata_fields: HashMap<String, i64>,
    /// Albums whose folder image this scan has recorded already. The first changed
    /// track of an album with a folder image records it (again), so a replaced cover
    /// is seen with its new size; folder art beats embedded art.
    albums_with_file_art: std::collections::HashSet<i64>,
}

impl LibraryWriter {
    pub fn new(store: Store, catalog_id: i64) -> LibraryWriter {
        LibraryWriter {
            store,
            catalog_id,
            artists: HashMap::new(),
            albums: HashMap::new(),
            genres: HashMap::new(),
            labels: HashMap::new(),
            metadata_fields: HashMap::new(),
            albums_with_file_art: std::collections::HashSet::new(),
        }
    }

    /// Writes one batch atomically: an interrupted scan leaves whole batches only.
    ///
    /// `moved` maps a new path to the known path of the file it is (matched by the
    /// scanner): that row takes the new path first, so the song or video keeps its
    /// id, and with it playlists, ratings and plays.
    pub async fn write(
        &mut self,
        files: Vec<ScannedFile>,
        known: &HashMap<String, KnownFile>,
        moved: &HashMap<String, String>,
    ) -> StoreResult<BatchOutcome> {
        let mut outcome = BatchOutcome::default();
        let store = self.store.clone();
        let mut tx = store.db.begin().await?;
        mark_dirty(&mut tx, self.catalog_id).await?;
        let now = now();
        // What the batch's known songs belong to before it changes them (a moved
        // song under its old path, which it still has).
        let mut touched = Touched::default();
        let known_songs: Vec<&str> = files
            .iter()
            .map(|file| {
                let path = file.path();
                moved.get(path).map(String::as_str).unwrap_or(path)
            })
            .filter(|path| known.get(*path).is_some_and(|k| k.kind == KnownKind::Song))
            .collect();
        touched.before_change(&mut tx, &known_songs).await?;
        let mut renamed: HashMap<String, KnownKind> = HashMap::new();
        for file in &files {
            let Some(old) = moved.get(file.path()) else {
                continue;
            };
            let table = match known.get(old).map(|k| k.kind) {
                Some(KnownKind::Song) => "songs",
                Some(KnownKind::Video) => "videos",
                _ => continue,
            };
            tx.execute(&Sql::bound(
                format!("UPDATE {table} SET path = $1, path_folded = $2 WHERE path = $3"),
                values![file.path(), fold(file.path()), old.as_str()],
            ))
            .await?;
            if let Some(k) = known.get(old) {
                renamed.insert(file.path().to_string(), k.kind);
            }
        }
        let known_at = |path: &str| -> Option<KnownKind> {
            renamed
                .get(path)
                .copied()
                .or_else(|| known.get(path).map(|k| k.kind))
        };
        let mut pending = Vec::new();
        for file in files {
            match file {
                ScannedFile::Track {
                    path,
                    size,
                    mtime,
                    info,
                    folder_art,
                } => {
                    let known_song = match known_at(&path) {
                        Some(KnownKind::Song) => true,
                        Some(KnownKind::Skipped) => {
                            forget_skipped(&mut tx, &path).await?;
                            false
                        }
                        _ => false,
                    };
                    if known_song {
                        outcome.updated += 1;
                    } else {
                        outcome.added += 1;
                    }
                    let track = TrackFile {
                        path: &path,
                        size,
                        mtime,
                        known_song,
                    };
                    let song = self
                        .prepare_track(&mut tx, track, &info, folder_art, now, &mut touched)
                        .await?;
                    pending.push(song);
                }
                ScannedFile::Video {
                    path,
                    size,
                    mtime,
                    info,
                } => {
                    match known_at(&path) {
                        Some(KnownKind::Video) => outcome.updated += 1,
                        Some(KnownKind::Skipped) => {
                            forget_skipped(&mut tx, &path).await?;
                            outcome.added += 1
                        }
                        _ => outcome.added += 1,
                    }
                    super::videos::write_video(
                        &mut tx,
                        self.catalog_id,
                        &path,
                        size,
                        mtime,
                        &info,
                        now,
                    )
                    .await?;
                }
                ScannedFile::Skipped {
                    path,
                    size,
                    mtime,
                    reason,
                } => {
                    outcome.skipped += 1;
                    // A file that was a song and no longer reads is a song no more.
                    tx.execute(&Sql::bound(
                        "DELETE FROM songs WHERE path = $1",
                        values![&path],
                    ))
                    .await?;
                    // Nor a video (a video file emptied).
                    tx.execute(&Sql::bound(
                        "DELETE FROM videos WHERE path = $1",
                        values![&path],
                    ))
                    .await?;
                    tx.execute(&Sql::bound("INSERT INTO skipped_files (catalog_id, path, size, mtime, reason, seen) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, reason = excluded.reason, seen = excluded.seen", values![self.catalog_id, &path, size, mtime, &reason, now])).await?;
                }
            }
        }
        insert_songs(&mut tx, pending, now, &mut touched).await?;
        counts::refresh(&mut tx, &touched).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Resolves a track's artists, album, genres, label and metadata fields (from the
    /// caches, or one upsert each the first time a name is seen), records its folder
    /// art, and returns its song row for [`insert_songs`].
    async fn prepare_track(
        &mut self,
        tx: &mut Tx<'_>,
        file: TrackFile<'_>,
        info: &TrackInfo,
        folder_art: Option<FolderArt>,
        now: i64,
        touched: &mut Touched,
    ) -> StoreResult<PendingSong> {
        let TrackFile {
            path,
            size,
            mtime,
            known_song,
        } = file;
        let mut artist_ids = Vec::with_capacity(info.artists.len());
        for (index, name) in info.artists.iter().enumerate() {
            let mbid = if index == 0 {
                info.artist_mbid.as_deref()
            } else {
                None
            };
            artist_ids.push(self.artist_id(tx, name, mbid, now).await?);
        }
        let artist_id = match artist_ids.first() {
            Some(id) => *id,
            None => self.artist_id(tx, UNKNOWN_ARTIST, None, now).await?,
        };
        // The album belongs to its album artist; a compilation without one to "Various
        // Artists"; otherwise to the track artist.
        let album_artist_name = match (&info.album_artist, info.compilation) {
            (Some(name), _) => Some(name.as_str()),
            (None, true) => Some(VARIOUS_ARTISTS),
            (None, false) => None,
        };
        let album_artist_id = match album_artist_name {
            Some(name) => Some(
                self.artist_id(tx, name, info.album_artist_mbid.as_deref(), now)
                    .await?,
            ),
            None => None,
        };
        let album_id = self
            .album_id(
                tx,
                &info.album,
                album_artist_id.unwrap_or(artist_id),
                info,
                now,
            )
            .await?;
        if let Some(art) = folder_art {
            if self.albums_with_file_art.insert(album_id) {
                tx.execute(&Sql::bound(
                    "UPDATE albums SET art_kind = 'file', art_path = $1, art_mime = $2, art_width = $3, art_height = $4 WHERE id = $5",
                    values![art.path.to_string_lossy().into_owned(), art.mime, i64::from(art.width), i64::from(art.height), album_id],
                ))
                .await?;
            }
        }
        let label_id = match &info.label {
            Some(label) => Some(self.label_id(tx, label).await?),
            None => None,
        };
        let mut genre_ids = Vec::with_capacity(info.genres.len());
        for genre in &info.genres {
            let genre_id = self.genre_id(tx, genre).await?;
            touched.genres.insert(genre_id);
            genre_ids.push(genre_id);
        }
        let mut metadata = Vec::with_capacity(info.metadata.len());
        for (name, value) in &info.metadata {
            let field_id = self.metadata_field_id(tx, name).await?;
            metadata.push((field_id, value.clone()));
        }
        touched.albums.insert(album_id);
        touched.artists.extend(&artist_ids);
        touched.artists.insert(artist_id);
        touched.artists.extend(album_artist_id);
        let (art_width, art_height) = info.art_size.unwrap_or((0, 0));
        // In the column order of SONG_INSERT_COLUMNS.
        let columns = values![
            self.catalog_id,
            path,
            size,
            mtime,
            &info.title,
            fold(&info.title),
            artist_id,
            album_id,
            album_artist_id,
            info.track,
            info.track_total,
            info.disc,
            info.disc_total,
            info.year,
            info.composer.clone(),
            info.comment.clone(),
            info.lyrics.clone(),
            info.mbid.clone(),
            info.album_mbid.clone(),
            info.artist_mbid.clone(),
            info.album_artist_mbid.clone(),
            info.rg_track_gain,
            info.rg_track_peak,
            info.rg_album_gain,
            info.rg_album_peak,
            info.duration,
            info.bitrate,
            info.sample_rate,
            info.channels,
            info.mime,
            info.embedded_art as i64,
            now,
            now,
            search_text(path, info, album_artist_name),
            label_id,
            i64::from(art_width),
            i64::from(art_height),
            fold(info.composer.as_deref().unwrap_or("")),
            fold(info.comment.as_deref().unwrap_or("")),
            fold(info.lyrics.as_deref().unwrap_or("")),
            fold(path),
            super::genre_ids::to_text(&genre_ids)
        ];
        Ok(PendingSong {
            path: path.to_string(),
            known_song,
            columns,
            artist_ids,
            genre_ids,
            metadata,
        })
    }

    async fn label_id(&mut self, tx: &mut Tx<'_>, name: &str) -> StoreResult<i64> {
        named_row_id(tx, &mut self.labels, "labels", name).await
    }

    async fn metadata_field_id(&mut self, tx: &mut Tx<'_>, name: &str) -> StoreResult<i64> {
        named_row_id(tx, &mut self.metadata_fields, "metadata_fields", name).await
    }

    async fn artist_id(
        &mut self,
        tx: &mut Tx<'_>,
        name: &str,
        mbid: Option<&str>,
        now: i64,
    ) -> StoreResult<i64> {
        if let Some(id) = self.artists.get(name) {
            return Ok(*id);
        }
        let row = tx.fetch_one(&Sql::bound("INSERT INTO artists (name, name_folded, sort_name, mbid, created, updated) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (name) DO UPDATE SET mbid = COALESCE(artists.mbid, excluded.mbid), updated = excluded.updated RETURNING id", values![name, fold(name), sort_key(name), mbid, now]), decode_id).await?;
        let id: i64 = row;
        self.artists.insert(name.to_string(), id);
        Ok(id)
    }

    async fn album_id(
        &mut self,
        tx: &mut Tx<'_>,
        name: &str,
        album_artist_id: i64,
        info: &TrackInfo,
        now: i64,
    ) -> StoreResult<i64> {
        let key = (name.to_string(), album_artist_id);
        if let Some(id) = self.albums.get(&key) {
            return Ok(*id);
        }
        let row = tx.fetch_one(&Sql::bound("INSERT INTO albums (name, name_folded, sort_name, album_artist_id, year, mbid, created, updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (name, album_artist_id) DO UPDATE SET mbid = COALESCE(albums.mbid, excluded.mbid), updated = excluded.updated \
             RETURNING id", values![name, fold(name), sort_key(name), album_artist_id, info.year, info.album_mbid.clone(), now]), decode_id).await?;
        let id: i64 = row;
        self.albums.insert(key, id);
        Ok(id)
    }

    async fn genre_id(&mut self, tx: &mut Tx<'_>, name: &str) -> StoreResult<i64> {
        named_row_id(tx, &mut self.genres, "genres", name).await
    }
}

/// The id of the row of `table` (genres, labels, metadata_fields) named `name`,
/// created if missing, remembered in `cache` for the rest of the scan. `table` is one
/// of those constants, never input.
async fn named_row_id(
    tx: &mut Tx<'_>,
    cache: &mut HashMap<String, i64>,
    table: &str,
    name: &str,
) -> StoreResult<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    // metadata_fields keeps names folded already; the others keep a folded copy.
    let sql = if table == "metadata_fields" {
        format!(
            "INSERT INTO {table} (name) VALUES ($1) \
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id"
        )
    } else {
        format!(
            "INSERT INTO {table} (name, name_folded) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET name_folded = excluded.name_folded RETURNING id"
        )
    };
    let args = if table == "metadata_fields" {
        values![name]
    } else {
        values![name, fold(name)]
    };
    let id = tx.fetch_one(&Sql::bound(sql, args), decode_id).await?;
    cache.insert(name.to_string(), id);
    Ok(id)
}

async fn forget_skipped(tx: &mut Tx<'_>, path: &str) -> StoreResult<()> {
    tx.execute(&Sql::bound(
        "DELETE FROM skipped_files WHERE path = $1",
        values![path],
    ))
    .await?;
    Ok(())
}

/// A scanned track's song row, ready to insert with the rest of its batch.
struct PendingSong {
    path: String,
    known_song: bool,
    /// The values of [`SONG_INSERT_COLUMNS`], in order.
    columns: Vec<Value>,
    artist_ids: Vec<i64>,
    genre_ids: Vec<i64>,
    /// (metadata field id, value).
    metadata: Vec<(i64, String)>,
}

const SONG_INSERT_COLUMNS: &str = "catalog_id, path, size, mtime, title, title_folded, artist_id, album_id, album_artist_id, \
     track, track_total, disc, disc_total, year, composer, comment, lyrics, mbid, album_mbid, artist_mbid, \
     album_artist_mbid, rg_track_gain, rg_track_peak, rg_album_gain, rg_album_peak, duration, bitrate, \
     sample_rate, channels, mime, embedded_art, created, updated, search_text, label_id, art_width, art_height, \
     composer_folded, comment_folded, lyrics_folded, path_folded, genre_ids";

const SONG_UPSERT: &str = "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, title = excluded.title, \
     title_folded = excluded.title_folded, search_text = excluded.search_text, artist_id = excluded.artist_id, album_id = excluded.album_id, \
     album_artist_id = excluded.album_artist_id, track = excluded.track, track_total = excluded.track_total, \
     disc = excluded.disc, disc_total = excluded.disc_total, year = excluded.year, composer = excluded.composer, \
     comment = excluded.comment, lyrics = excluded.lyrics, mbid = excluded.mbid, album_mbid = excluded.album_mbid, \
     artist_mbid = excluded.artist_mbid, album_artist_mbid = excluded.album_artist_mbid, \
     rg_track_gain = excluded.rg_track_gain, rg_track_peak = excluded.rg_track_peak, \
     rg_album_gain = excluded.rg_album_gain, rg_album_peak = excluded.rg_album_peak, \
     duration = excluded.duration, bitrate = excluded.bitrate, sample_rate = excluded.sample_rate, \
     channels = excluded.channels, mime = excluded.mime, embedded_art = excluded.embedded_art, \
     label_id = excluded.label_id, art_width = excluded.art_width, art_height = excluded.art_height, \
     composer_folded = excluded.composer_folded, comment_folded = excluded.comment_folded, \
     lyrics_folded = excluded.lyrics_folded, path_folded = excluded.path_folded, \
     genre_ids = excluded.genre_ids, updated = excluded.updated \
     RETURNING id, path, created";

/// Rows per multi-row statement. A batch's songs go in a few statements instead of
/// one each (then their artists, genres and metadata likewise): on PostgreSQL every
/// statement is a round trip, and the first scan of 100,000 files made ~500,000.
/// 100 songs are 4,200 placeholders, well under either engine's limit.
const SONGS_PER_STATEMENT: usize = 100;
const PAIRS_PER_STATEMENT: usize = 300;

/// Inserts (or updates) the batch's songs, then replaces their artists, genres and
/// metadata, all in multi-row statements.
async fn insert_songs(
    tx: &mut Tx<'_>,
    pending: Vec<PendingSong>,
    now: i64,
    touched: &mut Touched,
) -> StoreResult<()> {
    let width = SONG_INSERT_COLUMNS.split(',').count();
    let mut ids: HashMap<String, (i64, bool)> = HashMap::with_capacity(pending.len());
    for chunk in pending.chunks(SONGS_PER_STATEMENT) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut args = Vec::with_capacity(chunk.len() * width);
        for song in chunk {
            let first = args.len() + 1;
            rows.push(format!(
                "({})",
                (first..first + width)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            args.extend(song.columns.iter().cloned());
        }
        let sql = format!(
            "INSERT INTO songs ({SONG_INSERT_COLUMNS}) VALUES {} {SONG_UPSERT}",
            rows.join(", ")
        );
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, String, i64)> {
            Ok((r.int("id")?, r.text("path")?, r.int("created")?))
        }
        for (id, path, created) in tx.fetch_all(&Sql::bound(sql, args), decode).await? {
            ids.insert(path, (id, created == now));
        }
    }
    // A song this batch created has no artists, genres or metadata to replace:
    // skipping the DELETEs speeds a first scan up. Another process scanning the same
    // file at once cannot make this wrong, only redundant: the INSERTs below ignore
    // rows that exist.
    let mut replaced = Vec::new();
    let mut artist_rows = Vec::new();
    let mut genre_rows = Vec::new();
    let mut metadata_rows = Vec::new();
    for song in &pending {
        let Some(&(id, created_now)) = ids.get(&song.path) else {
            return Err(super::StoreError::Engine(format!(
                "{} was not written",
                song.path
            )));
        };
        touched.songs.push(id);
        if song.known_song || !created_now {
            replaced.push(Value::Int(id));
        }
        for (position, artist) in song.artist_ids.iter().enumerate() {
            artist_rows.extend(values![id, position as i64, *artist]);
        }
        for genre in &song.genre_ids {
            genre_rows.extend(values![id, *genre]);
        }
        for (field, value) in &song.metadata {
            // The number as a float where it is one: numeric metadata rules use it.
            let number = value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
            metadata_rows.extend(values![id, *field, value.as_str(), fold(value), number]);
        }
    }
    // A song that was there already (another process wrote it meanwhile) loses its
    // pairs below: counts are then recounted, not added to.
    if !replaced.is_empty() {
        touched.replaced = true;
    }
    for table in ["song_artists", "song_genres", "song_metadata"] {
        for chunk in replaced.chunks(super::db::ID_CHUNK) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            tx.execute(&Sql::bound(
                format!("DELETE FROM {table} WHERE song_id IN ({list})"),
                chunk.to_vec(),
            ))
            .await?;
        }
    }
    insert_rows(
        tx,
        "song_artists (song_id, position, artist_id)",
        3,
        artist_rows,
    )
    .await?;
    insert_rows(tx, "song_genres (song_id, genre_id)", 2, genre_rows).await?;
    insert_rows(
        tx,
        "song_metadata (song_id, field_id, value, value_folded, value_number)",
        5,
        metadata_rows,
    )
    .await
}

/// `INSERT INTO {target} VALUES …` of `values`, `width` to a row, in multi-row
/// statements; rows that exist are left alone.
async fn insert_rows(
    tx: &mut Tx<'_>,
    target: &str,
    width: usize,
    values: Vec<Value>,
) -> StoreResult<()> {
    for chunk in values.chunks(width * PAIRS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len() / width)
            .map(|row| {
                let first = row * width + 1;
                format!(
                    "({})",
                    (first..first + width)
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        tx.execute(&Sql::bound(
            format!(
                "INSERT INTO {target} VALUES {} ON CONFLICT DO NOTHING",
                rows.join(", ")
            ),
            chunk.to_vec(),
        ))
        .await?;
    }
    Ok(())
}

/// The folded text `search_songs` looks for a word "anywhere" in.
fn search_text(path: &str, info: &TrackInfo, album_artist: Option<&str>) -> String {
    let file_name = std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts: Vec<&str> = vec![&info.title, &info.album];
    parts.extend(info.artists.iter().map(String::as_str));
    parts.extend(album_artist);
    parts.extend(info.composer.as_deref());
    parts.extend(info.comment.as_deref());
    parts.extend(info.genres.iter().map(String::as_str));
    parts.push(&file_name);
    fold(&parts.join("\n"))
}
