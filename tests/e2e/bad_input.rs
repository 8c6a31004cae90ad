//! Hostile input over every API4 method: missing, empty, repeated, 100 kB, non-UTF-8,
//! control characters, SQL-ish and markup values, huge and negative numbers. Whatever
//! comes in, the answer is well-formed in the asked format (or, for the binary methods,
//! a file or a well-formed error), never a 5xx or a dropped connection, and the
//! library is still whole afterwards.

use crate::harness::*;

/// Every method of the spec (§5, §8), the ones a request can name.
const METHODS: &[&str] = &[
    "ping",
    "user",
    "users",
    "user_create",
    "user_update",
    "user_delete",
    "get_indexes",
    "artists",
    "artist",
    "artist_albums",
    "artist_songs",
    "albums",
    "album",
    "album_songs",
    "tags",
    "tag",
    "tag_artists",
    "tag_albums",
    "tag_songs",
    "genres",
    "genre",
    "genre_artists",
    "genre_albums",
    "genre_songs",
    "songs",
    "song",
    "search_songs",
    "url_to_song",
    "advanced_search",
    "search",
    "stats",
    "playlists",
    "playlist",
    "playlist_songs",
    "playlist_create",
    "playlist_edit",
    "playlist_add_song",
    "playlist_remove_song",
    "playlist_generate",
    "playlist_delete",
    "videos",
    "video",
    "rate",
    "flag",
    "record_play",
    "scrobble",
    "followers",
    "following",
    "toggle_follow",
    "last_shouts",
    "timeline",
    "friends_timeline",
    "catalog_action",
    "catalogs",
    "catalog",
    "catalog_file",
    "update_from_tags",
    "update_artist_info",
    "update_art",
    "get_similar",
    "localplay",
    "democratic",
    "stream",
    "download",
    "get_art",
    "no_such_method",
];

/// Methods that answer with a file when the input is good.
const BINARY: &[&str] = &["stream", "download", "get_art"];

/// Parameter names that some method reads.
const NAMES: &[&str] = &[
    "filter",
    "exact",
    "add",
    "update",
    "offset",
    "limit",
    "id",
    "type",
    "username",
    "fullname",
    "email",
    "password",
    "disable",
    "name",
    "items",
    "tracks",
    "song",
    "song_id",
    "playlist_id",
    "check",
    "rating",
    "flag",
    "user",
    "client",
    "date",
    "title",
    "artist",
    "album",
    "track",
    "duration",
    "url",
    "operator",
    "random",
    "rule_1",
    "rule_1_operator",
    "rule_1_input",
    "rule_1_subtype",
    "mode",
    "format",
    "bitrate",
    "offset",
    "length",
    "object_id",
    "object_type",
    "catalog",
    "task",
    "file",
    "path",
    "overwrite",
    "command",
    "oid",
    "volume",
    "method",
    "value",
    "size",
    "version",
];

/// The values tried on one parameter at a time.
const ONE_AT_A_TIME: &[&str] = &["empty", "non-UTF-8", "SQL-ish", "huge number", "negative"];

/// Values that let a method get past its other checks.
const PLAUSIBLE: &[(&str, &str)] = &[
    ("id", "1"),
    ("type", "song"),
    ("filter", "1"),
    ("offset", "0"),
    ("limit", "5"),
    ("username", "admin"),
    ("playlist_id", "1"),
    ("song", "1"),
    ("rating", "3"),
    ("flag", "1"),
    ("rule_1", "title"),
    ("rule_1_operator", "0"),
    ("rule_1_input", "a"),
];

/// Hostile values, percent-encoded as they go on the wire.
fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("non-UTF-8", "%FF%FE%C3%28".into()),
        ("control characters", "a%00b%01%1B%7F".into()),
        ("SQL-ish", urlencode("1' OR '1'='1'; DROP TABLE songs; --")),
        ("markup", urlencode("<x a=\"1\">&amp;]]></x>{\"a\":[}")),
        ("huge number", "99999999999999999999999999".into()),
        ("negative", "-1".into()),
        ("smallest integer", "-9223372036854775808".into()),
        ("not a number", "NaN".into()),
        ("float overflow", "1e309".into()),
        ("path", urlencode("../../../../etc/passwd")),
        ("unicode", urlencode("Ω≈ç√∫˜µ≤≥÷ 🎵 \u{202e}")),
    ]
}

