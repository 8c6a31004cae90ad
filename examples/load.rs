//! A load driver: many clients on keep-alive connections, each sending the mix of
//! issue 12 to a running tonearm on this machine, for a bounded time; prints the
//! request rate, errors and latency per method.
//!
//! ```sh
//! cargo build --release --example load --example bench --bin tonearm
//! target/release/examples/bench --dir /tmp/tb-100k --only ping   # makes and scans the library
//! target/release/tonearm --data /tmp/tb-100k/data serve --no-scan --listen 127.0.0.1:4555 &
//! KEY=$(target/release/tonearm --data /tmp/tb-100k/data user apikey admin | tail -1)
//! target/release/examples/load --url http://127.0.0.1:4555 --apikey $KEY --clients 200 --seconds 60
//! ```
//!
//! The mix: 20% authenticated `ping`, 25% `songs limit=50` at a random offset, 15%
//! `albums limit=50` at a random offset, 12% `search_songs limit=50` for a word of a real title, 18% `song` by id, 10% a
//! stream with a Range (the first 64 KiB). `--only ping` sends one method alone.

use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng;

#[derive(Parser, Debug)]
struct Options {
    /// The server (loopback only: this is not a tool to load someone else's server).
    #[arg(long, default_value = "http://127.0.0.1:4040")]
    url: String,
    /// An API key of a user (see `tonearm user apikey`).
    #[arg(long)]
    apikey: String,
    /// Concurrent clients (at most 1000).
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Seconds of load (at most 600).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Send only this method of the mix.
    #[arg(long)]
    only: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Ping,
    Songs,
    Albums,
    Search,
    Song,
    Stream,
}

const MIX: &[(Kind, u32)] = &[
    (Kind::Ping, 20),
    (Kind::Songs, 25),
    (Kind::Albums, 15),
    (Kind::Search, 12),
    (Kind::Song, 18),
    (Kind::Stream, 10),
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ping => "ping",
            Kind::Songs => "songs limit=50",
            Kind::Albums => "albums limit=50",
            Kind::Search => "search_songs",
            Kind::Song => "song",
            Kind::Stream => "stream (Range)",
        }
    }
}

struct Library {
    token: String,
    songs: u64,
    albums: u64,
    /// Song ids seen, for `song` and streams.
    ids: Vec<String>,
    /// Words of the titles seen, for searches that find something.
    words: Vec<String>,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<(Kind, Duration)>,
    errors: Vec<(Kind, String)>,
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    anyhow::ensure!(
        options.clients >= 1 && options.clients <= 1000,
        "--clients: 1 to 1000"
    );
    anyhow::ensure!(
        options.seconds >= 1 && options.seconds <= 600,
        "--seconds: 1 to 600"
    );
    let host = reqwest::Url::parse(&options.url)?
        .host_str()
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "--url must be on this machine (loopback)"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(drive(options))
}

