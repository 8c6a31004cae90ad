//! Art: which image an object shows, reading it (an image file, or the picture in an
//! audio file's tags), and resized JPEG copies cached on disk.
//!
//! Everything that touches files or pixels runs on the blocking pool. Resized copies
//! live in `<data>/cache/art/`, named after the object, the box and the identity of
//! the source file (path, length, modification time), so a changed source is never
//! served from a stale copy; each is written to a temporary file and renamed into
//! place, so readers never see half a file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, ImageReader, Limits, Rgb, RgbImage};
use lofty::config::{ParseOptions, ParsingMode};
use lofty::file::TaggedFileExt;
use lofty::picture::PictureType;
use lofty::probe::Probe;
use sha2::{Digest, Sha256};

use crate::store::media::{ArtKind, ArtSource};
use crate::store::{Store, StoreResult};

/// The smallest and largest box a client may ask art to be resized to.
pub const MIN_SIZE: u32 = 16;
pub const MAX_SIZE: u32 = 2048;

/// Image files larger than this are not read (no real cover is anywhere near).
const MAX_IMAGE_BYTES: u64 = 64 * 1024 * 1024;

/// JPEG quality of resized copies.
const JPEG_QUALITY: u8 = 88;

/// An object whose art is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtObject {
    Song(i64),
    Album(i64),
    Artist(i64),
    Playlist(i64),
    /// A video's poster.
    Video(i64),
}

/// Which image an object shows: a song its own embedded picture, else its album's;
/// an artist the art of their first album that has some; a playlist that of one of
/// its songs. `user_id` decides which playlists are visible.
pub async fn find(
    store: &Store,
    object: ArtObject,
    user_id: i64,
) -> StoreResult<Option<ArtSource>> {
    match object {
        ArtObject::Song(id) => store.song_art(id).await,
        ArtObject::Album(id) => store.album_art(id).await,
        ArtObject::Artist(id) => store.artist_art(id).await,
        ArtObject::Playlist(id) => store.playlist_art(id, user_id).await,
        ArtObject::Video(id) => match store.video_art(id).await? {
            Some(source) => Ok(Some(source)),
            None => poster_added_since_scan(store, id).await,
        },
    }
}

/// A poster put beside a video after its scan: a rescan reads only changed media
/// files, so an image added later would otherwise wait for the video to change.
async fn poster_added_since_scan(store: &Store, video_id: i64) -> StoreResult<Option<ArtSource>> {
    use crate::store::media::MediaKind;
    let Some(video) = store.media_file(MediaKind::Video, video_id).await? else {
        return Ok(None);
    };
    let path = PathBuf::from(&video.path);
    let poster = tokio::task::spawn_blocking(move || crate::scanner::video::poster_beside(&path))
        .await
        .ok()
        .flatten();
    Ok(poster.map(|art| ArtSource {
        owner: format!("video-{video_id}"),
        kind: ArtKind::File,
        path: art.path,
        mime: art.mime.map(str::to_string),
    }))
}

/// The box an image is resized to fit (its aspect ratio is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub width: u32,
    pub height: u32,
}

impl Fit {
    /// A `size` parameter: `N` (an N×N box) or `WxH`, each between [`MIN_SIZE`] and
    /// [`MAX_SIZE`].
    pub fn parse_size(text: &str) -> Option<Fit> {
        let text = text.trim();
        let (width, height) = match text.split_once(['x', 'X']) {
            Some((w, h)) => (w.trim(), h.trim()),
            None => (text, text),
        };
        let number = |t: &str| -> Option<u32> {
            if !t.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            t.parse::<u32>()
                .ok()
                .filter(|n| (MIN_SIZE..=MAX_SIZE).contains(n))
        };
        Some(Fit {
            width: number(width)?,
            height: number(height)?,
        })
    }

    /// Ampache's web `thumb=N` codes (`Art::get_thumb_size`).
    pub fn thumb(code: i64) -> Fit {
        let (width, height) = match code {
            1 => (100, 100),
            2 => (128, 128),
            3 => (80, 80),
            5 => (32, 32),
            6 => (100, 150),
            7 => (200, 300),
            8 => (470, 200),
            9 => (235, 100),
            10 => (24, 24),
            _ => (200, 200),
        };
        Fit { width, height }
    }
}

