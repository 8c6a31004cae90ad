//! Catalog upkeep through the API and the watcher: catalog_action, catalogs,
//! catalog, catalog_file and update_from_tags; files added, changed, moved and
//! deleted on disk, seen through the API; moved songs keep their ids.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;
use crate::on_both_engines;

/// Polls `check` every 100 ms until it gives Some, for at most 10 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn song_count(server: &TestServer, token: &str) -> i64 {
    let doc = call(server, token, "ping", &[]).await;
    doc["songs"]
        .as_i64()
        .unwrap_or_else(|| panic!("ping: {doc}"))
}

/// The songs whose title contains `title`.
async fn songs_titled(server: &TestServer, token: &str, title: &str) -> Vec<Value> {
    let doc = call(server, token, "songs", &[("filter", title)]).await;
    doc.as_array()
        .unwrap_or_else(|| panic!("songs: {doc}"))
        .clone()
}

async fn one_song(server: &TestServer, token: &str, title: &str) -> Value {
    let songs = songs_titled(server, token, title).await;
    assert_eq!(songs.len(), 1, "{title}: {songs:?}");
    songs[0].clone()
}

async fn action(server: &TestServer, token: &str, task: &str) {
    let doc = call(
        server,
        token,
        "catalog_action",
        &[("task", task), ("catalog", "1")],
    )
    .await;
    assert_eq!(
        doc,
        json!({ "success": format!("successfully started: {task}") })
    );
}

fn copy_keeping_mtime(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
    let mtime = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

fn set_mtime(path: &Path, seconds: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + Duration::from_secs(seconds))
        .unwrap();
}

/// The handshake's add, update and clean dates.
async fn handshake_dates(server: &TestServer) -> (String, String, String) {
    let timestamp = unix_now().to_string();
    let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
    let doc = server
        .json(&[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &timestamp),
            ("auth", &auth),
        ])
        .await;
    let get = |k: &str| doc[k].as_str().unwrap().to_string();
    (get("add"), get("update"), get("clean"))
}

/// Moves Double Feature to another folder, with a playlist and a rating on one of
/// its songs, and waits (after `nudge`) until the API shows the new paths; the
/// songs keep their ids, and so the playlist and the rating.
async fn move_folder_keeps_ids<F, Fut>(server: &TestServer, token: &str, songs: i64, nudge: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let before = one_song(server, token, "Overture").await;
    let id = before["id"].as_str().unwrap().to_string();
    let album_before = before["album"]["id"].as_str().unwrap().to_string();
    let playlist = create_playlist(server, token, "moving", "private").await;
    call(
        server,
        token,
        "playlist_add_song",
        &[("filter", &playlist), ("song", &id)],
    )
    .await;
    call(
        server,
        token,
        "rate",
        &[("type", "song"), ("id", &id), ("rating", "4")],
    )
    .await;
    let from = server.music.join("Orchestra Alpha");
    let to = server.music.join("Moved Elsewhere");
    std::fs::rename(&from, &to).unwrap();
    nudge().await;
    let after = eventually("the moved song", || async {
        let song = one_song(server, token, "Overture").await;
        song["filename"]
            .as_str()
            .unwrap()
            .contains("Moved Elsewhere")
            .then_some(song)
    })
    .await;
    assert_eq!(after["id"], json!(id), "the moved song kept its id");
    assert_eq!(after["album"]["id"], json!(album_before));
    assert_eq!(after["rating"], json!(4));
    let listed = list_field(
        server,
        token,
        "playlist_songs",
        &[("filter", &playlist)],
        "id",
    )
    .await;
    assert_eq!(listed, [id]);
    assert_eq!(song_count(server, token).await, songs);
}

