//! Bad requests get Ampache errors with the right code, with HTTP 200, never a 500
//! or a dropped connection.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_cases() {
    let server = TestServer::start_unscanned(Engine::Sqlite).await.unwrap();
    let token = server.admin_token().await;

    // Unknown, missing and empty actions; helpers that are not methods.
    for params in [
        vec![("action", "no_such_method")],
        vec![("action", "")],
        vec![],
        vec![("action", "check_parameter")],
        vec![("action", "message"), ("auth", token.as_str())],
    ] {
        let message = assert_error(&server, &params, "405").await;
        assert_eq!(message, "Invalid Request");
    }
    // No session, or a made-up one.
    assert_error(&server, &[("action", "user"), ("username", ADMIN)], "401").await;
    assert_error(
        &server,
        &[
            ("action", "user"),
            ("auth", "ffffffffffffffffffffffffffffffff"),
            ("username", ADMIN),
        ],
        "401",
    )
    .await;

    // Malformed input: each one a 401 that names the parameter.
    let long = "x".repeat(10_000);
    for (query, parameter) in [
        (
            format!("action=user&auth={token}&username=%FF%FE"),
            "username",
        ),
        (
            format!("action=user&auth={token}&username={long}"),
            "username",
        ),
        (
            format!("action=user&auth={token}&username=a%01b"),
            "username",
        ),
        (
            format!("action=user&auth={token}&username=a&username=b"),
            "username",
        ),
        (
            format!("action=user&auth={token}&username=admin&offset=abc"),
            "offset",
        ),
        (
            format!("action=user&auth={token}&username=admin&offset=-5"),
            "offset",
        ),
        (
            format!("action=user&auth={token}&username=admin&offset=99999999999999999999999999"),
            "offset",
        ),
        (
            format!("action=user&auth={token}&username=admin&limit=-1"),
            "limit",
        ),
        (
            format!("action=user&auth={token}&username=admin&limit=1.5"),
            "limit",
        ),
        ("action=ping&action=ping".to_string(), "action"),
    ] {
        for format in [Format::Xml, Format::Json] {
            let (status, _, body) = server.get_raw(format, &query).await;
            assert_eq!(status, 200, "{query}");
            let (code, message) = match format {
                Format::Xml => XmlDoc::parse(body.clone())
                    .error()
                    .unwrap_or_else(|| panic!("{body}")),
                Format::Json => {
                    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
                    (
                        doc["error"]["code"].as_str().unwrap().to_string(),
                        doc["error"]["message"].as_str().unwrap().to_string(),
                    )
                }
            };
            assert_eq!(code, "401", "{query}: {message}");
            assert!(
                message.contains(&format!("'{parameter}'")),
                "{query}: {message}"
            );
        }
    }
    // Large but valid paging is fine.
    let doc = server
        .json(&[
            ("action", "user"),
            ("auth", &token),
            ("username", ADMIN),
            ("offset", "1000000"),
            ("limit", "none"),
        ])
        .await;
    assert!(doc["user"].is_object(), "{doc}");

    // Still alive and answering after all of that.
    let xml = server.xml(&[("action", "ping")]).await;
    assert!(xml.field("server").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_details() {
    let server = TestServer::start_unscanned(Engine::Sqlite).await.unwrap();
    // Headers as Ampache sends them, errors included.
    let response = server
        .client
        .get(format!("{}/server/xml.server.php?action=nope", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=UTF-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=information.xml"
    );
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root>"),
        "{body}"
    );
    let response = server
        .client
        .get(format!(
            "{}/server/json.server.php?action=ping",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    assert!(response.headers().get("content-disposition").is_none());

    // Parameters from a form POST body work like the query string; the query wins.
    let timestamp = unix_now().to_string();
    let auth = sha256_hex(&format!("{timestamp}{}", sha256_hex(ADMIN_PASSWORD)));
    let body = encode_query(&[
        ("user", ADMIN),
        ("timestamp", &timestamp),
        ("auth", &auth),
        ("action", "ping"),
    ]);
    let response = server
        .client
        .post(format!(
            "{}/server/json.server.php?action=handshake",
            server.base
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(doc["auth"].is_string(), "POST handshake: {doc}");

    // Anything outside the API is a plain 404.
    let response = server
        .client
        .get(format!("{}/../../etc/passwd", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let response = server
        .client
        .get(format!("{}/server/other.php", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients() {
    let server = TestServer::start(Engine::Sqlite).await.unwrap();
    let token = server.admin_token().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let client = server.client.clone();
        let url = if i % 2 == 0 {
            format!(
                "{}/server/xml.server.php?action=ping&auth={token}",
                server.base
            )
        } else {
            format!(
                "{}/server/json.server.php?action=user&username={ADMIN}&auth={token}",
                server.base
            )
        };
        tasks.push(tokio::spawn(async move {
            client.get(url).send().await.unwrap().status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
}
