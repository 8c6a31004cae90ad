//! The scanner over the committed library: what it stores, what it skips, and how a
//! rescan treats changed, deleted, added and untouched files.

use std::path::Path;

use serde_json::json;

use crate::harness::*;
use crate::on_both_engines;

async fn counts(server: &TestServer) -> (i64, i64, i64, i64) {
    let token = server.admin_token().await;
    let doc = server.json(&[("action", "ping"), ("auth", &token)]).await;
    let get = |k: &str| doc[k].as_i64().unwrap_or_else(|| panic!("{k} in {doc}"));
    (get("songs"), get("albums"), get("artists"), get("tags"))
}

fn summary_line(output: &str) -> String {
    output
        .lines()
        .find(|l| l.starts_with("scan finished: "))
        .unwrap_or_else(|| panic!("no summary in {output}"))
        .to_string()
}

/// Moves a file's mtime so a rescan sees it as changed.
fn touch(path: &Path, seconds_after_epoch: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds_after_epoch))
        .unwrap();
}

on_both_engines!(
    library_is_stored_as_the_manifest_says,
    |server: TestServer| async move {
        assert_eq!(counts(&server).await, (22, 6, 9, 6));
        let one = |sql: &'static str| server.query_strings(sql);
        // Multi-disc: one album with two discs; compilation: one album under Various Artists.
        assert_eq!(one("SELECT CAST(song_count AS TEXT) || '/' || CAST(disc_count AS TEXT) FROM albums WHERE name = 'Double Feature'").await, ["4/2"]);
        assert_eq!(
        one("SELECT ar.name FROM albums al JOIN artists ar ON ar.id = al.album_artist_id WHERE al.name = 'Various Hits'").await,
        ["Various Artists"]
    );
        assert_eq!(
            one("SELECT CAST(song_count AS TEXT) FROM albums WHERE name = 'Various Hits'").await,
            ["3"]
        );
        assert_eq!(
            one("SELECT CAST(song_count AS TEXT) FROM albums WHERE name = 'Format Parade'").await,
            ["10"]
        );
        // Untagged: title from the file name, Unknown Artist / Unknown Album.
        assert_eq!(
        one("SELECT s.title || '|' || ar.name || '|' || al.name FROM songs s JOIN artists ar ON ar.id = s.artist_id JOIN albums al ON al.id = s.album_id WHERE s.path LIKE '%untagged%'").await,
        ["Some Untagged Song|Unknown Artist|Unknown Album"]
    );
        // Unicode survives.
        assert_eq!(
            one("SELECT title FROM songs WHERE title LIKE '%🎵%'").await,
            ["Emoji 🎵 Song"]
        );
        assert_eq!(
            one("SELECT name FROM albums WHERE name_folded = 'café ünïcødé'").await,
            ["Café Ünïcødé"]
        );
        // One genre per value: two GENRE comments, "Rock;Pop", and NUL-separated ID3 values.
        assert_eq!(
        one("SELECT g.name FROM song_genres sg JOIN genres g ON g.id = sg.genre_id JOIN songs s ON s.id = sg.song_id WHERE s.title = '日本語の歌' ORDER BY g.name").await,
        ["Jazz", "Rock"]
    );
        assert_eq!(
        one("SELECT g.name FROM song_genres sg JOIN genres g ON g.id = sg.genre_id JOIN songs s ON s.id = sg.song_id WHERE s.title = 'Emoji 🎵 Song' ORDER BY g.name").await,
        ["Pop", "Rock"]
    );
        assert_eq!(
        one("SELECT g.name FROM song_genres sg JOIN genres g ON g.id = sg.genre_id JOIN songs s ON s.id = sg.song_id WHERE s.title = 'Full MP3' ORDER BY g.name").await,
        ["Ambient", "Electronic"]
    );
        assert_eq!(
            one("SELECT CAST(song_count AS TEXT) FROM genres WHERE name = 'Electronic'").await,
            ["11"]
        );
        // Every field of the fully tagged files.
        assert_eq!(
        one("SELECT composer || '|' || comment || '|' || lyrics || '|' || mbid || '|' || album_mbid || '|' || artist_mbid || '|' || CAST(year AS TEXT) || '|' || CAST(track AS TEXT) || '/' || CAST(track_total AS TEXT) || '|' || CAST(disc AS TEXT) || '/' || CAST(disc_total AS TEXT) FROM songs WHERE title = 'Full MP3'").await,
        ["Clara Composer|An mp3 comment|First line of the mp3 lyrics\nSecond line|b2a9f5a0-1c1e-4c2a-9d3e-000000000001|c3b0a6b1-2d2f-4d3b-8e4f-000000000002|d4c1b7c2-3e30-4e4c-9f50-000000000003|2021|1/2|1/1"]
    );
        assert_eq!(
        one("SELECT CAST(rg_track_gain AS TEXT) || '|' || CAST(rg_album_gain AS TEXT) FROM songs WHERE title = 'Full FLAC'").await,
        ["-3.5|-5.1"]
    );
        assert_eq!(
            one("SELECT lyrics FROM songs WHERE title = 'Full FLAC'").await,
            ["First line of the flac lyrics\nSecond line"]
        );
        // Stream properties and mime types for every format.
        assert_eq!(
            one("SELECT mime FROM songs WHERE path LIKE '%Format Parade%' ORDER BY track").await,
            [
                "audio/mpeg",
                "audio/flac",
                "audio/ogg",
                "audio/ogg",
                "audio/mp4",
                "audio/mp4",
                "audio/wav",
                "audio/aiff",
                "audio/x-wavpack",
                "audio/x-ape"
            ]
        );
        assert_eq!(one("SELECT CAST(COUNT(*) AS TEXT) FROM songs WHERE duration < 0.9 OR sample_rate = 0 OR channels <> 1 OR bitrate <= 0 OR size <= 0").await, ["0"]);
        // Art: folder images, and embedded art when there is no folder image; once per album.
        assert_eq!(
        one("SELECT name || '|' || art_kind FROM albums WHERE art_kind IS NOT NULL ORDER BY name").await,
        ["Everything Tagged|embedded", "Format Parade|file", "Various Hits|file"]
    );
        assert_eq!(
            one("SELECT art_mime FROM albums WHERE name = 'Various Hits'").await,
            ["image/png"]
        );
        // The bad files are recorded with a reason and are not songs.
        let skipped = server.cli(&["catalog", "skipped"]).unwrap();
        let lines: Vec<&str> = skipped.lines().collect();
        assert_eq!(lines.len(), 3, "{skipped}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("empty.mp3") && l.contains("empty file")),
            "{skipped}"
        );
        assert!(
            lines.iter().any(|l| l.contains("corrupt.flac")),
            "{skipped}"
        );
        assert!(
            lines.iter().any(|l| l.contains("not-audio.mp3")),
            "{skipped}"
        );
    }
);

