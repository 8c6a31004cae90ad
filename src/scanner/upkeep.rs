//! Catalog upkeep in a running server: one queue of passes (the API's catalog
//! tasks, the watcher's changed paths, periodic rescans), run one at a time.
//!
//! A request for a task that runs already, or waits in the queue, joins it instead
//! of queueing another. Processes sharing a database coordinate through the lease in
//! `catalog_tasks`: a pass runs only while its process holds the catalog's lease; a
//! whole-catalog task that another process is running already is joined (not run
//! again); a periodic rescan another process did recently is skipped.

use std::collections::{BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Notify};

use super::{Pass, Progress, ScanSummary};
use crate::store::catalog_tasks::{owner_is_dead, Claim};
use crate::store::catalogs::Catalog;
use crate::store::{now, Store};

/// What a file-level task does with its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// Bring the store in step with the disk at these paths: add, update, remove,
    /// and keep moved files (the watcher's passes).
    Sync,
    /// Read the files' tags again even if unchanged (`update_from_tags`,
    /// `catalog_file` verify).
    Reread,
    /// Remove the files from the store if they are gone from the disk.
    Clean,
    /// Remove the files from the store, on disk or not.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// New files (`add_to_catalog`).
    Add,
    /// Files gone from the disk (`clean_catalog`).
    Clean,
    /// Files whose size or mtime changed (`verify_catalog`).
    Verify,
    /// Folder images to albums (`gather_art`).
    GatherArt,
    /// All three of add, verify and clean: start-up and periodic rescans.
    Rescan,
    Files {
        paths: BTreeSet<PathBuf>,
        mode: FileMode,
    },
}

impl Task {
    /// The name the lease and the API show.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Add => "add_to_catalog",
            Task::Clean => "clean_catalog",
            Task::Verify => "verify_catalog",
            Task::GatherArt => "gather_art",
            Task::Rescan => "rescan",
            Task::Files { mode, .. } => match mode {
                FileMode::Sync => "files_changed",
                FileMode::Reread => "update_from_tags",
                FileMode::Clean => "clean_files",
                FileMode::Remove => "remove_files",
            },
        }
    }

    fn whole(name: &str) -> Option<Task> {
        match name {
            "add_to_catalog" => Some(Task::Add),
            "clean_catalog" => Some(Task::Clean),
            "verify_catalog" => Some(Task::Verify),
            "gather_art" => Some(Task::GatherArt),
            "rescan" => Some(Task::Rescan),
            _ => None,
        }
    }

    /// Whether running `self` does what `other` asks, so `other` may join it.
    fn covers(&self, other: &Task) -> bool {
        match (self, other) {
            (Task::Files { .. }, _) | (_, Task::Files { .. }) => false,
            (Task::Rescan, Task::Add | Task::Clean | Task::Verify) => true,
            (a, b) => a == b,
        }
    }

    fn pass(&self) -> Option<Pass> {
        let whole = |add, update, clean| Pass {
            add,
            update,
            clean,
            full: false,
            paths: None,
        };
        match self {
            Task::Add => Some(whole(true, false, false)),
            Task::Clean => Some(whole(false, false, true)),
            Task::Verify => Some(whole(false, true, false)),
            Task::Rescan => Some(whole(true, true, true)),
            Task::GatherArt => None,
            Task::Files { paths, mode } => {
                let paths = Some(paths.iter().cloned().collect());
                match mode {
                    FileMode::Sync => Some(Pass {
                        add: true,
                        update: true,
                        clean: true,
                        full: false,
                        paths,
                    }),
                    FileMode::Reread => Some(Pass {
                        add: true,
                        update: true,
                        clean: false,
                        full: true,
                        paths,
                    }),
                    FileMode::Clean => Some(Pass {
                        add: false,
                        update: false,
                        clean: true,
                        full: false,
                        paths,
                    }),
                    FileMode::Remove => None,
                }
            }
        }
    }
}

/// What a waiter learns: the pass's summary (empty when it joined another
/// process's pass or had nothing to do), or why it failed.
pub type Outcome = Result<ScanSummary, String>;

/// Whether a submitted task was queued or joined one queued or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    Queued,
    Joined,
}