/// The answer is what a client can read: 2xx/3xx/4xx, and a body well-formed in its
/// declared format. Returns why not.
fn check_answer(
    method: &str,
    format: Format,
    status: u16,
    kind: &str,
    body: &[u8],
) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("HTTP {status}"));
    }
    let text =
        || String::from_utf8(body.to_vec()).map_err(|_| "a body that is not UTF-8".to_string());
    if kind.contains("xml") {
        let text = text()?;
        roxmltree::Document::parse(&text).map_err(|e| format!("malformed XML ({e}): {text}"))?;
    } else if kind.contains("json") {
        let text = text()?;
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| format!("malformed JSON ({e}): {text}"))?;
    } else if !BINARY.contains(&method) {
        return Err(format!("content type {kind:?} for a {format:?} request"));
    }
    if !BINARY.contains(&method) && status != 200 {
        return Err(format!("HTTP {status} (the API answers errors with 200)"));
    }
    Ok(())
}

async fn song_count(server: &TestServer, token: &str) -> String {
    let songs = server.xml(&[("action", "songs"), ("auth", token)]).await;
    songs.field("total_count").unwrap_or_default()
}

async fn send(
    server: &TestServer,
    format: Format,
    query: &str,
    post: bool,
) -> Result<(u16, String, Vec<u8>), String> {
    let url = format!("{}{}", server.base, format.path());
    let request = if post {
        server
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query.to_string())
    } else {
        server.client.get(format!("{url}?{query}"))
    };
    let response = request
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("the body broke off: {e}"))?;
    Ok((status, kind, body.to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_hostile_input_in_its_format() {
    let server = TestServer::start(Engine::Sqlite).await.unwrap();
    let token = server.admin_token().await;
    let songs_before = song_count(&server, &token).await;
    assert!(
        songs_before.parse::<u64>().unwrap_or(0) > 0,
        "the library is scanned"
    );

    let values = hostile_values();
    let big = "x".repeat(100 * 1024);
    let mut failures = Vec::new();
    let mut requests = 0;
    for method in METHODS {
        let auth = format!("action={method}&auth={token}");
        let mut cases: Vec<(String, String, bool)> = vec![
            ("nothing but the session".into(), auth.clone(), false),
            (
                "every parameter twice".into(),
                format!(
                    "{auth}&{}",
                    NAMES
                        .iter()
                        .map(|n| format!("{n}=1&{n}=2"))
                        .collect::<Vec<_>>()
                        .join("&")
                ),
                false,
            ),
            (
                "100 kB values".into(),
                format!("{auth}&filter={big}&id={big}&type={big}&name={big}"),
                true,
            ),
        ];
        for (label, value) in &values {
            let all: Vec<String> = NAMES.iter().map(|n| format!("{n}={value}")).collect();
            cases.push((
                label.to_string(),
                format!("{auth}&{}", all.join("&")),
                false,
            ));
        }
        let whole_request_cases = cases.len();
        // One parameter at a time, so that a method's first check does not hide the
        // others: the rest of the request is plausible (ids and limits that exist).
        for name in NAMES {
            for (label, value) in values
                .iter()
                .filter(|(label, _)| ONE_AT_A_TIME.contains(label))
            {
                let others: Vec<String> = PLAUSIBLE
                    .iter()
                    .filter(|(n, _)| n != name)
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect();
                cases.push((
                    format!("{name}={label}"),
                    format!("{auth}&{name}={value}&{}", others.join("&")),
                    false,
                ));
            }
        }
        for (index, (label, query, post)) in cases.iter().enumerate() {
            // The whole-request cases in both formats; the one-parameter cases
            // alternate between them (the formats share everything but the encoder).
            let formats = if index < whole_request_cases {
                vec![Format::Xml, Format::Json]
            } else if index % 2 == 0 {
                vec![Format::Xml]
            } else {
                vec![Format::Json]
            };
            for format in formats {
                requests += 1;
                let outcome =
                    send(&server, format, query, *post)
                        .await
                        .and_then(|(status, kind, body)| {
                            check_answer(method, format, status, &kind, &body)
                        });
                if let Err(why) = outcome {
                    let why: String = why.chars().take(300).collect();
                    failures.push(format!("{method} with {label} ({format:?}): {why}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} answers were not well-formed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Nothing was lost: every song is still there and the session still works
    // (`goodbye` is left out above for that reason, and tried last).
    assert_eq!(song_count(&server, &token).await, songs_before);
    for format in [Format::Xml, Format::Json] {
        let (status, kind, body) = send(
            &server,
            format,
            &format!("action=goodbye&auth={token}&id=%FF"),
            false,
        )
        .await
        .unwrap();
        check_answer("goodbye", format, status, &kind, &body).unwrap();
    }
}
