//! The store: one schema on SQLite (embedded default) or PostgreSQL (shared by several
//! tonearm processes). All SQL is written once with `$N` placeholders, which both
//! engines accept, and runs through sqlx's `Any` driver.

pub mod acl;
pub mod browse;
pub mod catalogs;
mod counts;
pub mod db;
mod folding;
pub mod library;
pub mod media;
pub mod phonetic;
pub mod playlists;
mod schema;
pub mod search;
pub mod sessions;
pub mod smartlists;
pub mod social;
pub mod stats;
#[cfg(test)]
mod store_tests;
pub mod text_index;
pub mod userdata;
pub mod users;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

use crate::values;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, TransactionManager};

/// Which engine a store runs on; a few statements differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pub pool: AnyPool,
    /// The native driver's connections, which the hot read paths use; the rest of
    /// the store still goes through `pool` while it moves over.
    pub db: db::Db,
    pub engine: Engine,
}

/// Errors a store call can give; request handlers map them to Ampache errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Native(String),
    /// A write broke a UNIQUE or PRIMARY KEY constraint (either engine).
    #[error("{0}")]
    Duplicate(String),
}

impl StoreError {
    /// Whether a write failed because the row exists already (a user name taken).
    pub fn is_duplicate(&self) -> bool {
        match self {
            StoreError::Duplicate(_) => true,
            StoreError::Db(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
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
            _ => StoreError::Native(error.to_string()),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The PostgreSQL advisory lock that migrations and the first admin's creation hold,
/// so that processes starting together on one database do them once.
const MIGRATION_LOCK: i64 = 7401001;

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else {
            anyhow::bail!("unsupported database URL {url:?}: use sqlite://PATH or postgres://...");
        };
        let options: AnyConnectOptions = url
            .parse()
            .with_context(|| format!("invalid database URL {url:?}"))?;
        // Idle connections close after a minute, so the memory their page caches hold
        // goes back when the server is quiet.
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_secs(60))
            .min_connections(0)
            .max_connections(if engine == Engine::Sqlite { 4 } else { 16 })
            .after_release(|conn, _meta| Box::pin(keep_after_release(conn)));
        let pool_options = if engine == Engine::Sqlite {
            pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets the API read while a scan writes; the busy timeout makes a
                    // writer wait for another instead of failing.
                    conn.execute(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                         PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                         PRAGMA cache_size=-4000; PRAGMA temp_store=MEMORY;",
                    )
                    .await?;
                    Ok(())
                })
            })
        } else {
            pool_options
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open database {}", redact(url)))?;
        let db = match engine {
            Engine::Sqlite => db::Db::sqlite(sqlite_path(url)),
            Engine::Postgres => db::Db::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(30))
                    .idle_timeout(Duration::from_secs(60))
                    .min_connections(0)
                    .max_connections(16)
                    .connect(url)
                    .await
                    .with_context(|| format!("cannot open database {}", redact(url)))?,
            ),
        };
        let store = Store { pool, db, engine };
        store.migrate().await?;
        store.backfill_folded().await?;
        Ok(store)
    }

    /// The SQLite URL for a database file in `data_dir`.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("tonearm.db").display()
        )
    }

    fn dialect(&self, sql: &str) -> String {
        let (pk, int, real, blob) = match self.engine {
            Engine::Sqlite => (
                "INTEGER PRIMARY KEY AUTOINCREMENT",
                "INTEGER",
                "REAL",
                "BLOB",
            ),
            Engine::Postgres => (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "BIGINT",
                "DOUBLE PRECISION",
                "BYTEA",
            ),
        };
        sql.replace("{pk}", pk)
            .replace("{int}", int)
            .replace("{real}", real)
            .replace("{blob}", blob)
    }

    /// Applies every migration not yet recorded, each in its own transaction. On
    /// PostgreSQL an advisory lock keeps several processes starting at once from
    /// racing each other.
    /// Closes every connection. On SQLite the last one to close checkpoints the
    /// write-ahead log into the database file, so a stopped tonearm leaves one file.
    pub async fn close(&self) {
        self.db.close().await;
        self.pool.close().await;
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        // Processes starting together on one database: each step is a transaction
        // that first takes the migration lock (SQLite: its write lock, taken by
        // BEGIN IMMEDIATE; PostgreSQL: an advisory lock held to the commit), and a
        // version's record is written before its statements, so a version another
        // process applied meanwhile is seen and skipped.
        let mut tx = self.migration_transaction().await?;
        tx.execute(&db::Sql::bound(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)",
            Vec::new(),
        ))
        .await?;
        tx.commit().await?;
        for (version, name, sql) in schema::MIGRATIONS {
            let mut tx = self.migration_transaction().await?;
            let claimed = tx
                .execute(&db::Sql::bound(
                    "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
                    values![*version, *name, now()],
                ))
                .await?;
            if claimed == 0 {
                continue; // applied already; the transaction rolls back when dropped
            }
            tracing::info!(version, name, "applying migration");
            let sql = match (sql, self.engine) {
                (schema::Migration::Both(sql), _) => sql,
                (schema::Migration::PerEngine { sqlite, .. }, Engine::Sqlite) => sqlite,
                (schema::Migration::PerEngine { postgres, .. }, Engine::Postgres) => postgres,
            };
            for statement in split_statements(&self.dialect(sql)) {
                tx.execute(&db::Sql::bound(statement.as_str(), Vec::new()))
                    .await
                    .with_context(|| format!("migration {version} failed at: {statement}"))?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// A write transaction holding the migration lock until it ends.
    async fn migration_transaction(&self) -> StoreResult<db::Tx<'_>> {
        let mut tx = self.db.begin().await?;
        if self.engine == Engine::Postgres {
            tx.execute(&db::Sql::bound(
                "SELECT pg_advisory_xact_lock($1)",
                values![MIGRATION_LOCK],
            ))
            .await?;
        }
        Ok(tx)
    }
}

