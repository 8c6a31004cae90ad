//! The `stats` lists: ids of songs, albums or artists in the order a filter defines.

use sqlx::Row;

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
    pub async fn stats_ids(
        &self,
        kind: ObjectKind,
        filter: StatsFilter,
        user_id: i64,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<i64>> {
        let (table, play_column) = match kind {
            ObjectKind::Album => ("albums", "s.album_id"),
            ObjectKind::Artist => ("artists", "s.artist_id"),
            _ => ("songs", "s.id"),
        };
        let enabled = if table == "songs" {
            " WHERE enabled = 1"
        } else {
            ""
        };
        let kind_name = kind.as_str();
        // $1 user, $2 window start, $3 limit, $4 offset.
        let sql = match filter {
            StatsFilter::Newest => format!("SELECT id FROM {table}{enabled} ORDER BY created DESC, id DESC"),
            StatsFilter::Random => format!("SELECT id FROM {table}{enabled} ORDER BY RANDOM()"),
            StatsFilter::Highest => format!(
                "SELECT object_id FROM ratings WHERE object_kind = '{kind_name}' AND $1 = $1 AND $2 = $2 \
                 GROUP BY object_id ORDER BY AVG(rating) DESC, COUNT(*) DESC, object_id"
            ),
            StatsFilter::Flagged => format!(
                "SELECT object_id FROM flags WHERE object_kind = '{kind_name}' AND user_id = $1 AND $2 = $2 \
                 ORDER BY created DESC, object_id"
            ),
            StatsFilter::Frequent => format!(
                "SELECT {play_column} FROM plays p JOIN songs s ON s.id = p.song_id WHERE p.played_at >= $2 AND $1 = $1 \
                 GROUP BY {play_column} ORDER BY COUNT(*) DESC, MAX(p.played_at) DESC"
            ),
            StatsFilter::Recent => format!(
                "SELECT {play_column} FROM plays p JOIN songs s ON s.id = p.song_id WHERE p.user_id = $1 AND $2 = $2 \
                 GROUP BY {play_column} ORDER BY MAX(p.played_at) DESC"
            ),
            StatsFilter::Forgotten => format!(
                "SELECT {play_column} FROM plays p JOIN songs s ON s.id = p.song_id WHERE p.user_id = $1 \
                 GROUP BY {play_column} HAVING MAX(p.played_at) < $2 ORDER BY MAX(p.played_at) ASC"
            ),
        };
        let sql = format!("{sql} LIMIT $3 OFFSET $4");
        // Every statement names $1 and $2 so that both engines see four parameters.
        let sql = if matches!(filter, StatsFilter::Newest | StatsFilter::Random) {
            sql.replace(
                &format!("FROM {table}{enabled}"),
                &format!(
                    "FROM {table} WHERE $1 = $1 AND $2 = $2{}",
                    if enabled.is_empty() {
                        ""
                    } else {
                        " AND enabled = 1"
                    }
                ),
            )
        } else {
            sql
        };
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(super::now() - STATS_WINDOW)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|row| row.get::<i64, _>(0)).collect())
    }
}
