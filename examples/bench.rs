//! tonearm's benchmark: generate a library, scan it with the release binary, serve it
//! and time API requests on loopback. See docs/benchmarks.md.
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench -- [--tracks N] [--dir DIR] [--keep]
//! cargo run --release --example bench -- --library tests/library/music   # an existing folder
//! cargo run --release --example bench -- --dir /tmp/bench --only stats   # some request lines only
//! cargo run --release --example bench -- --postgres                      # on a throwaway PostgreSQL
//! cargo run --release --example bench -- --database postgres://u:p@host/db  # on an existing one
//! ```

#[path = "bench/library.rs"]
mod library;
#[path = "bench/postgres.rs"]
mod postgres;
#[path = "bench/process.rs"]
mod process;
#[path = "bench/requests.rs"]
mod requests;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;

use library::Shape;
use process::Measured;
use requests::{Case, Outcome, Runner, CASES};

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Generates a library, then measures tonearm's scan and API latency"
)]
struct Options {
    /// Tracks in the generated library.
    #[arg(long, default_value_t = 100_000)]
    tracks: usize,
    /// Working folder (library, database, results.md); reused by later runs, and a
    /// library already generated there with the same --tracks is not generated again.
    /// Default: a new temporary folder, deleted at the end unless --keep.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the temporary folder.
    #[arg(long)]
    keep: bool,
    /// Scan and serve this existing music folder instead of generating one.
    #[arg(long)]
    library: Option<PathBuf>,
    /// Timed requests per line of the request table (after 3 warm-up requests).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Seconds after which a request line stops early (having done at least 10).
    #[arg(long, default_value_t = 60)]
    budget: u64,
    /// The tonearm binary (default: target/release/tonearm next to this example).
    #[arg(long)]
    tonearm: Option<PathBuf>,
    /// Run only the request lines whose label contains SUBSTRING (may be repeated: a
    /// line is run when it matches any).
    #[arg(long, value_name = "SUBSTRING")]
    only: Vec<String>,
    /// Measure on this PostgreSQL database (postgres://user:password@host:port/name)
    /// instead of SQLite. Everything in its schema `public` is dropped before the
    /// first scan.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Measure on PostgreSQL, in a throwaway cluster the benchmark starts (initdb and
    /// postgres from /usr/lib/postgresql/*/bin; as the postgres user when run as root)
    /// and stops at the end.
    #[arg(long, conflicts_with = "database")]
    postgres: bool,
}

/// Marks a folder as the benchmark's own (so it may clear parts of it) and records
/// the generated library's size: "tracks=N".
const MARKER: &str = ".tonearm-bench";

fn main() -> anyhow::Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == process::SHIM_ARG) {
        process::shim_main(args);
    }
    let options = Options::parse();
    if options.tracks == 0 {
        bail!("--tracks must be at least 1");
    }
    // Checked before the long scans, so that a mistyped --only fails at once.
    let cases = selected_cases(&options.only)?;
    if let Some(url) = &options.database {
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            bail!("--database takes a postgres:// URL (SQLite, the default, needs no option)");
        }
    }
    let tonearm = tonearm_binary(options.tonearm.clone())?;

    let (dir, temporary) = match &options.dir {
        Some(dir) => (prepare_dir(dir)?, None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("tonearm-bench-")
                .tempdir()?;
            std::fs::write(temp.path().join(MARKER), "")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    println!("working folder: {}", dir.display());

    let result = run(&options, &cases, &tonearm, &dir);
    if let Some(temp) = temporary {
        if options.keep {
            println!("kept {}", temp.keep().display());
        } else {
            println!(
                "removing {} (use --keep or --dir to keep it)",
                temp.path().display()
            );
        }
    }
    result
}

/// The request lines to run: all, or those whose label contains one of `only`.
fn selected_cases(only: &[String]) -> anyhow::Result<Vec<&'static Case>> {
    let cases: Vec<&'static Case> = CASES
        .iter()
        .filter(|case| {
            only.is_empty() || only.iter().any(|part| case.label.contains(part.as_str()))
        })
        .collect();
    if cases.is_empty() {
        let mut labels: Vec<&str> = CASES.iter().map(|case| case.label).collect();
        labels.dedup();
        bail!(
            "no request line's label contains {}; the labels are:\n  {}",
            only.join(" or "),
            labels.join("\n  ")
        );
    }
    Ok(cases)
}

