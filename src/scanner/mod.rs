//! The scanner: walks catalogs, reads tags of new and changed files on a thread pool,
//! and writes them to the store in large transactions.
//!
//! A rescan stats every file but reads tags only where size or mtime changed. Each
//! batch is one transaction and the catalog stays marked dirty until the counts are
//! recomputed, so a scan killed at any point is finished correctly by the next one.

mod moves;
pub mod tags;
pub mod upkeep;
pub mod video;
pub mod walk;
pub mod watch;
mod windowed;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::model::{FolderArt, KnownFile, ScannedFile};
use crate::store::catalogs::{Catalog, CatalogKind};
use crate::store::library::LibraryWriter;
use crate::store::Store;
use moves::{Moves, WriteOutcome};
use walk::FoundFile;

/// Whether `path` names a media file of `kind` by its extension.
pub fn is_media_file(path: &std::path::Path, kind: CatalogKind) -> bool {
    walk::is_media(path, kind)
}

/// Files per write transaction: large enough to amortise commits, small enough that an
/// interrupted scan loses little work.
const BATCH_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Read every file's tags again, changed or not.
    pub full: bool,
}

/// What a scan did; the command line prints it and the log records it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanSummary {
    pub seen: u64,
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub skipped: u64,
    /// Files found at a new path and kept as the songs (or videos) they were.
    pub moved: u64,
    pub seconds: f64,
}

impl ScanSummary {
    fn absorb(&mut self, other: ScanSummary) {
        self.seen += other.seen;
        self.added += other.added;
        self.updated += other.updated;
        self.removed += other.removed;
        self.skipped += other.skipped;
        self.moved += other.moved;
    }
}

impl std::fmt::Display for ScanSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files seen, {} added, {} updated, {} removed, ",
            self.seen, self.added, self.updated, self.removed
        )?;
        if self.moved > 0 {
            write!(f, "{} moved, ", self.moved)?;
        }
        write!(f, "{} skipped as bad, {:.2} s", self.skipped, self.seconds)
    }
}

/// Receives progress as a scan goes: a terminal progress bar or log lines.
pub trait Progress: Send + Sync {
    fn catalog_started(&self, catalog: &Catalog, files: u64, to_read: u64);
    fn files_done(&self, count: u64);
    fn catalog_finished(&self, catalog: &Catalog, summary: &ScanSummary);
}

