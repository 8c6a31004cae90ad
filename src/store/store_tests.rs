//! Store tests on a real SQLite file: the search compiler and the list queries,
//! without a server in front.

use std::collections::HashMap;
use std::path::Path;

use super::browse::{AlbumScope, ArtistScope, ListFilter, NameFilter, Page, SongScope};
use super::catalogs::CatalogKind;
use super::library::LibraryWriter;
use super::search::{Operator, Rule, Search, SearchType};
use super::Store;
use crate::model::{ScannedFile, TrackInfo};

/// A store on a new SQLite file holding `titles` as songs of one album, in order,
/// with years 2000, 2001, ...
async fn store_with(dir: &Path, titles: &[&str]) -> Store {
    let tracks = titles
        .iter()
        .enumerate()
        .map(|(i, title)| TrackInfo {
            title: title.to_string(),
            artists: vec!["Ærø Ensemble".into()],
            album: "Ünïcødé Album".into(),
            year: 2000 + i as i64,
            genres: vec!["Jazz".into()],
            duration: 60.0,
            mime: "audio/mpeg",
            ..TrackInfo::default()
        })
        .collect();
    store_of(dir, tracks).await
}

/// A store on a new SQLite file holding a song for each of `tracks`, in order.
async fn store_of(dir: &Path, tracks: Vec<TrackInfo>) -> Store {
    let store = Store::open(&Store::sqlite_url(dir)).await.unwrap();
    let music = dir.join("music");
    std::fs::create_dir_all(&music).unwrap();
    let catalog = store
        .ensure_catalog(&music, CatalogKind::Music, None)
        .await
        .unwrap();
    let files = tracks
        .into_iter()
        .enumerate()
        .map(|(i, info)| ScannedFile::Track {
            path: format!("{}/{i:03} {}.mp3", music.display(), info.title),
            size: 1000,
            mtime: 1,
            info: Box::new(info),
            folder_art: None,
        })
        .collect();
    LibraryWriter::new(store.clone(), catalog.id)
        .write(files, &HashMap::new(), &HashMap::new())
        .await
        .unwrap();
    store
}

fn rule(field: &str, operator: Operator, input: &str) -> Rule {
    Rule {
        field: field.into(),
        operator,
        input: input.into(),
        subtype: None,
    }
}

/// Runs one statement on the store, as another process's writer would.
async fn execute(store: &Store, sql: &str) -> u64 {
    store
        .db
        .execute(super::db::Sql::bound(sql, Vec::new()))
        .await
        .unwrap()
}