fn run(options: &Options, cases: &[&Case], original: &Path, dir: &Path) -> anyhow::Result<()> {
    // Run a private copy: a `cargo build` during the run (target/ may be shared) must
    // not swap the binary between the scan and the server.
    let built = std::fs::metadata(original)?.modified()?;
    let tonearm = &dir.join("tonearm");
    std::fs::copy(original, tonearm)
        .with_context(|| format!("cannot copy {} into {}", original.display(), dir.display()))?;
    let mut report = Report {
        machine: process::machine(),
        version: process::source_version(&source_dir(original)),
        source: source_dir(original).display().to_string(),
        binary: original.display().to_string(),
        built: chrono::DateTime::<chrono::Utc>::from(built)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        ..Report::default()
    };

    // One runtime for the benchmark's own async work: the PostgreSQL statements
    // below and the requests.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // 1. The library.
    let music = match &options.library {
        Some(path) => {
            let music = path
                .canonicalize()
                .with_context(|| format!("no folder {}", path.display()))?;
            report.library = format!("existing folder `{}`", music.display());
            music
        }
        None => {
            let shape = Shape::new(options.tracks);
            let music = dir.join("music");
            let generated = ensure_library(dir, &music, &shape)?;
            report.shape = Some(shape);
            report.generation = generated;
            music
        }
    };

    // 2. The database, and the scans on it, fresh. SQLite (the default) is a file in
    // data/; PostgreSQL is a URL given to tonearm with --database on every command,
    // in a throwaway cluster (--postgres) or an existing database (--database).
    let data = dir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    std::fs::create_dir_all(&data)?;
    let cluster = if options.postgres {
        println!(
            "starting PostgreSQL (log in {}) ...",
            dir.join("postgres.log").display()
        );
        Some(postgres::Cluster::start(
            &runtime,
            &dir.join("postgres.log"),
        )?)
    } else {
        None
    };
    let database_url = cluster
        .as_ref()
        .map(|cluster| cluster.url.clone())
        .or_else(|| options.database.clone());
    // CPU seconds the PostgreSQL server has used, when it is ours to watch: it works
    // for tonearm, so it is reported apart rather than as "other processes".
    let postmaster = cluster.as_ref().and_then(postgres::Cluster::postmaster_pid);
    let database_cpu = || postmaster.map_or(0.0, postgres::server_cpu_seconds);
    match &database_url {
        Some(url) => {
            // A first scan needs an empty database: the run before may have left
            // its tables.
            runtime.block_on(postgres::empty(url))?;
            report.engine = format!(
                "{}, {}",
                runtime.block_on(postgres::version(url))?,
                if cluster.is_some() {
                    "a throwaway cluster with default settings, started by the benchmark on 127.0.0.1".to_string()
                } else {
                    format!("database `{}`", postgres::redacted(url))
                }
            );
            report.empty_database_bytes = Some(runtime.block_on(postgres::size(url))?);
        }
        None => report.engine = format!("{}, a file in the data folder", sqlite_version(&runtime)?),
    }
    println!("engine: {}", report.engine);
    let data_arg = data.to_str().context("the data path is not UTF-8")?;
    let music_arg = music.to_str().context("the music path is not UTF-8")?;
    let database_args: Vec<&str> = match &database_url {
        Some(url) => vec!["--database", url],
        None => vec![],
    };
    let mut add_args = vec!["catalog", "add", music_arg, "--data", data_arg];
    add_args.extend(&database_args);
    process::run(tonearm, &add_args)?;
    let env = [("RUST_LOG", "warn")];
    let mut scan_args = vec!["scan", "--data", data_arg];
    scan_args.extend(&database_args);
    println!("first scan of {} ...", music.display());
    let watch = process::CpuWatch::start();
    let database_before = database_cpu();
    let first = process::measure(tonearm, &scan_args, &env, dir)?;
    let first_database = database_cpu() - database_before;
    let others = watch.others(first.user + first.system + first_database);
    report.first_scan = Some(ScanRun::new(first, others)?);
    println!("  {}", report.first_scan.as_ref().unwrap().summary_line);
    report.database_bytes = match &database_url {
        Some(url) => runtime.block_on(postgres::size(url))?,
        None => process::folder_size(&data),
    };
    println!("rescan, nothing changed ...");
    let watch = process::CpuWatch::start();
    let database_before = database_cpu();
    let again = process::measure(tonearm, &scan_args, &env, dir)?;
    let again_database = database_cpu() - database_before;
    let others = watch.others(again.user + again.system + again_database);
    report.rescan = Some(ScanRun::new(again, others)?);
    println!("  {}", report.rescan.as_ref().unwrap().summary_line);
    let (files, bytes) = library_size(&music);
    report.library_files = files;
    report.library_bytes = bytes;

    // 3. The server and the requests.
    let server_log = dir.join("server.log");
    let server = process::Server::start(
        tonearm,
        &data,
        &database_args,
        requests::ADMIN_PASSWORD,
        &server_log,
    )?;
    report.startup = server.startup;
    println!("server at {} (pid {})", server.base, server.pid());
    let runner = Runner::new(
        &server.base,
        options.requests,
        Duration::from_secs(options.budget),
    )?;
    report.samples = options.requests;
    let word = library::SEARCH_WORD.to_lowercase();
    let context = runtime.block_on(runner.context(&word))?;
    report.counts = (context.songs, context.albums, context.artists);
    if cases.iter().any(|case| case.needs_userdata()) {
        println!("rating, flagging and playing songs for the stats lines ...");
        let seeded = runtime.block_on(runner.seed_userdata(&context))?;
        println!("  {seeded}");
        report.seeded = Some(seeded);
    }
    if !options.only.is_empty() {
        report.only = Some(format!(
            "only the lines whose label contains {}",
            options
                .only
                .iter()
                .map(|part| format!("`{part}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    let server_pid = server.pid().to_string();
    let ours = || process::process_cpu_seconds(&server_pid) + process::process_cpu_seconds("self");
    let ours_before = ours();
    let database_before = database_cpu();
    let watch = process::CpuWatch::start();
    for &case in cases {
        let started = Instant::now();
        let outcome = runtime.block_on(runner.run(case, &context));
        let line = RequestLine::new(case, &outcome);
        println!(
            "  {:<48} {:<4} {} ({:.1} s)",
            case.label,
            case.format.name(),
            line.short(),
            started.elapsed().as_secs_f64()
        );
        report.requests.push(line);
    }
    let requests_database = database_cpu() - database_before;
    report.request_others = watch.others(ours() - ours_before + requests_database);
    if postmaster.is_some() {
        report.database_cpu = Some((
            first_database,
            again_database,
            watch.cores(requests_database),
        ));
    }
    drop(runner);
    drop(runtime);

    // 4. Memory once idle.
    std::thread::sleep(Duration::from_secs(2));
    report.idle_rss_kib = process::proc_status_kib(server.pid(), "VmRSS")?;
    report.peak_rss_kib = process::proc_status_kib(server.pid(), "VmHWM")?;
    drop(server);
    drop(cluster);
    let log = std::fs::read_to_string(&server_log).unwrap_or_default();
    report.server_log = Some((
        log.lines().filter(|l| l.contains("WARN")).count(),
        log.lines().filter(|l| l.contains("slow statement")).count(),
    ));
    if std::fs::metadata(original)?.modified()? != built {
        println!(
            "note: {} was rebuilt during the run; the figures are for the copy made at the start",
            original.display()
        );
    }

    let markdown = report.markdown();
    std::fs::write(dir.join("results.md"), &markdown)?;
    println!("\n{markdown}");
    println!("(also in {})", dir.join("results.md").display());
    Ok(())
}

/// The release server binary, built if missing (when run through cargo).
fn tonearm_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        if !path.is_file() {
            bail!("no tonearm binary at {}", path.display());
        }
        warn_if_stale(&path);
        return Ok(path);
    }
    // This example is target/<profile>/examples/bench; the server is target/<profile>/tonearm.
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot locate the target folder")?;
    let path = profile_dir.join("tonearm");
    if !profile_dir.ends_with("release") {
        eprintln!("warning: this benchmark is not a release build; run it with cargo run --release --example bench");
    }
    if !path.is_file() {
        let Some(cargo) = std::env::var_os("CARGO") else {
            bail!(
                "{} is missing: run `cargo build --release` first",
                path.display()
            );
        };
        println!("{} is missing: cargo build --release ...", path.display());
        let status = std::process::Command::new(cargo)
            .args(["build", "--release", "--bin", "tonearm"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()?;
        if !status.success() || !path.is_file() {
            bail!("cargo build --release failed; build the server and try again");
        }
    } else {
        warn_if_stale(&path);
    }
    Ok(path)
}

/// The source tree a tonearm binary was built from: the nearest folder above it with
/// tonearm's Cargo.toml (target/ sits in the tree), else this repository.
fn source_dir(binary: &Path) -> PathBuf {
    let binary = binary
        .canonicalize()
        .unwrap_or_else(|_| binary.to_path_buf());
    binary
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|toml| toml.contains("name = \"tonearm\""))
        })
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            Path::to_path_buf,
        )
}

fn warn_if_stale(binary: &Path) {
    if let Some(newer) = newer_source(binary) {
        eprintln!(
            "warning: {} is newer than {}; run `cargo build --release` to measure the current code",
            newer.display(),
            binary.display()
        );
    }
}

/// A source file changed after the binary was built, if any.
fn newer_source(binary: &Path) -> Option<PathBuf> {
    let built = std::fs::metadata(binary).ok()?.modified().ok()?;
    let root = source_dir(binary);
    walkdir::WalkDir::new(root.join("src"))
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .chain([root.join("Cargo.toml")])
        .find(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > built)
        })
}

