//! Art fetched from a service, kept as a file in the data folder
//! (`<data>/art/album-3.jpg`), so the store points at it as at any cover on disk and
//! get_art, resizing and its cache work unchanged.

use std::path::{Path, PathBuf};

use crate::media::art::Image;

/// Where fetched art is kept.
pub fn art_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("art")
}

fn extension_of(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// Writes `image` as `owner`'s art (atomically: readers see the old file or the new
/// one) and removes what was kept for `owner` under another extension. Returns the
/// path and the image's size in pixels.
pub async fn save(
    data_dir: &Path,
    owner: &str,
    image: &Image,
) -> std::io::Result<(PathBuf, u32, u32)> {
    let dir = art_dir(data_dir);
    let owner = owner.to_string();
    let image = image.clone();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let ext = extension_of(&image.mime);
        let path = dir.join(format!("{owner}.{ext}"));
        let temporary = dir.join(format!(
            ".{owner}.{}.{:016x}.tmp",
            std::process::id(),
            rand::random::<u64>()
        ));
        if let Err(e) = std::fs::write(&temporary, &image.bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
        {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        for other in ["jpg", "png", "gif", "webp"]
            .into_iter()
            .filter(|e| *e != ext)
        {
            let _ = std::fs::remove_file(dir.join(format!("{owner}.{other}")));
        }
        let (width, height) = image::ImageReader::new(std::io::Cursor::new(&image.bytes))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_dimensions().ok())
            .unwrap_or((0, 0));
        Ok((path, width, height))
    })
    .await
    .map_err(std::io::Error::other)?
}
