//! Follows, shouts and the activity timeline.

use sqlx::Row;

use super::userdata::{record_activity, ObjectKind};
use super::{now, Store, StoreResult};
pub use crate::model::{ActivityRow, Named, ShoutRow};

/// Which users' activity a timeline shows.
#[derive(Debug, Clone, Copy)]
pub enum TimelineOf {
    User(i64),
    FollowedBy(i64),
}

impl Store {
    pub async fn followers(&self, user_id: i64) -> StoreResult<Vec<Named>> {
        self.named_users(
            "SELECT u.id, u.username FROM follows f JOIN users u ON u.id = f.follower_id WHERE f.followed_id = $1 ORDER BY u.username",
            user_id,
        )
        .await
    }

    pub async fn following(&self, user_id: i64) -> StoreResult<Vec<Named>> {
        self.named_users(
            "SELECT u.id, u.username FROM follows f JOIN users u ON u.id = f.followed_id WHERE f.follower_id = $1 ORDER BY u.username",
            user_id,
        )
        .await
    }

    async fn named_users(&self, sql: &str, user_id: i64) -> StoreResult<Vec<Named>> {
        Ok(sqlx::query(sql)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Named {
                id: row.get(0),
                name: row.get(1),
            })
            .collect())
    }

    /// Follows or unfollows; true when `follower` now follows `followed`.
    pub async fn toggle_follow(&self, follower: i64, followed: i64) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let removed =
            sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followed_id = $2")
                .bind(follower)
                .bind(followed)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if removed == 0 {
            sqlx::query(
                "INSERT INTO follows (follower_id, followed_id, created) VALUES ($1, $2, $3)",
            )
            .bind(follower)
            .bind(followed)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            record_activity(&mut tx, follower, "follow", ObjectKind::User, followed).await?;
        }
        tx.commit().await?;
        Ok(removed == 0)
    }

    /// Posts a shout about an object (or about nothing in particular: kind "user", the author).
    pub async fn add_shout(
        &self,
        user_id: i64,
        kind: ObjectKind,
        object_id: i64,
        text: &str,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO shouts (user_id, object_kind, object_id, text, created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(kind.as_str())
        .bind(object_id)
        .bind(text)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        record_activity(&mut tx, user_id, "shout", kind, object_id).await?;
        tx.commit().await?;
        Ok(row.get(0))
    }

    /// The newest shouts, of one author or of everyone.
    pub async fn shouts(&self, author: Option<i64>, limit: i64) -> StoreResult<Vec<ShoutRow>> {
        let rows = sqlx::query(
            "SELECT s.id, s.created, s.text, u.id, u.username FROM shouts s JOIN users u ON u.id = s.user_id \
             WHERE ($1 = 0 OR s.user_id = $1) ORDER BY s.created DESC, s.id DESC LIMIT $2",
        )
        .bind(author.unwrap_or(0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| ShoutRow {
                id: row.get(0),
                date: row.get(1),
                text: row.get(2),
                user: Named {
                    id: row.get(3),
                    name: row.get(4),
                },
            })
            .collect())
    }

    /// Activity, newest first, after `since`.
    pub async fn timeline(
        &self,
        of: TimelineOf,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<ActivityRow>> {
        let (condition, user) = match of {
            TimelineOf::User(id) => ("a.user_id = $1", id),
            TimelineOf::FollowedBy(id) => (
                "a.user_id IN (SELECT followed_id FROM follows WHERE follower_id = $1)",
                id,
            ),
        };
        let sql = format!(
            "SELECT a.id, a.created, a.object_kind, a.object_id, a.action, u.id, u.username FROM activity a \
             JOIN users u ON u.id = a.user_id WHERE {condition} AND a.created > $2 ORDER BY a.created DESC, a.id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(user)
            .bind(since)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| ActivityRow {
                id: row.get(0),
                date: row.get(1),
                object_type: row.get(2),
                object_id: row.get(3),
                action: row.get(4),
                user: Named {
                    id: row.get(5),
                    name: row.get(6),
                },
            })
            .collect())
    }
}
