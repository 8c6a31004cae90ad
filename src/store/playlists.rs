//! Playlists: ordered song lists owned by a user, public or private.

use sqlx::{Any, Row, Transaction};

use super::browse::PlaylistRow;
use super::{now, Store, StoreError, StoreResult};

/// A playlist with what access checks need.
#[derive(Debug, Clone)]
pub struct Playlist {
    pub row: PlaylistRow,
    pub owner_id: i64,
}

impl Store {
    pub async fn playlist(&self, id: i64) -> StoreResult<Option<Playlist>> {
        let row = sqlx::query(
            "SELECT p.id, p.name, u.username, (SELECT COUNT(*) FROM playlist_items i WHERE i.playlist_id = p.id), p.public, p.user_id \
             FROM playlists p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| Playlist {
            row: PlaylistRow {
                id: row.get::<i64, _>(0).to_string(),
                name: row.get(1),
                owner: row.get(2),
                items: row.get(3),
                public: row.get::<i64, _>(4) != 0,
            },
            owner_id: row.get(5),
        }))
    }

    pub async fn create_playlist(
        &self,
        user_id: i64,
        name: &str,
        public: bool,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let now = now();
        let row = sqlx::query(
            "INSERT INTO playlists (name, user_id, public, created, updated, name_folded) VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(user_id)
        .bind(public as i64)
        .bind(now)
        .bind(super::fold(name))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.get(0);
        sqlx::query("INSERT INTO activity (user_id, action, object_kind, object_id, created) VALUES ($1, 'create', 'playlist', $2, $3)")
            .bind(user_id)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn rename_playlist(
        &self,
        id: i64,
        name: Option<&str>,
        public: Option<bool>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE playlists SET name = COALESCE($1, name), public = COALESCE($2, public), updated = $3, \
             name_folded = COALESCE($5, name_folded) WHERE id = $4")
            .bind(name)
            .bind(public.map(|p| p as i64))
            .bind(now())
            .bind(id)
            .bind(name.map(super::fold))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_playlist(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM playlists WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many of `song_ids` exist (to refuse unknown songs before changing anything).
    pub async fn count_existing_songs(&self, song_ids: &[i64]) -> StoreResult<usize> {
        let mut unique: Vec<i64> = song_ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut found = 0;
        for chunk in unique.chunks(5000) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT COUNT(*) FROM songs WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            found += query.fetch_one(&self.pool).await?.get::<i64, _>(0) as usize;
        }
        Ok(found)
    }

    /// Replaces a playlist's songs with `song_ids`, in that order, in one transaction.
    pub async fn set_playlist_songs(&self, id: i64, song_ids: &[i64]) -> StoreResult<()> {
        self.edit_playlist_songs(id, |songs| {
            *songs = song_ids.to_vec();
            Ok::<(), StoreError>(())
        })
        .await
    }

    /// Appends `song_ids` to a playlist as one atomic step: concurrent appends, from this
    /// process or another sharing the database, each land whole and none is lost. With
    /// `unless_present`, nothing is added if the playlist holds any of them already
    /// (`Ok(false)`). `Ok(true)` only once the transaction has committed.
    pub async fn append_playlist_songs(
        &self,
        id: i64,
        song_ids: &[i64],
        unless_present: bool,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        lock_playlist(&mut tx, id).await?;
        if unless_present {
            for chunk in song_ids.chunks(ID_CHUNK) {
                let sql = format!(
                    "SELECT COUNT(*) FROM playlist_items WHERE playlist_id = $1 AND song_id IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(id);
                for song in chunk {
                    query = query.bind(*song);
                }
                if query.fetch_one(&mut *tx).await?.get::<i64, _>(0) > 0 {
                    return Ok(false);
                }
            }
        }
        let last: i64 = sqlx::query(
            "SELECT COALESCE(MAX(position), 0) FROM playlist_items WHERE playlist_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        insert_items(&mut tx, id, last, song_ids).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes a playlist's songs as one atomic step: the playlist is locked (its row
    /// written first, so SQLite takes its write lock and PostgreSQL the row's lock
    /// before anything is read), its songs read, `change` applied, and the new list
    /// written, all in one transaction. Concurrent edits of one playlist run one after
    /// the other, each on the result of the last. An `Err` from `change` changes nothing.
    pub async fn edit_playlist_songs<T, E>(
        &self,
        id: i64,
        change: impl FnOnce(&mut Vec<i64>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        lock_playlist(&mut tx, id).await?;
        let mut songs: Vec<i64> = sqlx::query(
            "SELECT song_id FROM playlist_items WHERE playlist_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|row| row.get(0))
        .collect();
        let before = songs.clone();
        let outcome = change(&mut songs)?;
        if songs != before {
            sqlx::query("DELETE FROM playlist_items WHERE playlist_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            insert_items(&mut tx, id, 0, &songs).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcome)
    }
}

/// Ids bound per statement: well under SQLite's and PostgreSQL's parameter limits.
const ID_CHUNK: usize = 500;

fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first statement of every playlist change: a write to the playlist's row, so
/// that the transaction holds the lock that orders concurrent changes before it reads.
async fn lock_playlist(tx: &mut Transaction<'_, Any>, id: i64) -> StoreResult<()> {
    let updated = sqlx::query("UPDATE playlists SET updated = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(StoreError::Invalid("the playlist no longer exists".into()));
    }
    Ok(())
}

/// Inserts `song_ids` at positions after `last`, a few hundred rows per statement.
async fn insert_items(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    last: i64,
    song_ids: &[i64],
) -> StoreResult<()> {
    const ROWS: usize = 300;
    for (chunk_index, chunk) in song_ids.chunks(ROWS).enumerate() {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 + 2 * i, 3 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO playlist_items (playlist_id, position, song_id) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(id);
        for (i, song) in chunk.iter().enumerate() {
            query = query
                .bind(last + (chunk_index * ROWS + i + 1) as i64)
                .bind(*song);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// What `playlist_generate` picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerateMode {
    Random,
    /// Songs the user played within the stats window.
    Recent,
    /// Songs the user played, but not within the stats window.
    Forgotten,
    /// Songs the user never played.
    Unplayed,
}

#[derive(Debug, Clone)]
pub struct Generate {
    pub mode: GenerateMode,
    /// A folded substring of the title.
    pub title: Option<String>,
    pub album: Option<i64>,
    pub artist: Option<i64>,
    /// Only the user's favourites.
    pub flagged: bool,
}

impl Store {
    /// Song ids matching `criteria`, shuffled, then paged.
    pub async fn generate_playlist(
        &self,
        user_id: i64,
        criteria: &Generate,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<i64>> {
        let window = now() - super::stats::STATS_WINDOW;
        // $1 user, $2 window start, $3 title pattern, $4 album, $5 artist, $6 limit, $7 offset.
        let mut conditions = vec!["s.enabled = 1".to_string(), "$2 = $2".to_string()];
        conditions.push(match criteria.mode {
            GenerateMode::Random => "$1 = $1".into(),
            GenerateMode::Recent => {
                "EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = $1 AND p.played_at >= $2)".into()
            }
            GenerateMode::Forgotten => "EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = $1 AND p.played_at >= $2)"
                .into(),
            GenerateMode::Unplayed => {
                "NOT EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = $1)".into()
            }
        });
        conditions.push("($3 = '' OR s.title_folded LIKE $3 ESCAPE '\\')".into());
        conditions.push("($4 = 0 OR s.album_id = $4)".into());
        conditions.push("($5 = 0 OR s.artist_id = $5)".into());
        if criteria.flagged {
            conditions.push(
                "EXISTS (SELECT 1 FROM flags f WHERE f.user_id = $1 AND f.object_kind = 'song' AND f.object_id = s.id)".into(),
            );
        }
        let sql = format!(
            "SELECT s.id FROM songs s WHERE {} ORDER BY RANDOM() LIMIT $6 OFFSET $7",
            conditions.join(" AND ")
        );
        let pattern = criteria
            .title
            .as_deref()
            .map(super::browse::like_pattern)
            .unwrap_or_default();
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(window)
            .bind(pattern)
            .bind(criteria.album.unwrap_or(0))
            .bind(criteria.artist.unwrap_or(0))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}
