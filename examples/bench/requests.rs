//! The measured API requests: one table ([`CASES`]), run one after another over one
//! keep-alive connection on loopback, timing each from sending the request to having
//! read the whole body.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use sha2::{Digest, Sha256};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "bench password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    fn path(self) -> &'static str {
        match self {
            Format::Xml => "/server/xml.server.php",
            Format::Json => "/server/json.server.php",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Xml => "XML",
            Format::Json => "JSON",
        }
    }
}

/// One measured request. The query may use these placeholders, filled in for every
/// request: `{token}` (the session), `{user}`, `{timestamp}` and `{passphrase}` (fresh
/// password-handshake credentials), `{song_id}` (a song), `{last_offset}` (songs −
/// 5000, the last page of 5000), `{word}` (the word in 1% of the generated titles),
/// `{items_1000}` (the ids of the first 1000 songs, comma-separated), `{new_playlist}`
/// (an empty playlist created for this one request before its timing starts, and
/// deleted after it).
pub struct Case {
    pub label: &'static str,
    pub format: Format,
    pub query: &'static str,
}

impl Case {
    /// Whether the line lists ratings, flags or plays, which [`Runner::seed_userdata`]
    /// must have put in first.
    pub fn needs_userdata(&self) -> bool {
        self.query.contains("action=stats")
    }
}

const fn case(label: &'static str, format: Format, query: &'static str) -> Case {
    Case {
        label,
        format,
        query,
    }
}

use Format::{Json, Xml};

const HANDSHAKE: &str =
    "action=handshake&user={user}&timestamp={timestamp}&auth={passphrase}&version=400004";
const ADVANCED_SEARCH: &str = "action=advanced_search&type=song&operator=and\
    &rule_1=title&rule_1_operator=0&rule_1_input=love\
    &rule_2=year&rule_2_operator=0&rule_2_input=1990\
    &rule_3=tag&rule_3_operator=0&rule_3_input=rock&auth={token}";

/// Every measured request; adding one is adding a line.
#[rustfmt::skip]
pub const CASES: &[Case] = &[
    case("handshake (password)", Xml, HANDSHAKE),
    case("handshake (password)", Json, HANDSHAKE),
    case("ping (with session)", Xml, "action=ping&auth={token}"),
    case("ping (with session)", Json, "action=ping&auth={token}"),
    case("artists limit=5000", Xml, "action=artists&limit=5000&auth={token}"),
    case("artists limit=5000", Json, "action=artists&limit=5000&auth={token}"),
    case("albums limit=5000", Xml, "action=albums&limit=5000&auth={token}"),
    case("albums limit=5000", Json, "action=albums&limit=5000&auth={token}"),
    case("songs limit=5000 offset=0", Xml, "action=songs&limit=5000&offset=0&auth={token}"),
    case("songs limit=5000 offset=0", Json, "action=songs&limit=5000&offset=0&auth={token}"),
    case("songs limit=5000, last page", Xml, "action=songs&limit=5000&offset={last_offset}&auth={token}"),
    case("songs limit=5000, last page", Json, "action=songs&limit=5000&offset={last_offset}&auth={token}"),
    case("search_songs (word in 1% of titles)", Xml, "action=search_songs&filter={word}&auth={token}"),
    case("search_songs (word in 1% of titles)", Json, "action=search_songs&filter={word}&auth={token}"),
    case("get_indexes type=song", Xml, "action=get_indexes&type=song&auth={token}"),
    case("get_indexes type=song", Json, "action=get_indexes&type=song&auth={token}"),
    case("advanced_search, 3 rules (title, year, genre)", Xml, ADVANCED_SEARCH),
    case("advanced_search, 3 rules (title, year, genre)", Json, ADVANCED_SEARCH),
    case("stats type=song filter=random", Xml, "action=stats&type=song&filter=random&auth={token}"),
    case("stats type=song filter=random", Json, "action=stats&type=song&filter=random&auth={token}"),
    // Most other filters read ratings, flags and plays (see Runner::seed_userdata).
    // Each answers 10 items, as random does: what differs is the SQL, so JSON alone.
    case("stats type=song filter=newest", Json, "action=stats&type=song&filter=newest&auth={token}"),
    case("stats type=song filter=highest", Json, "action=stats&type=song&filter=highest&auth={token}"),
    case("stats type=song filter=frequent", Json, "action=stats&type=song&filter=frequent&auth={token}"),
    case("stats type=song filter=recent", Json, "action=stats&type=song&filter=recent&auth={token}"),
    case("stats type=song filter=forgotten", Json, "action=stats&type=song&filter=forgotten&auth={token}"),
    case("stats type=song filter=flagged", Json, "action=stats&type=song&filter=flagged&auth={token}"),
    case("stats type=album filter=random", Json, "action=stats&type=album&filter=random&auth={token}"),
    case("stats type=artist filter=random", Json, "action=stats&type=artist&filter=random&auth={token}"),
    case("stream one song (redirect + whole file)", Json, "action=stream&type=song&id={song_id}&auth={token}"),
    // Last: it writes, and each request gets a fresh empty playlist (see Case).
    case("playlist_edit adding 1,000 songs in one call", Json, "action=playlist_edit&filter={new_playlist}&items={items_1000}&auth={token}"),
];

