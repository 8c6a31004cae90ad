//! Reading a video file: duration, picture size, codecs and bit rate from its
//! container, and the poster it shows.
//!
//! MP4/M4V/MOV go through Mozilla's `mp4parse` (only the `moov` box is read: the
//! box walk seeks past the media data, so a 4 GB film costs a few reads), Matroska
//! and WebM through `matroska` (which follows the file's seek head). What neither
//! reads (AVI, MPEG, WMV, Ogg, or a codec the crate does not name) is asked of
//! `ffprobe`; when ffprobe is not installed the video is still listed and
//! playable, with size and type only, and the log says once what is missing.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::{VideoArt, VideoInfo};

/// A `moov` box larger than this is not a real one (a two-hour film's is ~5 MB).
const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// Whether the missing-ffprobe warning was logged already.
static FFPROBE_MISSING_TOLD: AtomicBool = AtomicBool::new(false);

/// Everything the scanner stores of a video. Never fails: an unreadable container
/// gives a video with what the file name and size tell.
pub fn read_video(path: &Path, size: u64, title: String, mime: &'static str) -> VideoInfo {
    let mut info = VideoInfo {
        title,
        mime,
        ..VideoInfo::default()
    };
    let ext = super::tags::extension(path);
    // A parser that panics on a damaged file costs that file its details, not the
    // scan (a panic on a reader thread fails the whole scan).
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut read = info.clone();
        let outcome = match ext.as_str() {
            "mp4" | "m4v" | "mov" => read_mp4(path, &mut read),
            "mkv" | "webm" => read_matroska(path, &mut read),
            _ => Err("no container reader for this type".to_string()),
        };
        outcome.map(|()| read)
    }))
    .unwrap_or_else(|_| Err("the container parser failed".to_string()));
    let parsed = match parsed {
        Ok(read) => {
            info = read;
            Ok(())
        }
        Err(why) => Err(why),
    };
    let complete = parsed.is_ok() && !info.video_codec.is_empty() && info.duration > 0.0;
    if !complete {
        if let Err(why) = &parsed {
            tracing::debug!(path = %path.display(), "container not read ({why}); asking ffprobe");
        }
        match ffprobe(path) {
            Ok(probed) => merge(&mut info, probed),
            Err(FfprobeError::Missing) => {
                if !FFPROBE_MISSING_TOLD.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        path = %path.display(),
                        "ffprobe is not installed: videos tonearm cannot read itself (AVI, MPEG, \
                         WMV, Ogg, some codecs) are listed without duration, resolution or codecs; \
                         install ffmpeg and rescan with --full to fill them in"
                    );
                }
            }
            Err(FfprobeError::Failed(why)) => {
                tracing::warn!(path = %path.display(), "cannot read video details: {why}");
            }
        }
    }
    if info.bitrate == 0 && info.duration > 0.0 {
        info.bitrate = (size as f64 * 8.0 / info.duration).round() as i64;
    }
    if info.art.is_none() {
        info.art = poster_beside(path);
    }
    info
}

/// What a second reader found fills what the first left empty.
fn merge(info: &mut VideoInfo, other: VideoInfo) {
    if info.duration <= 0.0 {
        info.duration = other.duration;
    }
    if info.width == 0 || info.height == 0 {
        info.width = other.width;
        info.height = other.height;
    }
    if info.video_codec.is_empty() {
        info.video_codec = other.video_codec;
    }
    if info.audio_codec.is_empty() {
        info.audio_codec = other.audio_codec;
    }
    if info.bitrate == 0 {
        info.bitrate = other.bitrate;
    }
}

/// A poster image beside the video: `<name>.jpg`, `<name>-poster.jpg` (Kodi's
/// name), then the folder's `poster.jpg` (a film in its own folder); `.jpeg` and
/// `.png` too.
pub fn poster_beside(path: &Path) -> Option<VideoArt> {
    let folder = path.parent()?;
    let stem = path.file_stem()?.to_str()?;
    let mut names = Vec::with_capacity(9);
    for base in [
        stem.to_string(),
        format!("{stem}-poster"),
        "poster".to_string(),
    ] {
        for ext in ["jpg", "jpeg", "png"] {
            names.push(format!("{base}.{ext}"));
        }
    }
    names.into_iter().find_map(|name| {
        let candidate = folder.join(&name);
        let is_file = std::fs::metadata(&candidate).is_ok_and(|m| m.is_file());
        let path = candidate.to_str()?.to_string();
        is_file.then(|| VideoArt {
            mime: Some(if name.ends_with(".png") {
                "image/png"
            } else {
                "image/jpeg"
            }),
            path,
            embedded: false,
        })
    })
}