async fn titles(store: &Store, ids: &[i64]) -> Vec<String> {
    store
        .songs_by_ids(1, ids)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.title)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_compiler_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(
        dir.path(),
        &["Blue Train", "Ω Omega", "blues for two", "Red"],
    )
    .await;
    let search = |rules: Vec<Rule>, any: bool| Search {
        kind: SearchType::Song,
        rules,
        any,
        random: false,
    };
    let run = |search: Search| {
        let store = store.clone();
        async move { store.search_ids(1, false, &search, 0, 100).await.unwrap() }
    };
    // Substring, through the trigram index (3+ characters) and without (2).
    let ids = run(search(
        vec![rule("title", Operator::Contains, "BLUE")],
        false,
    ))
    .await
    .unwrap();
    assert_eq!(titles(&store, &ids).await, ["Blue Train", "blues for two"]);
    let ids = run(search(vec![rule("title", Operator::Contains, "ω")], false))
        .await
        .unwrap();
    assert_eq!(titles(&store, &ids).await, ["Ω Omega"]);
    // Not containing, and/or, numbers.
    let ids = run(search(
        vec![rule("title", Operator::NotContains, "blue")],
        false,
    ))
    .await
    .unwrap();
    assert_eq!(titles(&store, &ids).await, ["Ω Omega", "Red"]);
    let ids = run(search(
        vec![
            rule("title", Operator::Contains, "red"),
            rule("year", Operator::Equals, "2001"),
        ],
        true,
    ))
    .await
    .unwrap();
    assert_eq!(titles(&store, &ids).await, ["Ω Omega", "Red"]);
    let ids = run(search(vec![rule("year", Operator::AtLeast, "2002")], false))
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    // Non-ASCII capitals fold alike (the artist "Ærø Ensemble").
    let ids = run(search(
        vec![rule("artist", Operator::Is, "ÆRØ ENSEMBLE")],
        false,
    ))
    .await
    .unwrap();
    assert_eq!(ids.len(), 4);
    // Input that looks like SQL is only data; bad rules name their fault.
    let ids = run(search(
        vec![rule("title", Operator::Contains, "' OR 1=1 --")],
        false,
    ))
    .await
    .unwrap();
    assert!(ids.is_empty());
    assert!(run(search(
        vec![rule("loudness", Operator::Contains, "x")],
        false
    ))
    .await
    .is_err());
    assert!(
        run(search(vec![rule("year", Operator::Before, "1")], false))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("Song {i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let store = store_with(dir.path(), &refs).await;
    let page = |offset, limit| Page {
        offset,
        limit: Some(limit),
    };
    let all = SongScope::All(ListFilter::default());
    // Pages in title order, the same at any offset, and the last one short.
    let first = store.song_page_ids(&all, page(0, 10)).await.unwrap();
    assert_eq!(titles(&store, &first).await[0], "Song 00");
    let last = store.song_page_ids(&all, page(25, 10)).await.unwrap();
    assert_eq!(
        titles(&store, &last).await,
        ["Song 25", "Song 26", "Song 27", "Song 28", "Song 29"]
    );
    // A title filter through the index, and an exact one.
    let filter = |text: &str, exact| {
        SongScope::All(ListFilter {
            name: Some(NameFilter {
                text: text.into(),
                exact,
            }),
            ..ListFilter::default()
        })
    };
    let ids = store
        .song_page_ids(&filter("ong 1", false), Page::ALL)
        .await
        .unwrap();
    assert_eq!(ids.len(), 10);
    let ids = store
        .song_page_ids(&filter("song 07", true), Page::ALL)
        .await
        .unwrap();
    assert_eq!(titles(&store, &ids).await, ["Song 07"]);
    // songs_by_ids keeps the order asked for and repeats a repeated id.
    let ids = vec![first[2], first[0], first[2]];
    assert_eq!(
        titles(&store, &ids).await,
        ["Song 02", "Song 00", "Song 02"]
    );
    // Counts kept by the scan.
    let counts = store.library_counts().await.unwrap();
    assert_eq!((counts.songs, counts.albums, counts.artists), (30, 1, 1));
}

/// A timing test's database (a copy of a benchmark's, `TONEARM_TIMING_DB`) and
/// rounds (`TONEARM_TIMING_ROUNDS`, 5 unless set); `None` without a database.
async fn timing_setup() -> Option<(Store, usize)> {
    let path = std::env::var("TONEARM_TIMING_DB").ok()?;
    let store = Store::open(&format!("sqlite://{path}")).await.unwrap();
    let rounds = std::env::var("TONEARM_TIMING_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    Some((store, rounds))
}

/// Reads the songs of `ids` by id in chunks, as a song list does; how many.
async fn rows_by_id(store: &Store, ids: &[i64]) -> usize {
    let mut rows = 0;
    for chunk in ids.chunks(super::db::ID_CHUNK) {
        rows += store.songs_by_ids(1, chunk).await.unwrap().len();
    }
    rows
}

/// Times the store's half of a 5000-song page on a benchmark database (by hand:
/// `TONEARM_TIMING_DB=/tmp/tb-100k/data/tonearm.db cargo test --release --bin tonearm page_timing -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn page_timing() {
    let Some((store, rounds)) = timing_setup().await else {
        return;
    };
    let all = SongScope::All(ListFilter::default());
    for round in 0..rounds {
        let started = std::time::Instant::now();
        let ids = store
            .song_page_ids(
                &all,
                Page {
                    offset: 0,
                    limit: Some(5000),
                },
            )
            .await
            .unwrap();
        let ids_took = started.elapsed();
        let rows = rows_by_id(&store, &ids).await;
        let by_id = started.elapsed() - ids_took;
        let started = std::time::Instant::now();
        let mut from_index = 0;
        for chunk in ids.chunks(250) {
            from_index += store.songs_of_whole_list(1, chunk).await.unwrap().len();
        }
        assert_eq!(rows, from_index);
        println!(
            "round {round}: ids {ids_took:?}, {rows} rows by id in {by_id:?}, from the list's index in {:?}",
            started.elapsed()
        );
    }
}

/// The store's side of a `search_songs` answer (the ids, then their rows by id in
/// chunks), timed on a copy of a benchmark database
/// (`TONEARM_TIMING_DB=/tmp/q.db [TONEARM_TIMING_WORD=zephyr] cargo test --release
/// --lib search_timing -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn search_timing() {
    let Some((store, rounds)) = timing_setup().await else {
        return;
    };
    for round in 0..rounds {
        let started = std::time::Instant::now();
        let word = std::env::var("TONEARM_TIMING_WORD").unwrap_or("zephyr".into());
        let ids = store
            .song_page_ids(&SongScope::Search(word), Page::ALL)
            .await
            .unwrap();
        let ids_took = started.elapsed();
        let rows = rows_by_id(&store, &ids).await;
        let by_id = started.elapsed() - ids_took;
        println!("round {round}: search ids {ids_took:?}, {rows} rows by id in {by_id:?}");
    }
}

