//! The store: one schema on SQLite (embedded default) or PostgreSQL (shared by several
//! tonearm processes), each through its native driver ([`db`]). SQL is written once
//! with `$N` placeholders; the few statements that differ per engine say so.

pub mod acl;
pub mod browse;
mod cache;
pub mod catalog_files;
pub mod catalog_tasks;
pub mod catalogs;
mod counts;
pub mod db;
pub mod deferred_indexes;
pub mod democratic;
mod folding;
mod genre_ids;
pub mod library;
pub mod media;
pub mod metadata;
mod migrate;
mod names;
mod opinion_statistics;
pub mod phonetic;
pub mod playlists;
pub mod row_batches;
pub mod search;
pub mod sessions;
pub mod smartlists;
pub mod social;
mod song_order;
pub mod stats;
#[cfg(test)]
mod store_tests;
pub mod text_index;
pub mod throttle;
pub mod userdata;
pub mod users;
pub mod videos;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

/// Which engine a store runs on; a few statements differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    /// The engine's native connections.
    pub db: db::Db,
    pub engine: Engine,
    /// A few seconds' memory of sessions, ACL decisions and ping totals.
    caches: std::sync::Arc<cache::Caches>,
    /// The whole song list's order, on SQLite (`song_order`).
    song_order: std::sync::Arc<song_order::SongOrder>,
    /// Artist, album and genre names by id (`names`).
    names: std::sync::Arc<names::Names>,
}

/// What went wrong in a store call, by meaning; each front maps the kinds to its
/// codes once (the API's table is `api/error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine could not do it: connection lost, disk full, I/O, a row not of the
    /// shape its decoder expects. A failure of the server, not of the request.
    #[error("database error: {0}")]
    Engine(String),
    /// A row that must be unique exists already (a user name taken).
    #[error("{0}")]
    Duplicate(String),
    /// The change contradicts what is stored (the last admin, a playlist deleted
    /// meanwhile).
    #[error("{0}")]
    Conflict(String),
    /// Input the store cannot take (a folder that cannot be a catalog, search rules
    /// that cannot be compiled).
    #[error("{0}")]
    Invalid(String),
    /// Something stored cannot be read back (a smart playlist's rules): an error,
    /// never a guess.
    #[error("{0}")]
    Unreadable(String),
    /// The database cannot be reached now: PostgreSQL stopped or restarting, the
    /// connection lost, no connection free within [`PG_ACQUIRE`]. The same request
    /// may well work a little later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Duplicate(error.to_string())
            }
            _ if unavailable(&error) => StoreError::Unavailable(error.to_string()),
            _ => StoreError::Engine(error.to_string()),
        }
    }
}

/// Whether a PostgreSQL error means the server cannot be reached now rather than that
/// this statement failed: no connection within the wait, a broken connection, or
/// the server's own word for it (SQLSTATE class 08, connection exceptions; 57P01-04,
/// shut down, crashed, starting up; 53300, too many connections).
fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

/// How long a request waits for a PostgreSQL connection before it gets
/// [`StoreError::Unavailable`]. It is also how long sqlx keeps retrying a refused
/// connection: with the 30 s (sqlx's default) this was, every request hung 30 s
/// before its error while PostgreSQL was down, longer than clients wait. A restart of a few seconds is still
/// bridged: a request arriving meanwhile waits and then succeeds. Queries take
/// milliseconds, so under load no request comes near this wait for a free connection.
pub const PG_ACQUIRE: Duration = Duration::from_secs(5);

/// How long opening the store waits for PostgreSQL to accept connections (tonearm
/// and PostgreSQL starting together).
const PG_FIRST_CONNECTION: Duration = Duration::from_secs(30);

/// How long a PostgreSQL connection may sit idle in the pool and still be handed out
/// without a ping first ([`connect_postgres`]).
const PG_TRUSTED_IDLE: Duration = Duration::from_secs(1);

/// The PostgreSQL pool. sqlx pings every connection as it goes back to the pool, so
/// a connection is known to work when it is released; one that then sat idle longer
/// than [`PG_TRUSTED_IDLE`] is pinged again before it is handed out, so that
/// connections broken by a restart of PostgreSQL (which takes longer than that) are
/// dropped and replaced instead of failing a request each. Pinging every connection
/// as it was handed out (sqlx's `test_before_acquire`) put a round trip (0.3 ms on a
/// slow day of this machine) before each query, the search's own and each chunk's
/// opinions: without it `search_songs` went from 15.96 to 14.58 ms (p50 over curl,
/// builds side by side), tonearm's CPU from 8.57 to 8.43 ms. Idle connections
/// close after a minute, so the memory their caches hold goes back to the server
/// when tonearm is quiet.
async fn connect_postgres(url: &str) -> Result<sqlx::postgres::PgPool, sqlx::Error> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(PG_ACQUIRE)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PG_TRUSTED_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .idle_timeout(Duration::from_secs(60))
        .min_connections(0)
        .max_connections(16)
        .connect_lazy(url)?;
    let started = std::time::Instant::now();
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(pool),
            Err(sqlx::Error::PoolTimedOut) if started.elapsed() < PG_FIRST_CONNECTION => {}
            Err(e) => return Err(e),
        }
    }
}

