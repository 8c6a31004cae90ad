//! The scanner: walks catalogs, reads tags of new and changed files on a thread pool,
//! and writes them to the store in large transactions.
//!
//! A rescan stats every file but reads tags only where size or mtime changed. Each
//! batch is one transaction and the catalog stays marked dirty until the counts are
//! recomputed, so a scan killed at any point is finished correctly by the next one.

pub mod tags;
pub mod video;
pub mod walk;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::model::{FolderArt, KnownFile, ScannedFile};
use crate::store::catalogs::{Catalog, CatalogKind};
use crate::store::library::LibraryWriter;
use crate::store::Store;
use walk::FoundFile;

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
    pub seconds: f64,
}

impl ScanSummary {
    fn absorb(&mut self, other: ScanSummary) {
        self.seen += other.seen;
        self.added += other.added;
        self.updated += other.updated;
        self.removed += other.removed;
        self.skipped += other.skipped;
    }
}

impl std::fmt::Display for ScanSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files seen, {} added, {} updated, {} removed, {} skipped as bad, {:.2} s",
            self.seen, self.added, self.updated, self.removed, self.skipped, self.seconds
        )
    }
}

/// Receives progress as a scan goes: a terminal progress bar or log lines.
pub trait Progress: Send + Sync {
    fn catalog_started(&self, catalog: &Catalog, files: u64, to_read: u64);
    fn files_done(&self, count: u64);
    fn catalog_finished(&self, catalog: &Catalog, summary: &ScanSummary);
}

/// Progress as log lines, for the server's background scan: a line when a catalog
/// starts, one every 10,000 files read, and one at the end.
#[derive(Default)]
pub struct LogProgress {
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl Progress for LogProgress {
    fn catalog_started(&self, catalog: &Catalog, files: u64, to_read: u64) {
        use std::sync::atomic::Ordering;
        self.done.store(0, Ordering::Relaxed);
        self.total.store(to_read, Ordering::Relaxed);
        tracing::info!(catalog = %catalog.path, files, to_read, "scanning catalog");
    }
    fn files_done(&self, count: u64) {
        use std::sync::atomic::Ordering;
        let before = self.done.fetch_add(count, Ordering::Relaxed);
        let after = before + count;
        if after / 10_000 > before / 10_000 {
            tracing::info!(
                "scan progress: {after} of {} files read",
                self.total.load(Ordering::Relaxed)
            );
        }
    }
    fn catalog_finished(&self, catalog: &Catalog, summary: &ScanSummary) {
        tracing::info!(catalog = %catalog.path, "scan finished: {summary}");
    }
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
        let summary = scan_catalog(store, &catalog, options, progress.clone())
            .await
            .with_context(|| format!("scanning {}", catalog.path))?;
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
    let started = Instant::now();
    let root = std::path::PathBuf::from(&catalog.path);
    let kind = catalog.kind;
    let found = tokio::task::spawn_blocking(move || walk::walk(&root, kind)).await??;
    let known = store.known_files(catalog.id).await?;

    let mut summary = ScanSummary {
        seen: found.files.len() as u64,
        ..ScanSummary::default()
    };
    let seen: HashSet<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
    let gone: Vec<String> = known
        .keys()
        .filter(|path| !seen.contains(path.as_str()))
        .cloned()
        .collect();
    let to_read: Vec<FoundFile> = found
        .files
        .iter()
        .filter(|file| options.full || is_new_or_changed(file, known.get(&file.path)))
        .cloned()
        .collect();
    progress.catalog_started(catalog, summary.seen, to_read.len() as u64);
    let metrics = crate::metrics::metrics();
    metrics.scan_files_total.set(to_read.len() as i64);
    metrics.scan_files_done.set(0);

    // A scan killed before it rebuilt the text index left it missing: build it now.
    store.ensure_text_index().await?;
    let deferred_index = to_read.len() >= crate::store::text_index::DEFER_INDEX_FILES
        && store.defer_text_index().await?;
    if !to_read.is_empty() {
        let outcome =
            read_and_write(store, catalog, to_read, found.folder_art, &known, &progress).await?;
        summary.added = outcome.added;
        summary.updated = outcome.updated;
        summary.skipped = outcome.skipped;
    }
    if deferred_index {
        store.ensure_text_index().await?;
    }
    if !gone.is_empty() {
        summary.removed = store.remove_files(catalog.id, &gone).await?;
    }
    let changed = summary.added + summary.updated + summary.removed + summary.skipped > 0;
    if changed || catalog.dirty {
        store.recount().await?;
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
    progress: &Arc<dyn Progress>,
) -> anyhow::Result<crate::store::library::BatchOutcome> {
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
    let mut total = crate::store::library::BatchOutcome::default();
    let mut batch = Vec::with_capacity(BATCH_SIZE);
    loop {
        let next = receiver.recv().await;
        let done = next.is_none();
        if let Some(file) = next {
            batch.push(file);
        }
        if batch.len() >= BATCH_SIZE || (done && !batch.is_empty()) {
            let count = batch.len() as u64;
            let outcome = writer.write(std::mem::take(&mut batch), known).await?;
            total.added += outcome.added;
            total.updated += outcome.updated;
            total.skipped += outcome.skipped;
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
