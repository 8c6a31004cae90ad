//! Transcode profiles (what ffmpeg is asked to produce for each target format) and the
//! `[transcode]` settings of `config.toml`, with defaults that work on a stock ffmpeg.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use serde::Deserialize;

/// The `[transcode]` table of `config.toml`. Every key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscodeConfig {
    /// The ffmpeg program: a path, or a name looked up in PATH (default `ffmpeg`).
    pub ffmpeg_path: Option<PathBuf>,
    /// At most this many ffmpeg processes at once (default: 8 per core).
    pub max_processes: Option<usize>,
    /// The server-wide highest stream bitrate in kbit/s (default: none).
    pub max_bitrate: Option<i64>,
    /// The format a stream is transcoded to when only a bitrate (or a cap) asks for
    /// it (default `mp3`).
    pub default_format: Option<String>,
    /// The transcode cache's size in MiB (default 1024); least recently used first out.
    pub cache_size_mb: Option<u64>,
    /// Profiles by format name: replace a default one or add another.
    pub profiles: Option<BTreeMap<String, ProfileConfig>>,
}

/// `[transcode.profiles.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// ffmpeg's output options, between the input and `pipe:1`; `{bitrate}` is
    /// replaced by the bitrate in kbit/s (e.g. `["-c:a", "libmp3lame", "-b:a",
    /// "{bitrate}k", "-f", "mp3"]`).
    pub args: Vec<String>,
    /// The Content-Type of the output (default `application/octet-stream`).
    pub mime: Option<String>,
    /// The file name extension of the output (default: the profile's name).
    pub extension: Option<String>,
    /// The bitrate in kbit/s when the client asks none (default 192).
    pub bitrate: Option<i64>,
    /// A lossless target: no bitrate; a bitrate cap makes streams use the default
    /// format instead.
    pub lossless: Option<bool>,
}

/// How one target format is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// Which sources already are this format ("aac" for both aac and m4a), so that
    /// they can be served as they are.
    pub family: String,
    pub args: Vec<String>,
    pub mime: String,
    pub extension: String,
    /// kbit/s when the client asks none.
    pub default_bitrate: i64,
    pub lossless: bool,
}

impl Profile {
    /// ffmpeg's output options with the bitrate filled in.
    pub fn output_args(&self, kbps: i64) -> Vec<String> {
        self.args
            .iter()
            .map(|arg| arg.replace("{bitrate}", &kbps.to_string()))
            .collect()
    }
}

/// What a running server uses.
#[derive(Debug, Clone)]
pub struct TranscodeSettings {
    pub ffmpeg: PathBuf,
    pub max_processes: usize,
    /// kbit/s; 0 is no limit.
    pub max_bitrate: i64,
    pub default_format: String,
    pub cache_bytes: u64,
    pub profiles: BTreeMap<String, Profile>,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn profile(name: &str, family: &str, mime: &str, ext: &str, kbps: i64, args: &[&str]) -> Profile {
    Profile {
        name: name.into(),
        family: family.into(),
        args: strings(args),
        mime: mime.into(),
        extension: ext.into(),
        default_bitrate: kbps,
        lossless: kbps == 0,
    }
}

/// The profiles a stock Debian ffmpeg can run. `ogg` is Vorbis, which more players
/// decode than Opus; MP4 output is fragmented, the only MP4 a pipe can carry.
fn default_profiles() -> BTreeMap<String, Profile> {
    let lossy = |codec: &'static str, muxer: &'static str| -> Vec<&'static str> {
        vec!["-c:a", codec, "-b:a", "{bitrate}k", "-f", muxer]
    };
    let mut m4a = lossy("aac", "mp4");
    m4a.splice(
        4..4,
        ["-movflags", "frag_keyframe+empty_moov+default_base_moof"],
    );
    [
        profile(
            "mp3",
            "mp3",
            "audio/mpeg",
            "mp3",
            192,
            &lossy("libmp3lame", "mp3"),
        ),
        profile(
            "ogg",
            "ogg",
            "audio/ogg",
            "ogg",
            192,
            &lossy("libvorbis", "ogg"),
        ),
        profile(
            "opus",
            "opus",
            "audio/ogg",
            "opus",
            128,
            &lossy("libopus", "ogg"),
        ),
        profile("aac", "aac", "audio/aac", "aac", 192, &lossy("aac", "adts")),
        profile("m4a", "aac", "audio/mp4", "m4a", 192, &m4a),
        profile(
            "flac",
            "flac",
            "audio/flac",
            "flac",
            0,
            &["-c:a", "flac", "-f", "flac"],
        ),
    ]
    .into_iter()
    .map(|p| (p.name.clone(), p))
    .collect()
}