/// Whether a connection handed back to the pool may be used again: only when no
/// transaction is left open on it. A `Transaction` rolls back when dropped, but when
/// that rollback fails the driver still counts the transaction as open, and the next
/// `begin` on the connection nests a SAVEPOINT inside it instead of starting a real
/// transaction; its "commit" then commits nothing. On SQLite this is what a full disk
/// does: a COMMIT failing with SQLITE_FULL rolls the transaction back inside SQLite, so
/// the ROLLBACK that follows fails ("no transaction is active") and sqlx's depth stays 1.
/// The next transaction on that connection is a SAVEPOINT that, when its write fails
/// too, is rolled back only to the savepoint: the connection stays in a write
/// transaction holding the database's write lock, every other connection gets
/// "database is locked", and writes through it report success but never commit.
/// Closing such a connection rolls everything back and frees the lock; the pool opens
/// a fresh one when needed.
async fn keep_after_release(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let depth = |conn: &AnyConnection| {
        <sqlx::Any as sqlx::Database>::TransactionManager::get_transaction_depth(conn)
    };
    if depth(conn) == 0 {
        return Ok(true);
    }
    // A dropped transaction's rollback is queued, not yet run: a round trip runs it
    // (an error here makes the pool drop the connection).
    conn.ping().await?;
    let depth = depth(conn);
    if depth != 0 {
        tracing::warn!(
            depth,
            "closing a database connection left inside a transaction (its rollback failed)"
        );
    }
    Ok(depth == 0)
}

/// Splits a migration into statements at semicolons that end a line; the schema has
/// no semicolons inside literals, and comments are dropped.
fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let line = line.split("--").next().unwrap_or("").trim_end();
        if line.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.ends_with(';') {
            statements.push(current.trim().trim_end_matches(';').to_string());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
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

    #[test]
    fn split_keeps_statements_whole() {
        let parts = split_statements("CREATE TABLE a (x INT); -- note\nCREATE INDEX i ON a (x);\n");
        assert_eq!(
            parts,
            vec!["CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"]
        );
    }
}