/// Songs a scan must change for PostgreSQL's statistics to be refreshed at its end.
const ANALYZE_AFTER_ROWS: u64 = 1_000;

impl Store {
    /// After a scan that changed `rows` songs: on PostgreSQL, when they are many,
    /// `VACUUM (ANALYZE)`, so that the planner knows the tables' new sizes and the
    /// visibility map is set at once rather than when autovacuum gets to them. Right
    /// after a first scan of 100,000 files, with no statistics, a 5000-song page took
    /// 229 ms and `search_songs` 44 ms (an id list joined by sequential scans); after
    /// an `ANALYZE` 114 ms and 21 ms. The last page still took 129-162 ms: paging
    /// its ids walks 100,000 entries of `songs_title`, and until a vacuum has marked
    /// the table's pages all-visible, each entry is checked in the table too; with
    /// the vacuum, 71 ms (offset 0: 65 ms). The first scan took no longer (15.6-15.7 s
    /// either way).
    pub async fn refresh_planner_statistics(&self, rows: u64) -> StoreResult<()> {
        if self.engine != Engine::Postgres || rows < ANALYZE_AFTER_ROWS {
            return Ok(());
        }
        self.db
            .execute_outside_transaction(db::Sql::bound("VACUUM (ANALYZE)", Vec::new()))
            .await?;
        Ok(())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        use rusqlite::ffi;
        match &error {
            rusqlite::Error::SqliteFailure(code, _)
                if code.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || code.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Duplicate(error.to_string())
            }
            _ => StoreError::Engine(error.to_string()),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        let engine = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else {
            anyhow::bail!("unsupported database URL {url:?}: use sqlite://PATH or postgres://...");
        };
        let db = match engine {
            // Connections open as they are first needed: the writer at the first
            // transaction (the migrations, just below), readers at the first reads.
            Engine::Sqlite => db::Db::sqlite(sqlite_path(url)),
            Engine::Postgres => db::Db::Postgres(
                connect_postgres(url)
                    .await
                    .with_context(|| format!("cannot open database {}", redact(url)))?,
            ),
        };
        let store = Store::new(db, engine);
        store
            .migrate()
            .await
            .with_context(|| format!("cannot open database {}", redact(url)))?;
        if engine == Engine::Sqlite {
            let file = sqlite_path(url);
            for suffix in ["", "-wal", "-shm"] {
                let mut name = file.clone().into_os_string();
                name.push(suffix);
                crate::private_files::make_private(std::path::Path::new(&name));
            }
        }
        store.backfill_folded().await?;
        store.hash_clear_apikeys().await?;
        // A scan that dropped the deferred indexes and died before building them
        // again: queries work without them, only slower, until this.
        store.ensure_deferred_indexes().await?;
        Ok(store)
    }

    pub(crate) fn new(db: db::Db, engine: Engine) -> Store {
        Store {
            db,
            engine,
            caches: std::sync::Arc::new(cache::Caches::new()),
            song_order: Default::default(),
            names: Default::default(),
        }
    }

    /// How long this process may answer a session, an ACL or a ping's totals from
    /// memory (see [`cache`]); zero (the default) asks the database every time.
    pub fn set_cache_ttl(&self, ttl: Duration) {
        self.caches.set_ttl(ttl);
    }

    /// The SQLite URL for a database file in `data_dir`.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("tonearm.db").display()
        )
    }

    /// Closes every connection. On SQLite the last one to close checkpoints the
    /// write-ahead log into the database file, so a stopped tonearm leaves one file.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Empties the read connections' page caches when no read has begun since the
    /// last call; true when it did (see [`db::Db::release_idle_caches`]). Blocking.
    pub fn release_idle_caches(&self) -> bool {
        self.db.release_idle_caches()
    }
}

/// The file of a `sqlite://PATH?options` URL.
fn sqlite_path(url: &str) -> std::path::PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    std::path::PathBuf::from(path)
}

/// Hides a password in a database URL before it reaches a log line or an error.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Lowercases for case-insensitive matching in SQL on both engines (SQLite's own
/// `lower()` only folds ASCII).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The key names sort by: folded, with a leading article moved out of the way, as
/// Ampache orders artists and albums ("The Beatles" sorts under B).
pub fn sort_key(name: &str) -> String {
    let folded = fold(name.trim());
    for article in ["the ", "a ", "an "] {
        if let Some(rest) = folded.strip_prefix(article) {
            if !rest.trim().is_empty() {
                return rest.trim_start().to_string();
            }
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_key_moves_articles() {
        assert_eq!(sort_key("The Beatles"), "beatles");
        assert_eq!(sort_key("The"), "the");
        assert_eq!(sort_key("Ærø"), "ærø");
    }

    #[test]
    fn redact_hides_password() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite:///x.db"), "sqlite:///x.db");
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::StoreError;

    #[test]
    fn a_lost_database_is_unavailable_other_failures_are_not() {
        let reset = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(matches!(
            StoreError::from(reset),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Engine(_)
        ));
    }
}
