//! Faults: a process killed with SIGKILL in the middle of writes loses nothing it
//! acknowledged, leaves a database that passes its integrity check, and the others
//! sharing the database go on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;
use crate::on_both_engines;

on_both_engines!(
    a_process_killed_during_playlist_writes_loses_nothing_acknowledged,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let songs = list_field(&server, &token, "songs", &[], "id").await;
        let playlist = create_playlist(&server, &token, "Crash", "public").await;
        let mut victim = server.second_process();
        let base = victim.base.clone();
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut writers = Vec::new();
        for w in 0..4 {
            let (client, base, token, playlist) = (
                client.clone(),
                base.clone(),
                token.clone(),
                playlist.clone(),
            );
            let (acknowledged, sent, songs) = (acknowledged.clone(), sent.clone(), songs.clone());
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let song = &songs[(w * 7 + i) % songs.len()];
                    let url = format!(
                        "{base}/server/json.server.php?{}",
                        encode_query(&[
                            ("action", "playlist_add_song"),
                            ("auth", &token),
                            ("filter", &playlist),
                            ("song", song),
                        ])
                    );
                    sent.fetch_add(1, Ordering::SeqCst);
                    let Ok(response) = client.get(url).send().await else {
                        break; // the process is gone
                    };
                    let Ok(text) = response.text().await else {
                        break;
                    };
                    let doc: serde_json::Value =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
                    assert!(doc.get("success").is_some(), "{doc}");
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        // Let the writes run, then kill the process under them.
        while acknowledged.load(Ordering::SeqCst) < 40 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        victim.kill();
        for writer in writers {
            writer.await.unwrap();
        }
        let acknowledged = acknowledged.load(Ordering::SeqCst);
        let sent = sent.load(Ordering::SeqCst);

        // The surviving process sees every acknowledged add; at most the four in
        // flight at the kill may have landed without their answer.
        let present = list_field(
            &server,
            &token,
            "playlist_songs",
            &[("filter", &playlist), ("limit", "none")],
            "id",
        )
        .await
        .len();
        assert!(
            present >= acknowledged && present <= sent,
            "{present} songs in the playlist, {acknowledged} adds acknowledged, {sent} sent"
        );
        if server.database_url.starts_with("sqlite:") {
            assert_eq!(server.query_strings("PRAGMA integrity_check").await, ["ok"]);
        }
        // And a new process on the same database works, reads and writes.
        let again = server.second_process();
        let added = again
            .json(&[
                ("action", "playlist_add_song"),
                ("auth", &token),
                ("filter", &playlist),
                ("song", &songs[0]),
            ])
            .await;
        assert!(added.get("success").is_some(), "{added}");
        let count = call(&server, &token, "playlist", &[("filter", &playlist)]).await;
        assert_eq!(
            count[0]["items"].as_u64(),
            Some(present as u64 + 1),
            "{count}"
        );
    }
);

