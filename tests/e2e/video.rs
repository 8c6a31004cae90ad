//! Video catalogs end to end: the committed clips in `tests/library/video/` (one
//! per container: MP4, M4V with an embedded cover, MOV, Matroska, WebM, AVI) served
//! as a video catalog beside the music; `videos`, `video`, `get_indexes`,
//! `advanced_search`, the handshake count, streaming with ranges, posters, and
//! rescans. Also the fixes found while trying video clients: both genres of an M4A,
//! empty playlists in the XML index, and `url_to_song` with a foreign URL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

/// The committed clips.
fn video_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/library/video")
}

/// Copies `from` into `to` (mtimes kept, so a rescan sees the files unchanged).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
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

/// A server with the music library and a copy of the clips as a video catalog
/// (`--video`), both scanned. The folder of the copy lives as long as the server.
struct VideoServer {
    server: TestServer,
    videos: PathBuf,
    _folder: tempfile::TempDir,
}

async fn start(engine: Engine) -> Option<VideoServer> {
    let folder = tempfile::tempdir().unwrap();
    let videos = folder.path().join("video");
    copy_tree(&video_source(), &videos);
    let options = Options {
        serve_args: vec!["--video".into(), videos.to_str().unwrap().into()],
        ..Options::default()
    };
    let server = TestServer::start_with(engine, options).await?;
    Some(VideoServer {
        server,
        videos,
        _folder: folder,
    })
}

/// The clips in title order, with what a client should see of each:
/// (title, file, mime, resolution, whole seconds).
const CLIPS: &[(&str, &str, &str, &str, i64)] = &[
    (
        "Colour Bars",
        "Colour Bars.mkv",
        "video/x-matroska",
        "176x144",
        1,
    ),
    (
        "Colour Test",
        "Shorts/Colour Test.m4v",
        "video/mp4",
        "240x180",
        1,
    ),
    (
        "Moving Shapes",
        "Shorts/Moving Shapes.webm",
        "video/webm",
        "160x120",
        1,
    ),
    (
        "Old Format",
        "Old Format.avi",
        "video/x-msvideo",
        "128x96",
        1,
    ),
    (
        "Silent Clock",
        "Shorts/Silent Clock.mov",
        "video/quicktime",
        "192x108",
        1,
    ),
    (
        "Test Pattern",
        "Test Pattern.mp4",
        "video/mp4",
        "320x240",
        2,
    ),
];

/// A reference answer (tests/spec-examples, a copy of the shared spec's examples;
/// where the spec is at hand the copy must still be the original).
fn example(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/spec-examples").join(name)).unwrap();
    if let Ok(original) = std::fs::read_to_string(root.join("../shared/spec/examples").join(name)) {
        assert_eq!(
            text, original,
            "tests/spec-examples/{name} differs from the spec's"
        );
    }
    text
}

/// The keys of a video object in modern API4's JSON `videos`.
fn example_json_keys() -> Vec<String> {
    let list: Value = serde_json::from_str(&example("api4-modern/json/videos.json")).unwrap();
    list[0].as_object().unwrap().keys().cloned().collect()
}

/// The child elements of a `<video>` in modern API4's XML `videos`, in order.
fn example_xml_children() -> Vec<String> {
    let text = example("api4-modern/xml/videos.xml");
    let doc = roxmltree::Document::parse(&text).unwrap();
    let video = doc.descendants().find(|n| n.has_tag_name("video")).unwrap();
    video
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name().to_string())
        .collect()
}

fn ffprobe_present() -> bool {
    std::process::Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok()
}

async fn json_call(
    server: &TestServer,
    token: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> Value {
    call(server, token, action, extra).await
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|v| v["title"].as_str().unwrap().to_string())
        .collect()
}