fn read_mp4(path: &Path, info: &mut VideoInfo) -> Result<(), String> {
    let moov = moov_box(path).map_err(|e| e.to_string())?;
    let context =
        mp4parse::read_mp4(&mut std::io::Cursor::new(moov)).map_err(|e| format!("mp4: {e:?}"))?;
    // The picture's length: an AAC track also counts its encoder delay (2.046 s of
    // track for 2 s of film), which players hide through the edit list.
    let (mut picture, mut longest): (f64, f64) = (0.0, 0.0);
    for track in context.tracks.iter() {
        if let (Some(length), Some(scale)) = (track.duration, track.timescale) {
            if scale.0 > 0 {
                let seconds = length.0 as f64 / scale.0 as f64;
                longest = longest.max(seconds);
                if track.track_type == mp4parse::TrackType::Video {
                    picture = picture.max(seconds);
                }
            }
        }
        let Some(stsd) = &track.stsd else { continue };
        for entry in stsd.descriptions.iter() {
            match entry {
                mp4parse::SampleEntry::Video(video) if info.video_codec.is_empty() => {
                    info.video_codec = mp4_codec(video.codec_type).to_string();
                    info.width = u32::from(video.width);
                    info.height = u32::from(video.height);
                }
                mp4parse::SampleEntry::Audio(audio) if info.audio_codec.is_empty() => {
                    info.audio_codec = mp4_codec(audio.codec_type).to_string();
                }
                _ => {}
            }
        }
        // A codec mp4parse does not know (HEVC, ProRes…): the picture size is in the
        // track header all the same (16.16 fixed point).
        if track.track_type == mp4parse::TrackType::Video && info.width == 0 {
            if let Some(tkhd) = &track.tkhd {
                info.width = tkhd.width >> 16;
                info.height = tkhd.height >> 16;
            }
        }
    }
    info.duration = if picture > 0.0 { picture } else { longest };
    let has_cover = context
        .userdata
        .as_ref()
        .and_then(|u| u.as_ref().ok())
        .and_then(|u| u.meta.as_ref())
        .and_then(|m| m.cover_art.as_ref())
        .is_some_and(|covers| !covers.is_empty());
    if has_cover {
        info.art = Some(VideoArt {
            path: path.to_str().unwrap_or_default().to_string(),
            embedded: true,
            mime: None,
        });
    }
    Ok(())
}

/// The bytes of the top-level `moov` box, found by walking the top-level boxes and
/// seeking past the others (`mdat` is most of the file, before or after `moov`).
fn moov_box(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = crate::files::open_regular(path)?;
    let length = file.metadata()?.len();
    let mut at = 0u64;
    while at + 8 <= length {
        file.seek(SeekFrom::Start(at))?;
        let mut head = [0u8; 8];
        file.read_exact(&mut head)?;
        let mut size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let mut header = 8;
        if size == 1 {
            let mut large = [0u8; 8];
            file.read_exact(&mut large)?;
            size = u64::from_be_bytes(large);
            header = 16;
        } else if size == 0 {
            size = length - at;
        }
        if size < header {
            break;
        }
        if &head[4..8] == b"moov" {
            if size > MAX_MOOV_BYTES {
                break;
            }
            file.seek(SeekFrom::Start(at))?;
            let mut moov = vec![0u8; size as usize];
            file.read_exact(&mut moov)?;
            return Ok(moov);
        }
        at += size;
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "no moov box",
    ))
}

/// Codec names as ffprobe gives them, so every reader stores the same words.
fn mp4_codec(codec: mp4parse::CodecType) -> &'static str {
    use mp4parse::CodecType::*;
    match codec {
        H264 => "h264",
        MP4V => "mpeg4",
        AV1 => "av1",
        VP9 => "vp9",
        VP8 => "vp8",
        H263 => "h263",
        AAC => "aac",
        MP3 => "mp3",
        FLAC => "flac",
        Opus => "opus",
        ALAC => "alac",
        LPCM => "pcm",
        _ => "",
    }
}

fn read_matroska(path: &Path, info: &mut VideoInfo) -> Result<(), String> {
    let file = crate::files::open_regular(path).map_err(|e| std::io::Error::from(e).to_string())?;
    let mkv = matroska::Matroska::open(std::io::BufReader::new(file))
        .map_err(|e| format!("matroska: {e}"))?;
    info.duration = mkv.info.duration.map(|d| d.as_secs_f64()).unwrap_or(0.0);
    if cover_attachment(&mkv).is_some() {
        info.art = Some(VideoArt {
            path: path.to_str().unwrap_or_default().to_string(),
            embedded: true,
            mime: None,
        });
    }
    for track in &mkv.tracks {
        match &track.settings {
            matroska::Settings::Video(video) if info.video_codec.is_empty() => {
                info.video_codec = matroska_codec(&track.codec_id);
                info.width = video.pixel_width as u32;
                info.height = video.pixel_height as u32;
            }
            matroska::Settings::Audio(_) if info.audio_codec.is_empty() => {
                info.audio_codec = matroska_codec(&track.codec_id);
            }
            _ => {}
        }
    }
    Ok(())
}

