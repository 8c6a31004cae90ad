//! Settings: command-line flags, then `TONEARM_*` environment variables (clap reads
//! both), then `config.toml` in the data folder, then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::store::Store;

/// What `config.toml` in the data folder may set. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database: Option<String>,
    pub listen: Option<String>,
    /// Where to serve Prometheus metrics; none: not served.
    pub metrics_listen: Option<String>,
    pub music: Option<Vec<PathBuf>>,
    pub video: Option<Vec<PathBuf>>,
    pub session_length: Option<i64>,
    pub api_version: Option<String>,
    pub access_control: Option<bool>,
    pub timestamp_window: Option<i64>,
    pub scan_on_start: Option<bool>,
    pub public_url: Option<String>,
    pub trusted_hosts: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub localplay: Option<crate::control::LocalplayFile>,
    pub democratic: Option<crate::control::DemocraticFile>,
    /// `[metadata]`: the metadata services (see crate::metadata).
    pub metadata: Option<crate::metadata::MetadataFile>,
    pub transcode: Option<crate::media::transcode::TranscodeConfig>,
    /// Follow the catalogs on disk: a watcher and periodic rescans.
    pub watch: Option<bool>,
    /// Seconds between periodic rescans (0: none).
    pub rescan_interval: Option<u64>,
    /// Seconds a process may answer a session from memory (0: never).
    pub session_cache: Option<u64>,
    pub login_delay_after: Option<i64>,
    pub login_lockout_after: Option<i64>,
    pub login_window: Option<i64>,
    pub http_header_timeout: Option<u64>,
    pub http_idle_timeout: Option<u64>,
    pub http_max_connections: Option<usize>,
}

impl FileConfig {
    pub fn load(data_dir: &Path) -> anyhow::Result<FileConfig> {
        let path = data_dir.join("config.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// The settings a running server uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Holds the database (SQLite), config.toml and caches (resized art).
    pub data_dir: PathBuf,
    /// The public base URL clients reach the server at (for the stream and art URLs in
    /// responses); when unset, see [`crate::api::base_url`].
    pub public_url: Option<String>,
    /// Host names (`host` or `host:port`, lower case) whose `Host` header is used for
    /// those URLs.
    pub trusted_hosts: Vec<String>,
    /// Addresses or CIDR blocks of reverse proxies whose `X-Forwarded-Host` and
    /// `X-Forwarded-Proto` are used for those URLs.
    pub trusted_proxies: Vec<crate::api::base_url::IpRange>,
    pub database_url: String,
    pub listen: SocketAddr,
    /// Where `/metrics` is served (off when None): an address of its own, so that it
    /// can stay on an admin network.
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a session lives without use.
    pub session_length: i64,
    /// The API version the handshake reports.
    pub api_version: String,
    /// Off: every API call answers 501, as Ampache does with `access_control=false`.
    pub access_control: bool,
    /// How far (seconds) a handshake timestamp may be from the server's clock.
    pub timestamp_window: i64,
    /// Localplay (MPD) and democratic play.
    pub control: crate::control::ControlSettings,
    /// Which metadata services are used, and where.
    pub metadata: crate::metadata::MetadataSettings,
    /// ffmpeg, its profiles, the caps and the transcode cache.
    pub transcode: crate::media::transcode::TranscodeSettings,
    /// Follow the catalogs on disk: a filesystem watcher and periodic rescans.
    pub watch: bool,
    /// Seconds between the periodic quick rescans (by size and mtime); 0: none.
    pub rescan_interval: u64,
    /// How long a session, an ACL decision or a ping's totals may be answered from
    /// this process's memory: the longest a goodbye or a disabled user made on
    /// another node goes unseen here (see `store::cache`).
    pub session_cache: std::time::Duration,
    /// Failed handshakes: delay, lockout, window (see `api::throttle`).
    pub login_limits: crate::api::throttle::Limits,
    /// Connection timeouts and cap (see `http`).
    pub http: crate::http::Limits,
}

/// Every 15 minutes: a rescan that finds nothing costs ~0.5 s at 100,000 files,
/// and it is what keeps catalogs that cannot be watched in step.
pub const DEFAULT_RESCAN_INTERVAL: u64 = 900;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4040";
pub const DEFAULT_API_VERSION: &str = "400004";

impl Settings {
    pub fn defaults(data_dir: &Path) -> Settings {
        Settings {
            database_url: Store::sqlite_url(data_dir),
            data_dir: data_dir.to_path_buf(),
            public_url: None,
            trusted_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            metrics_listen: None,
            session_length: 3600,
            api_version: DEFAULT_API_VERSION.into(),
            access_control: true,
            timestamp_window: 1800,
            control: crate::control::ControlSettings::default(),
            metadata: Default::default(),
            transcode: crate::media::transcode::TranscodeSettings::defaults(),
            watch: true,
            rescan_interval: DEFAULT_RESCAN_INTERVAL,
            session_cache: std::time::Duration::from_secs(2),
            login_limits: crate::api::throttle::Limits::default(),
            http: crate::http::Limits::default(),
        }
    }
}

/// The data folder: the flag or `TONEARM_DATA`, else `$XDG_DATA_HOME/tonearm`, else
/// `~/.local/share/tonearm`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("tonearm");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/share/tonearm");
    }
    PathBuf::from("tonearm-data")
}
