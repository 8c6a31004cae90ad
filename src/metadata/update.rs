//! The three jobs the API asks for: gather an album's or an artist's art (local
//! sources first, then the services), fetch an artist's information, and list the
//! local artists or songs a service calls similar.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::musicbrainz::is_mbid;
use super::{local, saved, Metadata, ProviderError};
use crate::media::art::Image;
use crate::store::metadata::{ArtistInfo, NewArt};
use crate::store::{fold, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("not found")]
    NotFound,
    /// Nothing local, and no service that could help is configured.
    #[error("{0}")]
    NoProvider(&'static str),
    #[error("{0}")]
    NothingFound(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the art could not be saved: {0}")]
    Io(#[from] std::io::Error),
}

/// Where the art came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtOutcome {
    /// The object had art and overwriting was not asked for.
    Kept,
    Local,
    Fetched(&'static str),
}

/// Gathers an album's art: its folder's cover or a picture in its files' tags, else
/// the Cover Art Archive's front cover of its release (found on MusicBrainz when
/// the tags gave no release id).
pub async fn album_art(
    store: &Store,
    metadata: &Metadata,
    data_dir: &Path,
    id: i64,
    overwrite: bool,
) -> Result<ArtOutcome, UpdateError> {
    let album = store
        .album_subject(id)
        .await?
        .ok_or(UpdateError::NotFound)?;
    if album.has_art && !overwrite {
        return Ok(ArtOutcome::Kept);
    }
    let files = store.album_files(id).await?;
    let paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let cover = tokio::task::spawn_blocking(move || local::album_cover(&paths))
        .await
        .map_err(std::io::Error::other)?;
    let local = match cover {
        Some(image) => Some(NewArt {
            kind: "file",
            path: image.path.to_string_lossy().into_owned(),
            mime: Some(image.mime.to_string()),
            width: i64::from(image.width),
            height: i64::from(image.height),
        }),
        None => files.iter().find(|f| f.embedded_art).map(|f| NewArt {
            kind: "embedded",
            path: f.path.clone(),
            mime: None,
            width: f.art_width,
            height: f.art_height,
        }),
    };
    if let Some(art) = local {
        store.set_album_art(id, &art).await?;
        return Ok(ArtOutcome::Local);
    }
    let Some(coverart) = metadata.coverart() else {
        return Err(UpdateError::NoProvider(
            "nothing was found locally and the Cover Art Archive is not a configured provider",
        ));
    };
    let mbid = match (album.mbid.filter(|m| is_mbid(m)), metadata.musicbrainz()) {
        (Some(mbid), _) => mbid,
        (None, Some(musicbrainz)) => musicbrainz
            .find_release(&album.name, &album.artist)
            .await?
            .ok_or_else(|| UpdateError::NothingFound("MusicBrainz knows no such release".into()))?,
        (None, None) => return Err(UpdateError::NothingFound(
            "the album has no MusicBrainz release id and musicbrainz is not a configured provider"
                .into(),
        )),
    };
    let image = coverart.front(&mbid).await?.ok_or_else(|| {
        UpdateError::NothingFound("the Cover Art Archive has no front cover for it".into())
    })?;
    store_fetched_album_art(store, data_dir, id, &image).await?;
    Ok(ArtOutcome::Fetched("the Cover Art Archive"))
}

async fn store_fetched_album_art(
    store: &Store,
    data_dir: &Path,
    id: i64,
    image: &Image,
) -> Result<(), UpdateError> {
    let (path, width, height) = saved::save(data_dir, &format!("album-{id}"), image).await?;
    store
        .set_album_art(
            id,
            &NewArt {
                kind: "file",
                path: path.to_string_lossy().into_owned(),
                mime: Some(image.mime.clone()),
                width: i64::from(width),
                height: i64::from(height),
            },
        )
        .await?;
    Ok(())
}

/// Gathers an artist's own picture: `artist.jpg` and the like in their folder, else
/// the picture Last.fm has for them.
pub async fn artist_art(
    store: &Store,
    metadata: &Metadata,
    data_dir: &Path,
    id: i64,
    overwrite: bool,
) -> Result<ArtOutcome, UpdateError> {
    let artist = store
        .artist_subject(id)
        .await?
        .ok_or(UpdateError::NotFound)?;
    if artist.has_art && !overwrite {
        return Ok(ArtOutcome::Kept);
    }
    let files = store.artist_files(id).await?;
    let roots: Vec<PathBuf> = store
        .catalogs()
        .await?
        .into_iter()
        .map(|c| PathBuf::from(c.path))
        .collect();
    let name = artist.name.clone();
    let picture = tokio::task::spawn_blocking(move || local::artist_picture(&name, &files, &roots))
        .await
        .map_err(std::io::Error::other)?;
    if let Some(picture) = picture {
        store
            .set_artist_art(id, &picture.path.to_string_lossy(), picture.mime)
            .await?;
        return Ok(ArtOutcome::Local);
    }
    let Some(lastfm) = metadata.lastfm() else {
        return Err(UpdateError::NoProvider(
            "nothing was found locally and Last.fm is not a configured provider",
        ));
    };
    let url = lastfm
        .artist_info(&artist.name)
        .await?
        .and_then(|info| info.image)
        .ok_or_else(|| UpdateError::NothingFound("Last.fm has no picture of this artist".into()))?;
    let image = lastfm
        .image(&url)
        .await?
        .ok_or_else(|| UpdateError::NothingFound("Last.fm's picture is gone".into()))?;
    let (path, _, _) = saved::save(data_dir, &format!("artist-{id}"), &image).await?;
    store
        .set_artist_art(id, &path.to_string_lossy(), &image.mime)
        .await?;
    Ok(ArtOutcome::Fetched("Last.fm"))
}

/// Fetches and stores an artist's MusicBrainz id, year and place formed
/// (MusicBrainz) and biography summary (Last.fm).
pub async fn artist_info(
    store: &Store,
    metadata: &Metadata,
    id: i64,
) -> Result<ArtistInfo, UpdateError> {
    let artist = store
        .artist_subject(id)
        .await?
        .ok_or(UpdateError::NotFound)?;
    let (musicbrainz, lastfm) = (metadata.musicbrainz(), metadata.lastfm());
    if musicbrainz.is_none() && lastfm.is_none() {
        return Err(UpdateError::NoProvider(
            "neither MusicBrainz nor Last.fm is a configured provider",
        ));
    }
    let mut info = ArtistInfo::default();
    let mut found = false;
    if let Some(musicbrainz) = musicbrainz {
        let hit = match artist.mbid.as_deref().filter(|m| is_mbid(m)) {
            Some(mbid) => musicbrainz.artist(mbid).await?,
            None => musicbrainz.find_artist(&artist.name).await?,
        };
        if let Some(hit) = hit {
            found = true;
            info.mbid = Some(hit.mbid);
            info.year_formed = hit.year_formed;
            info.place_formed = hit.place_formed;
        }
    }
    if let Some(lastfm) = lastfm {
        if let Some(hit) = lastfm.artist_info(&artist.name).await? {
            found = true;
            info.summary = hit.summary;
            if info.mbid.is_none() {
                info.mbid = hit.mbid.filter(|m| is_mbid(m));
            }
        }
    }
    if !found {
        return Err(UpdateError::NothingFound(
            "no configured service knows this artist".into(),
        ));
    }
    store.set_artist_info(id, &info).await?;
    Ok(info)
}

fn lastfm_needed(metadata: &Metadata) -> Result<super::lastfm::Lastfm<'_>, UpdateError> {
    metadata.lastfm().ok_or(UpdateError::NoProvider(
        "similar items come from Last.fm, which is not a configured provider",
    ))
}

/// Local artists Last.fm calls similar to artist `id`, most similar first.
pub async fn similar_artists(
    store: &Store,
    metadata: &Metadata,
    id: i64,
) -> Result<Vec<i64>, UpdateError> {
    let artist = store
        .artist_subject(id)
        .await?
        .ok_or(UpdateError::NotFound)?;
    let similar = lastfm_needed(metadata)?
        .similar_artists(&artist.name)
        .await?;
    let names: Vec<String> = similar.iter().map(|s| s.name.clone()).collect();
    let mbids: Vec<String> = similar
        .iter()
        .filter_map(|s| s.mbid.clone())
        .filter(|m| is_mbid(m))
        .collect();
    let local = store.artists_named(&names, &mbids).await?;
    let mut seen = HashSet::from([id]);
    let mut out = Vec::new();
    for wanted in &similar {
        let folded = fold(&wanted.name);
        let hit = local
            .iter()
            .find(|(_, _, mbid)| mbid.is_some() && mbid == &wanted.mbid)
            .or_else(|| local.iter().find(|(_, name, _)| *name == folded));
        if let Some((artist_id, _, _)) = hit {
            if seen.insert(*artist_id) {
                out.push(*artist_id);
            }
        }
    }
    Ok(out)
}

/// Local songs Last.fm calls similar to song `id` (same title and artist, or the
/// same MusicBrainz id), most similar first.
pub async fn similar_songs(
    store: &Store,
    metadata: &Metadata,
    id: i64,
) -> Result<Vec<i64>, UpdateError> {
    let (title, artist) = store.song_subject(id).await?.ok_or(UpdateError::NotFound)?;
    let similar = lastfm_needed(metadata)?
        .similar_tracks(&artist, &title)
        .await?;
    let titles: Vec<String> = similar.iter().map(|s| s.name.clone()).collect();
    let local = store.songs_titled(&titles).await?;
    let mut seen = HashSet::from([id]);
    let mut out = Vec::new();
    for wanted in &similar {
        let title = fold(&wanted.name);
        let artist = wanted.artist.as_deref().map(fold);
        for (song_id, local_title, local_artist, mbid) in &local {
            let same_id = mbid.is_some() && mbid == &wanted.mbid;
            let same_names = *local_title == title && Some(local_artist) == artist.as_ref();
            if (same_id || same_names) && seen.insert(*song_id) {
                out.push(*song_id);
            }
        }
    }
    Ok(out)
}