/// The whole song list's pages, served from memory on SQLite, follow every change at
/// once: a song added, disabled or retitled shows in the next page, however soon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_list_pages_follow_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &["Delta", "Alpha", "Charlie"]).await;
    let all = SongScope::All(ListFilter::default());
    let page = |offset, limit| Page {
        offset,
        limit: Some(limit),
    };
    let listed = |offset, limit| {
        let (store, all) = (store.clone(), all.clone());
        async move {
            let ids = store
                .song_page_ids(&all, page(offset, limit))
                .await
                .unwrap();
            titles(&store, &ids).await
        }
    };
    assert_eq!(listed(0, 10).await, ["Alpha", "Charlie", "Delta"]);
    assert_eq!(listed(1, 1).await, ["Charlie"]);
    let exec = |sql: &'static str| execute(&store, sql);
    exec("UPDATE songs SET title = 'Bravo', title_folded = 'bravo' WHERE title = 'Delta'").await;
    assert_eq!(listed(0, 10).await, ["Alpha", "Bravo", "Charlie"]);
    exec("UPDATE songs SET enabled = 0 WHERE title = 'Alpha'").await;
    assert_eq!(listed(0, 10).await, ["Bravo", "Charlie"]);
    exec("DELETE FROM songs WHERE title = 'Charlie'").await;
    assert_eq!(listed(0, 10).await, ["Bravo"]);
    // Past the pause between rebuilds, the copy in memory is rebuilt and used.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(listed(0, 10).await, ["Bravo"]);
    exec("UPDATE songs SET enabled = 1 WHERE title = 'Alpha'").await;
    assert_eq!(listed(0, 10).await, ["Alpha", "Bravo"]);
}

