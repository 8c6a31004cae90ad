//! democratic: votes of several users order one shared queue; the democratic stream
//! plays its head and moves on.

use crate::harness::*;
use crate::on_both_engines;

async fn democratic(
    server: &TestServer,
    token: &str,
    method: &str,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let mut params = vec![("method", method)];
    params.extend_from_slice(extra);
    call(server, token, "democratic", &params).await
}

async fn vote(server: &TestServer, token: &str, method: &str, song: &str) {
    let answer = democratic(server, token, method, &[("oid", song)]).await;
    assert_eq!(
        answer,
        serde_json::json!({"action": "democratic", "method": method, "result": true}),
        "{method} {song}"
    );
}

/// The queue: (song id, votes) in order.
async fn queue(server: &TestServer, token: &str) -> Vec<(String, i64)> {
    let list = democratic(server, token, "playlist", &[]).await;
    list.as_array()
        .unwrap_or_else(|| panic!("playlist: {list}"))
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["vote"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn q(entries: &[(&str, i64)]) -> Vec<(String, i64)> {
    entries.iter().map(|(id, n)| (id.to_string(), *n)).collect()
}

async fn song_ids(server: &TestServer, token: &str, n: usize) -> Vec<String> {
    let songs = call(server, token, "songs", &[("limit", &n.to_string())]).await;
    let ids: Vec<String> = songs
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), n);
    ids
}

/// GET on a play URL: (status, body).
async fn fetch(server: &TestServer, url: &str, range: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = server.client.get(url);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// The bytes of a song, straight from its file.
async fn file_bytes(server: &TestServer, token: &str, id: &str) -> Vec<u8> {
    let song = call(server, token, "song", &[("filter", id)]).await;
    std::fs::read(song[0]["filename"].as_str().unwrap()).unwrap()
}

on_both_engines!(
    votes_order_a_shared_queue,
    |server: TestServer| async move {
        let admin = server.admin_token().await;
        server
            .cli_with_env(
                &["user", "add", "vic", "--access", "user"],
                &[("TONEARM_PASSWORD", "pw")],
            )
            .unwrap();
        let vic = server.login("vic", "pw").await;
        let ids = song_ids(&server, &admin, 4).await;
        let (a, b, c) = (ids[0].as_str(), ids[1].as_str(), ids[2].as_str());
        assert!(queue(&server, &admin).await.is_empty());

        vote(&server, &vic, "vote", b).await;
        vote(&server, &admin, "vote", a).await;
        vote(&server, &admin, "vote", b).await;
        vote(&server, &admin, "vote", c).await;
        vote(&server, &vic, "vote", c).await;
        // A second vote of one user counts once.
        vote(&server, &vic, "vote", c).await;
        // b and c have two votes, b's first came before c's; then a.
        assert_eq!(queue(&server, &vic).await, q(&[(b, 2), (c, 2), (a, 1)]));

        // devote withdraws the caller's own vote only.
        vote(&server, &admin, "devote", b).await;
        assert_eq!(queue(&server, &admin).await, q(&[(c, 2), (b, 1), (a, 1)]));
        // Of a song the caller has not voted for: nothing changes.
        vote(&server, &vic, "devote", a).await;
        assert_eq!(queue(&server, &admin).await, q(&[(c, 2), (b, 1), (a, 1)]));

        // Another tonearm process on the same database shares the queue.
        let second = server.second_process();
        let answer = second
            .json(&[
                ("action", "democratic"),
                ("auth", &vic),
                ("method", "vote"),
                ("oid", a),
            ])
            .await;
        assert_eq!(answer["result"], true, "{answer}");
        // a and c have two votes now; a's first (admin's) came before c's.
        assert_eq!(queue(&server, &admin).await, q(&[(a, 2), (c, 2), (b, 1)]));
        let seen = second
            .json(&[
                ("action", "democratic"),
                ("auth", &admin),
                ("method", "playlist"),
            ])
            .await;
        assert_eq!(seen[0]["id"], a, "{seen}");

        // The song shape (spec 4.10): JSON.
        let list = democratic(&server, &admin, "playlist", &[]).await;
        let first = list[0].as_object().unwrap();
        let keys: Vec<&str> = first.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "title",
                "artist",
                "album",
                "tag",
                "track",
                "time",
                "mime",
                "url",
                "size",
                "art",
                "preciserating",
                "rating",
                "averagerating",
                "vote",
                "genre"
            ]
        );
        assert!(first["url"]
            .as_str()
            .unwrap()
            .contains(&format!("&oid={a}&")));
        // XML: song elements with a vote, no total_count.
        let xml = server
            .xml(&[
                ("action", "democratic"),
                ("auth", &admin),
                ("method", "playlist"),
            ])
            .await;
        let doc = xml.doc();
        let root = doc.root_element();
        assert!(
            root.children().all(|n| !n.has_tag_name("total_count")),
            "{}",
            xml.text
        );
        let songs: Vec<_> = root.children().filter(|n| n.has_tag_name("song")).collect();
        assert_eq!(songs.len(), 3, "{}", xml.text);
        assert_eq!(songs[0].attribute("id"), Some(a));
        let names: Vec<&str> = songs[0]
            .children()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .filter(|n| *n != "tag")
            .collect();
        assert_eq!(
            names,
            [
                "title",
                "name",
                "artist",
                "album",
                "genre",
                "track",
                "time",
                "mime",
                "url",
                "size",
                "art",
                "preciserating",
                "rating",
                "averagerating",
                "vote"
            ]
        );
        let vote_text = songs[0]
            .children()
            .find(|n| n.has_tag_name("vote"))
            .and_then(|n| n.text());
        assert_eq!(vote_text, Some("2"));
        let voted = server
            .xml(&[
                ("action", "democratic"),
                ("auth", &vic),
                ("method", "vote"),
                ("oid", b),
            ])
            .await;
        assert_eq!(
            voted.field("method").as_deref(),
            Some("vote"),
            "{}",
            voted.text
        );
        assert_eq!(
            voted.field("result").as_deref(),
            Some("1"),
            "{}",
            voted.text
        );

        // Bad input.
        for oid in ["999999", "x", "0"] {
            let message = assert_error(
                &server,
                &[
                    ("action", "democratic"),
                    ("auth", &vic),
                    ("method", "vote"),
                    ("oid", oid),
                ],
                "400",
            )
            .await;
            assert_eq!(message, "Media object invalid or not specified");
        }
        assert_error(
            &server,
            &[("action", "democratic"), ("auth", &vic), ("method", "vote")],
            "400",
        )
        .await;
        assert_error(
            &server,
            &[
                ("action", "democratic"),
                ("auth", &vic),
                ("method", "shuffle"),
            ],
            "405",
        )
        .await;
        assert_error(&server, &[("action", "democratic"), ("auth", &vic)], "401").await;
    }
);

