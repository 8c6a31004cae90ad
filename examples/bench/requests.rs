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
/// 5000, the last page of 5000), `{word}` (the word in 1% of the generated titles).
pub struct Case {
    pub label: &'static str,
    pub format: Format,
    pub query: &'static str,
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
    case("stream one song (redirect + whole file)", Json, "action=stream&type=song&id={song_id}&auth={token}"),
];

/// What was learnt from the server before measuring, to fill in the placeholders.
pub struct Context {
    pub token: String,
    pub songs: i64,
    pub albums: i64,
    pub artists: i64,
    pub song_id: String,
    pub word: String,
}

impl Context {
    fn expand(&self, query: &str) -> String {
        let timestamp = unix_now().to_string();
        let passphrase = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
        query
            .replace("{token}", &self.token)
            .replace("{user}", ADMIN)
            .replace("{timestamp}", &timestamp)
            .replace("{passphrase}", &passphrase)
            .replace("{song_id}", &self.song_id)
            .replace("{last_offset}", &(self.songs - 5000).max(0).to_string())
            .replace("{word}", &urlencode(&self.word))
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

    /// Logs in and learns the library's size and a song id.
    pub async fn context(&self, word: &str) -> anyhow::Result<Context> {
        let mut context = Context {
            token: String::new(),
            songs: 0,
            albums: 0,
            artists: 0,
            song_id: String::new(),
            word: word.to_string(),
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
        let (_, _, body, _) = self
            .get(Json, &context.expand("action=songs&limit=1&auth={token}"))
            .await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)?;
        // API 4 answers a bare array; later versions {"song": [...]}.
        let first = if doc.is_array() {
            &doc[0]
        } else {
            &doc["song"][0]
        };
        context.song_id = first["id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| first["id"].as_i64().map(|id| id.to_string()))
            .with_context(|| format!("no song in the library: {doc}"))?;
        Ok(context)
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
            let (status, kind, body, _) =
                self.get(case.format, &context.expand(case.query)).await?;
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
            let query = context.expand(case.query);
            let (status, _, body, elapsed) = self.get(case.format, &query).await?;
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