/// Songs read by id and by a stretch of the whole list carry each one's play count,
/// the caller's rating and flag and the average of every user's rating; a song listed
/// twice carries them twice, a song nobody touched carries none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn song_rows_carry_play_counts_and_opinions() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &["Alpha", "Bravo", "Charlie"]).await;
    let exec = |sql: &'static str| execute(&store, sql);
    exec(
        "INSERT INTO users (id, username, access, password_hash, created) VALUES \
         (7, 'ann', 100, 'x', 0), (8, 'ben', 25, 'y', 0), (9, 'cy', 25, 'z', 0)",
    )
    .await;
    exec(
        "INSERT INTO ratings (user_id, object_kind, object_id, rating, updated) \
         SELECT 7, 'song', id, 5, 0 FROM songs WHERE title = 'Alpha' \
         UNION ALL SELECT 8, 'song', id, 2, 0 FROM songs WHERE title = 'Alpha' \
         UNION ALL SELECT 9, 'song', id, 2, 0 FROM songs WHERE title = 'Alpha' \
         UNION ALL SELECT 8, 'song', id, 3, 0 FROM songs WHERE title = 'Bravo' \
         UNION ALL SELECT 7, 'album', album_id, 1, 0 FROM songs WHERE title = 'Charlie'",
    )
    .await;
    exec(
        "INSERT INTO flags (user_id, object_kind, object_id, created) \
         SELECT 7, 'song', id, 0 FROM songs WHERE title = 'Bravo' \
         UNION ALL SELECT 8, 'song', id, 0 FROM songs WHERE title = 'Alpha'",
    )
    .await;
    exec(
        "INSERT INTO plays (user_id, song_id, played_at) \
         SELECT 8, id, 1 FROM songs WHERE title = 'Alpha' \
         UNION ALL SELECT 9, id, 2 FROM songs WHERE title = 'Alpha' \
         UNION ALL SELECT 7, id, 3 FROM songs WHERE title = 'Charlie'",
    )
    .await;
    let all = SongScope::All(ListFilter::default());
    let ids = store.song_page_ids(&all, Page::ALL).await.unwrap();
    let summary = |songs: Vec<crate::model::SongRow>| -> Vec<String> {
        songs
            .into_iter()
            .map(|s| {
                format!(
                    "{} plays={} rating={:?} average={:?} flag={}",
                    s.title,
                    s.play_count,
                    s.opinion.rating,
                    s.opinion.average_rating,
                    s.opinion.flag
                )
            })
            .collect()
    };
    let expected = [
        "Alpha plays=2 rating=Some(5) average=Some(3.0) flag=false",
        "Bravo plays=0 rating=None average=Some(3.0) flag=true",
        "Charlie plays=1 rating=None average=None flag=false",
    ];
    assert_eq!(
        summary(store.songs_by_ids(7, &ids).await.unwrap()),
        expected
    );
    assert_eq!(
        summary(store.songs_of_whole_list(7, &ids).await.unwrap()),
        expected
    );
    assert_eq!(summary(batched(&store, 7, &ids).await), expected);
    // Another user sees the same counts and averages with their own rating and flag;
    // a song listed twice is given twice.
    let twice = [ids[0], ids[1], ids[0]];
    assert_eq!(
        summary(batched(&store, 8, &twice).await),
        summary(store.songs_by_ids(8, &twice).await.unwrap())
    );
    assert_eq!(
        summary(store.songs_by_ids(8, &twice).await.unwrap()),
        [
            "Alpha plays=2 rating=Some(2) average=Some(3.0) flag=true",
            "Bravo plays=0 rating=Some(3) average=Some(3.0) flag=false",
            "Alpha plays=2 rating=Some(2) average=Some(3.0) flag=true",
        ]
    );
}

