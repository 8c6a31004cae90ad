//! Transcoding benchmark: how soon a transcode starts, how a cached transcode's
//! ranges compare with a raw file's, and whether concurrent transcodes keep up with
//! real time. Runs the release server over a generated library of long songs.
//!
//! ```sh
//! cargo build --release && cargo run --release --example transcode_bench -- --help
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use sha2::{Digest, Sha256};

#[derive(Parser, Debug)]
#[command(about = "Measures transcoding through a real tonearm server")]
struct Options {
    /// Songs generated (stereo 44.1 kHz FLAC); also how many transcodes run at once.
    #[arg(long, default_value_t = 8)]
    songs: usize,
    /// Length of each song in seconds.
    #[arg(long, default_value_t = 240)]
    seconds: u32,
    /// Timed requests per figure.
    #[arg(long, default_value_t = 40)]
    requests: usize,
    /// The transcode target of the concurrent run, as `format:kbps`.
    #[arg(long, default_value = "mp3:192")]
    target: String,
    /// The server binary (default: target/release/tonearm beside this example).
    #[arg(long)]
    tonearm: Option<PathBuf>,
    /// Working folder (kept); default a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
}

const PASSWORD: &str = "bench";

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let (format, kbps) = options
        .target
        .split_once(':')
        .context("--target is format:kbps, e.g. mp3:192")?;
    let kbps: u32 = kbps.parse().context("--target kbps")?;
    let temp;
    let dir = match &options.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let binary = match &options.tonearm {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("no target folder")?
            .join("tonearm"),
    };
    if !binary.is_file() {
        bail!(
            "no server at {}: cargo build --release first",
            binary.display()
        );
    }
    let music = dir.join("music");
    std::fs::create_dir_all(&music)?;
    for n in 0..options.songs {
        let path = music.join(format!("song{n:02}.flac"));
        if path.exists() {
            continue;
        }
        // A chord that moves: something an encoder has to work for, unlike a sine.
        let source = format!(
            "aevalsrc=0.3*sin({f}*2*PI*t)+0.2*sin({g}*2*PI*t*(1+0.01*sin(t)))+0.05*(random(0)-0.5):s=44100:d={d}",
            f = 220 + 20 * n,
            g = 330 + 15 * n,
            d = options.seconds
        );
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", &source, "-ac", "2"])
            .args(["-metadata", &format!("title=Bench Song {n:02}")])
            .arg(&path)
            .status()?;
        if !status.success() {
            bail!("ffmpeg could not generate {}", path.display());
        }
    }
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let server = start(&binary, &data, &music)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(measure(&options, &server, &data, format, kbps))
}

fn start(binary: &Path, data: &Path, music: &Path) -> anyhow::Result<Server> {
    use std::io::BufRead;
    let mut child = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--music"])
        .arg(music)
        .arg("--data")
        .arg(data)
        .env("TONEARM_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().context("the server exited")??;
        if let Some(address) = line.strip_prefix("tonearm listening on ") {
            break address.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, base })
}