/// The id of the video titled `title`.
async fn video_id(server: &TestServer, token: &str, title: &str) -> String {
    let list = json_call(
        server,
        token,
        "videos",
        &[("filter", title), ("exact", "1")],
    )
    .await;
    list[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no video {title}: {list}"))
        .to_string()
}

async fn videos_are_listed_with_their_details(engine: Engine) {
    let Some(vs) = start(engine).await else {
        return;
    };
    let server = &vs.server;
    let token = server.admin_token().await;

    // The handshake counts them.
    let timestamp = unix_now().to_string();
    let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
    let hello = server
        .json(&[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &timestamp),
            ("auth", &auth),
            ("version", "400004"),
        ])
        .await;
    assert_eq!(hello["videos"], json!(6), "{hello}");

    // JSON: every clip, by title, in the spec's shape.
    let list = json_call(server, &token, "videos", &[]).await;
    let expected: Vec<&str> = CLIPS.iter().map(|c| c.0).collect();
    assert_eq!(titles(&list), expected);
    let with_ffprobe = ffprobe_present();
    for (item, (title, file, mime, resolution, seconds)) in
        list.as_array().unwrap().iter().zip(CLIPS)
    {
        let keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let keys: Vec<String> = keys.into_iter().map(String::from).collect();
        assert_eq!(keys, example_json_keys(), "{item}");
        assert_eq!(
            (item["flag"].clone(), item["rating"].clone()),
            (json!(0), Value::Null)
        );
        let size = std::fs::metadata(vs.videos.join(file)).unwrap().len();
        assert_eq!(item["mime"], json!(mime), "{title}");
        assert_eq!(item["size"], json!(size), "{title}");
        assert_eq!(item["tag"], json!([]), "{title}");
        // AVI is read by ffprobe only: without it the clip is listed bare.
        if *file != "Old Format.avi" || with_ffprobe {
            assert_eq!(item["resolution"], json!(resolution), "{title}");
            assert_eq!(item["time"], json!(seconds), "{title}");
        }
        let id = item["id"].as_str().unwrap();
        let url = item["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!(
                "{}/play/index.php?ssid={token}&type=video&oid={id}&uid=",
                server.base
            )),
            "{url}"
        );
        let ext = file.rsplit('.').next().unwrap();
        let ext = if ext == "m4v" { "mp4" } else { ext };
        assert!(
            url.ends_with(&format!(
                "&player=api&name={}.{ext}",
                title.replace(' ', "%20")
            )),
            "{url}"
        );
        assert_eq!(
            item["art"],
            json!(format!(
                "{}/image.php?object_id={id}&object_type=video&auth={token}&name=art.jpg",
                server.base
            ))
        );
    }

    // The codecs and bit rates the scanner read, as stored.
    let stored = server
        .query_strings(
            "SELECT title || '|' || video_codec || '|' || audio_codec || '|' || \
             CAST(CASE WHEN bitrate > 10000 THEN 1 ELSE 0 END AS TEXT) FROM videos ORDER BY title",
        )
        .await;
    let mut expected = vec![
        "Colour Bars|mpeg4|mp3|1",
        "Colour Test|h264|aac|1",
        "Moving Shapes|vp8|vorbis|1",
        "Old Format|mpeg4|mp3|1",
        "Silent Clock|h264||1",
        "Test Pattern|h264|aac|1",
    ];
    if !with_ffprobe {
        eprintln!("ffprobe is not installed: the AVI clip's details are not checked");
        expected[3] = "Old Format|||0";
    }
    assert_eq!(stored, expected);

    // XML: the same, with `name` and in Ampache's element order.
    let xml = server
        .xml(&[("action", "videos"), ("auth", &token), ("filter", "colour")])
        .await;
    assert_eq!(
        xml.field("total_count").as_deref(),
        Some("2"),
        "{}",
        xml.text
    );
    let doc = xml.doc();
    let first = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("video"))
        .unwrap();
    let names: Vec<&str> = first
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    let names: Vec<String> = names.into_iter().map(String::from).collect();
    assert_eq!(names, example_xml_children());
    let text = |name: &str| {
        first
            .children()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        (
            text("title"),
            text("name"),
            text("mime"),
            text("resolution")
        ),
        (
            "Colour Bars".to_string(),
            "Colour Bars".to_string(),
            "video/x-matroska".to_string(),
            "176x144".to_string()
        )
    );

    // filter / exact / offset / limit, as the other lists.
    assert_eq!(
        titles(
            &json_call(
                server,
                &token,
                "videos",
                &[("filter", "colour b"), ("exact", "0")]
            )
            .await
        ),
        ["Colour Bars"]
    );
    assert_eq!(
        titles(
            &json_call(
                server,
                &token,
                "videos",
                &[("filter", "colour"), ("exact", "1")]
            )
            .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        titles(&json_call(server, &token, "videos", &[("offset", "2"), ("limit", "2")]).await),
        ["Moving Shapes", "Old Format"]
    );
    // add / update: everything was added just now, nothing in the future.
    assert_eq!(
        titles(&json_call(server, &token, "videos", &[("add", "2000-01-01")]).await).len(),
        6
    );
    assert_eq!(
        titles(&json_call(server, &token, "videos", &[("update", "2999-01-01")]).await).len(),
        0
    );

    // `video`: one of them, or 404.
    let id = video_id(server, &token, "Test Pattern").await;
    let one = json_call(server, &token, "video", &[("filter", &id)]).await;
    assert_eq!(titles(&one), ["Test Pattern"]);
    assert_eq!(one[0]["resolution"], json!("320x240"));
    assert_error(
        server,
        &[("action", "video"), ("auth", &token), ("filter", "999999")],
        "404",
    )
    .await;
    assert_error(server, &[("action", "video"), ("auth", &token)], "401").await;
}