on_both_engines!(rescans, |server: TestServer| async move {
    let ids_before = server
        .query_strings("SELECT CAST(id AS TEXT) || path FROM songs ORDER BY id")
        .await;
    // Untouched library: nothing read, nothing written.
    let out = server.cli(&["scan"]).unwrap();
    assert!(
        summary_line(&out).starts_with(
            "scan finished: 25 files seen, 0 added, 0 updated, 0 removed, 0 skipped as bad"
        ),
        "{out}"
    );
    assert_eq!(counts(&server).await, (22, 6, 9, 6));

    // A full rescan rereads everything but duplicates nothing and keeps ids.
    let out = server.cli(&["scan", "--full"]).unwrap();
    assert!(summary_line(&out).contains("22 updated"), "{out}");
    assert_eq!(counts(&server).await, (22, 6, 9, 6));
    assert_eq!(
        server
            .query_strings("SELECT CAST(id AS TEXT) || path FROM songs ORDER BY id")
            .await,
        ids_before
    );

    // A changed file: the untagged song's bytes replaced by a tagged one.
    let music = server.music.clone();
    let untagged = music.join("untagged/Some Untagged Song.mp3");
    std::fs::copy(
        music.join("Various Artists/Various Hits/01 - Alice Song.mp3"),
        &untagged,
    )
    .unwrap();
    touch(&untagged, 1_800_000_000);
    let out = server.cli(&["scan"]).unwrap();
    assert!(
        summary_line(&out).contains("0 added, 1 updated, 0 removed"),
        "{out}"
    );
    // Unknown Album and Unknown Artist are gone; Various Hits has a fourth song.
    assert_eq!(counts(&server).await, (22, 5, 8, 6));
    assert_eq!(
        server
            .query_strings(
                "SELECT CAST(song_count AS TEXT) FROM albums WHERE name = 'Various Hits'"
            )
            .await,
        ["4"]
    );

    // A deleted file.
    std::fs::remove_file(music.join("Björk Ø/Café Ünïcødé/01 - 日本語の歌.flac")).unwrap();
    let out = server.cli(&["scan"]).unwrap();
    assert!(
        summary_line(&out).contains("0 added, 0 updated, 1 removed"),
        "{out}"
    );
    // Jazz was only on that song.
    assert_eq!(counts(&server).await, (21, 5, 8, 5));

    // An added file, in a new folder.
    std::fs::create_dir_all(music.join("new")).unwrap();
    std::fs::copy(
        music.join("Tag Master/Everything Tagged/02 - Full FLAC.flac"),
        music.join("new/copy.flac"),
    )
    .unwrap();
    // A bad file that became good.
    std::fs::copy(
        music.join("Tag Master/Everything Tagged/01 - Full MP3.mp3"),
        music.join("broken/not-audio.mp3"),
    )
    .unwrap();
    let out = server.cli(&["scan"]).unwrap();
    assert!(
        summary_line(&out).contains("2 added, 0 updated, 0 removed"),
        "{out}"
    );
    assert_eq!(counts(&server).await, (23, 5, 8, 5));
    assert_eq!(
        server
            .query_strings(
                "SELECT CAST(song_count AS TEXT) FROM albums WHERE name = 'Everything Tagged'"
            )
            .await,
        ["4"]
    );
    // A pass that only added songs adds to their genres' counts instead of counting
    // them again: the same numbers as counting.
    let stored = server
        .query_strings(
            "SELECT name || ' ' || CAST(song_count AS TEXT) || '/' || CAST(album_count AS TEXT) \
             || '/' || CAST(artist_count AS TEXT) FROM genres ORDER BY name",
        )
        .await;
    let counted = server
        .query_strings(
            "SELECT g.name || ' ' \
             || CAST((SELECT COUNT(*) FROM song_genres x WHERE x.genre_id = g.id) AS TEXT) || '/' \
             || CAST((SELECT COUNT(*) FROM album_genres x WHERE x.genre_id = g.id) AS TEXT) || '/' \
             || CAST((SELECT COUNT(*) FROM artist_genres x WHERE x.genre_id = g.id) AS TEXT) \
             FROM genres g ORDER BY g.name",
        )
        .await;
    assert_eq!(stored, counted);
    assert!(
        stored.iter().any(|row| row.starts_with("Electronic 12/")),
        "{stored:?}"
    );
    assert_eq!(
        server.cli(&["catalog", "skipped"]).unwrap().lines().count(),
        2
    );

    // Ids of untouched songs never changed through all of this.
    let ids_after = server
        .query_strings("SELECT CAST(id AS TEXT) || path FROM songs ORDER BY id")
        .await;
    for row in ids_before.iter().filter(|r| !r.contains("日本語")) {
        assert!(ids_after.contains(row), "{row} kept its id");
    }
});