/// Image bytes and their content type.
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Vec<u8>,
    pub mime: String,
}

/// Reads the art `source` points at, resized to `fit` if given (through the cache in
/// `cache_dir`). `None` when the source file or the picture in it is gone.
pub async fn load(
    source: ArtSource,
    fit: Option<Fit>,
    cache_dir: PathBuf,
) -> std::io::Result<Option<Image>> {
    tokio::task::spawn_blocking(move || load_blocking(&source, fit, &cache_dir))
        .await
        .map_err(std::io::Error::other)?
}

fn load_blocking(
    source: &ArtSource,
    fit: Option<Fit>,
    cache_dir: &Path,
) -> std::io::Result<Option<Image>> {
    let metadata = match std::fs::metadata(&source.path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!("art source {} is gone", source.path);
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Some(fit) = fit else {
        return Ok(original(source, metadata.len())?.map(|bytes| Image {
            mime: mime_of(&bytes, source.mime.as_deref()),
            bytes,
        }));
    };
    let prefix = format!("{}-{}x{}-", source.owner, fit.width, fit.height);
    let name = format!("{prefix}{}.jpg", identity(source, &metadata));
    let cached = cache_dir.join(&name);
    match std::fs::read(&cached) {
        Ok(bytes) => {
            return Ok(Some(Image {
                bytes,
                mime: "image/jpeg".into(),
            }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot read cached art {}: {e}", cached.display()),
    }
    let Some(bytes) = original(source, metadata.len())? else {
        return Ok(None);
    };
    match resize(&bytes, fit) {
        Ok(jpeg) => {
            if let Err(e) = store_in_cache(cache_dir, &name, &prefix, &jpeg) {
                tracing::warn!("cannot cache resized art in {}: {e}", cache_dir.display());
            }
            Ok(Some(Image {
                bytes: jpeg,
                mime: "image/jpeg".into(),
            }))
        }
        Err(e) => {
            // An image the decoder cannot read may still display in the client.
            tracing::warn!("cannot resize the art of {}: {e}", source.owner);
            Ok(Some(Image {
                mime: mime_of(&bytes, source.mime.as_deref()),
                bytes,
            }))
        }
    }
}

/// The source's image bytes as stored.
fn original(source: &ArtSource, length: u64) -> std::io::Result<Option<Vec<u8>>> {
    match source.kind {
        ArtKind::File => {
            if length > MAX_IMAGE_BYTES {
                tracing::warn!("art file {} is too large to serve", source.path);
                return Ok(None);
            }
            let mut file = match crate::files::open_regular(Path::new(&source.path)) {
                Ok(file) => file,
                Err(e) => {
                    // Gone, unreadable or not a file: no art, rather than a failure.
                    tracing::warn!("cannot read art file {}: {e}", source.path);
                    return Ok(None);
                }
            };
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes)?;
            Ok(Some(bytes))
        }
        ArtKind::Embedded => Ok(embedded_picture(Path::new(&source.path))),
    }
}

/// The picture in an audio file's tags: the front cover if there is one, else the
/// first picture. A Matroska/WebM video carries its poster as an attachment instead.
pub fn embedded_picture(path: &Path) -> Option<Vec<u8>> {
    let ext = crate::scanner::tags::extension(path);
    if ext == "mkv" || ext == "webm" {
        return crate::scanner::video::matroska_cover(path);
    }
    let read = || -> lofty::error::Result<lofty::file::TaggedFile> {
        let file = crate::files::open_regular(path).map_err(std::io::Error::from)?;
        let mut probe = Probe::new(std::io::BufReader::new(file));
        if let Some(file_type) = lofty::file::FileType::from_path(path) {
            probe = probe.set_file_type(file_type);
        }
        probe
            .options(
                ParseOptions::new()
                    .read_properties(false)
                    .read_cover_art(true)
                    .parsing_mode(ParsingMode::Relaxed),
            )
            .guess_file_type()?
            .read()
    };
    let tagged = match read() {
        Ok(tagged) => tagged,
        Err(e) => {
            tracing::warn!("cannot read the pictures of {}: {e}", path.display());
            return None;
        }
    };
    let pictures: Vec<_> = tagged
        .tags()
        .iter()
        .flat_map(|tag| tag.pictures())
        .collect();
    pictures
        .iter()
        .find(|p| p.pic_type() == PictureType::CoverFront)
        .or_else(|| pictures.first())
        .map(|p| p.data().to_vec())
        .filter(|data| !data.is_empty())
}

/// The content type of image bytes, from their signature; the recorded type, or a
/// generic one, when the signature is unknown.
pub fn mime_of(bytes: &[u8], recorded: Option<&str>) -> String {
    match image::guess_format(bytes) {
        Ok(format) => format.to_mime_type().to_string(),
        Err(_) => recorded
            .filter(|m| m.starts_with("image/"))
            .unwrap_or("application/octet-stream")
            .to_string(),
    }
}

/// A short digest naming one version of the source file.
fn identity(source: &ArtSource, metadata: &std::fs::Metadata) -> String {
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let kind = match source.kind {
        ArtKind::File => "file",
        ArtKind::Embedded => "embedded",
    };
    let digest = Sha256::digest(format!(
        "{kind}\0{}\0{}\0{modified}",
        source.path,
        metadata.len()
    ));
    hex::encode(&digest[..8])
}

/// Decodes `bytes` and encodes them as a JPEG that fits `fit`.
fn resize(bytes: &[u8], fit: Fit) -> image::ImageResult<Vec<u8>> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode()?;
    let resized = image.resize(fit.width, fit.height, FilterType::Lanczos3);
    let rgb = flatten(resized);
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    rgb.write_with_encoder(encoder)?;
    Ok(out)
}

/// The image without transparency (JPEG has none): transparent parts become white.
fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| -> u8 {
            ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a)) + 127) / 255) as u8
        };
        Rgb([blend(r), blend(g), blend(b)])
    })
}