mod videos_are_listed_with_their_details {
    use super::*;
    crate::each_engine!(videos_are_listed_with_their_details);
}

/// The play URL of a video, as `stream` redirects to it.
async fn stream_location(server: &TestServer, token: &str, id: &str, action: &str) -> String {
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!(
        "{}{}?{}",
        server.base,
        Format::Json.path(),
        encode_query(&[
            ("action", action),
            ("auth", token),
            ("type", "video"),
            ("id", id)
        ])
    );
    let answer = raw.get(url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND, "{action}");
    answer
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

async fn videos_stream_with_ranges(engine: Engine) {
    let Some(vs) = start(engine).await else {
        return;
    };
    let server = &vs.server;
    let token = server.admin_token().await;
    for (title, file, mime, _, _) in CLIPS {
        let bytes = std::fs::read(vs.videos.join(file)).unwrap();
        let id = video_id(server, &token, title).await;
        let location = stream_location(server, &token, &id, "stream").await;
        assert!(location.contains("&type=video&"), "{location}");

        // The whole file.
        let whole = server.client.get(&location).send().await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()["content-type"], *mime);
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        if *title == "Test Pattern" {
            assert_eq!(whole.headers()["x-content-duration"], "2");
        }
        assert_eq!(whole.bytes().await.unwrap().as_ref(), &bytes[..], "{title}");

        // A range in the middle, an open range, a suffix, and one past the end.
        let size = bytes.len();
        for (range, start, end) in [
            ("bytes=100-1099".to_string(), 100, 1099),
            (format!("bytes={}-", size - 10), size - 10, size - 1),
            ("bytes=-500".to_string(), size - 500, size - 1),
        ] {
            let part = server
                .client
                .get(&location)
                .header("Range", &range)
                .send()
                .await
                .unwrap();
            assert_eq!(
                part.status(),
                StatusCode::PARTIAL_CONTENT,
                "{title} {range}"
            );
            assert_eq!(
                part.headers()["content-range"],
                format!("bytes {start}-{end}/{size}").as_str()
            );
            assert_eq!(part.headers()["content-type"], *mime);
            assert_eq!(
                part.bytes().await.unwrap().as_ref(),
                &bytes[start..=end],
                "{title} {range}"
            );
        }
        let past = server
            .client
            .get(&location)
            .header("Range", format!("bytes={}-", size + 10))
            .send()
            .await
            .unwrap();
        assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }

    // download: the same bytes, as an attachment.
    let id = video_id(server, &token, "Test Pattern").await;
    let location = stream_location(server, &token, &id, "download").await;
    assert!(location.contains("&action=download"), "{location}");
    let answer = server.client.get(&location).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let disposition = answer.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(
        answer.bytes().await.unwrap().as_ref(),
        &std::fs::read(vs.videos.join("Test Pattern.mp4")).unwrap()[..]
    );
    // An unknown video cannot be streamed.
    assert_error(
        server,
        &[
            ("action", "stream"),
            ("auth", &token),
            ("type", "video"),
            ("id", "999999"),
        ],
        "400",
    )
    .await;
}

