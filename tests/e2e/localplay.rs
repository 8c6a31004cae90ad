//! localplay on a real MPD: each test starts its own `mpd` (null audio output with a
//! software mixer, its own port, database and state files) and checks that the API's
//! commands change what MPD itself reports.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

const MPD_PASSWORD: &str = "mpd secret";

/// A running MPD, killed when dropped.
pub struct TestMpd {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn find_mpd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("mpd"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestMpd {
    /// Starts MPD, or returns None (after saying why) when it is not installed here,
    /// unless TONEARM_REQUIRE_MPD is set (as CI does): then the test fails.
    pub fn start() -> Option<TestMpd> {
        let Some(mpd) = find_mpd() else {
            if std::env::var_os("TONEARM_REQUIRE_MPD").is_some() {
                panic!("TONEARM_REQUIRE_MPD is set but mpd is not installed");
            }
            eprintln!("SKIPPED: localplay test (mpd is not installed)");
            return None;
        };
        // A port taken meanwhile by another process makes MPD exit: try again.
        for _ in 0..5 {
            if let Some(started) = TestMpd::start_once(&mpd) {
                return Some(started);
            }
        }
        panic!("mpd did not start");
    }

    fn start_once(mpd: &PathBuf) -> Option<TestMpd> {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("music")).unwrap();
        std::fs::create_dir_all(d.join("playlists")).unwrap();
        let port = free_port();
        let config = format!(
            r#"music_directory "{0}/music"
playlist_directory "{0}/playlists"
db_file "{0}/database"
state_file "{0}/state"
bind_to_address "127.0.0.1"
port "{port}"
password "{MPD_PASSWORD}@read,add,control,admin"
default_permissions ""
zeroconf_enabled "no"
audio_output {{
    type "null"
    name "null"
    mixer_type "software"
}}
"#,
            d.display()
        );
        std::fs::write(d.join("mpd.conf"), config).unwrap();
        let mut child = Command::new(mpd)
            .arg("--no-daemon")
            .arg(d.join("mpd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mpd runs");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                let mut greeting = String::new();
                let mut reader = BufReader::new(stream);
                if reader.read_line(&mut greeting).is_ok() && greeting.starts_with("OK MPD") {
                    return Some(TestMpd {
                        port,
                        child,
                        _dir: dir,
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Runs one command on MPD directly (with the password); its `key: value` pairs.
    pub fn command(&self, command: &str) -> Vec<(String, String)> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        write!(writer, "password \"{MPD_PASSWORD}\"\n{command}\n").unwrap();
        let mut pairs = Vec::new();
        let mut oks = 0;
        while oks < 2 {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line == "OK" {
                oks += 1;
            } else if line.starts_with("ACK") {
                panic!("mpd refused {command}: {line}");
            } else if let Some((k, v)) = line.split_once(": ") {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        pairs
    }

    pub fn status(&self, key: &str) -> Option<String> {
        self.command("status")
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The `file` of every queue entry.
    pub fn queue(&self) -> Vec<String> {
        self.command("playlistinfo")
            .into_iter()
            .filter(|(k, _)| k == "file")
            .map(|(_, v)| v)
            .collect()
    }

    /// Waits (up to 10 s) until MPD's `status` reports `value` for `key`.
    pub async fn wait_for(&self, key: &str, value: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.status(key);
            if now.as_deref() == Some(value) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mpd's {key} stayed {now:?}, expected {value}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestMpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mpd_args(mpd: &TestMpd) -> Vec<String> {
    [
        "--mpd-host",
        "127.0.0.1",
        "--mpd-port",
        &mpd.port.to_string(),
        "--mpd-password",
        MPD_PASSWORD,
    ]
    .map(String::from)
    .to_vec()
}

async fn localplay(
    server: &TestServer,
    token: &str,
    command: &str,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let mut params = vec![("command", command)];
    params.extend_from_slice(extra);
    call(server, token, "localplay", &params).await
}

/// `{"localplay":{"command":{"<command>": true}}}`, asserted.
async fn done(server: &TestServer, token: &str, command: &str, extra: &[(&str, &str)]) {
    let answer = localplay(server, token, command, extra).await;
    assert_eq!(
        answer["localplay"]["command"][command],
        serde_json::json!(true),
        "{command}: {answer}"
    );
}

async fn commands_move_a_real_mpd(engine: Engine) {
    let Some(mpd) = TestMpd::start() else { return };
    let options = Options {
        serve_args: mpd_args(&mpd),
        ..Options::default()
    };
    let Some(server) = TestServer::start_with(engine, options).await else {
        return;
    };
    let admin = server.admin_token().await;
    // MP3s, which every MPD build decodes.
    let ids = server
        .query_strings(
            "SELECT CAST(id AS TEXT) FROM songs WHERE mime = 'audio/mpeg' AND enabled = 1 ORDER BY id LIMIT 3",
        )
        .await;
    assert_eq!(ids.len(), 3, "{ids:?}");
    let song = call(&server, &admin, "song", &[("filter", &ids[0])]).await;
    let first_title = song[0]["title"].as_str().unwrap().to_string();
    // The test songs last a second: MPD repeats the current one, so that what the
    // commands did stays there to be seen.
    mpd.command("repeat 1");
    mpd.command("single 1");

    // A fresh player: stopped, empty.
    let status = localplay(&server, &admin, "status", &[]).await;
    let status = &status["localplay"]["command"]["status"];
    assert_eq!(status["state"], "stop", "{status}");
    assert_eq!(mpd.queue().len(), 0);

    // `add` gives MPD this server's stream URLs.
    done(
        &server,
        &admin,
        "add",
        &[("oid", &ids[0]), ("type", "song")],
    )
    .await;
    let queue = mpd.queue();
    assert_eq!(queue.len(), 1, "{queue:?}");
    let prefix = format!(
        "{}/play/index.php?ssid={admin}&type=song&oid={}&",
        server.base, ids[0]
    );
    assert!(queue[0].starts_with(&prefix), "{} vs {prefix}", queue[0]);
    let playlist = create_playlist(&server, &admin, "for the speakers", "private").await;
    let added = call(
        &server,
        &admin,
        "playlist_add_song",
        &[("filter", &playlist), ("song", &ids[1])],
    )
    .await;
    assert!(added.get("error").is_none(), "{added}");
    call(
        &server,
        &admin,
        "playlist_add_song",
        &[("filter", &playlist), ("song", &ids[2])],
    )
    .await;
    done(
        &server,
        &admin,
        "add",
        &[("oid", &playlist), ("type", "playlist")],
    )
    .await;
    let queue = mpd.queue();
    assert_eq!(queue.len(), 3, "{queue:?}");
    assert!(queue[1].contains(&format!("&oid={}&", ids[1])), "{queue:?}");
    assert!(queue[2].contains(&format!("&oid={}&", ids[2])), "{queue:?}");
    // `clear=1` empties the queue first.
    done(
        &server,
        &admin,
        "add",
        &[("oid", &ids[0]), ("type", "song"), ("clear", "1")],
    )
    .await;
    assert_eq!(mpd.queue().len(), 1);
    done(
        &server,
        &admin,
        "add",
        &[("oid", &playlist), ("type", "playlist")],
    )
    .await;
    assert_eq!(mpd.queue().len(), 3);

    // Play: MPD fetches the song from tonearm and plays it.
    done(&server, &admin, "play", &[]).await;
    mpd.wait_for("state", "play").await;
    assert_eq!(mpd.status("song").as_deref(), Some("0"));
    let status = localplay(&server, &admin, "status", &[]).await;
    let status = &status["localplay"]["command"]["status"];
    assert_eq!(status["state"], "play", "{status}");
    assert_eq!(status["track"], 1, "{status}");
    assert_eq!(status["track_title"].as_str(), Some(first_title.as_str()));
    // MPD streamed it from tonearm: a play counted for the session's user.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let song = call(&server, &admin, "song", &[("filter", &ids[0])]).await;
        if song[0]["playcount"].as_i64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no play counted: {song}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Pause, and pause again to resume.
    done(&server, &admin, "pause", &[]).await;
    mpd.wait_for("state", "pause").await;
    done(&server, &admin, "pause", &[]).await;
    mpd.wait_for("state", "play").await;

    done(&server, &admin, "next", &[]).await;
    mpd.wait_for("song", "1").await;
    done(&server, &admin, "prev", &[]).await;
    mpd.wait_for("song", "0").await;
    done(&server, &admin, "skip", &[("track", "3")]).await;
    mpd.wait_for("song", "2").await;
    done(&server, &admin, "stop", &[]).await;
    mpd.wait_for("state", "stop").await;

    // Volume: mute, then up and down in steps of 5.
    done(&server, &admin, "volume_mute", &[]).await;
    assert_eq!(mpd.status("volume").as_deref(), Some("0"));
    done(&server, &admin, "volume_up", &[]).await;
    done(&server, &admin, "volume_up", &[]).await;
    assert_eq!(mpd.status("volume").as_deref(), Some("10"));
    done(&server, &admin, "volume_down", &[]).await;
    assert_eq!(mpd.status("volume").as_deref(), Some("5"));
    let status = localplay(&server, &admin, "status", &[]).await;
    assert_eq!(status["localplay"]["command"]["status"]["volume"], "5");

    // The XML status has Ampache's fields, each in CDATA.
    let xml = server
        .xml(&[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "status"),
        ])
        .await;
    let doc = xml.doc();
    let fields: Vec<String> = doc
        .descendants()
        .find(|n| n.has_tag_name("status"))
        .expect("a status element")
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "state",
            "volume",
            "repeat",
            "random",
            "track",
            "track_title",
            "track_artist",
            "track_album"
        ]
    );
    let stop = server
        .xml(&[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "stop"),
        ])
        .await;
    let stopped = stop
        .doc()
        .descendants()
        .find(|n| n.has_tag_name("stop"))
        .and_then(|n| n.text().map(str::to_string));
    assert_eq!(stopped.as_deref(), Some("1"), "{}", stop.text);
    assert_eq!(stop.child_names(), ["localplay"]);

    // The democratic stream, as one queue entry.
    done(
        &server,
        &admin,
        "add",
        &[("type", "democratic"), ("clear", "1")],
    )
    .await;
    let queue = mpd.queue();
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert!(queue[0].ends_with("&demo_id=1"), "{queue:?}");

    done(&server, &admin, "delete_all", &[]).await;
    assert_eq!(mpd.queue().len(), 0);
    assert_eq!(mpd.status("playlistlength").as_deref(), Some("0"));

    // What MPD cannot do answers false, not an error: nothing to play.
    let answer = localplay(&server, &admin, "skip", &[("track", "9")]).await;
    assert_eq!(answer["localplay"]["command"]["skip"], false, "{answer}");

    // Bad input.
    assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "dance"),
        ],
        "405",
    )
    .await;
    assert_error(&server, &[("action", "localplay"), ("auth", &admin)], "401").await;
    assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "add"),
            ("oid", "999999"),
        ],
        "404",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "add"),
            ("oid", &ids[0]),
            ("type", "album_art"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "skip"),
        ],
        "401",
    )
    .await;
}

