//! Prometheus metrics: off by default, on their own address when asked for, counting
//! what clients did.

use crate::harness::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_errors_and_sessions_on_their_own_address() {
    let port = free_port();
    let server = TestServer::start_with(
        Engine::Sqlite,
        Options {
            serve_args: vec!["--metrics-listen".into(), format!("127.0.0.1:{port}")],
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let token = server.admin_token().await;
    for _ in 0..3 {
        server
            .json(&[("action", "songs"), ("auth", &token), ("limit", "2")])
            .await;
    }
    server.xml(&[("action", "ping"), ("auth", &token)]).await;
    // Errors: a made-up method (405) and no session (401).
    server.xml(&[("action", "made_up_method_x")]).await;
    server.json(&[("action", "songs")]).await;

    let text = server
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    // Three good songs requests and one without a session.
    assert_eq!(
        value(r#"tonearm_api_requests_total{method="songs",format="json"}"#),
        4.0
    );
    assert_eq!(
        value(r#"tonearm_api_requests_total{method="ping",format="xml"}"#),
        1.0
    );
    assert_eq!(value(r#"tonearm_api_errors_total{code="405"}"#), 1.0);
    assert_eq!(value(r#"tonearm_api_errors_total{code="401"}"#), 1.0);
    assert!(value(r#"tonearm_api_request_duration_seconds_count{method="songs"}"#) >= 4.0);
    assert_eq!(value("tonearm_sessions"), 1.0);
    // A name a client made up is not a label: series stay bounded.
    assert!(!text.contains("made_up_method_x"), "{text}");
    assert!(text.contains(r#"method="unknown""#));

    // Not on the API's address.
    let on_api = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(on_api.as_u16(), 404);
}