mod videos_stream_with_ranges {
    use super::*;
    crate::each_engine!(videos_stream_with_ranges);
}

async fn videos_in_search_and_indexes(engine: Engine) {
    let Some(vs) = start(engine).await else {
        return;
    };
    let server = &vs.server;
    let token = server.admin_token().await;

    // advanced_search type=video: title and file rules (spec 6.2), and/or.
    let search = |rules: Vec<(&'static str, &'static str)>| {
        let token = token.clone();
        async move {
            let mut params = vec![
                ("action", "advanced_search"),
                ("auth", token.as_str()),
                ("type", "video"),
            ];
            params.extend(rules);
            server.json(&params).await
        }
    };
    let found = search(vec![
        ("rule_1", "title"),
        ("rule_1_operator", "0"),
        ("rule_1_input", "colour"),
    ])
    .await;
    let mut names = titles(&found);
    names.sort();
    assert_eq!(names, ["Colour Bars", "Colour Test"]);
    assert!(found[0]["url"].as_str().unwrap().contains("&type=video&"));
    let found = search(vec![
        ("operator", "or"),
        ("rule_1", "file"),
        ("rule_1_operator", "0"),
        ("rule_1_input", "/shorts/"),
        ("rule_2", "title"),
        ("rule_2_operator", "4"),
        ("rule_2_input", "test pattern"),
    ])
    .await;
    let mut names = titles(&found);
    names.sort();
    assert_eq!(
        names,
        [
            "Colour Test",
            "Moving Shapes",
            "Silent Clock",
            "Test Pattern"
        ]
    );
    let xml = server
        .xml(&[
            ("action", "advanced_search"),
            ("auth", &token),
            ("type", "video"),
            ("rule_1", "filename"),
            ("rule_1_operator", "3"),
            ("rule_1_input", ".webm"),
        ])
        .await;
    assert_eq!(
        xml.field("total_count").as_deref(),
        Some("1"),
        "{}",
        xml.text
    );
    assert!(xml.text.contains("<video id="), "{}", xml.text);

    // get_indexes type=video: the video objects, in both formats, paged.
    let index = json_call(server, &token, "get_indexes", &[("type", "video")]).await;
    let expected: Vec<&str> = CLIPS.iter().map(|c| c.0).collect();
    assert_eq!(titles(&index), expected);
    assert_eq!(index[0]["resolution"], json!("176x144"));
    let xml = server
        .xml(&[
            ("action", "get_indexes"),
            ("auth", &token),
            ("type", "video"),
            ("filter", "o"),
            ("limit", "3"),
        ])
        .await;
    assert_eq!(
        xml.field("total_count").as_deref(),
        Some("3"),
        "{}",
        xml.text
    );
    let doc = xml.doc();
    let listed: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("video"))
        .map(|v| {
            v.children()
                .find(|n| n.has_tag_name("title"))
                .and_then(|n| n.text())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(listed, ["Colour Bars", "Colour Test", "Moving Shapes"]);
}

mod videos_in_search_and_indexes {
    use super::*;
    crate::each_engine!(videos_in_search_and_indexes);
}

async fn video_posters(engine: Engine) {
    let Some(vs) = start(engine).await else {
        return;
    };
    let server = &vs.server;
    let token = server.admin_token().await;
    let art = |id: String| {
        let url = format!(
            "{}{}?{}",
            server.base,
            Format::Json.path(),
            encode_query(&[
                ("action", "get_art"),
                ("auth", &token),
                ("type", "video"),
                ("id", &id),
            ])
        );
        async move { server.client.get(url).send().await.unwrap() }
    };

    // A poster beside the file ("<name>.jpg"), served as it is.
    let id = video_id(server, &token, "Test Pattern").await;
    let answer = art(id.clone()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/jpeg");
    assert_eq!(
        answer.bytes().await.unwrap().as_ref(),
        &std::fs::read(vs.videos.join("Test Pattern.jpg")).unwrap()[..]
    );
    // Through the `art` URL the video carries (image.php), resized on request.
    let listed = json_call(server, &token, "video", &[("filter", &id)]).await;
    let url = format!("{}&size=32", listed[0]["art"].as_str().unwrap());
    let answer = server.client.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/jpeg");
    let small = image::load_from_memory(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!((small.width(), small.height()), (32, 24));

    // The cover inside an M4V (its `covr` atom): a 32x32 red PNG.
    let id = video_id(server, &token, "Colour Test").await;
    let answer = art(id).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/png");
    let cover = image::load_from_memory(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!((cover.width(), cover.height()), (32, 32));
    // Red, give or take ffmpeg's colour conversion.
    let [r, g, b] = cover.to_rgb8().get_pixel(5, 5).0;
    assert!(r > 240 && g < 16 && b < 16, "{r} {g} {b}");

    // The cover attachment of a Matroska file: a 48x36 blue JPEG.
    let id = video_id(server, &token, "Colour Bars").await;
    let answer = art(id).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/jpeg");
    let cover = image::load_from_memory(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!((cover.width(), cover.height()), (48, 36));
    let [r, g, b] = cover.to_rgb8().get_pixel(5, 5).0;
    assert!(b > 240 && r < 16 && g < 16, "{r} {g} {b}");

    // A poster put beside a video after the scan is found all the same.
    let id = video_id(server, &token, "Silent Clock").await;
    std::fs::copy(
        vs.videos.join("Test Pattern.jpg"),
        vs.videos.join("Shorts/Silent Clock-poster.jpg"),
    )
    .unwrap();
    let answer = art(id).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.bytes().await.unwrap().as_ref(),
        &std::fs::read(vs.videos.join("Test Pattern.jpg")).unwrap()[..]
    );

    // No poster: the same answer as any object without art.
    let id = video_id(server, &token, "Moving Shapes").await;
    assert_error(
        server,
        &[
            ("action", "get_art"),
            ("auth", &token),
            ("type", "video"),
            ("id", &id),
        ],
        "404",
    )
    .await;
}

mod video_posters {
    use super::*;
    crate::each_engine!(video_posters);
}

async fn rescans_follow_the_video_folder(engine: Engine) {
    let Some(vs) = start(engine).await else {
        return;
    };
    let server = &vs.server;
    let token = server.admin_token().await;
    let before = json_call(server, &token, "videos", &[]).await;

    // Nothing changed: nothing is read again, ids stay.
    let out = server.cli(&["scan"]).unwrap();
    assert!(out.contains(" 0 added, 0 updated, 0 removed"), "{out}");
    assert_eq!(json_call(server, &token, "videos", &[]).await, before);

    // A clip replaced by another (new size and mtime) is read again under its id; a
    // deleted one goes; a new one comes.
    let id = video_id(server, &token, "Silent Clock").await;
    std::fs::copy(
        video_source().join("Test Pattern.mp4"),
        vs.videos.join("Shorts/Silent Clock.mov"),
    )
    .unwrap();
    std::fs::remove_file(vs.videos.join("Colour Bars.mkv")).unwrap();
    // An empty file is skipped as bad, not listed.
    std::fs::write(vs.videos.join("Empty.mp4"), b"").unwrap();
    std::fs::copy(
        video_source().join("Shorts/Moving Shapes.webm"),
        vs.videos.join("Another Clip.webm"),
    )
    .unwrap();
    let out = server.cli(&["scan"]).unwrap();
    assert!(
        out.contains(" 1 added, 1 updated, 1 removed, 1 skipped as bad"),
        "{out}"
    );
    let skipped = server.cli(&["catalog", "skipped"]).unwrap();
    assert!(
        skipped.contains("Empty.mp4") && skipped.contains("empty file"),
        "{skipped}"
    );
    let after = json_call(server, &token, "videos", &[]).await;
    assert_eq!(
        titles(&after),
        [
            "Another Clip",
            "Colour Test",
            "Moving Shapes",
            "Old Format",
            "Silent Clock",
            "Test Pattern"
        ]
    );
    let clock = json_call(server, &token, "video", &[("filter", &id)]).await;
    assert_eq!(clock[0]["title"], json!("Silent Clock"));
    assert_eq!(clock[0]["resolution"], json!("320x240"));
    assert_eq!(clock[0]["time"], json!(2));
    let hello = server
        .json(&[("action", "ping"), ("auth", &token), ("version", "400004")])
        .await;
    assert_eq!(hello["videos"], json!(6), "{hello}");

    // A listed video emptied is listed no more.
    std::fs::write(vs.videos.join("Another Clip.webm"), b"").unwrap();
    server.cli(&["scan"]).unwrap();
    let after = json_call(server, &token, "videos", &[("filter", "another")]).await;
    assert_eq!(after, json!([]));
}

mod rescans_follow_the_video_folder {
    use super::*;
    crate::each_engine!(rescans_follow_the_video_folder);
}

/// Without ffprobe, what the container crates read is still read, the rest (the AVI)
/// is listed and playable without details, and the log says once what is missing.
async fn without_ffprobe_videos_are_still_listed(engine: Engine) {
    let Some(vs) = start(engine).await else {
        return;
    };
    let server = &vs.server;
    let token = server.admin_token().await;
    let empty = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tonearm"))
        .args(["scan", "--full", "--data"])
        .arg(server.data.path())
        .args(["--database", &server.database_url])
        .env("PATH", empty.path())
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        log.matches("ffprobe is not installed").count(),
        1,
        "one warning: {log}"
    );
    let list = json_call(server, &token, "videos", &[]).await;
    let by_title = |title: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["title"] == json!(title))
            .unwrap_or_else(|| panic!("{title} is listed: {list}"))
            .clone()
    };
    let avi = by_title("Old Format");
    assert_eq!(
        (
            avi["mime"].clone(),
            avi["resolution"].clone(),
            avi["time"].clone()
        ),
        (json!("video/x-msvideo"), json!("0x0"), json!(0))
    );
    let mp4 = by_title("Test Pattern");
    assert_eq!(mp4["resolution"], json!("320x240"));
    let mkv = by_title("Colour Bars");
    assert_eq!(mkv["resolution"], json!("176x144"));
    // Still playable.
    let id = avi["id"].as_str().unwrap();
    let location = stream_location(server, &token, id, "stream").await;
    let answer = server.client.get(&location).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.bytes().await.unwrap().len() as u64,
        std::fs::metadata(vs.videos.join("Old Format.avi"))
            .unwrap()
            .len()
    );
}