/// A stretch of the whole list read through its index gives what reading by id
/// gives, when songs were retitled, disabled or added after the page's ids were read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_list_stretches_match_reading_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &["Echo", "Alpha", "Delta", "Charlie", "Bravo"]).await;
    let all = SongScope::All(ListFilter::default());
    let ids = store.song_page_ids(&all, Page::ALL).await.unwrap();
    let read = |ids: Vec<i64>| {
        let store = store.clone();
        async move {
            let by_range = store.songs_of_whole_list(1, &ids).await.unwrap();
            let by_id = store.songs_by_ids(1, &ids).await.unwrap();
            let summary = |songs: &[crate::model::SongRow]| -> Vec<String> {
                songs
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} {} {:?}",
                            s.title, s.artist.name, s.album.name, s.genres
                        )
                    })
                    .collect()
            };
            assert_eq!(summary(&by_range), summary(&by_id));
            by_range.into_iter().map(|s| s.title).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(ids.clone()).await,
        ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    );
    assert_eq!(
        read(ids[1..4].to_vec()).await,
        ["Bravo", "Charlie", "Delta"]
    );
    let exec = |sql: &'static str| execute(&store, sql);
    // Charlie leaves the stretch, Delta is disabled, a copy of Bravo is added in it.
    exec("UPDATE songs SET title = 'Zulu', title_folded = 'zulu' WHERE title = 'Charlie'").await;
    exec("UPDATE songs SET enabled = 0 WHERE title = 'Delta'").await;
    exec(
        "INSERT INTO songs (catalog_id, path, size, mtime, title, title_folded, artist_id, album_id, mime, created, updated) \
         SELECT catalog_id, path || '.copy', size, mtime, 'Bravo 2', 'bravo 2', artist_id, album_id, mime, created, updated \
         FROM songs WHERE title = 'Bravo'",
    )
    .await;
    assert_eq!(read(ids.clone()).await, ["Alpha", "Bravo", "Zulu", "Echo"]);
    assert_eq!(read(ids[1..4].to_vec()).await, ["Bravo", "Zulu"]);
    // The first id of the stretch gone: every row is read by id.
    exec("DELETE FROM songs WHERE title = 'Alpha'").await;
    assert_eq!(read(ids.clone()).await, ["Bravo", "Zulu", "Echo"]);
}

/// A search answered by the trigram index alone leaves disabled songs out, pages
/// after leaving them out, and shows them again once enabled; a needle too short for
/// the index (read from the song table) gives the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_leave_disabled_songs_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(
        dir.path(),
        &["Zephyr One", "Zephyr Two", "Other", "Zephyr Three"],
    )
    .await;
    let found = |word: &'static str, offset, limit| {
        let store = store.clone();
        async move {
            let page = Page { offset, limit };
            let ids = store
                .song_page_ids(&SongScope::Search(word.into()), page)
                .await
                .unwrap();
            let titles = titles(&store, &ids).await;
            // No id of a disabled song (which reading by id would drop).
            assert_eq!(ids.len(), titles.len());
            titles
        }
    };
    assert_eq!(
        found("zephyr", 0, None).await,
        ["Zephyr One", "Zephyr Two", "Zephyr Three"]
    );
    execute(
        &store,
        "UPDATE songs SET enabled = 0 WHERE title = 'Zephyr One'",
    )
    .await;
    assert_eq!(
        found("zephyr", 0, None).await,
        ["Zephyr Two", "Zephyr Three"]
    );
    assert_eq!(found("zephyr", 1, Some(1)).await, ["Zephyr Three"]);
    assert_eq!(found("ze", 0, None).await, ["Zephyr Two", "Zephyr Three"]);
    execute(
        &store,
        "UPDATE songs SET enabled = 1 WHERE title = 'Zephyr One'",
    )
    .await;
    assert_eq!(found("zephyr", 0, Some(1)).await, ["Zephyr One"]);
}

/// The songs of `ids` as [`Store::song_batches`] streams them, every batch at
/// most 100 songs.
async fn batched(store: &Store, user_id: i64, ids: &[i64]) -> Vec<crate::model::SongRow> {
    use futures_util::StreamExt;
    let mut batches = store.song_batches(user_id, ids);
    let mut songs = Vec::new();
    while let Some(batch) = batches.next().await {
        let batch = batch.unwrap();
        assert!(batch.len() <= 100, "a batch of {}", batch.len());
        songs.extend(batch);
    }
    songs
}