on_both_engines!(
    catalog_actions_follow_the_disk,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        // The library as if scanned a while ago, so that this test's changes are the
        // only ones the add/update filters see.
        server
            .sql("UPDATE songs SET created = created - 100, updated = updated - 100")
            .await;
        let started = unix_now();

        // catalogs and catalog, in the 4.2 shape, with progress for a manager.
        let list = call(&server, &token, "catalogs", &[]).await;
        let first = &list[0];
        assert_eq!(first["id"], json!("1"));
        assert_eq!(first["type"], json!("local"));
        assert_eq!(first["gather_types"], json!("music"));
        assert_eq!(first["enabled"], json!(true));
        assert_eq!(first["path"], json!(server.music.to_str().unwrap()));
        assert!(first["last_add"].as_str().unwrap().contains('/'), "{first}");
        assert_eq!(first["last_clean"], json!("Never"));
        assert!(first.get("scan_files_done").is_some(), "{first}");
        let xml = server
            .xml(&[("action", "catalog"), ("auth", &token), ("filter", "1")])
            .await;
        assert_eq!(xml.field("total_count").as_deref(), Some("1"));
        let doc = xml.doc();
        let catalog = doc
            .root_element()
            .children()
            .find(|n| n.has_tag_name("catalog"))
            .unwrap();
        assert_eq!(catalog.attribute("id"), Some("1"));
        let names: Vec<&str> = catalog
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(
            &names[..11],
            [
                "name",
                "type",
                "gather_types",
                "enabled",
                "last_add",
                "last_clean",
                "last_update",
                "path",
                "rename_pattern",
                "sort_pattern",
                "scan_task"
            ]
        );
        assert_eq!(
            call(&server, &token, "catalogs", &[("filter", "video")]).await,
            json!([])
        );
        assert_error(
            &server,
            &[("action", "catalog"), ("auth", &token), ("filter", "9")],
            "404",
        )
        .await;

        // Added: a new folder with a copy of a song.
        let music = server.music.clone();
        copy_keeping_mtime(
            &music.join("Tag Master/Everything Tagged/02 - Full FLAC.flac"),
            &music.join("New Arrivals/copy.flac"),
        );
        action(&server, &token, "add_to_catalog").await;
        eventually("the added song", || async {
            (song_count(&server, &token).await == 23).then_some(())
        })
        .await;

        // Moved: a whole folder, found by add_to_catalog.
        let nudge = || async { action(&server, &token, "add_to_catalog").await };
        move_folder_keeps_ids(&server, &token, 23, nudge).await;
        // The copy is gone again, so counts are as committed below.
        std::fs::remove_dir_all(music.join("New Arrivals")).unwrap();

        // Deleted: seen by clean_catalog.
        std::fs::remove_file(music.join("Björk Ø/Café Ünïcødé/02 - Emoji 🎵 Song.mp3")).unwrap();
        action(&server, &token, "clean_catalog").await;
        eventually("the deleted songs", || async {
            (song_count(&server, &token).await == 21).then_some(())
        })
        .await;
        assert!(songs_titled(&server, &token, "Emoji").await.is_empty());

        // Changed: the untagged file now holds a tagged song; seen by verify_catalog.
        let untagged = music.join("untagged/Some Untagged Song.mp3");
        let id = one_song(&server, &token, "Some Untagged Song").await["id"].clone();
        std::fs::copy(
            music.join("Various Artists/Various Hits/01 - Alice Song.mp3"),
            &untagged,
        )
        .unwrap();
        set_mtime(&untagged, 1_800_000_000);
        action(&server, &token, "verify_catalog").await;
        let changed = eventually("the changed song", || async {
            let songs = songs_titled(&server, &token, "Alice Song").await;
            (songs.len() == 2).then_some(songs)
        })
        .await;
        assert!(
            changed.iter().any(|s| s["id"] == id),
            "the changed file kept its id: {changed:?}"
        );

        // gather_art answers too; the catalog shows the last task's outcome.
        action(&server, &token, "gather_art").await;
        let shown = eventually("the last result", || async {
            let doc = call(&server, &token, "catalog", &[("filter", "1")]).await;
            (doc[0]["last_task"] == json!("gather_art")).then(|| doc[0].clone())
        })
        .await;
        assert!(
            shown["last_result"]
                .as_str()
                .unwrap()
                .contains("files seen"),
            "{shown}"
        );

        // The handshake's dates moved with the changes, and the add/update filters see them.
        let (add, update, clean) = handshake_dates(&server).await;
        let since = chrono_like(started - 1);
        for date in [&add, &update, &clean] {
            assert!(date.as_str() >= since.as_str(), "{date} >= {since}");
        }
        let updated = list_field(&server, &token, "songs", &[("update", &since)], "title").await;
        assert!(updated.contains(&"Overture".to_string()), "{updated:?}");
        let added = list_field(&server, &token, "songs", &[("add", &since)], "title").await;
        assert!(
            !added.contains(&"Overture".to_string()),
            "a moved song is not new: {added:?}"
        );
    }
);

