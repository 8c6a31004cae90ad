//! update_artist_info, update_art and get_similar against a local stand-in for
//! MusicBrainz, the Cover Art Archive and Last.fm: an HTTP server inside the test,
//! answering in the real services' shapes and logging what it was asked. Nothing
//! here reaches the internet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::each_engine;
use crate::harness::*;

const API_KEY: &str = "stand-in-key";
const TESTERS_MBID: &str = "0f4c1a36-5c1e-4b8e-9d7a-00000000a001";
const TAG_MASTER_MBID: &str = "d4c1b7c2-3e30-4e4c-9f50-000000000003";
const DOUBLE_FEATURE_MBID: &str = "7e1d2c3b-4a59-4687-9a1b-00000000b002";

/// One request the stand-in saw: its path and when it arrived.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    at: Instant,
}

struct StandInState {
    seen: Mutex<Vec<Seen>>,
    /// Every answer waits this long first (a service that hangs).
    delay: Duration,
    base: Mutex<String>,
    cover: Vec<u8>,
    portrait: Vec<u8>,
}

/// The stand-in: its base URL and its log.
struct StandIn {
    base: String,
    state: Arc<StandInState>,
}

impl StandIn {
    async fn start(delay: Duration) -> StandIn {
        let state = Arc::new(StandInState {
            seen: Mutex::new(Vec::new()),
            delay,
            base: Mutex::new(String::new()),
            cover: png(7, 5, [200, 30, 30]),
            portrait: png(4, 9, [30, 30, 200]),
        });
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *state.base.lock().unwrap() = base.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandIn { base, state }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// `serve` flags pointing every provider at the stand-in.
    fn serve_args(&self, timeout: &str) -> Vec<String> {
        [
            "--metadata-providers",
            "musicbrainz,coverartarchive,lastfm",
            "--musicbrainz-url",
            &format!("{}/mb", self.base),
            "--coverart-url",
            &format!("{}/caa", self.base),
            "--lastfm-url",
            &format!("{}/lastfm/2.0/", self.base),
            "--lastfm-api-key",
            API_KEY,
            "--metadata-timeout",
            timeout,
        ]
        .map(String::from)
        .to_vec()
    }
}

fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb(rgb));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn json_answer(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn image_answer(bytes: &[u8]) -> Response {
    ([(header::CONTENT_TYPE, "image/png")], bytes.to_vec()).into_response()
}

/// Answers as MusicBrainz (`/mb/ws/2/...`), the Cover Art Archive (`/caa/release/
/// <mbid>/front`, a redirect to `/img/...`) and Last.fm (`/lastfm/2.0/?method=...`).
async fn answer(
    State(state): State<Arc<StandInState>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_string();
    state.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        at: Instant::now(),
    });
    tokio::time::sleep(state.delay).await;
    let q = |name: &str| query.get(name).cloned().unwrap_or_default();
    let base = state.base.lock().unwrap().clone();
    match path.as_str() {
        "/mb/ws/2/artist" => {
            assert_eq!(q("fmt"), "json");
            let search = q("query");
            if search.contains("Björk") {
                return json_answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "Your requests are exceeding the allowable rate limit."}),
                );
            }
            let artists = if search == "artist:\"The Testers\"" {
                json!([{
                    "id": TESTERS_MBID, "type": "Group", "score": 100, "name": "The Testers",
                    "sort-name": "Testers, The", "country": "GB",
                    "area": {"id": "8a754a16-0027-3a29-b6d7-2b40ea0481ed", "type": "Country", "name": "United Kingdom"},
                    "begin-area": {"id": "2c4bd4c6-3e8b-4f1e-8d5a-3c5c4d6ad5a3", "type": "City", "name": "Sheffield"},
                    "life-span": {"begin": "1994-05", "ended": null}
                }, {
                    "id": "0f4c1a36-5c1e-4b8e-9d7a-00000000a009", "score": 60, "name": "Testers United"
                }])
            } else {
                json!([])
            };
            json_answer(
                StatusCode::OK,
                json!({"created": "2026-01-01T00:00:00.000Z", "count": artists.as_array().unwrap().len(), "offset": 0, "artists": artists}),
            )
        }
        p if p == format!("/mb/ws/2/artist/{TAG_MASTER_MBID}") => json_answer(
            StatusCode::OK,
            json!({
                "id": TAG_MASTER_MBID, "name": "Tag Master", "type": "Person",
                "area": {"name": "Reykjavík"}, "begin-area": null,
                "life-span": {"begin": "1971-11-21", "end": null, "ended": false}
            }),
        ),
        "/mb/ws/2/release" => {
            let releases = if q("query")
                == "release:\"Double Feature\" AND artist:\"Orchestra Alpha\""
            {
                json!([{"id": DOUBLE_FEATURE_MBID, "score": 100, "title": "Double Feature", "status": "Official"}])
            } else {
                json!([])
            };
            json_answer(
                StatusCode::OK,
                json!({"created": "2026-01-01T00:00:00.000Z", "count": releases.as_array().unwrap().len(), "offset": 0, "releases": releases}),
            )
        }
        p if p == format!("/caa/release/{DOUBLE_FEATURE_MBID}/front") => (
            StatusCode::TEMPORARY_REDIRECT,
            [(
                header::LOCATION,
                format!("{base}/img/{DOUBLE_FEATURE_MBID}-front.png"),
            )],
        )
            .into_response(),
        p if p.starts_with("/caa/release/") => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        p if p == format!("/img/{DOUBLE_FEATURE_MBID}-front.png") => image_answer(&state.cover),
        "/img/orchestra.png" => image_answer(&state.portrait),
        "/lastfm/2.0/" => lastfm(&q, &base),
        _ => (StatusCode::NOT_FOUND, "no such page").into_response(),
    }
}

