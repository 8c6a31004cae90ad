//! Sessions: API (and stream) tokens, kept in the store so every tonearm process
//! sharing the database honours them.

use super::db::{Row, Sql};
use super::users::{random_token, User, USER_COLUMNS};
use super::{now, Store, StoreResult};

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub user: User,
    pub expire: i64,
}

/// What a client told the handshake about itself.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    pub agent: String,
    pub ip: String,
    pub api_version: i64,
    pub geo_latitude: Option<String>,
    pub geo_longitude: Option<String>,
    pub geo_name: Option<String>,
}

impl Store {
    /// Creates a session for `user` lasting `length` seconds and returns it. Expired
    /// sessions are purged on the way, so the table does not grow without bound.
    pub async fn create_session(
        &self,
        user: &User,
        details: &NewSession,
        length: i64,
    ) -> StoreResult<Session> {
        let now = now();
        sqlx::query("DELETE FROM sessions WHERE expire < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let token = random_token();
        let expire = now + length;
        sqlx::query(
            "INSERT INTO sessions (token, user_id, kind, agent, ip, api_version, expire, created, geo_latitude, geo_longitude, geo_name) \
             VALUES ($1, $2, 'api', $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token)
        .bind(user.id)
        .bind(&details.agent)
        .bind(&details.ip)
        .bind(details.api_version)
        .bind(expire)
        .bind(now)
        .bind(details.geo_latitude.clone())
        .bind(details.geo_longitude.clone())
        .bind(details.geo_name.clone())
        .execute(&self.pool)
        .await?;
        self.touch_user(user.id).await?;
        Ok(Session {
            token,
            user: user.clone(),
            expire,
        })
    }

    /// The live session for `token`, with its user; `None` when unknown or expired.
    /// Every authenticated request asks this, on the native driver.
    pub async fn session(&self, token: &str) -> StoreResult<Option<Session>> {
        let mut sql = Sql::default();
        let token = sql.arg(token);
        let now = sql.arg(now());
        sql.push(&format!(
            "SELECT s.token, s.expire, {USER_COLUMNS} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token = {token} AND s.expire >= {now}"
        ));
        fn decode(r: &mut dyn Row) -> StoreResult<Session> {
            Ok(Session {
                token: r.text("token")?,
                expire: r.int("expire")?,
                user: User::decode(r)?,
            })
        }
        self.db.fetch_optional(sql, decode).await
    }

    /// Moves a session's expiry to `expire` (and its API version, when given).
    pub async fn extend_session(
        &self,
        token: &str,
        expire: i64,
        api_version: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET expire = $1, api_version = COALESCE($2, api_version) WHERE token = $3",
        )
        .bind(expire)
        .bind(api_version)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a session; false when there was none.
    pub async fn end_session(&self, token: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token = $1")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn end_user_sessions(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
