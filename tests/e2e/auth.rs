//! handshake, ping, goodbye, sessions, ACLs and access levels.

use serde_json::json;

use crate::harness::*;
use crate::on_both_engines;

/// The committed library's totals (tests/library/README.md).
const SONGS: i64 = 22;
const ALBUMS: i64 = 6;
const ARTISTS: i64 = 9;
const GENRES: i64 = 6;

const HANDSHAKE_FIELDS: &[&str] = &[
    "auth",
    "api",
    "session_expire",
    "update",
    "add",
    "clean",
    "songs",
    "albums",
    "artists",
    "playlists",
    "videos",
    "catalogs",
];

fn password_auth(password: &str, timestamp: i64) -> String {
    sha256_hex(&format!("{timestamp}{}", sha256_hex(password)))
}

on_both_engines!(
    password_handshake_in_both_formats,
    |server: TestServer| async move {
        let timestamp = unix_now();
        let auth = password_auth(ADMIN_PASSWORD, timestamp);
        let ts = timestamp.to_string();
        let params = [
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", ts.as_str()),
            ("auth", auth.as_str()),
            ("version", "400004"),
        ];

        let xml = server.xml(&params).await;
        let names = xml.child_names();
        assert_eq!(
            &names[..HANDSHAKE_FIELDS.len()],
            HANDSHAKE_FIELDS,
            "XML field order: {}",
            xml.text
        );
        assert!(
            xml.text.contains("<auth><![CDATA["),
            "values are CDATA: {}",
            xml.text
        );
        let token = xml.field("auth").unwrap();
        assert_eq!(token.len(), 32);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(xml.field("api").unwrap(), "400004");
        assert_eq!(xml.field("songs").unwrap(), SONGS.to_string());
        assert_eq!(xml.field("albums").unwrap(), ALBUMS.to_string());
        assert_eq!(xml.field("artists").unwrap(), ARTISTS.to_string());
        assert_eq!(xml.field("catalogs").unwrap(), "1");
        assert_eq!(xml.field("videos").unwrap(), "0");
        assert_eq!(xml.field("playlists").unwrap(), "0");
        let expire = xml.field("session_expire").unwrap();
        assert!(
            expire.ends_with("+00:00") && expire.len() == 25,
            "ISO 8601 with offset: {expire}"
        );
        // The scan just ran, so the add date is recent and not the epoch.
        assert!(!xml.field("add").unwrap().starts_with("1970"));

        // A timestamp+auth pair logs in once (security.rs): JSON takes another.
        let ts = (timestamp - 1).to_string();
        let auth = password_auth(ADMIN_PASSWORD, timestamp - 1);
        let params = [
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", ts.as_str()),
            ("auth", auth.as_str()),
            ("version", "400004"),
        ];
        let doc = server.json(&params).await;
        let keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(&keys[..HANDSHAKE_FIELDS.len()], HANDSHAKE_FIELDS);
        assert!(
            doc["auth"].is_string() && doc["api"].is_string() && doc["session_expire"].is_string()
        );
        assert_eq!(doc["songs"], json!(SONGS));
        assert_eq!(doc["albums"], json!(ALBUMS));
        assert_eq!(doc["artists"], json!(ARTISTS));
        assert_eq!(doc["tags"], json!(GENRES));
        assert_ne!(
            doc["auth"].as_str().unwrap(),
            token,
            "each handshake makes a new session"
        );
    }
);

on_both_engines!(apikey_handshakes, |server: TestServer| async move {
    let key = server
        .cli(&["user", "apikey", ADMIN])
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(key.len(), 32);
    // Plain key, no user.
    let doc = server
        .json(&[("action", "handshake"), ("auth", &key)])
        .await;
    assert!(doc["auth"].is_string(), "plain key: {doc}");
    // Hashed key, no user: sha256(user + sha256(key)).
    let hashed = sha256_hex(&format!("{ADMIN}{}", sha256_hex(&key)));
    let xml = server
        .xml(&[("action", "handshake"), ("auth", &hashed)])
        .await;
    assert!(xml.field("auth").is_some(), "hashed key: {}", xml.text);
    // The key with the user name, as some clients send it.
    let doc = server
        .json(&[("action", "handshake"), ("auth", &key), ("user", ADMIN)])
        .await;
    assert!(doc["auth"].is_string(), "key with user: {doc}");
    // A new key replaces the old one.
    server.cli(&["user", "apikey", ADMIN]).unwrap();
    assert_error(&server, &[("action", "handshake"), ("auth", &key)], "401").await;
    assert_error(
        &server,
        &[("action", "handshake"), ("auth", &hashed)],
        "401",
    )
    .await;
});

