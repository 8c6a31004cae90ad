//! PostgreSQL for the benchmark: a throwaway cluster (`--postgres`), and the few
//! statements the benchmark itself runs on the database tonearm is given (emptying it
//! before the first scan, its version and its size).
//!
//! The cluster runs with PostgreSQL's default settings (durability included: fsync,
//! full_page_writes and synchronous_commit as shipped), unlike the tests' cluster, so
//! that its figures are those of an ordinary installation. It listens on 127.0.0.1
//! only, on a free port, with its files in a temporary folder removed at the end.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use sqlx::{Connection, PgConnection};

/// A PostgreSQL server started for this run, stopped (and its files removed) on drop.
pub struct Cluster {
    /// The temporary folder: `data/` (the cluster) and the Unix socket.
    dir: PathBuf,
    /// `postgres`, or `runuser` running it as the postgres user.
    child: Child,
    /// The benchmark's database on it, as the superuser "postgres".
    pub url: String,
}

impl Cluster {
    /// initdb + postgres from the newest /usr/lib/postgresql/*/bin, with the server's
    /// log in `log`; returns once the database `tonearm` exists on it.
    pub fn start(runtime: &tokio::runtime::Runtime, log: &Path) -> anyhow::Result<Cluster> {
        let bin = postgres_bin()?;
        // SAFETY: geteuid has no preconditions.
        let is_root = unsafe { libc::geteuid() } == 0;
        // initdb and postgres refuse to run as root: then they run as the postgres user,
        // which must own the folder.
        let run_as = |program: &str| -> Command {
            let program = bin.join(program);
            if is_root {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            } else {
                Command::new(program)
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("tonearm-bench-pg-")
            .tempdir()?
            .keep();
        if is_root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()?;
            if !status.success() {
                let _ = std::fs::remove_dir_all(&dir);
                bail!("cannot hand {} to the postgres user", dir.display());
            }
        }
        let data = dir.join("data");
        // --no-sync only skips initdb's own flush of the files it creates (the cluster
        // lives for one run); the server below keeps the default durability settings.
        let output = run_as("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run initdb")?;
        if !output.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        // A free port: the kernel picks one, which is released for postgres to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log_file = File::create(log)?;
        let child = run_as("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("cannot start postgres")?;
        let mut cluster = Cluster {
            dir,
            child,
            url: format!("postgres://postgres@127.0.0.1:{port}/tonearm"),
        };
        // Ready once it accepts a connection (it refuses them while starting up).
        let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut conn = loop {
            match runtime.block_on(PgConnection::connect(&admin)) {
                Ok(conn) => break conn,
                Err(e) => {
                    if cluster.child.try_wait()?.is_some() || Instant::now() > deadline {
                        bail!("PostgreSQL did not start ({e}); see {}", log.display());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        runtime.block_on(async {
            sqlx::query("CREATE DATABASE tonearm")
                .execute(&mut conn)
                .await?;
            conn.close().await
        })?;
        Ok(cluster)
    }

    /// The postmaster's pid, from `data/postmaster.pid` (the child may be runuser).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

impl Drop for Cluster {
    /// Fast shutdown (SIGINT to the postmaster: clients are disconnected, the cluster
    /// is left clean), then the folder is removed.
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid() {
            // SAFETY: kill(2) on the server this benchmark started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(None) = self.child.try_wait() {
            eprintln!("PostgreSQL did not stop within 30 s; killing it");
            if let Some(pid) = self.postmaster_pid() {
                // SAFETY: as above.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The bin folder of the newest PostgreSQL installed under /usr/lib/postgresql.
fn postgres_bin() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql: install PostgreSQL or give --database URL")?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/*/bin/initdb")
}

/// Empties the database so that the next scan is a first scan: drops the schema
/// `public` with everything in it (tonearm's tables, and the pg_trgm extension it
/// installs there) and creates it again, owned by the URL's user.
pub async fn empty(url: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", redacted(url)))?;
    // Two statements: sqlx sends a query with several only through the simple protocol.
    sqlx::query("DROP SCHEMA IF EXISTS public CASCADE")
        .execute(&mut conn)
        .await?;
    sqlx::query("CREATE SCHEMA public")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// "PostgreSQL 15.8 (Debian 15.8-1.pgdg120+1)".
pub async fn version(url: &str) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect(url).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(format!("PostgreSQL {version}"))
}

/// The database's size on disk, in bytes (tables, indexes and TOAST; not the WAL).
pub async fn size(url: &str) -> anyhow::Result<u64> {
    let mut conn = PgConnection::connect(url).await?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(bytes.max(0) as u64)
}

/// CPU seconds (user + system) used so far by a PostgreSQL server: the postmaster,
/// its children still running (backends, checkpointer, WAL writer, autovacuum, …) and
/// those it has reaped (a closed connection's backend).
pub fn server_cpu_seconds(postmaster: u32) -> f64 {
    // Fields after "pid (comm) ": ppid is field 4, utime 14, stime 15, cutime 16 and
    // cstime 17 (children waited for).
    let ticks = |pid: &str| -> Option<(u32, u64, u64)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(") ")?;
        let fields: Vec<u64> = rest
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let own = fields.get(10)? + fields.get(11)?;
        let reaped = fields.get(12)? + fields.get(13)?;
        Some((*fields.first()? as u32, own, reaped))
    };
    let mut total = ticks(&postmaster.to_string()).map_or(0, |(_, own, reaped)| own + reaped);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if let Some((parent, own, reaped)) = ticks(pid) {
                if parent == postmaster {
                    total += own + reaped;
                }
            }
        }
    }
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    total as f64
        / if per_second > 0 {
            per_second as f64
        } else {
            100.0
        }
}

/// The URL with its password, if any, replaced by "***" (for the report).
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{}", &rest[userinfo.len() + 1..])
        }
        _ => url.to_string(),
    }
}
