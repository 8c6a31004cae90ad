//! A full disk: while the database cannot grow, writes answer a clear error and never
//! a false success; once space is back, handshakes and writes work again at once,
//! without a restart. Needs root (to mount a small tmpfs); others print SKIPPED.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A small tmpfs mounted on a fresh folder, unmounted (and the folder removed) on drop,
/// whatever happened in between.
struct Tmpfs {
    dir: Option<tempfile::TempDir>,
}

impl Tmpfs {
    fn mount(megabytes: u32) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("tonearm-full")
            .tempdir()
            .unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "cannot mount a tmpfs on {:?}", dir.path());
        Tmpfs { dir: Some(dir) }
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// Fills the file system with one file, to the last byte, and returns it.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for size in [1 << 20, 4096, 1] {
            while matches!(file.write(&zeros[..size]), Ok(n) if n > 0) {}
        }
        assert!(
            file.write(&zeros[..1]).is_err(),
            "the tmpfs at {:?} is not full",
            self.path()
        );
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let path = self.path().to_path_buf();
        let unmounted = Command::new("umount")
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Something still has a file open there: detach it now, it goes when freed.
            let _ = Command::new("umount").arg("-l").arg(&path).status();
        }
        drop(self.dir.take());
    }
}

/// The outcome of one write while the disk was full.
#[derive(Default)]
struct Outcomes {
    failed: usize,
    succeeded: usize,
    /// Playlists created, and not, while full.
    created: Vec<String>,
    not_created: Vec<String>,
    /// What the kept playlist's songs must be afterwards, in order.
    kept_songs: Vec<String>,
    /// Songs rated (3) while full, and songs whose rating failed.
    rated: Vec<String>,
    not_rated: Vec<String>,
    /// Sessions opened while full.
    sessions: usize,
}

impl Outcomes {
    /// Counts one answer: a success, or a clear Ampache error (never anything else).
    fn record(&mut self, what: &str, doc: &serde_json::Value, success: bool) -> bool {
        if success {
            self.succeeded += 1;
            return true;
        }
        let error = &doc["error"];
        assert!(
            error["code"].as_str().is_some_and(|c| !c.is_empty())
                && error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what} while the disk is full: neither a success nor an Ampache error: {doc}"
        );
        self.failed += 1;
        false
    }
}

async fn handshake(server: &TestServer) -> serde_json::Value {
    let timestamp = fresh_timestamp().to_string();
    let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
    server
        .json(&[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &timestamp),
            ("auth", &auth),
            ("version", "400004"),
        ])
        .await
}

async fn session_count(server: &TestServer) -> usize {
    server
        .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM sessions")
        .await[0]
        .parse()
        .unwrap()
}

async fn kept_songs(server: &TestServer, token: &str, playlist: &str) -> Vec<String> {
    list_field(
        server,
        token,
        "playlist_songs",
        &[("filter", playlist)],
        "id",
    )
    .await
}

async fn playlist_names(server: &TestServer, token: &str) -> Vec<String> {
    list_field(server, token, "playlists", &[], "name").await
}

async fn rating(server: &TestServer, song: &str) -> Option<String> {
    server
        .query_strings(&format!(
            "SELECT CAST(rating AS TEXT) FROM ratings WHERE object_kind = 'song' AND object_id = {song}"
        ))
        .await
        .pop()
}

