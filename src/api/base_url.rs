//! The base URL put in front of every stream and art URL a response carries. Those
//! URLs embed the caller's session token, so the host in them must be one the
//! operator vouches for: a `Host: evil.example` header must never send a client's
//! token to evil.example.
//!
//! In order: the configured public URL; `X-Forwarded-Host`/`-Proto` when the request
//! comes from a configured trusted proxy; the `Host` header when it names a configured
//! trusted host or the very address the connection arrived on; else that address.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, HeaderMap};

/// Which hosts and proxies the operator trusts (from the settings).
#[derive(Debug, Clone, Default)]
pub struct Trust<'a> {
    pub public_url: Option<&'a str>,
    /// `host` (any port) or `host:port`, lower case.
    pub hosts: &'a [String],
    pub proxies: &'a [IpRange],
}

/// An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(text: &str) -> Option<IpRange> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpRange { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (network, ip, bits) = match (self.network, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        if shift >= bits {
            return true;
        }
        (network >> shift) == (ip >> shift)
    }
}

/// The base URL (scheme, host, port; no trailing slash) for this request.
pub fn base_url(trust: &Trust<'_>, headers: &HeaderMap, peer: IpAddr, local: SocketAddr) -> String {
    if let Some(url) = trust.public_url {
        return url.to_string();
    }
    let peer = peer.to_canonical();
    if trust.proxies.iter().any(|range| range.contains(peer)) {
        if let Some(host) = first_value(headers, "x-forwarded-host").filter(|h| valid_host(h)) {
            let scheme = match first_value(headers, "x-forwarded-proto") {
                Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
                _ => "http",
            };
            return format!("{scheme}://{host}");
        }
    }
    if let Some(host) = first_value(headers, header::HOST.as_str()).filter(|h| valid_host(h)) {
        if trusted_host(trust, host) || names_this_socket(host, local) {
            return format!("http://{host}");
        }
    }
    format!(
        "http://{}",
        SocketAddr::new(local.ip().to_canonical(), local.port())
    )
}

fn first_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers.get(name)?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// A host, with an optional port: letters, digits, dots, dashes, and brackets and
/// colons for IPv6 literals. Anything else (a path, user info, spaces) is refused.
fn valid_host(host: &str) -> bool {
    host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
}

/// Splits `host[:port]` (`[v6]:port` for IPv6 literals).
fn split_host(host: &str) -> (&str, Option<&str>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((address, tail)) => (address, tail.strip_prefix(':')),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, Some(port)),
        _ => (host, None),
    }
}

fn trusted_host(trust: &Trust<'_>, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let (name, _) = split_host(&host);
    trust
        .hosts
        .iter()
        .any(|entry| *entry == host || (split_host(entry).1.is_none() && entry == name))
}

/// The host names the address and port the connection arrived on (or `localhost` on
/// a loopback connection): a client that reached us there, sent there.
fn names_this_socket(host: &str, local: SocketAddr) -> bool {
    let (name, port) = split_host(host);
    let port_matches = match port {
        Some(port) => port.parse::<u16>().ok() == Some(local.port()),
        None => local.port() == 80,
    };
    let local_ip = local.ip().to_canonical();
    let name_matches = match name.parse::<IpAddr>() {
        Ok(ip) => ip.to_canonical() == local_ip,
        Err(_) => name.eq_ignore_ascii_case("localhost") && local_ip.is_loopback(),
    };
    port_matches && name_matches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const LOCAL: &str = "192.168.1.5:4040";
    const CLIENT: &str = "192.168.1.20";

    fn url(trust: &Trust<'_>, pairs: &[(&'static str, &str)], peer: &str) -> String {
        base_url(
            trust,
            &headers(pairs),
            peer.parse().unwrap(),
            LOCAL.parse().unwrap(),
        )
    }

    #[test]
    fn a_foreign_host_header_is_ignored() {
        let trust = Trust::default();
        assert_eq!(
            url(&trust, &[("host", "evil.example")], CLIENT),
            "http://192.168.1.5:4040"
        );
        assert_eq!(
            url(&trust, &[("host", "192.168.1.5:4040")], CLIENT),
            "http://192.168.1.5:4040"
        );
        assert_eq!(
            url(&trust, &[("host", "192.168.1.5:9999")], CLIENT),
            "http://192.168.1.5:4040"
        );
        // Forwarded headers from anyone but a trusted proxy count for nothing.
        assert_eq!(
            url(&trust, &[("x-forwarded-host", "evil.example")], CLIENT),
            "http://192.168.1.5:4040"
        );
    }

    #[test]
    fn trusted_hosts_and_proxies() {
        let hosts = vec!["music.home".to_string(), "nas:8080".to_string()];
        let proxies = vec![IpRange::parse("10.0.0.0/8").unwrap()];
        let trust = Trust {
            public_url: None,
            hosts: &hosts,
            proxies: &proxies,
        };
        assert_eq!(
            url(&trust, &[("host", "Music.Home:4040")], CLIENT),
            "http://Music.Home:4040"
        );
        assert_eq!(
            url(&trust, &[("host", "nas:8080")], CLIENT),
            "http://nas:8080"
        );
        assert_eq!(
            url(&trust, &[("host", "nas:8081")], CLIENT),
            "http://192.168.1.5:4040"
        );
        let forwarded = [
            ("x-forwarded-host", "music.example.org"),
            ("x-forwarded-proto", "https"),
            ("host", "evil.example"),
        ];
        assert_eq!(
            url(&trust, &forwarded, "10.1.2.3"),
            "https://music.example.org"
        );
        assert_eq!(url(&trust, &forwarded, CLIENT), "http://192.168.1.5:4040");
        let public = Trust {
            public_url: Some("https://tunes.example"),
            ..trust
        };
        assert_eq!(
            url(&public, &forwarded, "10.1.2.3"),
            "https://tunes.example"
        );
    }

    #[test]
    fn ranges() {
        let v4 = IpRange::parse("127.0.0.1").unwrap();
        assert!(v4.contains("127.0.0.1".parse().unwrap()));
        assert!(v4.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!v4.contains("127.0.0.2".parse().unwrap()));
        assert!(IpRange::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpRange::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        assert!(IpRange::parse("10.0.0.0/33").is_none());
        assert!(IpRange::parse("nonsense").is_none());
    }
}
