//! Running tonearm as a child process: wall clock, CPU time and peak RSS of a command,
//! the running server's memory, and a description of the machine.
//!
//! Peak RSS comes from `wait4`'s `ru_maxrss`, read by a small shim process (this same
//! binary, started with [`SHIM_ARG`]) that starts the measured command and waits for
//! it. The shim is needed because Linux counts in a child's `ru_maxrss` the memory of
//! the process image it replaced at `exec`: with `posix_spawn`/`vfork` (what Rust's
//! `Command` uses) that is the *parent's* address space, so waiting directly from the
//! benchmark would report max(benchmark's own peak, tonearm's peak). The shim's own
//! image is a freshly started process of a couple of MiB, far below any tonearm
//! figure, so what it reports is tonearm's peak.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// First argument that turns this binary into the measuring shim:
/// `bench __rusage OUT PROGRAM ARGS...` runs PROGRAM, writes
/// "wall_seconds maxrss_kib user_seconds system_seconds exit_code" to OUT and exits
/// with PROGRAM's code.
pub const SHIM_ARG: &str = "__rusage";

pub fn shim_main(args: Vec<OsString>) -> ! {
    let code = match shim(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench rusage shim: {e:#}");
            127
        }
    };
    std::process::exit(code)
}

fn shim(args: &[OsString]) -> anyhow::Result<i32> {
    let [_, _, out, program, rest @ ..] = args else {
        bail!("usage: bench {SHIM_ARG} OUT PROGRAM [ARGS...]");
    };
    let started = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .spawn()
        .with_context(|| format!("cannot start {}", program.to_string_lossy()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; the pid is our own unreaped child (`child` is
    // never waited for through std, so there is no double wait).
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    if rc != pid {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        125
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    std::fs::write(
        out,
        format!(
            "{wall} {} {} {} {code}\n",
            // Linux reports ru_maxrss in KiB.
            usage.ru_maxrss,
            seconds(usage.ru_utime),
            seconds(usage.ru_stime)
        ),
    )?;
    drop(child);
    Ok(code)
}

/// What a measured command cost, and what it printed.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub user: f64,
    pub system: f64,
    pub stdout: String,
}

/// Runs `program args` through the shim and measures it; fails if it fails.
pub fn measure(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    scratch: &Path,
) -> anyhow::Result<Measured> {
    let out = scratch.join("rusage.txt");
    let _ = std::fs::remove_file(&out);
    let output = Command::new(std::env::current_exe()?)
        .arg(SHIM_ARG)
        .arg(&out)
        .arg(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .context("cannot start the measuring shim")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{} {} failed ({}):\n{stdout}{}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = std::fs::read_to_string(&out).context("the shim wrote no measurement")?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [wall, rss, user, system, _code] = fields[..] else {
        bail!("unexpected shim output {text:?}");
    };
    Ok(Measured {
        wall: Duration::from_secs_f64(wall.parse()?),
        peak_rss_kib: rss.parse()?,
        user: user.parse()?,
        system: system.parse()?,
        stdout,
    })
}

/// Runs a command to completion and returns its standard output; fails if it fails.
pub fn run(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A running `tonearm serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub startup: Duration,
}

impl Server {
    /// Starts the server; its standard error (warnings, slow statements) goes to `log`.
    pub fn start(
        program: &Path,
        data: &Path,
        database_args: &[&str],
        admin_password: &str,
        log: &Path,
    ) -> anyhow::Result<Server> {
        let log = std::fs::File::create(log)?;
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(["serve", "--no-scan", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(database_args)
            .env("TONEARM_ADMIN_PASSWORD", admin_password)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("cannot start tonearm serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.strip_prefix("tonearm listening on ") {
                        break address.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("tonearm serve exited before printing its address");
                }
            }
        };
        let startup = started.elapsed();
        if !base.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            bail!("tonearm listens on {base}, not on the loopback address asked for");
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server {
            child,
            base,
            startup,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    /// Stops the server as an operator would (SIGTERM: it finishes and closes its
    /// database), or kills it if it has not stopped within 10 s.
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of /proc/PID/status in KiB (VmRSS, VmHWM, ...).
pub fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// The machine, for the report: cores, CPU model, memory, kernel.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {:.1} GiB RAM, Linux {}",
        memory_kib as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}

/// The source tree's commit, with "+ uncommitted changes" when src/ differs from it.
pub fn source_version(repo: &Path) -> String {
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--", "src"]).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit} + uncommitted changes in src/")
            } else {
                commit
            }
        }
        None => "unknown".into(),
    }
}

/// Total size of the files in a folder (not recursive): the database and its WAL.
pub fn folder_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Watches how busy the machine is, to tell how much of it other processes took
/// during a measurement (a compiler running alongside skews every figure).
pub struct CpuWatch {
    started: Instant,
    busy: Option<u64>,
}

impl CpuWatch {
    pub fn start() -> CpuWatch {
        CpuWatch {
            started: Instant::now(),
            busy: busy_ticks(),
        }
    }

    /// Average cores used since the start by processes other than ours, given the CPU
    /// seconds ours used.
    pub fn others(&self, ours_seconds: f64) -> Option<f64> {
        let ticks = busy_ticks()?.checked_sub(self.busy?)?;
        let busy_seconds = ticks as f64 / clock_ticks_per_second();
        Some(((busy_seconds - ours_seconds) / self.wall()).max(0.0))
    }

    /// `seconds` of CPU over the time since the start, as average cores.
    pub fn cores(&self, seconds: f64) -> Option<f64> {
        Some(seconds / self.wall())
    }

    fn wall(&self) -> f64 {
        self.started.elapsed().as_secs_f64().max(1e-9)
    }
}

/// Non-idle CPU time of the whole machine, in clock ticks (first line of /proc/stat:
/// everything but idle and iowait).
fn busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    Some(
        fields
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3 && *i != 4)
            .map(|(_, v)| v)
            .sum(),
    )
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// User + system CPU seconds a process has used so far ("self" for this one).
pub fn process_cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after "pid (comm) ": state is field 3, utime 14 and stime 15.
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / clock_ticks_per_second()
}
