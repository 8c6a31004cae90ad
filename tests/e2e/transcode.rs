//! Transcoding: what ffmpeg makes is a valid file of the asked format and bitrate
//! (checked with ffprobe), the caps hold, a cached transcode answers ranges with the
//! right bytes, plays are counted once per listen, a client that goes away stops its
//! ffmpeg, shutdown leaves no ffmpeg behind, and without ffmpeg raw streams still work.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::*;
use crate::on_both_engines;

async fn plays(server: &TestServer, id: &str) -> i64 {
    one(
        server,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM plays WHERE song_id = {id}"),
    )
    .await
    .parse()
    .unwrap()
}

pub(crate) fn play_url(server: &TestServer, token: &str, id: &str, extra: &str) -> String {
    format!(
        "{}/play/index.php?ssid={token}&type=song&oid={id}&uid=1{extra}&player=api&name=x",
        server.base
    )
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

async fn get(server: &TestServer, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = server.client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// What ffprobe reads in `bytes`: (format name, codec, stream bit rate or 0, duration).
pub(crate) fn probe(bytes: &[u8]) -> (String, String, i64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probe.bin");
    std::fs::write(&path, bytes).unwrap();
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format"])
        .args(["-show_streams"])
        .arg(&path)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe rejects the output: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let stream = &doc["streams"][0];
    let number = |v: &serde_json::Value| -> Option<f64> { v.as_str()?.parse().ok() };
    (
        doc["format"]["format_name"].as_str().unwrap().to_string(),
        stream["codec_name"].as_str().unwrap().to_string(),
        number(&stream["bit_rate"]).unwrap_or(0.0) as i64,
        number(&doc["format"]["duration"]).unwrap_or(0.0),
    )
}

/// Follows `stream` (or `download`) through its redirect.
async fn api_media(
    server: &TestServer,
    token: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let mut params = vec![("action", action), ("auth", token), ("type", "song")];
    params.extend_from_slice(extra);
    get(
        server,
        &format!(
            "{}/server/json.server.php?{}",
            server.base,
            encode_query(&params)
        ),
        &[],
    )
    .await
}

on_both_engines!(
    transcodes_are_what_was_asked,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let (flac, _) = song(&server, "Full FLAC").await;
        let (mp3, mp3_path) = song(&server, "MP3 Tone").await;
        let (vorbis, _) = song(&server, "Vorbis Tone").await;

        // Through the API's redirect: FLAC to MP3 at 48 kbit/s.
        let answer = api_media(
            &server,
            &token,
            "stream",
            &[("id", &flac), ("format", "mp3"), ("bitrate", "48")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-type"), "audio/mpeg");
        let (format, codec, bitrate, duration) = probe(&answer.body);
        assert_eq!(
            (format.as_str(), codec.as_str(), bitrate),
            ("mp3", "mp3", 48_000)
        );
        assert!((duration - 3.0).abs() < 0.3, "{duration}");

        // Each format, with bitrates in kbit/s or bit/s.
        for (id, extra, mime, format, codec, bitrate) in [
            (
                &vorbis,
                "&transcode_to=mp3&bitrate=64000",
                "audio/mpeg",
                "mp3",
                "mp3",
                64_000,
            ),
            (
                &mp3,
                "&transcode_to=ogg&bitrate=64",
                "audio/ogg",
                "ogg",
                "vorbis",
                64_000,
            ),
            (
                &flac,
                "&format=opus&bitrate=24",
                "audio/ogg",
                "ogg",
                "opus",
                0,
            ),
            (
                &flac,
                "&transcode_to=m4a&bitrate=32",
                "audio/mp4",
                "mov,mp4,m4a,3gp,3g2,mj2",
                "aac",
                0,
            ),
            (
                &mp3,
                "&transcode_to=aac&bitrate=32",
                "audio/aac",
                "aac",
                "aac",
                0,
            ),
            (&mp3, "&transcode_to=flac", "audio/flac", "flac", "flac", 0),
        ] {
            let answer = get(&server, &play_url(&server, &token, id, extra), &[]).await;
            assert_eq!(answer.status, StatusCode::OK, "{extra}");
            assert_eq!(answer.header("content-type"), mime, "{extra}");
            let probed = probe(&answer.body);
            assert_eq!(probed.0, format, "{extra}");
            assert_eq!(probed.1, codec, "{extra}");
            if bitrate > 0 {
                assert_eq!(probed.2, bitrate, "{extra}");
            }
        }

        // A file that already fits is the file, with ranges.
        let file = std::fs::read(&mp3_path).unwrap();
        let url = play_url(&server, &token, &mp3, "&transcode_to=mp3&bitrate=128");
        let answer = get(&server, &url, &[]).await;
        assert_eq!(answer.body, file);
        let answer = get(&server, &url, &[("Range", "bytes=10-19")]).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(answer.body, &file[10..20]);
        let answer = get(
            &server,
            &play_url(&server, &token, &flac, "&format=raw"),
            &[],
        )
        .await;
        assert_eq!(answer.header("content-type"), "audio/flac");

        // A download with a format is an attachment named for it.
        let answer = api_media(
            &server,
            &token,
            "download",
            &[("id", &flac), ("format", "mp3")],
        )
        .await;
        assert_eq!(probe(&answer.body).1, "mp3");
        assert!(
            answer
                .header("content-disposition")
                .starts_with("attachment; filename=\"02 - Full FLAC.mp3\""),
            "{}",
            answer.header("content-disposition")
        );

        // An unknown format is a clear error: in the API's envelope, or 400 on the
        // play URL, as is a bad bitrate.
        let message = assert_error(
            &server,
            &[
                ("action", "stream"),
                ("auth", &token),
                ("type", "song"),
                ("id", &flac),
                ("format", "wma"),
            ],
            "401",
        )
        .await;
        assert!(
            message.contains("no transcode profile for wma"),
            "{message}"
        );
        let answer = get(
            &server,
            &play_url(&server, &token, &flac, "&transcode_to=wma"),
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        let answer = get(
            &server,
            &play_url(&server, &token, &flac, "&transcode_to=mp3&bitrate=x"),
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);

        // `frame` starts later: a shorter output.
        let answer = get(
            &server,
            &play_url(
                &server,
                &token,
                &flac,
                "&transcode_to=mp3&bitrate=32&frame=2",
            ),
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("x-content-duration"), "1");
        assert_eq!(answer.header("accept-ranges"), "none");
        let duration = probe(&answer.body).3;
        assert!((duration - 1.0).abs() < 0.3, "{duration}");
        // `offset` alone on stream: the file's own format, from there.
        let answer = api_media(&server, &token, "stream", &[("id", &flac), ("offset", "1")]).await;
        assert_eq!(answer.header("content-type"), "audio/flac");
        assert_eq!(answer.header("x-content-duration"), "2");
        // (A FLAC written to a pipe cannot state its length, so ffprobe has none.)
        assert_eq!(probe(&answer.body).1, "flac");
    }
);

on_both_engines!(plays_once_per_listen, |server: TestServer| async move {
    let token = server.admin_token().await;
    let (id, _) = song(&server, "Overture").await;
    let url = play_url(&server, &token, &id, "&transcode_to=ogg&bitrate=48");
    assert_eq!(plays(&server, &id).await, 0);
    // The first listen streams while ffmpeg runs; the second comes from the cache.
    get(&server, &url, &[]).await;
    assert_eq!(plays(&server, &id).await, 1);
    let whole = get(&server, &url, &[]).await;
    assert_eq!(plays(&server, &id).await, 2);
    // Seeks in the same listen (ranges, `frame`), HEAD and downloads are no plays.
    let answer = get(&server, &url, &[("Range", "bytes=100-")]).await;
    assert_eq!(answer.body, &whole.body[100..]);
    get(&server, &format!("{url}&frame=1"), &[]).await;
    server.client.head(&url).send().await.unwrap();
    get(&server, &format!("{url}&action=download"), &[]).await;
    assert_eq!(plays(&server, &id).await, 2);
});

on_both_engines!(bitrate_caps_hold, |server: TestServer| async move {
    let token = server.admin_token().await;
    let (flac, _) = song(&server, "Full FLAC").await;
    let (mp3, mp3_path) = song(&server, "MP3 Tone").await;
    // The user's own limit (user_update maxbitrate, kept in the store).
    let answer = call(
        &server,
        &token,
        "user_update",
        &[("username", ADMIN), ("maxbitrate", "24")],
    )
    .await;
    assert!(answer["success"].is_string(), "{answer}");
    let answer = get(
        &server,
        &play_url(&server, &token, &flac, "&transcode_to=mp3&bitrate=320"),
        &[],
    )
    .await;
    assert_eq!(probe(&answer.body).2, 24_000);
    // Even `raw` and lossless targets: the 32 kbit/s MP3 comes down to 24.
    for extra in ["&format=raw", "", "&transcode_to=flac"] {
        let answer = get(&server, &play_url(&server, &token, &mp3, extra), &[]).await;
        assert_eq!(answer.header("content-type"), "audio/mpeg", "{extra}");
        assert_eq!(probe(&answer.body).2, 24_000, "{extra}");
    }
    // A download of the original is the file.
    let answer = get(
        &server,
        &play_url(&server, &token, &mp3, "&action=download"),
        &[],
    )
    .await;
    assert_eq!(answer.body, std::fs::read(&mp3_path).unwrap());
    // A limit in bit/s, as later clients send it; above the file's bitrate: the file.
    call(
        &server,
        &token,
        "user_update",
        &[("username", ADMIN), ("maxbitrate", "64000")],
    )
    .await;
    let answer = get(&server, &play_url(&server, &token, &mp3, ""), &[]).await;
    assert_eq!(answer.body, std::fs::read(&mp3_path).unwrap());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cap_holds() {
    let options = Options {
        serve_args: vec!["--max-bitrate".into(), "40".into()],
        ..Options::default()
    };
    let Some(server) = TestServer::start_with(Engine::Sqlite, options).await else {
        return;
    };
    let token = server.admin_token().await;
    let (flac, _) = song(&server, "Full FLAC").await;
    let answer = get(
        &server,
        &play_url(&server, &token, &flac, "&transcode_to=mp3&bitrate=64"),
        &[],
    )
    .await;
    assert_eq!(probe(&answer.body).2, 40_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_transcode_is_seekable() {
    let Some(server) = TestServer::start(Engine::Sqlite).await else {
        return;
    };
    let token = server.admin_token().await;
    let (id, _) = song(&server, "Full FLAC").await;
    let url = play_url(&server, &token, &id, "&transcode_to=mp3&bitrate=32");

    // A Range before anything is cached waits for the whole transcode: exact bytes.
    let early = get(&server, &url, &[("Range", "bytes=1000-1999")]).await;
    assert_eq!(early.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(early.body.len(), 1000);

    let first = get(&server, &url, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    let size = first.body.len();
    assert!(size > 4000, "{size}");
    assert_eq!(early.body, &first.body[1000..2000]);
    assert_eq!(
        early.header("content-range"),
        format!("bytes 1000-1999/{size}")
    );
    let cached: Vec<_> = std::fs::read_dir(server.data.path().join("cache/transcode"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].ends_with(".mp3"), "{cached:?}");

    // From the cache: exact length, ETag, ranges.
    let again = get(&server, &url, &[]).await;
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("content-length"), size.to_string());
    assert_eq!(again.header("accept-ranges"), "bytes");
    let etag = again.header("etag");
    assert!(etag.starts_with("\"t-"), "{etag}");
    for (range, start, end) in [
        ("bytes=100-199".to_string(), 100, 199),
        (format!("bytes={}-", size - 10), size - 10, size - 1),
        ("bytes=-50".to_string(), size - 50, size - 1),
    ] {
        let part = get(&server, &url, &[("Range", &range), ("If-Range", &etag)]).await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            part.header("content-range"),
            format!("bytes {start}-{end}/{size}")
        );
        assert_eq!(part.header("content-length"), (end - start + 1).to_string());
        assert_eq!(part.body, &first.body[start..=end], "{range}");
    }
    let past = get(&server, &url, &[("Range", &format!("bytes={size}-"))]).await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(past.header("content-range"), format!("bytes */{size}"));
    let head = server.client.head(&url).send().await.unwrap();
    assert_eq!(head.headers()["content-length"], size.to_string().as_str());

    // A HEAD never starts ffmpeg, and claims no length it does not know.
    let fresh = play_url(&server, &token, &id, "&transcode_to=ogg&bitrate=40");
    let head = server.client.head(&fresh).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.headers().get("content-length").is_none(), "{head:?}");
    assert_eq!(head.headers()["content-type"], "audio/ogg");

    // Not cached yet, with an estimate asked for: exactly the estimated length.
    let url = play_url(
        &server,
        &token,
        &id,
        "&transcode_to=mp3&bitrate=40&content_length=required",
    );
    let estimated = get(&server, &url, &[]).await;
    let length: usize = estimated.header("content-length").parse().unwrap();
    assert_eq!(estimated.body.len(), length);
    assert_eq!(length, 3 * 40_000 / 8 + 8192);
    assert_eq!(probe(&estimated.body).1, "mp3");
}

/// The pids of running ffmpeg processes whose command line mentions `needle`.
pub(crate) fn ffmpeg_processes(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // A zombie has been reaped by nobody yet but runs no more.
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        if cmdline.starts_with("ffmpeg ") && cmdline.contains(needle) && state != Some("Z") {
            found.push(pid);
        }
    }
    found
}

/// The parent pid of `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The tonearm server process serving `data`.
fn server_pid(data: &Path) -> u32 {
    let needle = data.to_string_lossy().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(" serve ") && cmdline.contains(&needle) {
            return pid;
        }
    }
    panic!("no server process for {needle}");
}

/// A long song (8 minutes of stereo 44.1 kHz FLAC) added to the server's library, so
/// that its transcode runs long enough to be caught running; its id.
pub(crate) async fn long_song(server: &TestServer) -> String {
    let path = server.music.join("long/Long Song.flac");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=480:r=44100",
        ])
        .args(["-ac", "2", "-c:a", "flac", "-metadata", "title=Long Song"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    server.cli(&["scan"]).unwrap();
    song(server, "Long Song").await.0
}

pub(crate) async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_ends_ffmpeg_and_the_limit_holds() {
    let options = Options {
        serve_args: vec!["--max-transcodes".into(), "1".into()],
        ..Options::default()
    };
    let Some(server) = TestServer::start_with(Engine::Sqlite, options).await else {
        return;
    };
    let token = server.admin_token().await;
    let id = long_song(&server).await;
    let needle = server.music.to_string_lossy().to_string();
    let pid = server_pid(server.data.path());
    let url = play_url(&server, &token, &id, "&transcode_to=mp3&bitrate=320");

    let started = Instant::now();
    let mut response = server.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    eprintln!(
        "first byte of a long transcode after {:?}",
        started.elapsed()
    );
    let running = ffmpeg_processes(&needle);
    assert_eq!(running.len(), 1, "one ffmpeg runs: {running:?}");
    assert_eq!(parent_of(running[0]), Some(pid), "a child of the server");

    // With one slot, a second transcode waits for it...
    let second_url = play_url(&server, &token, &id, "&transcode_to=ogg&bitrate=64");
    let client = server.client.clone();
    let second = tokio::spawn(async move {
        let mut response = client.get(&second_url).send().await.unwrap();
        let chunk = response.chunk().await.unwrap();
        (response.status(), chunk.map(|c| c.len()).unwrap_or(0))
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ffmpeg_processes(&needle).len(), 1, "never more than one");

    // ...and gets it when the first client goes away, whose ffmpeg stops at once.
    drop(response);
    wait_until("the first ffmpeg ends", || {
        !ffmpeg_processes(&needle).contains(&running[0])
    })
    .await;
    let (status, length) = second.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(length > 0);
    wait_until("the second ffmpeg ends with its client", || {
        ffmpeg_processes(&needle).is_empty()
    })
    .await;
    // Nothing half-made stays in the cache.
    let cache = server.data.path().join("cache/transcode");
    wait_until("the partial files are removed", || {
        std::fs::read_dir(&cache).unwrap().next().is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_no_ffmpeg() {
    let Some(mut server) = TestServer::start(Engine::Sqlite).await else {
        return;
    };
    let token = server.admin_token().await;
    let id = long_song(&server).await;
    let needle = server.music.to_string_lossy().to_string();
    let url = play_url(&server, &token, &id, "&transcode_to=mp3&bitrate=320");
    let mut response = server.client.get(&url).send().await.unwrap();
    response.chunk().await.unwrap().unwrap();
    assert_eq!(ffmpeg_processes(&needle).len(), 1);
    // SIGTERM while the stream is open: the server ends its stream and exits.
    assert!(
        server.terminate(Duration::from_secs(10)),
        "the server exits"
    );
    assert!(ffmpeg_processes(&needle).is_empty());
    let mut rest = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        rest += chunk.len();
    }
    eprintln!("{rest} more bytes after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ffmpeg_raw_streams_still_work() {
    let options = Options {
        serve_args: vec!["--ffmpeg".into(), "/nonexistent/bin/ffmpeg".into()],
        ..Options::default()
    };
    let Some(server) = TestServer::start_with(Engine::Sqlite, options).await else {
        return;
    };
    let token = server.admin_token().await;
    let (id, path) = song(&server, "FLAC Tone").await;
    let answer = get(
        &server,
        &play_url(&server, &token, &id, "&transcode_to=mp3"),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let message = String::from_utf8_lossy(&answer.body);
    assert!(message.contains("ffmpeg was not found"), "{message}");
    let answer = get(&server, &play_url(&server, &token, &id, ""), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, std::fs::read(&path).unwrap());
    let answer = get(&server, &play_url(&server, &token, &id, "&format=raw"), &[]).await;
    assert_eq!(answer.body, std::fs::read(&path).unwrap());
    assert_eq!(plays(&server, &id).await, 2);
}
