//! What users write: ratings, favourite flags, plays, and the activity they leave.

use sqlx::Row;

use super::{now, Store, StoreResult};

/// The kinds of object users rate, flag and play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Song,
    Album,
    Artist,
    Playlist,
    User,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Song => "song",
            ObjectKind::Album => "album",
            ObjectKind::Artist => "artist",
            ObjectKind::Playlist => "playlist",
            ObjectKind::User => "user",
        }
    }

    pub fn parse(text: &str) -> Option<ObjectKind> {
        match text {
            "song" => Some(ObjectKind::Song),
            "album" => Some(ObjectKind::Album),
            "artist" => Some(ObjectKind::Artist),
            "playlist" => Some(ObjectKind::Playlist),
            "user" => Some(ObjectKind::User),
            _ => None,
        }
    }

    fn table(self) -> &'static str {
        match self {
            ObjectKind::Song => "songs",
            ObjectKind::Album => "albums",
            ObjectKind::Artist => "artists",
            ObjectKind::Playlist => "playlists",
            ObjectKind::User => "users",
        }
    }
}

impl Store {
    pub async fn object_exists(&self, kind: ObjectKind, id: i64) -> StoreResult<bool> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE id = $1", kind.table());
        let count: i64 = sqlx::query(&sql)
            .bind(id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(count > 0)
    }

    /// Sets (1–5) or clears (0) a user's rating.
    pub async fn rate(
        &self,
        user_id: i64,
        kind: ObjectKind,
        id: i64,
        rating: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        if rating == 0 {
            sqlx::query(
                "DELETE FROM ratings WHERE user_id = $1 AND object_kind = $2 AND object_id = $3",
            )
            .bind(user_id)
            .bind(kind.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO ratings (user_id, object_kind, object_id, rating, updated) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, object_kind, object_id) DO UPDATE SET rating = excluded.rating, updated = excluded.updated",
            )
            .bind(user_id)
            .bind(kind.as_str())
            .bind(id)
            .bind(rating)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        record_activity(&mut tx, user_id, "rating", kind, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets or clears a user's favourite flag.
    pub async fn set_flag(
        &self,
        user_id: i64,
        kind: ObjectKind,
        id: i64,
        flag: bool,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        if flag {
            sqlx::query(
                "INSERT INTO flags (user_id, object_kind, object_id, created) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, object_kind, object_id) DO NOTHING",
            )
            .bind(user_id)
            .bind(kind.as_str())
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            record_activity(&mut tx, user_id, "userflag", kind, id).await?;
        } else {
            sqlx::query(
                "DELETE FROM flags WHERE user_id = $1 AND object_kind = $2 AND object_id = $3",
            )
            .bind(user_id)
            .bind(kind.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that `user_id` played a song at `when`.
    pub async fn record_play(
        &self,
        user_id: i64,
        song_id: i64,
        when: i64,
        agent: &str,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO plays (user_id, song_id, played_at, agent) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(song_id)
        .bind(when)
        .bind(agent)
        .execute(&mut *tx)
        .await?;
        record_activity(&mut tx, user_id, "play", ObjectKind::Song, song_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The song a scrobble names: title, artist and album compared case-insensitively,
    /// or the MusicBrainz recording id.
    pub async fn find_song_by_names(
        &self,
        title: &str,
        artist: &str,
        album: &str,
        mbid: Option<&str>,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT s.id FROM songs s JOIN artists ar ON ar.id = s.artist_id JOIN albums al ON al.id = s.album_id \
             WHERE (s.title_folded = $1 AND ar.name_folded = $2 AND al.name_folded = $3) OR (s.mbid IS NOT NULL AND s.mbid = $4) \
             ORDER BY s.id LIMIT 1",
        )
        .bind(super::fold(title.trim()))
        .bind(super::fold(artist.trim()))
        .bind(super::fold(album.trim()))
        .bind(mbid.unwrap_or(""))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get(0)))
    }
}

pub(crate) async fn record_activity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    action: &str,
    kind: ObjectKind,
    id: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO activity (user_id, action, object_kind, object_id, created) VALUES ($1, $2, $3, $4, $5)")
        .bind(user_id)
        .bind(action)
        .bind(kind.as_str())
        .bind(id)
        .bind(now())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
