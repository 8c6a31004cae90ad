//! The schema: one folder of plain SQL per engine (`migrations/sqlite`,
//! `migrations/postgres`), applied by maintained runners: `rusqlite_migration` on
//! SQLite (the version is the file's `user_version`) and sqlx's migrator on
//! PostgreSQL (`_sqlx_migrations`, under its advisory lock). A file, once released,
//! is never edited (sqlx checks each applied file's checksum); a change is a new
//! step, and none forces a re-read of the tags (data is derived in Rust after the
//! step when needed, as `backfill_folded` does).

use std::borrow::Cow;

use anyhow::Context;
use rusqlite_migration::{Migrations, M};
use sqlx_core::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::{db, Engine, Store};
use crate::values;

/// One step of the schema, written once per engine.
struct Step {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! step {
    ($version:literal, $file:literal) => {
        Step {
            version: $version,
            name: $file,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $file, ".sql")),
        }
    };
}

/// Every step, in order; versions count up from 1 without gaps (SQLite's runner
/// numbers steps by position). A unit test checks this list against the folders.
const STEPS: &[Step] = &[
    step!(1, "0001_initial"),
    step!(2, "0002_search_fields"),
    step!(3, "0003_genre_pairs"),
    step!(4, "0004_text_index"),
    step!(5, "0005_folded_text"),
    step!(6, "0006_democratic"),
    step!(7, "0007_artist_info"),
    step!(8, "0008_video_details"),
    step!(9, "0009_user_max_bitrate"),
    step!(10, "0010_catalog_tasks"),
    step!(11, "0011_secrets_and_throttle"),
    step!(12, "0012_song_order_generation"),
    step!(13, "0013_song_list_index"),
    step!(14, "0014_disabled_songs_index"),
    step!(15, "0015_song_genre_ids"),
    step!(16, "0016_album_artist_genre_ids"),
    step!(17, "0017_song_order_log"),
];

/// The PostgreSQL advisory lock that adopting a database of the former runner and
/// the first admin's creation hold, so that processes starting together do them once.
pub(super) const MIGRATION_LOCK: i64 = 7401001;

impl Store {
    pub(super) async fn migrate(&self) -> anyhow::Result<()> {
        match self.engine {
            Engine::Sqlite => self
                .db
                .on_sqlite_writer(migrate_sqlite)
                .await
                .context("migrating the SQLite schema"),
            Engine::Postgres => self.migrate_postgres().await,
        }
    }

    async fn migrate_postgres(&self) -> anyhow::Result<()> {
        self.adopt_former_postgres_runner().await?;
        let db::Db::Postgres(pool) = &self.db else {
            unreachable!("PostgreSQL store without a pool")
        };
        let migrator = Migrator::new(PostgresSteps).await?;
        migrator
            .run(pool)
            .await
            .context("migrating the PostgreSQL schema")?;
        Ok(())
    }

    /// Databases made before the runners recorded their versions in
    /// `schema_migrations`: those versions are handed to sqlx's table, with the
    /// checksums of today's files (the same statements), and the old table goes.
    async fn adopt_former_postgres_runner(&self) -> anyhow::Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(&db::Sql::bound(
            "SELECT pg_advisory_xact_lock($1)",
            values![MIGRATION_LOCK],
        ))
        .await?;
        let exists = tx
            .fetch_one(
                &db::Sql::bound(
                    "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'",
                    Vec::new(),
                ),
                db::decode_count,
            )
            .await?;
        if exists == 0 {
            return Ok(()); // nothing to adopt; the transaction rolls back
        }
        let former: Vec<i64> = tx
            .fetch_all(
                &db::Sql::bound(
                    "SELECT version AS id FROM schema_migrations ORDER BY version",
                    Vec::new(),
                ),
                db::decode_id,
            )
            .await?;
        // The table as sqlx creates it (sqlx-postgres, migrate.rs), so that its
        // runner finds these rows as its own.
        tx.execute(&db::Sql::bound(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
            Vec::new(),
        ))
        .await?;
        let steps = PostgresSteps.resolve().await.map_err(anyhow::Error::msg)?;
        for step in steps.iter().filter(|s| former.contains(&s.version)) {
            tx.execute(&db::Sql::bound(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, decode($3, 'hex'), 0) ON CONFLICT (version) DO NOTHING",
                values![step.version, step.description.to_string(), hex::encode(&*step.checksum)],
            ))
            .await?;
        }
        tx.execute(&db::Sql::bound("DROP TABLE schema_migrations", Vec::new()))
            .await?;
        tx.commit().await?;
        tracing::info!(
            versions = former.len(),
            "adopted the schema's former version table"
        );
        Ok(())
    }
}