/// How many songs (at most) playlist_edit adds and the seeding rates and flags.
const SONGS_USED: usize = 1000;

/// What was learnt from the server before measuring, to fill in the placeholders.
pub struct Context {
    pub token: String,
    pub songs: i64,
    pub albums: i64,
    pub artists: i64,
    pub song_id: String,
    pub word: String,
    /// The first songs of `songs` (up to [`SONGS_USED`]).
    pub first_songs: Vec<SongRef>,
    /// Their ids, comma-separated.
    items: String,
}

/// What the seeding needs to know of a song: its id, and the names a scrobble gives.
pub struct SongRef {
    pub id: String,
    title: String,
    artist: String,
    album: String,
}

impl SongRef {
    fn from_json(song: &serde_json::Value) -> anyhow::Result<SongRef> {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        Ok(SongRef {
            id: json_id(song).with_context(|| format!("a song without id: {song}"))?,
            title: text(&song["title"]),
            artist: text(&song["artist"]["name"]),
            album: text(&song["album"]["name"]),
        })
    }
}

impl Context {
    fn expand(&self, query: &str) -> String {
        // A password handshake's timestamp and passphrase are accepted once: each
        // request takes another second (the server's window is 30 minutes either way).
        // Only handshakes take a second: the seeding before the stats lines expands
        // thousands of queries, which took the handshakes out of the window. They go
        // forward from the next second, so that none meets the benchmark's own login
        // (made at an earlier second).
        static AHEAD: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
        let ahead = if query.contains("{timestamp}") {
            AHEAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        } else {
            0
        };
        let timestamp = (unix_now() + ahead).to_string();
        let passphrase = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
        query
            .replace("{token}", &self.token)
            .replace("{user}", ADMIN)
            .replace("{timestamp}", &timestamp)
            .replace("{passphrase}", &passphrase)
            .replace("{song_id}", &self.song_id)
            .replace("{last_offset}", &(self.songs - 5000).max(0).to_string())
            .replace("{word}", &urlencode(&self.word))
            .replace("{items_1000}", &self.items)
    }
}

/// The outcome of one line of the table.
pub enum Outcome {
    Timed {
        latencies: Vec<Duration>,
        bytes: usize,
        /// Objects with an id in the answer (songs, albums, ...), when it is a list.
        items: Option<usize>,
    },
    /// The server answers error 405: the method does not exist (yet).
    NotImplemented,
    /// Any other error document or HTTP status.
    Failed(String),
}

pub struct Runner {
    client: reqwest::Client,
    base: String,
    /// Requests per line, after the warm-up.
    pub samples: usize,
    pub warmup: usize,
    /// Time after which a line stops (with at least `min_samples`).
    pub budget: Duration,
    pub min_samples: usize,
}

