//! `stats` with filter=random: whatever path the server takes (sampling ids, or sorting
//! by RANDOM() for large limits), an answer holds distinct, enabled items, as many as
//! asked or as there are, and every item can come up.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::harness::*;
use crate::on_both_engines;

/// The ids of a list answer, in order.
fn ids(doc: &Value) -> Vec<String> {
    doc.as_array()
        .unwrap_or_else(|| panic!("not a list: {doc}"))
        .iter()
        .map(|item| {
            item["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no id: {item}"))
                .to_string()
        })
        .collect()
}

/// One `stats` random call; `limit` None leaves the parameter out (default 10).
async fn random(
    server: &TestServer,
    token: &str,
    kind: &str,
    limit: Option<&str>,
    offset: Option<&str>,
) -> Vec<String> {
    let mut params = vec![("type", kind), ("filter", "random")];
    if let Some(limit) = limit {
        params.push(("limit", limit));
    }
    if let Some(offset) = offset {
        params.push(("offset", offset));
    }
    ids(&call(server, token, "stats", &params).await)
}

/// No duplicates, nothing outside `allowed`, and exactly min(wanted, allowed) items.
fn check(got: &[String], allowed: &HashSet<String>, wanted: usize, what: &str) {
    let distinct: HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), got.len(), "{what}: duplicates in {got:?}");
    for id in got {
        assert!(allowed.contains(id), "{what}: {id} is not allowed");
    }
    assert_eq!(
        got.len(),
        wanted.min(allowed.len()),
        "{what}: {got:?} of {}",
        allowed.len()
    );
}

async fn all_ids(server: &TestServer, table: &str) -> Vec<String> {
    server
        .query_strings(&format!("SELECT CAST(id AS TEXT) FROM {table} ORDER BY id"))
        .await
}

on_both_engines!(stats_random_samples, |server: TestServer| async move {
    let admin = server.admin_token().await;
    let songs = all_ids(&server, "songs").await;
    assert!(songs.len() >= 20, "{songs:?}");
    // Disable every fourth song: they are gaps the sampling must skip.
    let disabled: Vec<String> = songs.iter().step_by(4).cloned().collect();
    server
        .sql(&format!(
            "UPDATE songs SET enabled = 0 WHERE id IN ({})",
            disabled.join(", ")
        ))
        .await;
    let enabled: HashSet<String> = songs
        .iter()
        .filter(|id| !disabled.contains(id))
        .cloned()
        .collect();

    // Sampled sizes, the default (10), all there are, more than there are, and the
    // sorted fallback (limit=none, or over 1000); offset changes nothing.
    let count = enabled.len().to_string();
    for (limit, wanted) in [
        (Some("1"), 1),
        (Some("3"), 3),
        (None, 10),
        (Some("12"), 12),
        (Some(count.as_str()), enabled.len()),
        (Some("50"), 50),
        (Some("none"), usize::MAX),
        (Some("2000"), 2000),
    ] {
        for offset in [None, Some("100")] {
            for _ in 0..10 {
                let got = random(&server, &admin, "song", limit, offset).await;
                check(&got, &enabled, wanted, &format!("song limit {limit:?}"));
            }
        }
    }

    // Every enabled song comes up as the single pick; a sampler that favoured low ids
    // (or the order SQL returns hits in) would miss the highest ones.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let got = random(&server, &admin, "song", Some("1"), None).await;
        check(&got, &enabled, 1, "song limit 1");
        *seen.entry(got[0].clone()).or_default() += 1;
    }
    assert_eq!(seen.len(), enabled.len(), "picked: {seen:?}");

    // Albums and artists have no disabled rows.
    for table in ["albums", "artists"] {
        let kind = table.trim_end_matches('s');
        let all: HashSet<String> = all_ids(&server, table).await.into_iter().collect();
        for limit in ["2", "5", "100"] {
            for _ in 0..10 {
                let got = random(&server, &admin, kind, Some(limit), None).await;
                check(
                    &got,
                    &all,
                    limit.parse().unwrap(),
                    &format!("{kind} {limit}"),
                );
            }
        }
    }

    // Sparse: two enabled songs among many disabled ones.
    let keep = [songs[1].clone(), songs[songs.len() - 1].clone()];
    server
        .sql(&format!(
            "UPDATE songs SET enabled = 0 WHERE id NOT IN ({})",
            keep.join(", ")
        ))
        .await;
    let few: HashSet<String> = keep.into_iter().collect();
    for limit in [Some("1"), Some("2"), None, Some("none")] {
        for _ in 0..10 {
            let got = random(&server, &admin, "song", limit, None).await;
            let wanted = limit.map_or(10, |l| l.parse().unwrap_or(usize::MAX));
            check(&got, &few, wanted, &format!("sparse, limit {limit:?}"));
        }
    }
});
