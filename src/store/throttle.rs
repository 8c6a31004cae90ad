//! What the handshake's defences remember, in the store so that every process on one
//! database shares it: failed handshakes per client address and per user name, and
//! the password handshakes already used (a `timestamp`+`auth` pair logs in once).

use super::db::{Row, Sql};
use super::users::sha256_hex;
use super::{now, Store, StoreResult};
use crate::values;

/// Failures recorded under one key within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub last: i64,
}

/// The key failures from a client address are counted under.
pub fn address_key(ip: std::net::IpAddr) -> String {
    format!("ip:{ip}")
}

/// The key failures for a user name are counted under (names that exist or not alike,
/// so the answer does not tell which).
pub fn user_key(username: &str) -> String {
    format!("user:{username}")
}

impl Store {
    /// Failures under `key` since `since` (older ones no longer count).
    pub async fn login_failures(&self, key: &str, since: i64) -> StoreResult<Failures> {
        fn decode(r: &mut dyn Row) -> StoreResult<Failures> {
            Ok(Failures {
                count: r.int("failures")?,
                last: r.int("last_failure")?,
            })
        }
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT failures, last_failure FROM login_failures WHERE key = $1 AND last_failure >= $2",
                    values![key, since],
                ),
                decode,
            )
            .await?
            .unwrap_or_default())
    }

    /// Counts one more failure under each key; a count whose last failure is older
    /// than `since` starts again at one. Rows older than that are pruned on the way.
    pub async fn record_login_failure(&self, keys: &[String], since: i64) -> StoreResult<()> {
        let now = now();
        let mut tx = self.db.begin().await?;
        tx.execute(&Sql::bound(
            "DELETE FROM login_failures WHERE last_failure < $1",
            values![since],
        ))
        .await?;
        for key in keys {
            tx.execute(&Sql::bound(
                "INSERT INTO login_failures (key, failures, last_failure) VALUES ($1, 1, $2) \
                 ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN login_failures.last_failure < $3 \
                 THEN 1 ELSE login_failures.failures + 1 END, last_failure = $2",
                values![key.as_str(), now, since],
            ))
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the failures under `keys` (after a successful login).
    pub async fn clear_login_failures(&self, keys: &[String]) -> StoreResult<()> {
        for key in keys {
            self.db
                .execute(Sql::bound(
                    "DELETE FROM login_failures WHERE key = $1",
                    values![key.as_str()],
                ))
                .await?;
        }
        Ok(())
    }

    /// Records a password handshake's `timestamp`+`auth` as used until `expire`; false
    /// when it was used before (a replay). Expired records are pruned on the way. Kept
    /// as a hash: a used pair is no secret, but there is no need to keep it either.
    pub async fn use_handshake(
        &self,
        timestamp: &str,
        auth: &str,
        expire: i64,
    ) -> StoreResult<bool> {
        let hash = sha256_hex(&format!("{timestamp}:{auth}"));
        let mut tx = self.db.begin().await?;
        tx.execute(&Sql::bound(
            "DELETE FROM used_handshakes WHERE expire < $1",
            values![now()],
        ))
        .await?;
        let inserted = tx
            .execute(&Sql::bound(
                "INSERT INTO used_handshakes (auth_hash, expire) VALUES ($1, $2) ON CONFLICT (auth_hash) DO NOTHING",
                values![hash.as_str(), expire],
            ))
            .await?;
        tx.commit().await?;
        Ok(inserted == 1)
    }
}