fn lastfm(q: &dyn Fn(&str) -> String, base: &str) -> Response {
    if q("api_key") != API_KEY {
        return json_answer(
            StatusCode::FORBIDDEN,
            json!({"error": 10, "message": "Invalid API key - You must be granted a valid key by last.fm"}),
        );
    }
    assert_eq!(q("format"), "json");
    let not_found = || {
        json_answer(
            StatusCode::OK,
            json!({"error": 6, "message": "The artist you supplied could not be found", "links": []}),
        )
    };
    let placeholder =
        "https://lastfm.freetls.fastly.net/i/u/300x300/2a96cbd8b46e442fc41c2b86b821562f.png";
    match (q("method").as_str(), q("artist").as_str()) {
        ("artist.getinfo", "The Testers") => json_answer(
            StatusCode::OK,
            json!({"artist": {
                "name": "The Testers", "mbid": "", "url": "https://www.last.fm/music/The+Testers",
                "image": [{"#text": placeholder, "size": "small"}, {"#text": placeholder, "size": "extralarge"}],
                "streamable": "0", "ontour": "0",
                "stats": {"listeners": "12", "playcount": "34"},
                "similar": {"artist": []}, "tags": {"tag": []},
                "bio": {
                    "links": {"link": {"#text": "", "rel": "original", "href": "https://last.fm/music/The+Testers/+wiki"}},
                    "published": "01 Jan 2020, 00:00",
                    "summary": "The Testers are a <b>test</b> band from Sheffield &amp; nowhere else. <a href=\"https://www.last.fm/music/The+Testers\">Read more on Last.fm</a>",
                    "content": "The Testers are a test band."
                }
            }}),
        ),
        ("artist.getinfo", "Orchestra Alpha") => json_answer(
            StatusCode::OK,
            json!({"artist": {
                "name": "Orchestra Alpha", "mbid": "", "url": "https://www.last.fm/music/Orchestra+Alpha",
                "image": [
                    {"#text": format!("{base}/img/orchestra-small.png"), "size": "small"},
                    {"#text": format!("{base}/img/orchestra.png"), "size": "extralarge"},
                    {"#text": placeholder, "size": "mega"}
                ],
                "bio": {"summary": "", "content": ""}
            }}),
        ),
        ("artist.getinfo", "Alice Example") => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"artist\": {\"name\": \"Alice Ex",
        )
            .into_response(),
        ("artist.getsimilar", "The Testers") => json_answer(
            StatusCode::OK,
            json!({"similarartists": {
                "artist": [
                    {"name": "Remote Band", "mbid": "", "match": "1", "url": "https://www.last.fm/music/Remote+Band"},
                    {"name": "orchestra ALPHA", "mbid": "", "match": "0.9"},
                    {"name": "The Testers", "mbid": "", "match": "0.8"},
                    {"name": "Someone Else", "mbid": TAG_MASTER_MBID, "match": "0.7"},
                    {"name": "Nobody Here", "mbid": "", "match": "0.6"}
                ],
                "@attr": {"artist": "The Testers"}
            }}),
        ),
        ("track.getsimilar", "The Testers") => {
            assert_eq!(q("track"), "MP3 Tone");
            json_answer(
                StatusCode::OK,
                json!({"similartracks": {
                    "track": [
                        {"name": "Remote Song", "playcount": 5, "match": 1.0, "artist": {"name": "Remote Band", "mbid": ""}},
                        {"name": "overture", "playcount": 4, "match": 0.9, "artist": {"name": "Orchestra Alpha", "mbid": ""}},
                        {"name": "Alice Song", "playcount": 3, "match": 0.8, "artist": {"name": "Not Alice", "mbid": ""}},
                        {"name": "Bob Song", "playcount": 2, "match": 0.7, "artist": {"name": "Bob Example", "mbid": ""}}
                    ],
                    "@attr": {"artist": "The Testers"}
                }}),
            )
        }
        ("artist.getsimilar" | "track.getsimilar", _) => json_answer(
            StatusCode::OK,
            json!({"similarartists": {"artist": [], "@attr": {"artist": q("artist")}}}),
        ),
        _ => not_found(),
    }
}