impl Runner {
    pub fn new(base: &str, samples: usize, budget: Duration) -> anyhow::Result<Runner> {
        let client = reqwest::Client::builder()
            // Only ever loopback: no proxy from the environment, and redirects are
            // followed only to 127.0.0.1.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() < 5 && attempt.url().host_str() == Some("127.0.0.1") {
                    attempt.follow()
                } else {
                    attempt.error("redirect away from 127.0.0.1")
                }
            }))
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Runner {
            client,
            base: base.to_string(),
            samples,
            warmup: 3,
            budget,
            min_samples: 10,
        })
    }

    /// One GET; returns (HTTP status, content type, body, time to the last byte).
    async fn get(
        &self,
        format: Format,
        query: &str,
    ) -> anyhow::Result<(u16, String, Vec<u8>, Duration)> {
        let url = format!("{}{}?{}", self.base, format.path(), query);
        let started = Instant::now();
        let response = self.client.get(&url).send().await?;
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response.bytes().await?;
        let elapsed = started.elapsed();
        Ok((status, kind, body.to_vec(), elapsed))
    }

    /// Logs in and learns the library's size and its first songs.
    pub async fn context(&self, word: &str) -> anyhow::Result<Context> {
        let mut context = Context {
            token: String::new(),
            songs: 0,
            albums: 0,
            artists: 0,
            song_id: String::new(),
            word: word.to_string(),
            first_songs: Vec::new(),
            items: String::new(),
        };
        let (_, _, body, _) = self.get(Json, &context.expand(HANDSHAKE)).await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .with_context(|| format!("handshake: {}", String::from_utf8_lossy(&body)))?;
        context.token = doc["auth"]
            .as_str()
            .with_context(|| format!("handshake failed: {doc}"))?
            .to_string();
        let count = |key: &str| doc[key].as_i64().unwrap_or(0);
        context.songs = count("songs");
        context.albums = count("albums");
        context.artists = count("artists");
        let query = format!("action=songs&limit={SONGS_USED}&auth={{token}}");
        let doc = self.json(&context, &query).await?;
        context.first_songs = list(&doc)
            .iter()
            .map(SongRef::from_json)
            .collect::<anyhow::Result<_>>()?;
        context.song_id = context
            .first_songs
            .first()
            .with_context(|| format!("no song in the library: {doc}"))?
            .id
            .clone();
        let ids: Vec<&str> = context.first_songs.iter().map(|s| s.id.as_str()).collect();
        context.items = ids.join(",");
        Ok(context)
    }

    /// One JSON request that must succeed (setup, not timed): its parsed answer.
    async fn json(&self, context: &Context, query: &str) -> anyhow::Result<serde_json::Value> {
        let (status, kind, body, _) = self.get(Json, &context.expand(query)).await?;
        let action = query.split('&').next().unwrap_or(query);
        if let Some((code, message)) = api_error(Json, &kind, &body) {
            bail!("{action}: error {code}: {message}");
        }
        if status != 200 {
            bail!("{action}: HTTP {status}");
        }
        serde_json::from_slice(&body).with_context(|| format!("{action}: not JSON"))
    }

    /// Gives the stats filters other than newest and random something to list, as the
    /// admin, through the API: the first songs (up to 1000) rated 1–5 stars in turn
    /// (highest) and flagged (flagged); 2000 plays now of the first half of them,
    /// unevenly (frequent, recent); and plays dated 30 days ago of up to 100 songs of
    /// the second half, by scrobble, the only method that takes a date (forgotten:
    /// last played before the 7-day window). Returns a summary for the report.
    pub async fn seed_userdata(&self, context: &Context) -> anyhow::Result<String> {
        let started = Instant::now();
        let songs = &context.first_songs;
        for (i, song) in songs.iter().enumerate() {
            let rating = 1 + i % 5;
            let rate = format!(
                "action=rate&type=song&id={}&rating={rating}&auth={{token}}",
                song.id
            );
            self.json(context, &rate).await?;
            let flag = format!("action=flag&type=song&id={}&flag=1&auth={{token}}", song.id);
            self.json(context, &flag).await?;
        }
        let (played, rest) = songs.split_at(songs.len().div_ceil(2));
        const PLAYS: usize = 2000;
        for k in 0..PLAYS {
            // Each song once, then k² mod n: some songs get many plays, some few, as
            // real listening does.
            let n = played.len();
            let song = &played[if k < n { k } else { (k * k) % n }];
            let play = format!("action=record_play&id={}&auth={{token}}", song.id);
            self.json(context, &play).await?;
        }
        let month_ago = unix_now() - 30 * 24 * 3600;
        let mut scrobbled = 0;
        for (k, song) in rest.iter().take(100).enumerate() {
            let scrobble = format!(
                "action=scrobble&song={}&artist={}&album={}&date={}&auth={{token}}",
                urlencode(&song.title),
                urlencode(&song.artist),
                urlencode(&song.album),
                month_ago - k as i64
            );
            // A song whose names another song shares may not be found; that is fine.
            if self.json(context, &scrobble).await.is_ok() {
                scrobbled += 1;
            }
        }
        Ok(format!(
            "as the admin, {n} songs rated and flagged, {PLAYS} plays of {} songs, {scrobbled} songs \
             played 30 days ago (through rate, flag, record_play and scrobble; {:.1} s)",
            played.len(),
            started.elapsed().as_secs_f64(),
            n = songs.len(),
        ))
    }

    /// The query of one request, with `{new_playlist}` replaced by a playlist created
    /// for it; returns that playlist's id too, to delete it afterwards. A fresh empty
    /// playlist each time, so that every timed playlist_edit does the same work
    /// (appending to one playlist would rewrite a longer list at each call).
    async fn prepare(
        &self,
        case: &Case,
        context: &Context,
    ) -> anyhow::Result<(String, Option<String>)> {
        let query = context.expand(case.query);
        if !query.contains("{new_playlist}") {
            return Ok((query, None));
        }
        let create = "action=playlist_create&name=bench&type=private&auth={token}";
        let doc = self.json(context, create).await?;
        let id = list(&doc)
            .first()
            .and_then(json_id)
            .with_context(|| format!("playlist_create: no id in {doc}"))?;
        Ok((query.replace("{new_playlist}", &id), Some(id)))
    }

    /// Deletes what [`Runner::prepare`] created.
    async fn clean_up(&self, context: &Context, playlist: Option<String>) -> anyhow::Result<()> {
        if let Some(id) = playlist {
            let delete = format!("action=playlist_delete&filter={id}&auth={{token}}");
            self.json(context, &delete).await?;
        }
        Ok(())
    }

    pub async fn run(&self, case: &Case, context: &Context) -> Outcome {
        match self.run_inner(case, context).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed(format!("{e:#}")),
        }
    }

    async fn run_inner(&self, case: &Case, context: &Context) -> anyhow::Result<Outcome> {
        let mut bytes = 0;
        let mut items = None;
        for i in 0..self.warmup.max(1) {
            let (query, created) = self.prepare(case, context).await?;
            let (status, kind, body, _) = self.get(case.format, &query).await?;
            self.clean_up(context, created).await?;
            if let Some((code, message)) = api_error(case.format, &kind, &body) {
                if code == "405" {
                    return Ok(Outcome::NotImplemented);
                }
                return Ok(Outcome::Failed(format!("error {code}: {message}")));
            }
            if status != 200 {
                bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
            }
            if i == 0 {
                bytes = body.len();
                items = count_items(case.format, &kind, &body);
            }
        }
        let started = Instant::now();
        let mut latencies = Vec::with_capacity(self.samples);
        while latencies.len() < self.samples
            && (latencies.len() < self.min_samples || started.elapsed() < self.budget)
        {
            let (query, created) = self.prepare(case, context).await?;
            let (status, _, body, elapsed) = self.get(case.format, &query).await?;
            self.clean_up(context, created).await?;
            if status != 200 || body.is_empty() {
                bail!("HTTP {status} with {} bytes during the run", body.len());
            }
            latencies.push(elapsed);
        }
        Ok(Outcome::Timed {
            latencies,
            bytes,
            items,
        })
    }
}

