//! Playlists: ownership and visibility, exact order, edits, generation.

use serde_json::json;

use crate::harness::*;
use crate::on_both_engines;

async fn titles(server: &TestServer, token: &str, playlist: &str) -> Vec<String> {
    list_field(
        server,
        token,
        "playlist_songs",
        &[("filter", playlist)],
        "title",
    )
    .await
}

async fn song_ids(server: &TestServer, token: &str) -> Vec<String> {
    list_field(server, token, "songs", &[], "id").await
}

on_both_engines!(playlist_lifecycle, |server: TestServer| async move {
    let admin = server.admin_token().await;
    server
        .cli_with_env(&["user", "add", "dana"], &[("TONEARM_PASSWORD", "dana pw")])
        .unwrap();
    let dana = server.login("dana", "dana pw").await;
    let ids = song_ids(&server, &admin).await; // by title: AAC Tone, Adagio, AIFF Tone, ALAC Tone, ...

    // Create: the new playlist comes back, in the spec's shape.
    let created = call(
        &server,
        &dana,
        "playlist_create",
        &[("name", "Road trip"), ("type", "private")],
    )
    .await;
    assert_eq!(created[0]["name"], json!("Road trip"));
    assert_eq!(
        (
            created[0]["owner"].clone(),
            created[0]["items"].clone(),
            created[0]["type"].clone()
        ),
        (json!("dana"), json!(0), json!("private"))
    );
    let keys: Vec<&str> = created[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "name", "owner", "items", "type"]);
    let road = created[0]["id"].as_str().unwrap().to_string();
    let xml = server
        .xml(&[
            ("action", "playlist_create"),
            ("auth", &dana),
            ("name", "Público ✓"),
            ("type", "public"),
        ])
        .await;
    assert!(
        xml.text.contains("<type><![CDATA[public]]></type>") && xml.text.contains("Público ✓"),
        "{}",
        xml.text
    );

    // Songs keep exactly the order they were added in, duplicates included.
    for id in [&ids[3], &ids[0], &ids[2], &ids[0]] {
        let doc = call(
            &server,
            &dana,
            "playlist_add_song",
            &[("filter", &road), ("song", id)],
        )
        .await;
        assert_eq!(doc, json!({"success": "song added to playlist"}));
    }
    assert_eq!(
        titles(&server, &dana, &road).await,
        ["ALAC Tone", "AAC Tone", "AIFF Tone", "AAC Tone"]
    );
    let message = assert_error(
        &server,
        &[
            ("action", "playlist_add_song"),
            ("auth", &dana),
            ("filter", &road),
            ("song", &ids[2]),
            ("check", "1"),
        ],
        "400",
    )
    .await;
    assert_eq!(message, "Can't add a duplicate item when check is enabled");
    assert_error(
        &server,
        &[
            ("action", "playlist_add_song"),
            ("auth", &dana),
            ("filter", &road),
            ("song", "999999"),
        ],
        "404",
    )
    .await;
    let songs = call(
        &server,
        &dana,
        "playlist_songs",
        &[("filter", &road), ("offset", "1"), ("limit", "2")],
    )
    .await;
    assert_eq!(songs[0]["playlisttrack"], json!(2));
    assert_eq!(songs[1]["title"], json!("AIFF Tone"));
    assert_eq!(
        call(&server, &dana, "playlist", &[("filter", &road)]).await[0]["items"],
        json!(4)
    );

    // Remove by song (every entry of it), by track, then renumbered.
    let doc = call(
        &server,
        &dana,
        "playlist_remove_song",
        &[("filter", &road), ("song", &ids[0])],
    )
    .await;
    assert_eq!(doc, json!({"success": "song removed from playlist"}));
    assert_eq!(
        titles(&server, &dana, &road).await,
        ["ALAC Tone", "AIFF Tone"]
    );
    call(
        &server,
        &dana,
        "playlist_remove_song",
        &[("filter", &road), ("track", "1")],
    )
    .await;
    assert_eq!(titles(&server, &dana, &road).await, ["AIFF Tone"]);
    assert_eq!(
        call(&server, &dana, "playlist_songs", &[("filter", &road)]).await[0]["playlisttrack"],
        json!(1)
    );
    let message = assert_error(
        &server,
        &[
            ("action", "playlist_remove_song"),
            ("auth", &dana),
            ("filter", &road),
            ("song", &ids[5]),
        ],
        "404",
    )
    .await;
    assert_eq!(message, "Song not found in playlist");
    let message = assert_error(
        &server,
        &[
            ("action", "playlist_remove_song"),
            ("auth", &dana),
            ("filter", &road),
            ("track", "9"),
        ],
        "404",
    )
    .await;
    assert_eq!(message, "Track ID not found in playlist");

    // Edit: many songs in one call, placed tracks, a new name; nothing → 401.
    let many: Vec<&str> = (0..1000).map(|i| ids[i % ids.len()].as_str()).collect();
    let doc = call(
        &server,
        &dana,
        "playlist_edit",
        &[("filter", &road), ("items", &many.join(","))],
    )
    .await;
    assert_eq!(doc, json!({"success": "playlist changes saved"}));
    assert_eq!(
        call(&server, &dana, "playlist", &[("filter", &road)]).await[0]["items"],
        json!(1001)
    );
    call(
        &server,
        &dana,
        "playlist_edit",
        &[
            ("filter", &road),
            ("items", &format!("{},{}", ids[1], ids[4])),
            ("tracks", "1,3"),
            ("name", "Road trip 2"),
            ("type", "public"),
        ],
    )
    .await;
    let list = titles(&server, &dana, &road).await;
    assert_eq!(&list[..3], ["Adagio", "AAC Tone", "Alice Song"]);
    let playlist = call(&server, &dana, "playlist", &[("filter", &road)]).await;
    assert_eq!(
        (playlist[0]["name"].clone(), playlist[0]["type"].clone()),
        (json!("Road trip 2"), json!("public"))
    );
    let message = assert_error(
        &server,
        &[
            ("action", "playlist_edit"),
            ("auth", &dana),
            ("filter", &road),
        ],
        "401",
    )
    .await;
    assert_eq!(message, "Nothing was changed");
    assert_error(
        &server,
        &[
            ("action", "playlist_edit"),
            ("auth", &dana),
            ("filter", &road),
            ("items", "1,x"),
        ],
        "401",
    )
    .await;
    let doc = call(
        &server,
        &dana,
        "playlist_remove_song",
        &[("filter", &road), ("clear", "1")],
    )
    .await;
    assert_eq!(doc, json!({"success": "all songs removed from playlist"}));
    assert_eq!(
        call(&server, &dana, "playlist_songs", &[("filter", &road)]).await,
        json!([])
    );

    // Another user's private playlist is invisible and untouchable; public ones are
    // visible, not editable; an admin sees and edits everything.
    let secret = call(
        &server,
        &dana,
        "playlist_create",
        &[("name", "Secret"), ("type", "private")],
    )
    .await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .cli_with_env(&["user", "add", "eli"], &[("TONEARM_PASSWORD", "eli pw")])
        .unwrap();
    let eli = server.login("eli", "eli pw").await;
    let visible: Vec<String> = call(&server, &eli, "playlists", &[])
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(visible, ["Público ✓", "Road trip 2"]);
    let message = assert_error(
        &server,
        &[("action", "playlist"), ("auth", &eli), ("filter", &secret)],
        "401",
    )
    .await;
    assert_eq!(message, "Access denied to this playlist");
    assert_error(
        &server,
        &[
            ("action", "playlist_songs"),
            ("auth", &eli),
            ("filter", &secret),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "playlist_add_song"),
            ("auth", &eli),
            ("filter", &road),
            ("song", &ids[0]),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "playlist_delete"),
            ("auth", &eli),
            ("filter", &road),
        ],
        "401",
    )
    .await;
    let ping = call(&server, &eli, "ping", &[]).await;
    assert_eq!(
        ping["playlists"],
        json!(2),
        "the handshake counts what playlists lists"
    );
    assert_eq!(
        call(&server, &admin, "playlists", &[])
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
    call(
        &server,
        &admin,
        "playlist_add_song",
        &[("filter", &secret), ("song", &ids[0])],
    )
    .await;
    assert_eq!(titles(&server, &dana, &secret).await, ["AAC Tone"]);
    assert_eq!(
        call(&server, &eli, "playlists", &[("filter", "road")])
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // get_indexes lists non-empty playlists.
    let xml = server
        .xml(&[
            ("action", "get_indexes"),
            ("auth", &admin),
            ("type", "playlist"),
        ])
        .await;
    assert!(
        xml.text.contains("<playlisttrack>1</playlisttrack>") && xml.text.contains("Secret"),
        "{}",
        xml.text
    );
    // Unknown and smart ids.
    assert_error(
        &server,
        &[
            ("action", "playlist"),
            ("auth", &dana),
            ("filter", "999999"),
        ],
        "404",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "playlist_songs"),
            ("auth", &dana),
            ("filter", "smart_3"),
        ],
        "404",
    )
    .await;

    // Delete; survives nothing.
    assert_eq!(
        call(&server, &dana, "playlist_delete", &[("filter", &secret)]).await,
        json!({"success": "playlist deleted"})
    );
    assert_error(
        &server,
        &[("action", "playlist"), ("auth", &dana), ("filter", &secret)],
        "404",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "playlist_create"),
            ("auth", &dana),
            ("type", "public"),
        ],
        "401",
    )
    .await;
});

