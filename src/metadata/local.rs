//! Art found on disk, always tried before any service: an album's cover image in
//! its folder or a picture in its files' tags; an artist's picture in the artist's
//! folder (the folder that holds their album folders).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::scanner::walk::{art_for_folder, is_disc_folder, ART_NAMES};

/// Names (without extension) taken as an artist's picture, best first; the artist's
/// own name is tried after these.
const ARTIST_ART_NAMES: &[&str] = &["artist", "folder"];

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png"];

/// An image file with its type and size in pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    pub path: PathBuf,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

impl LocalImage {
    fn measure(path: PathBuf) -> LocalImage {
        let mime = if extension(&path) == "png" {
            "image/png"
        } else {
            "image/jpeg"
        };
        // The header alone gives the size; an unreadable image counts as 0 x 0.
        let (width, height) = image::image_dimensions(&path).unwrap_or((0, 0));
        LocalImage {
            path,
            mime,
            width,
            height,
        }
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// The image in `folder` whose name (folded, without extension) comes first in
/// `names`.
fn named_image(folder: &Path, names: &[&str]) -> Option<PathBuf> {
    let mut best: Option<(usize, PathBuf)> = None;
    for entry in std::fs::read_dir(folder).ok()?.flatten() {
        let path = entry.path();
        if !IMAGE_EXTENSIONS.contains(&extension(&path).as_str()) || !path.is_file() {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if let Some(rank) = names.iter().position(|name| *name == stem) {
            if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                best = Some((rank, path));
            }
        }
    }
    best.map(|(_, path)| path)
}

/// An album's cover: the cover image of the folder of one of its files (a disc
/// folder uses the album folder's), as the scanner chooses it.
pub fn album_cover(song_paths: &[String]) -> Option<LocalImage> {
    let mut folders: Vec<PathBuf> = song_paths
        .iter()
        .filter_map(|p| Path::new(p).parent().map(Path::to_path_buf))
        .collect();
    folders.sort();
    folders.dedup();
    let mut found: HashMap<PathBuf, PathBuf> = HashMap::new();
    for folder in &folders {
        for candidate in [Some(folder.as_path()), folder.parent()]
            .into_iter()
            .flatten()
        {
            if !found.contains_key(candidate) {
                if let Some(image) = named_image(candidate, ART_NAMES) {
                    found.insert(candidate.to_path_buf(), image);
                }
            }
        }
    }
    folders
        .iter()
        .find_map(|folder| art_for_folder(folder, &found))
        .map(LocalImage::measure)
}

/// An artist's picture in their folder: the parent of the folders of their albums,
/// inside one of the catalog folders (never a catalog folder itself). The folder
/// most of their files are under is tried first.
pub fn artist_picture(
    artist_name: &str,
    song_paths: &[String],
    catalog_roots: &[PathBuf],
) -> Option<LocalImage> {
    let mut counts: HashMap<PathBuf, usize> = HashMap::new();
    for path in song_paths {
        let Some(mut album_folder) = Path::new(path).parent() else {
            continue;
        };
        if is_disc_folder(album_folder) {
            match album_folder.parent() {
                Some(parent) => album_folder = parent,
                None => continue,
            }
        }
        let Some(artist_folder) = album_folder.parent() else {
            continue;
        };
        let inside_a_catalog = catalog_roots
            .iter()
            .any(|root| artist_folder.starts_with(root) && artist_folder != root);
        if inside_a_catalog {
            *counts.entry(artist_folder.to_path_buf()).or_default() += 1;
        }
    }
    let mut folders: Vec<(PathBuf, usize)> = counts.into_iter().collect();
    folders.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let own_name = artist_name.to_lowercase();
    let mut names: Vec<&str> = ARTIST_ART_NAMES.to_vec();
    names.push(&own_name);
    folders
        .into_iter()
        .find_map(|(folder, _)| named_image(&folder, &names))
        .map(LocalImage::measure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_artist_and_album_images() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("music");
        let album = root.join("Band").join("Record");
        let disc = album.join("Disc 1");
        std::fs::create_dir_all(&disc).unwrap();
        std::fs::write(album.join("cover.jpg"), b"x").unwrap();
        std::fs::write(root.join("Band").join("Folder.PNG"), b"x").unwrap();
        std::fs::write(root.join("folder.jpg"), b"x").unwrap();
        let song = disc.join("01.mp3").to_string_lossy().into_owned();
        let cover = album_cover(std::slice::from_ref(&song)).unwrap();
        assert_eq!(cover.path, album.join("cover.jpg"));
        let picture = artist_picture(
            "Band",
            std::slice::from_ref(&song),
            std::slice::from_ref(&root),
        )
        .unwrap();
        assert_eq!(picture.path, root.join("Band").join("Folder.PNG"));
        assert_eq!(picture.mime, "image/png");
        std::fs::write(root.join("Band").join("artist.jpg"), b"x").unwrap();
        let picture = artist_picture("Band", &[song], std::slice::from_ref(&root)).unwrap();
        assert_eq!(picture.path, root.join("Band").join("artist.jpg"));
        // An album right under the catalog folder has no artist folder.
        let loose = root
            .join("Loose")
            .join("01.mp3")
            .to_string_lossy()
            .into_owned();
        assert!(artist_picture("Loose", &[loose], &[root]).is_none());
    }
}