on_both_engines!(
    interrupted_scan_is_finished_by_the_next,
    |server: TestServer| async move {
        // What a scan killed after writing a batch but before recounting leaves behind:
        // a dirty catalog and stale counts.
        server.sql("UPDATE catalogs SET dirty = 1").await;
        server.sql("UPDATE albums SET song_count = 0").await;
        server
            .sql("DELETE FROM songs WHERE path LIKE '%untagged%'")
            .await;
        let out = server.cli(&["scan"]).unwrap();
        assert!(summary_line(&out).contains("1 added"), "{out}");
        assert_eq!(counts(&server).await, (22, 6, 9, 6));
        assert_eq!(
            server
                .query_strings(
                    "SELECT CAST(song_count AS TEXT) FROM albums WHERE name = 'Format Parade'"
                )
                .await,
            ["10"]
        );
        assert_eq!(
            server
                .query_strings("SELECT CAST(dirty AS TEXT) FROM catalogs")
                .await,
            ["0"]
        );
    }
);

on_both_engines!(
    catalogs_are_not_duplicated,
    |server: TestServer| async move {
        let music = server.music.to_str().unwrap().to_string();
        server.cli(&["catalog", "add", &music]).unwrap();
        server
            .cli(&["catalog", "add", &format!("{music}/")])
            .unwrap();
        let list = server.cli(&["catalog", "list"]).unwrap();
        assert_eq!(list.lines().count(), 1, "{list}");
        let error = server
            .cli(&["catalog", "add", "/no/such/folder"])
            .unwrap_err();
        assert!(error.contains("/no/such/folder"), "{error}");
        let token = server.admin_token().await;
        let doc = server.json(&[("action", "ping"), ("auth", &token)]).await;
        assert_eq!(doc["catalogs"], json!(1));
    }
);