on_both_engines!(playlist_generate, |server: TestServer| async move {
    let admin = server.admin_token().await;
    let songs = call(&server, &admin, "playlist_generate", &[]).await;
    assert_eq!(songs.as_array().unwrap().len(), 22);
    let songs = call(
        &server,
        &admin,
        "playlist_generate",
        &[("filter", "tone"), ("limit", "4")],
    )
    .await;
    assert_eq!(songs.as_array().unwrap().len(), 4);
    assert!(songs
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["title"].as_str().unwrap().contains("Tone")));
    let double = call(&server, &admin, "albums", &[("filter", "Double Feature")]).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = call(
        &server,
        &admin,
        "playlist_generate",
        &[("album", &double), ("format", "id")],
    )
    .await;
    assert_eq!(ids.as_array().unwrap().len(), 4);
    assert!(ids[0].is_i64(), "{ids}");
    let xml = server
        .xml(&[
            ("action", "playlist_generate"),
            ("auth", &admin),
            ("album", &double),
            ("format", "id"),
        ])
        .await;
    assert!(
        xml.text.contains("<id index=\"0\"><![CDATA[") && !xml.text.contains("total_count"),
        "{}",
        xml.text
    );
    let xml = server
        .xml(&[
            ("action", "playlist_generate"),
            ("auth", &admin),
            ("album", &double),
            ("format", "index"),
        ])
        .await;
    assert_eq!(xml.field("total_count").unwrap(), "4");
    assert!(!xml.text.contains("<url>"));
    // Modes against the caller's plays and flags.
    let first = ids[0].as_i64().unwrap().to_string();
    let admin_id = server
        .query_strings("SELECT CAST(id AS TEXT) FROM users WHERE username = 'admin'")
        .await[0]
        .clone();
    call(
        &server,
        &admin,
        "record_play",
        &[("id", &first), ("user", &admin_id)],
    )
    .await;
    let recent = call(
        &server,
        &admin,
        "playlist_generate",
        &[("mode", "recent"), ("format", "id")],
    )
    .await;
    assert_eq!(recent, json!([first.parse::<i64>().unwrap()]));
    let unplayed = call(
        &server,
        &admin,
        "playlist_generate",
        &[("mode", "unplayed"), ("format", "id")],
    )
    .await;
    assert_eq!(unplayed.as_array().unwrap().len(), 21);
    assert_eq!(
        call(
            &server,
            &admin,
            "playlist_generate",
            &[("mode", "forgotten")]
        )
        .await,
        json!([])
    );
    call(
        &server,
        &admin,
        "flag",
        &[("type", "song"), ("id", &first), ("flag", "1")],
    )
    .await;
    let flagged = call(
        &server,
        &admin,
        "playlist_generate",
        &[("flag", "1"), ("format", "id")],
    )
    .await;
    assert_eq!(flagged, json!([first.parse::<i64>().unwrap()]));
    assert_error(
        &server,
        &[
            ("action", "playlist_generate"),
            ("auth", &admin),
            ("format", "csv"),
        ],
        "401",
    )
    .await;
});

