//! Media: the play endpoint (files, ranges, HEAD, refusals), the stream and download
//! redirects, get_art and /image.php, resized art and its cache, and many streams at
//! once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::harness::*;
use crate::on_both_engines;

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G'];

async fn album_id(server: &TestServer, name: &str) -> String {
    one(
        server,
        &format!("SELECT CAST(id AS TEXT) FROM albums WHERE name = '{name}'"),
    )
    .await
}

async fn artist_id(server: &TestServer, name: &str) -> String {
    one(
        server,
        &format!("SELECT CAST(id AS TEXT) FROM artists WHERE name = '{name}'"),
    )
    .await
}

async fn user_id(server: &TestServer, name: &str) -> String {
    one(
        server,
        &format!("SELECT CAST(id AS TEXT) FROM users WHERE username = '{name}'"),
    )
    .await
}

fn play_url(server: &TestServer, token: &str, kind: &str, id: &str) -> String {
    format!(
        "{}/play/index.php?ssid={token}&type={kind}&oid={id}&uid=1&player=api&name=x",
        server.base
    )
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
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

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the server answers");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

async fn get(server: &TestServer, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = server.client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request).await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// An API call by GET on either endpoint, answered with whatever it answers.
async fn api(server: &TestServer, format: Format, params: &[(&str, &str)]) -> Answer {
    let url = format!("{}{}?{}", server.base, format.path(), encode_query(params));
    send(server.client.get(url)).await
}

on_both_engines!(
    play_serves_files_and_ranges,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        for (title, mime) in [
            ("MP3 Tone", "audio/mpeg"),
            ("FLAC Tone", "audio/flac"),
            ("Vorbis Tone", "audio/ogg"),
            ("Opus Tone", "audio/ogg"),
            ("AAC Tone", "audio/mp4"),
            ("ALAC Tone", "audio/mp4"),
            ("WAV Tone", "audio/wav"),
            ("AIFF Tone", "audio/aiff"),
            ("WavPack Tone", "audio/x-wavpack"),
            ("Monkey Tone", "audio/x-ape"),
            ("日本語の歌", "audio/flac"),
        ] {
            let (id, path) = song(&server, title).await;
            let file = std::fs::read(&path).unwrap();
            let answer = get(&server, &play_url(&server, &token, "song", &id), &[]).await;
            assert_eq!(answer.status, StatusCode::OK, "{title}");
            assert_eq!(answer.body, file, "{title}: the bytes are the file's");
            assert_eq!(answer.header("content-type"), mime, "{title}");
            assert_eq!(answer.header("content-length"), file.len().to_string());
            assert_eq!(answer.header("accept-ranges"), "bytes");
            assert!(!answer.header("etag").is_empty(), "{title}: an ETag");
            let duration: f64 = answer.header("x-content-duration").parse().unwrap();
            assert!(
                (0.9..1.2).contains(&duration) || title == "日本語の歌",
                "{title}: {duration}"
            );
            assert!(answer.header("content-disposition").is_empty());
        }

        let (id, path) = song(&server, "MP3 Tone").await;
        let file = std::fs::read(&path).unwrap();
        let size = file.len();
        let url = play_url(&server, &token, "song", &id);
        let etag = get(&server, &url, &[]).await.header("etag");

        // One range, an open range, a suffix, a range running past the end.
        for (range, start, end) in [
            ("bytes=0-99", 0, 99),
            ("bytes=100-199", 100, 199),
            ("bytes=1000-", 1000, size - 1),
            ("bytes=-300", size - 300, size - 1),
            ("bytes=4000-999999", 4000, size - 1),
            ("bytes=0-0", 0, 0),
        ] {
            let answer = get(&server, &url, &[("Range", range)]).await;
            assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT, "{range}");
            assert_eq!(
                answer.header("content-range"),
                format!("bytes {start}-{end}/{size}"),
                "{range}"
            );
            assert_eq!(
                answer.header("content-length"),
                (end - start + 1).to_string()
            );
            assert_eq!(answer.body, &file[start..=end], "{range}");
            assert_eq!(answer.header("content-type"), "audio/mpeg");
        }
        // A range starting past the end cannot be satisfied.
        for range in [
            format!("bytes={size}-"),
            format!("bytes={}-{}", size + 10, size + 20),
        ] {
            let answer = get(&server, &url, &[("Range", &range)]).await;
            assert_eq!(answer.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
            assert_eq!(answer.header("content-range"), format!("bytes */{size}"));
            assert!(answer.body.is_empty());
        }
        // Malformed and multiple ranges are ignored: the whole file, 200.
        for range in [
            "bytes=abc",
            "bytes=5-1",
            "pages=1-2",
            "bytes=0-1,5-6",
            "bytes=",
        ] {
            let answer = get(&server, &url, &[("Range", range)]).await;
            assert_eq!(answer.status, StatusCode::OK, "{range}");
            assert_eq!(answer.body, file, "{range}");
            assert!(answer.header("content-range").is_empty());
        }
        // If-Range: the range holds only for the current version.
        let answer = get(
            &server,
            &url,
            &[("Range", "bytes=0-9"), ("If-Range", &etag)],
        )
        .await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        let answer = get(
            &server,
            &url,
            &[("Range", "bytes=0-9"), ("If-Range", "\"something-else\"")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, file);

        // HEAD: the same headers, no body.
        let answer = send(server.client.head(&url)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-length"), size.to_string());
        assert_eq!(answer.header("content-type"), "audio/mpeg");
        assert_eq!(answer.header("accept-ranges"), "bytes");
        assert_eq!(answer.header("etag"), etag);
        assert!(answer.body.is_empty());
        let answer = send(server.client.head(&url).header("Range", "bytes=10-19")).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            answer.header("content-range"),
            format!("bytes 10-19/{size}")
        );
        assert_eq!(answer.header("content-length"), "10");
        assert!(answer.body.is_empty());

        // action=download names the file.
        let answer = get(&server, &format!("{url}&action=download"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, file);
        assert_eq!(
            answer.header("content-disposition"),
            "attachment; filename=\"01 - MP3 Tone.mp3\"; filename*=UTF-8''01%20-%20MP3%20Tone.mp3"
        );
        // A non-ASCII name stays ASCII in `filename`, exact in `filename*`.
        let (emoji, emoji_path) = song(&server, "Emoji 🎵 Song").await;
        let answer = get(
            &server,
            &format!(
                "{}&action=download",
                play_url(&server, &token, "song", &emoji)
            ),
            &[],
        )
        .await;
        assert_eq!(answer.body, std::fs::read(&emoji_path).unwrap());
        let disposition = answer.header("content-disposition");
        assert!(
        disposition.starts_with("attachment; filename=\"02 - Emoji _ Song.mp3\"; filename*=UTF-8''02%20-%20Emoji%20%F0%9F%8E%B5%20Song.mp3"),
        "{disposition}"
    );

        // The path ("beautified") form.
        let answer = get(
            &server,
            &format!(
            "{}/play/ssid/{token}/type/song/oid/{id}/uid/1/name/The%20Testers%20-%20MP3%20Tone.mp3",
            server.base
        ),
            &[("Range", "bytes=0-15")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(answer.body, &file[..16]);

        // Transcoding parameters are followed (tests/e2e/transcode.rs has the rest).
        let answer = get(
            &server,
            &format!("{url}&client=api&transcode_to=ogg&bitrate=64&format=ogg&frame=1"),
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-type"), "audio/ogg");
        assert!(answer.body.starts_with(b"OggS"));

        // A fetch from the first byte is a play; later ranges, HEAD and downloads are not.
        let (adagio, _) = song(&server, "Adagio").await;
        let plays = || async {
            one(
                &server,
                &format!("SELECT CAST(COUNT(*) AS TEXT) FROM plays WHERE song_id = {adagio}"),
            )
            .await
        };
        let url = play_url(&server, &token, "song", &adagio);
        assert_eq!(plays().await, "0");
        get(&server, &url, &[("User-Agent", "media-test/1.0")]).await;
        assert_eq!(plays().await, "1");
        get(&server, &url, &[("Range", "bytes=100-")]).await;
        send(server.client.head(&url)).await;
        get(&server, &format!("{url}&action=download"), &[]).await;
        assert_eq!(plays().await, "1");
        get(&server, &url, &[("Range", "bytes=0-")]).await;
        assert_eq!(plays().await, "2");
        assert_eq!(
            one(
                &server,
                &format!("SELECT agent FROM plays WHERE song_id = {adagio} ORDER BY id LIMIT 1")
            )
            .await,
            "media-test/1.0"
        );
    }
);

on_both_engines!(play_refuses, |server: TestServer| async move {
    let token = server.admin_token().await;
    let (id, path) = song(&server, "FLAC Tone").await;
    let file = std::fs::read(&path).unwrap();

    // Unknown, missing and expired sessions: 403 with a short text.
    for url in [
        play_url(&server, "not-a-session", "song", &id),
        format!("{}/play/index.php?type=song&oid={id}&uid=1", server.base),
    ] {
        let answer = get(&server, &url, &[]).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{url}");
        assert!(!answer.body.is_empty() && answer.body.len() < 100);
    }
    let url = play_url(&server, &token, "song", &id);
    assert_eq!(get(&server, &url, &[]).await.body, file);

    // Unknown ids and types.
    for (kind, oid, status) in [
        ("song", "999999", StatusCode::NOT_FOUND),
        ("video", "999999", StatusCode::NOT_FOUND),
        ("podcast_episode", "1", StatusCode::NOT_FOUND),
        ("song", "abc", StatusCode::BAD_REQUEST),
        ("song", "-3", StatusCode::BAD_REQUEST),
        ("album", &id, StatusCode::BAD_REQUEST),
    ] {
        let answer = get(&server, &play_url(&server, &token, kind, oid), &[]).await;
        assert_eq!(answer.status, status, "{kind} {oid}");
    }
    // A disabled song is not served.
    server
        .sql(&format!("UPDATE songs SET enabled = 0 WHERE id = {id}"))
        .await;
    assert_eq!(get(&server, &url, &[]).await.status, StatusCode::NOT_FOUND);
    server
        .sql(&format!("UPDATE songs SET enabled = 1 WHERE id = {id}"))
        .await;
    // A file gone from the disk is not found either.
    let (gone, gone_path) = song(&server, "WAV Tone").await;
    std::fs::remove_file(&gone_path).unwrap();
    assert_eq!(
        get(&server, &play_url(&server, &token, "song", &gone), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A stream ACL that leaves this address out refuses it, and only streaming.
    server
        .cli(&[
            "acl", "add", "--kind", "stream", "--start", "10.0.0.1", "--end", "10.0.0.9",
        ])
        .unwrap();
    assert_eq!(get(&server, &url, &[]).await.status, StatusCode::FORBIDDEN);
    let ping = server
        .json(&[("action", "ping"), ("auth", &token), ("version", "400004")])
        .await;
    assert!(ping["session_expire"].is_string(), "{ping}");
    server
        .cli(&[
            "acl",
            "add",
            "--kind",
            "stream",
            "--start",
            "127.0.0.1",
            "--end",
            "127.0.0.1",
        ])
        .unwrap();
    assert_eq!(get(&server, &url, &[]).await.body, file);

    // A disabled user's session no longer streams; an expired one neither.
    server
        .cli_with_env(
            &["user", "add", "carol"],
            &[("TONEARM_PASSWORD", "carol pw")],
        )
        .unwrap();
    let carol = server.login("carol", "carol pw").await;
    let carol_url = play_url(&server, &carol, "song", &id);
    assert_eq!(get(&server, &carol_url, &[]).await.status, StatusCode::OK);
    server
        .sql("UPDATE users SET disabled = 1 WHERE username = 'carol'")
        .await;
    assert_eq!(
        get(&server, &carol_url, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    server.expire_sessions().await;
    assert_eq!(get(&server, &url, &[]).await.status, StatusCode::FORBIDDEN);
});

on_both_engines!(
    stream_and_download_redirect,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let uid = user_id(&server, ADMIN).await;
        let (id, path) = song(&server, "MP3 Tone").await;
        let file = std::fs::read(&path).unwrap();
        let raw = no_redirects();
        let location = |answer: &Answer| answer.header("location");
        let call = |format: Format, params: Vec<(&'static str, String)>| {
            let mut query = vec![("auth".to_string(), token.clone())];
            query.extend(params.into_iter().map(|(k, v)| (k.to_string(), v)));
            let url = format!(
                "{}{}?{}",
                server.base,
                format.path(),
                encode_query(
                    &query
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>()
                )
            );
            raw.get(url)
        };
        let play_base = format!(
            "{}/play/index.php?ssid={token}&type=song&oid={id}&uid={uid}",
            server.base
        );
        let name = "&player=api&name=The%20Testers%20-%20MP3%20Tone.mp3";

        for format in [Format::Xml, Format::Json] {
            let stream = vec![
                ("action", "stream".to_string()),
                ("type", "song".to_string()),
                ("id", id.clone()),
            ];
            let answer = send(call(format, stream.clone())).await;
            assert_eq!(answer.status, StatusCode::FOUND, "{format:?}");
            assert_eq!(location(&answer), format!("{play_base}&client=api{name}"));

            // `filter` is an alias of `id`; the extras follow the spec.
            let answer = send(call(
                format,
                vec![
                    ("action", "stream".to_string()),
                    ("type", "song".to_string()),
                    ("filter", id.clone()),
                    ("format", "ogg".to_string()),
                    ("bitrate", "128".to_string()),
                    ("offset", "30".to_string()),
                    ("length", "1".to_string()),
                ],
            ))
            .await;
            assert_eq!(answer.status, StatusCode::FOUND);
            assert_eq!(
            location(&answer),
            format!(
                "{play_base}&client=api&transcode_to=ogg&bitrate=128&frame=30&content_length=required{}",
                name.replace(".mp3", ".ogg")
            )
        );
            let answer = send(call(
                format,
                vec![
                    ("action", "stream".to_string()),
                    ("type", "song".to_string()),
                    ("id", id.clone()),
                    ("format", "raw".to_string()),
                ],
            ))
            .await;
            assert_eq!(location(&answer), format!("{play_base}&client=api{name}"));

            let answer = send(call(
                format,
                vec![
                    ("action", "download".to_string()),
                    ("type", "song".to_string()),
                    ("id", id.clone()),
                ],
            ))
            .await;
            assert_eq!(answer.status, StatusCode::FOUND);
            assert_eq!(
                location(&answer),
                format!("{play_base}&action=download&client=api&cache=1{name}")
            );
            let answer = send(call(
                format,
                vec![
                    ("action", "download".to_string()),
                    ("type", "song".to_string()),
                    ("id", id.clone()),
                    ("format", "mp3".to_string()),
                ],
            ))
            .await;
            assert_eq!(
                location(&answer),
                format!(
                "{play_base}&action=download&client=api&cache=1&transcode_to=mp3&format=mp3{name}"
            )
            );

            // Followed, the redirects give the file (a download as an attachment).
            let answer = api(
                &server,
                format,
                &[
                    ("action", "stream"),
                    ("auth", &token),
                    ("type", "song"),
                    ("id", &id),
                ],
            )
            .await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body, file);
            assert_eq!(answer.header("content-type"), "audio/mpeg");
            let answer = api(
                &server,
                format,
                &[
                    ("action", "download"),
                    ("auth", &token),
                    ("type", "song"),
                    ("id", &id),
                ],
            )
            .await;
            assert_eq!(answer.body, file);
            assert!(answer
                .header("content-disposition")
                .starts_with("attachment;"));
        }

        // Errors, as documents with HTTP 200.
        for action in ["stream", "download"] {
            let message = assert_error(
                &server,
                &[
                    ("action", action),
                    ("auth", &token),
                    ("type", "song"),
                    ("id", "999999"),
                ],
                "400",
            )
            .await;
            assert_eq!(message, "failed to create: ");
            assert_error(
                &server,
                &[
                    ("action", action),
                    ("auth", &token),
                    ("type", "podcast"),
                    ("id", "1"),
                ],
                "400",
            )
            .await;
            let message = assert_error(
                &server,
                &[
                    ("action", action),
                    ("auth", &token),
                    ("type", "album"),
                    ("id", &id),
                ],
                "401",
            )
            .await;
            assert_eq!(message, "Incorrect object type album");
            let message = assert_error(
                &server,
                &[("action", action), ("auth", &token), ("type", "song")],
                "401",
            )
            .await;
            assert_eq!(message, "Missing mandatory parameter 'id'");
            let message = assert_error(
                &server,
                &[("action", action), ("auth", &token), ("id", &id)],
                "401",
            )
            .await;
            assert_eq!(message, "Missing mandatory parameter 'type'");
            assert_error(
                &server,
                &[
                    ("action", action),
                    ("auth", &token),
                    ("type", "song"),
                    ("id", "x"),
                ],
                "401",
            )
            .await;
            assert_error(
                &server,
                &[("action", action), ("type", "song"), ("id", &id)],
                "401",
            )
            .await;
        }
        assert_error(
            &server,
            &[
                ("action", "stream"),
                ("auth", &token),
                ("type", "song"),
                ("id", &id),
                ("format", "../x"),
            ],
            "401",
        )
        .await;

        // Videos stream the same way.
        let videos = server.data.path().join("videos");
        std::fs::create_dir_all(&videos).unwrap();
        let clip: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(videos.join("Holiday Clip.mp4"), &clip).unwrap();
        server
            .cli(&[
                "catalog",
                "add",
                videos.to_str().unwrap(),
                "--kind",
                "video",
            ])
            .unwrap();
        server.cli(&["scan"]).unwrap();
        let video = one(&server, "SELECT CAST(id AS TEXT) FROM videos").await;
        let answer = send(call(
            Format::Json,
            vec![
                ("action", "stream".to_string()),
                ("type", "video".to_string()),
                ("id", video.clone()),
            ],
        ))
        .await;
        assert_eq!(
        location(&answer),
        format!(
            "{}/play/index.php?ssid={token}&type=video&oid={video}&uid={uid}&client=api&player=api&name=Holiday%20Clip.mp4",
            server.base
        )
    );
        let answer = get(&server, &location(&answer), &[("Range", "bytes=1000-1999")]).await;
        assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(answer.header("content-type"), "video/mp4");
        assert_eq!(answer.body, &clip[1000..2000]);
    }
);

/// GET get_art on an endpoint; asserts the binary answer and returns it.
async fn get_art(server: &TestServer, format: Format, token: &str, kind: &str, id: &str) -> Answer {
    let answer = api(
        server,
        format,
        &[
            ("action", "get_art"),
            ("auth", token),
            ("type", kind),
            ("id", id),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("content-length"),
        answer.body.len().to_string()
    );
    assert_eq!(answer.header("access-control-allow-origin"), "*");
    answer
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).unwrap();
    (image.width(), image.height())
}

on_both_engines!(art_by_object, |server: TestServer| async move {
    let token = server.admin_token().await;
    let parade = album_id(&server, "Format Parade").await;
    let hits = album_id(&server, "Various Hits").await;
    let tagged = album_id(&server, "Everything Tagged").await;
    let double = album_id(&server, "Double Feature").await;
    let cover = std::fs::read(server.music.join("The Testers/Format Parade/cover.jpg")).unwrap();
    let folder =
        std::fs::read(server.music.join("Various Artists/Various Hits/folder.png")).unwrap();
    let (mp3_tone, _) = song(&server, "MP3 Tone").await;
    let (alice_song, _) = song(&server, "Alice Song").await;
    let (full_mp3, _) = song(&server, "Full MP3").await;
    let (full_flac, _) = song(&server, "Full FLAC").await;
    let (overture, _) = song(&server, "Overture").await;

    for format in [Format::Xml, Format::Json] {
        // Albums: folder images as they are, embedded pictures from the tags.
        let answer = get_art(&server, format, &token, "album", &parade).await;
        assert_eq!(answer.header("content-type"), "image/jpeg");
        assert_eq!(answer.body, cover);
        let answer = get_art(&server, format, &token, "album", &hits).await;
        assert_eq!(answer.header("content-type"), "image/png");
        assert_eq!(answer.body, folder);
        let answer = get_art(&server, format, &token, "album", &tagged).await;
        assert_eq!(answer.header("content-type"), "image/jpeg");
        assert!(answer.body.starts_with(JPEG_MAGIC));
        assert_eq!(dimensions(&answer.body), (64, 64));

        // Songs: their own picture, else their album's.
        for (song, magic, mime) in [
            (&mp3_tone, JPEG_MAGIC, "image/jpeg"),
            (&alice_song, PNG_MAGIC, "image/png"),
            (&full_mp3, JPEG_MAGIC, "image/jpeg"),
            (&full_flac, PNG_MAGIC, "image/png"),
        ] {
            let answer = get_art(&server, format, &token, "song", song).await;
            assert_eq!(answer.header("content-type"), mime, "song {song}");
            assert!(answer.body.starts_with(magic), "song {song}");
        }
        let answer = get_art(&server, format, &token, "song", &mp3_tone).await;
        assert_eq!(answer.body, cover);

        // Artists: their first album with art; albums they only appear on count.
        for (artist, magic) in [
            ("The Testers", JPEG_MAGIC),
            ("Tag Master", JPEG_MAGIC),
            ("Various Artists", PNG_MAGIC),
            ("Alice Example", PNG_MAGIC),
        ] {
            let id = artist_id(&server, artist).await;
            let answer = get_art(&server, format, &token, "artist", &id).await;
            assert!(answer.body.starts_with(magic), "{artist}");
        }
        // `filter` is an alias of `id`.
        let answer = api(
            &server,
            format,
            &[
                ("action", "get_art"),
                ("auth", &token),
                ("type", "album"),
                ("filter", &parade),
            ],
        )
        .await;
        assert_eq!(answer.body, cover);
    }

    // No art, unknown ids: the spec's error, not a broken image.
    let orchestra = artist_id(&server, "Orchestra Alpha").await;
    for (kind, id) in [
        ("album", double.as_str()),
        ("song", overture.as_str()),
        ("artist", orchestra.as_str()),
        ("album", "999999"),
        ("song", "999999"),
        ("artist", "999999"),
        ("playlist", "999999"),
        ("playlist", "smart_1"),
        ("search", "1"),
        ("podcast", "1"),
    ] {
        let message = assert_error(
            &server,
            &[
                ("action", "get_art"),
                ("auth", &token),
                ("type", kind),
                ("id", id),
            ],
            "404",
        )
        .await;
        assert_eq!(message, "Library item not found", "{kind} {id}");
    }
    let message = assert_error(
        &server,
        &[
            ("action", "get_art"),
            ("auth", &token),
            ("type", "genre"),
            ("id", &parade),
        ],
        "401",
    )
    .await;
    assert_eq!(message, "Incorrect object type genre");
    for params in [
        vec![("type", "album")],
        vec![("id", parade.as_str())],
        vec![("type", "album"), ("id", "abc")],
        vec![("type", "album"), ("id", parade.as_str()), ("size", "5")],
        vec![("type", "album"), ("id", parade.as_str()), ("size", "4096")],
        vec![("type", "album"), ("id", parade.as_str()), ("size", "big")],
    ] {
        let mut all = vec![("action", "get_art"), ("auth", token.as_str())];
        all.extend(params);
        assert_error(&server, &all, "401").await;
    }
    assert_error(
        &server,
        &[("action", "get_art"), ("type", "album"), ("id", &parade)],
        "401",
    )
    .await;

    // Playlists: a song's art, for those who may see the playlist.
    let admin = user_id(&server, ADMIN).await;
    server
        .sql(&format!(
            "INSERT INTO playlists (name, user_id, public, created, updated) VALUES ('Art Mix', {admin}, 0, 0, 0)"
        ))
        .await;
    let playlist = one(
        &server,
        "SELECT CAST(id AS TEXT) FROM playlists WHERE name = 'Art Mix'",
    )
    .await;
    server
        .sql(&format!(
            "INSERT INTO playlist_items (playlist_id, position, song_id) VALUES ({playlist}, 1, {overture}), ({playlist}, 2, {alice_song})"
        ))
        .await;
    let answer = get_art(&server, Format::Json, &token, "playlist", &playlist).await;
    assert_eq!(answer.body, folder);
    server
        .cli_with_env(&["user", "add", "dave"], &[("TONEARM_PASSWORD", "dave pw")])
        .unwrap();
    let dave = server.login("dave", "dave pw").await;
    assert_error(
        &server,
        &[
            ("action", "get_art"),
            ("auth", &dave),
            ("type", "playlist"),
            ("id", &playlist),
        ],
        "404",
    )
    .await;

    // /image.php, the `art` URLs of items.
    let image = |query: String| format!("{}/image.php?{query}", server.base);
    let answer = get(
        &server,
        &image(format!("object_id={parade}&object_type=album&auth={token}")),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), "image/jpeg");
    assert_eq!(answer.header("content-length"), cover.len().to_string());
    assert_eq!(answer.body, cover);
    let answer = get(
        &server,
        &image(format!(
            "object_id={hits}&object_type=album&auth={token}&name=art.jpg"
        )),
        &[],
    )
    .await;
    assert_eq!(answer.header("content-type"), "image/png");
    assert_eq!(answer.body, folder);
    let answer = get(
        &server,
        &image(format!(
            "object_id={full_flac}&object_type=song&auth={token}"
        )),
        &[],
    )
    .await;
    assert!(answer.body.starts_with(PNG_MAGIC));
    let tester = artist_id(&server, "The Testers").await;
    let answer = get(
        &server,
        &image(format!(
            "object_id={tester}&object_type=artist&auth={token}&thumb=5"
        )),
        &[],
    )
    .await;
    assert_eq!(answer.header("content-type"), "image/jpeg");
    assert_eq!(dimensions(&answer.body), (32, 32));
    for (query, status) in [
        (
            format!("object_id={parade}&object_type=album&auth=nope"),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("object_id={parade}&object_type=album"),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("object_id={double}&object_type=album&auth={token}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("object_id=999999&object_type=album&auth={token}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("object_id={parade}&object_type=genre&auth={token}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("object_id=x&object_type=album&auth={token}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("object_id={parade}&object_type=album&auth={token}&size=3"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let answer = get(&server, &image(query.clone()), &[]).await;
        assert_eq!(answer.status, status, "{query}");
    }
    // The art URLs the browse methods hand out work as they are.
    let albums = server
        .json(&[("action", "album"), ("auth", &token), ("filter", &hits)])
        .await;
    let url = albums[0]["art"]
        .as_str()
        .unwrap_or_else(|| panic!("{albums}"));
    let answer = get(&server, url, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{url}");
    assert_eq!(answer.body, folder);
});

fn cached_files(data: &Path) -> Vec<PathBuf> {
    let dir = data.join("cache/art");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resized_art_is_cached() {
    let server = TestServer::start(Engine::Sqlite).await.unwrap();
    let token = server.admin_token().await;
    let parade = album_id(&server, "Format Parade").await;
    let sized = |size: &'static str| {
        vec![
            ("action", "get_art"),
            ("auth", token.as_str()),
            ("type", "album"),
            ("id", parade.as_str()),
            ("size", size),
        ]
    };
    assert!(cached_files(server.data.path()).is_empty());

    let first = api(&server, Format::Json, &sized("32")).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("content-type"), "image/jpeg");
    assert!(first.body.starts_with(JPEG_MAGIC));
    assert_eq!(dimensions(&first.body), (32, 32));
    let files = cached_files(server.data.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let cached = files[0].clone();
    let name = cached.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("album-{parade}-32x32-")) && name.ends_with(".jpg"),
        "{name}"
    );
    assert_eq!(std::fs::read(&cached).unwrap(), first.body);
    let written = std::fs::metadata(&cached).unwrap().modified().unwrap();

    // The second request reads the cached copy: same bytes, file untouched.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = api(&server, Format::Xml, &sized("32")).await;
    assert_eq!(second.body, first.body);
    assert_eq!(
        std::fs::metadata(&cached).unwrap().modified().unwrap(),
        written
    );
    assert_eq!(cached_files(server.data.path()), files);
    // ...as a marked copy proves.
    let marker = image::RgbImage::from_pixel(32, 32, image::Rgb([1, 2, 3]));
    let mut marked = Vec::new();
    image::DynamicImage::ImageRgb8(marker)
        .write_to(
            &mut std::io::Cursor::new(&mut marked),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(&cached, &marked).unwrap();
    let third = api(&server, Format::Json, &sized("32")).await;
    assert_eq!(third.body, marked);
    // /image.php shares the cache.
    let answer = get(
        &server,
        &format!(
            "{}/image.php?object_id={parade}&object_type=album&auth={token}&size=32",
            server.base
        ),
        &[],
    )
    .await;
    assert_eq!(answer.body, marked);

    // Another size is another copy; a changed source file is a new version, and the
    // old copy of that size goes.
    let big = api(&server, Format::Json, &sized("100x50")).await;
    assert_eq!(dimensions(&big.body), (50, 50));
    assert_eq!(cached_files(server.data.path()).len(), 2);
    let wide = image::RgbImage::from_pixel(128, 64, image::Rgb([0, 0, 200]));
    let mut wide_jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(wide)
        .write_to(
            &mut std::io::Cursor::new(&mut wide_jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(
        server.music.join("The Testers/Format Parade/cover.jpg"),
        &wide_jpeg,
    )
    .unwrap();
    let fourth = api(&server, Format::Json, &sized("32")).await;
    assert_eq!(dimensions(&fourth.body), (32, 16));
    assert_ne!(fourth.body, marked);
    let files = cached_files(server.data.path());
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(!files.contains(&cached));

    // Embedded pictures resize too (a PNG in a FLAC becomes a JPEG).
    let (full_flac, _) = song(&server, "Full FLAC").await;
    let answer = api(
        &server,
        Format::Json,
        &[
            ("action", "get_art"),
            ("auth", &token),
            ("type", "song"),
            ("id", &full_flac),
            ("size", "48"),
        ],
    )
    .await;
    assert_eq!(answer.header("content-type"), "image/jpeg");
    assert_eq!(dimensions(&answer.body), (48, 48));
    // No temporary files are left behind.
    assert!(cached_files(server.data.path())
        .iter()
        .all(|f| f.extension().is_some_and(|e| e == "jpg")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_at_once_leave_the_api_answering() {
    let server = TestServer::start(Engine::Sqlite).await.unwrap();
    let token = server.admin_token().await;
    // A file large enough that its streams stay open while the client reads slowly.
    let videos = server.data.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let movie: Vec<u8> = (0..6_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(videos.join("Long Film.mkv"), &movie).unwrap();
    server
        .cli(&[
            "catalog",
            "add",
            videos.to_str().unwrap(),
            "--kind",
            "video",
        ])
        .unwrap();
    server.cli(&["scan"]).unwrap();
    let video = one(&server, "SELECT CAST(id AS TEXT) FROM videos").await;
    let url = play_url(&server, &token, "video", &video);

    let mut streams = Vec::new();
    for n in 0..20usize {
        let client = server.client.clone();
        let url = url.clone();
        streams.push(tokio::spawn(async move {
            let range = format!("bytes={}-", n * 1000);
            let mut response = client
                .get(&url)
                .header("Range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
            let mut body = Vec::new();
            let mut first = true;
            while let Some(chunk) = response.chunk().await.unwrap() {
                body.extend_from_slice(&chunk);
                if first {
                    // Hold every stream open for a while.
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    first = false;
                }
            }
            (n, body)
        }));
    }
    // While they are open, the API answers promptly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let ping = server
            .json(&[("action", "ping"), ("auth", &token), ("version", "400004")])
            .await;
        assert!(ping["session_expire"].is_string(), "{ping}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "ping took {:?}",
            started.elapsed()
        );
    }
    for stream in streams {
        let (n, body) = stream.await.unwrap();
        assert_eq!(body.len(), movie.len() - n * 1000, "stream {n}");
        assert!(body == movie[n * 1000..], "stream {n} has the file's bytes");
    }
}
