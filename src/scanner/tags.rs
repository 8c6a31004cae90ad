//! Reading one audio file's tags and properties with lofty.

use std::path::Path;

use super::windowed::WindowedFile;
use crate::model::{TrackInfo, UNKNOWN_ALBUM, UNKNOWN_ARTIST};
use lofty::config::{ParseOptions, ParsingMode};
use lofty::file::FileType;
use lofty::prelude::*;
use lofty::probe::Probe;
use lofty::tag::Tag;

/// The extensions the scanner treats as audio.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "m4b", "aac", "wav", "aif", "aiff", "aifc",
    "wv", "ape", "mpc",
];

/// Reads `path`; the error is the reason the file cannot become a song.
pub fn read_track(path: &Path, size: u64) -> Result<TrackInfo, String> {
    if size == 0 {
        return Err("empty file".into());
    }
    let file = crate::files::open_regular_sized(path)
        .map(|(file, len)| WindowedFile::new(file, len))
        .map_err(|e| format!("cannot open: {e}"))?;
    let mut probe = Probe::new(file);
    if let Some(file_type) = lofty::file::FileType::from_path(path) {
        probe = probe.set_file_type(file_type);
    }
    let tagged = probe
        .options(
            ParseOptions::new()
                .read_cover_art(true)
                .parsing_mode(ParsingMode::Relaxed),
        )
        .guess_file_type()
        .map_err(|e| format!("cannot read: {e}"))?
        .read()
        .map_err(|e| format!("not a readable audio file: {e}"))?;
    let properties = tagged.properties();
    let duration = properties.duration().as_secs_f64();
    if duration <= 0.0 && properties.sample_rate().unwrap_or(0) == 0 {
        return Err("no audio stream found".into());
    }
    let mut info = TrackInfo {
        duration,
        bitrate: i64::from(
            properties
                .audio_bitrate()
                .or(properties.overall_bitrate())
                .unwrap_or(0),
        ) * 1000,
        sample_rate: i64::from(properties.sample_rate().unwrap_or(0)),
        channels: i64::from(properties.channels().unwrap_or(0)),
        mime: mime_for(tagged.file_type(), path),
        ..TrackInfo::default()
    };
    // The primary tag is the format's own; fall back to any other tag the file carries
    // (an ID3v2 tag in a FLAC, an APE tag on an MP3).
    let mut tags: Vec<&Tag> = Vec::new();
    if let Some(primary) = tagged.primary_tag() {
        tags.push(primary);
    }
    for tag in tagged.tags() {
        if !tags.iter().any(|t| t.tag_type() == tag.tag_type()) {
            tags.push(tag);
        }
    }
    let text = |key: ItemKey| -> Option<String> {
        tags.iter()
            .find_map(|tag| tag.get_string(&key).map(clean).filter(|v| !v.is_empty()))
    };
    let texts = |key: ItemKey| -> Vec<String> {
        for tag in &tags {
            let values: Vec<String> = tag
                .get_strings(&key)
                .flat_map(|v| v.split(['\0', ';']))
                .map(clean)
                .filter(|v| !v.is_empty())
                .collect();
            if !values.is_empty() {
                return dedup(values);
            }
        }
        Vec::new()
    };
    let number = |key: ItemKey| -> i64 { text(key).as_deref().map(leading_number).unwrap_or(0) };

    info.title = text(ItemKey::TrackTitle).unwrap_or_else(|| title_from_file_name(path));
    info.artists = {
        let many = texts(ItemKey::TrackArtists);
        let one = text(ItemKey::TrackArtist);
        match (one, many) {
            (Some(one), many) if many.len() > 1 && many[0] == one => many,
            (Some(one), _) => vec![one],
            (None, many) if !many.is_empty() => many,
            (None, _) => vec![UNKNOWN_ARTIST.to_string()],
        }
    };
    info.album = text(ItemKey::AlbumTitle).unwrap_or_else(|| UNKNOWN_ALBUM.to_string());
    info.album_artist = text(ItemKey::AlbumArtist);
    info.compilation = text(ItemKey::FlagCompilation)
        .map(|v| matches!(v.as_str(), "1" | "true" | "TRUE" | "True" | "yes"))
        .unwrap_or(false);
    // "3/12" carries the total too; a separate total tag wins when present.
    let (track, track_in_total) = text(ItemKey::TrackNumber)
        .as_deref()
        .map(number_pair)
        .unwrap_or((0, 0));
    let (disc, disc_in_total) = text(ItemKey::DiscNumber)
        .as_deref()
        .map(number_pair)
        .unwrap_or((0, 0));
    info.track = track;
    info.track_total = Some(number(ItemKey::TrackTotal))
        .filter(|n| *n > 0)
        .unwrap_or(track_in_total);
    info.disc = disc;
    info.disc_total = Some(number(ItemKey::DiscTotal))
        .filter(|n| *n > 0)
        .unwrap_or(disc_in_total);
    info.year = [
        ItemKey::Year,
        ItemKey::RecordingDate,
        ItemKey::OriginalReleaseDate,
    ]
    .into_iter()
    .map(number)
    .find(|year| (1..10000).contains(year))
    .unwrap_or(0);
    info.genres = texts(ItemKey::Genre);
    if tagged.file_type() == FileType::Mp4 {
        let all = mp4_genres(path);
        if all.len() > info.genres.len() {
            info.genres = all;
        }
    }
    info.composer = text(ItemKey::Composer);
    info.comment = text(ItemKey::Comment);
    info.lyrics = text(ItemKey::Lyrics);
    info.mbid = text(ItemKey::MusicBrainzRecordingId);
    info.album_mbid = text(ItemKey::MusicBrainzReleaseId);
    info.artist_mbid = text(ItemKey::MusicBrainzArtistId);
    info.album_artist_mbid = text(ItemKey::MusicBrainzReleaseArtistId);
    info.rg_track_gain = text(ItemKey::ReplayGainTrackGain)
        .as_deref()
        .and_then(decibels);
    info.rg_track_peak = text(ItemKey::ReplayGainTrackPeak)
        .as_deref()
        .and_then(decibels);
    info.rg_album_gain = text(ItemKey::ReplayGainAlbumGain)
        .as_deref()
        .and_then(decibels);
    info.rg_album_peak = text(ItemKey::ReplayGainAlbumPeak)
        .as_deref()
        .and_then(decibels);
    info.embedded_art = tags.iter().any(|tag| !tag.pictures().is_empty());
    info.art_size = picture_size(&tags);
    info.label = text(ItemKey::Label).or_else(|| text(ItemKey::Publisher));
    info.metadata = custom_metadata(&tags);
    Ok(info)
}