on_both_engines!(smart_playlists, |server: TestServer| async move {
    let admin = server.admin_token().await;
    server
        .cli_with_env(&["user", "add", "hal"], &[("TONEARM_PASSWORD", "pw")])
        .unwrap();
    let hal = server.login("hal", "pw").await;
    let out = server
        .cli(&[
            "smartlist",
            "add",
            "Orchestra A",
            "--user",
            "admin",
            "--public",
            "--rule",
            "artist:0:orchestra",
            "--rule",
            "title:2:a",
        ])
        .unwrap();
    assert!(out.contains("smart_1"), "{out}");
    server
        .cli(&[
            "smartlist",
            "add",
            "Mine",
            "--user",
            "admin",
            "--rule",
            "year:2:2019",
            "--limit",
            "3",
        ])
        .unwrap();
    assert!(server
        .cli(&[
            "smartlist",
            "add",
            "Bad",
            "--user",
            "admin",
            "--rule",
            "loudness:0:x"
        ])
        .is_err());
    assert!(server
        .cli(&[
            "smartlist",
            "add",
            "Bad",
            "--user",
            "admin",
            "--rule",
            "title"
        ])
        .is_err());

    // Listed after the regular playlists, with smart_ ids; private ones only for the owner.
    call(
        &server,
        &admin,
        "playlist_create",
        &[("name", "Zed"), ("type", "public")],
    )
    .await;
    let lists = call(&server, &admin, "playlists", &[]).await;
    let ids: Vec<&str> = lists
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[0].parse::<i64>().is_ok());
    assert_eq!(
        &ids[1..],
        ["smart_2", "smart_1"],
        "smart lists by name: Mine, Orchestra A"
    );
    assert_eq!(lists[2]["owner"], json!("public"));
    let hal_lists = call(&server, &hal, "playlists", &[]).await;
    assert_eq!(hal_lists.as_array().unwrap().len(), 2);
    assert_eq!(
        call(&server, &hal, "ping", &[]).await["playlists"],
        json!(2)
    );
    assert_error(
        &server,
        &[
            ("action", "playlist"),
            ("auth", &hal),
            ("filter", "smart_2"),
        ],
        "401",
    )
    .await;

    // playlist and playlist_songs take smart_ ids; the list's limit caps it.
    let one = call(&server, &hal, "playlist", &[("filter", "smart_1")]).await;
    assert_eq!(one[0]["name"], json!("Orchestra A"));
    let mut found = titles(&server, &hal, "smart_1").await;
    found.sort();
    assert_eq!(found, ["Adagio", "Allegro"]);
    assert_eq!(
        call(&server, &admin, "playlist_songs", &[("filter", "smart_2")])
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let page = call(
        &server,
        &admin,
        "playlist_songs",
        &[("filter", "smart_2"), ("offset", "2"), ("limit", "5")],
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["playlisttrack"], json!(3));
    // Read-only: the editing methods refuse them.
    assert_error(
        &server,
        &[
            ("action", "playlist_add_song"),
            ("auth", &admin),
            ("filter", "smart_1"),
            ("song", "1"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "playlist_delete"),
            ("auth", &admin),
            ("filter", "smart_1"),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[
            ("action", "playlist"),
            ("auth", &admin),
            ("filter", "smart_99"),
        ],
        "404",
    )
    .await;
    // In indexes, in searches, and with art.
    let xml = server
        .xml(&[
            ("action", "get_indexes"),
            ("auth", &admin),
            ("type", "playlist"),
        ])
        .await;
    assert!(
        xml.text.contains("<playlist id=\"smart_1\">"),
        "{}",
        xml.text
    );
    let in_list = call(
        &server,
        &admin,
        "advanced_search",
        &[
            ("rule_1", "smartplaylist"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "smart_1"),
        ],
    )
    .await;
    assert_eq!(in_list.as_array().unwrap().len(), 2);
    let not_in = call(
        &server,
        &admin,
        "advanced_search",
        &[
            ("rule_1", "smartplaylist"),
            ("rule_1_operator", "1"),
            ("rule_1_input", "1"),
        ],
    )
    .await;
    assert_eq!(not_in.as_array().unwrap().len(), 20);
    assert_error(
        &server,
        &[
            ("action", "advanced_search"),
            ("auth", &admin),
            ("rule_1", "smartplaylist"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "smart_99"),
        ],
        "401",
    )
    .await;
    let response = server
        .client
        .get(format!(
            "{}/server/json.server.php?action=get_art&type=search&id=smart_1&auth={admin}",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Double Feature has no art: a 404 error document, not a broken image.
    let body = response.text().await.unwrap();
    assert!(body.contains("\"404\""), "{body}");
    server.cli(&["smartlist", "remove", "2"]).unwrap();
    assert_eq!(
        server.cli(&["smartlist", "list"]).unwrap().lines().count(),
        1
    );
});

// Stored rules that cannot be read are an error, never "every song".
on_both_engines!(
    unreadable_smart_rules_are_an_error,
    |server: TestServer| async move {
        let admin = server.admin_token().await;
        server
            .cli(&[
                "smartlist",
                "add",
                "Jazz",
                "--user",
                "admin",
                "--rule",
                "title:0:tone",
            ])
            .unwrap();
        let good = call(&server, &admin, "playlist_songs", &[("filter", "smart_1")]).await;
        let good_count = good.as_array().map_or(0, Vec::len);
        assert!(good_count > 0, "{good}");
        server
            .sql("UPDATE smart_playlists SET rules = 'not json'")
            .await;
        let broken = call(&server, &admin, "playlist_songs", &[("filter", "smart_1")]).await;
        assert!(broken.as_array().is_none(), "no list: {broken}");
        assert_eq!(broken["error"]["code"], json!("400"), "{broken}");
        assert!(
            broken["error"]["message"]
                .as_str()
                .unwrap()
                .contains("smart playlist 1"),
            "{broken}"
        );
    }
);