/// The id of the one artist or album called `name`.
async fn id_of(server: &TestServer, token: &str, list: &str, name: &str) -> String {
    let doc = server
        .json(&[
            ("action", list),
            ("auth", token),
            ("filter", name),
            ("exact", "1"),
        ])
        .await;
    doc[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {list} called {name}: {doc}"))
        .to_string()
}

async fn song_id(server: &TestServer, token: &str, title: &str) -> String {
    let doc = server
        .json(&[
            ("action", "songs"),
            ("auth", token),
            ("filter", title),
            ("exact", "1"),
        ])
        .await;
    doc[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no song called {title}: {doc}"))
        .to_string()
}

/// The success message of a call, checked the same in XML and JSON.
async fn success(server: &TestServer, params: &[(&str, &str)]) -> String {
    let xml = server.xml(params).await;
    assert!(xml.error().is_none(), "{params:?}: {}", xml.text);
    let message = xml
        .doc()
        .descendants()
        .find(|n| n.has_tag_name("success"))
        .and_then(|n| n.text().map(str::to_string))
        .unwrap_or_else(|| panic!("no success for {params:?}: {}", xml.text));
    let json = server.json(params).await;
    assert_eq!(json["success"].as_str(), Some(message.as_str()), "{json}");
    message
}

/// get_art's bytes (asserting a 200 with an image).
async fn art(server: &TestServer, token: &str, kind: &str, id: &str) -> Vec<u8> {
    let response = server
        .client
        .get(format!(
            "{}/server/json.server.php?{}",
            server.base,
            encode_query(&[
                ("action", "get_art"),
                ("auth", token),
                ("type", kind),
                ("id", id)
            ])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.bytes().await.unwrap().to_vec()
}

/// The text of a field of the first `<artist>`.
fn artist_field(xml: &XmlDoc, name: &str) -> Option<String> {
    let doc = xml.doc();
    let artist = doc.descendants().find(|n| n.has_tag_name("artist"))?;
    let field = artist.children().find(|n| n.has_tag_name(name))?;
    Some(field.text().unwrap_or_default().to_string())
}

fn requests_to(seen: &[Seen], prefix: &str) -> usize {
    seen.iter().filter(|s| s.path.starts_with(prefix)).count()
}

async fn providers(engine: Engine) {
    let stand_in = StandIn::start(Duration::ZERO).await;
    let Some(server) = TestServer::start_with(
        engine,
        Options {
            serve_args: stand_in.serve_args("5"),
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let token = server.admin_token().await;
    let testers = id_of(&server, &token, "artists", "The Testers").await;
    let tag_master = id_of(&server, &token, "artists", "Tag Master").await;
    let orchestra = id_of(&server, &token, "artists", "Orchestra Alpha").await;

    // update_artist_info: MusicBrainz by search (place and year formed, id), Last.fm
    // for the summary; shown by `artist` in both formats.
    let message = success(
        &server,
        &[
            ("action", "update_artist_info"),
            ("auth", &token),
            ("id", &testers),
        ],
    )
    .await;
    assert_eq!(message, format!("Updated artist info: {testers}"));
    let doc = server
        .json(&[("action", "artist"), ("auth", &token), ("filter", &testers)])
        .await;
    let artist = &doc[0];
    assert_eq!(
        artist["summary"],
        "The Testers are a test band from Sheffield & nowhere else."
    );
    assert_eq!(artist["placeformed"], "Sheffield");
    assert_eq!(artist["yearformed"], 1994);
    assert_eq!(artist["mbid"], TESTERS_MBID);
    let xml = server
        .xml(&[("action", "artist"), ("auth", &token), ("filter", &testers)])
        .await;
    assert_eq!(
        artist_field(&xml, "placeformed").as_deref(),
        Some("Sheffield")
    );
    assert_eq!(artist_field(&xml, "yearformed").as_deref(), Some("1994"));
    assert!(artist_field(&xml, "summary")
        .unwrap()
        .starts_with("The Testers are a test band"));

    // advanced_search finds artists by them.
    for (field, operator, input) in [("placeformed", "0", "SHEFF"), ("yearformed", "2", "1994")] {
        let doc = server
            .json(&[
                ("action", "advanced_search"),
                ("auth", &token),
                ("type", "artist"),
                ("operator", "and"),
                ("rule_1", field),
                ("rule_1_operator", operator),
                ("rule_1_input", input),
            ])
            .await;
        let ids: Vec<&str> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [testers.as_str()], "{field}: {doc}");
    }

    // A tagged MusicBrainz id is looked up, not searched; Last.fm not knowing the
    // artist is not a failure when MusicBrainz did.
    success(
        &server,
        &[
            ("action", "update_artist_info"),
            ("auth", &token),
            ("id", &tag_master),
        ],
    )
    .await;
    let doc = server
        .json(&[
            ("action", "artist"),
            ("auth", &token),
            ("filter", &tag_master),
        ])
        .await;
    assert_eq!(doc[0]["placeformed"], "Reykjavík");
    assert_eq!(doc[0]["yearformed"], 1971);
    assert!(stand_in
        .seen()
        .iter()
        .any(|s| s.path == format!("/mb/ws/2/artist/{TAG_MASTER_MBID}")));

    // MusicBrainz is never asked twice within a second: the calls above (each made
    // in XML and JSON) were spaced by the server, not by the test.
    let musicbrainz: Vec<Instant> = stand_in
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/mb/"))
        .map(|s| s.at)
        .collect();
    assert!(musicbrainz.len() >= 4, "{musicbrainz:?}");
    for pair in musicbrainz.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(950),
            "MusicBrainz asked twice within {gap:?}"
        );
    }

    // Album art: no local art, no release id in the tags: MusicBrainz finds the
    // release, the Cover Art Archive redirects to the image; get_art serves it.
    let double = id_of(&server, &token, "albums", "Double Feature").await;
    let message = success(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "album"),
            ("id", &double),
            ("overwrite", "1"),
        ],
    )
    .await;
    assert_eq!(message, format!("Gathered new art for: {double} (album)"));
    assert_eq!(
        art(&server, &token, "album", &double).await,
        stand_in.state.cover
    );
    // Songs of the album show it too.
    let overture = song_id(&server, &token, "Overture").await;
    assert_eq!(
        art(&server, &token, "song", &overture).await,
        stand_in.state.cover
    );

    // An album with a local cover keeps it without asking anyone, overwrite or not.
    let parade = id_of(&server, &token, "albums", "Format Parade").await;
    let before = stand_in.seen().len();
    for overwrite in ["0", "1"] {
        success(
            &server,
            &[
                ("action", "update_art"),
                ("auth", &token),
                ("type", "album"),
                ("id", &parade),
                ("overwrite", overwrite),
            ],
        )
        .await;
    }
    assert_eq!(stand_in.seen().len(), before);
    let cover = std::fs::read(server.music.join("The Testers/Format Parade/cover.jpg")).unwrap();
    assert_eq!(art(&server, &token, "album", &parade).await, cover);

    // Artist art: nothing in the artist's folder, so Last.fm's picture (its largest
    // that is not the placeholder).
    success(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "artist"),
            ("id", &orchestra),
            ("overwrite", "1"),
        ],
    )
    .await;
    assert_eq!(
        art(&server, &token, "artist", &orchestra).await,
        stand_in.state.portrait
    );

    // A picture in the artist's folder wins, and no service is asked.
    let local = png(3, 3, [10, 200, 10]);
    std::fs::write(server.music.join("The Testers/artist.png"), &local).unwrap();
    let before = stand_in.seen().len();
    success(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "artist"),
            ("id", &testers),
            ("overwrite", "1"),
        ],
    )
    .await;
    assert_eq!(
        stand_in.seen().len(),
        before,
        "a service was asked: {:?}",
        &stand_in.seen()[before..]
    );
    assert_eq!(art(&server, &token, "artist", &testers).await, local);
    // Without overwrite, art the artist has is kept; the image.php URL serves it too.
    success(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "artist"),
            ("id", &testers),
            ("overwrite", "0"),
        ],
    )
    .await;
    let url = server
        .json(&[("action", "artist"), ("auth", &token), ("filter", &testers)])
        .await[0]["art"]
        .as_str()
        .unwrap()
        .to_string();
    let served = server
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.to_vec(), local);

    // get_similar: only local artists, most similar first, matched by name
    // (case-insensitively) or MusicBrainz id, never the artist itself; paged.
    let doc = server
        .json(&[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "artist"),
            ("filter", &testers),
        ])
        .await;
    let ids: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [orchestra.as_str(), tag_master.as_str()], "{doc}");
    assert_eq!(doc[0]["name"], "Orchestra Alpha");
    let xml = server
        .xml(&[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "artist"),
            ("filter", &testers),
            ("limit", "1"),
        ])
        .await;
    let doc = xml.doc();
    let artists: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("artist"))
        .collect();
    assert_eq!(artists.len(), 1, "{}", xml.text);
    assert_eq!(artists[0].attribute("id"), Some(orchestra.as_str()));
    drop(doc);

    let mp3 = song_id(&server, &token, "MP3 Tone").await;
    let bob = song_id(&server, &token, "Bob Song").await;
    let doc = server
        .json(&[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "song"),
            ("filter", &mp3),
        ])
        .await;
    let ids: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [overture.as_str(), bob.as_str()], "{doc}");
    let xml = server
        .xml(&[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "song"),
            ("filter", &mp3),
            ("offset", "1"),
        ])
        .await;
    let doc = xml.doc();
    let songs: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("song"))
        .collect();
    assert_eq!(songs.len(), 1, "{}", xml.text);
    assert_eq!(songs[0].attribute("id"), Some(bob.as_str()));
    drop(doc);

    // Failures are Ampache errors with the reason: a service's 5xx, an answer that is
    // not JSON, nothing found; unknown objects 404; wrong types 401.
    let bjork = id_of(&server, &token, "artists", "Björk Ø").await;
    let message = assert_error(
        &server,
        &[
            ("action", "update_artist_info"),
            ("auth", &token),
            ("id", &bjork),
        ],
        "400",
    )
    .await;
    assert_eq!(
        message,
        format!("Failed to update_artist_info for {bjork}: MusicBrainz answered HTTP 503")
    );
    let alice = id_of(&server, &token, "artists", "Alice Example").await;
    let message = assert_error(
        &server,
        &[
            ("action", "update_artist_info"),
            ("auth", &token),
            ("id", &alice),
        ],
        "400",
    )
    .await;
    assert!(
        message.contains("Last.fm sent an answer that cannot be read"),
        "{message}"
    );
    let cafe = id_of(&server, &token, "albums", "Café Ünïcødé").await;
    let message = assert_error(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "album"),
            ("id", &cafe),
        ],
        "400",
    )
    .await;
    assert_eq!(
        message,
        format!("Failed to update_art for {cafe}: MusicBrainz knows no such release")
    );
    let message = assert_error(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "album"),
            ("id", "999999"),
        ],
        "404",
    )
    .await;
    assert_eq!(message, "The requested item was not found");
    assert_error(
        &server,
        &[
            ("action", "update_artist_info"),
            ("auth", &token),
            ("id", "999999"),
        ],
        "404",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "song"),
            ("id", &mp3),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "album"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "album"),
            ("filter", &parade),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "artist"),
            ("filter", "999999"),
        ],
        "404",
    )
    .await;

    // Managing art and information needs catalog manager (75); get_similar anyone.
    server
        .cli_with_env(
            &["user", "add", "lee", "--access", "user"],
            &[("TONEARM_PASSWORD", "lee pw")],
        )
        .unwrap();
    let user = server.login("lee", "lee pw").await;
    for params in [
        vec![
            ("action", "update_art"),
            ("auth", user.as_str()),
            ("type", "album"),
            ("id", parade.as_str()),
        ],
        vec![
            ("action", "update_artist_info"),
            ("auth", user.as_str()),
            ("id", testers.as_str()),
        ],
    ] {
        let message = assert_error(&server, &params, "400").await;
        assert_eq!(message, "User does not have access to this function");
    }
    let doc = server
        .json(&[
            ("action", "get_similar"),
            ("auth", &user),
            ("type", "artist"),
            ("filter", &testers),
        ])
        .await;
    assert_eq!(doc.as_array().map(Vec::len), Some(2), "{doc}");
    assert!(requests_to(&stand_in.seen(), "/lastfm/") > 0);
}

