//! Art and artist information from outside the library: the metadata services
//! (MusicBrainz, the Cover Art Archive, Last.fm), each behind its own small client,
//! and the local files that are always looked at first.
//!
//! Which services are used, and where they are, is configuration: nothing is asked
//! of any service unless it is listed, so a server never talks to the internet
//! without being told to.

pub mod coverart;
pub mod http;
pub mod lastfm;
pub mod local;
pub mod musicbrainz;
pub mod saved;
pub mod update;

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

pub const DEFAULT_MUSICBRAINZ_URL: &str = "https://musicbrainz.org";
pub const DEFAULT_COVERART_URL: &str = "https://coverartarchive.org";
pub const DEFAULT_LASTFM_URL: &str = "https://ws.audioscrobbler.com/2.0/";
/// Seconds a request to a service may take, body included.
pub const DEFAULT_TIMEOUT: f64 = 10.0;

/// The `[metadata]` table of `config.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataFile {
    pub providers: Option<Vec<String>>,
    pub musicbrainz_url: Option<String>,
    pub coverart_url: Option<String>,
    pub lastfm_url: Option<String>,
    pub lastfm_api_key: Option<String>,
    pub timeout: Option<f64>,
    pub contact: Option<String>,
}

/// The `serve` flags (each also a `TONEARM_*` variable) that override the file.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct MetadataArgs {
    /// Metadata services to use for update_art, update_artist_info and get_similar:
    /// musicbrainz, coverartarchive, lastfm (comma-separated; default none).
    #[arg(
        long = "metadata-providers",
        env = "TONEARM_METADATA_PROVIDERS",
        value_delimiter = ','
    )]
    pub providers: Vec<String>,
    /// Base URL of the MusicBrainz web service.
    #[arg(long, env = "TONEARM_MUSICBRAINZ_URL")]
    pub musicbrainz_url: Option<String>,
    /// Base URL of the Cover Art Archive.
    #[arg(long, env = "TONEARM_COVERART_URL")]
    pub coverart_url: Option<String>,
    /// URL of the Last.fm API endpoint.
    #[arg(long, env = "TONEARM_LASTFM_URL")]
    pub lastfm_url: Option<String>,
    /// Last.fm API key (required when lastfm is a provider).
    #[arg(long, env = "TONEARM_LASTFM_API_KEY", hide_env_values = true)]
    pub lastfm_api_key: Option<String>,
    /// Seconds a request to a metadata service may take.
    #[arg(long, env = "TONEARM_METADATA_TIMEOUT")]
    pub metadata_timeout: Option<f64>,
    /// Contact (e-mail or URL) sent in the User-Agent, as MusicBrainz asks.
    #[arg(long, env = "TONEARM_METADATA_CONTACT")]
    pub metadata_contact: Option<String>,
}

/// Last.fm's endpoint and the key every call carries.
#[derive(Debug, Clone)]
pub struct LastfmSettings {
    pub url: String,
    pub api_key: String,
}

/// The services in use, resolved from the flags and the file.
#[derive(Debug, Clone)]
pub struct MetadataSettings {
    pub musicbrainz: Option<String>,
    pub coverart: Option<String>,
    pub lastfm: Option<LastfmSettings>,
    pub timeout: Duration,
    pub user_agent: String,
}

impl Default for MetadataSettings {
    fn default() -> Self {
        MetadataSettings {
            musicbrainz: None,
            coverart: None,
            lastfm: None,
            timeout: Duration::from_secs_f64(DEFAULT_TIMEOUT),
            user_agent: user_agent(None),
        }
    }
}

/// MusicBrainz asks every client to name itself, its version and a contact.
fn user_agent(contact: Option<&str>) -> String {
    let contact = contact
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("self-hosted Ampache-compatible music server");
    format!("tonearm/{} ( {contact} )", env!("CARGO_PKG_VERSION"))
}

impl MetadataSettings {
    /// Flags win over the file; a provider is used only when listed.
    pub fn resolve(args: MetadataArgs, file: MetadataFile) -> anyhow::Result<MetadataSettings> {
        let providers = if args.providers.is_empty() {
            file.providers.clone().unwrap_or_default()
        } else {
            args.providers.clone()
        };
        let mut settings = MetadataSettings::default();
        let url = |flag: Option<String>, file: Option<String>, default: &str| -> String {
            flag.or(file)
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        for provider in providers.iter().map(|p| p.trim().to_ascii_lowercase()) {
            match provider.as_str() {
                "" | "none" => {}
                "musicbrainz" => {
                    settings.musicbrainz = Some(url(
                        args.musicbrainz_url.clone(),
                        file.musicbrainz_url.clone(),
                        DEFAULT_MUSICBRAINZ_URL,
                    ))
                }
                "coverartarchive" | "coverart" => {
                    settings.coverart = Some(url(
                        args.coverart_url.clone(),
                        file.coverart_url.clone(),
                        DEFAULT_COVERART_URL,
                    ))
                }
                "lastfm" => {
                    let Some(api_key) = args
                        .lastfm_api_key
                        .clone()
                        .or(file.lastfm_api_key.clone())
                        .filter(|k| !k.trim().is_empty())
                    else {
                        bail!("the lastfm metadata provider needs an API key (--lastfm-api-key or lastfm_api_key in [metadata])");
                    };
                    settings.lastfm = Some(LastfmSettings {
                        url: url(
                            args.lastfm_url.clone(),
                            file.lastfm_url.clone(),
                            DEFAULT_LASTFM_URL,
                        ),
                        api_key: api_key.trim().to_string(),
                    });
                }
                other => bail!(
                    "unknown metadata provider {other:?}: use musicbrainz, coverartarchive or lastfm"
                ),
            }
        }
        for base in [&settings.musicbrainz, &settings.coverart]
            .into_iter()
            .flatten()
            .chain(settings.lastfm.as_ref().map(|l| &l.url))
        {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                bail!("metadata service URL {base:?} must start with http:// or https://");
            }
        }
        if let Some(seconds) = args.metadata_timeout.or(file.timeout) {
            if !(0.1..=300.0).contains(&seconds) {
                bail!("the metadata timeout must be between 0.1 and 300 seconds");
            }
            settings.timeout = Duration::from_secs_f64(seconds);
        }
        settings.user_agent =
            user_agent(args.metadata_contact.as_deref().or(file.contact.as_deref()));
        Ok(settings)
    }