/// Creates DIR or checks that it is the benchmark's (empty, or holding the marker).
fn prepare_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let marker = dir.join(MARKER);
    if !marker.exists() {
        if std::fs::read_dir(&dir)?.next().is_some() {
            bail!(
                "{} is not empty and is not a benchmark folder (no {MARKER} in it); give an empty or new folder",
                dir.display()
            );
        }
        std::fs::write(&marker, "")?;
    }
    Ok(dir)
}

/// Generates the library unless the marker says it is there with the same size;
/// returns the generation time (None when reused).
fn ensure_library(dir: &Path, music: &Path, shape: &Shape) -> anyhow::Result<Option<Duration>> {
    let marker = dir.join(MARKER);
    let wanted = format!("tracks={}\n", shape.tracks);
    if music.is_dir() && std::fs::read_to_string(&marker)? == wanted {
        println!(
            "reusing the library of {} tracks in {}",
            shape.tracks,
            music.display()
        );
        return Ok(None);
    }
    if music.exists() {
        println!("removing the old library in {}", music.display());
        std::fs::write(&marker, "")?;
        std::fs::remove_dir_all(music)?;
    }
    println!(
        "generating {} tracks ({} albums, {} artists) in {} ...",
        shape.tracks,
        shape.albums,
        shape.artists,
        music.display()
    );
    let took = library::generate(music, shape)?;
    std::fs::write(&marker, wanted)?;
    println!(
        "generated {} tracks in {:.1} s",
        shape.tracks,
        took.as_secs_f64()
    );
    Ok(Some(took))
}

