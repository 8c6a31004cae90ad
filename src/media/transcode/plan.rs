//! Deciding what to send: the file as it is, or a transcode (which profile, which
//! bitrate, from where), from what the client asked, the file, and the caps.

use super::profile::{normalize_format, Profile, TranscodeSettings};

/// What the client asked on the play URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Asked {
    /// `transcode_to` or `format`, folded (`raw` included); None when neither.
    pub format: Option<String>,
    /// kbit/s (values of 1000 and more were bit/s and are divided).
    pub bitrate: Option<i64>,
    /// Seconds to start at (`frame`).
    pub offset: f64,
    pub download: bool,
}

impl Asked {
    /// Reads the play URL's parameters; Err names the bad one.
    pub fn parse(
        get: impl Fn(&str) -> Option<String>,
        download: bool,
    ) -> Result<Asked, &'static str> {
        let format = match get("transcode_to").or_else(|| get("format")) {
            Some(f) if f.trim().is_empty() => None,
            Some(f) => {
                let f = normalize_format(&f);
                if f.len() > 16 || !f.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err("format");
                }
                Some(f)
            }
            None => None,
        };
        let bitrate = match get("bitrate") {
            Some(b) if b.trim().is_empty() => None,
            Some(b) => {
                let n: i64 = b.trim().parse().map_err(|_| "bitrate")?;
                if n < 0 {
                    return Err("bitrate");
                }
                let kbps = if n >= 1000 { n / 1000 } else { n };
                Some(kbps).filter(|k| *k > 0)
            }
            None => None,
        };
        let offset = match get("frame") {
            Some(f) if f.trim().is_empty() => 0.0,
            Some(f) => {
                let s: f64 = f.trim().parse().map_err(|_| "frame")?;
                if !s.is_finite() || s < 0.0 {
                    return Err("frame");
                }
                s
            }
            None => 0.0,
        };
        Ok(Asked {
            format,
            bitrate,
            offset,
            download,
        })
    }
}

/// The file being asked for, as far as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The family of its format (`mp3`, `ogg`, `opus`, `aac`, `flac`), None for others
    /// (or for an MP4 that is not AAC).
    pub family: Option<&'a str>,
    /// kbit/s; 0 when unknown.
    pub kbps: i64,
    pub lossless: bool,
}

/// The family of a file from its type and name (see [`Source::family`]); MP4 files
/// answer `aac` here and must be checked for ALAC by the caller.
pub fn source_family(mime: &str, path: &str) -> Option<&'static str> {
    let opus = path.to_ascii_lowercase().ends_with(".opus");
    match mime {
        "audio/mpeg" => Some("mp3"),
        "audio/flac" => Some("flac"),
        "audio/ogg" if opus => Some("opus"),
        "audio/ogg" => Some("ogg"),
        "audio/mp4" | "audio/aac" => Some("aac"),
        _ => None,
    }
}

/// Lossless source types: never "fitting" a lossy target whatever their bitrate.
pub fn lossless_mime(mime: &str) -> bool {
    matches!(
        mime,
        "audio/flac" | "audio/wav" | "audio/aiff" | "audio/x-wavpack" | "audio/x-ape"
    )
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan<'a> {
    /// The file itself, with ranges.
    Raw,
    Transcode {
        profile: &'a Profile,
        /// kbit/s (0 for a lossless profile).
        kbps: i64,
        offset: f64,
    },
}

