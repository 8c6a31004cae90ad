//! The test harness: a real tonearm process on a free port, over a temporary data
//! folder and a copy of the committed library, on SQLite or on a real PostgreSQL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    pub fn path(self) -> &'static str {
        match self {
            Format::Xml => "/server/xml.server.php",
            Format::Json => "/server/json.server.php",
        }
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A handshake timestamp no other call of this test process has used: a
/// timestamp+auth pair logs in once, so logins in the same second need distinct
/// timestamps. They count up from 25 minutes back (inside the 30-minute window),
/// far from `now`, which tests building their own handshake use.
pub fn fresh_timestamp() -> i64 {
    static LAST: std::sync::Mutex<i64> = std::sync::Mutex::new(0);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    *last = (*last + 1).max(unix_now() - 1500);
    *last
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The committed test library.
pub fn library_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/library/music")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            // Keep the committed mtimes so copies look like the originals to a scanner.
            let mtime = std::fs::metadata(entry.path()).unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&target)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
    }
}

/// A running server with its own data folder, database and library copy.
pub struct TestServer {
    pub base: String,
    pub data: tempfile::TempDir,
    pub music: PathBuf,
    pub database_url: String,
    child: Child,
    pub client: reqwest::Client,
    /// A command every tonearm process of this server runs under (see `restricted`).
    wrapper: Vec<String>,
    /// The `serve` arguments past the common ones, for [`TestServer::restart`].
    serve_args: Vec<String>,
}