/// Scans every enabled catalog once.
pub async fn scan_all(
    store: &Store,
    options: ScanOptions,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<ScanSummary> {
    let started = Instant::now();
    let mut total = ScanSummary::default();
    for catalog in store.catalogs().await? {
        if !catalog.enabled {
            continue;
        }
        // The lease, as a server's passes take it: never two passes on a catalog.
        let owner = crate::store::catalog_tasks::owner_name();
        let task = upkeep::Task::Rescan;
        upkeep::acquire(store, &owner, &catalog, &task, None, false).await?;
        let beat = upkeep::heartbeat(store, &owner, catalog.id, None);
        let result = scan_catalog(store, &catalog, options, progress.clone()).await;
        beat.abort();
        let text = match &result {
            Ok(summary) => format!("scan: {summary}"),
            Err(e) => format!("scan failed: {e:#}"),
        };
        store
            .release_catalog(catalog.id, &owner, &text, result.is_ok())
            .await?;
        let summary = result.with_context(|| format!("scanning {}", catalog.path))?;
        total.absorb(summary);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

pub async fn scan_catalog(
    store: &Store,
    catalog: &Catalog,
    options: ScanOptions,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<ScanSummary> {
    run_pass(store, catalog, &Pass::rescan(options.full), progress).await
}

/// Which files a pass looks at, and what it does with them.
#[derive(Debug, Clone, Default)]
pub struct Pass {
    /// Store files the store does not know.
    pub add: bool,
    /// Read again files whose size or mtime changed.
    pub update: bool,
    /// Remove files that are gone from the disk.
    pub clean: bool,
    /// Read every file in scope again, changed or not.
    pub full: bool,
    /// Only these paths (files, or folders with everything under them); None: the
    /// whole catalog.
    pub paths: Option<Vec<PathBuf>>,
}

impl Pass {
    /// Everything: what `tonearm scan` and the periodic rescans do.
    pub fn rescan(full: bool) -> Pass {
        Pass {
            add: true,
            update: true,
            clean: true,
            full,
            paths: None,
        }
    }
}

/// Runs `pass` over `catalog`. A moved file (a known path gone, a new path of the
/// same size and mtime whose tags match what is stored) keeps its row and id in any
/// pass, even one that adds nothing.
pub async fn run_pass(
    store: &Store,
    catalog: &Catalog,
    pass: &Pass,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<ScanSummary> {
    let started = Instant::now();
    let root = PathBuf::from(&catalog.path);
    let kind = catalog.kind;
    let (found, mut known) = match &pass.paths {
        None => {
            let found = tokio::task::spawn_blocking(move || walk::walk(&root, kind)).await??;
            (found, store.known_files(catalog.id).await?)
        }
        Some(paths) => {
            let list = paths.clone();
            let found =
                tokio::task::spawn_blocking(move || walk::walk_paths(&root, kind, &list)).await?;
            let mut known = HashMap::new();
            for path in paths {
                let text = path.to_string_lossy();
                known.extend(store.known_files_at(catalog.id, &text, false).await?);
                // A path that is (or, gone, may have been) a folder.
                if path.is_dir() || (!path.exists() && !walk::is_media(path, kind)) {
                    known.extend(store.known_files_at(catalog.id, &text, true).await?);
                }
            }
            (found, known)
        }
    };

    let mut summary = ScanSummary {
        seen: found.files.len() as u64,
        ..ScanSummary::default()
    };
    let seen: HashSet<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
    let mut gone: Vec<String> = known
        .keys()
        .filter(|path| !seen.contains(path.as_str()))
        .cloned()
        .collect();
    let new_files: Vec<&FoundFile> = found
        .files
        .iter()
        .filter(|f| !known.contains_key(&f.path))
        .collect();
    let candidates = moves::candidates(
        store,
        catalog,
        &gone,
        &new_files,
        &mut known,
        pass.paths.is_some(),
    )
    .await?;
    let to_read: Vec<FoundFile> = found
        .files
        .iter()
        .filter(|file| match known.get(&file.path) {
            Some(k) => pass.full || (pass.update && is_new_or_changed(file, Some(k))),
            None => pass.add || candidates.contains_key(&file.path),
        })
        .cloned()
        .collect();
    drop(seen);
    progress.catalog_started(catalog, summary.seen, to_read.len() as u64);
    let metrics = crate::metrics::metrics();
    metrics.scan_files_total.set(to_read.len() as i64);
    metrics.scan_files_done.set(0);

    // A scan killed before it rebuilt the deferred indexes left them missing: build
    // them now.
    store.ensure_deferred_indexes().await?;
    let deferred_index = to_read.len() >= crate::store::deferred_indexes::DEFER_INDEX_FILES
        && store.defer_indexes().await?;
    if !to_read.is_empty() {
        let outcome = read_and_write(
            store,
            catalog,
            to_read,
            found.folder_art,
            &known,
            Moves {
                candidates: &candidates,
                add: pass.add,
            },
            &progress,
        )
        .await?;
        summary.added = outcome.added;
        summary.updated = outcome.updated;
        summary.skipped = outcome.skipped;
        summary.moved = outcome.moved.len() as u64;
        gone.retain(|path| !outcome.moved.contains(path));
    }
    if deferred_index {
        store.ensure_deferred_indexes().await?;
    }
    if pass.clean && !gone.is_empty() {
        summary.removed = store.remove_files(catalog.id, &gone).await?;
    }
    store
        .refresh_planner_statistics(summary.added + summary.updated + summary.removed)
        .await?;
    let changed = summary.added + summary.updated + summary.removed + summary.skipped > 0;
    if changed || (catalog.dirty && pass.paths.is_none()) {
        // Counts of the rows a batch touched are right at every commit; the whole
        // recount (seconds at 100,000 songs on PostgreSQL) only finishes a pass that
        // was killed before it stored the totals.
        if catalog.dirty {
            store.recount().await?;
        } else {
            store.store_library_totals().await?;
        }
        store
            .finish_catalog_scan(
                catalog.id,
                summary.added > 0,
                summary.updated > 0,
                summary.removed > 0,
            )
            .await?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    progress.catalog_finished(catalog, &summary);
    crate::metrics::metrics().scan_files_total.set(0);
    crate::metrics::metrics().scan_files_done.set(0);
    Ok(summary)
}

/// `gather_art`: points the albums of every folder with a cover image at it,
/// parents first so a disc folder's own cover wins over its album folder's.
pub async fn gather_art(store: &Store, catalog: &Catalog) -> anyhow::Result<ScanSummary> {
    let started = Instant::now();
    let root = PathBuf::from(&catalog.path);
    let kind = catalog.kind;
    let found = tokio::task::spawn_blocking(move || walk::walk(&root, kind)).await??;
    let mut folders: Vec<(PathBuf, PathBuf)> = found.folder_art.into_iter().collect();
    folders.sort_by_key(|(folder, _)| folder.components().count());
    let measured = std::sync::Mutex::new(HashMap::new());
    let mut summary = ScanSummary {
        seen: found.files.len() as u64,
        ..ScanSummary::default()
    };
    for (folder, image) in folders {
        let art = measure(image, &measured);
        summary.updated += store
            .set_folder_art(&folder.to_string_lossy(), &art)
            .await?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn is_new_or_changed(file: &FoundFile, known: Option<&KnownFile>) -> bool {
    match known {
        None => true,
        Some(known) => known.size != file.size || known.mtime != file.mtime,
    }
}

/// Reads tags on a rayon pool (never on the async runtime) and writes the results in
/// batches as they arrive.
async fn read_and_write(
    store: &Store,
    catalog: &Catalog,
    files: Vec<FoundFile>,
    folder_art: HashMap<std::path::PathBuf, std::path::PathBuf>,
    known: &HashMap<String, KnownFile>,
    moves: Moves<'_>,
    progress: &Arc<dyn Progress>,
) -> anyhow::Result<WriteOutcome> {
    let (sender, mut receiver) = mpsc::channel::<ScannedFile>(BATCH_SIZE * 2);
    let kind = catalog.kind;
    // Each folder's cover is measured once, by whichever reader thread needs it first.
    let measured: std::sync::Mutex<HashMap<std::path::PathBuf, FolderArt>> = Default::default();
    let reader = tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        files.into_par_iter().try_for_each(|file| {
            let scanned = read_file(file, kind, &folder_art, &measured);
            // A closed channel means the writer failed; stop reading.
            sender.blocking_send(scanned).map_err(|_| ())
        })
    });

    let mut writer = LibraryWriter::new(store.clone(), catalog.id);
    let mut total = WriteOutcome::default();
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    loop {
        let next = receiver.recv().await;
        let done = next.is_none();
        if let Some(file) = next {
            batch.push(file);
        }
        if batch.len() >= BATCH_SIZE || (done && !batch.is_empty()) {
            let count = batch.len() as u64;
            let (files, moved) = moves.confirm(std::mem::take(&mut batch), known);
            let outcome = writer.write(files, known, &moved).await?;
            total.added += outcome.added;
            total.updated += outcome.updated;
            total.skipped += outcome.skipped;
            total.moved.extend(moved.into_values());
            progress.files_done(count);
            crate::metrics::metrics()
                .scan_files_done
                .inc_by(count as i64);
        }
        if done {
            break;
        }
    }
    // A reader that panicked closed the channel early: the loop above ended as if
    // every file had been read. Fail the scan rather than report a short one.
    match reader.await {
        Ok(_) => Ok(total),
        Err(error) => anyhow::bail!("reading tags failed: {error}"),
    }
}

fn read_file(
    file: FoundFile,
    kind: CatalogKind,
    folder_art: &HashMap<std::path::PathBuf, std::path::PathBuf>,
    measured: &std::sync::Mutex<HashMap<std::path::PathBuf, FolderArt>>,
) -> ScannedFile {
    let path = std::path::Path::new(&file.path);
    match kind {
        // An empty file is no video (and no container reader would say why).
        CatalogKind::Video if file.size == 0 => ScannedFile::Skipped {
            path: file.path,
            size: file.size,
            mtime: file.mtime,
            reason: "empty file".into(),
        },
        CatalogKind::Video => ScannedFile::Video {
            info: Box::new(video::read_video(
                path,
                file.size as u64,
                tags::title_from_file_name(path),
                walk::video_mime(path),
            )),
            path: file.path,
            size: file.size,
            mtime: file.mtime,
        },
        CatalogKind::Music => match tags::read_track(path, file.size as u64) {
            Ok(info) => {
                let folder = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
                ScannedFile::Track {
                    folder_art: walk::art_for_folder(&folder, folder_art)
                        .map(|image| measure(image, measured)),
                    path: file.path,
                    size: file.size,
                    mtime: file.mtime,
                    info: Box::new(info),
                }
            }
            Err(reason) => ScannedFile::Skipped {
                path: file.path,
                size: file.size,
                mtime: file.mtime,
                reason,
            },
        },
    }
}

/// The cover image with its type and pixel size, measured once per image.
fn measure(
    image: std::path::PathBuf,
    measured: &std::sync::Mutex<HashMap<std::path::PathBuf, FolderArt>>,
) -> FolderArt {
    if let Some(art) = measured.lock().ok().and_then(|m| m.get(&image).cloned()) {
        return art;
    }
    let mime = if tags::extension(&image) == "png" {
        "image/png"
    } else {
        "image/jpeg"
    };
    // The header alone gives the size; an unreadable image counts as 0 x 0.
    let (width, height) = image::image_dimensions(&image).unwrap_or((0, 0));
    let art = FolderArt {
        path: image.clone(),
        mime,
        width,
        height,
    };
    if let Ok(mut measured) = measured.lock() {
        measured.insert(image, art.clone());
    }
    art
}