/// Writes a resized copy atomically and removes the copies of older versions of the
/// same source (same object and box, other identity).
fn store_in_cache(dir: &Path, name: &str, prefix: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    if let Err(e) = std::fs::write(&temporary, bytes) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&temporary, dir.join(name)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    for entry in std::fs::read_dir(dir)?.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if file_name != name && file_name.starts_with(prefix) && file_name.ends_with(".jpg") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Where resized art is cached, under the data folder.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cache").join("art")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageFormat;

    #[test]
    fn sizes() {
        assert_eq!(
            Fit::parse_size("300"),
            Some(Fit {
                width: 300,
                height: 300
            })
        );
        assert_eq!(
            Fit::parse_size("300x200"),
            Some(Fit {
                width: 300,
                height: 200
            })
        );
        for bad in ["", "15", "2049", "-1", "abc", "300x", "x300", "1e3", "+300"] {
            assert_eq!(Fit::parse_size(bad), None, "{bad:?}");
        }
        assert_eq!(Fit::thumb(5).width, 32);
        assert_eq!(Fit::thumb(99).width, 200);
    }

    #[test]
    fn resizes_to_fit_and_flattens() {
        let source = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            64,
            32,
            image::Rgba([255, 0, 0, 0]),
        ));
        let mut png = Vec::new();
        source
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let jpeg = resize(
            &png,
            Fit {
                width: 32,
                height: 32,
            },
        )
        .unwrap();
        assert_eq!(mime_of(&jpeg, None), "image/jpeg");
        let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!((decoded.width(), decoded.height()), (32, 16));
        let pixel = decoded.get_pixel(16, 8).0;
        assert!(
            pixel.iter().all(|c| *c > 240),
            "transparent became {pixel:?}"
        );
    }

    #[test]
    fn cache_writes_replace_old_versions() {
        let dir = tempfile::tempdir().unwrap();
        store_in_cache(
            dir.path(),
            "album-1-32x32-aaaa.jpg",
            "album-1-32x32-",
            b"old",
        )
        .unwrap();
        store_in_cache(
            dir.path(),
            "album-1-64x64-aaaa.jpg",
            "album-1-64x64-",
            b"other",
        )
        .unwrap();
        store_in_cache(
            dir.path(),
            "album-1-32x32-bbbb.jpg",
            "album-1-32x32-",
            b"new",
        )
        .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["album-1-32x32-bbbb.jpg", "album-1-64x64-aaaa.jpg"]);
    }
}