pub struct Options {
    pub session_length: Option<i64>,
    /// Scan the library (with the `scan` command) before the server starts.
    pub scan: bool,
    /// Run tonearm as root would be run without the right to read any file: when the
    /// tests run as root (as CI does), without CAP_DAC_OVERRIDE and
    /// CAP_DAC_READ_SEARCH, so that file permissions apply to it as to any user.
    pub restricted: bool,
    /// More arguments for `serve`.
    pub serve_args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            session_length: None,
            scan: true,
            restricted: false,
            serve_args: Vec::new(),
        }
    }
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A tonearm command, under `wrapper` if any.
fn tonearm_command(wrapper: &[String]) -> Command {
    match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(env!("CARGO_BIN_EXE_tonearm"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_tonearm")),
    }
}

/// Starts `tonearm serve` and waits for the address it prints.
fn launch(
    wrapper: &[String],
    music: &Path,
    data: &Path,
    database_url: &str,
    serve_args: &[String],
) -> (Child, String) {
    let mut command = tonearm_command(wrapper);
    command
        .args(["serve", "--no-scan", "--listen", "127.0.0.1:0", "--music"])
        .arg(music)
        .arg("--data")
        .arg(data)
        .args(["--database", database_url])
        .env("TONEARM_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        // Tests change the database behind the server's back (SQL, the `user`
        // command, a second process) and expect the next request to see it: no
        // session memory unless a test asks for it (`--session-cache N`).
        .env("TONEARM_SESSION_CACHE", "0")
        .args(serve_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("tonearm starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("tonearm printed its address before exiting")
            .unwrap();
        if let Some(address) = line.strip_prefix("tonearm listening on ") {
            break address.trim().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

/// A database nobody has used yet: a new file in `data` on SQLite, a new database on
/// the test PostgreSQL; None when that engine is not available here.
pub async fn empty_database_url(engine: Engine, data: &Path) -> Option<String> {
    match engine {
        Engine::Sqlite => Some(format!(
            "sqlite://{}?mode=rwc",
            data.join("tonearm.db").display()
        )),
        Engine::Postgres => postgres_database().await,
    }
}

impl TestServer {
    /// Starts a server, or returns None (after saying why) when the engine is not
    /// available here.
    pub async fn start(engine: Engine) -> Option<TestServer> {
        TestServer::start_with(engine, Options::default()).await
    }

    pub async fn start_with(engine: Engine, options: Options) -> Option<TestServer> {
        let database_url = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(postgres_database().await?),
        };
        Some(TestServer::start_at(database_url, options, None))
    }

    /// A server on the test library that has not scanned it: an empty library.
    pub async fn start_unscanned(engine: Engine) -> Option<TestServer> {
        TestServer::start_with(
            engine,
            Options {
                scan: false,
                ..Options::default()
            },
        )
        .await
    }

    /// Starts a server whose data folder (with the SQLite database, unless
    /// `database_url` names another) is a new folder inside `parent`, or a temporary one.
    pub fn start_at(
        database_url: Option<String>,
        options: Options,
        parent: Option<&Path>,
    ) -> TestServer {
        let data = match parent {
            Some(parent) => tempfile::tempdir_in(parent).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let music = data.path().join("music");
        copy_dir(&library_source(), &music);
        let database_url = database_url.unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data.path().join("tonearm.db").display()
            )
        });
        let server = TestServer::spawn(data, music, database_url, &options);
        if options.scan {
            server.cli(&["scan"]).expect("the scan succeeds");
        }
        server
    }

    fn spawn(
        data: tempfile::TempDir,
        music: PathBuf,
        database_url: String,
        options: &Options,
    ) -> TestServer {
        let wrapper: Vec<String> = if options.restricted && running_as_root() {
            [
                "setpriv",
                "--bounding-set=-dac_override,-dac_read_search",
                "--",
            ]
            .map(String::from)
            .to_vec()
        } else {
            Vec::new()
        };
        let mut serve_args = Vec::new();
        if let Some(length) = options.session_length {
            serve_args.extend(["--session-length".to_string(), length.to_string()]);
        }
        serve_args.extend(options.serve_args.iter().cloned());
        let (child, base) = launch(&wrapper, &music, data.path(), &database_url, &serve_args);
        TestServer {
            base,
            data,
            music,
            database_url,
            child,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            wrapper,
            serve_args,
        }
    }

    /// Kills the server at once (SIGKILL), as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again (after [`TestServer::kill`] or
    /// [`TestServer::terminate`]) on the same data, library and database, with the
    /// same arguments; it listens on a new port (`base` changes).
    pub fn restart(&mut self) {
        self.kill();
        let (child, base) = launch(
            &self.wrapper,
            &self.music,
            self.data.path(),
            &self.database_url,
            &self.serve_args,
        );
        self.child = child;
        self.base = base;
    }

    /// Starts a tonearm command against this server's data and database, without
    /// waiting for it.
    pub fn spawn_cli(&self, args: &[&str]) -> Child {
        tonearm_command(&self.wrapper)
            .args(args)
            .arg("--data")
            .arg(self.data.path())
            .args(["--database", &self.database_url])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tonearm runs")
    }

    /// Asks the server to stop (SIGTERM); true if it exited within `within`.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Runs a tonearm command against this server's data and database.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        self.cli_with_env(args, &[])
    }

    pub fn cli_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
        let output = tonearm_command(&self.wrapper)
            .args(args)
            .arg("--data")
            .arg(self.data.path())
            .args(["--database", &self.database_url])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("tonearm runs");
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// GET with the given parameters; returns (status, content type, body).
    pub async fn get_raw(&self, format: Format, query: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(format!("{}{}?{}", self.base, format.path(), query))
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, kind, response.text().await.unwrap())
    }

    /// GET with parameters, asserting the Ampache rule that every answer is HTTP 200.
    pub async fn call(&self, format: Format, params: &[(&str, &str)]) -> String {
        let query = encode_query(params);
        let (status, _, body) = self.get_raw(format, &query).await;
        assert_eq!(status, 200, "HTTP status for {query}: {body}");
        body
    }

    pub async fn xml(&self, params: &[(&str, &str)]) -> XmlDoc {
        XmlDoc::parse(self.call(Format::Xml, params).await)
    }

    pub async fn json(&self, params: &[(&str, &str)]) -> serde_json::Value {
        let body = self.call(Format::Json, params).await;
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("invalid JSON ({e}): {body}"))
    }

    /// A password handshake; returns the session token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let timestamp = fresh_timestamp().to_string();
        let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(password)));
        let doc = self
            .json(&[
                ("action", "handshake"),
                ("user", user),
                ("timestamp", &timestamp),
                ("auth", &auth),
                ("version", "400004"),
            ])
            .await;
        doc["auth"]
            .as_str()
            .unwrap_or_else(|| panic!("handshake failed: {doc}"))
            .to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn encode_query(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A parsed XML answer with the lookups the tests need.
pub struct XmlDoc {
    pub text: String,
}

impl XmlDoc {
    pub fn parse(text: String) -> XmlDoc {
        roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("invalid XML ({e}): {text}"));
        XmlDoc { text }
    }

    pub fn doc(&self) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(&self.text).unwrap()
    }

    /// The text of the first element named `name` under the root.
    pub fn field(&self, name: &str) -> Option<String> {
        let doc = self.doc();
        let root = doc.root_element();
        root.children()
            .find(|n| n.has_tag_name(name))
            .map(|n| n.text().unwrap_or("").to_string())
    }

    /// Names of the root's child elements, in order.
    pub fn child_names(&self) -> Vec<String> {
        let doc = self.doc();
        let root = doc.root_element();
        root.children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name().to_string())
            .collect()
    }

    /// (code, message) of an error document.
    pub fn error(&self) -> Option<(String, String)> {
        let doc = self.doc();
        let root = doc.root_element();
        let error = root.children().find(|n| n.has_tag_name("error"))?;
        Some((
            error.attribute("code")?.to_string(),
            error.text().unwrap_or("").to_string(),
        ))
    }
}

