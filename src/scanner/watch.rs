//! The filesystem watcher: changed paths under a catalog become a pass over those
//! paths alone (see [`super::upkeep`]), debounced, so a file added, changed, moved or
//! deleted shows in the API within seconds, without a rescan.
//!
//! Where a catalog cannot be watched (a network file system, or the inotify watch
//! limit reached, even part-way through a tree), that is logged and the periodic
//! rescans keep it in step instead; a watch limit hit later also asks for a rescan
//! at once, since some folder may be unwatched.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::{self, EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};

use super::upkeep::{FileMode, Task, Upkeep};
use crate::store::catalogs::Catalog;

/// Quiet time before a path's events are handled: a file being copied is read
/// once it is complete, and a change is still visible well within 3 s.
const DEBOUNCE: Duration = Duration::from_millis(400);

/// Keeps the watches alive; dropping it stops them.
pub struct Watcher {
    _debouncer: Box<dyn std::any::Any + Send>,
}

/// Watches every catalog; None when no catalog could be watched.
pub fn start(upkeep: Arc<Upkeep>, catalogs: Vec<Catalog>) -> Option<Watcher> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<DebounceEventResult>();
    let mut debouncer = match new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let _ = sender.send(result);
    }) {
        Ok(debouncer) => debouncer,
        Err(e) => {
            tracing::warn!(
                "cannot watch the catalogs ({e}); periodic rescans keep them up to date"
            );
            return None;
        }
    };
    let mut watched = Vec::new();
    for catalog in catalogs.into_iter().filter(|c| c.enabled) {
        match debouncer.watch(&catalog.path, RecursiveMode::Recursive) {
            Ok(()) => {
                tracing::info!(catalog = %catalog.path, "watching for changes");
                watched.push(catalog);
            }
            Err(e) => {
                let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch);
                tracing::warn!(
                    catalog = %catalog.path,
                    "cannot watch this catalog{} ({e}); periodic rescans keep it up to date",
                    if limit { ": the system's limit of watched folders is reached (fs.inotify.max_user_watches)" } else { "" }
                );
                if limit {
                    // Part of the tree may be watched; the rest is not.
                    let _ = debouncer.unwatch(&catalog.path);
                }
            }
        }
    }
    if watched.is_empty() {
        return None;
    }
    tokio::spawn(async move {
        while let Some(result) = receiver.recv().await {
            match result {
                Ok(events) => {
                    let mut changed: HashMap<i64, BTreeSet<PathBuf>> = HashMap::new();
                    for event in events {
                        if matches!(event.kind, EventKind::Access(_)) {
                            continue;
                        }
                        for path in &event.paths {
                            if let Some(catalog) =
                                watched.iter().find(|c| path.starts_with(&c.path))
                            {
                                if is_interesting(path, catalog) {
                                    changed.entry(catalog.id).or_default().insert(path.clone());
                                }
                            }
                        }
                    }
                    for (catalog_id, paths) in changed {
                        tracing::debug!(catalog = catalog_id, "{} changed paths", paths.len());
                        upkeep.submit(
                            catalog_id,
                            Task::Files {
                                paths,
                                mode: FileMode::Sync,
                            },
                        );
                    }
                }
                Err(errors) => {
                    let limit = errors
                        .iter()
                        .any(|e| matches!(e.kind, notify::ErrorKind::MaxFilesWatch));
                    for error in &errors {
                        tracing::warn!("file watcher: {error}");
                    }
                    if limit {
                        tracing::warn!("the watch limit is reached: rescanning so that unwatched folders are seen");
                        for catalog in &watched {
                            upkeep.submit(catalog.id, Task::Rescan);
                        }
                    }
                }
            }
        }
    });
    Some(Watcher {
        _debouncer: Box::new(debouncer),
    })
}

/// A media file of the catalog's kind, or something that may be (or have been) a
/// folder; other files (images, text, an editor's temporary files) are passed over.
fn is_interesting(path: &std::path::Path, catalog: &Catalog) -> bool {
    if super::walk::is_media(path, catalog.kind) || path.is_dir() {
        return true;
    }
    // Gone: a folder, or a file of another kind? A name without a known extension
    // of any kind is taken as a folder.
    if path.exists() {
        return false;
    }
    let ext = super::tags::extension(path);
    !matches!(
        ext.as_str(),
        "jpg"
            | "jpeg"
            | "png"
            | "gif"
            | "txt"
            | "nfo"
            | "cue"
            | "log"
            | "m3u"
            | "tmp"
            | "part"
            | "swp"
    )
}