    pub fn any(&self) -> bool {
        self.musicbrainz.is_some() || self.coverart.is_some() || self.lastfm.is_some()
    }
}

/// What went wrong talking to a service; shown to the client in the error message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("{service} did not answer within {seconds} s")]
    Timeout { service: &'static str, seconds: f64 },
    #[error("{service} is being asked too often just now; try again later")]
    Busy { service: &'static str },
    #[error("{service} could not be reached")]
    Unreachable { service: &'static str },
    #[error("{service} answered HTTP {status}")]
    Status { service: &'static str, status: u16 },
    #[error("{service} sent an answer that cannot be read ({why})")]
    BadAnswer { service: &'static str, why: String },
    #[error("{service} refused the request: {message}")]
    Refused {
        service: &'static str,
        message: String,
    },
}

/// The services and their shared HTTP client, held by the server for its lifetime
/// so that the rate limits hold across requests.
pub struct Metadata {
    pub settings: MetadataSettings,
    pub(crate) client: http::Client,
}

impl Metadata {
    pub fn new(settings: MetadataSettings) -> anyhow::Result<Metadata> {
        let client = http::Client::new(&settings)?;
        if settings.any() {
            tracing::info!(
                musicbrainz = settings.musicbrainz.as_deref().unwrap_or("off"),
                coverart = settings.coverart.as_deref().unwrap_or("off"),
                lastfm = settings.lastfm.as_ref().map_or("off", |l| l.url.as_str()),
                "metadata providers"
            );
        }
        Ok(Metadata { settings, client })
    }

    pub fn musicbrainz(&self) -> Option<musicbrainz::MusicBrainz<'_>> {
        self.settings
            .musicbrainz
            .as_deref()
            .map(|base| musicbrainz::MusicBrainz::new(&self.client, base))
    }

    pub fn coverart(&self) -> Option<coverart::CoverArt<'_>> {
        self.settings
            .coverart
            .as_deref()
            .map(|base| coverart::CoverArt::new(&self.client, base))
    }

    pub fn lastfm(&self) -> Option<lastfm::Lastfm<'_>> {
        self.settings
            .lastfm
            .as_ref()
            .map(|s| lastfm::Lastfm::new(&self.client, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_config_file_table() {
        let file: crate::config::FileConfig = toml::from_str(
            "[metadata]\nproviders = [\"coverartarchive\", \"lastfm\"]\nlastfm_api_key = \"k\"\ntimeout = 2.5\ncontact = \"me@example.org\"\n",
        )
        .unwrap();
        let settings =
            MetadataSettings::resolve(MetadataArgs::default(), file.metadata.unwrap()).unwrap();
        assert_eq!(settings.coverart.as_deref(), Some(DEFAULT_COVERART_URL));
        assert_eq!(settings.lastfm.unwrap().url, DEFAULT_LASTFM_URL);
        assert!(settings.musicbrainz.is_none());
        assert_eq!(settings.timeout, Duration::from_millis(2500));
        assert!(settings.user_agent.contains("( me@example.org )"));
        assert!(
            toml::from_str::<crate::config::FileConfig>("[metadata]\nprovider = []\n").is_err()
        );
    }

    #[test]
    fn nothing_listed_means_no_provider() {
        let settings = MetadataSettings::resolve(
            MetadataArgs {
                musicbrainz_url: Some("http://127.0.0.1:1".into()),
                ..Default::default()
            },
            MetadataFile::default(),
        )
        .unwrap();
        assert!(!settings.any());
    }

    #[test]
    fn flags_win_and_lastfm_needs_a_key() {
        let file = MetadataFile {
            providers: Some(vec!["musicbrainz".into()]),
            musicbrainz_url: Some("http://file".into()),
            ..Default::default()
        };
        let settings = MetadataSettings::resolve(
            MetadataArgs {
                musicbrainz_url: Some("http://flag".into()),
                ..Default::default()
            },
            file.clone(),
        )
        .unwrap();
        assert_eq!(settings.musicbrainz.as_deref(), Some("http://flag"));
        assert!(settings.coverart.is_none());
        let error = MetadataSettings::resolve(
            MetadataArgs {
                providers: vec!["lastfm".into()],
                ..Default::default()
            },
            file,
        )
        .unwrap_err();
        assert!(error.to_string().contains("API key"), "{error}");
        assert!(MetadataSettings::resolve(
            MetadataArgs {
                providers: vec!["discogs".into()],
                ..Default::default()
            },
            MetadataFile::default(),
        )
        .is_err());
    }
}