mod with_providers {
    use super::*;
    each_engine!(providers);
}

/// No provider configured: local sources still work; anything needing a service is
/// an error naming what is missing, never a silent success.
async fn no_provider(engine: Engine) {
    let Some(server) = TestServer::start(engine).await else {
        return;
    };
    let token = server.admin_token().await;
    let testers = id_of(&server, &token, "artists", "The Testers").await;
    let orchestra = id_of(&server, &token, "artists", "Orchestra Alpha").await;
    let double = id_of(&server, &token, "albums", "Double Feature").await;
    let parade = id_of(&server, &token, "albums", "Format Parade").await;
    let message = assert_error(
        &server,
        &[
            ("action", "update_artist_info"),
            ("auth", &token),
            ("id", &testers),
        ],
        "400",
    )
    .await;
    assert_eq!(
        message,
        format!("Failed to update_artist_info for {testers}: neither MusicBrainz nor Last.fm is a configured provider")
    );
    let doc = server
        .json(&[("action", "artist"), ("auth", &token), ("filter", &testers)])
        .await;
    assert!(doc[0]["summary"].is_null(), "{doc}");
    assert_eq!(doc[0]["yearformed"], 0);
    let message = assert_error(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "album"),
            ("id", &double),
            ("overwrite", "1"),
        ],
        "400",
    )
    .await;
    assert!(
        message.starts_with(&format!("Failed to update_art for {double}: ")),
        "{message}"
    );
    assert_error(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "artist"),
            ("id", &orchestra),
            ("overwrite", "1"),
        ],
        "400",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "artist"),
            ("filter", &testers),
        ],
        "400",
    )
    .await;
    // Local art needs no provider.
    success(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "album"),
            ("id", &parade),
            ("overwrite", "1"),
        ],
    )
    .await;
    std::fs::write(
        server.music.join("Orchestra Alpha/folder.jpg"),
        png(2, 2, [1, 2, 3]),
    )
    .unwrap();
    success(
        &server,
        &[
            ("action", "update_art"),
            ("auth", &token),
            ("type", "artist"),
            ("id", &orchestra),
        ],
    )
    .await;
    assert_eq!(
        art(&server, &token, "artist", &orchestra).await,
        png(2, 2, [1, 2, 3])
    );
}

