//! The order of the whole song list (`songs` without a filter: by folded title, then
//! id), kept in memory, so that a page at any offset costs the same. Walking the
//! covering index up to the offset cost 0.75 ms of CPU at offset 50,000 of 100,000
//! songs on SQLite, more than the rest of a `songs limit=50`, and 6 ms of
//! PostgreSQL's CPU at offset 95,000; a slice of a vector costs nothing.
//!
//! The copy is checked on every page against a label the database keeps: any song
//! added, removed, enabled, disabled or retitled, by any process, changes it. On
//! SQLite it is a counter that triggers bump (migration 12); on PostgreSQL, whose
//! writers run at once, the row count and highest id of a log that a statement-level
//! trigger appends to (migration 17: no row that every writer must lock). The label
//! is read before the ids, so a copy is never newer than its label: at worst it is
//! rebuilt once more than needed. While the library changes (a scan), a copy younger
//! than [`REBUILD_PAUSE`] is not rebuilt again and pages come from SQL as before.
//! 100,000 ids are 0.8 MB; a rebuild reads the covering index once (~15 ms at
//! 100,000).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::browse::Page;
use super::db::{decode_id, Sql, Value};
use super::{Engine, Store, StoreResult};

/// The least time between two rebuilds: a library that changes faster than this is
/// paged through SQL until it settles.
const REBUILD_PAUSE: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(super) struct SongOrder {
    copy: Mutex<Option<Copy>>,
    rebuilding: AtomicBool,
}

struct Copy {
    label: Label,
    ids: Arc<Vec<i64>>,
    built: Instant,
}

/// What a copy of the order is checked against: SQLite's counter (and 0), or
/// PostgreSQL's log row count and highest id.
type Label = (i64, i64);

fn decode_label(r: &mut dyn super::db::Row) -> StoreResult<Label> {
    Ok((r.int("changes")?, r.int("latest")?))
}

/// Past this many rows the PostgreSQL log is compacted to one row of a higher id
/// (which changes every label, so no copy outlives it): counting it stays cheap.
const MOST_LOG_ROWS: i64 = 1000;

impl Store {
    /// The ids of `page` of the whole song list, from memory; `None` when the answer
    /// must come from SQL (a library changing right now).
    pub(super) async fn song_order_page(&self, page: Page) -> StoreResult<Option<Vec<i64>>> {
        let label_sql = match self.engine {
            Engine::Sqlite => {
                "SELECT generation AS changes, 0 AS latest FROM song_order_generation WHERE id = 1"
            }
            Engine::Postgres => {
                "SELECT COUNT(*) AS changes, COALESCE(MAX(id), 0) AS latest FROM song_order_log"
            }
        };
        let label = self
            .db
            .fetch_optional(Sql::bound(label_sql, Vec::new()), decode_label)
            .await?
            .unwrap_or((-1, -1));
        if self.engine == Engine::Postgres && label.0 > MOST_LOG_ROWS {
            // The next page reads the new label and rebuilds.
            self.compact_song_order_log().await?;
            return Ok(None);
        }
        let recent = {
            let copy = self
                .song_order
                .copy
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match copy.as_ref() {
                Some(copy) if copy.label == label => {
                    return Ok(Some(slice(&copy.ids, page)));
                }
                Some(copy) => copy.built.elapsed() < REBUILD_PAUSE,
                None => false,
            }
        };
        // One rebuild at a time; the others page through SQL meanwhile.
        if recent || self.song_order.rebuilding.swap(true, Ordering::AcqRel) {
            return Ok(None);
        }
        let ids = self
            .db
            .fetch_all(
                Sql::bound(
                    "SELECT s.id AS id FROM songs s WHERE s.enabled = 1 ORDER BY s.title_folded, s.id",
                    Vec::new(),
                ),
                decode_id,
            )
            .await;
        self.song_order.rebuilding.store(false, Ordering::Release);
        let ids = Arc::new(ids?);
        let answer = slice(&ids, page);
        *self
            .song_order
            .copy
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Copy {
            label,
            ids,
            built: Instant::now(),
        });
        Ok(Some(answer))
    }

    /// Replaces PostgreSQL's order log by one row of a higher id, under an advisory
    /// lock so that processes doing it at once do not lock the same rows in
    /// different orders (one does it; the others find the lock taken and go on).
    /// Writers' inserts meanwhile are untouched: rows not yet committed are not
    /// deleted, and they count when they commit.
    async fn compact_song_order_log(&self) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        let locked = tx
            .fetch_one(
                &Sql::bound(
                    "SELECT CASE WHEN pg_try_advisory_xact_lock($1) THEN 1 ELSE 0 END AS id",
                    vec![Value::Int(SONG_ORDER_LOG_LOCK)],
                ),
                decode_id,
            )
            .await?;
        if locked == 1 {
            tx.execute(&Sql::bound(
                "DELETE FROM song_order_log WHERE id < (SELECT MAX(id) FROM song_order_log)",
                Vec::new(),
            ))
            .await?;
            tx.execute(&Sql::bound(
                "INSERT INTO song_order_log DEFAULT VALUES",
                Vec::new(),
            ))
            .await?;
        }
        tx.commit().await
    }
}

/// The advisory lock of [`Store::compact_song_order_log`] ("song ord" in ASCII).
const SONG_ORDER_LOG_LOCK: i64 = 0x736f_6e67_206f_7264;

fn slice(ids: &[i64], page: Page) -> Vec<i64> {
    let start = usize::try_from(page.offset.max(0))
        .unwrap_or(usize::MAX)
        .min(ids.len());
    let end = match page.limit {
        Some(limit) => start.saturating_add(usize::try_from(limit.max(0)).unwrap_or(usize::MAX)),
        None => usize::MAX,
    }
    .min(ids.len());
    ids[start..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_like_limit_and_offset() {
        let ids: Vec<i64> = (1..=10).collect();
        let page = |offset, limit| Page { offset, limit };
        assert_eq!(slice(&ids, page(0, Some(3))), vec![1, 2, 3]);
        assert_eq!(slice(&ids, page(8, Some(5))), vec![9, 10]);
        assert_eq!(slice(&ids, page(10, Some(5))), Vec::<i64>::new());
        assert_eq!(slice(&ids, page(99, None)), Vec::<i64>::new());
        assert_eq!(slice(&ids, page(7, None)), vec![8, 9, 10]);
        assert_eq!(
            slice(&ids, page(i64::MAX, Some(i64::MAX))),
            Vec::<i64>::new()
        );
        assert_eq!(slice(&ids, page(2, Some(0))), Vec::<i64>::new());
    }
}