struct Entry {
    catalog_id: i64,
    task: Task,
    /// A periodic rescan: skipped if another process did one recently.
    periodic: bool,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

#[derive(Default)]
struct Queue {
    running: Option<(i64, Task)>,
    running_waiters: Vec<oneshot::Sender<Outcome>>,
    pending: VecDeque<Entry>,
}

pub struct Upkeep {
    store: Store,
    /// This process, as the lease names it.
    owner: String,
    queue: Mutex<Queue>,
    wake: Notify,
    /// Seconds between periodic rescans (0: none).
    rescan_interval: u64,
}

impl Upkeep {
    /// The upkeep of this process, with its worker running.
    pub fn start(store: Store, rescan_interval: u64) -> Arc<Upkeep> {
        let upkeep = Arc::new(Upkeep {
            store,
            owner: crate::store::catalog_tasks::owner_name(),
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            rescan_interval,
        });
        let worker = upkeep.clone();
        tokio::spawn(async move { worker.work().await });
        upkeep
    }

    /// Queues `task` on a catalog, or joins the same task queued or running.
    pub fn submit(&self, catalog_id: i64, task: Task) -> Submitted {
        self.enqueue(catalog_id, task, None, false)
    }

    /// Queues `task` (or joins it) and waits until it has run.
    pub async fn run(&self, catalog_id: i64, task: Task) -> Outcome {
        let (sender, receiver) = oneshot::channel();
        self.enqueue(catalog_id, task, Some(sender), false);
        receiver
            .await
            .unwrap_or_else(|_| Err("the upkeep worker stopped".into()))
    }

    fn enqueue(
        &self,
        catalog_id: i64,
        task: Task,
        waiter: Option<oneshot::Sender<Outcome>>,
        periodic: bool,
    ) -> Submitted {
        let Ok(mut guard) = self.queue.lock() else {
            return Submitted::Joined;
        };
        let queue = &mut *guard;
        let joins_running = queue
            .running
            .as_ref()
            .is_some_and(|(running_catalog, running)| {
                *running_catalog == catalog_id && running.covers(&task)
            });
        if joins_running {
            queue.running_waiters.extend(waiter);
            return Submitted::Joined;
        }
        for entry in queue.pending.iter_mut() {
            if entry.catalog_id != catalog_id {
                continue;
            }
            if entry.task.covers(&task) {
                entry.waiters.extend(waiter);
                entry.periodic &= periodic;
                return Submitted::Joined;
            }
            // The watcher's changes pile into the one queued pass of their catalog.
            if let (
                Task::Files { paths, mode },
                Task::Files {
                    paths: more,
                    mode: more_mode,
                },
            ) = (&mut entry.task, &task)
            {
                if mode == more_mode {
                    paths.extend(more.iter().cloned());
                    entry.waiters.extend(waiter);
                    return Submitted::Queued;
                }
            }
        }
        queue.pending.push_back(Entry {
            catalog_id,
            task,
            periodic,
            waiters: waiter.into_iter().collect(),
        });
        drop(guard);
        self.wake.notify_one();
        Submitted::Queued
    }

    async fn work(self: Arc<Self>) {
        loop {
            let next = self.queue.lock().ok().and_then(|mut queue| {
                let entry = queue.pending.pop_front()?;
                queue.running = Some((entry.catalog_id, entry.task.clone()));
                Some(entry)
            });
            let Some(entry) = next else {
                self.wake.notified().await;
                continue;
            };
            let outcome = self.execute(&entry).await;
            if let Err(error) = &outcome {
                tracing::error!(
                    catalog = entry.catalog_id,
                    task = entry.task.name(),
                    "catalog task failed: {error}"
                );
            }
            let joined = self
                .queue
                .lock()
                .map(|mut queue| {
                    queue.running = None;
                    std::mem::take(&mut queue.running_waiters)
                })
                .unwrap_or_default();
            for waiter in entry.waiters.into_iter().chain(joined) {
                let _ = waiter.send(outcome.clone());
            }
        }
    }

    async fn execute(&self, entry: &Entry) -> Outcome {
        let catalog = match self.store.catalog(entry.catalog_id).await {
            Ok(Some(catalog)) if catalog.enabled => catalog,
            Ok(_) => return Err(format!("no enabled catalog {}", entry.catalog_id)),
            Err(e) => return Err(e.to_string()),
        };
        let task = &entry.task;
        let fresh_before = entry
            .periodic
            .then(|| now() - self.rescan_interval as i64 + 5);
        match acquire(&self.store, &self.owner, &catalog, task, fresh_before, true).await {
            Ok(Lease::Held) => {}
            Ok(Lease::Joined) => return Ok(ScanSummary::default()),
            Err(e) => return Err(e.to_string()),
        }
        let progress = Arc::new(TaskProgress::new(task.name()));
        let beat = heartbeat(&self.store, &self.owner, catalog.id, Some(progress.clone()));
        let outcome = self
            .perform(&catalog, task, progress)
            .await
            .map_err(|e| format!("{e:#}"));
        beat.abort();
        let result = match &outcome {
            Ok(summary) => format!("{}: {summary}", task.name()),
            Err(error) => format!("{} failed: {error}", task.name()),
        };
        if let Err(e) = self
            .store
            .release_catalog(catalog.id, &self.owner, &result, *task == Task::Rescan)
            .await
        {
            tracing::error!("cannot release the lease on catalog {}: {e}", catalog.id);
        }
        outcome
    }

