//! Transcoding through ffmpeg, with a cache on disk that makes transcodes seekable.
//!
//! A transcode is a job: one ffmpeg child (tokio::process, killed when dropped)
//! whose output a task writes, as fast as ffmpeg makes it, into a temporary file in
//! the cache folder. Every client of the job reads that file behind the writer, so
//! the first client hears the first bytes as soon as ffmpeg writes them, a second
//! client of the same transcode joins the job instead of starting another, and a
//! seek (a Range) can be answered from the file. When ffmpeg ends well the file is
//! published in the cache ([`cache`]); later requests are served from it like any
//! file, with exact lengths and ranges.
//!
//! Limits: at most `max_processes` ffmpeg processes at once (a request waits up to
//! [`PERMIT_WAIT`] for one, then gets 503); when the last client of a job goes away
//! before the job is done its ffmpeg is killed at once and the partial file removed;
//! at shutdown every ffmpeg is killed and reaped.

pub mod cache;
pub mod plan;
pub mod profile;
pub mod serve;

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use tokio::io::AsyncReadExt;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

pub use profile::{TranscodeConfig, TranscodeSettings};

/// How long a request waits for a free ffmpeg slot.
pub const PERMIT_WAIT: Duration = Duration::from_secs(10);

/// How much one read of a job's output takes.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    #[error("ffmpeg was not found (tried to run {0:?}); transcoding is not available, raw streams still are")]
    Missing(PathBuf),
    #[error("{0} transcodes are running already; try again shortly")]
    Busy(usize),
    #[error("the server is stopping")]
    Stopping,
    #[error("ffmpeg failed: {0}")]
    Failed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Running,
    /// ffmpeg ended well; `written` is the whole output.
    Done,
    Failed(String),
}

#[derive(Debug, Clone)]
struct Progress {
    written: u64,
    state: State,
}

/// One running ffmpeg and the file its output goes to.
struct Job {
    key: String,
    file: Arc<std::fs::File>,
    progress: watch::Receiver<Progress>,
    /// Clients reading this job; the job is cancelled when the last one leaves early.
    readers: AtomicUsize,
    cancel: watch::Sender<bool>,
}

struct Inner {
    settings: TranscodeSettings,
    dir: PathBuf,
    permits: Arc<Semaphore>,
    /// Running jobs whose output will be cached, by cache key.
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    shutdown: watch::Sender<bool>,
    /// ffmpeg children not yet reaped.
    children: AtomicUsize,
}

/// The transcoding service the play endpoint uses; one per process.
#[derive(Clone)]
pub struct Transcoder {
    inner: Arc<Inner>,
}

/// A transcode ready to be served.
pub enum Opened {
    /// Complete in the cache: a plain file.
    Cached { path: PathBuf, size: u64 },
    /// Being made (or, for a seek with `frame`, made for this client only).
    Live(Reader),
}

/// What ffmpeg is to do: the source file and the output options.
pub struct Command<'a> {
    pub source: &'a Path,
    /// Seconds to start at.
    pub offset: f64,
    pub output_args: Vec<String>,
    /// Once ffmpeg has written this much (its client's lead is then long), it runs
    /// at a lower CPU priority, so that a transcode starting later gets its first
    /// bytes out quickly while others run.
    pub lead_bytes: u64,
}

/// The nice value of a transcode past its lead.
const BACKGROUND_NICE: libc::c_int = 10;