/// Asserts an Ampache error in either format.
pub async fn assert_error(server: &TestServer, params: &[(&str, &str)], code: &str) -> String {
    let xml = server.xml(params).await;
    let (xml_code, message) = xml
        .error()
        .unwrap_or_else(|| panic!("expected error {code} for {params:?}, got {}", xml.text));
    assert_eq!(xml_code, code, "XML error code for {params:?}: {message}");
    let json = server.json(params).await;
    assert_eq!(
        json["error"]["code"],
        serde_json::json!(code),
        "JSON error for {params:?}: {json}"
    );
    assert_eq!(json["error"]["message"].as_str(), Some(message.as_str()));
    message
}

// ---------------------------------------------------------------------------------
// PostgreSQL: TONEARM_TEST_DATABASE_URL, or a throwaway cluster from the installed
// binaries. Each test gets its own database.

struct Postgres {
    admin_url: String,
    /// Never dropped: the cluster stops when the test process exits (see [`PgCluster`]).
    _cluster: Option<PgCluster>,
}

static POSTGRES: OnceLock<Option<Postgres>> = OnceLock::new();

/// A fresh, empty database on the shared test PostgreSQL, or None when there is no
/// PostgreSQL here (unless TONEARM_REQUIRE_POSTGRES is set, as CI does: then it fails).
async fn postgres_database() -> Option<String> {
    let postgres = POSTGRES.get_or_init(start_postgres).as_ref();
    let Some(postgres) = postgres else {
        if std::env::var_os("TONEARM_REQUIRE_POSTGRES").is_some() {
            panic!("TONEARM_REQUIRE_POSTGRES is set but no PostgreSQL could be started");
        }
        eprintln!("SKIPPED: PostgreSQL test (no TONEARM_TEST_DATABASE_URL and no initdb found)");
        return None;
    };
    Some(create_database(&postgres.admin_url).await)
}

