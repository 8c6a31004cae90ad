//! Ratings, flags, plays and stats: per user, visible at once in items and stats.

use serde_json::{json, Value};

use crate::harness::*;
use crate::on_both_engines;

async fn song_id(server: &TestServer, token: &str, title: &str) -> String {
    let doc = call(server, token, "songs", &[("filter", title), ("exact", "1")]).await;
    doc[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{title}: {doc}"))
        .to_string()
}

on_both_engines!(
    ratings_and_flags_are_per_user,
    |server: TestServer| async move {
        let admin = server.admin_token().await;
        server
            .cli_with_env(&["user", "add", "bob"], &[("TONEARM_PASSWORD", "bob pw")])
            .unwrap();
        let bob = server.login("bob", "bob pw").await;
        let song = song_id(&server, &admin, "Bob Song").await;
        let album = call(&server, &admin, "albums", &[("filter", "Various Hits")]).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();

        let doc = call(
            &server,
            &admin,
            "rate",
            &[("type", "song"), ("id", &song), ("rating", "4")],
        )
        .await;
        assert_eq!(
            doc,
            json!({"success": format!("rating set to 4 for {song}")})
        );
        let xml = server
            .xml(&[
                ("action", "flag"),
                ("auth", &admin),
                ("type", "album"),
                ("id", &album),
                ("flag", "1"),
            ])
            .await;
        assert!(
            xml.text.contains(&format!("flag ADDED to {album}")),
            "{}",
            xml.text
        );

        // Visible at once in the admin's items...
        let item = &call(&server, &admin, "song", &[("filter", &song)]).await[0];
        assert_eq!(
            (
                item["rating"].clone(),
                item["preciserating"].clone(),
                item["averagerating"].clone()
            ),
            (json!(4), json!(4), json!(4.0))
        );
        assert_eq!(
            call(&server, &admin, "album", &[("filter", &album)]).await[0]["flag"],
            json!(1)
        );
        let xml = server
            .xml(&[("action", "song"), ("auth", &admin), ("filter", &song)])
            .await;
        assert!(xml.text.contains("<rating>4</rating>"), "{}", xml.text);
        // ...but not in Bob's, except the average.
        let item = &call(&server, &bob, "song", &[("filter", &song)]).await[0];
        assert_eq!(
            (item["rating"].clone(), item["averagerating"].clone()),
            (Value::Null, json!(4.0))
        );
        assert_eq!(
            call(&server, &bob, "album", &[("filter", &album)]).await[0]["flag"],
            json!(0)
        );
        call(
            &server,
            &bob,
            "rate",
            &[("type", "song"), ("id", &song), ("rating", "1")],
        )
        .await;
        assert_eq!(
            call(&server, &bob, "song", &[("filter", &song)]).await[0]["averagerating"],
            json!(2.5)
        );

        // Stats see them; another user's flags are theirs.
        let flagged = call(
            &server,
            &admin,
            "stats",
            &[("type", "album"), ("filter", "flagged")],
        )
        .await;
        assert_eq!(flagged[0]["name"], json!("Various Hits"));
        assert_error(
            &server,
            &[
                ("action", "stats"),
                ("auth", &bob),
                ("type", "album"),
                ("filter", "flagged"),
            ],
            "404",
        )
        .await;
        let flagged = call(
            &server,
            &bob,
            "stats",
            &[
                ("type", "album"),
                ("filter", "flagged"),
                ("username", ADMIN),
            ],
        )
        .await;
        assert_eq!(flagged[0]["name"], json!("Various Hits"));
        let highest = call(
            &server,
            &admin,
            "stats",
            &[("type", "song"), ("filter", "highest")],
        )
        .await;
        assert_eq!(highest[0]["title"], json!("Bob Song"));

        // 0 clears a rating; flag=0 clears a flag.
        call(
            &server,
            &admin,
            "rate",
            &[("type", "song"), ("id", &song), ("rating", "0")],
        )
        .await;
        assert_eq!(
            call(&server, &admin, "song", &[("filter", &song)]).await[0]["rating"],
            Value::Null
        );
        let doc = call(
            &server,
            &admin,
            "flag",
            &[("type", "album"), ("id", &album), ("flag", "0")],
        )
        .await;
        assert_eq!(
            doc,
            json!({"success": format!("flag REMOVED from {album}")})
        );

        // Refusals.
        let message = assert_error(
            &server,
            &[
                ("action", "rate"),
                ("auth", &admin),
                ("type", "song"),
                ("id", &song),
                ("rating", "6"),
            ],
            "401",
        )
        .await;
        assert_eq!(message, "Ratings must be between [0-5]. 6 is invalid");
        assert_error(
            &server,
            &[
                ("action", "rate"),
                ("auth", &admin),
                ("type", "video"),
                ("id", &song),
                ("rating", "3"),
            ],
            "401",
        )
        .await;
        assert_error(
            &server,
            &[
                ("action", "rate"),
                ("auth", &admin),
                ("type", "song"),
                ("id", "999999"),
                ("rating", "3"),
            ],
            "404",
        )
        .await;
        assert_error(
            &server,
            &[
                ("action", "rate"),
                ("auth", &admin),
                ("type", "song"),
                ("id", &song),
            ],
            "401",
        )
        .await;
        assert_error(
            &server,
            &[
                ("action", "flag"),
                ("auth", &admin),
                ("type", "song"),
                ("id", &song),
                ("flag", "2"),
            ],
            "401",
        )
        .await;

        // Everything written survives: another process reads the same.
        let second = server.second_process();
        let item = &second
            .json(&[("action", "song"), ("auth", &bob), ("filter", &song)])
            .await[0];
        assert_eq!(item["rating"], json!(1));
    }
);

on_both_engines!(plays_and_scrobbles_count, |server: TestServer| async move {
    let admin = server.admin_token().await;
    server
        .cli_with_env(&["user", "add", "carl"], &[("TONEARM_PASSWORD", "carl pw")])
        .unwrap();
    let carl = server.login("carl", "carl pw").await;
    let carl_id = server
        .query_strings("SELECT CAST(id AS TEXT) FROM users WHERE username = 'carl'")
        .await[0]
        .clone();
    let finale = song_id(&server, &admin, "Finale").await;
    let doc = call(
        &server,
        &carl,
        "record_play",
        &[("id", &finale), ("user", &carl_id), ("client", "test")],
    )
    .await;
    assert_eq!(
        doc,
        json!({"success": format!("successfully recorded play: {finale}")})
    );
    call(
        &server,
        &carl,
        "record_play",
        &[("id", &finale), ("user", &carl_id)],
    )
    .await;
    assert_eq!(
        call(&server, &carl, "song", &[("filter", &finale)]).await[0]["playcount"],
        json!(2)
    );
    // A scrobble by names, case-insensitively, with an old date.
    let old = (unix_now() - 30 * 86400).to_string();
    let doc = call(
        &server,
        &carl,
        "scrobble",
        &[
            ("song", "ADAGIO"),
            ("artist", "orchestra alpha"),
            ("album", "Double Feature"),
            ("date", &old),
        ],
    )
    .await;
    let adagio = song_id(&server, &admin, "Adagio").await;
    assert_eq!(
        doc,
        json!({"success": format!("successfully scrobbled: {adagio}")})
    );
    let message = assert_error(
        &server,
        &[
            ("action", "scrobble"),
            ("auth", &carl),
            ("song", "Nope"),
            ("artist", "x"),
            ("album", "y"),
        ],
        "401",
    )
    .await;
    assert_eq!(message, "Failed to scrobble: No item found!");
    // Stats: recent and frequent show Finale; forgotten shows the month-old Adagio.
    assert_eq!(
        call(
            &server,
            &carl,
            "stats",
            &[("type", "song"), ("filter", "recent")]
        )
        .await[0]["title"],
        json!("Finale")
    );
    assert_eq!(
        call(
            &server,
            &carl,
            "stats",
            &[("type", "song"), ("filter", "frequent")]
        )
        .await[0]["title"],
        json!("Finale")
    );
    let forgotten = call(
        &server,
        &carl,
        "stats",
        &[("type", "song"), ("filter", "forgotten")],
    )
    .await;
    assert_eq!(forgotten.as_array().unwrap().len(), 1);
    assert_eq!(forgotten[0]["title"], json!("Adagio"));
    assert_eq!(
        call(
            &server,
            &carl,
            "stats",
            &[("type", "album"), ("filter", "recent")]
        )
        .await[0]["name"],
        json!("Double Feature")
    );
    assert_eq!(
        call(
            &server,
            &carl,
            "stats",
            &[("type", "artist"), ("filter", "frequent")]
        )
        .await[0]["name"],
        json!("Orchestra Alpha")
    );
    // The admin played nothing: recent is empty for them, unless they ask about carl.
    assert_error(
        &server,
        &[
            ("action", "stats"),
            ("auth", &admin),
            ("type", "song"),
            ("filter", "recent"),
        ],
        "404",
    )
    .await;
    let recent = call(
        &server,
        &admin,
        "stats",
        &[
            ("type", "song"),
            ("filter", "recent"),
            ("user_id", &carl_id),
        ],
    )
    .await;
    assert_eq!(recent[0]["title"], json!("Finale"));
    // Recording for someone else needs an admin.
    let admin_id = server
        .query_strings("SELECT CAST(id AS TEXT) FROM users WHERE username = 'admin'")
        .await[0]
        .clone();
    assert_error(
        &server,
        &[
            ("action", "record_play"),
            ("auth", &carl),
            ("id", &finale),
            ("user", &admin_id),
        ],
        "400",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "record_play"),
            ("auth", &admin),
            ("id", &finale),
            ("user", "999999"),
        ],
        "404",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "record_play"),
            ("auth", &admin),
            ("id", "999999"),
            ("user", &admin_id),
        ],
        "404",
    )
    .await;
});