impl Transcoder {
    pub fn new(settings: TranscodeSettings, data_dir: &Path) -> Transcoder {
        let (shutdown, _) = watch::channel(false);
        // Leftovers of a process that was killed while it transcoded go now, not
        // an hour later; the cache is trimmed to its size as it would be after a
        // transcode.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (dir, limit) = (cache::cache_dir(data_dir), settings.cache_bytes);
            runtime.spawn_blocking(move || {
                if dir.exists() {
                    if let Err(e) = cache::evict(&dir, limit) {
                        tracing::warn!("cannot trim the transcode cache: {e}");
                    }
                }
            });
        }
        Transcoder {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(settings.max_processes)),
                settings,
                dir: cache::cache_dir(data_dir),
                jobs: Mutex::new(HashMap::new()),
                shutdown,
                children: AtomicUsize::new(0),
            }),
        }
    }

    pub fn settings(&self) -> &TranscodeSettings {
        &self.inner.settings
    }

    /// The finished transcode of `key`, if the cache has it.
    pub async fn cached(&self, key: &str, extension: &str) -> Option<(PathBuf, u64)> {
        let path = cache::final_path(&self.inner.dir, key, extension);
        let meta = tokio::fs::metadata(&path).await.ok()?;
        if !meta.is_file() {
            return None;
        }
        let touched = path.clone();
        tokio::task::spawn_blocking(move || cache::touch(&touched));
        Some((path, meta.len()))
    }

    /// The transcode `key` (cached when `cacheable`, else made for this caller only):
    /// from the cache, by joining the job making it, or by starting ffmpeg.
    pub async fn open(
        &self,
        key: &str,
        extension: &str,
        command: Command<'_>,
        cacheable: bool,
    ) -> Result<Opened, TranscodeError> {
        if *self.inner.shutdown.borrow() {
            return Err(TranscodeError::Stopping);
        }
        if cacheable {
            if let Some((path, size)) = self.cached(key, extension).await {
                return Ok(Opened::Cached { path, size });
            }
            if let Some(reader) = self.join(key) {
                return Ok(Opened::Live(reader));
            }
        }
        let permit =
            match tokio::time::timeout(PERMIT_WAIT, self.inner.permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(TranscodeError::Stopping),
                Err(_) => return Err(TranscodeError::Busy(self.inner.settings.max_processes)),
            };
        if cacheable {
            // Another request may have started or finished it while this one waited.
            if let Some((path, size)) = self.cached(key, extension).await {
                return Ok(Opened::Cached { path, size });
            }
            if let Some(reader) = self.join(key) {
                return Ok(Opened::Live(reader));
            }
        }
        let publish_to = cacheable.then(|| cache::final_path(&self.inner.dir, key, extension));
        self.start(key, command, publish_to, permit)
            .await
            .map(Opened::Live)
    }

    fn join(&self, key: &str) -> Option<Reader> {
        let jobs = self.inner.jobs.lock().ok()?;
        let job = jobs.get(key)?;
        job.readers.fetch_add(1, Ordering::SeqCst);
        Some(Reader::new(job.clone(), self.inner.clone()))
    }

    async fn start(
        &self,
        key: &str,
        command: Command<'_>,
        publish_to: Option<PathBuf>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Reader, TranscodeError> {
        let settings = &self.inner.settings;
        tokio::fs::create_dir_all(&self.inner.dir).await?;
        let part = cache::part_path(&self.inner.dir, key);
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&part)?;
        // Locked while this process has it open: a sweep takes an unlocked part for
        // the leftover of a process that died (see `cache::evict`).
        let _ = file.try_lock();
        let mut ffmpeg = tokio::process::Command::new(&settings.ffmpeg);
        ffmpeg.args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-protocol_whitelist",
            "file",
        ]);
        if command.offset > 0.0 {
            ffmpeg.args(["-ss", &format!("{:.3}", command.offset)]);
        }
        // `file:` keeps a name with a colon from being read as a protocol.
        let mut input = std::ffi::OsString::from("file:");
        input.push(command.source.as_os_str());
        ffmpeg
            .arg("-i")
            .arg(input)
            .args(["-map", "0:a:0", "-vn"])
            .args(&command.output_args)
            .arg("pipe:1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match spawn(ffmpeg).await {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                        TranscodeError::Missing(settings.ffmpeg.clone())
                    }
                    _ => TranscodeError::Io(e),
                });
            }
        };
        self.inner.children.fetch_add(1, Ordering::SeqCst);
        crate::metrics::metrics().transcodes_running.inc();
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = std::fs::remove_file(&part);
            self.inner.children.fetch_sub(1, Ordering::SeqCst);
            crate::metrics::metrics().transcodes_running.dec();
            return Err(TranscodeError::Failed("no output pipe".into()));
        };
        let (progress_tx, progress) = watch::channel(Progress {
            written: 0,
            state: State::Running,
        });
        let (cancel, _) = watch::channel(false);
        let job = Arc::new(Job {
            key: key.to_string(),
            file: Arc::new(file),
            progress,
            readers: AtomicUsize::new(1),
            cancel,
        });
        if publish_to.is_some() {
            if let Ok(mut jobs) = self.inner.jobs.lock() {
                jobs.insert(key.to_string(), job.clone());
            }
        }
        let driver = Driver {
            lead_bytes: command.lead_bytes,
            inner: self.inner.clone(),
            job: job.clone(),
            part,
            publish_to,
            progress: progress_tx,
            _permit: permit,
        };
        tokio::spawn(driver.run(child, stdout, stderr));
        Ok(Reader::new(job, self.inner.clone()))
    }

    /// Kills every ffmpeg and refuses new transcodes; waits (up to `within`) until
    /// every child is reaped.
    pub async fn shutdown(&self, within: Duration) {
        self.inner.shutdown.send_replace(true);
        self.inner.permits.close();
        let deadline = tokio::time::Instant::now() + within;
        while self.inner.children.load(Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Starts ffmpeg so that it dies with this process. When tonearm is killed
/// (SIGKILL, the OOM killer) nothing of it runs to kill its children, and an ffmpeg
/// that is not writing (a slow input, a seek, a muxer holding its output back) would
/// transcode on, orphaned, until its next write to the closed pipe. So each ffmpeg is
/// started with PR_SET_PDEATHSIG. The kernel sends that signal when the *thread* that
/// forked the child ends, not the process, and tokio's threads come and go (a worker
/// that ran `block_in_place` goes back to the blocking pool, which ends idle
/// threads): every ffmpeg is forked from one thread that lives as long as the process.
async fn spawn(mut command: tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // prctl and getppid, which are async-signal-safe, and builds an error from a
        // raw code without allocating.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // The server died before prctl: nobody will send the signal.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let order = SpawnOrder {
        command,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    spawner()
        .send(order)
        .map_err(|_| std::io::Error::other("the ffmpeg spawner thread is gone"))?;
    answer
        .await
        .map_err(|_| std::io::Error::other("the ffmpeg spawner thread is gone"))?
}

/// A child to start on the spawner thread, and where to send it.
struct SpawnOrder {
    command: tokio::process::Command,
    runtime: tokio::runtime::Handle,
    reply: tokio::sync::oneshot::Sender<std::io::Result<tokio::process::Child>>,
}

/// The thread every ffmpeg is forked from; it lives as long as the process.
fn spawner() -> &'static std::sync::mpsc::Sender<SpawnOrder> {
    static SPAWNER: std::sync::OnceLock<std::sync::mpsc::Sender<SpawnOrder>> =
        std::sync::OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (orders, received) = std::sync::mpsc::channel::<SpawnOrder>();
        let started = std::thread::Builder::new()
            .name("ffmpeg-spawner".into())
            .spawn(move || {
                for mut order in received {
                    // tokio's child handling (reaping, kill on drop) needs the runtime.
                    let _runtime = order.runtime.enter();
                    let _ = order.reply.send(order.command.spawn());
                }
            });
        if let Err(e) = started {
            tracing::error!("cannot start the ffmpeg spawner thread: {e}");
        }
        orders
    })
}

