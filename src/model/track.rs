//! The scanner's record of an audio file: what its tags and stream say, and what the
//! store knew of it.

use std::path::PathBuf;

/// Everything the store keeps about an audio file, read from its tags and stream.
#[derive(Debug, Clone, Default)]
pub struct TrackInfo {
    pub title: String,
    /// Every credited track artist, in tag order; never empty.
    pub artists: Vec<String>,
    pub album: String,
    pub album_artist: Option<String>,
    pub compilation: bool,
    pub track: i64,
    pub track_total: i64,
    pub disc: i64,
    pub disc_total: i64,
    pub year: i64,
    /// One genre per value; a value "Rock;Pop" counts as two.
    pub genres: Vec<String>,
    pub composer: Option<String>,
    pub comment: Option<String>,
    pub lyrics: Option<String>,
    pub mbid: Option<String>,
    pub album_mbid: Option<String>,
    pub artist_mbid: Option<String>,
    pub album_artist_mbid: Option<String>,
    pub rg_track_gain: Option<f64>,
    pub rg_track_peak: Option<f64>,
    pub rg_album_gain: Option<f64>,
    pub rg_album_peak: Option<f64>,
    pub duration: f64,
    /// Bits per second.
    pub bitrate: i64,
    pub sample_rate: i64,
    pub channels: i64,
    pub mime: &'static str,
    pub embedded_art: bool,
    /// Width and height of the embedded picture, when it can be decoded.
    pub art_size: Option<(u32, u32)>,
    /// The record label (publisher).
    pub label: Option<String>,
    /// Tags no column holds, as (lower-case field name, value): BPM, ISRC, MOOD,
    /// custom fields. Several values of one field are joined with "; ".
    pub metadata: Vec<(String, String)>,
}

pub const UNKNOWN_ARTIST: &str = "Unknown Artist";
pub const UNKNOWN_ALBUM: &str = "Unknown Album";
pub const VARIOUS_ARTISTS: &str = "Various Artists";

/// A folder's cover image, measured by the scanner (its header gives the size; an
/// unreadable image counts as 0 x 0).
#[derive(Debug, Clone)]
pub struct FolderArt {
    pub path: PathBuf,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

/// What a scan reads of a video file.
#[derive(Debug, Clone, Default)]
pub struct VideoInfo {
    pub title: String,
    pub mime: &'static str,
    /// Seconds; 0 when unknown.
    pub duration: f64,
    pub width: u32,
    pub height: u32,
    /// Codec names as ffprobe gives them (`h264`, `vp8`, `aac`); empty when unknown
    /// (or, for audio, when the video is silent).
    pub video_codec: String,
    pub audio_codec: String,
    /// Bits per second, the whole file's.
    pub bitrate: i64,
    pub art: Option<VideoArt>,
}

/// A video's poster: an image file beside it, or the cover in its own tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoArt {
    pub path: String,
    pub embedded: bool,
    pub mime: Option<&'static str>,
}

/// What the store knows of a file from an earlier scan.
#[derive(Debug, Clone, Copy)]
pub struct KnownFile {
    pub size: i64,
    pub mtime: i64,
    pub kind: KnownKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownKind {
    Song,
    Video,
    Skipped,
}

/// One scanned file, ready to be written.
#[derive(Debug)]
pub enum ScannedFile {
    Track {
        path: String,
        size: i64,
        mtime: i64,
        info: Box<TrackInfo>,
        /// A cover image in the file's folder (cover/folder/front .jpg/.png).
        folder_art: Option<FolderArt>,
    },
    Video {
        path: String,
        size: i64,
        mtime: i64,
        info: Box<VideoInfo>,
    },
    Skipped {
        path: String,
        size: i64,
        mtime: i64,
        reason: String,
    },
}

impl ScannedFile {
    pub fn path(&self) -> &str {
        match self {
            ScannedFile::Track { path, .. }
            | ScannedFile::Video { path, .. }
            | ScannedFile::Skipped { path, .. } => path,
        }
    }
}