/// Rounds of writes (playlist_create, playlist_add_song, rate, handshake) while the
/// disk is full, the last ones concurrent, until at least `min_failures` failed (or
/// `max_rounds` ran). Every answer is recorded, to be checked once space is back.
async fn write_while_full(
    server: &TestServer,
    token: &str,
    kept: &str,
    songs: &[String],
    min_failures: usize,
    max_rounds: usize,
) -> Outcomes {
    let mut out = Outcomes {
        kept_songs: kept_songs(server, token, kept).await,
        ..Outcomes::default()
    };
    for round in 0..max_rounds {
        if out.failed >= min_failures && round >= 4 {
            break;
        }
        let name = format!("while full {round}");
        let song = &songs[round % songs.len()];
        // Each song is rated once at most, so a failed rating cannot be hidden by a
        // later success; past the last song, a read takes its place.
        let rated = songs.get(round);
        let create_params = [("name", name.as_str()), ("type", "public")];
        let add_params = [("filter", kept), ("song", song.as_str())];
        let (rate_action, rate_params) = match rated {
            Some(rated) => (
                "rate",
                vec![("type", "song"), ("id", rated.as_str()), ("rating", "3")],
            ),
            None => ("ping", vec![]),
        };
        let create = call(server, token, "playlist_create", &create_params);
        let add = call(server, token, "playlist_add_song", &add_params);
        let rate = call(server, token, rate_action, &rate_params);
        // The first rounds one write at a time, then all four at once.
        let (create, add, rate, hello) = if round < 2 {
            (create.await, add.await, rate.await, handshake(server).await)
        } else {
            tokio::join!(create, add, rate, handshake(server))
        };
        let ok = create.as_array().is_some();
        if out.record("playlist_create", &create, ok) {
            out.created.push(name);
        } else {
            out.not_created.push(name);
        }
        // Concurrent adds may land in either order; only sequential ones are checked
        // for their position.
        let ok = add["success"].is_string();
        if out.record("playlist_add_song", &add, ok) {
            out.kept_songs.push(song.clone());
        }
        let ok = rate["success"].is_string();
        if let Some(rated) = rated {
            if out.record("rate", &rate, ok) {
                out.rated.push(rated.clone());
            } else {
                out.not_rated.push(rated.clone());
            }
        }
        let ok = hello["auth"].is_string();
        if out.record("handshake", &hello, ok) {
            out.sessions += 1;
        }
    }
    eprintln!(
        "while the disk was full: {} writes failed, {} succeeded",
        out.failed, out.succeeded
    );
    out
}

