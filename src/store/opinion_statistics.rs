//! PostgreSQL's planner statistics of the small, busy tables every song list reads
//! (ratings, flags, plays), kept fresh between autovacuum's rounds.
//!
//! Autovacuum analyzes a table once more than 50 rows and a tenth of it changed, but
//! looks only once a minute. Until then PostgreSQL plans on the old figures: a
//! ratings, flags or plays table analyzed empty at the end of a first scan and then
//! given a thousand rows is still taken for a row or two, and the opinions of a
//! 500-song chunk were joined to it by a loop that re-read the chunk's ids for each
//! of its rows (24 ms a chunk where the same query takes 1.2 ms once analyzed; a
//! 5000-song page 115 ms instead of 33 ms). The benchmark's full run meets this
//! window (it rates, flags and plays songs, then lists at once); so does a client
//! that syncs a collection's ratings.

use super::db::Sql;
use super::{Engine, Store, StoreResult};

/// The tables checked, each with its own `ANALYZE` (never built from text read back).
const TABLES: &[(&str, &str)] = &[
    ("ratings", "ANALYZE (SKIP_LOCKED) ratings"),
    ("flags", "ANALYZE (SKIP_LOCKED) flags"),
    ("plays", "ANALYZE (SKIP_LOCKED) plays"),
];

impl Store {
    /// On PostgreSQL, analyzes those of ratings, flags and plays that changed as much
    /// as autovacuum waits for (50 rows and a tenth) since their last analysis; the
    /// server checks every two seconds. Other processes on the database may do the
    /// same at once: `SKIP_LOCKED` leaves a table another is analyzing.
    pub async fn refresh_opinion_statistics(&self) -> StoreResult<usize> {
        if self.engine != Engine::Postgres {
            return Ok(0);
        }
        let stale = self
            .db
            .fetch_all(
                Sql::bound(
                    "SELECT relname::TEXT AS name FROM pg_stat_user_tables \
                     WHERE schemaname = current_schema() \
                       AND relname IN ('ratings', 'flags', 'plays') \
                       AND n_mod_since_analyze > 50 + n_live_tup / 10",
                    Vec::new(),
                ),
                |r| r.text("name"),
            )
            .await?;
        let mut analyzed = 0;
        for (table, analyze) in TABLES {
            if stale.iter().any(|name| name == table) {
                self.db
                    .execute_outside_transaction(Sql::bound(*analyze, Vec::new()))
                    .await?;
                analyzed += 1;
            }
        }
        Ok(analyzed)
    }
}