/// A Matroska file's poster: the image attachment named `cover.*` (the Matroska
/// convention; `small_cover`, `cover_land` are its variants), else the first image.
fn cover_attachment(mkv: &matroska::Matroska) -> Option<&matroska::Attachment> {
    let images = || {
        mkv.attachments
            .iter()
            .filter(|a| a.mime_type.starts_with("image/") && !a.data.is_empty())
    };
    images()
        .find(|a| a.name.to_ascii_lowercase().starts_with("cover."))
        .or_else(|| images().next())
}

/// The bytes of a Matroska/WebM file's poster, for the art endpoints.
pub fn matroska_cover(path: &Path) -> Option<Vec<u8>> {
    let file = crate::files::open_regular(path).ok()?;
    match matroska::Matroska::open(std::io::BufReader::new(file)) {
        Ok(mkv) => cover_attachment(&mkv).map(|a| a.data.clone()),
        Err(e) => {
            tracing::warn!("cannot read the attachments of {}: {e}", path.display());
            None
        }
    }
}

/// Matroska codec ids (`V_MPEG4/ISO/AVC`) as ffprobe's names.
fn matroska_codec(id: &str) -> String {
    let name = match id {
        "V_MPEG4/ISO/AVC" => "h264",
        "V_MPEGH/ISO/HEVC" => "hevc",
        "V_VP8" => "vp8",
        "V_VP9" => "vp9",
        "V_AV1" => "av1",
        "V_THEORA" => "theora",
        "V_MPEG1" => "mpeg1video",
        "V_MPEG2" => "mpeg2video",
        "A_MPEG/L3" => "mp3",
        "A_MPEG/L2" => "mp2",
        "A_VORBIS" => "vorbis",
        "A_OPUS" => "opus",
        "A_FLAC" => "flac",
        "A_AC3" => "ac3",
        "A_EAC3" => "eac3",
        "A_DTS" => "dts",
        "A_TRUEHD" => "truehd",
        _ if id.starts_with("V_MPEG4/ISO/") => "mpeg4",
        _ if id.starts_with("A_AAC") => "aac",
        _ if id.starts_with("A_PCM") => "pcm",
        _ => return id.trim_start_matches(['V', 'A', '_']).to_ascii_lowercase(),
    };
    name.to_string()
}

#[derive(Debug)]
enum FfprobeError {
    Missing,
    Failed(String),
}

/// Asks `ffprobe` for the format and streams, as JSON.
fn ffprobe(path: &Path) -> Result<VideoInfo, FfprobeError> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FfprobeError::Missing,
            _ => FfprobeError::Failed(format!("cannot run ffprobe: {e}")),
        })?;
    if !output.status.success() {
        return Err(FfprobeError::Failed(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| FfprobeError::Failed(format!("unreadable ffprobe answer: {e}")))?;
    Ok(from_ffprobe(&json))
}

/// ffprobe's JSON gives numbers as strings ("duration": "1.050000").
fn from_ffprobe(json: &serde_json::Value) -> VideoInfo {
    let number = |v: &serde_json::Value| -> Option<f64> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| v.as_f64())
    };
    let mut info = VideoInfo::default();
    let format = &json["format"];
    info.duration = number(&format["duration"]).unwrap_or(0.0);
    info.bitrate = number(&format["bit_rate"]).unwrap_or(0.0) as i64;
    for stream in json["streams"].as_array().into_iter().flatten() {
        let codec = stream["codec_name"].as_str().unwrap_or_default();
        let attached = stream["disposition"]["attached_pic"].as_i64() == Some(1);
        match stream["codec_type"].as_str() {
            Some("video") if !attached && info.video_codec.is_empty() => {
                info.video_codec = codec.to_string();
                info.width = stream["width"].as_u64().unwrap_or(0) as u32;
                info.height = stream["height"].as_u64().unwrap_or(0) as u32;
            }
            Some("audio") if info.audio_codec.is_empty() => {
                info.audio_codec = codec.to_string();
            }
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matroska_codec_ids() {
        assert_eq!(matroska_codec("V_MPEG4/ISO/AVC"), "h264");
        assert_eq!(matroska_codec("V_MPEG4/ISO/ASP"), "mpeg4");
        assert_eq!(matroska_codec("A_AAC/MPEG4/LC"), "aac");
        assert_eq!(matroska_codec("V_PRORES"), "prores");
    }

    #[test]
    fn ffprobe_json() {
        let json = serde_json::json!({
            "streams": [
                {"codec_type": "video", "codec_name": "png", "width": 32, "height": 32,
                 "disposition": {"attached_pic": 1}},
                {"codec_type": "video", "codec_name": "mpeg4", "width": 128, "height": 96,
                 "disposition": {"attached_pic": 0}},
                {"codec_type": "audio", "codec_name": "mp3"}
            ],
            "format": {"duration": "1.100000", "bit_rate": "125076"}
        });
        let info = from_ffprobe(&json);
        assert_eq!(
            (info.video_codec.as_str(), info.width, info.height),
            ("mpeg4", 128, 96)
        );
        assert_eq!(info.audio_codec, "mp3");
        assert_eq!(info.bitrate, 125076);
        assert!((info.duration - 1.1).abs() < 1e-9);
    }
}