/// A scan killed with SIGKILL part-way leaves whole batches only, and the next scan
/// finishes the job without duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_scan_is_completed_by_the_next() {
    let server = TestServer::start_unscanned(Engine::Sqlite).await.unwrap();
    let template = server
        .music
        .join("Orchestra Alpha/Double Feature/Disc 1/01 - Overture.mp3");
    let bulk = server.music.join("bulk");
    for folder in 0..30 {
        let dir = bulk.join(format!("folder {folder:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for file in 0..100 {
            std::fs::copy(&template, dir.join(format!("{file:03}.mp3"))).unwrap();
        }
    }
    let mut scan = std::process::Command::new(env!("CARGO_BIN_EXE_tonearm"))
        .args(["scan", "--data"])
        .arg(server.data.path())
        .args(["--database", &server.database_url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the first batch is committed (or when it is done, on a fast machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let written = server
            .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM songs")
            .await;
        if written[0] != "0"
            || scan.try_wait().unwrap().is_some()
            || std::time::Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let _ = scan.kill();
    let _ = scan.wait();
    let partial: i64 = server
        .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM songs")
        .await[0]
        .parse()
        .unwrap();
    assert!(partial <= 3022, "{partial}");
    eprintln!("killed after {partial} songs were written");

    let out = server.cli(&["scan"]).unwrap();
    assert!(summary_line(&out).contains(" 3025 files seen"), "{out}");
    assert_eq!(server.query_strings("SELECT CAST(COUNT(*) AS TEXT) || '/' || CAST(COUNT(DISTINCT path) AS TEXT) FROM songs").await, ["3022/3022"]);
    assert_eq!(
        server
            .query_strings(
                "SELECT CAST(song_count AS TEXT) FROM albums WHERE name = 'Double Feature'"
            )
            .await,
        ["3004"]
    );
    assert_eq!(
        server
            .query_strings("SELECT CAST(dirty AS TEXT) FROM catalogs")
            .await,
        ["0"]
    );
    let out = server.cli(&["scan"]).unwrap();
    assert!(
        summary_line(&out).contains("0 added, 0 updated, 0 removed"),
        "{out}"
    );
}
