//! Videos: what the scanner writes of a video file, and the lists and lookups the
//! API's `videos`, `video`, `get_indexes type=video` and searches read.

use super::browse::{like_pattern, ListFilter, Page, TimeRange};
use super::db::{Row, Sql, Tx, Value};
use super::media::{ArtKind, ArtSource};
use super::{fold, Engine, Store, StoreResult};
use crate::model::{VideoInfo, VideoRow};
use crate::values;

/// The columns [`decode_video`] reads, in its order.
const VIDEO_COLUMNS: &str =
    "v.id, v.title, v.mime, v.resolution_x, v.resolution_y, v.size, v.duration";

fn decode_video(r: &mut dyn Row) -> StoreResult<VideoRow> {
    Ok(VideoRow {
        id: r.int("id")?,
        title: r.text("title")?,
        mime: r.text("mime")?,
        resolution_x: r.int("resolution_x")?,
        resolution_y: r.int("resolution_y")?,
        size: r.int("size")?,
        time: r.real("duration")?.round() as i64,
    })
}

/// Inserts or updates the row of a scanned video file (its id stays on a rescan).
pub(super) async fn write_video(
    tx: &mut Tx<'_>,
    catalog_id: i64,
    path: &str,
    size: i64,
    mtime: i64,
    info: &VideoInfo,
    now: i64,
) -> StoreResult<()> {
    let (art_kind, art_path, art_mime) = match &info.art {
        Some(art) => (
            Some(if art.embedded { "embedded" } else { "file" }),
            Some(art.path.as_str()),
            art.mime,
        ),
        None => (None, None, None),
    };
    tx.execute(&Sql::bound(
        "INSERT INTO videos (catalog_id, path, size, mtime, title, title_folded, mime, duration, bitrate, \
           resolution_x, resolution_y, video_codec, audio_codec, art_kind, art_path, art_mime, created, updated, path_folded) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18) \
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, title = excluded.title, \
           title_folded = excluded.title_folded, mime = excluded.mime, duration = excluded.duration, \
           bitrate = excluded.bitrate, resolution_x = excluded.resolution_x, resolution_y = excluded.resolution_y, \
           video_codec = excluded.video_codec, audio_codec = excluded.audio_codec, art_kind = excluded.art_kind, \
           art_path = excluded.art_path, art_mime = excluded.art_mime, updated = excluded.updated",
        values![
            catalog_id,
            path,
            size,
            mtime,
            &info.title,
            fold(&info.title),
            info.mime,
            info.duration,
            info.bitrate,
            i64::from(info.width),
            i64::from(info.height),
            &info.video_codec,
            &info.audio_codec,
            art_kind,
            art_path,
            art_mime,
            now,
            fold(path),
        ],
    ))
    .await?;
    Ok(())
}

/// `$N` for an interval of Unix times on `column` (exclusive start, inclusive end).
fn time_condition(sql: &mut Sql, column: &str, range: TimeRange) -> String {
    let after = sql.arg(range.after);
    match range.until {
        Some(until) => format!("{column} > {after} AND {column} <= {}", sql.arg(until)),
        None => format!("{column} > {after}"),
    }
}

impl Store {
    /// Enabled videos by title (then id), narrowed by `filter`, a page of them.
    pub async fn videos(&self, filter: &ListFilter, page: Page) -> StoreResult<Vec<VideoRow>> {
        let mut sql = Sql::default();
        let mut conditions = vec!["v.enabled = 1".to_string()];
        if let Some(name) = &filter.name {
            let folded = fold(name.text.trim());
            conditions.push(if name.exact {
                format!("v.title_folded = {}", sql.arg(folded))
            } else {
                format!(
                    "v.title_folded LIKE {} ESCAPE '\\'",
                    sql.arg(like_pattern(&folded))
                )
            });
        }
        if let Some(range) = filter.added {
            conditions.push(time_condition(&mut sql, "v.created", range));
        }
        if let Some(range) = filter.updated {
            conditions.push(time_condition(&mut sql, "v.updated", range));
        }
        let limit = sql.arg(page.limit.unwrap_or(i64::MAX));
        let offset = sql.arg(page.offset);
        sql.text = format!(
            "SELECT {VIDEO_COLUMNS} FROM videos v WHERE {} ORDER BY v.title_folded, v.id LIMIT {limit} OFFSET {offset}",
            conditions.join(" AND ")
        );
        self.db.fetch_all(sql, decode_video).await
    }

    /// Enabled videos by id, in id order.
    pub async fn videos_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<VideoRow>> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::db::ID_CHUNK) {
            let mut sql = Sql::default();
            let list = match self.engine {
                Engine::Postgres => format!(
                    "(SELECT unnest({}::BIGINT[]))",
                    sql.arg(Value::IntList(chunk.to_vec()))
                ),
                Engine::Sqlite => {
                    let marks: Vec<String> = chunk.iter().map(|id| sql.arg(*id)).collect();
                    format!("({})", marks.join(", "))
                }
            };
            sql.text = format!(
                "SELECT {VIDEO_COLUMNS} FROM videos v WHERE v.id IN {list} AND v.enabled = 1 ORDER BY v.id"
            );
            rows.extend(self.db.fetch_all(sql, decode_video).await?);
        }
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// A video's poster, if the scanner found one.
    pub async fn video_art(&self, video_id: i64) -> StoreResult<Option<ArtSource>> {
        fn decode(r: &mut dyn Row) -> StoreResult<Option<ArtSource>> {
            let id = r.int("id")?;
            let kind = match r.opt_text("art_kind")?.as_deref() {
                Some("file") => ArtKind::File,
                Some("embedded") => ArtKind::Embedded,
                _ => return Ok(None),
            };
            let Some(path) = r.opt_text("art_path")? else {
                return Ok(None);
            };
            Ok(Some(ArtSource {
                owner: format!("video-{id}"),
                kind,
                path,
                mime: r.opt_text("art_mime")?,
            }))
        }
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT id, art_kind, art_path, art_mime FROM videos WHERE id = $1 AND enabled = 1",
                    values![video_id],
                ),
                decode,
            )
            .await?
            .flatten())
    }
}
