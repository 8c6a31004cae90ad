//! Case-insensitive matching of non-ASCII text is the same on both engines: it
//! compares text folded by tonearm, never the engine's LOWER() (SQLite's folds ASCII
//! only, so "Ø" never matched "ø" there).

use serde_json::Value;

use crate::harness::*;
use crate::on_both_engines;

fn count(doc: &Value) -> usize {
    doc.as_array().map_or(0, Vec::len)
}

async fn search(server: &TestServer, token: &str, kind: &str, field: &str, input: &str) -> Value {
    server
        .json(&[
            ("action", "advanced_search"),
            ("auth", token),
            ("type", kind),
            ("rule_1", field),
            ("rule_1_operator", "0"),
            ("rule_1_input", input),
        ])
        .await
}

/// Gives one song a composer written in capitals with non-ASCII letters.
fn tag_composer(server: &TestServer) {
    use lofty::config::WriteOptions;
    use lofty::prelude::*;
    let path = server
        .music
        .join("The Testers/Format Parade/02 - FLAC Tone.flac");
    let mut tagged = lofty::read_from_path(&path).unwrap();
    let tag = tagged.primary_tag_mut().unwrap();
    tag.insert_text(ItemKey::Composer, "ÉMILE ØSTERGAARD".to_string());
    tag.save_to_path(&path, WriteOptions::default()).unwrap();
    server.cli(&["scan"]).expect("the rescan succeeds");
}

on_both_engines!(
    non_ascii_text_matches_alike_on_both_engines,
    |server: TestServer| async move {
        tag_composer(&server);
        let token = server.admin_token().await;
        let t = token.as_str();
        let playlist = create_playlist(&server, t, "ÆRØ Mix", "public").await;
        let songs = call(&server, t, "songs", &[]).await;
        let song = songs[0]["id"].as_str().unwrap().to_string();
        call(
            &server,
            t,
            "playlist_add_song",
            &[("filter", &playlist), ("song", &song)],
        )
        .await;

        let check = |label: &'static str| {
            let server = &server;
            async move {
                // The composer, in lower case and in capitals.
                for input in ["émile østergaard", "ÉMILE Ø"] {
                    let found = search(server, t, "song", "composer", input).await;
                    assert_eq!(count(&found), 1, "{label}: composer {input}: {found}");
                }
                // The folder "Björk Ø" in the file path.
                let found = search(server, t, "song", "file", "björk ø").await;
                assert_eq!(count(&found), 2, "{label}: file: {found}");
                // The playlist by name: as a playlist, and through its songs.
                let found = search(server, t, "playlist", "name", "ærø").await;
                assert_eq!(count(&found), 1, "{label}: playlist: {found}");
                let found = search(server, t, "song", "playlist_name", "ærø mix").await;
                assert_eq!(count(&found), 1, "{label}: playlist_name: {found}");
                let listed = call(server, t, "playlists", &[("filter", "ærø")]).await;
                assert_eq!(count(&listed), 1, "{label}: playlists filter: {listed}");
            }
        };
        check("as written").await;

        // A database from before the folded columns: they are filled once, when the
        // store opens, from the stored text alone.
        server
        .sql(
            "UPDATE songs SET composer_folded = '', comment_folded = '', lyrics_folded = '', path_folded = ''",
        )
        .await;
        server.sql("UPDATE playlists SET name_folded = ''").await;
        server
            .sql("UPDATE meta SET value = 'pending' WHERE key = 'folded_backfill'")
            .await;
        assert_eq!(
            count(&search(&server, t, "song", "file", "björk ø").await),
            0
        );
        server.cli(&["user", "list"]).expect("the store opens");
        check("after the upgrade").await;
    }
);