/// A file cut short while it streams: the stream ends (a short body, never a hang),
/// and the server goes on answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_cut_short_mid_stream_ends_that_stream_only() {
    let Some(server) = TestServer::start_unscanned(Engine::Sqlite).await else {
        return;
    };
    // A long file, so that the answer is still being sent when it is cut: 8 MB of
    // 10 minutes of WAV made by ffmpeg.
    let long = server.music.join("Long Take.wav");
    let made = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:duration=600:sample_rate=8000")
        .args(["-metadata", "title=Long Take", "-ac", "1"])
        .arg(&long)
        .status()
        .expect("ffmpeg runs");
    assert!(made.success());
    server.cli(&["scan"]).expect("the scan succeeds");
    let token = server.admin_token().await;
    let id = server
        .query_strings("SELECT CAST(id AS TEXT) FROM songs WHERE title = 'Long Take'")
        .await
        .pop()
        .expect("the long file is a song");
    let size = std::fs::metadata(&long).unwrap().len();

    let url = format!(
        "{}/play/index.php?ssid={token}&type=song&oid={id}&uid=1&player=api&name=x",
        server.base
    );
    let mut response = server.client.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let first = response.chunk().await.unwrap().expect("a first chunk");
    assert!(!first.is_empty());
    // Cut the file to a tenth while the answer is on its way.
    std::fs::File::options()
        .write(true)
        .open(&long)
        .unwrap()
        .set_len(size / 10)
        .unwrap();
    let mut received = first.len() as u64;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        // Until the body ends or breaks off.
        while let Ok(Some(chunk)) = response.chunk().await {
            received += chunk.len() as u64;
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended within 10 s");
    assert!(
        received < size,
        "{received} of {size} bytes: the cut was seen"
    );
    // The server is fine: it answers, and streams the file as it is now.
    let ping = call(&server, &token, "ping", &[]).await;
    assert!(ping.get("session_expire").is_some(), "{ping}");
    let again = server
        .client
        .get(format!(
            "{}/play/index.php?ssid={token}&type=song&oid={id}&uid=1&player=api&name=x",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert!(again.status().as_u16() < 500);
}

/// Two scans started at once on one database: both finish without an error (no
/// deadlock; one waits for the other's lease on the catalog), every file is a song
/// once, and a third scan finds nothing to do.
mod two_scans_at_once {
    use super::*;

    async fn check(engine: Engine) {
        let Some(server) = TestServer::start(engine).await else {
            return;
        };
        let before = count(&server).await;
        assert!(before > 0);
        // Twenty more copies of every file (hard links), new to both scans.
        let originals: Vec<std::path::PathBuf> = files(&server.music);
        for copy in 0..20 {
            let folder = server.music.join(format!("copy {copy:02}"));
            std::fs::create_dir_all(&folder).unwrap();
            for (i, file) in originals.iter().enumerate() {
                let name = format!("{i:02} {}", file.file_name().unwrap().to_string_lossy());
                std::fs::hard_link(file, folder.join(name)).unwrap();
            }
        }
        let mut first = server.spawn_cli(&["scan"]);
        let mut second = server.spawn_cli(&["scan"]);
        let both = tokio::task::spawn_blocking(move || (first.wait(), second.wait()));
        let (first, second) = tokio::time::timeout(Duration::from_secs(120), both)
            .await
            .expect("the scans ended within 2 minutes")
            .unwrap();
        for status in [first.unwrap(), second.unwrap()] {
            assert!(status.success(), "a scan failed: {status:?}");
        }
        assert_eq!(count(&server).await, before * 21);
        let third = server.cli(&["scan"]).expect("a third scan runs");
        assert!(third.contains(" 0 added, 0 updated, 0 removed"), "{third}");
    }

    use super::song_count as count;

    fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files(&path));
            } else {
                found.push(path);
            }
        }
        found
    }

    crate::each_engine!(check);
}

/// kill -9 in the middle of a transcode, then a new server on the same data folder and
/// database: the database is whole and holds what was acknowledged, the killed
/// server's ffmpeg died with it, its half-made transcode is neither served nor kept,
/// and the same transcode made again is whole, cached and served from the cache.
mod killed_during_a_transcode {
    use super::*;
    use crate::transcode::{ffmpeg_processes, long_song, probe, wait_until};

    async fn check(engine: Engine) {
        let Some(mut server) = TestServer::start(engine).await else {
            return;
        };
        let id = long_song(&server).await;
        let songs = count(&server).await;
        let token = server.admin_token().await;
        let playlist = create_playlist(&server, &token, "Before the crash", "private").await;
        let added = call(
            &server,
            &token,
            "playlist_add_song",
            &[("filter", &playlist), ("song", &id)],
        )
        .await;
        assert!(added.get("success").is_some(), "{added}");
        let needle = server.music.to_string_lossy().to_string();
        let cache = server.data.path().join("cache/transcode");
        let stream = |server: &TestServer| {
            format!(
                "{}/server/json.server.php?{}",
                server.base,
                encode_query(&[
                    ("action", "stream"),
                    ("auth", &token),
                    ("type", "song"),
                    ("id", &id),
                    ("format", "mp3"),
                    ("bitrate", "128"),
                ])
            )
        };

        // The 8-minute song to MP3: kill the server once the first 64 KiB are in.
        let mut response = server.client.get(stream(&server)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let mut received = 0;
        while received < 64 * 1024 {
            received += response.chunk().await.unwrap().expect("more output").len();
        }
        let ffmpeg = ffmpeg_processes(&needle);
        assert_eq!(ffmpeg.len(), 1, "one ffmpeg runs: {ffmpeg:?}");
        let parts = files_ending(&cache, ".part");
        assert_eq!(parts.len(), 1, "the transcode being made: {parts:?}");
        // An ffmpeg that writes nothing for a while (a slow disk, a seek, a muxer
        // holding its output back) learns of the closed pipe only at its next write:
        // this one is frozen, so only the server's death can end it.
        let _frozen = Frozen(ffmpeg.clone());
        signal("STOP", ffmpeg[0]);
        server.kill();
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(chunk)) = response.chunk().await {
                received += chunk.len();
            }
        })
        .await;
        assert!(ended.is_ok(), "the stream ended with the server");
        // Its ffmpeg is no orphan: it died with the server.
        wait_until("the killed server's ffmpeg ends", || {
            ffmpeg_processes(&needle).is_empty()
        })
        .await;

        server.restart();
        if server.database_url.starts_with("sqlite:") {
            assert_eq!(server.query_strings("PRAGMA integrity_check").await, ["ok"]);
        }
        assert_eq!(count(&server).await, songs);
        // The session and the playlist are still there.
        let ping = call(&server, &token, "ping", &[]).await;
        assert!(ping.get("session_expire").is_some(), "{ping}");
        let listed = call(&server, &token, "playlist", &[("filter", &playlist)]).await;
        assert_eq!(listed[0]["items"].as_u64(), Some(1), "{listed}");

        // The half-made transcode is not served: the same request makes it again,
        // whole, ...
        let started = std::time::Instant::now();
        let whole = server.client.get(stream(&server)).send().await.unwrap();
        assert_eq!(whole.status().as_u16(), 200);
        let whole = whole.bytes().await.unwrap();
        assert!(whole.len() > received, "{} <= {received}", whole.len());
        let (format, codec, _, duration) = probe(&whole);
        assert_eq!((format.as_str(), codec.as_str()), ("mp3", "mp3"));
        assert!((duration - 480.0).abs() < 1.0, "{duration}");
        eprintln!("whole transcode after the restart: {:?}", started.elapsed());
        // ...keeps it in the cache (and not the killed one's leftover), ...
        wait_until("the cache holds the whole transcode only", || {
            files_ending(&cache, ".mp3").len() == 1 && files_ending(&cache, ".part").is_empty()
        })
        .await;
        // ...and serves the next request from it: exact length, ranges.
        let again = server.client.get(stream(&server)).send().await.unwrap();
        assert_eq!(again.headers()["accept-ranges"], "bytes");
        assert_eq!(
            again.headers()["content-length"],
            whole.len().to_string().as_str()
        );
        assert_eq!(again.bytes().await.unwrap(), whole);
        assert!(ffmpeg_processes(&needle).is_empty());
    }

    use super::song_count as count;

    fn signal(name: &str, pid: u32) {
        let _ = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status();
    }

    /// Frozen ffmpeg processes, killed when the test ends if they still run (when
    /// the test fails).
    struct Frozen(Vec<u32>);

    impl Drop for Frozen {
        fn drop(&mut self) {
            for &pid in &self.0 {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if cmdline.starts_with(b"ffmpeg") {
                    signal("KILL", pid);
                }
            }
        }
    }

    fn files_ending(dir: &std::path::Path, suffix: &str) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default()
    }

    crate::each_engine!(check);
}