/// A search whose query reads the matching rows (here a needle too short for
/// SQLite's trigram index, as every search on PostgreSQL) hands the rows of its
/// first matches on with the ids: the same songs, in the same order, as reading
/// the ids and then the rows by id, at every offset and limit, past the number of
/// rows it holds (the rest by id) and with a disabled song among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_read_with_their_rows_match_reading_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..1800)
        .map(|n| format!("{} {n:04}", if n % 3 == 0 { "Other" } else { "Ab" }))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let store = store_with(dir.path(), &names).await;
    execute(
        &store,
        "UPDATE songs SET enabled = 0 WHERE title = 'Ab 0007'",
    )
    .await;
    let scope = SongScope::Search("ab".into());
    let pages = [
        (0, None),
        (0, Some(0)),
        (0, Some(10)),
        (0, Some(1000)),
        (0, Some(1001)),
        (0, Some(1002)),
        (3, None),
        (700, Some(400)),
        (1190, Some(10)),
        (1199, None),
    ];
    for (offset, limit) in pages {
        let page = Page { offset, limit };
        let ids = store.song_page_ids(&scope, page).await.unwrap();
        let expected = titles(&store, &ids).await;
        let found = store.song_page(&scope, page).await.unwrap();
        assert_eq!(found.ids, ids, "ids at {offset}, {limit:?}");
        assert!(found.read.len() <= 1001, "{} rows held", found.read.len());
        let held: Vec<i64> = found.read.iter().map(|song| song.id).collect();
        assert_eq!(held, ids[..held.len()], "held rows at {offset}, {limit:?}");
        let songs = store.songs(1, &scope, page).await.unwrap();
        let got: Vec<String> = songs.iter().map(|song| song.title.clone()).collect();
        assert_eq!(got, expected, "songs at {offset}, {limit:?}");
        // A chunk of them streamed in batches, a disabled song's id among them.
        let chunk = &ids[..ids.len().min(500)];
        let mut with_disabled = chunk.to_vec();
        with_disabled.push(8);
        with_disabled.sort_unstable();
        with_disabled.dedup();
        let streamed: Vec<String> = batched(&store, 1, &with_disabled)
            .await
            .into_iter()
            .map(|song| song.title)
            .collect();
        assert_eq!(
            streamed,
            titles(&store, chunk).await,
            "batches at {offset}, {limit:?}"
        );
        // Finished as rows read by id are: names and opinions filled in.
        assert!(songs
            .iter()
            .all(|song| &*song.album.name == "Ünïcødé Album"));
    }
    let all = store.songs(1, &scope, Page::ALL).await.unwrap();
    assert_eq!(all.len(), 1199);
    let found = store.song_page(&scope, Page::ALL).await.unwrap();
    assert_eq!((found.ids.len(), found.read.len()), (1199, 1001));
}