/// "SQLite 3.x.y": the version of the SQLite that rusqlite links (bundled), as
/// tonearm does.
fn sqlite_version(_runtime: &tokio::runtime::Runtime) -> anyhow::Result<String> {
    Ok(format!("SQLite {}", rusqlite::version()))
}

/// Audio files (by the scanner's extensions, roughly) and bytes under a folder.
fn library_size(music: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    for entry in walkdir::WalkDir::new(music)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_file() {
            files += 1;
            bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    (files, bytes)
}

/// One scan: the measurement and the counts from tonearm's summary line.
struct ScanRun {
    measured: Measured,
    summary_line: String,
    seen: u64,
    added: u64,
    skipped: u64,
    /// Cores other processes used meanwhile, on average.
    others: Option<f64>,
}

impl ScanRun {
    fn new(measured: Measured, others: Option<f64>) -> anyhow::Result<ScanRun> {
        let summary_line = measured
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("scan finished: "))
            .with_context(|| format!("no summary in the scan's output: {}", measured.stdout))?
            .trim()
            .to_string();
        // "100 files seen, 100 added, 0 updated, 0 removed, 0 skipped as bad, 1.23 s"
        let number_before = |what: &str| -> u64 {
            summary_line
                .split(", ")
                .find_map(|part| part.strip_suffix(what)?.trim().parse().ok())
                .unwrap_or(0)
        };
        Ok(ScanRun {
            seen: number_before("files seen"),
            added: number_before("added"),
            skipped: number_before("skipped as bad"),
            others,
            measured,
            summary_line,
        })
    }

    fn files_per_second(&self) -> f64 {
        self.seen as f64 / self.measured.wall.as_secs_f64().max(1e-9)
    }
}

