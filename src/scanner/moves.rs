//! Moved files: a path gone from the disk and a new path holding the same file.
//!
//! A candidate pair has the same size and mtime (a move or rename keeps both) and,
//! when several vanished files share those, the same file name. It is confirmed when
//! the new file's tags are read: the same title and duration as stored. The row then
//! takes the new path, so the song keeps its id and with it its playlists, ratings
//! and plays; otherwise the new file is a new song and the old one is cleaned.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::model::{KnownFile, KnownKind, ScannedFile};
use crate::store::catalog_files::StoredFile;
use crate::store::catalogs::Catalog;
use crate::store::Store;

use super::walk::FoundFile;

/// What a pass wrote: the batch counts, and the old paths of confirmed moves.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
    pub moved: HashSet<String>,
}

/// The candidates of a pass, confirmed batch by batch as their tags are read.
#[derive(Clone, Copy)]
pub struct Moves<'a> {
    /// New path → the stored file it may be.
    pub candidates: &'a HashMap<String, StoredFile>,
    /// Whether the pass adds new files; if not, a candidate that is not confirmed
    /// is left alone.
    pub add: bool,
}

impl Moves<'_> {
    /// Splits a batch into the files to write and the confirmed moves (new path →
    /// old path).
    pub fn confirm(
        &self,
        batch: Vec<ScannedFile>,
        known: &HashMap<String, KnownFile>,
    ) -> (Vec<ScannedFile>, HashMap<String, String>) {
        let mut moved = HashMap::new();
        let mut keep = Vec::with_capacity(batch.len());
        for file in batch {
            let path = file.path().to_string();
            let confirmed = match (self.candidates.get(&path), &file) {
                (Some(old), ScannedFile::Track { info, .. }) => {
                    old.kind == KnownKind::Song
                        && old.title == info.title
                        && (old.duration - info.duration).abs() < 1.0
                }
                (Some(old), ScannedFile::Video { .. }) => old.kind == KnownKind::Video,
                _ => false,
            };
            if confirmed {
                if let Some(old) = self.candidates.get(&path) {
                    moved.insert(path, old.path.clone());
                }
                keep.push(file);
            } else if self.add || known.contains_key(&path) {
                keep.push(file);
            }
        }
        (keep, moved)
    }
}

/// Pairs new files with vanished ones. `gone` are the known paths of the pass's
/// scope no longer on disk. A pass over a few paths (the watcher's) may see only the
/// new end of a move: it also looks for stored files of the same size elsewhere in
/// the catalog whose file is gone, and adds them to `known`.
pub async fn candidates(
    store: &Store,
    catalog: &Catalog,
    gone: &[String],
    new_files: &[&FoundFile],
    known: &mut HashMap<String, KnownFile>,
    scoped: bool,
) -> anyhow::Result<HashMap<String, StoredFile>> {
    let mut pairs = HashMap::new();
    if new_files.is_empty() {
        return Ok(pairs);
    }
    let new_keys: HashSet<(i64, i64)> = new_files.iter().map(|f| (f.size, f.mtime)).collect();
    let vanished: Vec<String> = gone
        .iter()
        .filter(|path| {
            known.get(*path).is_some_and(|k| {
                k.kind != KnownKind::Skipped && new_keys.contains(&(k.size, k.mtime))
            })
        })
        .cloned()
        .collect();
    let mut pool: Vec<StoredFile> = if vanished.is_empty() {
        Vec::new()
    } else {
        store.stored_files(&vanished).await?
    };
    if scoped {
        let mut sizes: Vec<i64> = new_files.iter().map(|f| f.size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let listed: HashSet<String> = pool.iter().map(|f| f.path.clone()).collect();
        let new_paths: HashSet<&str> = new_files.iter().map(|f| f.path.as_str()).collect();
        for stored in store.files_with_sizes(catalog.id, &sizes).await? {
            if listed.contains(&stored.path)
                || new_paths.contains(stored.path.as_str())
                || !new_keys.contains(&(stored.size, stored.mtime))
                || Path::new(&stored.path).exists()
            {
                continue;
            }
            known.insert(
                stored.path.clone(),
                KnownFile {
                    size: stored.size,
                    mtime: stored.mtime,
                    kind: stored.kind,
                },
            );
            pool.push(stored);
        }
    }
    if pool.is_empty() {
        return Ok(pairs);
    }
    let mut by_key: HashMap<(i64, i64), Vec<StoredFile>> = HashMap::new();
    for stored in pool {
        by_key
            .entry((stored.size, stored.mtime))
            .or_default()
            .push(stored);
    }
    for file in new_files {
        let Some(list) = by_key.get_mut(&(file.size, file.mtime)) else {
            continue;
        };
        let name = Path::new(&file.path).file_name();
        let chosen = match list
            .iter()
            .position(|s| Path::new(&s.path).file_name() == name)
        {
            Some(index) => Some(index),
            None if list.len() == 1 => Some(0),
            None => None,
        };
        if let Some(index) = chosen {
            pairs.insert(file.path.clone(), list.swap_remove(index));
        }
    }
    Ok(pairs)
}