on_both_engines!(handshake_refusals, |server: TestServer| async move {
    let now = unix_now();
    let ts = now.to_string();
    let wrong = password_auth("wrong password", now);
    let message = assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &ts),
            ("auth", &wrong),
        ],
        "401",
    )
    .await;
    assert_eq!(
        message,
        "Received Invalid Handshake - Incorrect username or password"
    );
    // Unknown user.
    let right = password_auth(ADMIN_PASSWORD, now);
    assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", "nobody"),
            ("timestamp", &ts),
            ("auth", &right),
        ],
        "401",
    )
    .await;
    // A timestamp too far from now, even with the right passphrase for it.
    let old = now - 3 * 3600;
    let old_ts = old.to_string();
    let message = assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &old_ts),
            ("auth", &password_auth(ADMIN_PASSWORD, old)),
        ],
        "401",
    )
    .await;
    assert!(message.contains("timestamp is out of range"), "{message}");
    // A version older than the oldest compatible one.
    assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &ts),
            ("auth", &right),
            ("version", "340000"),
        ],
        "401",
    )
    .await;
    // Missing auth.
    let message = assert_error(&server, &[("action", "handshake"), ("user", ADMIN)], "401").await;
    assert_eq!(message, "Missing mandatory parameter 'auth'");
    // A disabled user cannot log in, and their sessions end.
    server
        .cli_with_env(
            &["user", "add", "dora", "--access", "user"],
            &[("TONEARM_PASSWORD", "dora pw")],
        )
        .unwrap();
    let token = server.login("dora", "dora pw").await;
    server.cli(&["user", "disable", "dora"]).unwrap();
    let now_ts = unix_now().to_string();
    assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", "dora"),
            ("timestamp", &now_ts),
            ("auth", &password_auth("dora pw", unix_now())),
        ],
        "401",
    )
    .await;
    assert_error(
        &server,
        &[("action", "user"), ("auth", &token), ("username", "dora")],
        "401",
    )
    .await;
    // Still correct afterwards: the right password works.
    server.admin_token().await;
});

on_both_engines!(
    password_change_takes_effect_at_once,
    |server: TestServer| async move {
        server
            .cli_with_env(
                &["user", "add", "pat", "--email", "pat@example.org"],
                &[("TONEARM_PASSWORD", "first")],
            )
            .unwrap();
        server.login("pat", "first").await;
        server
            .cli_with_env(
                &["user", "password", "pat"],
                &[("TONEARM_PASSWORD", "second")],
            )
            .unwrap();
        let ts = unix_now().to_string();
        assert_error(
            &server,
            &[
                ("action", "handshake"),
                ("user", "pat"),
                ("timestamp", &ts),
                ("auth", &password_auth("first", unix_now())),
            ],
            "401",
        )
        .await;
        server.login("pat", "second").await;
    }
);

