//! What users write: ratings, favourite flags, plays, and the activity they leave.

use super::db::{decode_count, decode_id, Sql, Tx};
use super::{now, Store, StoreResult};
use crate::values;

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
        let sql = format!("SELECT COUNT(*) AS n FROM {} WHERE id = $1", kind.table());
        let count = self
            .db
            .fetch_optional(Sql::bound(sql, values![id]), decode_count)
            .await?
            .unwrap_or(0);
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
        let mut tx = self.db.begin().await?;
        if rating == 0 {
            tx.execute(&Sql::bound(
                "DELETE FROM ratings WHERE user_id = $1 AND object_kind = $2 AND object_id = $3",
                values![user_id, kind.as_str(), id],
            ))
            .await?;
        } else {
            tx.execute(&Sql::bound(
                "INSERT INTO ratings (user_id, object_kind, object_id, rating, updated) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, object_kind, object_id) DO UPDATE SET rating = excluded.rating, updated = excluded.updated",
                values![user_id, kind.as_str(), id, rating, now()],
            ))
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
        let mut tx = self.db.begin().await?;
        if flag {
            tx.execute(&Sql::bound(
                "INSERT INTO flags (user_id, object_kind, object_id, created) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, object_kind, object_id) DO NOTHING",
                values![user_id, kind.as_str(), id, now()],
            ))
            .await?;
            record_activity(&mut tx, user_id, "userflag", kind, id).await?;
        } else {
            tx.execute(&Sql::bound(
                "DELETE FROM flags WHERE user_id = $1 AND object_kind = $2 AND object_id = $3",
                values![user_id, kind.as_str(), id],
            ))
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
        let mut tx = self.db.begin().await?;
        tx.execute(&Sql::bound(
            "INSERT INTO plays (user_id, song_id, played_at, agent) VALUES ($1, $2, $3, $4)",
            values![user_id, song_id, when, agent],
        ))
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
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT s.id FROM songs s JOIN artists ar ON ar.id = s.artist_id JOIN albums al ON al.id = s.album_id \
                     WHERE (s.title_folded = $1 AND ar.name_folded = $2 AND al.name_folded = $3) OR (s.mbid IS NOT NULL AND s.mbid = $4) \
                     ORDER BY s.id LIMIT 1",
                    values![
                        super::fold(title.trim()),
                        super::fold(artist.trim()),
                        super::fold(album.trim()),
                        mbid.unwrap_or("")
                    ],
                ),
                decode_id,
            )
            .await
    }
}

pub(crate) async fn record_activity(
    tx: &mut Tx<'_>,
    user_id: i64,
    action: &str,
    kind: ObjectKind,
    id: i64,
) -> StoreResult<()> {
    tx.execute(&Sql::bound(
        "INSERT INTO activity (user_id, action, object_kind, object_id, created) VALUES ($1, $2, $3, $4, $5)",
        values![user_id, action, kind.as_str(), id, now()],
    ))
    .await?;
    Ok(())
}
