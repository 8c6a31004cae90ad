//! Users: accounts, access levels, password hashes and API keys.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::db::{decode_count, Row, Sql};
use super::{now, Store, StoreError, StoreResult};
use crate::values;

pub use crate::model::access;

/// A user as the store keeps one: the user the rest of tonearm sees (the model's,
/// which it derefs to), and the password hash only the handshake reads.
#[derive(Debug, Clone)]
pub struct User {
    pub profile: crate::model::User,
    pub password_hash: String,
    /// hex(sha256(API key)): the key itself is shown once, when made, and never kept.
    pub apikey_hash: Option<String>,
}

impl std::ops::Deref for User {
    type Target = crate::model::User;

    fn deref(&self) -> &crate::model::User {
        &self.profile
    }
}

/// The columns [`User::decode`] reads. `apikey` (the clear key) is always NULL since
/// step 0006, so the profile's key reads as none: only `apikey_hash` is kept.
pub const USER_COLUMNS: &str =
    "u.id, u.username, u.fullname, u.email, u.website, u.access, u.apikey, u.disabled, u.created, u.last_seen, u.state, u.city, u.fullname_public, u.password_hash, u.apikey_hash";

impl User {
    /// The user without their secrets, for everything above the store.
    pub fn public(&self) -> crate::model::User {
        self.profile.clone()
    }

    /// Decodes the columns of [`USER_COLUMNS`] from a native row.
    pub fn decode(r: &mut dyn Row) -> StoreResult<User> {
        let profile = crate::model::User {
            id: r.int("id")?,
            username: r.text("username")?,
            fullname: r.text("fullname")?,
            email: r.text("email")?,
            website: r.text("website")?,
            access: r.int("access")?,
            apikey: r.opt_text("apikey")?,
            disabled: r.int("disabled")? != 0,
            created: r.int("created")?,
            last_seen: r.int("last_seen")?,
            state: r.text("state")?,
            city: r.text("city")?,
            fullname_public: r.int("fullname_public")? != 0,
        };
        Ok(User {
            profile,
            password_hash: r.text("password_hash")?,
            apikey_hash: r.opt_text("apikey_hash")?,
        })
    }
}

/// A user to create through the API.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub fullname: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub access: i64,
    pub disabled: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub fullname: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub state: Option<String>,
    pub city: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
}

/// Lowercase hex SHA-256, the digest every Ampache credential is built from.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// 32 random lowercase hex characters (an API key or a session token).
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Constant-time comparison of two credentials (`subtle`): the time taken does not
/// depend on where they differ. Only a difference in length (public: every token,
/// key and hash here is a fixed 32 or 64 hex digits) returns early.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The hashed API-key handshake's `auth` for a user whose key hashes to `apikey_hash`:
/// hex(sha256(username + hex(sha256(key)))).
pub fn apikey_auth(username: &str, apikey_hash: &str) -> String {
    sha256_hex(&format!("{username}{apikey_hash}"))
}

