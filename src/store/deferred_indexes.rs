//! Indexes that a first scan of a large library builds after its writes rather than
//! keeping them up to date row by row: PostgreSQL's trigram indexes (~4 s of a first
//! scan of 100,000 files, ~1.7 s to build afterwards) and the song b-trees no scan
//! reads (title order, created, updated, label: a first scan of 100,000 files 13.9-
//! 15.9 -> 13.1-14.4 s, four runs each, alternated, the outlier of 26 s left out),
//! and SQLite's `songs_list` (1.7 s of such a scan, 0.35 s to build afterwards).
//! Every query runs without them, only slower, so the library can be browsed while
//! the scan runs. The definitions are the migrations' own: after a deferred scan
//! `pg_indexes` lists the same definitions as a database that never dropped them.

use super::db::{decode_count, Sql};
use super::{Engine, Store, StoreResult};

/// A first scan of at least this many files defers the indexes.
pub const DEFER_INDEX_FILES: usize = 10_000;

/// SQLite's: the whole song list with every column a list shows, in title order, so
/// that a page's rows are read side by side (see `Store::songs_of_whole_list`). The
/// same as migration 15 creates.
const SQLITE_INDEXES: &[(&str, &str)] = &[(
    "songs_list",
    "CREATE INDEX IF NOT EXISTS songs_list ON songs (\
        title_folded, id, title, artist_id, album_id, album_artist_id, disc, track, path, \
        duration, year, bitrate, sample_rate, channels, mime, size, mbid, album_mbid, \
        artist_mbid, album_artist_mbid, composer, comment, catalog_id, rg_album_gain, \
        rg_album_peak, rg_track_gain, rg_track_peak, genre_ids, enabled\
    ) WHERE enabled = 1",
)];

/// PostgreSQL's trigram indexes, as migration 4 creates them, and the song list's
/// b-tree indexes that a scan never reads, as migrations 1 and 2 create them.
const POSTGRES_INDEXES: &[(&str, &str)] = &[
    (
        "songs_title",
        "CREATE INDEX IF NOT EXISTS songs_title ON songs (title_folded, id, year, enabled) WHERE enabled = 1",
    ),
    (
        "songs_created",
        "CREATE INDEX IF NOT EXISTS songs_created ON songs (created)",
    ),
    (
        "songs_updated",
        "CREATE INDEX IF NOT EXISTS songs_updated ON songs (updated)",
    ),
    (
        "songs_label",
        "CREATE INDEX IF NOT EXISTS songs_label ON songs (label_id)",
    ),
    (
        "songs_title_trgm",
        "CREATE INDEX IF NOT EXISTS songs_title_trgm ON songs USING gin (title_folded gin_trgm_ops)",
    ),
    (
        "songs_search_trgm",
        "CREATE INDEX IF NOT EXISTS songs_search_trgm ON songs USING gin (search_text gin_trgm_ops)",
    ),
];

fn deferred(engine: Engine) -> &'static [(&'static str, &'static str)] {
    match engine {
        Engine::Sqlite => SQLITE_INDEXES,
        Engine::Postgres => POSTGRES_INDEXES,
    }
}

impl Store {
    /// Before a first scan of many files: drops the deferred indexes when no song
    /// exists yet. True when they were dropped; [`Store::ensure_deferred_indexes`]
    /// builds them again.
    pub async fn defer_indexes(&self) -> StoreResult<bool> {
        let songs = self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 FROM songs LIMIT 1) s",
                    Vec::new(),
                ),
                decode_count,
            )
            .await?
            .unwrap_or(0);
        if songs > 0 {
            return Ok(false);
        }
        for (name, _) in deferred(self.engine) {
            self.db
                .execute(Sql::bound(
                    format!("DROP INDEX IF EXISTS {name}"),
                    Vec::new(),
                ))
                .await?;
        }
        Ok(true)
    }

    /// Makes sure the deferred indexes exist (after a deferred first scan, or one
    /// that was killed before it could build them). A no-op when they do.
    pub async fn ensure_deferred_indexes(&self) -> StoreResult<()> {
        for (_, create) in deferred(self.engine) {
            self.db.execute(Sql::bound(*create, Vec::new())).await?;
        }
        Ok(())
    }
}