async fn measure(
    options: &Options,
    server: &Server,
    data: &Path,
    format: &str,
    kbps: u32,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let json = |query: String| {
        let client = client.clone();
        let url = format!("{}/server/json.server.php?{query}", server.base);
        async move {
            let text = client.get(url).send().await?.text().await?;
            anyhow::Ok(serde_json::from_str::<serde_json::Value>(&text)?)
        }
    };
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(PASSWORD)));
    let token = json(format!(
        "action=handshake&user=admin&timestamp={timestamp}&auth={auth}&version=400004"
    ))
    .await?["auth"]
        .as_str()
        .context("handshake failed")?
        .to_string();
    // The background scan: wait until every song is there.
    let ids: Vec<String> = loop {
        let songs = json(format!("action=songs&auth={token}&limit=none")).await?;
        let ids: Vec<String> = songs
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if ids.len() >= options.songs {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let url = |id: &str, extra: &str| {
        format!(
            "{}/play/index.php?ssid={token}&type=song&oid={id}&uid=1{extra}",
            server.base
        )
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!(
        "{} songs of {} s (stereo 44.1 kHz FLAC), {} cores\n",
        options.songs, options.seconds, cores
    );

    // 1. First byte of a transcode nothing has cached: a new bitrate each time.
    let mut first = Vec::new();
    for n in 0..options.requests {
        let id = &ids[n % ids.len()];
        let started = Instant::now();
        let mut response = client
            .get(url(id, &format!("&transcode_to=mp3&bitrate={}", 100 + n)))
            .send()
            .await?;
        response.chunk().await?.context("no byte")?;
        first.push(started.elapsed());
        drop(response);
        // Let the killed ffmpeg go before the next one starts.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    report("transcode first byte (mp3, uncached)", &mut first);

    // 2. Ranges: a cached transcode against the raw file, 64 KiB from the middle.
    let cached_url = url(&ids[0], &format!("&transcode_to={format}&bitrate={kbps}"));
    let whole = client.get(&cached_url).send().await?.bytes().await?;
    let raw_url = url(&ids[0], "");
    for (label, target, size) in [
        ("raw file Range 64 KiB", &raw_url, None),
        (
            "cached transcode Range 64 KiB",
            &cached_url,
            Some(whole.len()),
        ),
    ] {
        let size = match size {
            Some(size) => size,
            None => client
                .head(target.as_str())
                .send()
                .await?
                .content_length()
                .context("no length")? as usize,
        };
        let mut times = Vec::new();
        for n in 0..options.requests {
            let start = (size / 2 + n * 4096) % (size - 65536);
            let started = Instant::now();
            let response = client
                .get(target.as_str())
                .header("Range", format!("bytes={start}-{}", start + 65535))
                .send()
                .await?;
            if response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                bail!("{label}: {}", response.status());
            }
            let body = response.bytes().await?;
            times.push(started.elapsed());
            if body.len() != 65536 {
                bail!("{label}: {} bytes", body.len());
            }
        }
        report(label, &mut times);
    }

    // 3. Every song transcoded at once, each read to its end as fast as it comes.
    let _ = std::fs::remove_dir_all(data.join("cache/transcode"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in &ids {
        let client = client.clone();
        let target = url(id, &format!("&transcode_to={format}&bitrate={}", kbps + 1));
        tasks.push(tokio::spawn(async move {
            let begun = Instant::now();
            let mut response = client.get(target).send().await?;
            let mut bytes = 0usize;
            let mut first = None;
            while let Some(chunk) = response.chunk().await? {
                first.get_or_insert_with(|| begun.elapsed());
                bytes += chunk.len();
            }
            anyhow::Ok((begun.elapsed(), first.unwrap_or_default(), bytes))
        }));
    }
    // One more listener arriving while the 8 run.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let begun = Instant::now();
    let mut late = client
        .get(url(
            &ids[0],
            &format!("&transcode_to={format}&bitrate={}", kbps + 2),
        ))
        .send()
        .await?;
    late.chunk().await?.context("no byte")?;
    let late_first = begun.elapsed();
    drop(late);
    let mut factors = Vec::new();
    let mut firsts = Vec::new();
    for task in tasks {
        let (took, first, _bytes) = task.await??;
        factors.push(options.seconds as f64 / took.as_secs_f64());
        firsts.push(first);
    }
    factors.sort_by(f64::total_cmp);
    println!(
        "{} concurrent transcodes to {format} {}k: all done in {:.1} s; speed of each (song seconds per second): slowest {:.1}×, median {:.1}×; first byte p50 {}",
        ids.len(),
        kbps + 1,
        started.elapsed().as_secs_f64(),
        factors[0],
        factors[factors.len() / 2],
        millis(median(&mut firsts)),
    );
    println!(
        "first byte of one more transcode, 1 s after the {} started: {}",
        ids.len(),
        millis(late_first)
    );
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{label}: p50 {} p90 {} max {} (n={})",
        millis(p(0.5)),
        millis(p(0.9)),
        millis(p(1.0)),
        times.len()
    );
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
