//! Defects found under concurrency, faults and hostile input: each test here failed
//! before its fix.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;
use crate::on_both_engines;

async fn song_ids(server: &TestServer, token: &str) -> Vec<String> {
    list_field(server, token, "songs", &[], "id").await
}

async fn playlist_song_ids(server: &TestServer, token: &str, playlist: &str) -> Vec<String> {
    list_field(
        server,
        token,
        "playlist_songs",
        &[("filter", playlist), ("limit", "none")],
        "id",
    )
    .await
}

fn is_success(doc: &Value) -> bool {
    doc.get("success").is_some()
}

// 1. Concurrent playlist changes, from two processes sharing the database: every
// acknowledged add is there, once, and removals of one song never undo another's add.
on_both_engines!(
    concurrent_playlist_changes_keep_every_acknowledged_add,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let songs = song_ids(&server, &token).await;
        let playlist = create_playlist(&server, &token, "Party", "public").await;
        let second = std::sync::Arc::new(server.second_process());
        let server = std::sync::Arc::new(server);

        const CLIENTS: usize = 12;
        const ADDS: usize = 15;
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let (server, second) = (server.clone(), second.clone());
            let (token, playlist, songs) = (token.clone(), playlist.clone(), songs.clone());
            tasks.push(tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for add in 0..ADDS {
                    let song = songs[(client * ADDS + add) % songs.len()].clone();
                    // Half the clients talk to the second process; every third add goes
                    // through playlist_edit's `items` instead of playlist_add_song.
                    let mut params = vec![("auth", token.as_str()), ("filter", playlist.as_str())];
                    if add % 3 == 0 {
                        params.extend([("action", "playlist_edit"), ("items", song.as_str())]);
                    } else {
                        params.extend([("action", "playlist_add_song"), ("song", song.as_str())]);
                    }
                    let doc = if client % 2 == 0 {
                        server.json(&params).await
                    } else {
                        second.json(&params).await
                    };
                    assert!(is_success(&doc), "client {client}, add {add}: {doc}");
                    acknowledged.push(song);
                }
                acknowledged
            }));
        }
        let mut expected = Vec::new();
        for task in tasks {
            expected.extend(task.await.unwrap());
        }
        let mut present = playlist_song_ids(&server, &token, &playlist).await;
        assert_eq!(
            present.len(),
            CLIENTS * ADDS,
            "every acknowledged add is there"
        );
        present.sort();
        expected.sort();
        assert_eq!(present, expected);

        // Concurrent removals of different songs, while others are added: each removal
        // takes exactly its song, and the adds all stay.
        let removed: Vec<String> = songs.iter().take(4).cloned().collect();
        let extra = songs[songs.len() - 1].clone();
        let mut tasks = Vec::new();
        for (i, song) in removed.iter().enumerate() {
            let (server, second) = (server.clone(), second.clone());
            let (token, playlist, song, extra) =
                (token.clone(), playlist.clone(), song.clone(), extra.clone());
            tasks.push(tokio::spawn(async move {
                let remove = [
                    ("action", "playlist_remove_song"),
                    ("auth", token.as_str()),
                    ("filter", playlist.as_str()),
                    ("song", song.as_str()),
                ];
                let add = [
                    ("action", "playlist_add_song"),
                    ("auth", token.as_str()),
                    ("filter", playlist.as_str()),
                    ("song", extra.as_str()),
                ];
                let (a, b) = if i % 2 == 0 {
                    (server.json(&remove).await, second.json(&add).await)
                } else {
                    (second.json(&remove).await, server.json(&add).await)
                };
                assert!(is_success(&a) && is_success(&b), "{a} {b}");
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let present = playlist_song_ids(&server, &token, &playlist).await;
        let mut left = expected.clone();
        left.retain(|s| !removed.contains(s));
        left.extend(std::iter::repeat_n(extra.clone(), removed.len()));
        let mut sorted = present.clone();
        sorted.sort();
        left.sort();
        assert_eq!(sorted, left);
    }
);

// 2. Rules that name a playlist see only playlists the caller may read.
on_both_engines!(
    search_rules_do_not_reach_private_playlists,
    |server: TestServer| async move {
        let admin = server.admin_token().await;
        server
            .cli_with_env(&["user", "add", "eve"], &[("TONEARM_PASSWORD", "eve pw")])
            .unwrap();
        let eve = server.login("eve", "eve pw").await;
        let songs = song_ids(&server, &admin).await;
        let mut playlists = Vec::new();
        for (name, kind) in [("Secret diary", "private"), ("Open house", "public")] {
            let id = create_playlist(&server, &admin, name, kind).await;
            let doc = call(
                &server,
                &admin,
                "playlist_add_song",
                &[("filter", &id), ("song", &songs[0])],
            )
            .await;
            assert!(is_success(&doc), "{doc}");
            playlists.push(id);
        }
        let found = |doc: &Value| -> usize { doc.as_array().map_or(0, |songs| songs.len()) };
        let search = |token: &str, field: &str, operator: &str, input: &str| {
            let params = [
                ("action", "advanced_search".to_string()),
                ("auth", token.to_string()),
                ("type", "song".to_string()),
                ("rule_1", field.to_string()),
                ("rule_1_operator", operator.to_string()),
                ("rule_1_input", input.to_string()),
            ];
            let server = &server;
            async move {
                let params: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                server.json(&params).await
            }
        };
        // The owner finds both; eve only the public one, by id and by name.
        assert_eq!(
            found(&search(&admin, "playlist", "0", &playlists[0]).await),
            1
        );
        assert_eq!(
            found(&search(&eve, "playlist", "0", &playlists[0]).await),
            0
        );
        assert_eq!(
            found(&search(&eve, "playlist", "0", &playlists[1]).await),
            1
        );
        assert_eq!(
            found(&search(&eve, "playlist_name", "0", "secret").await),
            0
        );
        assert_eq!(found(&search(&eve, "playlist_name", "0", "open").await), 1);
        // "Not in playlist X" must not reveal X's contents either: for eve, a private
        // playlist holds nothing, so every song qualifies.
        let all = songs.len();
        assert_eq!(
            found(&search(&eve, "playlist", "1", &playlists[0]).await),
            all
        );
        // XML agrees.
        let xml = server
            .xml(&[
                ("action", "advanced_search"),
                ("auth", &eve),
                ("type", "song"),
                ("rule_1", "playlist"),
                ("rule_1_operator", "0"),
                ("rule_1_input", &playlists[0]),
            ])
            .await;
        assert!(!xml.text.contains("<song "), "{}", xml.text);

        // A private smart playlist of the admin's: its rules do not apply for eve.
        server
            .cli(&[
                "smartlist",
                "add",
                "Hidden",
                "--user",
                "admin",
                "--rule",
                "title:0:tone",
            ])
            .unwrap();
        let mine = search(&admin, "smartplaylist", "0", "smart_1").await;
        assert!(found(&mine) > 0, "{mine}");
        let theirs = search(&eve, "smartplaylist", "0", "smart_1").await;
        assert_eq!(found(&theirs), 0, "{theirs}");
    }
);

/// A client that does not follow redirects, for reading `Location`.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A JSON API call with the given Host and extra headers; (status, Location, body).
async fn call_with_host(
    server: &TestServer,
    host: &str,
    headers: &[(&str, &str)],
    params: &[(&str, &str)],
) -> (u16, String, String) {
    let mut request = no_redirects()
        .get(format!(
            "{}/server/json.server.php?{}",
            server.base,
            encode_query(params)
        ))
        .header("host", host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

// 3. The session token never goes to a host the operator did not vouch for.
on_both_engines!(
    urls_never_name_an_untrusted_host,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let songs = song_ids(&server, &token).await;
        let stream = [
            ("action", "stream"),
            ("auth", token.as_str()),
            ("type", "song"),
            ("id", songs[0].as_str()),
        ];
        let (status, location, _) = call_with_host(&server, "evil.example", &[], &stream).await;
        assert_eq!(status, 302);
        assert!(
            location.starts_with(&format!("{}/play/", server.base)),
            "{location}"
        );
        let list = [("action", "songs"), ("auth", token.as_str())];
        let (_, _, body) = call_with_host(&server, "evil.example", &[], &list).await;
        assert!(!body.contains("evil.example"), "{body}");
        assert!(body.contains(&format!("{}/play/", server.base)), "{body}");
        // Forwarded headers from a client that is no configured proxy count for nothing.
        let forwarded = [
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
        ];
        let (_, location, _) = call_with_host(&server, "evil.example", &forwarded, &stream).await;
        assert!(
            location.starts_with(&format!("{}/play/", server.base)),
            "{location}"
        );
    }
);

mod trusted_hosts_and_proxies_are_honoured {
    use super::*;

    async fn check(engine: Engine) {
        // A server told to trust one host name and the loopback proxy.
        let options = Options {
            serve_args: [
                "--trusted-host",
                "music.test",
                "--trusted-proxy",
                "127.0.0.1/32",
            ]
            .map(String::from)
            .to_vec(),
            ..Options::default()
        };
        let Some(server) = TestServer::start_with(engine, options).await else {
            return;
        };
        let token = server.admin_token().await;
        let songs = song_ids(&server, &token).await;
        let stream = [
            ("action", "stream"),
            ("auth", token.as_str()),
            ("type", "song"),
            ("id", songs[0].as_str()),
        ];
        let (_, location, _) = call_with_host(&server, "music.test:8080", &[], &stream).await;
        assert!(
            location.starts_with("http://music.test:8080/play/"),
            "{location}"
        );
        let (_, location, _) = call_with_host(&server, "evil.example", &[], &stream).await;
        assert!(
            location.starts_with(&format!("{}/play/", server.base)),
            "{location}"
        );
        let forwarded = [
            ("x-forwarded-host", "tunes.example.org"),
            ("x-forwarded-proto", "https"),
        ];
        let (_, location, _) = call_with_host(&server, "evil.example", &forwarded, &stream).await;
        assert!(
            location.starts_with("https://tunes.example.org/play/"),
            "{location}"
        );
    }

    crate::each_engine!(check);
}

// 4. Parameter parsing is linear, capped, and never holds up other requests.
on_both_engines!(
    a_flood_of_parameters_is_refused_quickly,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let flood: String = (0..200_000).map(|i| format!("p{i}=&")).collect();
        let started = Instant::now();
        let answer = server
            .client
            .post(format!(
                "{}/server/json.server.php?action=ping",
                server.base
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(flood.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        let doc: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
        assert_eq!(doc["error"]["code"], "400", "{doc}");
        assert!(
            doc["error"]["message"].as_str().unwrap().contains("2000"),
            "the message names the limit: {doc}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );

        // Two floods at once; a ping meanwhile answers at once.
        let floods: Vec<_> = (0..2)
            .map(|_| {
                let request = server
                    .client
                    .post(format!("{}/server/xml.server.php?action=ping", server.base))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(flood.clone());
                tokio::spawn(async move { request.send().await.unwrap().text().await.unwrap() })
            })
            .collect();
        let started = Instant::now();
        let ping = call(&server, &token, "ping", &[]).await;
        assert!(ping.get("session_expire").is_some(), "{ping}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "ping waited {:?}",
            started.elapsed()
        );
        for flood in floods {
            let text = flood.await.unwrap();
            assert!(text.contains("code=\"400\""), "{text}");
        }

        // Under the cap, many parameters are fine.
        let many: String = (0..1990).map(|i| format!("&p{i}=x")).collect();
        let (status, _, body) = server
            .get_raw(Format::Json, &format!("action=ping&auth={token}{many}"))
            .await;
        assert_eq!(status, 200);
        assert!(body.contains("session_expire"), "{body}");
    }
);

/// (id, path) of every song, as the store has them.
async fn song_paths(server: &TestServer) -> Vec<(String, String)> {
    server
        .query_strings("SELECT CAST(s.id AS TEXT) || '|' || s.path FROM songs s ORDER BY s.id")
        .await
        .into_iter()
        .map(|row| {
            let (id, path) = row.split_once('|').unwrap();
            (id.to_string(), path.to_string())
        })
        .collect()
}

fn make_fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

// 6. A song file that became a directory, a named pipe or unreadable: a clear status
// at once, the server still stops on SIGTERM, and the scanner passes them over.
#[cfg(unix)]
mod files_that_are_not_plain_readable_files {
    use super::*;

    async fn check(engine: Engine) {
        use std::os::unix::fs::PermissionsExt;
        let options = Options {
            restricted: true,
            ..Options::default()
        };
        let Some(mut server) = TestServer::start_with(engine, options).await else {
            return;
        };
        let token = server.admin_token().await;
        let songs = song_paths(&server).await;
        let (dir_id, dir_path) = &songs[0];
        let (fifo_id, fifo_path) = &songs[1];
        let (locked_id, locked_path) = &songs[2];
        let (fine_id, _) = &songs[3];
        std::fs::remove_file(dir_path).unwrap();
        std::fs::create_dir(dir_path).unwrap();
        std::fs::remove_file(fifo_path).unwrap();
        make_fifo(std::path::Path::new(fifo_path));
        std::fs::set_permissions(locked_path, std::fs::Permissions::from_mode(0o000)).unwrap();

        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        for (id, expected) in [
            (dir_id, 404),
            (fifo_id, 404),
            (locked_id, 403),
            (fine_id, 200),
        ] {
            let url = format!(
                "{}/play/index.php?ssid={token}&type=song&oid={id}",
                server.base
            );
            let started = Instant::now();
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), expected, "song {id}");
            let body = response.bytes().await.unwrap();
            if expected == 200 {
                assert!(!body.is_empty());
            }
            assert!(started.elapsed() < Duration::from_secs(3));
        }
        // Art of the same songs: no hang, no 500.
        for id in [dir_id, fifo_id, locked_id] {
            let url = format!(
                "{}/image.php?object_id={id}&object_type=song&auth={token}",
                server.base
            );
            let status = client.get(&url).send().await.unwrap().status().as_u16();
            assert!(status < 500, "art of song {id}: {status}");
        }

        // The scanner passes over pipes and directories without waiting, and reports
        // a new file it may not read.
        let new_locked = server.music.join("new locked.mp3");
        std::fs::copy(locked_path, &new_locked).unwrap();
        std::fs::set_permissions(&new_locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        make_fifo(&server.music.join("new pipe.mp3"));
        std::fs::create_dir(server.music.join("new folder.flac")).unwrap();
        let started = Instant::now();
        let out = server.cli(&["scan"]).expect("the scan succeeds");
        assert!(started.elapsed() < Duration::from_secs(60), "{out}");
        let skipped = server.cli(&["catalog", "skipped"]).unwrap();
        assert!(
            skipped.contains(&format!("{}\tcannot open", new_locked.display())),
            "{skipped}"
        );
        let left: Vec<String> = song_paths(&server)
            .await
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert_eq!(left.len(), songs.len() - 2, "{left:?}");
        for gone in [dir_path, fifo_path] {
            assert!(!left.contains(gone), "{gone} is no song any more");
        }
        assert!(
            server.terminate(Duration::from_secs(10)),
            "the server stops on SIGTERM"
        );
    }

    crate::each_engine!(check);
}

// 7. Processes starting together on an empty database: all start, one admin exists.
mod nodes_starting_together_on_an_empty_database {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    async fn check(engine: Engine) {
        for attempt in 0..3 {
            let data = tempfile::tempdir().unwrap();
            let Some(url) = empty_database_url(engine, data.path()).await else {
                return;
            };
            let mut children: Vec<_> = (0..3)
                .map(|_| {
                    Command::new(env!("CARGO_BIN_EXE_tonearm"))
                        .args(["serve", "--no-scan", "--listen", "127.0.0.1:0", "--data"])
                        .arg(data.path())
                        .args(["--database", &url])
                        .env("TONEARM_ADMIN_PASSWORD", ADMIN_PASSWORD)
                        .env("RUST_LOG", "warn")
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            let mut bases = Vec::new();
            for child in &mut children {
                let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
                let base = lines.find_map(|line| {
                    line.ok()?
                        .strip_prefix("tonearm listening on ")
                        .map(|a| a.trim().to_string())
                });
                match base {
                    Some(base) => bases.push(base),
                    None => {
                        let mut error = String::new();
                        std::io::Read::read_to_string(
                            &mut child.stderr.take().unwrap(),
                            &mut error,
                        )
                        .unwrap();
                        panic!("attempt {attempt}: a process did not start: {error}");
                    }
                }
                std::thread::spawn(move || for _ in lines {});
            }
            let client = reqwest::Client::new();
            for base in &bases {
                // A timestamp+auth pair logs in once, on any node: one per node.
                let timestamp = fresh_timestamp().to_string();
                let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
                let url = format!(
                    "{base}/server/json.server.php?action=handshake&user={ADMIN}&timestamp={timestamp}&auth={auth}&version=400004"
                );
                let text = client.get(url).send().await.unwrap().text().await.unwrap();
                let doc: Value = serde_json::from_str(&text).unwrap();
                assert!(doc["auth"].is_string(), "{doc}");
                assert_eq!(doc["users"], serde_json::json!(1), "one user: {doc}");
            }
            for mut child in children {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    crate::each_engine!(check);
}

// 8. A first scan killed mid-way leaves counts that match the songs it committed.
mod counts_after_an_interrupted_scan {
    use super::*;

    async fn check(engine: Engine) {
        let options = Options {
            scan: false,
            ..Options::default()
        };
        let Some(server) = TestServer::start_with(engine, options).await else {
            return;
        };
        // Many copies (hard links) of the library: a scan long enough to interrupt.
        let originals: Vec<std::path::PathBuf> = walk(&server.music);
        for copy in 0..150 {
            let folder = server.music.join(format!("copy {copy:03}"));
            std::fs::create_dir_all(&folder).unwrap();
            for (i, file) in originals.iter().enumerate() {
                let name = format!("{i:02} {}", file.file_name().unwrap().to_string_lossy());
                std::fs::hard_link(file, folder.join(name)).unwrap();
            }
        }
        let mut scan = server.spawn_cli(&["scan"]);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "no batch committed");
            assert!(
                scan.try_wait().unwrap().is_none(),
                "the scan finished before it could be interrupted"
            );
            let songs = server
                .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM songs")
                .await;
            if songs[0] != "0" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        scan.kill().unwrap(); // SIGKILL
        scan.wait().unwrap();
        let dirty = server
            .query_strings("SELECT CAST(dirty AS TEXT) FROM catalogs")
            .await;
        assert_eq!(dirty, ["1"], "the scan was interrupted");

        let token = server.admin_token().await;
        let songs = call(&server, &token, "songs", &[("limit", "none")]).await;
        let songs = songs.as_array().unwrap();
        let total = songs.len();
        assert!(total > 0 && total < originals.len() * 151);
        // What the handshake reports, from the totals the scan stored.
        let timestamp = unix_now().to_string();
        let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
        let handshake = server
            .json(&[
                ("action", "handshake"),
                ("user", ADMIN),
                ("timestamp", &timestamp),
                ("auth", &auth),
                ("version", "400004"),
            ])
            .await;
        assert_eq!(handshake["songs"], serde_json::json!(total), "{handshake}");
        let albums_listed = call(&server, &token, "albums", &[("limit", "none")]).await;
        assert_eq!(
            handshake["albums"],
            serde_json::json!(albums_listed.as_array().unwrap().len()),
            "{handshake}"
        );
        let per = |field: &str| -> std::collections::HashMap<String, usize> {
            let mut map = std::collections::HashMap::new();
            for song in songs.iter() {
                *map.entry(song[field]["id"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            map
        };
        let albums = call(&server, &token, "albums", &[("limit", "none")]).await;
        let by_album = per("album");
        assert_eq!(albums.as_array().unwrap().len(), by_album.len());
        for album in albums.as_array().unwrap() {
            let id = album["id"].as_str().unwrap();
            assert_eq!(
                album["tracks"].as_u64().unwrap() as usize,
                by_album[id],
                "album {album}"
            );
        }
        let artists = call(&server, &token, "artists", &[("limit", "none")]).await;
        let by_artist = per("artist");
        for artist in artists.as_array().unwrap() {
            let id = artist["id"].as_str().unwrap();
            let count = by_artist.get(id).copied().unwrap_or(0);
            assert_eq!(
                artist["songs"].as_u64().unwrap() as usize,
                count,
                "{artist}"
            );
        }
        let tags = call(&server, &token, "tags", &[("limit", "none")]).await;
        for tag in tags
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["tag"].as_array().unwrap())
        {
            let id = tag["id"].as_str().unwrap();
            let count = songs
                .iter()
                .filter(|s| {
                    s["tag"]
                        .as_array()
                        .is_some_and(|g| g.iter().any(|g| g["id"].as_str() == Some(id)))
                })
                .count();
            assert!(count > 0, "no empty genre is listed: {tag}");
            assert_eq!(tag["songs"].as_u64().unwrap() as usize, count, "{tag}");
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    crate::each_engine!(check);
}