/// The task that owns an ffmpeg child: copies its output into the job's file and
/// ends it, well or not.
struct Driver {
    lead_bytes: u64,
    inner: Arc<Inner>,
    job: Arc<Job>,
    part: PathBuf,
    publish_to: Option<PathBuf>,
    progress: watch::Sender<Progress>,
    _permit: OwnedSemaphorePermit,
}

impl Driver {
    async fn run(
        self,
        mut child: tokio::process::Child,
        mut stdout: tokio::process::ChildStdout,
        mut stderr: tokio::process::ChildStderr,
    ) {
        // ffmpeg runs with `-loglevel error`: a few lines at most; keep the first 4 KiB.
        let errors = tokio::spawn(async move {
            let mut text = Vec::new();
            let mut buf = [0u8; 1024];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                if text.len() < 4096 {
                    text.extend_from_slice(&buf[..n]);
                }
            }
            String::from_utf8_lossy(&text).trim().to_string()
        });
        let mut cancel = self.job.cancel.subscribe();
        let mut shutdown = self.inner.shutdown.subscribe();
        let mut written = 0u64;
        let mut buf = vec![0u8; CHUNK];
        let copied: Result<(), String> = loop {
            let read = tokio::select! {
                biased;
                _ = cancel.wait_for(|c| *c) => Err("every client went away".to_string()),
                _ = shutdown.wait_for(|s| *s) => Err("the server is stopping".to_string()),
                read = stdout.read(&mut buf) => Ok(read),
            };
            let n = match read {
                Err(reason) => break Err(reason),
                Ok(Ok(0)) => break Ok(()),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => break Err(format!("cannot read ffmpeg's output: {e}")),
            };
            let file = self.job.file.clone();
            let chunk = buf[..n].to_vec();
            let at = written;
            match tokio::task::spawn_blocking(move || file.write_all_at(&chunk, at)).await {
                Ok(Ok(())) => {
                    let before = written;
                    written += n as u64;
                    self.progress.send_modify(|p| p.written = written);
                    if before < self.lead_bytes && written >= self.lead_bytes {
                        if let Some(pid) = child.id() {
                            // SAFETY: setpriority takes plain integers and only changes
                            // the scheduling priority of our own child process.
                            unsafe {
                                libc::setpriority(
                                    libc::PRIO_PROCESS,
                                    pid as libc::id_t,
                                    BACKGROUND_NICE,
                                );
                            }
                        }
                    }
                }
                Ok(Err(e)) => break Err(format!("cannot write the transcode cache: {e}")),
                Err(e) => break Err(e.to_string()),
            }
        };
        let outcome = match copied {
            Ok(()) => match child.wait().await {
                Ok(status) if status.success() && written > 0 => Ok(()),
                Ok(status) => {
                    let message = errors.await.unwrap_or_default();
                    Err(if message.is_empty() {
                        format!("ffmpeg ended with {status}")
                    } else {
                        message
                    })
                }
                Err(e) => Err(e.to_string()),
            },
            Err(reason) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                Err(reason)
            }
        };
        self.inner.children.fetch_sub(1, Ordering::SeqCst);
        crate::metrics::metrics().transcodes_running.dec();
        let part = self.part.clone();
        let publish_to = self.publish_to.clone();
        let file = self.job.file.clone();
        let ok = outcome.is_ok();
        let finished = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match publish_to {
                Some(target) if ok => {
                    file.sync_data()?;
                    cache::publish(&part, &target)
                }
                _ => std::fs::remove_file(&part),
            }
        })
        .await;
        if let Ok(Err(e)) = finished {
            tracing::warn!("cannot keep a transcode in the cache: {e}");
        }
        if let Ok(mut jobs) = self.inner.jobs.lock() {
            if jobs
                .get(&self.job.key)
                .is_some_and(|j| Arc::ptr_eq(j, &self.job))
            {
                jobs.remove(&self.job.key);
            }
        }
        self.progress.send_modify(|p| {
            p.state = match &outcome {
                Ok(()) => State::Done,
                Err(reason) => State::Failed(reason.clone()),
            }
        });
        match &outcome {
            Ok(()) if self.publish_to.is_some() => {
                let dir = self.inner.dir.clone();
                let limit = self.inner.settings.cache_bytes;
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = cache::evict(&dir, limit) {
                        tracing::warn!("cannot trim the transcode cache: {e}");
                    }
                });
            }
            Ok(()) => {}
            Err(reason) => tracing::debug!("transcode ended early: {reason}"),
        }
    }
}