/// A format name as clients write it, folded onto a profile's: `MP3` → `mp3`,
/// `oga`/`vorbis` → `ogg`, `mp4` → `m4a`.
pub fn normalize_format(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "oga" | "vorbis" => "ogg".into(),
        "mp4" => "m4a".into(),
        _ => name,
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 16 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl TranscodeSettings {
    pub fn defaults() -> TranscodeSettings {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        TranscodeSettings {
            ffmpeg: PathBuf::from("ffmpeg"),
            // A transcode runs tens of times faster than real time (8 at once on 2
            // cores: each ~30×, docs/benchmarks.md) and yields the CPU to newer ones
            // once it is well ahead, so a core keeps many listeners fed.
            max_processes: (cores * 8).max(4),
            max_bitrate: 0,
            default_format: "mp3".into(),
            cache_bytes: 1024 * 1024 * 1024,
            profiles: default_profiles(),
        }
    }

    /// The settings with the file's `[transcode]` table applied.
    pub fn with_config(mut self, config: &TranscodeConfig) -> anyhow::Result<TranscodeSettings> {
        if let Some(path) = &config.ffmpeg_path {
            self.ffmpeg = path.clone();
        }
        if let Some(n) = config.max_processes {
            if n == 0 {
                bail!("transcode.max_processes must be at least 1");
            }
            self.max_processes = n;
        }
        if let Some(kbps) = config.max_bitrate {
            self.max_bitrate = kbps.max(0);
        }
        if let Some(mb) = config.cache_size_mb {
            self.cache_bytes = mb.saturating_mul(1024 * 1024);
        }
        for (name, given) in config.profiles.iter().flatten() {
            let name = normalize_format(name);
            if !valid_name(&name) || name == "raw" {
                bail!(
                    "transcode profile {name:?}: a name is up to 16 letters or digits, not `raw`"
                );
            }
            if given.args.is_empty() {
                bail!("transcode profile {name:?} has no args");
            }
            let old = self.profiles.get(&name);
            let lossless = given.lossless.unwrap_or(false);
            let profile = Profile {
                family: old
                    .map(|p| p.family.clone())
                    .unwrap_or_else(|| name.clone()),
                args: given.args.clone(),
                mime: given
                    .mime
                    .clone()
                    .or_else(|| old.map(|p| p.mime.clone()))
                    .unwrap_or_else(|| "application/octet-stream".into()),
                extension: given
                    .extension
                    .clone()
                    .or_else(|| old.map(|p| p.extension.clone()))
                    .unwrap_or_else(|| name.clone()),
                default_bitrate: if lossless {
                    0
                } else {
                    given.bitrate.unwrap_or(192).max(8)
                },
                lossless,
                name: name.clone(),
            };
            self.profiles.insert(name, profile);
        }
        if let Some(format) = &config.default_format {
            self.default_format = normalize_format(format);
        }
        match self.profiles.get(&self.default_format) {
            Some(p) if !p.lossless => {}
            _ => bail!(
                "transcode.default_format {:?} must name a lossy profile",
                self.default_format
            ),
        }
        Ok(self)
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(&normalize_format(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let settings = TranscodeSettings::defaults();
        let mp3 = settings.profile("MP3").unwrap();
        assert_eq!(
            mp3.output_args(128),
            ["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"]
        );
        assert_eq!(settings.profile("oga").unwrap().name, "ogg");
        assert_eq!(settings.profile("mp4").unwrap().family, "aac");
        assert!(settings.profile("flac").unwrap().lossless);

        let config: TranscodeConfig = toml::from_str(
            r#"
            ffmpeg_path = "/opt/ffmpeg/bin/ffmpeg"
            max_processes = 3
            max_bitrate = 160
            default_format = "ogg"
            cache_size_mb = 10
            [profiles.mp3]
            args = ["-c:a", "libshine", "-b:a", "{bitrate}k", "-f", "mp3"]
            bitrate = 128
            [profiles.wav]
            args = ["-c:a", "pcm_s16le", "-f", "wav"]
            mime = "audio/wav"
            lossless = true
            "#,
        )
        .unwrap();
        let settings = TranscodeSettings::defaults().with_config(&config).unwrap();
        assert_eq!(settings.max_processes, 3);
        assert_eq!(settings.max_bitrate, 160);
        assert_eq!(settings.cache_bytes, 10 * 1024 * 1024);
        let mp3 = settings.profile("mp3").unwrap();
        assert_eq!(mp3.default_bitrate, 128);
        assert_eq!(mp3.mime, "audio/mpeg");
        assert_eq!(mp3.args[1], "libshine");
        let wav = settings.profile("wav").unwrap();
        assert!(wav.lossless);
        assert_eq!(wav.extension, "wav");

        let bad: TranscodeConfig = toml::from_str(r#"default_format = "flac""#).unwrap();
        assert!(TranscodeSettings::defaults().with_config(&bad).is_err());
    }
}