mod without_ffprobe_videos_are_still_listed {
    use super::*;
    crate::each_engine!(without_ffprobe_videos_are_still_listed);
}

// ---------------------------------------------------------------------------
// Fixes found while trying video clients
// ---------------------------------------------------------------------------

crate::on_both_engines!(m4a_keeps_every_genre, |server: TestServer| async move {
    let token = server.admin_token().await;
    // "06 - ALAC Tone.m4a" has one ©gen atom with two values.
    let songs = call(
        &server,
        &token,
        "songs",
        &[("filter", "ALAC Tone"), ("exact", "1")],
    )
    .await;
    let mut genres: Vec<&str> = songs[0]["tag"]
        .as_array()
        .unwrap_or_else(|| panic!("{songs}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    genres.sort();
    assert_eq!(genres, ["Ambient", "Electronic"], "{songs}");
    // The genre lists follow: Ambient is on three songs of two albums now.
    let tags = call(
        &server,
        &token,
        "tags",
        &[("filter", "Ambient"), ("exact", "1")],
    )
    .await;
    let ambient = &tags[0]["tag"][0];
    assert_eq!(
        (ambient["songs"].clone(), ambient["albums"].clone()),
        (json!(3), json!(2)),
        "{tags}"
    );
    let id = ambient["id"].as_str().unwrap();
    let mut titles: Vec<String> =
        list_field(&server, &token, "tag_songs", &[("filter", id)], "title").await;
    titles.sort();
    assert_eq!(titles, ["ALAC Tone", "Full FLAC", "Full MP3"]);
    // The AAC file beside it keeps its single genre.
    let aac = call(
        &server,
        &token,
        "songs",
        &[("filter", "AAC Tone"), ("exact", "1")],
    )
    .await;
    assert_eq!(aac[0]["tag"].as_array().unwrap().len(), 1, "{aac}");
});

crate::on_both_engines!(
    empty_playlists_are_in_both_indexes,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let id = create_playlist(&server, &token, "Just Made", "private").await;
        // JSON lists it …
        let json = call(&server, &token, "get_indexes", &[("type", "playlist")]).await;
        assert_eq!(json[0]["id"], json!(id), "{json}");
        assert_eq!(json[0]["items"], json!(0));
        // … and so does XML, with no playlisttrack and items 0.
        let xml = server
            .xml(&[
                ("action", "get_indexes"),
                ("auth", &token),
                ("type", "playlist"),
            ])
            .await;
        assert_eq!(
            xml.field("total_count").as_deref(),
            Some("1"),
            "{}",
            xml.text
        );
        let doc = xml.doc();
        let list = doc
            .descendants()
            .find(|n| n.has_tag_name("playlist"))
            .unwrap_or_else(|| panic!("no playlist: {}", xml.text));
        assert_eq!(list.attribute("id"), Some(id.as_str()));
        let child = |name: &str| {
            list.children()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        assert_eq!(child("name").as_deref(), Some("Just Made"));
        assert_eq!(child("items").as_deref(), Some("0"));
        assert_eq!(child("playlisttrack"), None);
    }
);

crate::on_both_engines!(
    url_to_song_with_a_foreign_url_is_not_found,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        for url in [
            "not a url",
            "https://example.org/some/page.html",
            // A video's URL names no song, even with the id of one.
            "http://x/play/index.php?ssid=a&type=video&oid=1&uid=1&player=api",
        ] {
            let message = assert_error(
                &server,
                &[("action", "url_to_song"), ("auth", &token), ("url", url)],
                "404",
            )
            .await;
            assert_eq!(message, "Library item not found", "{url}");
        }
        // The session is still good: a URL of this server still works.
        let songs = call(&server, &token, "songs", &[("limit", "1")]).await;
        let url = songs[0]["url"].as_str().unwrap();
        let back = call(&server, &token, "url_to_song", &[("url", url)]).await;
        assert_eq!(back[0]["id"], songs[0]["id"]);
    }
);