on_both_engines!(
    the_stream_plays_the_head_and_moves_on,
    |server: TestServer| async move {
        let admin = server.admin_token().await;
        let ids = song_ids(&server, &admin, 3).await;
        let (a, b) = (ids[0].as_str(), ids[1].as_str());
        vote(&server, &admin, "vote", b).await;
        vote(&server, &admin, "vote", a).await;

        let answer = democratic(&server, &admin, "play", &[]).await;
        let url = answer["url"].as_str().unwrap().to_string();
        let user_id = server
            .query_strings("SELECT CAST(id AS TEXT) FROM users WHERE username = 'admin'")
            .await[0]
            .clone();
        assert_eq!(
            url,
            format!(
                "{}/play/index.php?ssid={admin}&uid={user_id}&demo_id=1",
                server.base
            )
        );
        let xml = server
            .xml(&[
                ("action", "democratic"),
                ("auth", &admin),
                ("method", "play"),
            ])
            .await;
        assert_eq!(xml.field("url").as_deref(), Some(url.as_str()));

        // The head (b, voted first) plays and leaves the queue.
        let (status, body) = fetch(&server, &url, None).await;
        assert_eq!(status, 200);
        let b_bytes = file_bytes(&server, &admin, b).await;
        assert_eq!(body, b_bytes);
        assert_eq!(queue(&server, &admin).await, q(&[(a, 1)]));
        // A player coming back for the rest of it gets the same song.
        let (status, rest) = fetch(&server, &url, Some("bytes=100-")).await;
        assert_eq!(status, 206);
        assert_eq!(rest, b_bytes[100..]);
        assert_eq!(queue(&server, &admin).await, q(&[(a, 1)]));
        // The play counted once, for the holder of the session.
        let song = call(&server, &admin, "song", &[("filter", b)]).await;
        assert_eq!(song[0]["playcount"], 1, "{song}");

        // Then the next one.
        let (status, body) = fetch(&server, &url, None).await;
        assert_eq!(status, 200);
        assert_eq!(body, file_bytes(&server, &admin, a).await);
        assert!(queue(&server, &admin).await.is_empty());

        // Empty, and no base playlist: nothing to play.
        let (status, _) = fetch(&server, &url, None).await;
        assert_eq!(status, 404);
        // Without a valid session the queue is not touched.
        vote(&server, &admin, "vote", a).await;
        let stranger = url.replace(&admin, "0123456789abcdef");
        let (status, _) = fetch(&server, &stranger, None).await;
        assert_eq!(status, 403);
        assert_eq!(queue(&server, &admin).await, q(&[(a, 1)]));
        // Two processes taking at once get two different songs: the queue is shared and
        // its head is taken once.
        let b_id = b.to_string();
        vote(&server, &admin, "vote", &b_id).await;
        let second = server.second_process();
        let second_url = second
            .json(&[
                ("action", "democratic"),
                ("auth", &admin),
                ("method", "play"),
            ])
            .await["url"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(second_url, url);
        let ((status_1, body_1), (status_2, body_2)) = tokio::join!(
            fetch(&server, &url, None),
            fetch(&server, &second_url, None)
        );
        assert_eq!((status_1, status_2), (200, 200));
        let a_bytes = file_bytes(&server, &admin, a).await;
        let mut bodies = [body_1, body_2];
        bodies.sort();
        let mut expected = [a_bytes, b_bytes];
        expected.sort();
        assert!(bodies == expected, "both processes played the same song");
        assert!(queue(&server, &admin).await.is_empty());
        // Another queue id does not exist.
        let (status, _) = fetch(&server, &url.replace("demo_id=1", "demo_id=7"), None).await;
        assert_eq!(status, 404);
    }
);

/// The base playlist plays while nobody has voted; votes come first again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_playlist_fills_an_empty_queue() {
    let options = Options {
        serve_args: [
            "--democratic-base-playlist",
            "1",
            "--democratic-level",
            "25",
        ]
        .map(String::from)
        .to_vec(),
        ..Options::default()
    };
    let server = TestServer::start_with(Engine::Sqlite, options)
        .await
        .unwrap();
    let admin = server.admin_token().await;
    let ids = song_ids(&server, &admin, 3).await;
    let playlist = create_playlist(&server, &admin, "background", "public").await;
    assert_eq!(playlist, "1");
    call(
        &server,
        &admin,
        "playlist_add_song",
        &[("filter", &playlist), ("song", &ids[2])],
    )
    .await;
    let url = democratic(&server, &admin, "play", &[]).await["url"]
        .as_str()
        .unwrap()
        .to_string();
    let base_song = file_bytes(&server, &admin, &ids[2]).await;
    for _ in 0..2 {
        let (status, body) = fetch(&server, &url, None).await;
        assert_eq!(status, 200);
        assert_eq!(body, base_song);
    }
    vote(&server, &admin, "vote", &ids[0]).await;
    let (_, body) = fetch(&server, &url, None).await;
    assert_eq!(body, file_bytes(&server, &admin, &ids[0]).await);

    // The voting level: a guest may see the queue but not vote.
    server
        .cli_with_env(
            &["user", "add", "gwen", "--access", "guest"],
            &[("TONEARM_PASSWORD", "pw")],
        )
        .unwrap();
    let gwen = server.login("gwen", "pw").await;
    assert_error(
        &server,
        &[
            ("action", "democratic"),
            ("auth", &gwen),
            ("method", "vote"),
            ("oid", &ids[1]),
        ],
        "400",
    )
    .await;
    assert!(queue(&server, &gwen).await.is_empty());
}