impl Store {
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        access: i64,
        email: &str,
    ) -> StoreResult<User> {
        let username = username.trim();
        if self.user_by_name(username).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "user {username:?} already exists"
            )));
        }
        self.create_user_hashed(&NewUser {
            username,
            fullname: "",
            email,
            password_hash: &sha256_hex(password),
            access,
            disabled: false,
        })
        .await
    }

    /// Creates the first admin if the store has no user yet; false when there was one.
    /// Idempotent when several processes start together on one empty database: on
    /// PostgreSQL it runs under the migrations' advisory lock, and the insert itself
    /// only happens while no user exists and never conflicts with a concurrent one.
    pub async fn create_first_admin(&self, username: &str, password: &str) -> StoreResult<bool> {
        let mut tx = self.db.begin().await?;
        if self.engine == super::Engine::Postgres {
            // The transaction-level form of the migrations' lock: it conflicts with
            // their session-level one, and is released when the transaction ends.
            tx.execute(&Sql::bound(
                "SELECT pg_advisory_xact_lock($1)",
                values![super::migrate::MIGRATION_LOCK],
            ))
            .await?;
        }
        let inserted = tx
            .execute(&Sql::bound(
                "INSERT INTO users (username, fullname, access, password_hash, email, disabled, created, username_folded) \
                 SELECT $1, '', $2, $3, '', 0, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM users) \
                 ON CONFLICT (username) DO NOTHING",
                values![
                    username.trim(),
                    access::ADMIN,
                    sha256_hex(password),
                    now(),
                    super::fold(username.trim())
                ],
            ))
            .await?;
        tx.commit().await?;
        Ok(inserted == 1)
    }

    /// Creates a user from an already hashed password (hex SHA-256), as API4's
    /// `user_create` sends it.
    pub async fn create_user_hashed(&self, new: &NewUser<'_>) -> StoreResult<User> {
        let username = new.username.trim();
        if username.is_empty() || username.chars().any(char::is_control) {
            return Err(StoreError::Invalid(
                "a user name must be non-empty printable text".into(),
            ));
        }
        self.db
            .execute(Sql::bound(
                "INSERT INTO users (username, fullname, access, password_hash, email, disabled, created, username_folded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                values![
                    username,
                    new.fullname,
                    new.access,
                    new.password_hash,
                    new.email,
                    new.disabled,
                    now(),
                    super::fold(username)
                ],
            ))
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => {
                    StoreError::Duplicate(format!("user {username:?} already exists"))
                }
                e => e,
            })?;
        self.user_by_name(username)
            .await?
            .ok_or_else(|| StoreError::Conflict("user vanished after creation".into()))
    }

    /// Applies the given changes; a new password hash or disabling ends the user's
    /// sessions, so the change takes effect at once.
    pub async fn update_user(&self, user: &User, changes: &UserChanges) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(&Sql::bound(
            "UPDATE users SET fullname = COALESCE($1, fullname), email = COALESCE($2, email), \
             website = COALESCE($3, website), state = COALESCE($4, state), city = COALESCE($5, city), \
             password_hash = COALESCE($6, password_hash), disabled = COALESCE($7, disabled) WHERE id = $8",
            values![
                changes.fullname.clone(),
                changes.email.clone(),
                changes.website.clone(),
                changes.state.clone(),
                changes.city.clone(),
                changes.password_hash.clone(),
                changes.disabled.map(i64::from),
                user.id
            ],
        ))
        .await?;
        if changes.password_hash.is_some() || changes.disabled == Some(true) {
            tx.execute(&Sql::bound(
                "DELETE FROM sessions WHERE user_id = $1",
                values![user.id],
            ))
            .await?;
        }
        tx.commit().await?;
        self.caches.forget_users();
        Ok(())
    }

    /// Deletes a user with everything that is theirs (sessions, playlists, ratings...).
    pub async fn delete_user(&self, user: &User) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "DELETE FROM users WHERE id = $1",
                values![user.id],
            ))
            .await?;
        self.caches.forget_users();
        Ok(())
    }

    pub async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
        self.db
            .fetch_optional(Sql::bound(sql, values![username]), User::decode)
            .await
    }

    pub async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        self.db
            .fetch_optional(Sql::bound(sql, values![id]), User::decode)
            .await
    }

    /// The user whose API key is `key` (found by its hash).
    pub async fn user_by_apikey(&self, key: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.apikey_hash = $1");
        self.db
            .fetch_optional(Sql::bound(sql, values![sha256_hex(key)]), User::decode)
            .await
    }

    /// The user whose hashed API-key login equals `auth`.
    pub async fn user_by_apikey_auth(&self, auth: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.apikey_auth = $1");
        self.db
            .fetch_optional(Sql::bound(sql, values![auth]), User::decode)
            .await
    }

    pub async fn users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.username");
        self.db
            .fetch_all(Sql::bound(sql, values![]), User::decode)
            .await
    }

    pub async fn user_count(&self) -> StoreResult<i64> {
        // An aggregate without GROUP BY always gives one row.
        self.db
            .fetch_optional(
                Sql::bound("SELECT COUNT(*) AS n FROM users", values![]),
                decode_count,
            )
            .await?
            .ok_or_else(|| StoreError::Engine("a query returned no row".into()))
    }

    /// Gives the user a new API key (replacing any old one) and returns it: the only
    /// time it is seen, since the store keeps its hash alone.
    pub async fn new_apikey(&self, user: &User) -> StoreResult<String> {
        let key = random_token();
        let hash = sha256_hex(&key);
        self.db
            .execute(Sql::bound(
                "UPDATE users SET apikey = NULL, apikey_hash = $1, apikey_auth = $2 WHERE id = $3",
                values![hash.as_str(), apikey_auth(&user.username, &hash), user.id],
            ))
            .await?;
        self.caches.forget_users();
        Ok(key)
    }

    /// Keys stored in clear before step 0006: each becomes its hash, and the clear
    /// column is emptied. Idempotent, so processes starting together may both run it.
    pub(super) async fn hash_clear_apikeys(&self) -> StoreResult<()> {
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, String)> {
            Ok((r.int("id")?, r.text("apikey")?))
        }
        let clear = self
            .db
            .fetch_all(
                Sql::bound(
                    "SELECT id, apikey FROM users WHERE apikey IS NOT NULL",
                    values![],
                ),
                decode,
            )
            .await?;
        for (id, key) in clear {
            self.db
                .execute(Sql::bound(
                    "UPDATE users SET apikey_hash = $1, apikey = NULL WHERE id = $2 AND apikey = $3",
                    values![sha256_hex(&key), id, key.as_str()],
                ))
                .await?;
        }
        Ok(())
    }

    /// Sets a new password; it takes effect for the next handshake.
    pub async fn set_password(&self, user: &User, password: &str) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                values![sha256_hex(password), user.id],
            ))
            .await?;
        self.caches.forget_users();
        Ok(())
    }

    pub async fn set_disabled(&self, user: &User, disabled: bool) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE users SET disabled = $1 WHERE id = $2",
                values![disabled, user.id],
            ))
            .await?;
        if disabled {
            self.end_user_sessions(user.id).await?;
        }
        self.caches.forget_users();
        Ok(())
    }

    pub async fn touch_user(&self, user_id: i64) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE users SET last_seen = $1 WHERE id = $2",
                values![now(), user_id],
            ))
            .await?;
        Ok(())
    }
}

impl Store {
    /// The user's highest stream bitrate in kbit/s, 0 when they have none of their own.
    pub async fn user_max_bitrate(&self, user_id: i64) -> StoreResult<i64> {
        Ok(self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT max_bitrate FROM users WHERE id = $1",
                    values![user_id],
                ),
                |r| r.int("max_bitrate"),
            )
            .await?
            .unwrap_or(0))
    }

    /// Sets the user's highest stream bitrate (kbit/s; 0 removes it).
    pub async fn set_user_max_bitrate(&self, user_id: i64, kbps: i64) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE users SET max_bitrate = $1 WHERE id = $2",
                values![kbps.max(0), user_id],
            ))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_levels_parse() {
        assert_eq!(access::parse("admin"), Some(100));
        assert_eq!(access::parse("Manager"), Some(50));
        assert_eq!(access::parse("25"), Some(25));
        assert_eq!(access::parse("26"), None);
        assert_eq!(access::parse("root"), None);
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