/// The items of a JSON list answer: API 4 answers a bare array, later versions
/// {"song": [...]}.
fn list(doc: &serde_json::Value) -> &[serde_json::Value] {
    match doc {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(map) => map
            .values()
            .find_map(|v| v.as_array())
            .map_or(&[], Vec::as_slice),
        _ => &[],
    }
}

/// An object's id, a string in API 4 and a number in some later versions.
fn json_id(item: &serde_json::Value) -> Option<String> {
    item["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| item["id"].as_i64().map(|id| id.to_string()))
}

/// (code, message) when the body is an Ampache error document.
fn api_error(format: Format, kind: &str, body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    if format == Format::Xml || kind.contains("xml") {
        if let Ok(doc) = roxmltree::Document::parse(text) {
            let error = doc
                .root_element()
                .children()
                .find(|n| n.has_tag_name("error"))?;
            let code = error.attribute("code").unwrap_or("").to_string();
            return Some((code, error.text().unwrap_or("").trim().to_string()));
        }
    }
    if kind.contains("json") || format == Format::Json {
        let doc: serde_json::Value = serde_json::from_str(text).ok()?;
        let error = doc.get("error")?;
        let code = match &error["code"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let message = error["message"].as_str().unwrap_or("").to_string();
        return Some((code, message));
    }
    None
}

/// How many objects with an id a list answer holds (None for other answers).
fn count_items(format: Format, kind: &str, body: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(body).ok()?;
    match format {
        _ if !(kind.contains("xml") || kind.contains("json")) => None,
        Format::Xml => {
            let doc = roxmltree::Document::parse(text).ok()?;
            let count = doc
                .root_element()
                .children()
                .filter(|n| n.is_element() && n.attribute("id").is_some())
                .count();
            (count > 0).then_some(count)
        }
        Format::Json => {
            let doc: serde_json::Value = serde_json::from_str(text).ok()?;
            let is_list = |v: &serde_json::Value| {
                v.as_array()
                    .is_some_and(|a| a.iter().all(|x| x.get("id").is_some()))
            };
            if is_list(&doc) {
                return doc.as_array().map(Vec::len);
            }
            doc.as_object()?
                .values()
                .filter(|v| is_list(v))
                .map(|v| v.as_array().map_or(0, Vec::len))
                .max()
        }
    }
}

/// The `p`th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn urlencode(text: &str) -> String {
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
