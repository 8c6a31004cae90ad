//! Faults: a process killed with SIGKILL in the middle of writes loses nothing it
//! acknowledged, leaves a database that passes its integrity check, and the others
//! sharing the database go on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;
use crate::on_both_engines;

on_both_engines!(
    a_process_killed_during_playlist_writes_loses_nothing_acknowledged,
    |server: TestServer| async move {
        let token = server.admin_token().await;
        let songs = list_field(&server, &token, "songs", &[], "id").await;
        let playlist = create_playlist(&server, &token, "Crash", "public").await;
        let mut victim = server.second_process();
        let base = victim.base.clone();
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut writers = Vec::new();
        for w in 0..4 {
            let (client, base, token, playlist) = (
                client.clone(),
                base.clone(),
                token.clone(),
                playlist.clone(),
            );
            let (acknowledged, sent, songs) = (acknowledged.clone(), sent.clone(), songs.clone());
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let song = &songs[(w * 7 + i) % songs.len()];
                    let url = format!(
                        "{base}/server/json.server.php?{}",
                        encode_query(&[
                            ("action", "playlist_add_song"),
                            ("auth", &token),
                            ("filter", &playlist),
                            ("song", song),
                        ])
                    );
                    sent.fetch_add(1, Ordering::SeqCst);
                    let Ok(response) = client.get(url).send().await else {
                        break; // the process is gone
                    };
                    let Ok(text) = response.text().await else {
                        break;
                    };
                    let doc: serde_json::Value =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
                    assert!(doc.get("success").is_some(), "{doc}");
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        // Let the writes run, then kill the process under them.
        while acknowledged.load(Ordering::SeqCst) < 40 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        victim.kill();
        for writer in writers {
            writer.await.unwrap();
        }
        let acknowledged = acknowledged.load(Ordering::SeqCst);
        let sent = sent.load(Ordering::SeqCst);

        // The surviving process sees every acknowledged add; at most the four in
        // flight at the kill may have landed without their answer.
        let present = list_field(
            &server,
            &token,
            "playlist_songs",
            &[("filter", &playlist), ("limit", "none")],
            "id",
        )
        .await
        .len();
        assert!(
            present >= acknowledged && present <= sent,
            "{present} songs in the playlist, {acknowledged} adds acknowledged, {sent} sent"
        );
        if server.database_url.starts_with("sqlite:") {
            assert_eq!(server.query_strings("PRAGMA integrity_check").await, ["ok"]);
        }
        // And a new process on the same database works, reads and writes.
        let again = server.second_process();
        let added = again
            .json(&[
                ("action", "playlist_add_song"),
                ("auth", &token),
                ("filter", &playlist),
                ("song", &songs[0]),
            ])
            .await;
        assert!(added.get("success").is_some(), "{added}");
        let count = call(&server, &token, "playlist", &[("filter", &playlist)]).await;
        assert_eq!(
            count[0]["items"].as_u64(),
            Some(present as u64 + 1),
            "{count}"
        );
    }
);