struct RequestLine {
    label: &'static str,
    format: &'static str,
    /// Columns after the format: n, p50, p99, max, answer.
    cells: [String; 5],
}

impl RequestLine {
    fn new(case: &requests::Case, outcome: &Outcome) -> RequestLine {
        let dash = || "—".to_string();
        let cells = match outcome {
            Outcome::Timed {
                latencies,
                bytes,
                items,
            } => {
                let mut sorted = latencies.clone();
                sorted.sort();
                let answer = match items {
                    Some(n) => format!("{}, {n} items", size(*bytes as u64)),
                    None => size(*bytes as u64),
                };
                [
                    sorted.len().to_string(),
                    millis(requests::percentile(&sorted, 50.0)),
                    millis(requests::percentile(&sorted, 99.0)),
                    millis(*sorted.last().unwrap_or(&Duration::ZERO)),
                    answer,
                ]
            }
            Outcome::NotImplemented => {
                [dash(), "not implemented yet".into(), dash(), dash(), dash()]
            }
            Outcome::Failed(message) => {
                let short: String = message.chars().take(80).collect();
                [
                    dash(),
                    format!("failed: {}", short.replace('|', "\\|")),
                    dash(),
                    dash(),
                    dash(),
                ]
            }
        };
        RequestLine {
            label: case.label,
            format: case.format.name(),
            cells,
        }
    }

    fn short(&self) -> String {
        if self.cells[0] == "—" {
            self.cells[1].clone()
        } else {
            format!(
                "n={} p50={} p99={} max={} ({})",
                self.cells[0], self.cells[1], self.cells[2], self.cells[3], self.cells[4]
            )
        }
    }
}

#[derive(Default)]
struct Report {
    machine: String,
    version: String,
    binary: String,
    built: String,
    source: String,
    library: String,
    shape: Option<Shape>,
    generation: Option<Duration>,
    library_files: u64,
    library_bytes: u64,
    first_scan: Option<ScanRun>,
    rescan: Option<ScanRun>,
    database_bytes: u64,
    /// "SQLite 3.46.0, …" or "PostgreSQL 15.8 (…), …".
    engine: String,
    /// On PostgreSQL, the emptied database's size before the first scan.
    empty_database_bytes: Option<u64>,
    /// CPU of the PostgreSQL server the benchmark started: seconds during the first
    /// scan and the rescan, average cores during the requests.
    database_cpu: Option<(f64, f64, Option<f64>)>,
    startup: Duration,
    counts: (i64, i64, i64),
    samples: usize,
    requests: Vec<RequestLine>,
    idle_rss_kib: u64,
    peak_rss_kib: u64,
    /// Cores other processes used during the requests, on average.
    request_others: Option<f64>,
    /// Warnings in the server's log (DIR/server.log), of which slow statements.
    server_log: Option<(usize, usize)>,
    /// What was rated, flagged and played before the requests, if anything.
    seeded: Option<String>,
    /// Which request lines ran, when --only chose some.
    only: Option<String>,
}