/// Creates a new, empty database on the server of `admin_url`; its URL.
async fn create_database(admin_url: &str) -> String {
    use sqlx::Connection;
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "tonearm_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    // A cluster that accepts TCP may still be starting up ("the database system is
    // starting up"), more so on a busy machine: try again for a while.
    let mut tries = 0;
    let mut conn = loop {
        match sqlx::PgConnection::connect(admin_url).await {
            Ok(conn) => break conn,
            Err(e) if tries < 100 => {
                tries += 1;
                if tries == 1 {
                    eprintln!("the test PostgreSQL is not ready yet ({e}); trying again");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("connect to the test PostgreSQL: {e}"),
        }
    };
    sqlx::Executor::execute(
        &mut conn,
        format!("DROP DATABASE IF EXISTS {name}").as_str(),
    )
    .await
    .unwrap();
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (prefix, _) = admin_url.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

fn start_postgres() -> Option<Postgres> {
    if let Ok(url) = std::env::var("TONEARM_TEST_DATABASE_URL") {
        if !url.is_empty() {
            return Some(Postgres {
                admin_url: url,
                _cluster: None,
            });
        }
    }
    let cluster = PgCluster::start()?;
    Some(Postgres {
        admin_url: cluster.admin_url(),
        _cluster: Some(cluster),
    })
}

/// A PostgreSQL cluster of this test's own, for a test that stops and restarts it;
/// None when there is no PostgreSQL here (unless TONEARM_REQUIRE_POSTGRES is set:
/// then it fails).
pub fn private_postgres() -> Option<PgCluster> {
    let cluster = PgCluster::start();
    if cluster.is_none() {
        if std::env::var_os("TONEARM_REQUIRE_POSTGRES").is_some() {
            panic!("TONEARM_REQUIRE_POSTGRES is set but no PostgreSQL cluster could be started");
        }
        eprintln!("SKIPPED: PostgreSQL test (no initdb found)");
    }
    cluster
}

/// A PostgreSQL cluster of the installed binaries in a temporary folder of its own,
/// listening on 127.0.0.1 on a port of its own.
///
/// A watchdog shell runs it (as the postgres user through `runuser` when the tests
/// run as root: initdb and postgres refuse to run as root) and takes orders on its
/// stdin, a pipe only this process writes to: a line `stop` stops the server (a fast
/// shutdown, as `pg_ctl stop` does), a line `start` starts it again on the same port
/// and data. At end-of-file -- the cluster dropped, even by a panic, or this process
/// gone, whatever way it ended -- it stops the server and removes the folder (each
/// run left hundreds of MB in /tmp otherwise). A test binary has no hook that runs at
/// exit, so the shared cluster, which is never dropped, ends so too.
pub struct PgCluster {
    port: u16,
    watchdog: Child,
    orders: Option<std::process::ChildStdin>,
    /// The watchdog's reports: `stopped` after each stop.
    reports: std::io::Lines<BufReader<std::process::ChildStdout>>,
    running: bool,
}

impl PgCluster {
    /// Creates and starts a new cluster; None (after saying why) when there is no
    /// PostgreSQL here or it does not start.
    pub fn start() -> Option<PgCluster> {
        let bin = find_postgres_bin()?;
        let is_root = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("tonearm-pg")
            .tempdir()
            .ok()?
            .keep();
        let data = dir.join("data");
        if is_root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .ok()?;
            if !status.success() {
                eprintln!("cannot hand {} to the postgres user", dir.display());
                let _ = std::fs::remove_dir_all(&dir);
                return None;
            }
        }
        let as_postgres = |program: &str| -> Command {
            if is_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--", program]);
                c
            } else {
                Command::new(program)
            }
        };
        let out = as_postgres(&bin.join("initdb").to_string_lossy())
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            listener.local_addr().ok()?.port()
        };
        let script = format!(
            "while :; do \
               {postgres} -D {data} -p {port} -k {dir} -c listen_addresses=127.0.0.1 \
                 -c fsync=off -c full_page_writes=off -c max_connections=300 \
                 >>{dir}/postgres.log 2>&1 & \
               pg=$!; \
               read order || break; \
               kill -INT $pg; wait $pg; echo stopped; \
               read order || {{ rm -rf {dir}; exit 0; }}; \
             done; \
             kill -INT $pg 2>/dev/null; wait $pg; rm -rf {dir}",
            postgres = bin.join("postgres").display(),
            data = data.display(),
            dir = dir.display(),
        );
        let mut watchdog = as_postgres("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let orders = watchdog.stdin.take();
        let reports = BufReader::new(watchdog.stdout.take()?).lines();
        let mut cluster = PgCluster {
            port,
            watchdog,
            orders,
            reports,
            running: true,
        };
        if !cluster.wait_until_listening() {
            eprintln!("the test PostgreSQL did not start");
            return None;
        }
        Some(cluster)
    }

    /// The URL of the cluster's `postgres` database, as its superuser.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new, empty database on this cluster; its URL.
    pub async fn new_database(&self) -> String {
        create_database(&self.admin_url()).await
    }

    /// Stops the server (a fast shutdown: sessions are ended, nothing is lost) and
    /// returns once it has exited.
    pub fn stop(&mut self) {
        assert!(self.running, "the cluster is running");
        self.order("stop");
        let report = self.reports.next();
        assert!(
            matches!(&report, Some(Ok(line)) if line == "stopped"),
            "the watchdog reports the stop: {report:?}"
        );
        self.running = false;
    }

    /// Starts the stopped server again, on the same port and data; returns once it
    /// accepts connections.
    pub fn restart(&mut self) {
        assert!(!self.running, "the cluster is stopped");
        self.order("start");
        self.running = true;
        assert!(self.wait_until_listening(), "the test PostgreSQL restarts");
    }

    fn order(&mut self, order: &str) {
        use std::io::Write;
        let orders = self.orders.as_mut().expect("the watchdog takes orders");
        writeln!(orders, "{order}").expect("the watchdog reads its orders");
        orders.flush().unwrap();
    }

    fn wait_until_listening(&mut self) -> bool {
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                std::thread::sleep(Duration::from_millis(300));
                return true;
            }
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // End-of-file: the watchdog stops the server if it runs and removes the folder.
        self.orders = None;
        let _ = self.watchdog.wait();
    }
}

pub fn find_postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Declares a test that runs once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let f = $body;
                if let Some(server) = TestServer::start(Engine::Sqlite).await {
                    f(server).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let f = $body;
                if let Some(server) = TestServer::start(Engine::Postgres).await {
                    f(server).await;
                }
            }
        }
    };
}

