//! The democratic queue: users vote songs up; the democratic stream plays the song
//! with the most votes (the earliest voted first among equals) and takes it off the
//! queue. Votes live here, so every tonearm process on one database shares the queue.
//!
//! Ampache keeps several democratic playlists; API4 acts on "the current" one, so
//! tonearm has one queue, `demo_id` 1.

use super::db::{Row, Sql};
use super::{now, Store, StoreResult};
use crate::values;

/// The one democratic queue's id, as play URLs carry it.
pub const QUEUE_ID: i64 = 1;

/// A song on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub song_id: i64,
    pub votes: i64,
}

/// Queue order: most votes first, then the earliest first vote. Vote ids grow with
/// every vote, so the smallest id of a song is its first vote, exactly, even for
/// votes within one second.
const QUEUE: &str = "SELECT v.object_id AS song_id, COUNT(*) AS votes, MIN(v.id) AS first_vote \
     FROM democratic_votes v JOIN songs s ON s.id = v.object_id AND s.enabled = 1 \
     WHERE v.object_kind = 'song' \
     GROUP BY v.object_id ORDER BY votes DESC, first_vote ASC";

fn decode_entry(r: &mut dyn Row) -> StoreResult<QueueEntry> {
    let entry = QueueEntry {
        song_id: r.int("song_id")?,
        votes: r.int("votes")?,
    };
    r.int("first_vote")?;
    Ok(entry)
}

impl Store {
    /// Adds `user_id`'s vote for the song; a second vote of the same user counts once.
    pub async fn democratic_vote(&self, user_id: i64, song_id: i64) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "INSERT INTO democratic_votes (user_id, object_kind, object_id, created) \
                 VALUES ($1, 'song', $2, $3) ON CONFLICT (user_id, object_kind, object_id) DO NOTHING",
                values![user_id, song_id, now()],
            ))
            .await?;
        Ok(())
    }

    /// Withdraws `user_id`'s vote for the song (nothing when there was none).
    pub async fn democratic_devote(&self, user_id: i64, song_id: i64) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "DELETE FROM democratic_votes WHERE user_id = $1 AND object_kind = 'song' AND object_id = $2",
                values![user_id, song_id],
            ))
            .await?;
        Ok(())
    }

    /// The queue in play order.
    pub async fn democratic_queue(&self) -> StoreResult<Vec<QueueEntry>> {
        self.db
            .fetch_all(Sql::bound(QUEUE, values![]), decode_entry)
            .await
    }

    /// Takes the song at the head of the queue off it (its votes are spent) and makes
    /// it the one playing; None when nobody has voted. Two processes taking at once
    /// get two different songs: the one whose delete removed nothing tries the next.
    pub async fn democratic_take_next(&self) -> StoreResult<Option<i64>> {
        loop {
            let mut tx = self.db.begin().await?;
            let head = tx
                .fetch_all(
                    &Sql::bound(format!("{QUEUE} LIMIT 1"), values![]),
                    decode_entry,
                )
                .await?;
            let Some(head) = head.into_iter().next() else {
                tx.commit().await?;
                return Ok(None);
            };
            let removed = tx
                .execute(&Sql::bound(
                    "DELETE FROM democratic_votes WHERE object_kind = 'song' AND object_id = $1",
                    values![head.song_id],
                ))
                .await?;
            if removed == 0 {
                // Another process took it between our read and our delete.
                tx.commit().await?;
                continue;
            }
            set_playing(&mut tx, head.song_id).await?;
            tx.commit().await?;
            return Ok(Some(head.song_id));
        }
    }

    /// Makes `song_id` the one playing (a song of the base playlist, when the queue
    /// was empty).
    pub async fn democratic_set_playing(&self, song_id: i64) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        set_playing(&mut tx, song_id).await?;
        tx.commit().await
    }

    /// The song the democratic stream last started, for players that come back for
    /// the rest of it (a Range request).
    pub async fn democratic_playing(&self) -> StoreResult<Option<i64>> {
        fn decode(r: &mut dyn Row) -> StoreResult<i64> {
            r.int("object_id")
        }
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT object_id FROM democratic_playing WHERE queue_id = $1 AND object_kind = 'song'",
                    values![QUEUE_ID],
                ),
                decode,
            )
            .await
    }

    /// A random enabled song of playlist `playlist_id`: what the democratic stream
    /// plays while nobody has voted.
    pub async fn random_playlist_song(&self, playlist_id: i64) -> StoreResult<Option<i64>> {
        fn decode(r: &mut dyn Row) -> StoreResult<i64> {
            r.int("song_id")
        }
        let songs = self
            .db
            .fetch_all(
                Sql::bound(
                    "SELECT i.song_id AS song_id FROM playlist_items i JOIN songs s ON s.id = i.song_id \
                     WHERE i.playlist_id = $1 AND s.enabled = 1",
                    values![playlist_id],
                ),
                decode,
            )
            .await?;
        use rand::seq::SliceRandom;
        Ok(songs.choose(&mut rand::thread_rng()).copied())
    }
}

async fn set_playing(tx: &mut super::db::Tx<'_>, song_id: i64) -> StoreResult<()> {
    tx.execute(&Sql::bound(
        "INSERT INTO democratic_playing (queue_id, object_kind, object_id, started) VALUES ($1, 'song', $2, $3) \
         ON CONFLICT (queue_id) DO UPDATE SET object_kind = excluded.object_kind, object_id = excluded.object_id, started = excluded.started",
        values![QUEUE_ID, song_id, now()],
    ))
    .await?;
    Ok(())
}