/// The answer for `asked` about `source`, with `user_cap` (kbit/s, 0: none) and the
/// server's cap. Err(format) when the format names no profile.
///
/// The caps hold for every stream: a file above them is transcoded even when `raw`
/// or `flac` was asked. Only a download of the original (no format, or `raw`) is the
/// file itself whatever its bitrate: it is a copy of the file, not a listen.
pub fn plan<'a>(
    settings: &'a TranscodeSettings,
    asked: &Asked,
    source: Source<'_>,
    user_cap: i64,
) -> Result<Plan<'a>, String> {
    let cap = [settings.max_bitrate, user_cap]
        .into_iter()
        .filter(|c| *c > 0)
        .min();
    let wants_original = matches!(asked.format.as_deref(), None | Some("raw"));
    if asked.download && wants_original {
        return Ok(Plan::Raw);
    }
    let default = || {
        settings
            .profile(&settings.default_format)
            .expect("the default format is checked at start-up")
    };
    // A file of unknown bitrate is only taken to be above a cap when lossless.
    let above = |limit: i64| source.kbps > limit || (source.kbps == 0 && source.lossless);
    let profile = match asked.format.as_deref() {
        // A start time with no format: only ffmpeg can start there; the file's own
        // format (as near as a profile makes it) at about its own bitrate.
        None if asked.offset > 0.0 => {
            let own = source
                .family
                .and_then(|family| settings.profiles.values().find(|p| p.family == family))
                .filter(|p| !(p.lossless && cap.is_some()))
                .unwrap_or_else(default);
            let kbps = asked
                .bitrate
                .or((source.kbps > 0 && !source.lossless).then_some(source.kbps))
                .unwrap_or(own.default_bitrate);
            let kbps = cap.map_or(kbps, |c| kbps.min(c));
            return Ok(Plan::Transcode {
                profile: own,
                kbps: if own.lossless { 0 } else { kbps.max(8) },
                offset: asked.offset,
            });
        }
        None | Some("raw") => {
            // Explicitly raw: only a cap changes it. No format: a bitrate below the
            // file's asks for a transcode too (spec 7.2).
            let limit = match (asked.bitrate.filter(|_| asked.format.is_none()), cap) {
                (Some(b), Some(c)) => Some(b.min(c)),
                (b, c) => b.or(c),
            };
            match limit {
                Some(limit) if above(limit) => default(),
                _ => return Ok(Plan::Raw),
            }
        }
        Some(name) => settings.profile(name).ok_or_else(|| name.to_string())?,
    };
    let profile = if profile.lossless && cap.is_some() {
        default()
    } else {
        profile
    };
    let kbps = if profile.lossless {
        0
    } else {
        let mut kbps = asked.bitrate.unwrap_or(profile.default_bitrate);
        if let Some(cap) = cap {
            kbps = kbps.min(cap);
        }
        kbps.max(8)
    };
    let fits = source.family == Some(profile.family.as_str())
        && (profile.lossless || (!source.lossless && source.kbps > 0 && source.kbps <= kbps))
        && asked.offset <= 0.0;
    if fits {
        return Ok(Plan::Raw);
    }
    Ok(Plan::Transcode {
        profile,
        kbps,
        offset: asked.offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(format: Option<&str>, bitrate: Option<i64>) -> Asked {
        Asked {
            format: format.map(str::to_string),
            bitrate,
            offset: 0.0,
            download: false,
        }
    }

    const MP3_320: Source = Source {
        family: Some("mp3"),
        kbps: 320,
        lossless: false,
    };
    const MP3_128: Source = Source {
        family: Some("mp3"),
        kbps: 128,
        lossless: false,
    };
    const FLAC: Source = Source {
        family: Some("flac"),
        kbps: 900,
        lossless: true,
    };

    fn transcode(plan: Plan) -> (String, i64) {
        match plan {
            Plan::Transcode { profile, kbps, .. } => (profile.name.clone(), kbps),
            Plan::Raw => ("raw".into(), 0),
        }
    }

    #[test]
    fn decisions() {
        let s = TranscodeSettings::defaults();
        let t = |a: &Asked, src: Source, cap: i64| transcode(plan(&s, a, src, cap).unwrap());
        // Nothing asked: the file.
        assert_eq!(t(&asked(None, None), FLAC, 0).0, "raw");
        // A format that fits: the file; one that does not: a transcode.
        assert_eq!(t(&asked(Some("mp3"), None), MP3_128, 0).0, "raw");
        assert_eq!(
            t(&asked(Some("mp3"), Some(128)), MP3_320, 0),
            ("mp3".into(), 128)
        );
        assert_eq!(
            t(&asked(Some("mp3"), Some(128)), FLAC, 0),
            ("mp3".into(), 128)
        );
        assert_eq!(
            t(&asked(Some("ogg"), None), MP3_128, 0),
            ("ogg".into(), 192)
        );
        assert_eq!(t(&asked(Some("flac"), None), FLAC, 0).0, "raw");
        assert_eq!(
            t(&asked(Some("flac"), None), MP3_128, 0),
            ("flac".into(), 0)
        );
        // A bitrate alone: a transcode to the default format when below the file's.
        assert_eq!(t(&asked(None, Some(128)), MP3_320, 0), ("mp3".into(), 128));
        assert_eq!(t(&asked(None, Some(320)), MP3_128, 0).0, "raw");
        // Caps: the user's and the server's, whatever was asked.
        assert_eq!(
            t(&asked(Some("mp3"), Some(320)), FLAC, 64),
            ("mp3".into(), 64)
        );
        assert_eq!(t(&asked(None, None), MP3_320, 96), ("mp3".into(), 96));
        assert_eq!(
            t(&asked(Some("raw"), None), MP3_320, 96),
            ("mp3".into(), 96)
        );
        assert_eq!(t(&asked(Some("raw"), None), MP3_128, 192).0, "raw");
        assert_eq!(t(&asked(Some("flac"), None), FLAC, 96), ("mp3".into(), 96));
        let mut capped = TranscodeSettings::defaults();
        capped.max_bitrate = 64;
        assert_eq!(
            transcode(plan(&capped, &asked(Some("ogg"), Some(256)), MP3_128, 96).unwrap()),
            ("ogg".into(), 64)
        );
        // A download of the original is the file.
        let mut download = asked(None, None);
        download.download = true;
        assert_eq!(t(&download, MP3_320, 64).0, "raw");
        // An offset always needs ffmpeg.
        let mut seek = asked(Some("mp3"), None);
        seek.offset = 30.0;
        assert_eq!(t(&seek, MP3_128, 0), ("mp3".into(), 192));
        // A start time alone: the file's own format from there.
        let mut later = asked(None, None);
        later.offset = 30.0;
        assert_eq!(t(&later, MP3_128, 0), ("mp3".into(), 128));
        assert_eq!(t(&later, FLAC, 0), ("flac".into(), 0));
        assert_eq!(t(&later, FLAC, 96), ("mp3".into(), 96));
        later.format = Some("raw".into());
        assert_eq!(t(&later, MP3_128, 0).0, "raw");
        // Unknown formats are refused.
        assert!(plan(&s, &asked(Some("wma"), None), MP3_128, 0).is_err());
    }

    #[test]
    fn parsing() {
        let parse = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Asked::parse(
                |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
                false,
            )
        };
        let a = parse(&[
            ("transcode_to", "MP3"),
            ("bitrate", "192000"),
            ("frame", "12.5"),
        ])
        .unwrap();
        assert_eq!(a.format.as_deref(), Some("mp3"));
        assert_eq!(a.bitrate, Some(192));
        assert_eq!(a.offset, 12.5);
        assert_eq!(
            parse(&[("format", "oga"), ("bitrate", "96")])
                .unwrap()
                .bitrate,
            Some(96)
        );
        assert_eq!(parse(&[("bitrate", "x")]), Err("bitrate"));
        assert_eq!(parse(&[("frame", "-1")]), Err("frame"));
        assert_eq!(parse(&[("format", "../x")]), Err("format"));
    }
}