/// One client's view of a job: reads its output behind ffmpeg. Dropping the last
/// reader of a running job kills its ffmpeg.
pub struct Reader {
    job: Arc<Job>,
    inner: Arc<Inner>,
    progress: watch::Receiver<Progress>,
    pos: u64,
    /// Stop here (exclusive); with `pad`, fill with zeros up to here if the output
    /// is shorter (an estimated Content-Length was promised).
    end: Option<u64>,
    pad: bool,
    /// Everything this client was promised went out: leaving is no reason to stop the
    /// job, whose output the cache still wants.
    satisfied: bool,
    /// An error was returned: nothing more comes.
    ended: bool,
}

impl Reader {
    fn new(job: Arc<Job>, inner: Arc<Inner>) -> Reader {
        Reader {
            progress: job.progress.clone(),
            job,
            inner,
            pos: 0,
            end: None,
            pad: false,
            satisfied: false,
            ended: false,
        }
    }

    /// Waits until ffmpeg has written something (or ended): Err if it failed first.
    pub async fn first_bytes(&mut self) -> Result<(), TranscodeError> {
        let progress = self
            .progress
            .wait_for(|p| p.written > 0 || p.state != State::Running)
            .await
            .map_err(|_| TranscodeError::Stopping)?
            .clone();
        match progress.state {
            State::Failed(reason) if progress.written == 0 => Err(TranscodeError::Failed(reason)),
            _ => Ok(()),
        }
    }