    async fn perform(
        &self,
        catalog: &Catalog,
        task: &Task,
        progress: Arc<TaskProgress>,
    ) -> anyhow::Result<ScanSummary> {
        let store = &self.store;
        match (task, task.pass()) {
            (Task::GatherArt, _) => super::gather_art(store, catalog).await,
            (_, Some(pass)) => super::run_pass(store, catalog, &pass, progress).await,
            (Task::Files { paths, .. }, None) => {
                let started = Instant::now();
                let paths: Vec<String> = paths
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                let removed = store.remove_files(catalog.id, &paths).await?;
                if removed > 0 {
                    store.store_library_totals().await?;
                    store
                        .finish_catalog_scan(catalog.id, false, false, true)
                        .await?;
                }
                Ok(ScanSummary {
                    removed,
                    seconds: started.elapsed().as_secs_f64(),
                    ..ScanSummary::default()
                })
            }
            (_, None) => Ok(ScanSummary::default()),
        }
    }

    /// Queues a rescan of every enabled catalog: the server's start-up scan.
    pub async fn rescan_all(&self) -> anyhow::Result<()> {
        for catalog in self.store.catalogs().await? {
            if catalog.enabled {
                self.submit(catalog.id, Task::Rescan);
            }
        }
        Ok(())
    }

    /// Rescans every catalog each `rescan_interval` seconds, by size and mtime: what
    /// keeps the library in step where watching is impossible. Processes sharing a
    /// database take turns (a rescan another one did recently is skipped).
    pub fn start_periodic_rescans(self: &Arc<Self>) {
        if self.rescan_interval == 0 {
            return;
        }
        let upkeep = self.clone();
        tokio::spawn(async move {
            let period = Duration::from_secs((upkeep.rescan_interval / 4).clamp(5, 300));
            loop {
                tokio::time::sleep(period).await;
                let catalogs = match upkeep.store.catalogs().await {
                    Ok(catalogs) => catalogs,
                    Err(e) => {
                        tracing::warn!("periodic rescan: cannot list catalogs: {e}");
                        continue;
                    }
                };
                let tasks = upkeep.store.catalog_tasks().await.unwrap_or_default();
                for catalog in catalogs.into_iter().filter(|c| c.enabled) {
                    let last = tasks
                        .iter()
                        .find(|t| t.catalog_id == catalog.id)
                        .map_or(0, |t| t.last_rescan);
                    if now() - last >= upkeep.rescan_interval as i64 - 5 {
                        upkeep.enqueue(catalog.id, Task::Rescan, None, true);
                    }
                }
            }
        });
    }
}

/// How [`acquire`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// This process holds the catalog's lease: run the task, then release it.
    Held,
    /// Another process runs a task that covers this one (or, for a periodic
    /// rescan, did one recently): nothing to run.
    Joined,
}

/// Waits for the lease on `catalog` to run `task`. A lease left by a process of
/// this machine that has ended is taken at once; one of another machine when its
/// heartbeat goes stale. With `may_join`, another process's run of a task that
/// covers this one is joined; with `fresh_before` (a periodic rescan), a rescan done
/// after that time, or any task running, skips this one.
pub async fn acquire(
    store: &Store,
    owner: &str,
    catalog: &Catalog,
    task: &Task,
    fresh_before: Option<i64>,
    may_join: bool,
) -> crate::store::StoreResult<Lease> {
    let mut told = false;
    loop {
        match store
            .claim_catalog(catalog.id, owner, task.name(), fresh_before)
            .await?
        {
            Claim::Claimed => return Ok(Lease::Held),
            Claim::Fresh if fresh_before.is_some() => return Ok(Lease::Joined),
            Claim::Busy {
                task: other,
                owner: holder,
            } => {
                if owner_is_dead(&holder)
                    && store
                        .take_over_catalog(catalog.id, &holder, owner, task.name())
                        .await?
                {
                    tracing::info!(catalog = %catalog.path, "took over the lease of ended process {holder}");
                    return Ok(Lease::Held);
                }
                let covered = Task::whole(&other).is_some_and(|other| other.covers(task));
                if fresh_before.is_some() || (may_join && covered) {
                    tracing::info!(catalog = %catalog.path, "{} joins another process's {other}", task.name());
                    return Ok(Lease::Joined);
                }
                if !told {
                    tracing::info!(catalog = %catalog.path, "{} waits for another process's {other}", task.name());
                    told = true;
                }
            }
            Claim::Fresh => {}
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Beats the lease every second with the task's figures, until aborted.
pub fn heartbeat(
    store: &Store,
    owner: &str,
    catalog_id: i64,
    progress: Option<Arc<TaskProgress>>,
) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    let owner = owner.to_string();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (done, total) = progress.as_ref().map_or((0, 0), |p| p.figures());
            if let Err(e) = store
                .catalog_heartbeat(catalog_id, &owner, done, total)
                .await
            {
                tracing::warn!("cannot record scan progress: {e}");
            }
        }
    })
}