on_both_engines!(ping_goodbye_and_sessions, |server: TestServer| async move {
    // Without a session: the short form, not an error.
    let xml = server.xml(&[("action", "ping")]).await;
    assert_eq!(xml.child_names(), vec!["server", "version", "compatible"]);
    assert_eq!(xml.field("compatible").unwrap(), "350001");
    let doc = server
        .json(&[
            ("action", "ping"),
            ("auth", "0123456789abcdef0123456789abcdef"),
        ])
        .await;
    assert!(doc.get("session_expire").is_none(), "{doc}");
    assert_eq!(doc["version"], json!("400004"));

    let token = server.admin_token().await;
    let xml = server
        .xml(&[("action", "ping"), ("auth", &token), ("version", "400004")])
        .await;
    let names = xml.child_names();
    assert_eq!(
        &names[..4],
        ["session_expire", "server", "version", "compatible"]
    );
    assert_eq!(xml.field("songs").unwrap(), SONGS.to_string());
    let doc = server.json(&[("action", "ping"), ("auth", &token)]).await;
    assert!(doc["session_expire"].is_string());
    assert_eq!(doc["songs"], json!(SONGS));
    assert_eq!(doc["albums"], json!(ALBUMS));

    // The session works for a method that needs one...
    let doc = server
        .json(&[("action", "user"), ("auth", &token), ("username", ADMIN)])
        .await;
    assert_eq!(doc["user"]["username"], json!(ADMIN));
    // ...also as a Bearer header.
    let response = server
        .client
        .get(format!(
            "{}/server/json.server.php?action=user&username={ADMIN}",
            server.base
        ))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(doc["user"]["username"], json!(ADMIN));

    // goodbye ends it; a second goodbye fails with 400.
    let xml = server.xml(&[("action", "goodbye"), ("auth", &token)]).await;
    let doc = xml.doc();
    let success = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("success"))
        .expect(&xml.text);
    assert_eq!(success.attribute("code"), Some("1"));
    assert_eq!(success.text(), Some(format!("goodbye: {token}").as_str()));
    let message = assert_error(&server, &[("action", "goodbye"), ("auth", &token)], "400").await;
    assert_eq!(message, format!("failed to end session: {token}"));
    let message = assert_error(
        &server,
        &[("action", "user"), ("auth", &token), ("username", ADMIN)],
        "401",
    )
    .await;
    assert_eq!(message, "Session Expired");
    let doc = server.json(&[("action", "ping"), ("auth", &token)]).await;
    assert!(
        doc.get("session_expire").is_none(),
        "a dead session pings short: {doc}"
    );
    // goodbye in JSON.
    let token = server.admin_token().await;
    let doc = server
        .json(&[("action", "goodbye"), ("auth", &token)])
        .await;
    assert_eq!(doc, json!({ "success": format!("goodbye: {token}") }));
});

on_both_engines!(
    sessions_are_shared_between_processes,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        // A second server process on the same database accepts the first one's session.
        let second = server.second_process();
        let doc = second
            .json(&[("action", "user"), ("auth", &token), ("username", ADMIN)])
            .await;
        assert_eq!(doc["user"]["username"], json!(ADMIN), "{doc}");
        let doc = second
            .json(&[("action", "goodbye"), ("auth", &token)])
            .await;
        assert!(doc["success"].is_string());
        assert_error(
            &server,
            &[("action", "user"), ("auth", &token), ("username", ADMIN)],
            "401",
        )
        .await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire() {
    let server = TestServer::start_with(
        Engine::Sqlite,
        Options {
            session_length: Some(60),
            scan: false,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let token = server.admin_token().await;
    server
        .json(&[("action", "user"), ("auth", &token), ("username", ADMIN)])
        .await;
    // Age the session in the store, as 61 seconds of idleness would.
    server.expire_sessions().await;
    let message = assert_error(
        &server,
        &[("action", "user"), ("auth", &token), ("username", ADMIN)],
        "401",
    )
    .await;
    assert_eq!(message, "Session Expired");
    let doc = server.json(&[("action", "ping"), ("auth", &token)]).await;
    assert!(doc.get("session_expire").is_none());
}

on_both_engines!(
    ping_extends_and_keeps_version,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        server.expire_sessions_in(30).await;
        let doc = server
            .json(&[("action", "ping"), ("auth", &token), ("version", "400004")])
            .await;
        let expire = doc["session_expire"].as_str().unwrap().to_string();
        let later = chrono_like_epoch(&expire);
        assert!(
            later > unix_now() + 3000,
            "ping pushed the expiry an hour out: {expire}"
        );
        server
            .json(&[("action", "user"), ("auth", &token), ("username", ADMIN)])
            .await;
    }
);

/// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS+00:00".
fn chrono_like_epoch(text: &str) -> i64 {
    let date = &text[..10];
    let time = &text[11..19];
    let parts: Vec<i64> = date
        .split('-')
        .chain(time.split(':'))
        .map(|p| p.parse().unwrap())
        .collect();
    let (y, m, d) = (parts[0], parts[1], parts[2]);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + parts[3] * 3600 + parts[4] * 60 + parts[5]
}

on_both_engines!(acl_refusal, |server: TestServer| async move {
    let token = server.admin_token().await;
    // A rule for another network only: loopback is now refused.
    server
        .cli(&[
            "acl",
            "add",
            "--start",
            "10.0.0.0",
            "--end",
            "10.255.255.255",
            "--kind",
            "api",
        ])
        .unwrap();
    let message = assert_error(
        &server,
        &[("action", "user"), ("auth", &token), ("username", ADMIN)],
        "403",
    )
    .await;
    assert_eq!(message, "Unauthorized access attempt to API - ACL Error");
    let ts = unix_now().to_string();
    assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", ADMIN),
            ("timestamp", &ts),
            ("auth", &password_auth(ADMIN_PASSWORD, unix_now())),
        ],
        "401",
    )
    .await;
    // A rule for loopback lets requests through again; a stream rule does not count.
    server
        .cli(&[
            "acl",
            "add",
            "--start",
            "127.0.0.1",
            "--end",
            "127.0.0.1",
            "--kind",
            "stream",
        ])
        .unwrap();
    assert_error(
        &server,
        &[("action", "user"), ("auth", &token), ("username", ADMIN)],
        "403",
    )
    .await;
    server
        .cli(&[
            "acl",
            "add",
            "--start",
            "127.0.0.0",
            "--end",
            "127.255.255.255",
            "--kind",
            "api",
            "--user",
            ADMIN,
        ])
        .unwrap();
    let doc = server
        .json(&[("action", "user"), ("auth", &token), ("username", ADMIN)])
        .await;
    assert_eq!(doc["user"]["username"], json!(ADMIN));
    // That rule is the admin's only: another user is still refused.
    server
        .cli_with_env(&["user", "add", "eve"], &[("TONEARM_PASSWORD", "eve pw")])
        .unwrap();
    let ts = unix_now().to_string();
    assert_error(
        &server,
        &[
            ("action", "handshake"),
            ("user", "eve"),
            ("timestamp", &ts),
            ("auth", &password_auth("eve pw", unix_now())),
        ],
        "401",
    )
    .await;
    // A rule below level 5 grants nothing.
    let list = server.cli(&["acl", "list"]).unwrap();
    assert_eq!(list.lines().count(), 3, "{list}");
});

