//! advanced_search: rules per type, and/or, operators, refusals.

use serde_json::{json, Value};

use crate::harness::*;
use crate::on_both_engines;

async fn search(server: &TestServer, token: &str, extra: &[(&str, &str)]) -> Value {
    let mut params = vec![("action", "advanced_search"), ("auth", token)];
    params.extend_from_slice(extra);
    server.json(&params).await
}

fn names(doc: &Value, field: &str) -> Vec<String> {
    let mut list: Vec<String> = doc
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect();
    list.sort();
    list
}

on_both_engines!(advanced_search_per_type, |server: TestServer| async move {
    let token = server.admin_token().await;
    let t = token.as_str();
    // Songs: text operators.
    let rule = |field: &'static str, op: &'static str, input: &'static str| {
        [
            ("rule_1", field),
            ("rule_1_operator", op),
            ("rule_1_input", input),
        ]
    };
    assert_eq!(
        search(&server, t, &rule("title", "0", "tone"))
            .await
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("title", "2", "full")).await,
            "title"
        ),
        ["Full FLAC", "Full MP3"]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("title", "3", "SONG")).await,
            "title"
        ),
        [
            "Alice Song",
            "Bob Song",
            "Carol Song",
            "Emoji 🎵 Song",
            "Some Untagged Song"
        ]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("title", "4", "adagio")).await,
            "title"
        ),
        ["Adagio"]
    );
    assert_eq!(
        search(&server, t, &rule("title", "5", "adagio"))
            .await
            .as_array()
            .unwrap()
            .len(),
        21
    );
    assert_eq!(
        search(&server, t, &rule("title", "1", "tone"))
            .await
            .as_array()
            .unwrap()
            .len(),
        12
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("name", "4", "finale")).await,
            "title"
        ),
        ["Finale"],
        "name is title"
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("artist", "0", "björk")).await,
            "title"
        ),
        ["Emoji 🎵 Song", "日本語の歌"]
    );
    assert_eq!(
        search(&server, t, &rule("album", "4", "double feature"))
            .await
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("tag", "4", "jazz")).await,
            "title"
        ),
        ["日本語の歌"]
    );
    assert_eq!(
        search(&server, t, &rule("composer", "0", "johann"))
            .await
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("lyrics", "0", "second line")).await,
            "title"
        ),
        ["Full FLAC", "Full MP3"]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("file", "0", "untagged")).await,
            "title"
        ),
        ["Some Untagged Song"]
    );
    assert_eq!(
        search(&server, t, &rule("anywhere", "0", "orchestra"))
            .await
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Numbers, dates, booleans.
    assert_eq!(
        search(&server, t, &rule("year", "2", "2019"))
            .await
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        search(&server, t, &rule("year", "4", "2020"))
            .await
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        search(&server, t, &rule("year", "5", "1"))
            .await
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the untagged song has no year"
    );
    assert_eq!(
        search(&server, t, &rule("added", "1", "2000-01-01"))
            .await
            .as_array()
            .unwrap()
            .len(),
        22
    );
    assert_eq!(
        search(&server, t, &rule("added", "0", "2000-01-01")).await,
        json!([])
    );
    assert_eq!(
        search(&server, t, &rule("played", "0", "")).await,
        json!([])
    );
    assert_eq!(
        search(&server, t, &rule("played", "1", ""))
            .await
            .as_array()
            .unwrap()
            .len(),
        22
    );
    assert_eq!(
        search(&server, t, &rule("recent_added", "0", "3"))
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A rating and a play show up in the rules at once.
    let finale = search(&server, t, &rule("title", "4", "finale")).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .json(&[
            ("action", "rate"),
            ("auth", t),
            ("type", "song"),
            ("id", &finale),
            ("rating", "5"),
        ])
        .await;
    server
        .json(&[("action", "record_play"), ("auth", t), ("id", &finale)])
        .await;
    assert_eq!(
        names(
            &search(&server, t, &rule("myrating", "0", "4")).await,
            "title"
        ),
        ["Finale"]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("played_times", "4", "0")).await,
            "title"
        ),
        ["Finale"]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("last_play", "1", "1")).await,
            "title"
        ),
        ["Finale"]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("myplayedalbum", "0", "")).await,
            "title"
        ),
        ["Adagio", "Allegro", "Finale", "Overture"]
    );
    let admin_id = server
        .query_strings("SELECT CAST(id AS TEXT) FROM users WHERE username = 'admin'")
        .await[0]
        .clone();
    let other = [
        ("rule_1", "other_user"),
        ("rule_1_operator", "1"),
        ("rule_1_input", admin_id.as_str()),
    ];
    assert_eq!(
        names(&search(&server, t, &other).await, "title"),
        ["Finale"],
        "rated 5 by that user"
    );

    // and / or, with gaps in the numbering.
    let and = [
        ("rule_1", "artist"),
        ("rule_1_operator", "0"),
        ("rule_1_input", "orchestra"),
        ("rule_3", "title"),
        ("rule_3_operator", "2"),
        ("rule_3_input", "a"),
    ];
    assert_eq!(
        names(&search(&server, t, &and).await, "title"),
        ["Adagio", "Allegro"]
    );
    let mut or = and.to_vec();
    or.push(("operator", "or"));
    assert_eq!(
        search(&server, t, &or).await.as_array().unwrap().len(),
        8,
        "4 by the orchestra + AAC, AIFF, ALAC, Alice"
    );
    // Paging and random.
    let page = search(
        &server,
        t,
        &[
            ("rule_1", "title"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "tone"),
            ("offset", "8"),
            ("limit", "5"),
        ],
    )
    .await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["playlisttrack"], json!(9));
    let random = search(
        &server,
        t,
        &[
            ("rule_1", "title"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "tone"),
            ("random", "1"),
        ],
    )
    .await;
    assert_eq!(random.as_array().unwrap().len(), 10);

    // Albums, artists, playlists, users, videos.
    let albums = search(
        &server,
        t,
        &[
            ("type", "album"),
            ("rule_1", "title"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "feature"),
        ],
    )
    .await;
    assert_eq!(names(&albums, "name"), ["Double Feature"]);
    assert!(albums[0]["tracks"].is_number());
    let albums = search(
        &server,
        t,
        &[
            ("type", "album"),
            ("rule_1", "has_image"),
            ("rule_1_operator", "0"),
            ("rule_1_input", ""),
        ],
    )
    .await;
    assert_eq!(
        names(&albums, "name"),
        ["Everything Tagged", "Format Parade", "Various Hits"]
    );
    let albums = search(
        &server,
        t,
        &[
            ("type", "album"),
            ("rule_1", "artist"),
            ("rule_1_operator", "4"),
            ("rule_1_input", "various artists"),
        ],
    )
    .await;
    assert_eq!(names(&albums, "name"), ["Various Hits"]);
    let artists = search(
        &server,
        t,
        &[
            ("type", "artist"),
            ("rule_1", "tag"),
            ("rule_1_operator", "4"),
            ("rule_1_input", "pop"),
        ],
    )
    .await;
    assert_eq!(
        names(&artists, "name"),
        ["Alice Example", "Björk Ø", "Bob Example", "Carol Example"]
    );
    let artists = search(
        &server,
        t,
        &[
            ("type", "artist"),
            ("rule_1", "title"),
            ("rule_1_operator", "2"),
            ("rule_1_input", "the"),
        ],
    )
    .await;
    assert_eq!(names(&artists, "name"), ["The Testers"]);
    server
        .json(&[
            ("action", "playlist_create"),
            ("auth", t),
            ("name", "Sunday"),
            ("type", "public"),
        ])
        .await;
    let lists = search(
        &server,
        t,
        &[
            ("type", "playlist"),
            ("rule_1", "title"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "sun"),
        ],
    )
    .await;
    assert_eq!(names(&lists, "name"), ["Sunday"]);
    let users = search(
        &server,
        t,
        &[
            ("type", "user"),
            ("rule_1", "username"),
            ("rule_1_operator", "4"),
            ("rule_1_input", "ADMIN"),
        ],
    )
    .await;
    assert_eq!(users[0]["user"][0]["username"], json!("admin"));
    let videos = search(
        &server,
        t,
        &[
            ("type", "video"),
            ("rule_1", "title"),
            ("rule_1_operator", "0"),
            ("rule_1_input", "x"),
        ],
    )
    .await;
    assert_eq!(videos, json!([]));

    // XML: a song list.
    let xml = server
        .xml(&[
            ("action", "advanced_search"),
            ("auth", t),
            ("rule_1", "title"),
            ("rule_1_operator", "4"),
            ("rule_1_input", "finale"),
        ])
        .await;
    assert_eq!(xml.field("total_count").unwrap(), "1");
    // The later name of the method.
    let doc = server
        .json(&[
            ("action", "search"),
            ("auth", t),
            ("rule_1", "title"),
            ("rule_1_operator", "4"),
            ("rule_1_input", "finale"),
        ])
        .await;
    assert_eq!(doc[0]["title"], json!("Finale"));

    // Refusals: unknown field, operator, type; bad input; no rules.
    for (params, code) in [
        (
            vec![
                ("rule_1", "loudness"),
                ("rule_1_operator", "0"),
                ("rule_1_input", "x"),
            ],
            "401",
        ),
        (
            vec![
                ("rule_1", "title"),
                ("rule_1_operator", "12"),
                ("rule_1_input", "x"),
            ],
            "401",
        ),
        (
            vec![
                ("rule_1", "year"),
                ("rule_1_operator", "6"),
                ("rule_1_input", "1"),
            ],
            "401",
        ),
        (
            vec![
                ("rule_1", "year"),
                ("rule_1_operator", "0"),
                ("rule_1_input", "soon"),
            ],
            "401",
        ),
        (
            vec![
                ("rule_1", "year"),
                ("rule_1_operator", "x"),
                ("rule_1_input", "1"),
            ],
            "401",
        ),
        (vec![("rule_1", "title"), ("rule_1_input", "1")], "401"),
        (
            vec![
                ("type", "podcast"),
                ("rule_1", "title"),
                ("rule_1_operator", "0"),
                ("rule_1_input", "x"),
            ],
            "401",
        ),
        (
            vec![
                ("type", "album"),
                ("rule_1", "composer"),
                ("rule_1_operator", "0"),
                ("rule_1_input", "x"),
            ],
            "401",
        ),
        (
            vec![
                ("operator", "xor"),
                ("rule_1", "title"),
                ("rule_1_operator", "0"),
                ("rule_1_input", "x"),
            ],
            "401",
        ),
        (vec![("type", "song")], "401"),
    ] {
        let mut all = vec![("action", "advanced_search"), ("auth", t)];
        all.extend(params);
        assert_error(&server, &all, code).await;
    }
    // Sounds like and regular expressions, alone and with other rules.
    assert_eq!(
        names(
            &search(&server, t, &rule("title", "6", "Finali")).await,
            "title"
        ),
        ["Finale"]
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("title", "6", "adajio")).await,
            "title"
        ),
        ["Adagio"]
    );
    assert_eq!(
        search(&server, t, &rule("title", "7", "Finali"))
            .await
            .as_array()
            .unwrap()
            .len(),
        21
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("title", "8", "^a.*TONE$")).await,
            "title"
        ),
        ["AAC Tone", "AIFF Tone", "ALAC Tone"]
    );
    assert_eq!(
        search(&server, t, &rule("title", "9", "tone"))
            .await
            .as_array()
            .unwrap()
            .len(),
        12
    );
    assert_eq!(
        names(
            &search(&server, t, &rule("artist", "8", "^orch")).await,
            "title"
        ),
        ["Adagio", "Allegro", "Finale", "Overture"]
    );
    let mixed = [
        ("rule_1", "title"),
        ("rule_1_operator", "8"),
        ("rule_1_input", "^a"),
        ("rule_2", "year"),
        ("rule_2_operator", "2"),
        ("rule_2_input", "2019"),
        ("limit", "1"),
    ];
    assert_eq!(
        search(&server, t, &mixed).await.as_array().unwrap().len(),
        1
    );
    let mut mixed_or = mixed[..6].to_vec();
    mixed_or.push(("operator", "or"));
    assert_eq!(
        search(&server, t, &mixed_or)
            .await
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_error(
        &server,
        &[
            ("action", "advanced_search"),
            ("auth", t),
            ("rule_1", "title"),
            ("rule_1_operator", "8"),
            ("rule_1_input", "(unclosed"),
        ],
        "401",
    )
    .await;
    // Input that looks like SQL is only ever data.
    let sneaky = search(&server, t, &rule("title", "0", "x' OR '1'='1")).await;
    assert_eq!(sneaky, json!([]));
});

