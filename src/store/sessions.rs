//! Sessions: API (and stream) tokens, kept in the store so every tonearm process
//! sharing the database honours them. The store keeps only hex(sha256(token)): a
//! copy of the database logs nobody in. Lookups go through [`super::cache`].

use super::db::{Row, Sql};
use super::users::{random_token, sha256_hex, User, USER_COLUMNS};
use super::{now, Store, StoreResult};
use crate::values;

#[derive(Debug, Clone)]
pub struct Session {
    /// The token as the client holds it (never stored).
    pub token: String,
    pub user: User,
    pub expire: i64,
    /// The API version the session speaks (chosen at handshake, changed by a ping).
    pub api_version: i64,
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
        let token = random_token();
        let expire = now + length;
        let mut tx = self.db.begin().await?;
        tx.execute(&Sql::bound(
            "DELETE FROM sessions WHERE expire < $1",
            values![now],
        ))
        .await?;
        tx.execute(&Sql::bound(
            "INSERT INTO sessions (token_hash, user_id, kind, agent, ip, api_version, expire, created, geo_latitude, geo_longitude, geo_name) \
             VALUES ($1, $2, 'api', $3, $4, $5, $6, $7, $8, $9, $10)",
            values![
                sha256_hex(&token),
                user.id,
                details.agent.as_str(),
                details.ip.as_str(),
                details.api_version,
                expire,
                now,
                details.geo_latitude.clone(),
                details.geo_longitude.clone(),
                details.geo_name.clone()
            ],
        ))
        .await?;
        tx.commit().await?;
        self.touch_user(user.id).await?;
        Ok(Session {
            token,
            user: user.clone(),
            expire,
            api_version: details.api_version,
        })
    }

    /// The live session for `token`, with its user; `None` when unknown or expired.
    /// Every authenticated request asks this: from memory when this process looked
    /// it up a moment ago (see [`super::cache`]), else on the native driver.
    pub async fn session(&self, token: &str) -> StoreResult<Option<Session>> {
        let hash = sha256_hex(token);
        if let Some(session) = self.caches.session(&hash) {
            // A remembered session still ends at its own expiry.
            return Ok(Some(session).filter(|s| s.expire >= now()));
        }
        let mut sql = Sql::default();
        let token_hash = sql.arg(hash.as_str());
        let now = sql.arg(now());
        sql.push(&format!(
            "SELECT s.expire, s.api_version, {USER_COLUMNS} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = {token_hash} AND s.expire >= {now}"
        ));
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, i64, User)> {
            Ok((r.int("expire")?, r.int("api_version")?, User::decode(r)?))
        }
        let session =
            self.db
                .fetch_optional(sql, decode)
                .await?
                .map(|(expire, api_version, user)| Session {
                    token: token.to_string(),
                    user,
                    expire,
                    api_version,
                });
        if let Some(session) = &session {
            self.caches.put_session(&hash, session);
        }
        Ok(session)
    }

    /// Moves a session's expiry to `expire` (and its API version, when given).
    pub async fn extend_session(
        &self,
        token: &str,
        expire: i64,
        api_version: Option<i64>,
    ) -> StoreResult<()> {
        let hash = sha256_hex(token);
        self.db
            .execute(Sql::bound(
                "UPDATE sessions SET expire = $1, api_version = COALESCE($2, api_version) WHERE token_hash = $3",
                values![expire, api_version, hash.as_str()],
            ))
            .await?;
        self.caches.extended(&hash, expire, api_version);
        Ok(())
    }

    /// Ends a session; false when there was none.
    pub async fn end_session(&self, token: &str) -> StoreResult<bool> {
        let hash = sha256_hex(token);
        self.caches.forget_session(&hash);
        let done = self
            .db
            .execute(Sql::bound(
                "DELETE FROM sessions WHERE token_hash = $1",
                values![hash.as_str()],
            ))
            .await?;
        // Again: a request of this session may have remembered it meanwhile.
        self.caches.forget_session(&hash);
        Ok(done > 0)
    }

    /// Sessions not yet expired, for the metrics.
    pub async fn live_sessions(&self) -> StoreResult<i64> {
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT COUNT(*) AS n FROM sessions WHERE expire > $1",
                    values![super::now()],
                ),
                super::db::decode_count,
            )
            .await
            .map(Option::unwrap_or_default)
    }

    pub async fn end_user_sessions(&self, user_id: i64) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "DELETE FROM sessions WHERE user_id = $1",
                values![user_id],
            ))
            .await?;
        self.caches.forget_users();
        Ok(())
    }
}
