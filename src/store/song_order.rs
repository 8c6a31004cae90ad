//! The order of the whole song list (`songs` without a filter: by folded title, then
//! id), kept in memory on SQLite, so that a page at any offset costs the same. Walking
//! the covering index up to the offset cost 0.75 ms of CPU at offset 50,000 of 100,000
//! songs, more than the rest of a `songs limit=50`; a slice of a vector costs nothing.
//!
//! The copy is checked on every page against a counter that triggers keep in the
//! database (migration 12): any song added, removed, enabled, disabled or retitled, by
//! any process, bumps it. The counter is read before the ids, so a copy is never newer
//! than its label: at worst it is rebuilt once more than needed. While the library
//! changes (a scan), a copy younger than [`REBUILD_PAUSE`] is not rebuilt again and
//! pages come from SQL as before. 100,000 ids are 0.8 MB; a rebuild reads the
//! covering index once (~15 ms at 100,000).
//!
//! PostgreSQL pages come from SQL: its writers run at once, and a shared counter row
//! would serialise them (see the PostgreSQL step 12).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::browse::Page;
use super::db::{decode_id, Sql};
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
    generation: i64,
    ids: Arc<Vec<i64>>,
    built: Instant,
}

fn decode_generation(r: &mut dyn super::db::Row) -> StoreResult<i64> {
    r.int("generation")
}

impl Store {
    /// The ids of `page` of the whole song list, from memory; `None` when the answer
    /// must come from SQL (PostgreSQL, or a library changing right now).
    pub(super) async fn song_order_page(&self, page: Page) -> StoreResult<Option<Vec<i64>>> {
        if self.engine != Engine::Sqlite {
            return Ok(None);
        }
        let generation = self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT generation AS generation FROM song_order_generation WHERE id = 1",
                    Vec::new(),
                ),
                decode_generation,
            )
            .await?
            .unwrap_or(-1);
        let recent = {
            let copy = self
                .song_order
                .copy
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match copy.as_ref() {
                Some(copy) if copy.generation == generation => {
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
            generation,
            ids,
            built: Instant::now(),
        });
        Ok(Some(answer))
    }
}

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