on_both_engines!(user_method_and_levels, |server: TestServer| async move {
    server
        .cli_with_env(
            &[
                "user",
                "add",
                "guest1",
                "--access",
                "guest",
                "--email",
                "g@example.org",
            ],
            &[("TONEARM_PASSWORD", "g")],
        )
        .unwrap();
    let guest = server.login("guest1", "g").await;
    let admin = server.admin_token().await;
    // Yourself: full details.
    let xml = server
        .xml(&[("action", "user"), ("auth", &guest), ("username", "guest1")])
        .await;
    assert!(
        xml.text
            .contains("<email><![CDATA[g@example.org]]></email>"),
        "{}",
        xml.text
    );
    assert!(
        xml.text.contains("<access><![CDATA[5]]></access>"),
        "{}",
        xml.text
    );
    // Someone else, as a guest: public fields only.
    let doc = server
        .json(&[("action", "user"), ("auth", &guest), ("username", ADMIN)])
        .await;
    let user = &doc["user"];
    assert!(
        user["id"].is_string() && user["create_date"].is_i64(),
        "{doc}"
    );
    assert!(
        user.get("email").is_none() && user.get("auth").is_none(),
        "{doc}"
    );
    // As an admin: everything.
    let doc = server
        .json(&[("action", "user"), ("auth", &admin), ("username", "guest1")])
        .await;
    assert_eq!(doc["user"]["email"], json!("g@example.org"));
    assert_eq!(doc["user"]["access"], json!("5"));
    // Unknown user and a missing parameter.
    assert_error(
        &server,
        &[("action", "user"), ("auth", &admin), ("username", "nobody")],
        "404",
    )
    .await;
    let message = assert_error(&server, &[("action", "user"), ("auth", &admin)], "401").await;
    assert_eq!(message, "Missing mandatory parameter 'username'");
});