/// Brings a SQLite file to the last step. Processes starting together on one file:
/// each step runs in a `BEGIN IMMEDIATE` transaction, but the runner reads the
/// version before taking the lock, so a process that waited behind another's steps
/// fails on the first of them ("table exists"); it then finds the version moved on
/// and tries again from there.
fn migrate_sqlite(conn: &mut rusqlite::Connection) -> super::StoreResult<()> {
    adopt_former_sqlite_runner(conn)?;
    let migrations = Migrations::new(STEPS.iter().map(|s| M::up(s.sqlite)).collect());
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    let version = |conn: &rusqlite::Connection| {
        conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
    };
    loop {
        let before = version(conn)?;
        match migrations.to_latest(conn) {
            Ok(()) => return Ok(()),
            Err(e) if version(conn)? > before => {
                tracing::debug!("another process migrated meanwhile ({e}); trying again");
            }
            Err(e) => return Err(super::StoreError::Engine(format!("migration failed: {e}"))),
        }
    }
}

/// A file made before the runners: its versions from `schema_migrations` become
/// `user_version`, in one transaction with dropping that table.
fn adopt_former_sqlite_runner(conn: &mut rusqlite::Connection) -> super::StoreResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let last: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    tx.pragma_update(None, "user_version", last)?;
    tx.execute_batch("DROP TABLE schema_migrations")?;
    tx.commit()?;
    tracing::info!(version = last, "adopted the schema's former version table");
    Ok(())
}

/// The PostgreSQL steps as sqlx's migrator reads them.
#[derive(Debug)]
struct PostgresSteps;

impl<'s> MigrationSource<'s> for PostgresSteps {
    fn resolve(
        self,
    ) -> futures_core::future::BoxFuture<'s, Result<Vec<Migration>, sqlx_core::error::BoxDynError>>
    {
        Box::pin(async {
            Ok(STEPS
                .iter()
                .map(|s| {
                    Migration::new(
                        s.version,
                        Cow::Borrowed(s.name),
                        MigrationType::Simple,
                        Cow::Borrowed(s.postgres),
                        false,
                    )
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of both folders is a step, versions count from 1 without gaps,
    /// and each file's number is its version.
    #[test]
    fn steps_match_the_folders() {
        for (dir, pick) in [
            ("sqlite", (|s: &Step| s.sqlite) as fn(&Step) -> &'static str),
            ("postgres", |s: &Step| s.postgres),
        ] {
            let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let listed: Vec<String> = STEPS.iter().map(|s| format!("{}.sql", s.name)).collect();
            assert_eq!(files, listed, "migrations/{dir} and STEPS differ");
            for (i, step) in STEPS.iter().enumerate() {
                assert_eq!(step.version, i as i64 + 1);
                assert!(step.name.starts_with(&format!("{:04}_", step.version)));
                assert!(!pick(step).trim().is_empty());
            }
        }
    }

    /// A file of the former runner keeps its data and gets today's schema without
    /// running a step twice.
    #[test]
    fn a_former_database_is_adopted() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        for step in &STEPS[..3] {
            conn.execute_batch(step.sqlite).unwrap();
        }
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'a', 0), (2, 'b', 0), (3, 'c', 0);
             INSERT INTO meta (key, value) VALUES ('kept', 'yes');",
        )
        .unwrap();
        migrate_sqlite(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, STEPS.len() as i64);
        let kept: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'kept'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "yes");
        // Again: nothing to do.
        migrate_sqlite(&mut conn).unwrap();
    }
}