/// A song's genres come from the ids its row keeps (migration 15), its album's and
/// artist's from theirs (migration 16): each once, sorted by name, and replaced when
/// a rescan finds other tags, as the link tables are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genres_follow_their_tags() {
    let dir = tempfile::tempdir().unwrap();
    let track = |title: &str, genres: &[&str]| TrackInfo {
        title: title.into(),
        artists: vec!["Artist".into()],
        album: "Album".into(),
        genres: genres.iter().map(|g| g.to_string()).collect(),
        mime: "audio/mpeg",
        ..TrackInfo::default()
    };
    let store = store_of(
        dir.path(),
        vec![track("One", &["Rock", "Jazz", "Rock"]), track("Two", &[])],
    )
    .await;
    let names = |genres: Vec<crate::model::Named>| -> String {
        genres
            .into_iter()
            .map(|g| g.name)
            .collect::<Vec<_>>()
            .join(",")
    };
    // "title: genres" of each song, then of the album and of the artist.
    let genres = |store: Store| async move {
        let all = ListFilter::default();
        let ids = store
            .song_page_ids(&SongScope::All(all.clone()), Page::ALL)
            .await
            .unwrap();
        let songs = store.songs_by_ids(1, &ids).await.unwrap();
        let by_range = store.songs_of_whole_list(1, &ids).await.unwrap();
        assert_eq!(format!("{songs:?}"), format!("{by_range:?}"));
        let albums = store
            .albums(1, &AlbumScope::All(all.clone()), Page::ALL)
            .await
            .unwrap();
        let artists = store
            .artists(1, &ArtistScope::All(all), Page::ALL)
            .await
            .unwrap();
        let songs = songs.into_iter().map(|s| (s.title, names(s.genres)));
        let albums = albums.into_iter().map(|a| (a.name, names(a.genres)));
        let artists = artists.into_iter().map(|a| (a.name, names(a.genres)));
        songs
            .chain(albums)
            .chain(artists)
            .map(|(title, genres)| format!("{title}: {genres}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        genres(store.clone()).await,
        [
            "One: Jazz,Rock",
            "Two: ",
            "Album: Jazz,Rock",
            "Artist: Jazz,Rock"
        ]
    );
    // The same file, read again with another genre, as a rescan writes it.
    let catalog = store.catalogs().await.unwrap()[0].id;
    let known = store.known_files(catalog).await.unwrap();
    let path = format!("{}/000 One.mp3", dir.path().join("music").display());
    let file = ScannedFile::Track {
        path,
        size: 1000,
        mtime: 2,
        info: Box::new(track("One", &["Blues"])),
        folder_art: None,
    };
    LibraryWriter::new(store.clone(), catalog)
        .write(vec![file], &known, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(
        genres(store.clone()).await,
        ["One: Blues", "Two: ", "Album: Blues", "Artist: Blues"]
    );
}

/// Album and artist pages read as they stream, in batches along the list's index,
/// give what reading them whole gives: the same items in the same order, with their
/// genres and artist names, across several batches and at any offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_album_and_artist_pages_match_whole_ones() {
    use futures_util::TryStreamExt;
    let dir = tempfile::tempdir().unwrap();
    // More items than a batch (250), named out of id order.
    let tracks = (0..640)
        .map(|i| TrackInfo {
            title: format!("Song {i}"),
            artists: vec![format!("Artist {}", (i * 7919) % 640)],
            album: format!("Album {}", (i * 104729) % 640),
            year: 2000 + (i % 3) as i64,
            genres: vec![["Jazz", "Rock", "Ska"][i % 3].into(), "Soul".into()],
            duration: 60.0,
            mime: "audio/mpeg",
            ..TrackInfo::default()
        })
        .collect();
    let store = store_of(dir.path(), tracks).await;
    let pages = [
        (0, None),
        (0, Some(5000)),
        (100, Some(300)),
        (639, Some(10)),
        (700, Some(5)),
    ];
    for (offset, limit) in pages {
        let page = Page { offset, limit };
        for filter in [
            ListFilter::default(),
            ListFilter {
                name: Some(NameFilter {
                    text: "1".into(),
                    exact: false,
                }),
                ..ListFilter::default()
            },
        ] {
            let scope = AlbumScope::All(filter.clone());
            let whole = store.albums(1, &scope, page).await.unwrap();
            let streamed = store.album_batches(1, &scope, page).await.unwrap();
            assert_eq!(streamed.total, whole.len());
            let streamed: Vec<_> = streamed.batches.try_concat().await.unwrap();
            assert_eq!(format!("{streamed:?}"), format!("{whole:?}"));
            let scope = ArtistScope::All(filter);
            let whole = store.artists(1, &scope, page).await.unwrap();
            let streamed = store.artist_batches(1, &scope, page).await.unwrap();
            assert_eq!(streamed.total, whole.len());
            let streamed: Vec<_> = streamed.batches.try_concat().await.unwrap();
            assert_eq!(format!("{streamed:?}"), format!("{whole:?}"));
        }
    }
    let all = store
        .albums(1, &AlbumScope::All(ListFilter::default()), Page::ALL)
        .await
        .unwrap();
    assert_eq!(all.len(), 640);
    assert!(all
        .iter()
        .all(|album| album.genres.len() == 2 && !album.artist.name.is_empty()));
    // By artist: ordered by year, which no index gives (sorted, then streamed).
    let artist = all[17].artist.id;
    let scope = AlbumScope::Artist(artist);
    let whole = store.albums(1, &scope, Page::ALL).await.unwrap();
    let streamed = store.album_batches(1, &scope, Page::ALL).await.unwrap();
    let streamed: Vec<_> = streamed.batches.try_concat().await.unwrap();
    assert!(!whole.is_empty());
    assert_eq!(format!("{streamed:?}"), format!("{whole:?}"));
}
