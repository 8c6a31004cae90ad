//! Failed handshakes slow down, then stop, the guessing of passwords and keys.
//!
//! Failures are counted per client address and per user name, in the store (every
//! process on one database counts together). After `delay_after` failures each new
//! failure is answered late (250 ms, doubling, at most 8 s); at `lockout_after`:
//! - the address is refused (without looking at its credentials) until `window`
//!   seconds have passed since its last failure;
//! - the user name is refused from every address that has failed too. An address
//!   with no failure still has its credentials checked, so the real user logging in
//!   from elsewhere is never locked out; an attacker spread over many addresses gets
//!   one guess per address per window.
//!
//! A success forgets the failures of its address and its user name.
//!
//! The address is the peer's, or behind a reverse proxy listed in `trusted_proxies`
//! the client's as the proxy reports it in `X-Forwarded-For`, so that everyone
//! behind one proxy is not counted (and locked out) as one.

use std::net::IpAddr;
use std::time::Duration;

use super::error::ApiError;
use super::Request;
use crate::store::now;
use crate::store::throttle::{address_key, user_key, Failures};

/// The limits, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures answered at once before the delay starts.
    pub delay_after: i64,
    /// Failures after which handshakes are refused for `window`.
    pub lockout_after: i64,
    /// Seconds after the last failure when the failures are forgotten.
    pub window: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            delay_after: 3,
            lockout_after: 10,
            window: 900,
        }
    }
}

const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);

/// The delay before answering the `count`th failure.
pub fn delay(limits: &Limits, count: i64) -> Duration {
    let over = count - limits.delay_after;
    if over <= 0 {
        return Duration::ZERO;
    }
    let doubled = FIRST_DELAY.saturating_mul(1u32 << (over - 1).min(16) as u32);
    doubled.min(MAX_DELAY)
}

/// One handshake's throttle: which keys it counts under and what they hold.
pub struct Guard {
    address: String,
    user: Option<String>,
    address_failures: Failures,
    user_failures: Failures,
}

impl Guard {
    /// Reads the counts; refuses the handshake when its address, or its user name
    /// from an address that failed too, is locked.
    pub async fn check(request: &Request<'_>, username: Option<&str>) -> Result<Guard, ApiError> {
        let limits = &request.state.settings.login_limits;
        let store = &request.state.store;
        let since = now() - limits.window;
        let address = address_key(client_address(request));
        let user = username.map(user_key);
        let address_failures = store.login_failures(&address, since).await?;
        let user_failures = match &user {
            Some(key) => store.login_failures(key, since).await?,
            None => Failures::default(),
        };
        let guard = Guard {
            address,
            user,
            address_failures,
            user_failures,
        };
        let locked = guard.address_failures.count >= limits.lockout_after
            || (guard.user_failures.count >= limits.lockout_after
                && guard.address_failures.count > 0);
        if locked {
            tracing::info!(ip = %request.ip, user = ?username, "handshake refused: too many failures");
            return Err(ApiError::too_many_failures());
        }
        Ok(guard)
    }

    fn keys(&self) -> Vec<String> {
        std::iter::once(self.address.clone())
            .chain(self.user.clone())
            .collect()
    }

    /// Counts the failure, then waits the delay it has earned.
    pub async fn failed(self, request: &Request<'_>) -> Result<(), ApiError> {
        let limits = &request.state.settings.login_limits;
        request
            .state
            .store
            .record_login_failure(&self.keys(), now() - limits.window)
            .await?;
        let count = (self.address_failures.count + 1).max(self.user_failures.count + 1);
        tokio::time::sleep(delay(limits, count)).await;
        Ok(())
    }

    pub async fn succeeded(self, request: &Request<'_>) -> Result<(), ApiError> {
        if self.address_failures.count > 0 || self.user_failures.count > 0 {
            request
                .state
                .store
                .clear_login_failures(&self.keys())
                .await?;
        }
        Ok(())
    }
}

/// The client's address: the peer, or when the peer is a trusted proxy, the last
/// address of `X-Forwarded-For` (read from the right, as proxies append) that is not
/// a trusted proxy itself. Anything unreadable stops the walk where it is.
pub fn client_address(request: &Request<'_>) -> IpAddr {
    let proxies = &request.state.settings.trusted_proxies;
    let trusted = |ip: IpAddr| proxies.iter().any(|range| range.contains(ip));
    let mut client = request.ip;
    if !trusted(client) {
        return client;
    }
    let headers = request.headers.get_all("x-forwarded-for");
    for value in headers.iter().rev() {
        let Ok(text) = value.to_str() else {
            return client;
        };
        for part in text.rsplit(',') {
            let Ok(ip) = part.trim().parse::<IpAddr>() else {
                return client;
            };
            client = ip.to_canonical();
            if !trusted(client) {
                return client;
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_growing() {
        let limits = Limits::default();
        assert_eq!(delay(&limits, 1), Duration::ZERO);
        assert_eq!(delay(&limits, 3), Duration::ZERO);
        assert_eq!(delay(&limits, 4), Duration::from_millis(250));
        assert_eq!(delay(&limits, 5), Duration::from_millis(500));
        assert_eq!(delay(&limits, 60), MAX_DELAY);
    }
}