/// Adds tags to two files of the server's copy of the library and gives the Format
/// Parade album a 100 x 50 cover, then rescans.
fn retag_library(server: &TestServer) {
    use lofty::config::WriteOptions;
    use lofty::prelude::*;
    let album = server.music.join("The Testers/Format Parade");
    let tag = |file: &str, items: &[(ItemKey, &str)]| {
        let path = album.join(file);
        let mut tagged = lofty::read_from_path(&path).unwrap();
        let tag = tagged.primary_tag_mut().unwrap();
        for (key, value) in items {
            assert!(tag.insert_text(key.clone(), value.to_string()), "{key:?}");
        }
        tag.save_to_path(&path, WriteOptions::default()).unwrap();
    };
    // A custom ID3v2 field (TXXX:ENERGY), which the generic tag cannot write.
    let custom_id3 = |file: &str, description: &str, value: &str| {
        let path = album.join(file);
        let tagged = lofty::read_from_path(&path).unwrap();
        let mut id3: lofty::id3::v2::Id3v2Tag = tagged.primary_tag().unwrap().clone().into();
        id3.insert_user_text(description.to_string(), value.to_string());
        id3.save_to_path(&path, WriteOptions::default()).unwrap();
    };
    tag(
        "02 - FLAC Tone.flac",
        &[
            (ItemKey::Label, "Warp Records"),
            (ItemKey::Bpm, "128"),
            (ItemKey::Mood, "Calm"),
        ],
    );
    tag(
        "01 - MP3 Tone.mp3",
        &[
            (ItemKey::Publisher, "Ninja Tune"),
            (ItemKey::IntegerBpm, "95"),
        ],
    );
    custom_id3("01 - MP3 Tone.mp3", "ENERGY", "High");
    image::RgbImage::new(100, 50)
        .save(album.join("cover.jpg"))
        .unwrap();
    server.cli(&["scan"]).expect("the rescan succeeds");
}

