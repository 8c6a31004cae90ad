//! A short memory, per process, of what every authenticated request asks the store:
//! the session behind a token (with its user), an ACL decision, the totals a ping
//! reports. Without it a `ping` with a session cost five queries and a write.
//!
//! The store stays the truth: an entry lives `ttl` (a few seconds, `session_cache`
//! in the settings; 0 turns the memory off) and is then asked again. What this
//! process changes (a goodbye, a user disabled, deleted or given a new password)
//! forgets the entries at once; a change made by another process sharing the
//! database (another node, the `tonearm user` command) is seen here within `ttl`.
//! That is the bound documented for `goodbye` and disabled users across nodes.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::acl::{AclDecision, AclKind};
use super::catalogs::CatalogStamps;
use super::library::LibraryCounts;
use super::sessions::Session;
use super::{Store, StoreResult};

/// Entries a map keeps at most; past it the stale ones go, and if none is stale the
/// whole map (a flood of distinct tokens must not grow memory without bound).
const MAX_ENTRIES: usize = 20_000;

/// A map whose entries expire `ttl` after they were stored.
struct Fresh<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> Fresh<K, V> {
    fn new() -> Self {
        Fresh {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < ttl)
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: K, value: V, ttl: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    fn update(&self, key: &K, change: impl FnOnce(&mut V)) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, value)) = entries.get_mut(key) {
            change(value);
        }
    }

    fn remove(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// What a ping reports besides the session: library totals, catalog times, and the
/// playlists the user sees.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub counts: LibraryCounts,
    pub stamps: CatalogStamps,
    pub playlists: i64,
}

pub(super) struct Caches {
    ttl_ms: AtomicU64,
    /// By token hash.
    sessions: Fresh<String, Session>,
    acls: Fresh<(bool, IpAddr, i64), AclDecision>,
    /// By user id and admin flag.
    summaries: Fresh<(i64, bool), Summary>,
}

impl Caches {
    pub(super) fn new() -> Caches {
        Caches {
            ttl_ms: AtomicU64::new(0),
            sessions: Fresh::new(),
            acls: Fresh::new(),
            summaries: Fresh::new(),
        }
    }

    pub(super) fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(
            ttl.as_millis().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// None when the memory is off.
    fn ttl(&self) -> Option<Duration> {
        Some(self.ttl_ms.load(Ordering::Relaxed))
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    pub(super) fn session(&self, token_hash: &str) -> Option<Session> {
        self.sessions.get(&token_hash.to_string(), self.ttl()?)
    }

    pub(super) fn put_session(&self, token_hash: &str, session: &Session) {
        if let Some(ttl) = self.ttl() {
            self.sessions
                .put(token_hash.to_string(), session.clone(), ttl);
        }
    }

    pub(super) fn extended(&self, token_hash: &str, expire: i64, api_version: Option<i64>) {
        self.sessions.update(&token_hash.to_string(), |s| {
            s.expire = expire;
            s.api_version = api_version.unwrap_or(s.api_version);
        });
    }

    pub(super) fn forget_session(&self, token_hash: &str) {
        self.sessions.remove(&token_hash.to_string());
    }

    /// A user changed (disabled, deleted, new password or profile): every session
    /// entry goes, since each holds a copy of its user.
    pub(super) fn forget_users(&self) {
        self.sessions.clear();
        self.summaries.clear();
    }

    pub(super) fn forget_acls(&self) {
        self.acls.clear();
    }

    pub(super) fn acl(&self, kind: AclKind, ip: IpAddr, user: i64) -> Option<AclDecision> {
        self.acls
            .get(&(kind == AclKind::Api, ip, user), self.ttl()?)
    }

    pub(super) fn put_acl(&self, kind: AclKind, ip: IpAddr, user: i64, decision: AclDecision) {
        if let Some(ttl) = self.ttl() {
            self.acls
                .put((kind == AclKind::Api, ip, user), decision, ttl);
        }
    }

    pub(super) fn summary(&self, user: i64, admin: bool) -> Option<Summary> {
        self.summaries.get(&(user, admin), self.ttl()?)
    }

    pub(super) fn put_summary(&self, user: i64, admin: bool, summary: Summary) {
        if let Some(ttl) = self.ttl() {
            self.summaries.put((user, admin), summary, ttl);
        }
    }
}

impl Store {
    /// The totals a handshake and a ping report for this user, from a moment's
    /// memory when there is one.
    pub async fn summary(&self, user_id: i64, admin: bool) -> StoreResult<Summary> {
        if let Some(summary) = self.caches.summary(user_id, admin) {
            return Ok(summary);
        }
        let summary = Summary {
            counts: self.library_counts().await?,
            stamps: self.catalog_stamps().await?,
            playlists: self.visible_playlist_count(user_id, admin).await?,
        };
        self.caches.put_summary(user_id, admin, summary);
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let map: Fresh<u32, u32> = Fresh::new();
        map.put(1, 10, Duration::from_millis(30));
        assert_eq!(map.get(&1, Duration::from_millis(30)), Some(10));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(map.get(&1, Duration::from_millis(30)), None);
    }

    #[test]
    fn off_when_ttl_is_zero() {
        let caches = Caches::new();
        caches.put_summary(
            1,
            false,
            Summary {
                counts: LibraryCounts::default(),
                stamps: CatalogStamps::default(),
                playlists: 3,
            },
        );
        assert!(caches.summary(1, false).is_none());
    }
}