on_both_engines!(user_management_methods, |server: TestServer| async move {
    let admin = server.admin_token().await;
    let hash = sha256_hex("new pw");
    let params = |action: &'static str, token: &str, extra: &[(&'static str, String)]| {
        let mut p: Vec<(&str, String)> =
            vec![("action", action.to_string()), ("auth", token.to_string())];
        p.extend(extra.iter().cloned());
        p
    };
    let as_refs = refs;

    let create = params(
        "user_create",
        &admin,
        &[
            ("username", "nina".into()),
            ("password", hash.clone()),
            ("email", "nina@example.org".into()),
            ("fullname", "Nina N".into()),
        ],
    );
    let doc = server.json(&as_refs(&create)).await;
    assert_eq!(doc, json!({"success": "successfully created: nina"}));
    let nina = server.login("nina", "new pw").await;
    let me = server
        .json(&[("action", "user"), ("auth", &nina), ("username", "nina")])
        .await;
    assert_eq!(me["user"]["access"], json!("25"));
    // Again: refused; a user may not create users.
    let message = assert_error(&server, &as_refs(&create), "400").await;
    assert_eq!(message, "failed to create: nina");
    let by_nina = params(
        "user_create",
        &nina,
        &[
            ("username", "x".into()),
            ("password", hash.clone()),
            ("email", "x@example.org".into()),
        ],
    );
    let message = assert_error(&server, &as_refs(&by_nina), "400").await;
    assert_eq!(message, "User does not have access to this function");
    assert_error(
        &server,
        &as_refs(&params(
            "user_create",
            &admin,
            &[("username", "y".into()), ("password", hash.clone())],
        )),
        "401",
    )
    .await;

    // A new password works at once and ends the old sessions.
    let update = params(
        "user_update",
        &admin,
        &[
            ("username", "nina".into()),
            ("password", sha256_hex("newer pw")),
            ("city", "Oslo".into()),
        ],
    );
    assert_eq!(
        server.json(&as_refs(&update)).await,
        json!({"success": "successfully updated: nina"})
    );
    assert_error(
        &server,
        &[("action", "user"), ("auth", &nina), ("username", "nina")],
        "401",
    )
    .await;
    let nina = server.login("nina", "newer pw").await;
    let me = server
        .json(&[("action", "user"), ("auth", &nina), ("username", "nina")])
        .await;
    assert_eq!(me["user"]["city"], json!("Oslo"));
    let message = assert_error(
        &server,
        &as_refs(&params(
            "user_update",
            &admin,
            &[("username", ADMIN.into()), ("password", hash.clone())],
        )),
        "400",
    )
    .await;
    assert_eq!(message, "Do not update passwords for admin users! admin");
    assert_error(
        &server,
        &as_refs(&params(
            "user_update",
            &admin,
            &[("username", "ghost".into())],
        )),
        "400",
    )
    .await;
    assert_error(
        &server,
        &as_refs(&params(
            "user_update",
            &nina,
            &[("username", "nina".into()), ("city", "Rome".into())],
        )),
        "400",
    )
    .await;
    // Disabling ends the sessions and stops logins.
    server
        .json(&as_refs(&params(
            "user_update",
            &admin,
            &[("username", "nina".into()), ("disable", "1".into())],
        )))
        .await;
    assert_error(
        &server,
        &[("action", "user"), ("auth", &nina), ("username", "nina")],
        "401",
    )
    .await;
    server
        .json(&as_refs(&params(
            "user_update",
            &admin,
            &[("username", "nina".into()), ("disable", "0".into())],
        )))
        .await;
    let nina = server.login("nina", "newer pw").await;

    // Delete: never yourself or an admin; a deleted user's sessions end.
    assert_error(
        &server,
        &as_refs(&params(
            "user_delete",
            &admin,
            &[("username", ADMIN.into())],
        )),
        "400",
    )
    .await;
    assert_error(
        &server,
        &as_refs(&params(
            "user_delete",
            &nina,
            &[("username", "nina".into())],
        )),
        "400",
    )
    .await;
    let doc = server
        .json(&as_refs(&params(
            "user_delete",
            &admin,
            &[("username", "nina".into())],
        )))
        .await;
    assert_eq!(doc, json!({"success": "successfully deleted: nina"}));
    assert_error(
        &server,
        &[("action", "user"), ("auth", &nina), ("username", "nina")],
        "401",
    )
    .await;
    assert_error(
        &server,
        &as_refs(&params(
            "user_delete",
            &admin,
            &[("username", "nina".into())],
        )),
        "400",
    )
    .await;
});

fn refs<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
