//! Access control lists: IP ranges allowed to use the API or to stream, with a level.

use std::net::IpAddr;

use super::db::{decode_id, Row, Sql};
use super::{Store, StoreError, StoreResult};
use crate::values;

/// What an ACL rule governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclKind {
    Api,
    Stream,
}

impl AclKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AclKind::Api => "api",
            AclKind::Stream => "stream",
        }
    }

    pub fn parse(text: &str) -> Option<AclKind> {
        match text {
            "api" | "rpc" => Some(AclKind::Api),
            "stream" => Some(AclKind::Stream),
            _ => None,
        }
    }
}

/// The outcome of an ACL check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclDecision {
    /// No rule of this kind exists: everything is open to valid users.
    Open,
    Allowed,
    Denied,
}

#[derive(Debug, Clone)]
pub struct AclRule {
    pub id: i64,
    pub name: String,
    pub start_ip: String,
    pub end_ip: String,
    pub kind: String,
    pub username: Option<String>,
    pub level: i64,
}

/// A fixed-width key that orders addresses numerically as text; IPv4 addresses are
/// mapped into IPv6 so one range type covers both.
pub fn ip_key(ip: IpAddr) -> String {
    let v6 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    format!("{:032x}", u128::from(v6))
}

/// The lowest level a rule needs for the API to accept a request (Ampache: 5).
pub const MIN_API_LEVEL: i64 = 5;

impl Store {
    pub async fn add_acl(
        &self,
        name: &str,
        start: IpAddr,
        end: IpAddr,
        kind: AclKind,
        user_id: Option<i64>,
        level: i64,
    ) -> StoreResult<i64> {
        if ip_key(start) > ip_key(end) {
            return Err(StoreError::Invalid(format!(
                "the range {start} - {end} is empty"
            )));
        }
        let mut tx = self.db.begin().await?;
        let id = tx
            .fetch_one(
                &Sql::bound(
                    "INSERT INTO acls (name, start_ip, end_ip, start_key, end_key, kind, user_id, level) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    values![
                        name,
                        start.to_string(),
                        end.to_string(),
                        ip_key(start),
                        ip_key(end),
                        kind.as_str(),
                        user_id,
                        level
                    ],
                ),
                decode_id,
            )
            .await?;
        tx.commit().await?;
        self.caches.forget_acls();
        Ok(id)
    }

    pub async fn acls(&self) -> StoreResult<Vec<AclRule>> {
        fn decode(r: &mut dyn Row) -> StoreResult<AclRule> {
            Ok(AclRule {
                id: r.int("id")?,
                name: r.text("name")?,
                start_ip: r.text("start_ip")?,
                end_ip: r.text("end_ip")?,
                kind: r.text("kind")?,
                username: r.opt_text("username")?,
                level: r.int("level")?,
            })
        }
        self.db
            .fetch_all(
                Sql::bound(
                    "SELECT a.id, a.name, a.start_ip, a.end_ip, a.kind, u.username, a.level FROM acls a \
                     LEFT JOIN users u ON u.id = a.user_id ORDER BY a.id",
                    values![],
                ),
                decode,
            )
            .await
    }

    pub async fn remove_acl(&self, id: i64) -> StoreResult<bool> {
        let done = self
            .db
            .execute(Sql::bound("DELETE FROM acls WHERE id = $1", values![id]))
            .await?;
        self.caches.forget_acls();
        Ok(done > 0)
    }

    /// Decides whether `ip` (acting as `user_id`) may use `kind`, in one query.
    pub async fn check_acl(
        &self,
        kind: AclKind,
        ip: IpAddr,
        user_id: Option<i64>,
    ) -> StoreResult<AclDecision> {
        // Asked on every request: from a moment's memory (see `cache`), else on the
        // native driver.
        let user_key = user_id.unwrap_or(-1);
        let asked = kind;
        if let Some(decision) = self.caches.acl(asked, ip, user_key) {
            return Ok(decision);
        }
        let mut sql = Sql::default();
        let kind = sql.arg(kind.as_str());
        let key = sql.arg(ip_key(ip));
        let user = sql.arg(user_id.unwrap_or(-1));
        sql.push(&format!(
            "SELECT COUNT(*) AS rules, MAX(CASE WHEN start_key <= {key} AND end_key >= {key} \
               AND (user_id IS NULL OR user_id = {user}) THEN level ELSE -1 END) AS best \
             FROM acls WHERE kind = {kind}"
        ));
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, Option<i64>)> {
            Ok((r.int("rules")?, r.opt_int("best")?))
        }
        let (rules, best) = self
            .db
            .fetch_optional(sql, decode)
            .await?
            .unwrap_or((0, None));
        let decision = if rules == 0 {
            AclDecision::Open
        } else if best.unwrap_or(-1) >= MIN_API_LEVEL {
            AclDecision::Allowed
        } else {
            AclDecision::Denied
        };
        self.caches.put_acl(asked, ip, user_key, decision);
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_numerically() {
        let a = ip_key("10.0.0.2".parse().unwrap());
        let b = ip_key("10.0.0.10".parse().unwrap());
        assert!(a < b);
        assert_eq!(
            ip_key("127.0.0.1".parse().unwrap()),
            ip_key("::ffff:127.0.0.1".parse().unwrap())
        );
    }
}