    /// Waits until the output is complete; its length.
    pub async fn complete(&mut self) -> Result<u64, TranscodeError> {
        let progress = self
            .progress
            .wait_for(|p| p.state != State::Running)
            .await
            .map_err(|_| TranscodeError::Stopping)?
            .clone();
        match progress.state {
            State::Failed(reason) => Err(TranscodeError::Failed(reason)),
            _ => Ok(progress.written),
        }
    }

    /// Serve bytes `start..end` (exclusive); with `pad`, exactly that many.
    pub fn limit(&mut self, start: u64, end: Option<u64>, pad: bool) {
        self.pos = start;
        self.end = end;
        self.pad = pad;
    }

    /// The next piece of output; None at the end.
    pub async fn next(&mut self) -> Option<std::io::Result<Bytes>> {
        if self.ended {
            return None;
        }
        loop {
            let remaining = self.end.map(|end| end.saturating_sub(self.pos));
            if remaining == Some(0) {
                self.satisfied = true;
                return None;
            }
            let progress = self.progress.borrow_and_update().clone();
            if progress.written > self.pos {
                let mut want = (progress.written - self.pos).min(CHUNK as u64);
                if let Some(remaining) = remaining {
                    want = want.min(remaining);
                }
                let file = self.job.file.clone();
                let at = self.pos;
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; want as usize];
                    file.read_exact_at(&mut buf, at).map(|()| buf)
                })
                .await;
                return match read {
                    Ok(Ok(buf)) => {
                        self.pos += buf.len() as u64;
                        Some(Ok(Bytes::from(buf)))
                    }
                    Ok(Err(e)) => {
                        self.ended = true;
                        Some(Err(e))
                    }
                    Err(e) => {
                        self.ended = true;
                        Some(Err(std::io::Error::other(e)))
                    }
                };
            }
            match progress.state {
                State::Done => {
                    return match remaining {
                        Some(n) if self.pad => {
                            let n = n.min(CHUNK as u64);
                            self.pos += n;
                            Some(Ok(Bytes::from(vec![0u8; n as usize])))
                        }
                        _ => None,
                    };
                }
                State::Failed(reason) => {
                    self.ended = true;
                    return Some(Err(std::io::Error::other(reason)));
                }
                State::Running => {
                    if self.progress.changed().await.is_err() {
                        self.ended = true;
                        return Some(Err(std::io::Error::other("the transcode stopped")));
                    }
                }
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Under the jobs lock, so that no request joins a job being cancelled.
        let mut jobs = self.inner.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if self.job.readers.fetch_sub(1, Ordering::SeqCst) == 1
            && !self.satisfied
            && self.job.progress.borrow().state == State::Running
        {
            self.job.cancel.send_replace(true);
            if jobs
                .get(&self.job.key)
                .is_some_and(|j| Arc::ptr_eq(j, &self.job))
            {
                jobs.remove(&self.job.key);
            }
        }
    }
}
