//! The advanced-search rule compiler, run for real on SQLite: any field, operator
//! number and input give results or a rule error, never a panic and never SQL the
//! engine refuses (which would mean input reached the SQL text).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tonearm::api::search_operators;
use tonearm::model::{Rule, SearchType};
use tonearm::store::search::{field_kind, Search};
use tonearm::store::{Store, StoreError};

const TYPES: &[&str] = &[
    "song", "album", "artist", "playlist", "user", "video", "label",
];
const FIELDS: &[&str] = &[
    "anywhere",
    "title",
    "name",
    "album",
    "artist",
    "composer",
    "comment",
    "lyrics",
    "file",
    "label",
    "metadata",
    "playlist_name",
    "favorite",
    "tag",
    "album_tag",
    "artist_tag",
    "year",
    "time",
    "bitrate",
    "myrating",
    "rating",
    "albumrating",
    "artistrating",
    "played_times",
    "skipped_times",
    "play_skip_ratio",
    "last_play",
    "played",
    "myplayed",
    "myplayedalbum",
    "myplayedartist",
    "other_user",
    "other_user_album",
    "other_user_artist",
    "license",
    "playlist",
    "catalog",
    "added",
    "updated",
    "recent_added",
    "recent_updated",
    "smartplaylist",
    "original_year",
    "has_image",
    "image_width",
    "image_height",
    "placeformed",
    "yearformed",
    "username",
    "category",
    "filename",
    "release_type",
];

struct World {
    runtime: tokio::runtime::Runtime,
    store: Store,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = runtime
            .block_on(Store::open(&Store::sqlite_url(dir.path())))
            .unwrap();
        World {
            runtime,
            store,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // Bytes: type, then per rule: field, operator number, input length; then inputs.
    let Some((&kind, mut rest)) = data.split_first() else {
        return;
    };
    let kind_text = TYPES[kind as usize % TYPES.len()];
    let kind = SearchType::parse(kind_text).unwrap();
    let mut rules = Vec::new();
    while rest.len() >= 3 && rules.len() < 8 {
        let field = FIELDS[rest[0] as usize % FIELDS.len()];
        let number = rest[1] as i64 - 2;
        let length = (rest[2] as usize).min(rest.len() - 3);
        let input = String::from_utf8_lossy(&rest[3..3 + length]).into_owned();
        // What the API front lets through: it refuses control characters (but tab
        // and line breaks) in any parameter.
        if input
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return;
        }
        rest = &rest[3 + length..];
        let Some(field_kind) = field_kind(kind, field) else {
            continue;
        };
        let Some(operator) = search_operators::operator(field_kind, number) else {
            continue;
        };
        rules.push(Rule {
            field: field.to_string(),
            operator,
            input,
            subtype: Some("1".into()),
        });
    }
    if rules.is_empty() {
        return;
    }
    let search = Search {
        kind,
        rules,
        any: data.len() % 2 == 0,
        random: false,
    };
    let w = world();
    match w
        .runtime
        .block_on(w.store.search_ids(1, true, &search, 0, 10))
    {
        Ok(_) => {}
        Err(StoreError::Engine(e)) => {
            panic!("the engine refused a compiled search: {e}\n{search:?}")
        }
        Err(_) => {}
    }
});