mod commands_move_mpd {
    use super::*;
    crate::each_engine!(commands_move_a_real_mpd);
}

/// Only users at the localplay level may drive the player: admins by default,
/// whoever the operator allows (here in config.toml) otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_levels_and_the_config_file() {
    let Some(mpd) = TestMpd::start() else { return };
    let options = Options {
        serve_args: mpd_args(&mpd),
        ..Options::default()
    };
    let server = TestServer::start_with(Engine::Sqlite, options)
        .await
        .unwrap();
    server
        .cli_with_env(
            &["user", "add", "lou", "--access", "user"],
            &[("TONEARM_PASSWORD", "pw")],
        )
        .unwrap();
    server
        .cli_with_env(
            &["user", "add", "gil", "--access", "guest"],
            &[("TONEARM_PASSWORD", "pw")],
        )
        .unwrap();
    let lou = server.login("lou", "pw").await;
    let message = assert_error(
        &server,
        &[("action", "localplay"), ("auth", &lou), ("command", "stop")],
        "400",
    )
    .await;
    assert_eq!(message, "User does not have access to this function");
    assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &lou),
            ("command", "status"),
        ],
        "400",
    )
    .await;
    done(&server, &server.admin_token().await, "stop", &[]).await;

    // A second process configured by config.toml alone: users (25) may play.
    std::fs::write(
        server.data.path().join("config.toml"),
        format!(
            "[localplay]\nmpd_host = \"127.0.0.1\"\nmpd_port = {}\nmpd_password = \"{MPD_PASSWORD}\"\nlevel = 25\n",
            mpd.port
        ),
    )
    .unwrap();
    let second = server.second_process();
    let answer = second
        .json(&[
            ("action", "localplay"),
            ("auth", &lou),
            ("command", "volume_mute"),
        ])
        .await;
    assert_eq!(
        answer["localplay"]["command"]["volume_mute"], true,
        "{answer}"
    );
    assert_eq!(mpd.status("volume").as_deref(), Some("0"));
    let gil = server.login("gil", "pw").await;
    let answer = second
        .json(&[("action", "localplay"), ("auth", &gil), ("command", "stop")])
        .await;
    assert_eq!(answer["error"]["code"], "400", "{answer}");
}

/// Without an instance, and with one that does not answer: the spec's 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_instance_answers_405() {
    let server = TestServer::start_unscanned(Engine::Sqlite).await.unwrap();
    let admin = server.admin_token().await;
    let message = assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "next"),
        ],
        "405",
    )
    .await;
    assert_eq!(message, "Localplay is not configured on this server");
    for command in ["status", "add", "dance"] {
        assert_error(
            &server,
            &[
                ("action", "localplay"),
                ("auth", &admin),
                ("command", command),
                ("oid", "999999"),
            ],
            "405",
        )
        .await;
    }

    // An MPD that is not there.
    let port = free_port();
    let options = Options {
        scan: false,
        serve_args: ["--mpd-host", "127.0.0.1", "--mpd-port", &port.to_string()]
            .map(String::from)
            .to_vec(),
        ..Options::default()
    };
    let server = TestServer::start_with(Engine::Sqlite, options)
        .await
        .unwrap();
    let admin = server.admin_token().await;
    let message = assert_error(
        &server,
        &[
            ("action", "localplay"),
            ("auth", &admin),
            ("command", "status"),
        ],
        "405",
    )
    .await;
    assert_eq!(message, "Unable to connect to localplay controller");
}
