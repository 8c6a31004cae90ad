//! Follows, shouts and timelines: what users do shows up for those who follow them.

use serde_json::json;

use crate::harness::*;
use crate::on_both_engines;

on_both_engines!(
    follows_shouts_and_timelines,
    |server: TestServer| async move {
        let admin = server.admin_token().await;
        for name in ["fay", "gus"] {
            server
                .cli_with_env(&["user", "add", name], &[("TONEARM_PASSWORD", "pw")])
                .unwrap();
        }
        let fay = server.login("fay", "pw").await;
        let gus = server.login("gus", "pw").await;
        let gus_id = server
            .query_strings("SELECT CAST(id AS TEXT) FROM users WHERE username = 'gus'")
            .await[0]
            .clone();

        // Nobody follows anybody yet: errors, as 4.x answers.
        let message = assert_error(
            &server,
            &[("action", "followers"), ("auth", &fay), ("username", "gus")],
            "400",
        )
        .await;
        assert_eq!(message, "User `gus` has no followers.");
        let message = assert_error(
            &server,
            &[("action", "following"), ("auth", &fay), ("username", "fay")],
            "400",
        )
        .await;
        assert_eq!(message, "User `fay` does not follow anyone.");
        let message = assert_error(
            &server,
            &[
                ("action", "followers"),
                ("auth", &fay),
                ("username", "nobody"),
            ],
            "400",
        )
        .await;
        assert_eq!(message, "User `nobody` cannot be found.");

        // Fay follows Gus.
        let doc = call(&server, &fay, "toggle_follow", &[("username", "gus")]).await;
        assert_eq!(
            doc,
            json!({"success": format!("follow toggled for: {gus_id}")})
        );
        let followers = call(&server, &admin, "followers", &[("username", "gus")]).await;
        assert_eq!(followers[0]["user"][0]["username"], json!("fay"));
        assert!(followers[0]["user"][0]["id"].is_string());
        let xml = server
            .xml(&[("action", "following"), ("auth", &gus), ("username", "fay")])
            .await;
        assert!(
            xml.text.contains("<users>")
                && xml.text.contains("<username><![CDATA[gus]]></username>")
                && !xml.text.contains("total_count"),
            "{}",
            xml.text
        );
        assert_error(
            &server,
            &[
                ("action", "toggle_follow"),
                ("auth", &fay),
                ("username", "fay"),
            ],
            "400",
        )
        .await;

        // Gus plays, rates, flags and shouts; Fay's friends timeline shows it, newest first.
        let song = call(&server, &gus, "songs", &[("filter", "Finale")]).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        call(
            &server,
            &gus,
            "record_play",
            &[("id", &song), ("user", &gus_id)],
        )
        .await;
        call(
            &server,
            &gus,
            "rate",
            &[("type", "song"), ("id", &song), ("rating", "5")],
        )
        .await;
        call(
            &server,
            &gus,
            "flag",
            &[("type", "song"), ("id", &song), ("flag", "1")],
        )
        .await;
        call(
            &server,
            &gus,
            "playlist_create",
            &[("name", "Gus mix"), ("type", "public")],
        )
        .await;
        server
            .cli(&[
                "shout",
                "gus",
                "Finale is great",
                "--about",
                "song",
                "--id",
                &song,
            ])
            .unwrap();
        server.cli(&["shout", "fay", "hello everyone"]).unwrap();

        let timeline = call(&server, &fay, "friends_timeline", &[]).await;
        let actions: Vec<&str> = timeline["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.len(), 5, "{timeline}");
        for action in ["play", "rating", "userflag", "create", "shout"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        let first = &timeline["timeline"][0];
        assert_eq!(first["user"][0]["username"], json!("gus"));
        assert_eq!(first["data"], first["date"]);
        assert!(first["object_id"].is_string());
        // Gus follows nobody: an empty timeline, not an error.
        assert_eq!(
            call(&server, &gus, "friends_timeline", &[]).await,
            json!({"timeline": []})
        );
        // One user's timeline, with limit and since.
        let fays = call(&server, &admin, "timeline", &[("username", "fay")]).await;
        let fay_actions: Vec<&str> = fays["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert_eq!(fay_actions, ["shout", "follow"]);
        assert_eq!(
            call(
                &server,
                &admin,
                "timeline",
                &[("username", "gus"), ("limit", "2")]
            )
            .await["timeline"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let future = (unix_now() + 100).to_string();
        assert_eq!(
            call(
                &server,
                &admin,
                "timeline",
                &[("username", "gus"), ("since", &future)]
            )
            .await,
            json!({"timeline": []})
        );
        let xml = server
            .xml(&[
                ("action", "timeline"),
                ("auth", &admin),
                ("username", "gus"),
                ("limit", "1"),
            ])
            .await;
        assert!(
            xml.text.contains("<timeline>")
                && xml.text.contains("<activity id=")
                && xml.text.contains("<object_type><![CDATA["),
            "{}",
            xml.text
        );

        // Shouts, newest first, of everyone or of one author.
        let shouts = call(&server, &admin, "last_shouts", &[]).await;
        assert_eq!(shouts[0]["text"], json!("hello everyone"));
        assert_eq!(shouts[1]["text"], json!("Finale is great"));
        assert!(shouts[0]["date"].is_string() && shouts[0]["user"][0]["username"] == json!("fay"));
        let gus_shouts = call(&server, &admin, "last_shouts", &[("username", "gus")]).await;
        assert_eq!(gus_shouts.as_array().unwrap().len(), 1);
        let xml = server
            .xml(&[("action", "last_shouts"), ("auth", &admin), ("limit", "1")])
            .await;
        assert!(
            xml.text.contains("<shouts>")
                && xml.text.contains("<text><![CDATA[hello everyone]]></text>"),
            "{}",
            xml.text
        );

        // Unfollow: the friends timeline empties.
        call(&server, &fay, "toggle_follow", &[("username", "gus")]).await;
        assert_eq!(
            call(&server, &fay, "friends_timeline", &[]).await,
            json!({"timeline": []})
        );
        assert_error(&server, &[("action", "timeline"), ("auth", &fay)], "401").await;
        assert!(server.cli(&["shout", "gus", "  "]).is_err());
        assert!(server
            .cli(&["shout", "gus", "x", "--about", "song", "--id", "999999"])
            .is_err());
    }
);