impl Report {
    fn markdown(&self) -> String {
        let mut out = String::new();
        let title = match &self.shape {
            Some(shape) => format!("{} generated tracks", shape.tracks),
            None => self.library.clone(),
        };
        let _ = writeln!(out, "## tonearm benchmark: {title}\n");
        let _ = writeln!(
            out,
            "- Run: {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        let _ = writeln!(out, "- Machine: {}", self.machine);
        let _ = writeln!(
            out,
            "- tonearm: `{}`, built {} from `{}` at commit {}",
            self.binary, self.built, self.source, self.version
        );
        let library = match (&self.shape, self.generation) {
            (Some(shape), generated) => format!(
                "{} tracks generated as {} albums by {} artists{}, \"{}\" in {} titles ({})",
                shape.tracks,
                shape.albums,
                shape.artists,
                if shape.albums > 37 {
                    " plus Various Artists compilations"
                } else {
                    ""
                },
                library::SEARCH_WORD,
                shape.search_word_tracks(),
                match generated {
                    Some(took) => format!("generated in {:.1} s", took.as_secs_f64()),
                    None => "reused from an earlier run".into(),
                }
            ),
            (None, _) => self.library.clone(),
        };
        let _ = writeln!(out, "- Engine: {}", self.engine);
        let _ = writeln!(out, "- Library: {library}");
        let database = match self.empty_database_bytes {
            Some(empty) => format!(
                "{} (PostgreSQL, `pg_database_size`; {} of it before the scan)",
                size(self.database_bytes),
                size(empty)
            ),
            None => format!("{} (SQLite)", size(self.database_bytes)),
        };
        let _ = writeln!(
            out,
            "- On disk: {} files, {}; database after the first scan: {database}",
            self.library_files,
            size(self.library_bytes),
        );
        if let Some((first, again, requests)) = self.database_cpu {
            let _ = writeln!(
                out,
                "- PostgreSQL's own CPU (its server processes; in neither tonearm's figures nor \"other processes\"): first scan {first:.1} s, rescan {again:.1} s, requests {}",
                cores(requests)
            );
        }
        let expected = match &self.shape {
            Some(shape) => format!(
                " (generated: {} songs, {} albums, {} artists)",
                shape.tracks,
                shape.albums,
                shape.artists + usize::from(shape.albums > 37)
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "- Server sees: {} songs, {} albums, {} artists{expected}\n",
            self.counts.0, self.counts.1, self.counts.2
        );

        let _ = writeln!(out, "### Scan (`tonearm scan`, page cache warm)\n");
        let _ = writeln!(
            out,
            "| run | wall clock | files/s | CPU user + sys | peak RSS | other processes |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (name, run) in [
            ("first scan", &self.first_scan),
            ("rescan, no change", &self.rescan),
        ] {
            let Some(run) = run else { continue };
            let m = &run.measured;
            let _ = writeln!(
                out,
                "| {name}: {} files, {} added, {} skipped | {} | {} | {:.1} s + {:.1} s | {} | {} |",
                run.seen,
                run.added,
                run.skipped,
                seconds(m.wall),
                if name == "first scan" {
                    format!("{:.0}", run.files_per_second())
                } else {
                    "—".into()
                },
                m.user,
                m.system,
                size(m.peak_rss_kib * 1024),
                cores(run.others)
            );
        }

        let _ = writeln!(out, "\n### Server (`tonearm serve --no-scan`)\n");
        let _ = writeln!(out, "| what | value |");
        let _ = writeln!(out, "| --- | ---: |");
        let _ = writeln!(
            out,
            "| start-up (spawn to \"listening\") | {} |",
            millis(self.startup)
        );
        let _ = writeln!(
            out,
            "| RSS when idle, 2 s after the requests (VmRSS) | {} |",
            size(self.idle_rss_kib * 1024)
        );
        let _ = writeln!(
            out,
            "| peak RSS over start-up and the requests (VmHWM) | {} |",
            size(self.peak_rss_kib * 1024)
        );

        let _ = writeln!(
            out,
            "| CPU used by other processes during the requests | {} |",
            cores(self.request_others)
        );
        if let Some((warnings, slow)) = &self.server_log {
            let _ = writeln!(
                out,
                "| warnings in the server's log (of which sqlx slow statements, > 1 s) | {warnings} ({slow}) |"
            );
        }
        let _ = writeln!(
            out,
            "\n### Requests (sequential on one keep-alive loopback connection; {} timed after 3 warm-ups, fewer when a line passes its time budget)\n",
            self.samples
        );
        if let Some(only) = &self.only {
            let _ = writeln!(out, "Request lines: {only}.\n");
        }
        if let Some(seeded) = &self.seeded {
            let _ = writeln!(out, "Before them, for the stats lines: {seeded}.\n");
        }
        let _ = writeln!(out, "| request | format | n | p50 | p99 | max | answer |");
        let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for line in &self.requests {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                line.label,
                line.format,
                line.cells.join(" | ")
            );
        }
        out
    }
}

/// Average cores, as "0.05 cores"; other processes' share of the machine.
fn cores(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{v:.2} cores"),
        None => "—".into(),
    }
}

fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", b / 1024.0 / 1024.0 / 1024.0)
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}