mod without_providers {
    use super::*;
    each_engine!(no_provider);
}

/// A service that does not answer: the client hears a clear error once the
/// configured timeout has passed, not a hang and not a 500.
async fn hanging_service(engine: Engine) {
    let stand_in = StandIn::start(Duration::from_secs(30)).await;
    let Some(server) = TestServer::start_with(
        engine,
        Options {
            serve_args: stand_in.serve_args("1"),
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let token = server.admin_token().await;
    let testers = id_of(&server, &token, "artists", "The Testers").await;
    let started = Instant::now();
    let (status, _, body) = server
        .get_raw(
            Format::Json,
            &encode_query(&[
                ("action", "update_artist_info"),
                ("auth", &token),
                ("id", &testers),
            ]),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["error"]["code"], "400", "{doc}");
    assert_eq!(
        doc["error"]["message"],
        format!(
            "Failed to update_artist_info for {testers}: MusicBrainz did not answer within 1 s"
        )
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    let message = assert_error(
        &server,
        &[
            ("action", "get_similar"),
            ("auth", &token),
            ("type", "artist"),
            ("filter", &testers),
        ],
        "400",
    )
    .await;
    assert!(
        message.ends_with("Last.fm did not answer within 1 s"),
        "{message}"
    );
}

mod service_hangs {
    use super::*;
    each_engine!(hanging_service);
}
