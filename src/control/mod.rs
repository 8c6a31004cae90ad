//! Control: playing on a device the server drives (localplay, through MPD) and the
//! democratic queue everyone votes on. Nothing here knows a protocol front.

pub mod localplay;
pub mod mpd;

use serde::Deserialize;

/// Where the localplay player is: an MPD the server sends commands to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdInstance {
    pub host: String,
    pub port: u16,
    /// MPD's `password` (empty: none).
    pub password: String,
}

/// Localplay and democratic settings.
#[derive(Debug, Clone)]
pub struct ControlSettings {
    /// None: no localplay instance, and `localplay` answers the spec's error.
    pub mpd: Option<MpdInstance>,
    /// The lowest access level that may use localplay (Ampache's `localplay_level`).
    pub localplay_level: i64,
    /// The lowest access level that may vote and devote (Ampache's democratic
    /// `level`); the queue itself is visible to every user.
    pub democratic_level: i64,
    /// The playlist whose songs the democratic stream plays while nobody has voted.
    pub democratic_base_playlist: Option<i64>,
}

pub const DEFAULT_MPD_PORT: u16 = 6600;

impl Default for ControlSettings {
    fn default() -> Self {
        ControlSettings {
            mpd: None,
            // Only admins until the operator lets others drive the speakers.
            localplay_level: 100,
            // The spec lets any user call democratic.
            democratic_level: 0,
            democratic_base_playlist: None,
        }
    }
}

/// `[localplay]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalplayFile {
    pub mpd_host: Option<String>,
    pub mpd_port: Option<u16>,
    pub mpd_password: Option<String>,
    pub level: Option<i64>,
}

/// `[democratic]` in config.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemocraticFile {
    pub level: Option<i64>,
    pub base_playlist: Option<i64>,
}

/// The flags of `serve` for localplay and democratic play.
#[derive(clap::Args, Debug, Default)]
pub struct ControlArgs {
    /// Host of the MPD that localplay controls (enables localplay).
    #[arg(long, env = "TONEARM_MPD_HOST")]
    pub mpd_host: Option<String>,
    /// Port of that MPD (default 6600).
    #[arg(long, env = "TONEARM_MPD_PORT")]
    pub mpd_port: Option<u16>,
    /// MPD's password, if it has one.
    #[arg(long, env = "TONEARM_MPD_PASSWORD", hide_env_values = true)]
    pub mpd_password: Option<String>,
    /// Lowest access level allowed to use localplay (0-100; default 100, admins).
    #[arg(long, env = "TONEARM_LOCALPLAY_LEVEL")]
    pub localplay_level: Option<i64>,
    /// Lowest access level allowed to vote in democratic play (default 0, everyone).
    #[arg(long, env = "TONEARM_DEMOCRATIC_LEVEL")]
    pub democratic_level: Option<i64>,
    /// Playlist id the democratic stream plays from while the queue is empty.
    #[arg(long, env = "TONEARM_DEMOCRATIC_BASE_PLAYLIST")]
    pub democratic_base_playlist: Option<i64>,
}

impl ControlArgs {
    /// The settings: flags (and environment) first, then the config file's sections.
    pub fn settings(
        &self,
        localplay: Option<&LocalplayFile>,
        democratic: Option<&DemocraticFile>,
    ) -> anyhow::Result<ControlSettings> {
        let empty_localplay = LocalplayFile::default();
        let empty_democratic = DemocraticFile::default();
        let lp = localplay.unwrap_or(&empty_localplay);
        let demo = democratic.unwrap_or(&empty_democratic);
        let mut settings = ControlSettings::default();
        let host = self
            .mpd_host
            .clone()
            .or_else(|| lp.mpd_host.clone())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        if let Some(host) = host {
            settings.mpd = Some(MpdInstance {
                host,
                port: self.mpd_port.or(lp.mpd_port).unwrap_or(DEFAULT_MPD_PORT),
                password: self
                    .mpd_password
                    .clone()
                    .or_else(|| lp.mpd_password.clone())
                    .unwrap_or_default(),
            });
        } else if self.mpd_port.is_some() || lp.mpd_port.is_some() {
            anyhow::bail!(
                "an MPD port is set but no MPD host: set --mpd-host (or mpd_host in [localplay])"
            );
        }
        let level = |value: Option<i64>, default: i64, name: &str| -> anyhow::Result<i64> {
            match value {
                None => Ok(default),
                Some(v) if (0..=100).contains(&v) => Ok(v),
                Some(v) => anyhow::bail!("{name} {v} is not an access level from 0 to 100"),
            }
        };
        settings.localplay_level = level(
            self.localplay_level.or(lp.level),
            settings.localplay_level,
            "the localplay level",
        )?;
        settings.democratic_level = level(
            self.democratic_level.or(demo.level),
            settings.democratic_level,
            "the democratic level",
        )?;
        settings.democratic_base_playlist = self.democratic_base_playlist.or(demo.base_playlist);
        Ok(settings)
    }
}
