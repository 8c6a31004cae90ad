//! The `stats` lists: ids of songs, albums or artists in the order a filter defines.

use std::collections::HashSet;

use rand::seq::index;

use super::db::{decode_id, Row, Sql, Value};
use super::userdata::ObjectKind;
use super::{Store, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFilter {
    Newest,
    Highest,
    Frequent,
    Recent,
    Forgotten,
    Flagged,
    Random,
}

impl StatsFilter {
    pub fn parse(text: &str) -> Option<StatsFilter> {
        Some(match text {
            "newest" => StatsFilter::Newest,
            "highest" => StatsFilter::Highest,
            "frequent" => StatsFilter::Frequent,
            "recent" => StatsFilter::Recent,
            "forgotten" => StatsFilter::Forgotten,
            "flagged" => StatsFilter::Flagged,
            "random" => StatsFilter::Random,
            _ => return None,
        })
    }
}

/// How far back "frequent" counts plays, and what "forgotten" means (Ampache's
/// `stats_threshold`, 7 days).
pub const STATS_WINDOW: i64 = 7 * 24 * 3600;

impl Store {
    /// Ids of `kind` (song, album or artist) for a stats filter, paged in SQL.
    ///
    /// For `random`, `offset` is ignored, as Ampache does: a page of a random order is
    /// just another random draw, so every call returns a fresh sample of `limit` ids.
    pub async fn stats_ids(
        &self,
        kind: ObjectKind,
        filter: StatsFilter,
        user_id: i64,
        mut offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<i64>> {
        let (table, play_column) = match kind {
            ObjectKind::Album => ("albums", "s.album_id"),
            ObjectKind::Artist => ("artists", "s.artist_id"),
            _ => ("songs", "s.id"),
        };
        if filter == StatsFilter::Random {
            if let Some(ids) = self.sample_ids(table, limit).await? {
                return Ok(ids);
            }
            // Sampling did not fit: the ORDER BY RANDOM() below, from the start.
            offset = 0;
        }
        let enabled = enabled_condition(table);
        let kind_name = kind.as_str();
        // Arguments are numbered as each statement uses them: no padding. Plays are
        // joined to songs with CROSS JOIN, which SQLite never reorders: plays first
        // (those of the window or of the user), where a plain JOIN let it walk every
        // song and look its plays up (~45 ms at 100,000 songs for 2,000 plays).
        let mut sql = Sql::default();
        let text = match filter {
            StatsFilter::Newest => {
                format!(
                    "SELECT id FROM {table} WHERE 1 = 1{enabled} ORDER BY created DESC, id DESC"
                )
            }
            // Only when sample_ids gave up: reads and sorts the whole table.
            StatsFilter::Random => {
                format!("SELECT id FROM {table} WHERE 1 = 1{enabled} ORDER BY RANDOM()")
            }
            StatsFilter::Highest => format!(
                "SELECT object_id AS id FROM ratings WHERE object_kind = '{kind_name}' \
                 GROUP BY object_id ORDER BY AVG(rating) DESC, COUNT(*) DESC, object_id"
            ),
            StatsFilter::Flagged => {
                let user = sql.arg(user_id);
                format!(
                    "SELECT object_id AS id FROM flags WHERE object_kind = '{kind_name}' AND user_id = {user} \
                     ORDER BY created DESC, object_id"
                )
            }
            StatsFilter::Frequent => {
                let since = sql.arg(super::now() - STATS_WINDOW);
                format!(
                    "SELECT {play_column} AS id FROM plays p CROSS JOIN songs s WHERE s.id = p.song_id AND p.played_at >= {since} \
                     GROUP BY {play_column} ORDER BY COUNT(*) DESC, MAX(p.played_at) DESC"
                )
            }
            StatsFilter::Recent => {
                let user = sql.arg(user_id);
                format!(
                    "SELECT {play_column} AS id FROM plays p CROSS JOIN songs s WHERE s.id = p.song_id AND p.user_id = {user} \
                     GROUP BY {play_column} ORDER BY MAX(p.played_at) DESC"
                )
            }
            StatsFilter::Forgotten => {
                let user = sql.arg(user_id);
                let before = sql.arg(super::now() - STATS_WINDOW);
                format!(
                    "SELECT {play_column} AS id FROM plays p CROSS JOIN songs s WHERE s.id = p.song_id AND p.user_id = {user} \
                     GROUP BY {play_column} HAVING MAX(p.played_at) < {before} ORDER BY MAX(p.played_at) ASC"
                )
            }
        };
        let limit = sql.arg(limit);
        let offset = sql.arg(offset);
        sql.push(&format!("{text} LIMIT {limit} OFFSET {offset}"));
        self.db.fetch_all(sql, decode_id).await
    }

    /// `limit` distinct ids of `table` (enabled songs only) drawn uniformly at random,
    /// without `ORDER BY RANDOM()`, which reads and sorts the whole table (~40 ms at
    /// 100,000 songs).
    ///
    /// Candidate ids are drawn (distinct within a round) from `MIN(id)..=MAX(id)`, each
    /// end read from the primary key, and one `id IN (...)` query keeps those that
    /// exist and are enabled; hits are taken in the order drawn, not the order SQL
    /// returns them, so each next id is uniform over the ids not chosen yet (gaps do
    /// not bias anything: a miss is just a wasted draw). A few rounds run, each sized
    /// by the hit rate seen so far, until `limit` ids are found.
    ///
    /// None when sampling does not fit and the caller should sort by RANDOM(): a
    /// `limit` over [`SAMPLE_MAX_LIMIT`] (or "all"), or ids too sparse (most deleted or
    /// disabled) to find enough within [`SAMPLE_ROUNDS`] rounds.
    async fn sample_ids(&self, table: &str, limit: i64) -> StoreResult<Option<Vec<i64>>> {
        let wanted = match usize::try_from(limit) {
            Ok(n) if (1..=SAMPLE_MAX_LIMIT).contains(&n) => n,
            _ => return Ok(None),
        };
        // Two subqueries: SQLite reads MIN and MAX from the index only when each is
        // alone in its SELECT; together they scan the table.
        fn decode_span(r: &mut dyn Row) -> StoreResult<(Option<i64>, Option<i64>)> {
            Ok((r.opt_int("first")?, r.opt_int("last")?))
        }
        let span = self
            .db
            .fetch_optional(
                Sql::bound(
                    format!(
                        "SELECT (SELECT MIN(id) FROM {table}) AS first, (SELECT MAX(id) FROM {table}) AS last"
                    ),
                    Vec::new(),
                ),
                decode_span,
            )
            .await?;
        let Some((Some(first), Some(last))) = span else {
            return Ok(Some(Vec::new())); // an empty table
        };
        let Some(span) = last
            .checked_sub(first)
            .and_then(|d| d.checked_add(1))
            .and_then(|n| usize::try_from(n).ok())
        else {
            return Ok(None);
        };
        let enabled = enabled_condition(table);
        let mut chosen: Vec<i64> = Vec::with_capacity(wanted);
        let mut taken: HashSet<i64> = HashSet::with_capacity(wanted);
        let (mut drawn, mut hits) = (0usize, 0usize);
        for _ in 0..SAMPLE_ROUNDS {
            // Enough candidates for the hit rate seen so far (a dense table at first),
            // with a margin, so that one round is nearly always enough.
            let rate = if drawn == 0 {
                1.0
            } else {
                (hits as f64 / drawn as f64).max(SAMPLE_MIN_HIT_RATE)
            };
            let missing = wanted - chosen.len();
            let amount = ((missing as f64 / rate * 1.5).ceil() as usize + 8)
                .min(SAMPLE_MAX_CANDIDATES)
                .min(span);
            // The generator lives in this block: it must not be held across an await.
            let candidates: Vec<i64> = {
                let mut rng = rand::thread_rng();
                index::sample(&mut rng, span, amount)
                    .into_iter()
                    .map(|i| first + i as i64)
                    .collect()
            };
            let placeholders: Vec<String> = (1..=amount).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id FROM {table} WHERE id IN ({}){enabled}",
                placeholders.join(", ")
            );
            let args = candidates.iter().map(|id| Value::Int(*id)).collect();
            let existing: HashSet<i64> = self
                .db
                .fetch_all(Sql::bound(sql, args), decode_id)
                .await?
                .into_iter()
                .collect();
            drawn += amount;
            hits += existing.len();
            for id in candidates.into_iter().filter(|id| existing.contains(id)) {
                if taken.insert(id) {
                    chosen.push(id);
                    if chosen.len() == wanted {
                        return Ok(Some(chosen));
                    }
                }
            }
            // Every id of the range was a candidate: `chosen` holds all there are.
            if amount == span {
                return Ok(Some(chosen));
            }
            if (hits as f64) < drawn as f64 * SAMPLE_MIN_HIT_RATE {
                return Ok(None);
            }
        }
        Ok(None)
    }
}

/// The condition that keeps only enabled rows, after a WHERE: songs can be disabled,
/// albums and artists not.
fn enabled_condition(table: &str) -> &'static str {
    if table == "songs" {
        " AND enabled = 1"
    } else {
        ""
    }
}

/// The largest `limit` that `random` samples ids for; a larger one sorts the table
/// (which costs about the same as thousands of candidates bound one by one).
const SAMPLE_MAX_LIMIT: usize = 1000;
/// Candidate rounds before `random` gives up on sampling.
const SAMPLE_ROUNDS: usize = 4;
/// Candidates per query at most: sqlx looks every `$N` up by name, which costs SQLite
/// time quadratic in their number.
const SAMPLE_MAX_CANDIDATES: usize = 2000;
/// Below this share of candidates that exist, ids are too sparse to sample.
const SAMPLE_MIN_HIT_RATE: f64 = 0.05;