/// PostgreSQL stopped under a server answering three busy clients, and started again
/// a few seconds later: while it is down every request gets a well-formed Ampache
/// error in its format within a few seconds (never a dropped connection or a hang);
/// once it is back, requests succeed again within 10 s, without restarting tonearm,
/// and the sessions are still valid.
mod postgres_restarting_under_load {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
    use std::time::Instant;

    /// What one request got: an answer, an Ampache error (code, message), or a
    /// failure (no answer in time, a broken connection, a malformed body).
    #[derive(Debug, Clone, PartialEq)]
    enum Got {
        Answer,
        Error(String, String),
        Failure(String),
    }

    #[derive(Debug)]
    struct Record {
        client: usize,
        sent: Instant,
        took: Duration,
        what: String,
        got: Got,
    }

    /// How long a client waits for any answer.
    const PATIENCE: Duration = Duration::from_secs(8);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(mut cluster) = private_postgres() else {
            return;
        };
        let url = cluster.new_database().await;
        let server = TestServer::start_at(Some(url), Options::default(), None);
        let token = server.admin_token().await;
        let song = list_field(&server, &token, "songs", &[("limit", "1")], "id").await[0].clone();

        let records = Arc::new(Mutex::new(Vec::<Record>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let client = reqwest::Client::builder().build().unwrap();
        let mut clients = Vec::new();
        for c in 0..3 {
            let (client, base, token, song) = (
                client.clone(),
                server.base.clone(),
                token.clone(),
                song.clone(),
            );
            let (records, stop) = (records.clone(), stop.clone());
            clients.push(tokio::spawn(async move {
                for i in c.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let format = if i % 2 == 0 {
                        Format::Json
                    } else {
                        Format::Xml
                    };
                    let (action, extra): (&str, Vec<(&str, &str)>) = match i % 3 {
                        0 => ("songs", vec![("limit", "5")]),
                        1 => ("ping", vec![]),
                        _ => ("song", vec![("filter", &song)]),
                    };
                    let mut params = vec![("action", action), ("auth", &token)];
                    params.extend(extra);
                    let url = format!("{base}{}?{}", format.path(), encode_query(&params));
                    let sent = Instant::now();
                    let answer = tokio::time::timeout(PATIENCE, async {
                        let response = client.get(url).send().await?;
                        let status = response.status().as_u16();
                        Ok::<_, reqwest::Error>((status, response.text().await?))
                    })
                    .await;
                    let got = match answer {
                        Err(_) => Got::Failure(format!("no answer within {PATIENCE:?}")),
                        Ok(Err(e)) => Got::Failure(format!("no answer: {e:?}")),
                        Ok(Ok((200, body))) => read(format, action, &body),
                        Ok(Ok((status, body))) => Got::Failure(format!("HTTP {status}: {body}")),
                    };
                    records.lock().unwrap().push(Record {
                        client: c,
                        sent,
                        took: sent.elapsed(),
                        what: format!("{action} ({format:?})"),
                        got,
                    });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
        let began = Instant::now();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let stopping = Instant::now();
        tokio::task::block_in_place(|| cluster.stop());
        eprintln!("PostgreSQL stopped in {:?}", stopping.elapsed());
        // A player's stream URL meanwhile: 503 with a Retry-After (players retry on
        // it), not a 500.
        let play = format!(
            "{}/play/index.php?ssid={token}&type=song&oid={song}",
            server.base
        );
        let response = tokio::time::timeout(PATIENCE, client.get(play).send())
            .await
            .expect("the play URL answers while PostgreSQL is down")
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("5")
        );
        tokio::time::sleep(Duration::from_secs(6)).await;
        let starting = Instant::now();
        tokio::task::block_in_place(|| cluster.restart());
        let up = Instant::now();
        eprintln!("PostgreSQL listening again after {:?}", up - starting);
        // Every client gets answers again, soon.
        let recovered = loop {
            let answered: Vec<usize> = records
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.sent >= up && r.got == Got::Answer)
                .map(|r| r.client)
                .collect();
            if (0..3).all(|c| answered.contains(&c)) {
                break up.elapsed();
            }
            assert!(
                up.elapsed() < Duration::from_secs(10),
                "no answers 10 s after PostgreSQL came back: {:?}",
                records
                    .lock()
                    .unwrap()
                    .iter()
                    .rev()
                    .take(6)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            client.await.unwrap();
        }

        let records = std::mem::take(&mut *records.lock().unwrap());
        let failures: Vec<&Record> = records
            .iter()
            .filter(|r| matches!(r.got, Got::Failure(_)))
            .collect();
        assert!(
            failures.is_empty(),
            "requests without an answer: {failures:#?}"
        );
        // Before the stop and after the recovery: answers only.
        for r in &records {
            if r.sent + r.took < stopping || r.sent >= up + recovered {
                assert_eq!(r.got, Got::Answer, "{r:?}");
            }
        }
        // While it was down: the error that says so, in the asked format, soon.
        let errors: Vec<&Record> = records
            .iter()
            .filter(|r| matches!(r.got, Got::Error(..)))
            .collect();
        assert!(
            errors.len() >= 3,
            "errors while PostgreSQL was down: {errors:?}"
        );
        for r in &errors {
            let Got::Error(code, message) = &r.got else {
                unreachable!()
            };
            assert_eq!(code, "400", "{}: {r:?}", r.what);
            assert!(message.contains("database is not available"), "{r:?}");
            assert!(r.took < Duration::from_secs(7), "{r:?}");
        }
        let slowest = records.iter().map(|r| r.took).max().unwrap();
        eprintln!(
            "{} requests in {:?}, {} errors while PostgreSQL was down, slowest answer {slowest:?}, \
             answers again {recovered:?} after it was back",
            records.len(),
            began.elapsed(),
            errors.len(),
        );
        // The session survived: ping still knows it.
        let ping = call(&server, &token, "ping", &[]).await;
        assert!(ping.get("session_expire").is_some(), "{ping}");
    }

    /// What a 200 body says: an answer, an error, or a failure if it is malformed (or
    /// a ping that no longer knows the session).
    fn read(format: Format, action: &str, body: &str) -> Got {
        match format {
            Format::Json => {
                let Ok(doc) = serde_json::from_str::<serde_json::Value>(body) else {
                    return Got::Failure(format!("malformed JSON: {body}"));
                };
                if let Some(error) = doc.get("error") {
                    return Got::Error(
                        error["code"].as_str().unwrap_or("").to_string(),
                        error["message"].as_str().unwrap_or("").to_string(),
                    );
                }
                if action == "ping" && doc.get("session_expire").is_none() {
                    return Got::Failure(format!("the session is gone: {body}"));
                }
                Got::Answer
            }
            Format::Xml => {
                if roxmltree::Document::parse(body).is_err() {
                    return Got::Failure(format!("malformed XML: {body}"));
                }
                let doc = XmlDoc::parse(body.to_string());
                if let Some((code, message)) = doc.error() {
                    return Got::Error(code, message);
                }
                if action == "ping" && doc.field("session_expire").is_none() {
                    return Got::Failure(format!("the session is gone: {body}"));
                }
                Got::Answer
            }
        }
    }
}

/// How many songs the server's database holds.
async fn song_count(server: &TestServer) -> usize {
    server
        .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM songs")
        .await[0]
        .parse()
        .unwrap()
}