/// Unix seconds as the handshake writes dates (UTC, `+00:00`), for comparing them as text.
fn chrono_like(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

async fn watcher_follows_the_disk(engine: Engine) {
    let Some(server) = TestServer::start_with(
        engine,
        Options {
            serve_args: vec!["--watch".into()],
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let token = server.admin_token().await;
    let music = server.music.clone();
    // Give the watcher a moment to set its watches up.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Added, without any request.
    copy_keeping_mtime(
        &music.join("Tag Master/Everything Tagged/01 - Full MP3.mp3"),
        &music.join("Dropped In/new.mp3"),
    );
    eventually("the added song", || async {
        (song_count(&server, &token).await == 23).then_some(())
    })
    .await;
    assert_eq!(songs_titled(&server, &token, "Full MP3").await.len(), 2);

    // Changed: the copy's bytes replaced by another song.
    let copy = music.join("Dropped In/new.mp3");
    std::fs::copy(
        music.join("Various Artists/Various Hits/01 - Alice Song.mp3"),
        &copy,
    )
    .unwrap();
    set_mtime(&copy, 1_800_000_000);
    eventually("the changed song", || async {
        (songs_titled(&server, &token, "Alice Song").await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(songs_titled(&server, &token, "Full MP3").await.len(), 1);

    // Deleted.
    std::fs::remove_dir_all(music.join("Dropped In")).unwrap();
    eventually("the deleted song", || async {
        (song_count(&server, &token).await == 22).then_some(())
    })
    .await;

    // Moved: a folder, with nothing asked.
    move_folder_keeps_ids(&server, &token, 22, || async {}).await;

    // A moved single file keeps its id too.
    let id = one_song(&server, &token, "Bob Song").await["id"].clone();
    std::fs::rename(
        music.join("Various Artists/Various Hits/02 - Bob Song.flac"),
        music.join("untagged/Bob renamed.flac"),
    )
    .unwrap();
    let moved = eventually("the renamed file", || async {
        let song = one_song(&server, &token, "Bob Song").await;
        song["filename"]
            .as_str()
            .unwrap()
            .ends_with("Bob renamed.flac")
            .then_some(song)
    })
    .await;
    assert_eq!(moved["id"], id);
}

mod watcher {
    use super::*;
    crate::each_engine!(watcher_follows_the_disk);
}

/// Rewrites a file's tags with lofty, keeping its mtime, so that only a forced
/// reread (update_from_tags) can see the change.
fn retag(path: &Path, change: impl FnOnce(&mut lofty::tag::Tag)) {
    use lofty::config::WriteOptions;
    use lofty::prelude::*;
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    let mut file = lofty::read_from_path(path).unwrap();
    let tag = file.primary_tag_mut().unwrap();
    change(tag);
    tag.save_to_path(path, WriteOptions::default()).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

async fn artist_id(server: &TestServer, token: &str, name: &str) -> Option<String> {
    let doc = call(
        server,
        token,
        "artists",
        &[("filter", name), ("exact", "1")],
    )
    .await;
    doc.as_array()
        .unwrap_or_else(|| panic!("artists: {doc}"))
        .first()
        .map(|a| a["id"].as_str().unwrap().to_string())
}

on_both_engines!(
    update_from_tags_merges_and_splits,
    |server: TestServer| async move {
        use lofty::prelude::*;
        let token = server.admin_token().await;
        let music = server.music.clone();
        let alice = artist_id(&server, &token, "Alice Example").await.unwrap();
        let bob = artist_id(&server, &token, "Bob Example").await.unwrap();
        let various = one_song(&server, &token, "Bob Song").await["album"]["id"].clone();

        // Merge: Bob's only song now credits Alice; Bob is gone, Alice keeps her id.
        let bob_song = music.join("Various Artists/Various Hits/02 - Bob Song.flac");
        retag(&bob_song, |tag| tag.set_artist("Alice Example".into()));
        let song = one_song(&server, &token, "Bob Song").await;
        let song_id = song["id"].as_str().unwrap().to_string();
        // Unchanged size and mtime: a rescan would not read it again.
        let doc = call(
            &server,
            &token,
            "update_from_tags",
            &[("type", "song"), ("id", &song_id)],
        )
        .await;
        assert_eq!(
            doc,
            json!({ "success": format!("Updated tags for: {song_id} (song)") })
        );
        let song = one_song(&server, &token, "Bob Song").await;
        assert_eq!(song["id"], json!(song_id));
        assert_eq!(song["artist"]["id"], json!(alice));
        assert_eq!(artist_id(&server, &token, "Bob Example").await, None);
        let doc = call(&server, &token, "artist", &[("filter", &alice)]).await;
        assert_eq!(doc[0]["songcount"], json!(2), "{doc}");
        assert_error(
            &server,
            &[("action", "artist"), ("auth", &token), ("filter", &bob)],
            "404",
        )
        .await;

        // Split: Carol's song leaves the compilation for an album of her own, through
        // update_from_tags on the album; the compilation keeps its id and its other songs.
        let carol = music.join("Various Artists/Various Hits/03 - Carol Song.m4a");
        retag(&carol, |tag| {
            tag.set_album("Carol Alone".into());
            tag.insert_text(lofty::tag::ItemKey::AlbumArtist, "Carol Example".into());
            tag.remove_key(&lofty::tag::ItemKey::FlagCompilation);
        });
        let various_id = various.as_str().unwrap().to_string();
        let doc = call(
            &server,
            &token,
            "update_from_tags",
            &[("type", "album"), ("id", &various_id)],
        )
        .await;
        assert_eq!(
            doc,
            json!({ "success": format!("Updated tags for: {various_id} (album)") })
        );
        let carol_song = one_song(&server, &token, "Carol Song").await;
        assert_eq!(carol_song["album"]["name"], json!("Carol Alone"));
        assert_ne!(carol_song["album"]["id"], various);
        let doc = call(&server, &token, "album", &[("filter", &various_id)]).await;
        assert_eq!(doc[0]["songcount"], json!(2), "{doc}");
        assert_eq!(
            list_field(
                &server,
                &token,
                "albums",
                &[("filter", "Carol Alone")],
                "name"
            )
            .await,
            ["Carol Alone"]
        );

        // An artist: every file of theirs is read again; nothing changed, ids stay.
        let doc = call(
            &server,
            &token,
            "update_from_tags",
            &[("type", "artist"), ("id", &alice)],
        )
        .await;
        assert_eq!(
            doc,
            json!({ "success": format!("Updated tags for: {alice} (artist)") })
        );
        assert_eq!(
            artist_id(&server, &token, "Alice Example").await,
            Some(alice.clone())
        );

        // Errors: a bad type, an unknown object.
        assert_error(
            &server,
            &[
                ("action", "update_from_tags"),
                ("auth", &token),
                ("type", "playlist"),
                ("id", "1"),
            ],
            "401",
        )
        .await;
        let message = assert_error(
            &server,
            &[
                ("action", "update_from_tags"),
                ("auth", &token),
                ("type", "song"),
                ("id", "99999"),
            ],
            "404",
        )
        .await;
        assert_eq!(message, "The requested item was not found");
    }
);

on_both_engines!(catalog_file_and_access, |server: TestServer| async move {
    let admin = server.admin_token().await;
    let music = server.music.clone();

    // catalog_file: one file at a time, by its full path.
    let file = music.join("Extra/one.flac");
    copy_keeping_mtime(
        &music.join("Tag Master/Everything Tagged/02 - Full FLAC.flac"),
        &file,
    );
    let path = file.to_str().unwrap();
    let doc = call(
        &server,
        &admin,
        "catalog_file",
        &[("file", path), ("task", "add"), ("catalog", "1")],
    )
    .await;
    assert_eq!(
        doc,
        json!({ "success": format!("successfully started: add for {path}") })
    );
    eventually("the file added", || async {
        (song_count(&server, &admin).await == 23).then_some(())
    })
    .await;
    let doc = call(
        &server,
        &admin,
        "catalog_file",
        &[("file", path), ("task", "remove"), ("catalog", "1")],
    )
    .await;
    assert_eq!(
        doc,
        json!({ "success": format!("successfully started: remove for {path}") })
    );
    eventually("the file removed", || async {
        (song_count(&server, &admin).await == 22).then_some(())
    })
    .await;
    std::fs::remove_file(&file).unwrap();
    let outside = "/etc/passwd";
    assert_error(
        &server,
        &[
            ("action", "catalog_file"),
            ("auth", &admin),
            ("file", outside),
            ("task", "add"),
            ("catalog", "1"),
        ],
        "401",
    )
    .await;
    let sneaky = format!("{}/../../etc/x.mp3", music.display());
    assert_error(
        &server,
        &[
            ("action", "catalog_file"),
            ("auth", &admin),
            ("file", &sneaky),
            ("task", "add"),
            ("catalog", "1"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "catalog_file"),
            ("auth", &admin),
            ("file", path),
            ("task", "add"),
            ("catalog", "1"),
        ],
        "404",
    )
    .await;

    // catalog_action's errors, as the spec words them.
    let message = assert_error(
        &server,
        &[
            ("action", "catalog_action"),
            ("auth", &admin),
            ("task", "clean"),
            ("catalog", "1"),
        ],
        "401",
    )
    .await;
    assert_eq!(message, "Incorrect catalog task clean");
    let message = assert_error(
        &server,
        &[
            ("action", "catalog_action"),
            ("auth", &admin),
            ("task", "clean_catalog"),
            ("catalog", "42"),
        ],
        "404",
    )
    .await;
    assert_eq!(message, "The requested item was not found");
    assert_error(
        &server,
        &[
            ("action", "catalog_action"),
            ("auth", &admin),
            ("catalog", "1"),
        ],
        "401",
    )
    .await;

    // Non-managers are refused with the spec's error; a plain user still lists the
    // catalogs, without the progress figures.
    server
        .cli_with_env(
            &["user", "add", "plain", "--access", "user"],
            &[("TONEARM_PASSWORD", "plain pw")],
        )
        .unwrap();
    server
        .cli_with_env(
            &["user", "add", "content", "--access", "manager"],
            &[("TONEARM_PASSWORD", "content pw")],
        )
        .unwrap();
    let plain = server.login("plain", "plain pw").await;
    let content = server.login("content", "content pw").await;
    for (token, action, params) in [
        (
            &plain,
            "catalog_action",
            vec![("task", "add_to_catalog"), ("catalog", "1")],
        ),
        (
            &content,
            "catalog_action",
            vec![("task", "add_to_catalog"), ("catalog", "1")],
        ),
        (
            &plain,
            "update_from_tags",
            vec![("type", "song"), ("id", "1")],
        ),
        (
            &content,
            "update_from_tags",
            vec![("type", "song"), ("id", "1")],
        ),
        (
            &plain,
            "catalog_file",
            vec![("file", path), ("task", "add"), ("catalog", "1")],
        ),
    ] {
        let mut all = vec![("action", action), ("auth", token.as_str())];
        all.extend(params);
        let message = assert_error(&server, &all, "400").await;
        assert_eq!(message, "User does not have access to this function");
    }
    let list = call(&server, &plain, "catalogs", &[]).await;
    assert_eq!(list[0]["id"], json!("1"));
    assert!(list[0].get("scan_files_done").is_none(), "{list}");
});

/// Kills a process at the end of a test, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two processes watching the same catalogs on one database take turns through the
/// catalog's lease: a folder of new files is stored once, whoever sees it first.
async fn two_watchers_take_turns(engine: Engine) {
    let Some(server) = TestServer::start_with(
        engine,
        Options {
            serve_args: vec!["--watch".into()],
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let music = server.music.to_str().unwrap().to_string();
    let _second = KillOnDrop(server.spawn_cli(&[
        "serve",
        "--no-scan",
        "--watch",
        "--listen",
        "127.0.0.1:0",
        "--music",
        &music,
    ]));
    let token = server.admin_token().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let template = server
        .music
        .join("Orchestra Alpha/Double Feature/Disc 1/01 - Overture.mp3");
    let folder = server.music.join("Bulk");
    std::fs::create_dir_all(&folder).unwrap();
    for i in 0..30 {
        std::fs::copy(&template, folder.join(format!("{i:02}.mp3"))).unwrap();
    }
    eventually("the 30 new songs", || async {
        (song_count(&server, &token).await == 52).then_some(())
    })
    .await;
    // Both processes have passed over the folder by now; nothing doubled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(song_count(&server, &token).await, 52);
    assert_eq!(
        server
            .query_strings(
                "SELECT CAST(COUNT(*) AS TEXT) || '/' || CAST(COUNT(DISTINCT path) AS TEXT) FROM songs"
            )
            .await,
        ["52/52"]
    );
    let doc = call(&server, &token, "catalog", &[("filter", "1")]).await;
    assert_eq!(doc[0]["scan_task"], json!(""), "{doc}");
    assert!(
        doc[0]["last_result"]
            .as_str()
            .unwrap()
            .contains("files seen"),
        "{doc}"
    );
}

mod two_watchers {
    use super::*;
    crate::each_engine!(two_watchers_take_turns);
}