/// Every value of an MP4 file's `©gen` atoms. lofty's generic tag keeps only the
/// first value of an atom (FLAC and ID3v2.4 keep them all), so a second genre
/// written as a second `data` box was lost; the file's own `ilst` has them all.
fn mp4_genres(path: &Path) -> Vec<String> {
    use lofty::mp4::{AtomData, Mp4File};
    let Ok(mut file) =
        crate::files::open_regular_sized(path).map(|(file, len)| WindowedFile::new(file, len))
    else {
        return Vec::new();
    };
    let options = ParseOptions::new()
        .read_properties(false)
        .read_cover_art(false)
        .parsing_mode(ParsingMode::Relaxed);
    let Ok(mp4) = Mp4File::read_from(&mut file, options) else {
        return Vec::new();
    };
    let Some(ilst) = mp4.ilst() else {
        return Vec::new();
    };
    let values: Vec<String> = ilst
        .into_iter()
        .filter(|atom| matches!(atom.ident(), lofty::mp4::AtomIdent::Fourcc(code) if code == b"\xa9gen"))
        .flat_map(|atom| atom.data())
        .filter_map(|data| match data {
            AtomData::UTF8(text) | AtomData::UTF16(text) => Some(text.as_str()),
            _ => None,
        })
        .flat_map(|v| v.split(['\0', ';']))
        .map(clean)
        .filter(|v| !v.is_empty())
        .collect();
    dedup(values)
}

/// The keys the song columns hold already; every other text item is custom metadata.
const COLUMN_KEYS: &[ItemKey] = &[
    ItemKey::TrackTitle,
    ItemKey::TrackArtist,
    ItemKey::TrackArtists,
    ItemKey::AlbumTitle,
    ItemKey::AlbumArtist,
    ItemKey::FlagCompilation,
    ItemKey::TrackNumber,
    ItemKey::TrackTotal,
    ItemKey::DiscNumber,
    ItemKey::DiscTotal,
    ItemKey::Year,
    ItemKey::RecordingDate,
    ItemKey::OriginalReleaseDate,
    ItemKey::Genre,
    ItemKey::Composer,
    ItemKey::Comment,
    ItemKey::Lyrics,
    ItemKey::MusicBrainzRecordingId,
    ItemKey::MusicBrainzReleaseId,
    ItemKey::MusicBrainzArtistId,
    ItemKey::MusicBrainzReleaseArtistId,
    ItemKey::ReplayGainTrackGain,
    ItemKey::ReplayGainTrackPeak,
    ItemKey::ReplayGainAlbumGain,
    ItemKey::ReplayGainAlbumPeak,
    ItemKey::Label,
    ItemKey::Publisher,
];

