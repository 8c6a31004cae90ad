//! Abuse and secrets: handshake throttling and replay, secrets kept only as hashes,
//! private files, the session memory's bound across nodes, connection limits, logs
//! without credentials.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;
use crate::on_both_engines;

fn password_auth(password: &str, timestamp: i64) -> String {
    sha256_hex(&format!("{timestamp}{}", sha256_hex(password)))
}

/// A client whose connections come from `ip` (any 127.x address reaches the server).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A password handshake for `user` from `client`; the JSON answer and how long it took.
async fn handshake(
    server_base: &str,
    client: &reqwest::Client,
    user: &str,
    password: &str,
    timestamp: i64,
) -> (serde_json::Value, Duration) {
    let ts = timestamp.to_string();
    let auth = password_auth(password, timestamp);
    let query = encode_query(&[
        ("action", "handshake"),
        ("user", user),
        ("timestamp", &ts),
        ("auth", &auth),
        ("version", "400004"),
    ]);
    let started = Instant::now();
    let text = client
        .get(format!("{server_base}/server/json.server.php?{query}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (serde_json::from_str(&text).unwrap(), started.elapsed())
}

fn error_message(doc: &serde_json::Value) -> &str {
    doc["error"]["message"].as_str().unwrap_or("")
}

const WRONG: &str = "Received Invalid Handshake - Incorrect username or password";
const LOCKED: &str = "Received Invalid Handshake - Too many failed attempts, try again later";

async fn throttling(engine: Engine) {
    let Some(server) = TestServer::start_with(
        engine,
        Options {
            scan: false,
            serve_args: [
                "--login-delay-after",
                "2",
                "--login-lockout-after",
                "4",
                "--login-window",
                "4",
            ]
            .map(String::from)
            .to_vec(),
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let base = server.base.clone();
    let attacker = client_from("127.0.0.1");
    // Four wrong passwords: the first two answered at once, then later and later.
    let mut took = Vec::new();
    for i in 0..4 {
        let (doc, time) = handshake(&base, &attacker, ADMIN, "guess", unix_now() - i).await;
        assert_eq!(doc["error"]["code"], json!("401"), "{doc}");
        assert_eq!(error_message(&doc), WRONG);
        took.push(time);
    }
    assert!(took[0] < Duration::from_millis(200), "{took:?}");
    assert!(took[2] >= Duration::from_millis(250), "{took:?}");
    assert!(took[3] >= Duration::from_millis(500), "{took:?}");
    // Locked: even the right password is refused from this address, at once.
    let (doc, time) = handshake(&base, &attacker, ADMIN, ADMIN_PASSWORD, unix_now()).await;
    assert_eq!(doc["error"]["code"], json!("401"), "{doc}");
    assert_eq!(error_message(&doc), LOCKED);
    assert!(time < Duration::from_millis(200));
    // Another address that failed too is refused for this user...
    let other = client_from("127.0.0.3");
    let (doc, _) = handshake(&base, &other, ADMIN, "guess", unix_now() - 10).await;
    assert_eq!(
        error_message(&doc),
        WRONG,
        "a clean address is still checked"
    );
    let (doc, _) = handshake(&base, &other, ADMIN, ADMIN_PASSWORD, unix_now() - 11).await;
    assert_eq!(error_message(&doc), LOCKED, "{doc}");
    // ...but the real user from an address without failures logs in.
    let user = client_from("127.0.0.2");
    let (doc, _) = handshake(&base, &user, ADMIN, ADMIN_PASSWORD, unix_now() - 12).await;
    assert!(doc["auth"].is_string(), "the user is not locked out: {doc}");
    // After the window the first address may try again.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (doc, _) = handshake(&base, &attacker, ADMIN, ADMIN_PASSWORD, unix_now() - 13).await;
    assert!(doc["auth"].is_string(), "after the window: {doc}");
}

mod failed_handshakes_are_throttled {
    use super::*;
    crate::each_engine!(throttling);
}

on_both_engines!(
    a_handshake_is_accepted_once,
    |server: TestServer| async move {
        let client = client_from("127.0.0.1");
        let timestamp = unix_now();
        let (doc, _) = handshake(&server.base, &client, ADMIN, ADMIN_PASSWORD, timestamp).await;
        assert!(doc["auth"].is_string(), "{doc}");
        // The same timestamp+auth again: refused, here and on another process.
        let (doc, _) = handshake(&server.base, &client, ADMIN, ADMIN_PASSWORD, timestamp).await;
        assert_eq!(error_message(&doc), WRONG, "{doc}");
        let second = server.second_process();
        let (doc, _) = handshake(&second.base, &client, ADMIN, ADMIN_PASSWORD, timestamp).await;
        assert_eq!(error_message(&doc), WRONG, "{doc}");
        // A pair first used on the second process is refused on the first.
        let (doc, _) = handshake(&second.base, &client, ADMIN, ADMIN_PASSWORD, timestamp - 1).await;
        assert!(doc["auth"].is_string(), "{doc}");
        let (doc, _) = handshake(&server.base, &client, ADMIN, ADMIN_PASSWORD, timestamp - 1).await;
        assert_eq!(error_message(&doc), WRONG, "{doc}");
        // Replays are pruned with their window, never piling up.
        let rows = server
            .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM used_handshakes")
            .await;
        assert_eq!(rows, ["2"]);
    }
);

on_both_engines!(
    the_database_holds_no_clear_key_or_token,
    |server: TestServer| async move {
        let key = server
            .cli(&["user", "apikey", ADMIN])
            .unwrap()
            .trim()
            .to_string();
        let token = server.admin_token().await;
        let by_key = server
            .json(&[("action", "handshake"), ("auth", &key)])
            .await;
        let key_token = by_key["auth"]
            .as_str()
            .expect("plain key works")
            .to_string();
        let hashed = sha256_hex(&format!("{ADMIN}{}", sha256_hex(&key)));
        let by_hash = server
            .json(&[("action", "handshake"), ("auth", &hashed)])
            .await;
        assert!(by_hash["auth"].is_string(), "hashed key works: {by_hash}");
        // Only hashes are stored.
        let keys = server
            .query_strings(
                "SELECT COALESCE(apikey, '') || ' ' || COALESCE(apikey_hash, '') FROM users",
            )
            .await;
        assert!(keys.iter().all(|row| !row.contains(&key)), "{keys:?}");
        assert!(keys.contains(&format!(" {}", sha256_hex(&key))), "{keys:?}");
        let tokens = server
            .query_strings("SELECT token_hash FROM sessions")
            .await;
        for clear in [&token, &key_token] {
            assert!(!tokens.contains(clear), "{tokens:?}");
            assert!(tokens.contains(&sha256_hex(clear)), "{tokens:?}");
        }
        // Nor anywhere in the SQLite files, however the pages are laid out.
        let db = server.data.path().join("tonearm.db");
        if db.exists() {
            for suffix in ["", "-wal"] {
                let path = format!("{}{suffix}", db.display());
                let bytes = std::fs::read(&path).unwrap_or_default();
                for clear in [&key, &token, &key_token] {
                    assert!(
                        !bytes.windows(clear.len()).any(|w| w == clear.as_bytes()),
                        "{path} holds a clear secret"
                    );
                }
            }
        }
        // The key is shown once: the user method has no key to show.
        let doc = call(&server, &token, "user", &[("username", ADMIN)]).await;
        assert_eq!(doc["user"]["auth"], json!(""), "{doc}");
        // A goodbye finds the session by its hash.
        let doc = server
            .json(&[("action", "goodbye"), ("auth", &token)])
            .await;
        assert!(doc["success"].is_string(), "{doc}");
    }
);

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start_unscanned(Engine::Sqlite).await.unwrap();
    server.admin_token().await;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
    let db = server.data.path().join("tonearm.db");
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        if path.exists() {
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is {:o}",
                path.display(),
                mode(&path)
            );
        }
    }
    // A database left readable by others (by an older tonearm) is made private by
    // the next process that opens it.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    server.cli(&["user", "list"]).unwrap();
    assert_eq!(mode(&db) & 0o077, 0, "{:o}", mode(&db));
}

/// `--session-cache 1`: a goodbye or a disabled user on one node is seen by another
/// within that second (plus a request's time).
async fn cache_bound(engine: Engine) {
    let cache = ["--session-cache", "1"];
    let Some(server) = TestServer::start_with(
        engine,
        Options {
            scan: false,
            serve_args: cache.map(String::from).to_vec(),
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let second = server.second_process_with(&cache);
    let token = server.admin_token().await;
    // B has the session in memory.
    assert_eq!(ask(&second, &token).await["user"]["username"], json!(ADMIN));
    let started = Instant::now();
    let doc = server
        .json(&[("action", "goodbye"), ("auth", &token)])
        .await;
    assert!(doc["success"].is_string(), "{doc}");
    loop {
        let doc = ask(&second, &token).await;
        if error_message(&doc) == "Session Expired" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_millis(2000),
            "B still honours the ended session after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A user disabled by another process (the command line) likewise.
    server
        .cli_with_env(
            &["user", "add", "dora", "--access", "user"],
            &[("TONEARM_PASSWORD", "dora pw")],
        )
        .unwrap();
    let dora = server.login("dora", "dora pw").await;
    let doc = ask(&second, &dora).await;
    assert!(doc["user"].is_object(), "{doc}");
    server.cli(&["user", "disable", "dora"]).unwrap();
    let started = Instant::now();
    loop {
        let doc = ask(&second, &dora).await;
        if error_message(&doc) == "Session Expired" {
            break;
        }
        assert!(started.elapsed() < Duration::from_millis(2000), "{doc}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ask(node: &SecondServer, token: &str) -> serde_json::Value {
    node.json(&[("action", "user"), ("auth", token), ("username", ADMIN)])
        .await
}

mod goodbye_reaches_other_nodes_within_the_cache_bound {
    use super::*;
    crate::each_engine!(cache_bound);
}

fn raw_connect(base: &str) -> TcpStream {
    let address = base.trim_start_matches("http://");
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// True when the server has closed the connection (EOF or reset) within 10 s.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed() {
    let server = TestServer::start_with(
        Engine::Sqlite,
        Options {
            scan: false,
            serve_args: [
                "--http-header-timeout",
                "1",
                "--http-idle-timeout",
                "2",
                "--http-max-connections",
                "6",
            ]
            .map(String::from)
            .to_vec(),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || {
        // Fill the cap: connections that send nothing, half a request line, and one
        // that idles after a keep-alive answer.
        let mut idle: Vec<TcpStream> = (0..3).map(|_| raw_connect(&base)).collect();
        for _ in 0..2 {
            let mut stream = raw_connect(&base);
            stream.write_all(b"GET /server/json.server.php?act").unwrap();
            idle.push(stream);
        }
        let mut kept = raw_connect(&base);
        kept.write_all(
            b"GET /server/json.server.php?action=ping HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
        let mut answer = [0u8; 4096];
        let n = kept.read(&mut answer).unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        idle.push(kept);
        std::thread::sleep(Duration::from_millis(200));
        // Past the cap: a clean refusal, at once.
        let mut extra = raw_connect(&base);
        extra
            .write_all(b"GET /server/json.server.php?action=ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        let _ = extra.read_to_string(&mut text);
        assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
        // The idle ones are closed after the header timeout...
        let started = Instant::now();
        for stream in &mut idle {
            assert!(closed_by_server(stream), "an idle connection stayed open");
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        // ...and a new client is served.
        let mut fresh = raw_connect(&base);
        fresh
            .write_all(b"GET /server/json.server.php?action=ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        fresh.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
        assert!(text.contains("\"server\""), "{text:?}");
    })
    .await
    .unwrap();
}

/// With debug logging on, what a client sends as a credential never reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_stay_out_of_the_logs() {
    let server = TestServer::start_unscanned(Engine::Sqlite).await.unwrap();
    let log = server.data.path().join("debug.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tonearm"))
        .args(["serve", "--no-scan", "--listen", "127.0.0.1:0", "--data"])
        .arg(server.data.path())
        .args(["--database", &server.database_url])
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let base = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(address) = line.strip_prefix("tonearm listening on ") {
            break address.trim().to_string();
        }
    };
    let client = client_from("127.0.0.1");
    let timestamp = unix_now();
    let password_auth = password_auth(ADMIN_PASSWORD, timestamp);
    let (doc, _) = handshake(&base, &client, ADMIN, ADMIN_PASSWORD, timestamp).await;
    let token = doc["auth"].as_str().unwrap().to_string();
    let key = server
        .cli(&["user", "apikey", ADMIN])
        .unwrap()
        .trim()
        .to_string();
    for query in [
        format!("action=ping&auth={token}"),
        format!("action=handshake&auth={key}"),
        format!("action=user&username=admin&auth={token}&apikey={key}&password=hunter2&passphrase=hunter3"),
    ] {
        client
            .get(format!("{base}/server/json.server.php?{query}"))
            .send()
            .await
            .unwrap();
    }
    client
        .get(format!(
            "{base}/play/index.php?ssid={token}&type=song&oid=1"
        ))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("request"), "debug logging ran: {text}");
    for secret in [token.as_str(), &key, &password_auth, "hunter2", "hunter3"] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
}

/// Behind a trusted reverse proxy, failures count per client as the proxy reports it
/// (`X-Forwarded-For`), so one client's lockout is not everyone's; from an untrusted
/// peer the header means nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_behind_a_trusted_proxy() {
    let server = TestServer::start_with(
        Engine::Sqlite,
        Options {
            scan: false,
            serve_args: [
                "--login-delay-after",
                "5",
                "--login-lockout-after",
                "2",
                "--trusted-proxy",
                "127.0.0.1",
            ]
            .map(String::from)
            .to_vec(),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let attempt = |peer: &'static str, forwarded: &'static str, password: &'static str, ts: i64| {
        let base = server.base.clone();
        async move {
            let ts_text = ts.to_string();
            let auth = password_auth(password, ts);
            let query = encode_query(&[
                ("action", "handshake"),
                ("user", ADMIN),
                ("timestamp", &ts_text),
                ("auth", &auth),
            ]);
            let text = client_from(peer)
                .get(format!("{base}/server/json.server.php?{query}"))
                .header("X-Forwarded-For", forwarded)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
    };
    let now = unix_now();
    // Two failures of client 10.0.0.1 through the proxy lock that client out...
    for i in 0..2 {
        let doc = attempt("127.0.0.1", "10.0.0.1", "guess", now - i).await;
        assert_eq!(error_message(&doc), WRONG);
    }
    let doc = attempt("127.0.0.1", "10.0.0.1", ADMIN_PASSWORD, now - 2).await;
    assert_eq!(error_message(&doc), LOCKED, "{doc}");
    // ...not another client of the same proxy.
    let doc = attempt("127.0.0.1", "192.0.2.7, 10.0.0.2", ADMIN_PASSWORD, now - 3).await;
    assert!(doc["auth"].is_string(), "{doc}");
    // An untrusted peer cannot pick its address with the header.
    for i in 0..2 {
        let doc = attempt("127.0.0.5", "10.0.0.9", "guess", now - 10 - i).await;
        assert_eq!(error_message(&doc), WRONG);
    }
    let doc = attempt("127.0.0.5", "10.0.0.8", ADMIN_PASSWORD, now - 12).await;
    assert_eq!(error_message(&doc), LOCKED, "{doc}");
}