async fn drive(options: Options) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let library = prepare(&client, &options).await?;
    let library = std::sync::Arc::new(library);
    let until = Instant::now() + Duration::from_secs(options.seconds);
    let only = options.only.clone();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.clients {
        let (client, library, url, only) = (
            client.clone(),
            library.clone(),
            options.url.clone(),
            only.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while Instant::now() < until {
                let kind = pick(only.as_deref());
                let sent = Instant::now();
                match request(&client, &url, &library, kind).await {
                    Ok(()) => tally.latencies.push((kind, sent.elapsed())),
                    Err(e) => tally.errors.push((kind, e)),
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await?;
        all.latencies.extend(tally.latencies);
        all.errors.extend(tally.errors);
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(&options, &all, elapsed);
    Ok(())
}

fn pick(only: Option<&str>) -> Kind {
    if let Some(only) = only {
        if let Some((kind, _)) = MIX.iter().find(|(k, _)| k.name().starts_with(only)) {
            return *kind;
        }
    }
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut roll = rand::thread_rng().gen_range(0..total);
    for (kind, weight) in MIX {
        if roll < *weight {
            return *kind;
        }
        roll -= weight;
    }
    Kind::Ping
}

async fn prepare(client: &reqwest::Client, options: &Options) -> anyhow::Result<Library> {
    let handshake: serde_json::Value = client
        .get(format!(
            "{}/server/json.server.php?action=handshake&auth={}&version=400004",
            options.url, options.apikey
        ))
        .send()
        .await?
        .text()
        .await
        .map(|text| serde_json::from_str(&text))??;
    let token = handshake["auth"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("handshake failed: {handshake}"))?
        .to_string();
    let songs = handshake["songs"].as_u64().unwrap_or(0);
    let albums = handshake["albums"].as_u64().unwrap_or(0);
    anyhow::ensure!(songs > 0, "the server has no songs: scan a library first");
    let mut ids = Vec::new();
    let mut words = Vec::new();
    for page in 0..20 {
        let offset = songs * page / 20;
        let list: serde_json::Value = client
            .get(format!(
                "{}/server/json.server.php?action=songs&auth={token}&offset={offset}&limit=50",
                options.url
            ))
            .send()
            .await?
            .text()
            .await
            .map(|text| serde_json::from_str(&text))??;
        for song in list["song"]
            .as_array()
            .or(list.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(id) = song["id"].as_str() {
                ids.push(id.to_string());
            }
            if let Some(title) = song["title"].as_str() {
                words.extend(
                    title
                        .split_whitespace()
                        .filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic))
                        .map(str::to_lowercase),
                );
            }
        }
    }
    anyhow::ensure!(!ids.is_empty(), "could not list songs");
    if words.is_empty() {
        words.push("a".into());
    }
    Ok(Library {
        token,
        songs,
        albums,
        ids,
        words,
    })
}

async fn request(
    client: &reqwest::Client,
    url: &str,
    library: &Library,
    kind: Kind,
) -> Result<(), String> {
    let token = &library.token;
    let (query, range) = {
        let mut rng = rand::thread_rng();
        let id = &library.ids[rng.gen_range(0..library.ids.len())];
        match kind {
            Kind::Ping => (format!("action=ping&auth={token}"), false),
            Kind::Songs => (
                format!(
                    "action=songs&auth={token}&limit=50&offset={}",
                    rng.gen_range(0..library.songs.max(1))
                ),
                false,
            ),
            Kind::Albums => (
                format!(
                    "action=albums&auth={token}&limit=50&offset={}",
                    rng.gen_range(0..library.albums.max(1))
                ),
                false,
            ),
            // A word of a real title, a page of 50 as clients ask for.
            Kind::Search => (
                format!(
                    "action=search_songs&auth={token}&limit=50&filter={}",
                    library.words[rng.gen_range(0..library.words.len())]
                ),
                false,
            ),
            Kind::Song => (format!("action=song&auth={token}&filter={id}"), false),
            Kind::Stream => (
                format!("action=stream&auth={token}&type=song&id={id}"),
                true,
            ),
        }
    };
    let mut request = client.get(format!("{url}/server/json.server.php?{query}"));
    if range {
        request = request.header("Range", "bytes=0-65535");
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status.is_server_error() || status.is_client_error() {
        return Err(format!("HTTP {status}"));
    }
    if !range && body.starts_with(b"{\"error\"") {
        return Err(String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned());
    }
    Ok(())
}

fn report(options: &Options, all: &Tally, elapsed: f64) {
    println!(
        "{} clients, {:.0} s: {} requests, {:.0} req/s, {} errors\n",
        options.clients,
        elapsed,
        all.latencies.len() + all.errors.len(),
        all.latencies.len() as f64 / elapsed,
        all.errors.len()
    );
    println!("| method | requests | req/s | errors | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut rows = vec![(
        None,
        all.latencies.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
    )];
    for kind in MIX.iter().map(|(k, _)| *k) {
        let times: Vec<Duration> = all
            .latencies
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .collect();
        if !times.is_empty() {
            rows.push((Some(kind), times));
        }
    }
    for (kind, mut times) in rows {
        times.sort();
        let errors = all
            .errors
            .iter()
            .filter(|(k, _)| kind.is_none_or(|kind| *k == kind))
            .count();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {} | {} | {:.0} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            kind.map_or("all", Kind::name),
            times.len(),
            times.len() as f64 / elapsed,
            errors,
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
            times.last().unwrap().as_secs_f64() * 1000.0,
        );
    }
    if let Some((kind, error)) = all.errors.first() {
        println!("\nfirst error ({}): {error}", kind.name());
    }
}