/// The other text items of the first tag that has any, named the way Vorbis
/// comments name them (the one naming every format can share: "bpm", "isrc",
/// "mood"), or by their own name when that has none (an ID3v2 TXXX description).
fn custom_metadata(tags: &[&Tag]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for tag in tags {
        for item in tag.items() {
            let key = item.key();
            if COLUMN_KEYS.contains(key) {
                continue;
            }
            // Long values are blobs in disguise (base64 pictures, logs), not metadata.
            let Some(value) = item
                .value()
                .text()
                .map(clean)
                .filter(|v| !v.is_empty() && v.len() <= 2048)
            else {
                continue;
            };
            let name = match key {
                ItemKey::Unknown(name) => name.clone(),
                // ID3v2's TBPM; Vorbis comments and MP4 say BPM.
                ItemKey::IntegerBpm => "bpm".to_string(),
                known => match known.map_key(lofty::tag::TagType::VorbisComments, false) {
                    Some(name) => name.to_string(),
                    None => format!("{known:?}"),
                },
            };
            let name = clean(&name).to_lowercase();
            if name.is_empty() || name.len() > 64 {
                continue;
            }
            match fields.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => {
                    if !existing.split("; ").any(|v| v == value) {
                        existing.push_str("; ");
                        existing.push_str(&value);
                    }
                }
                None => fields.push((name, value)),
            }
        }
        if !fields.is_empty() {
            break;
        }
    }
    fields
}

/// The size of the front cover (or else the first picture), read from the image's
/// header only.
fn picture_size(tags: &[&Tag]) -> Option<(u32, u32)> {
    let pictures = tags.iter().flat_map(|tag| tag.pictures());
    let picture = pictures
        .clone()
        .find(|p| p.pic_type() == lofty::picture::PictureType::CoverFront)
        .or_else(|| pictures.clone().next())?;
    image::ImageReader::new(std::io::Cursor::new(picture.data()))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

fn mime_for(file_type: FileType, path: &Path) -> &'static str {
    match file_type {
        FileType::Mpeg => "audio/mpeg",
        FileType::Flac => "audio/flac",
        FileType::Vorbis => "audio/ogg",
        FileType::Opus => "audio/ogg",
        FileType::Speex => "audio/ogg",
        FileType::Mp4 => "audio/mp4",
        FileType::Aac => "audio/aac",
        FileType::Wav => "audio/wav",
        FileType::Aiff => "audio/aiff",
        FileType::WavPack => "audio/x-wavpack",
        FileType::Ape => "audio/x-ape",
        FileType::Mpc => "audio/x-musepack",
        _ => match extension(path).as_str() {
            "mp3" => "audio/mpeg",
            _ => "application/octet-stream",
        },
    }
}

pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// "03 - Some Song.mp3" becomes "Some Song"; a file without tags still gets a title.
pub fn title_from_file_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trimmed = stem
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start_matches([' ', '-', '.', '_'])
        .trim();
    let title = if trimmed.is_empty() {
        stem.trim()
    } else {
        trimmed
    };
    clean(title)
}

/// Removes control characters and surrounding blanks from tag text.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

fn dedup(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !out.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
            out.push(value);
        }
    }
    out
}

/// The number a tag value starts with ("2019-05-01" → 2019, "3/12" → 3).
fn leading_number(text: &str) -> i64 {
    let digits: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(9)
        .collect();
    digits.parse().unwrap_or(0)
}

/// "3/12" → (3, 12); "3" → (3, 0).
fn number_pair(text: &str) -> (i64, i64) {
    match text.split_once('/') {
        Some((n, total)) => (leading_number(n), leading_number(total)),
        None => (leading_number(text), 0),
    }
}

/// "-6.20 dB" → -6.2.
fn decibels(text: &str) -> Option<f64> {
    let number = text
        .trim()
        .trim_end_matches("dB")
        .trim_end_matches("db")
        .trim();
    number.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_names() {
        assert_eq!(
            title_from_file_name(Path::new("/m/03 - Some Song.mp3")),
            "Some Song"
        );
        assert_eq!(title_from_file_name(Path::new("/m/1999.mp3")), "1999");
        assert_eq!(title_from_file_name(Path::new("/m/Plain.flac")), "Plain");
    }

    #[test]
    fn numbers() {
        assert_eq!(number_pair("3/12"), (3, 12));
        assert_eq!(number_pair(" 7 "), (7, 0));
        assert_eq!(leading_number("2019-05-01"), 2019);
        assert_eq!(decibels("-6.20 dB"), Some(-6.2));
        assert_eq!(decibels("loud"), None);
    }

    #[test]
    fn empty_files_are_refused() {
        assert_eq!(
            read_track(Path::new("/nonexistent.mp3"), 0).unwrap_err(),
            "empty file"
        );
    }
}