on_both_engines!(stats_filters, |server: TestServer| async move {
    let admin = server.admin_token().await;
    // newest, random: the whole library qualifies; the default limit is 10.
    for kind in ["song", "album", "artist"] {
        let newest = call(
            &server,
            &admin,
            "stats",
            &[("type", kind), ("filter", "newest")],
        )
        .await;
        let expected = if kind == "song" {
            10
        } else if kind == "album" {
            6
        } else {
            9
        };
        assert_eq!(
            newest.as_array().unwrap().len(),
            expected,
            "{kind}: {newest}"
        );
        let random = call(
            &server,
            &admin,
            "stats",
            &[("type", kind), ("filter", "random"), ("limit", "3")],
        )
        .await;
        assert_eq!(random.as_array().unwrap().len(), 3);
    }
    let page = call(
        &server,
        &admin,
        "stats",
        &[
            ("type", "song"),
            ("filter", "newest"),
            ("offset", "20"),
            ("limit", "5"),
        ],
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    // The legacy form: the filter in `type`, meaning albums.
    let legacy = call(&server, &admin, "stats", &[("type", "newest")]).await;
    assert!(legacy[0]["tracks"].is_number(), "{legacy}");
    let xml = server
        .xml(&[
            ("action", "stats"),
            ("auth", &admin),
            ("type", "artist"),
            ("filter", "newest"),
            ("limit", "2"),
        ])
        .await;
    assert_eq!(xml.field("total_count").unwrap(), "2");
    let message = assert_error(
        &server,
        &[
            ("action", "stats"),
            ("auth", &admin),
            ("type", "song"),
            ("filter", "flagged"),
        ],
        "404",
    )
    .await;
    assert_eq!(message, "No Results");
    assert_error(
        &server,
        &[
            ("action", "stats"),
            ("auth", &admin),
            ("type", "song"),
            ("filter", "loudest"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "stats"),
            ("auth", &admin),
            ("type", "video"),
            ("filter", "newest"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[("action", "stats"), ("auth", &admin), ("type", "song")],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "stats"),
            ("auth", &admin),
            ("type", "song"),
            ("filter", "newest"),
            ("username", "ghost"),
        ],
        "404",
    )
    .await;
});

/// PostgreSQL plans every song list's opinions on the statistics of ratings, flags
/// and plays; once one of them has changed as much as autovacuum waits for, the
/// server analyzes it within seconds instead of autovacuum's minute (with stale
/// statistics a 5000-song page took 115 ms instead of 35).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_opinion_tables_are_analyzed_once_they_changed() {
    let Some(server) = TestServer::start(Engine::Postgres).await else {
        return;
    };
    // Only the server may analyze: autovacuum is off for the table.
    server
        .query_strings("ALTER TABLE plays SET (autovacuum_enabled = false)")
        .await;
    let inserted = server
        .query_strings(
            "INSERT INTO plays (user_id, song_id, played_at, agent) \
             SELECT u.id, s.id, g, 'test' FROM users u, songs s, generate_series(1, 200) g \
             RETURNING CAST(id AS TEXT)",
        )
        .await;
    assert!(inserted.len() > 60, "{} plays", inserted.len());
    let changed_since_analysis = || async {
        server
            .query_strings(
                "SELECT CAST(n_mod_since_analyze AS TEXT) FROM pg_stat_user_tables \
                 WHERE relname = 'plays' AND schemaname = current_schema()",
            )
            .await[0]
            .parse::<usize>()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while changed_since_analysis().await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "plays not analyzed 20 s after {} rows were added",
            inserted.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // The plays count in the songs' answers, 200 by each user.
    let users: u64 = server
        .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM users")
        .await[0]
        .parse()
        .unwrap();
    let admin = server.admin_token().await;
    let songs = call(&server, &admin, "songs", &[("limit", "1")]).await;
    assert_eq!(songs[0]["playcount"], json!(200 * users));
}
