//! Playlists: ordered song lists owned by a user, public or private.

use super::browse::PlaylistRow;
use super::db::{decode_id, Row, Sql, Tx};
use super::{now, Store, StoreError, StoreResult};
use crate::values;

/// A playlist with what access checks need.
#[derive(Debug, Clone)]
pub struct Playlist {
    pub row: PlaylistRow,
    pub owner_id: i64,
}

impl Store {
    pub async fn playlist(&self, id: i64) -> StoreResult<Option<Playlist>> {
        fn decode(r: &mut dyn Row) -> StoreResult<Playlist> {
            Ok(Playlist {
                row: PlaylistRow {
                    id: r.int("id")?,
                    smart: false,
                    name: r.text("name")?,
                    owner: r.text("username")?,
                    items: r.int("items")?,
                    public: r.int("public")? != 0,
                },
                owner_id: r.int("user_id")?,
            })
        }
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT p.id, p.name, u.username, (SELECT COUNT(*) FROM playlist_items i WHERE i.playlist_id = p.id) AS items, \
                     p.public, p.user_id \
                     FROM playlists p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
                    values![id],
                ),
                decode,
            )
            .await
    }

    pub async fn create_playlist(
        &self,
        user_id: i64,
        name: &str,
        public: bool,
    ) -> StoreResult<i64> {
        let mut tx = self.db.begin().await?;
        let now = now();
        let id = tx
            .fetch_one(
                &Sql::bound(
                    "INSERT INTO playlists (name, user_id, public, created, updated, name_folded) VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
                    values![name, user_id, public, now, super::fold(name)],
                ),
                decode_id,
            )
            .await?;
        tx.execute(&Sql::bound(
            "INSERT INTO activity (user_id, action, object_kind, object_id, created) VALUES ($1, 'create', 'playlist', $2, $3)",
            values![user_id, id, now],
        ))
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
        self.db
            .execute(Sql::bound(
                "UPDATE playlists SET name = COALESCE($1, name), public = COALESCE($2, public), updated = $3, \
                 name_folded = COALESCE($5, name_folded) WHERE id = $4",
                values![
                    name,
                    public.map(|p| p as i64),
                    now(),
                    id,
                    name.map(super::fold)
                ],
            ))
            .await?;
        Ok(())
    }

    pub async fn delete_playlist(&self, id: i64) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "DELETE FROM playlists WHERE id = $1",
                values![id],
            ))
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
            let mut sql = Sql::default();
            let list: Vec<String> = chunk.iter().map(|id| sql.arg(*id)).collect();
            sql.push(&format!(
                "SELECT COUNT(*) AS n FROM songs WHERE id IN ({})",
                list.join(", ")
            ));
            found += self.db.fetch_optional(sql, decode_n).await?.unwrap_or(0) as usize;
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
        let mut tx = self.db.begin().await?;
        lock_playlist(&mut tx, id).await?;
        if unless_present {
            for chunk in song_ids.chunks(ID_CHUNK) {
                let mut sql = Sql::default();
                let playlist = sql.arg(id);
                let list: Vec<String> = chunk.iter().map(|song| sql.arg(*song)).collect();
                sql.push(&format!(
                    "SELECT COUNT(*) AS n FROM playlist_items WHERE playlist_id = {playlist} AND song_id IN ({})",
                    list.join(", ")
                ));
                if tx.fetch_one(&sql, decode_n).await? > 0 {
                    // Dropping the transaction rolls it back.
                    return Ok(false);
                }
            }
        }
        fn decode_last(r: &mut dyn Row) -> StoreResult<i64> {
            r.int("last")
        }
        let last = tx
            .fetch_one(
                &Sql::bound(
                    "SELECT COALESCE(MAX(position), 0) AS last FROM playlist_items WHERE playlist_id = $1",
                    values![id],
                ),
                decode_last,
            )
            .await?;
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
        let mut tx = self.db.begin().await?;
        lock_playlist(&mut tx, id).await?;
        fn decode_song(r: &mut dyn Row) -> StoreResult<i64> {
            r.int("song_id")
        }
        let mut songs: Vec<i64> = tx
            .fetch_all(
                &Sql::bound(
                    "SELECT song_id FROM playlist_items WHERE playlist_id = $1 ORDER BY position",
                    values![id],
                ),
                decode_song,
            )
            .await?;
        let before = songs.clone();
        // An `Err` returns here, dropping the transaction: it rolls back.
        let outcome = change(&mut songs)?;
        if songs != before {
            tx.execute(&Sql::bound(
                "DELETE FROM playlist_items WHERE playlist_id = $1",
                values![id],
            ))
            .await?;
            insert_items(&mut tx, id, 0, &songs).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Ids bound per statement: well under SQLite's and PostgreSQL's parameter limits.
const ID_CHUNK: usize = 500;

fn decode_n(r: &mut dyn Row) -> StoreResult<i64> {
    r.int("n")
}

/// The first statement of every playlist change: a write to the playlist's row, so
/// that the transaction holds the lock that orders concurrent changes before it reads.
async fn lock_playlist(tx: &mut Tx<'_>, id: i64) -> StoreResult<()> {
    let updated = tx
        .execute(&Sql::bound(
            "UPDATE playlists SET updated = $1 WHERE id = $2",
            values![now(), id],
        ))
        .await?;
    if updated == 0 {
        return Err(StoreError::Invalid("the playlist no longer exists".into()));
    }
    Ok(())
}

/// Inserts `song_ids` at positions after `last`, a few hundred rows per statement.
async fn insert_items(tx: &mut Tx<'_>, id: i64, last: i64, song_ids: &[i64]) -> StoreResult<()> {
    const ROWS: usize = 300;
    for (chunk_index, chunk) in song_ids.chunks(ROWS).enumerate() {
        let mut sql = Sql::default();
        let playlist = sql.arg(id);
        let rows: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, song)| {
                let position = sql.arg(last + (chunk_index * ROWS + i + 1) as i64);
                let song = sql.arg(*song);
                format!("({playlist}, {position}, {song})")
            })
            .collect();
        sql.push(&format!(
            "INSERT INTO playlist_items (playlist_id, position, song_id) VALUES {}",
            rows.join(", ")
        ));
        tx.execute(&sql).await?;
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
        // Only the arguments a query uses are bound, numbered as they are added.
        let mut sql = Sql::default();
        let needs_user = criteria.mode != GenerateMode::Random || criteria.flagged;
        let user = if needs_user {
            sql.arg(user_id)
        } else {
            String::new()
        };
        let mut conditions = vec!["s.enabled = 1".to_string()];
        match criteria.mode {
            GenerateMode::Random => {}
            GenerateMode::Recent => {
                let window = sql.arg(window);
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = {user} AND p.played_at >= {window})"
                ));
            }
            GenerateMode::Forgotten => {
                let window = sql.arg(window);
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = {user}) \
                     AND NOT EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = {user} AND p.played_at >= {window})"
                ));
            }
            GenerateMode::Unplayed => conditions.push(format!(
                "NOT EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = {user})"
            )),
        }
        let pattern = sql.arg(
            criteria
                .title
                .as_deref()
                .map(super::browse::like_pattern)
                .unwrap_or_default(),
        );
        conditions.push(format!(
            "({pattern} = '' OR s.title_folded LIKE {pattern} ESCAPE '\\')"
        ));
        let album = sql.arg(criteria.album.unwrap_or(0));
        conditions.push(format!("({album} = 0 OR s.album_id = {album})"));
        let artist = sql.arg(criteria.artist.unwrap_or(0));
        conditions.push(format!("({artist} = 0 OR s.artist_id = {artist})"));
        if criteria.flagged {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM flags f WHERE f.user_id = {user} AND f.object_kind = 'song' AND f.object_id = s.id)"
            ));
        }
        let (limit, offset) = (sql.arg(limit), sql.arg(offset));
        sql.push(&format!(
            "SELECT s.id FROM songs s WHERE {} ORDER BY RANDOM() LIMIT {limit} OFFSET {offset}",
            conditions.join(" AND ")
        ));
        self.db.fetch_all(sql, decode_id).await
    }
}