on_both_engines!(
    labels_metadata_and_art_sizes,
    |server: TestServer| async move {
        retag_library(&server);
        let token = server.admin_token().await;
        let t = token.as_str();
        let titles = |doc: Value| names(&doc, "title");
        let one = |field: &'static str, op: &'static str, input: &'static str| {
            vec![
                ("rule_1", field),
                ("rule_1_operator", op),
                ("rule_1_input", input),
            ]
        };

        // The song `label` field, from LABEL (Vorbis) and TPUB (ID3v2).
        assert_eq!(
            titles(search(&server, t, &one("label", "0", "warp")).await),
            ["FLAC Tone"]
        );
        assert_eq!(
            titles(search(&server, t, &one("label", "4", "NINJA TUNE")).await),
            ["MP3 Tone"]
        );
        // type=label matches labels and answers with their songs.
        let mut by_label = one("title", "2", "ninja");
        by_label.push(("type", "label"));
        assert_eq!(titles(search(&server, t, &by_label).await), ["MP3 Tone"]);
        let mut any_label = one("name", "1", "no such label");
        any_label.push(("type", "label"));
        assert_eq!(
            titles(search(&server, t, &any_label).await),
            ["FLAC Tone", "MP3 Tone"]
        );
        let mut by_category = one("category", "4", "");
        by_category.push(("type", "label"));
        assert_eq!(
            search(&server, t, &by_category)
                .await
                .as_array()
                .unwrap()
                .len(),
            2
        );

        // XML: the same song list, with the song's title.
        let mut xml_params = vec![("action", "advanced_search"), ("auth", t)];
        xml_params.extend(by_label.iter().copied());
        let xml = server.xml(&xml_params).await;
        assert_eq!(xml.field("total_count").unwrap(), "1");
        assert_eq!(xml.child_names(), ["total_count", "song"]);
        let doc = xml.doc();
        let title = doc
            .descendants()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text());
        assert_eq!(title, Some("MP3 Tone"));

        // Custom metadata: numeric operators 10-15, text 0-9, the field by name or id.
        let metadata = |subtype: &'static str, op: &'static str, input: &'static str| {
            let mut rule = one("metadata", op, input);
            rule.push(("rule_1_subtype", subtype));
            rule
        };
        assert_eq!(
            titles(search(&server, t, &metadata("bpm", "12", "128")).await),
            ["FLAC Tone"]
        );
        assert_eq!(
            titles(search(&server, t, &metadata("BPM", "10", "90")).await),
            ["FLAC Tone", "MP3 Tone"]
        );
        assert_eq!(
            titles(search(&server, t, &metadata("bpm", "15", "100")).await),
            ["MP3 Tone"]
        );
        assert_eq!(
            titles(search(&server, t, &metadata("mood", "0", "cal")).await),
            ["FLAC Tone"]
        );
        assert_eq!(
            titles(search(&server, t, &metadata("energy", "4", "high")).await),
            ["MP3 Tone"]
        );
        assert_eq!(
            titles(search(&server, t, &metadata("mood", "8", "^c.l+m$")).await),
            ["FLAC Tone"]
        );
        // Songs without the field do not contain the text either.
        let without = search(&server, t, &metadata("mood", "1", "calm")).await;
        assert!(without.as_array().unwrap().len() > 10, "{without}");
        assert!(!titles(without).contains(&"FLAC Tone".to_string()));
        let field_id = server
            .query_strings("SELECT CAST(id AS TEXT) FROM metadata_fields WHERE name = 'bpm'")
            .await;
        let field_id: &'static str = Box::leak(field_id[0].clone().into_boxed_str());
        assert_eq!(
            titles(search(&server, t, &metadata(field_id, "12", "95")).await),
            ["MP3 Tone"]
        );
        for bad in [
            metadata("no-such-field", "0", "x"),
            one("metadata", "0", "x"),
            metadata("bpm", "16", "1"),
            metadata("bpm", "12", "many"),
        ] {
            let mut params = vec![("action", "advanced_search"), ("auth", t)];
            params.extend(bad);
            assert_error(&server, &params, "401").await;
        }

        // Art sizes: the replaced folder cover of Format Parade, the 64 x 64 embedded
        // pictures of Everything Tagged.
        let albums = |op: &'static str, field: &'static str, input: &'static str| {
            let mut rule = one(field, op, input);
            rule.push(("type", "album"));
            rule
        };
        assert_eq!(
            names(
                &search(&server, t, &albums("2", "image_width", "100")).await,
                "name"
            ),
            ["Format Parade"]
        );
        assert_eq!(
            names(
                &search(&server, t, &albums("2", "image_height", "50")).await,
                "name"
            ),
            ["Format Parade"]
        );
        let sixty_four = names(
            &search(&server, t, &albums("2", "image_width", "64")).await,
            "name",
        );
        assert!(
            sixty_four.contains(&"Everything Tagged".to_string()),
            "{sixty_four:?}"
        );
        assert!(!sixty_four.contains(&"Format Parade".to_string()));
        let mut artists = one("image_width", "4", "99");
        artists.push(("type", "artist"));
        assert_eq!(
            names(&search(&server, t, &artists).await, "name"),
            ["The Testers"]
        );
    }
);

on_both_engines!(vertical_bar_splits_rules, |server: TestServer| async move {
    let token = server.admin_token().await;
    let t = token.as_str();
    let bar = |operator: &'static str, op: &'static str, input: &'static str| {
        vec![
            ("operator", operator),
            ("rule_1", "title"),
            ("rule_1_operator", op),
            ("rule_1_input", input),
        ]
    };
    // "a|b" is two rules joined by the search's operator.
    assert_eq!(
        names(
            &search(&server, t, &bar("or", "2", "mp3|flac")).await,
            "title"
        ),
        ["FLAC Tone", "MP3 Tone"]
    );
    assert_eq!(
        search(&server, t, &bar("and", "2", "mp3|flac")).await,
        json!([])
    );
    assert_eq!(
        names(
            &search(&server, t, &bar("and", "0", "tone|mp3")).await,
            "title"
        ),
        ["MP3 Tone"]
    );
    // A regular expression keeps its bar.
    assert_eq!(
        names(
            &search(&server, t, &bar("and", "8", "^(mp3|flac) tone$")).await,
            "title"
        ),
        ["FLAC Tone", "MP3 Tone"]
    );
});