/// A `sqlite` and a `postgres` test, each running `check(engine)`, for tests that
/// start their servers themselves.
#[macro_export]
macro_rules! each_engine {
    ($check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            $check(Engine::Sqlite).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            $check(Engine::Postgres).await;
        }
    };
}

impl TestServer {
    /// Another tonearm process serving the same data and database.
    pub fn second_process(&self) -> SecondServer {
        self.second_process_with(&[])
    }

    /// Another tonearm process on the same data and database, with more `serve` flags.
    pub fn second_process_with(&self, args: &[&str]) -> SecondServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tonearm"))
            .args(["serve", "--no-scan", "--listen", "127.0.0.1:0", "--data"])
            .arg(self.data.path())
            .args(["--database", &self.database_url])
            .args(args)
            .env("RUST_LOG", "warn")
            .env("TONEARM_SESSION_CACHE", "0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("a second tonearm starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the second server printed its address")
                .unwrap();
            if let Some(address) = line.strip_prefix("tonearm listening on ") {
                break address.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        SecondServer {
            base,
            child,
            client: self.client.clone(),
        }
    }

    /// Runs SQL against this server's database, as an operator (or the passing of
    /// time) would change it.
    pub async fn sql(&self, statement: &str) {
        match self.sqlite_path() {
            Some(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(Duration::from_secs(10)).unwrap();
                conn.execute_batch(statement)
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
            }
            None => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::Executor::execute(&mut conn, statement).await.unwrap();
            }
        }
    }

    /// The SQLite file of this server's database; None on PostgreSQL.
    fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite://")?;
        Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
    }

    /// Makes every session expired, as if it had not been used for its whole length.
    pub async fn expire_sessions(&self) {
        self.sql(&format!("UPDATE sessions SET expire = {}", unix_now() - 1))
            .await;
    }

    /// Makes every session expire `seconds` from now.
    pub async fn expire_sessions_in(&self, seconds: i64) {
        self.sql(&format!(
            "UPDATE sessions SET expire = {}",
            unix_now() + seconds
        ))
        .await;
    }
}

pub struct SecondServer {
    pub base: String,
    child: Child,
    client: reqwest::Client,
}

impl SecondServer {
    /// Kills the process at once (SIGKILL), as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn json(&self, params: &[(&str, &str)]) -> serde_json::Value {
        let text = self
            .client
            .get(format!(
                "{}/server/json.server.php?{}",
                self.base,
                encode_query(params)
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for SecondServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestServer {
    /// The first column of every row of a query, as text.
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        match self.sqlite_path() {
            Some(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(Duration::from_secs(10)).unwrap();
                let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let rows = statement
                    .query_map([], |row| row.get::<_, String>(0))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.map(|row| row.unwrap()).collect()
            }
            None => {
                use sqlx::{Connection, Row};
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query(sql)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .iter()
                    .map(|row| row.get::<String, _>(0))
                    .collect()
            }
        }
    }
}

/// One API call in JSON with a session token.
pub async fn call(
    server: &TestServer,
    token: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let mut params = vec![("action", action), ("auth", token)];
    params.extend_from_slice(extra);
    server.json(&params).await
}

/// The `field` of every item of a JSON list answer (a list of songs, playlists, ...).
pub async fn list_field(
    server: &TestServer,
    token: &str,
    action: &str,
    extra: &[(&str, &str)],
    field: &str,
) -> Vec<String> {
    let doc = call(server, token, action, extra).await;
    doc.as_array()
        .unwrap_or_else(|| panic!("{action}: {doc}"))
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect()
}

/// Creates a playlist (`kind`: public or private) as the holder of `token`; its id.
pub async fn create_playlist(server: &TestServer, token: &str, name: &str, kind: &str) -> String {
    let created = call(
        server,
        token,
        "playlist_create",
        &[("name", name), ("type", kind)],
    )
    .await;
    created[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("playlist_create: {created}"))
        .to_string()
}

/// The first column of the first row of `sql` on the server's database.
pub async fn one(server: &TestServer, sql: &str) -> String {
    server
        .query_strings(sql)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no row for {sql}"))
}

/// A song's id and the path of its file, by title.
pub async fn song(server: &TestServer, title: &str) -> (String, PathBuf) {
    let title = title.replace('\'', "''");
    let id = one(
        server,
        &format!("SELECT CAST(id AS TEXT) FROM songs WHERE title = '{title}'"),
    )
    .await;
    let path = one(
        server,
        &format!("SELECT path FROM songs WHERE title = '{title}'"),
    )
    .await;
    (id, PathBuf::from(path))
}
