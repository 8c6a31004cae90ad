//! Follows, shouts and the activity timeline.

use super::db::{decode_id, Row, Sql};
use super::userdata::{record_activity, ObjectKind};
use super::{now, Store, StoreResult};
pub use crate::model::{ActivityRow, Named, ShoutRow};
use crate::values;

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
        fn decode(r: &mut dyn Row) -> StoreResult<Named> {
            Ok(Named {
                id: r.int("id")?,
                name: r.text("username")?.into(),
            })
        }
        self.db
            .fetch_all(Sql::bound(sql, values![user_id]), decode)
            .await
    }

    /// Follows or unfollows; true when `follower` now follows `followed`.
    pub async fn toggle_follow(&self, follower: i64, followed: i64) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        let removed = tx
            .execute(&Sql::bound(
                "DELETE FROM follows WHERE follower_id = $1 AND followed_id = $2",
                values![follower, followed],
            ))
            .await?;
        if removed == 0 {
            tx.execute(&Sql::bound(
                "INSERT INTO follows (follower_id, followed_id, created) VALUES ($1, $2, $3)",
                values![follower, followed, now()],
            ))
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
        let mut tx = self.db.begin().await?;
        let id = tx
            .fetch_one(
                &Sql::bound(
                    "INSERT INTO shouts (user_id, object_kind, object_id, text, created) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    values![user_id, kind.as_str(), object_id, text, now()],
                ),
                decode_id,
            )
            .await?;
        record_activity(&mut tx, user_id, "shout", kind, object_id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The newest shouts, of one author or of everyone.
    pub async fn shouts(&self, author: Option<i64>, limit: i64) -> StoreResult<Vec<ShoutRow>> {
        fn decode(r: &mut dyn Row) -> StoreResult<ShoutRow> {
            Ok(ShoutRow {
                id: r.int("id")?,
                date: r.int("created")?,
                text: r.text("text")?,
                user: Named {
                    id: r.int("user_id")?,
                    name: r.text("username")?.into(),
                },
            })
        }
        self.db
            .fetch_all(
                Sql::bound(
                    "SELECT s.id, s.created, s.text, u.id AS user_id, u.username FROM shouts s JOIN users u ON u.id = s.user_id \
                     WHERE ($1 = 0 OR s.user_id = $1) ORDER BY s.created DESC, s.id DESC LIMIT $2",
                    values![author.unwrap_or(0), limit],
                ),
                decode,
            )
            .await
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
            "SELECT a.id, a.created, a.object_kind, a.object_id, a.action, u.id AS user_id, u.username FROM activity a \
             JOIN users u ON u.id = a.user_id WHERE {condition} AND a.created > $2 ORDER BY a.created DESC, a.id DESC LIMIT $3"
        );
        fn decode(r: &mut dyn Row) -> StoreResult<ActivityRow> {
            Ok(ActivityRow {
                id: r.int("id")?,
                date: r.int("created")?,
                object_type: r.text("object_kind")?,
                object_id: r.int("object_id")?,
                action: r.text("action")?,
                user: Named {
                    id: r.int("user_id")?,
                    name: r.text("username")?.into(),
                },
            })
        }
        self.db
            .fetch_all(Sql::bound(sql, values![user, since, limit]), decode)
            .await
    }
}