/// Once space is back: within a few seconds a handshake works, and then every kind of
/// write works at once, and what the full disk refused is not there.
async fn check_recovery(server: &TestServer, kept: &str, songs: &[String], out: &Outcomes) {
    let started = Instant::now();
    let token = loop {
        let doc = handshake(server).await;
        if let Some(token) = doc["auth"].as_str() {
            break token.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "handshakes still fail {:?} after space came back: {doc}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Nothing that failed is there; everything that succeeded is.
    let names = playlist_names(server, &token).await;
    for name in &out.not_created {
        assert!(
            !names.contains(name),
            "{name:?} failed but exists: {names:?}"
        );
    }
    for name in &out.created {
        assert!(names.contains(name), "{name:?} succeeded but is missing");
    }
    let mut actual = kept_songs(server, &token, kept).await;
    let mut expected = out.kept_songs.clone();
    actual.sort();
    expected.sort();
    assert_eq!(actual, expected, "the kept playlist's songs");
    for song in &out.not_rated {
        assert_eq!(
            rating(server, song).await,
            None,
            "song {song}'s rating failed"
        );
    }
    for song in &out.rated {
        assert_eq!(rating(server, song).await.as_deref(), Some("3"));
    }

    // Every kind of write works again, at the first try.
    let created = call(
        server,
        &token,
        "playlist_create",
        &[("name", "after the disk was freed"), ("type", "private")],
    )
    .await;
    let id = created[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("playlist_create after freeing space: {created}"))
        .to_string();
    for song in &songs[..3] {
        let added = call(
            server,
            &token,
            "playlist_add_song",
            &[("filter", &id), ("song", song)],
        )
        .await;
        assert!(added["success"].is_string(), "{added}");
    }
    assert_eq!(kept_songs(server, &token, &id).await, songs[..3].to_vec());
    let last = songs.last().unwrap();
    let rated = call(
        server,
        &token,
        "rate",
        &[("type", "song"), ("id", last), ("rating", "5")],
    )
    .await;
    assert!(rated["success"].is_string(), "{rated}");
    assert_eq!(rating(server, last).await.as_deref(), Some("5"));
    let before = session_count(server).await;
    for _ in 0..5 {
        let doc = handshake(server).await;
        let token = doc["auth"].as_str().unwrap_or_else(|| panic!("{doc}"));
        let ping = call(server, token, "ping", &[]).await;
        assert!(ping["session_expire"].is_string(), "{ping}");
    }
    assert_eq!(session_count(server).await, before + 5);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "recovery took {:?}",
        started.elapsed()
    );
}

async fn library_song_ids(server: &TestServer, token: &str) -> Vec<String> {
    let doc = call(server, token, "songs", &[]).await;
    doc.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// SQLite, with the data folder (database, WAL) on a tmpfs that fills up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_recovers_after_disk_full() {
    if !is_root() {
        eprintln!("SKIPPED: disk-full test on SQLite (needs root to mount a tmpfs)");
        return;
    }
    let tmpfs = Tmpfs::mount(16);
    let server = TestServer::start_at(None, Options::default(), Some(tmpfs.path()));
    let token = server.admin_token().await;
    let songs = library_song_ids(&server, &token).await;
    let kept = create_playlist(&server, &token, "kept", "public").await;
    let added = call(
        &server,
        &token,
        "playlist_add_song",
        &[("filter", &kept), ("song", &songs[0])],
    )
    .await;
    assert!(added["success"].is_string(), "{added}");
    let sessions_before = session_count(&server).await;

    let filler = tmpfs.fill();
    let out = write_while_full(&server, &token, &kept, &songs, 8, 6).await;
    // SQLite's write-ahead log only grows here (no checkpoint has reset it), so not
    // one write can succeed while the disk is full.
    assert_eq!(
        out.succeeded, 0,
        "writes acknowledged while the disk was full"
    );
    assert!(out.failed >= 8, "only {} writes failed", out.failed);
    std::fs::remove_file(filler).unwrap();

    check_recovery(&server, &kept, &songs, &out).await;
    assert_eq!(
        session_count(&server).await,
        sessions_before + 1 + 5,
        "a session from a failed handshake exists"
    );
    drop(server);
    drop(tmpfs);
}

/// A throwaway PostgreSQL cluster (its own, so filling its disk disturbs no other
/// test), stopped on drop.
struct Cluster {
    url: String,
    /// Closing it makes the watchdog shell stop the server (see the harness).
    lifeline: Option<ChildStdin>,
    watchdog: Child,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// A cluster whose database `tonearm` lives in a tablespace on `space`.
    async fn start(bin: &Path, space: &Path) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("tonearm-pg-full")
            .tempdir()
            .unwrap();
        for path in [dir.path(), space] {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.path().join("data");
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = format!(
            "{postgres} -D {data} -p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off & \
             pg=$!; cat > /dev/null; kill -INT $pg; wait $pg",
            postgres = bin.join("postgres").display(),
            data = data.display(),
            sock = dir.path().display(),
        );
        let mut watchdog = Command::new("runuser")
            .args(["-u", "postgres", "--", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lifeline = watchdog.stdin.take();
        let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        use sqlx::Connection;
        let started = Instant::now();
        let mut conn = loop {
            match sqlx::PgConnection::connect(&admin_url).await {
                Ok(conn) => break conn,
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("the disk-full PostgreSQL did not start: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        for statement in [
            format!("CREATE TABLESPACE small LOCATION '{}'", space.display()),
            "CREATE DATABASE tonearm TABLESPACE small".to_string(),
        ] {
            sqlx::Executor::execute(&mut conn, statement.as_str())
                .await
                .unwrap();
        }
        Cluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/tonearm"),
            lifeline,
            watchdog,
            _dir: dir,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.watchdog.wait();
    }
}

/// PostgreSQL, with tonearm's database in a tablespace on a tmpfs that fills up. (Its
/// write-ahead log stays on a disk with room: with the whole cluster on a full disk,
/// PostgreSQL panics at its next checkpoint and then cannot even finish crash recovery,
/// so it shuts down and waits for an operator; nothing tonearm could recover from.)
/// PostgreSQL reuses free room in existing pages, so some writes may succeed while
/// full: each must then be there afterwards, and each failed one must not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_recovers_after_disk_full() {
    if !is_root() {
        eprintln!("SKIPPED: disk-full test on PostgreSQL (needs root to mount a tmpfs)");
        return;
    }
    let Some(bin) = crate::harness::find_postgres_bin() else {
        if std::env::var_os("TONEARM_REQUIRE_POSTGRES").is_some() {
            panic!("TONEARM_REQUIRE_POSTGRES is set but no PostgreSQL is installed");
        }
        eprintln!("SKIPPED: disk-full test on PostgreSQL (no initdb found)");
        return;
    };
    let tmpfs = Tmpfs::mount(32);
    let cluster = Cluster::start(&bin, tmpfs.path()).await;
    let server = TestServer::start_at(Some(cluster.url.clone()), Options::default(), None);
    let token = server.admin_token().await;
    let songs = library_song_ids(&server, &token).await;
    let kept = create_playlist(&server, &token, "kept", "public").await;
    let sessions_before = session_count(&server).await;

    let filler = tmpfs.fill();
    let out = write_while_full(&server, &token, &kept, &songs, 8, 60).await;
    assert!(
        out.failed >= 8,
        "only {} writes failed ({} succeeded)",
        out.failed,
        out.succeeded
    );
    std::fs::remove_file(filler).unwrap();

    check_recovery(&server, &kept, &songs, &out).await;
    assert_eq!(
        session_count(&server).await,
        sessions_before + out.sessions + 1 + 5,
        "a session from a failed handshake exists"
    );
    drop(server);
    drop(cluster);
    drop(tmpfs);
}