/// A running task's progress: counted for the lease row (the API's figures) and
/// logged with the rate, every 10,000 files or 10 seconds.
pub struct TaskProgress {
    task: &'static str,
    done: AtomicU64,
    total: AtomicU64,
    started: Mutex<Instant>,
    last_log: Mutex<Instant>,
}

impl TaskProgress {
    pub fn new(task: &'static str) -> TaskProgress {
        TaskProgress {
            task,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            started: Mutex::new(Instant::now()),
            last_log: Mutex::new(Instant::now()),
        }
    }

    /// (files done, files to read) as signed numbers for the store.
    pub fn figures(&self) -> (i64, i64) {
        (
            self.done.load(Ordering::Relaxed) as i64,
            self.total.load(Ordering::Relaxed) as i64,
        )
    }
}

impl Progress for TaskProgress {
    fn catalog_started(&self, catalog: &Catalog, files: u64, to_read: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(to_read, Ordering::Relaxed);
        if let Ok(mut started) = self.started.lock() {
            *started = Instant::now();
        }
        if to_read > 0 {
            tracing::info!(catalog = %catalog.path, task = self.task, files, to_read, "catalog pass started");
        }
    }

    fn files_done(&self, count: u64) {
        let before = self.done.fetch_add(count, Ordering::Relaxed);
        let done = before + count;
        let total = self.total.load(Ordering::Relaxed);
        let due = done / 10_000 > before / 10_000
            || self
                .last_log
                .lock()
                .is_ok_and(|last| last.elapsed() >= Duration::from_secs(10));
        if due {
            if let Ok(mut last) = self.last_log.lock() {
                *last = Instant::now();
            }
            let seconds = self
                .started
                .lock()
                .map(|s| s.elapsed().as_secs_f64())
                .unwrap_or(0.0);
            let rate = if seconds > 0.0 {
                done as f64 / seconds
            } else {
                0.0
            };
            tracing::info!(
                task = self.task,
                "scan progress: {done} files read, {} to do, {rate:.0} files/s",
                total.saturating_sub(done)
            );
        }
    }

    fn catalog_finished(&self, catalog: &Catalog, summary: &ScanSummary) {
        if summary.added + summary.updated + summary.removed + summary.skipped > 0
            || summary.seconds > 1.0
        {
            tracing::info!(catalog = %catalog.path, task = self.task, "catalog pass finished: {summary}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_joins_whom() {
        assert!(Task::Rescan.covers(&Task::Add));
        assert!(Task::Rescan.covers(&Task::Clean));
        assert!(Task::Add.covers(&Task::Add));
        assert!(!Task::Add.covers(&Task::Clean));
        assert!(!Task::Add.covers(&Task::Rescan));
        assert!(!Task::Rescan.covers(&Task::GatherArt));
        let files = Task::Files {
            paths: BTreeSet::from([PathBuf::from("/m/a.mp3")]),
            mode: FileMode::Sync,
        };
        assert!(!files.covers(&files));
        assert!(!Task::Rescan.covers(&files));
        for task in [
            Task::Add,
            Task::Clean,
            Task::Verify,
            Task::GatherArt,
            Task::Rescan,
        ] {
            assert_eq!(Task::whole(task.name()), Some(task));
        }
    }

    #[test]
    fn dead_owners_are_only_those_of_this_machine() {
        let me = crate::store::catalog_tasks::owner_name();
        assert!(!owner_is_dead(&me));
        let host = me.split(':').next().unwrap();
        // Past the kernel's largest pid: no such process.
        assert!(owner_is_dead(&format!("{host}:4194305:abcd")));
        assert!(!owner_is_dead("another-host:4194305:abcd"));
        assert!(!owner_is_dead("garbage"));
    }
}
