//! The schema, as an ordered list of migrations written once for both engines.
//!
//! Each migration is plain SQL with a few dialect tokens, replaced before it runs:
//! `{pk}` (an auto-increment 64-bit primary key whose ids are never reused, so
//! clients' caches never see an id change meaning), `{int}`, `{real}`, `{blob}`.
//! Every integer column is 64-bit on both engines so that rows decode the same way.
//!
//! The first migration plans the whole API (playlists, ratings, plays, social,
//! videos, democratic play, localplay) so later features add queries, not rewrites.

/// A migration's SQL: the same for both engines, or one text per engine.
pub enum Migration {
    Both(&'static str),
    PerEngine {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

/// (version, name, sql). Versions are applied in order and recorded in `schema_migrations`.
pub const MIGRATIONS: &[(i64, &str, Migration)] = &[
    (1, "initial schema", Migration::Both(INITIAL)),
    (
        2,
        "labels, custom metadata, art sizes, title and year index",
        Migration::Both(SEARCH_FIELDS),
    ),
    (
        3,
        "genre pair indexes for counts kept per batch",
        Migration::Both(GENRE_PAIRS),
    ),
    (
        4,
        "full-text index of song titles and search text",
        Migration::PerEngine {
            sqlite: TEXT_INDEX_SQLITE,
            postgres: TEXT_INDEX_POSTGRES,
        },
    ),
    (
        5,
        "text folded in Rust for every case-insensitive comparison",
        Migration::Both(FOLDED_TEXT),
    ),
    (
        8,
        "catalog tasks: who runs which pass on a catalog, and its progress",
        Migration::Both(CATALOG_TASKS),
    ),
];

/// One row per catalog: the lease of the process running a pass on it (so that
/// processes sharing a database never run two at once: a claim is one conditional
/// UPDATE, atomic on both engines), the pass's progress for the API, and the outcome
/// of the last one. A lease whose heartbeat stopped (its process died) is taken over.
const CATALOG_TASKS: &str = r#"
CREATE TABLE catalog_tasks (
    catalog_id {int} PRIMARY KEY REFERENCES catalogs (id) ON DELETE CASCADE,
    owner TEXT,
    task TEXT NOT NULL DEFAULT '',
    heartbeat {int} NOT NULL DEFAULT 0,
    started {int} NOT NULL DEFAULT 0,
    files_done {int} NOT NULL DEFAULT 0,
    files_total {int} NOT NULL DEFAULT 0,
    last_task TEXT NOT NULL DEFAULT '',
    last_result TEXT NOT NULL DEFAULT '',
    last_finished {int} NOT NULL DEFAULT 0,
    last_rescan {int} NOT NULL DEFAULT 0
);
"#;

/// Case-insensitive matching compares columns folded by tonearm (Rust's Unicode
/// lower case), never the engine's `LOWER()`: SQLite's folds ASCII only, so "Ø" or
/// "É" matched on PostgreSQL and not on SQLite. The store fills these columns for
/// rows that exist once, after this migration (`backfill_folded`), without reading
/// any tag again.
const FOLDED_TEXT: &str = r#"
ALTER TABLE songs ADD COLUMN composer_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE songs ADD COLUMN comment_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE songs ADD COLUMN lyrics_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE songs ADD COLUMN path_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN path_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE playlists ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE smart_playlists ADD COLUMN name_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN username_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE labels ADD COLUMN category_folded TEXT NOT NULL DEFAULT '';
INSERT INTO meta (key, value) VALUES ('folded_backfill', 'pending');
"#;

/// Substring search through an index: `search_songs`, the `filter` of song lists
/// and the text rules of advanced_search found their words by reading every title
/// (31 ms for search_songs at 100,000 songs on SQLite, 99 ms on PostgreSQL).
///
/// SQLite: an FTS5 table with the trigram tokenizer over the folded title and search
/// text, kept by triggers, so any substring of three characters or more is an index
/// lookup. It holds no copy of the text (`content='songs'`).
const TEXT_INDEX_SQLITE: &str = r#"
CREATE VIRTUAL TABLE songs_fts USING fts5(title_folded, search_text, content='songs', content_rowid='id', tokenize='trigram');
INSERT INTO songs_fts (songs_fts) VALUES ('rebuild');
CREATE TRIGGER songs_fts_insert AFTER INSERT ON songs BEGIN INSERT INTO songs_fts (rowid, title_folded, search_text) VALUES (new.id, new.title_folded, new.search_text); END;
CREATE TRIGGER songs_fts_delete AFTER DELETE ON songs BEGIN INSERT INTO songs_fts (songs_fts, rowid, title_folded, search_text) VALUES ('delete', old.id, old.title_folded, old.search_text); END;
CREATE TRIGGER songs_fts_update AFTER UPDATE OF title_folded, search_text ON songs BEGIN INSERT INTO songs_fts (songs_fts, rowid, title_folded, search_text) VALUES ('delete', old.id, old.title_folded, old.search_text); INSERT INTO songs_fts (rowid, title_folded, search_text) VALUES (new.id, new.title_folded, new.search_text); END;
"#;

/// PostgreSQL: trigram GIN indexes (pg_trgm), which `LIKE '%word%'` uses as it is.
const TEXT_INDEX_POSTGRES: &str = r#"
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX songs_title_trgm ON songs USING gin (title_folded gin_trgm_ops);
CREATE INDEX songs_search_trgm ON songs USING gin (search_text gin_trgm_ops);
"#;

/// Genre counts are refreshed in every scan batch from the pair tables: counting a
/// genre's albums and artists reads these indexes instead of joining its songs.
const GENRE_PAIRS: &str = r#"
CREATE INDEX album_genres_genre ON album_genres (genre_id);
CREATE INDEX artist_genres_genre ON artist_genres (genre_id);
"#;

const INITIAL: &str = r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE catalogs (
    id {pk},
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    enabled {int} NOT NULL DEFAULT 1,
    last_add {int} NOT NULL DEFAULT 0,
    last_update {int} NOT NULL DEFAULT 0,
    last_clean {int} NOT NULL DEFAULT 0,
    dirty {int} NOT NULL DEFAULT 0,
    created {int} NOT NULL
);

CREATE TABLE artists (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    name_folded TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    mbid TEXT,
    album_count {int} NOT NULL DEFAULT 0,
    song_count {int} NOT NULL DEFAULT 0,
    total_time {int} NOT NULL DEFAULT 0,
    created {int} NOT NULL,
    updated {int} NOT NULL
);
CREATE INDEX artists_sort ON artists (sort_name, id);
CREATE INDEX artists_folded ON artists (name_folded);

CREATE TABLE albums (
    id {pk},
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    album_artist_id {int} NOT NULL REFERENCES artists (id),
    year {int} NOT NULL DEFAULT 0,
    disc_count {int} NOT NULL DEFAULT 1,
    mbid TEXT,
    song_count {int} NOT NULL DEFAULT 0,
    total_time {int} NOT NULL DEFAULT 0,
    art_kind TEXT,
    art_path TEXT,
    art_mime TEXT,
    created {int} NOT NULL,
    updated {int} NOT NULL,
    UNIQUE (name, album_artist_id)
);
CREATE INDEX albums_sort ON albums (sort_name, id);
CREATE INDEX albums_folded ON albums (name_folded);
CREATE INDEX albums_artist ON albums (album_artist_id);

CREATE TABLE genres (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    name_folded TEXT NOT NULL,
    song_count {int} NOT NULL DEFAULT 0,
    album_count {int} NOT NULL DEFAULT 0,
    artist_count {int} NOT NULL DEFAULT 0
);

CREATE TABLE songs (
    id {pk},
    catalog_id {int} NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size {int} NOT NULL,
    mtime {int} NOT NULL,
    title TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    -- Folded title, artists, album, composer, comment, genres and file name: what
    -- search_songs matches "anywhere" against, in one column scan.
    search_text TEXT NOT NULL DEFAULT '',
    artist_id {int} NOT NULL REFERENCES artists (id),
    album_id {int} NOT NULL REFERENCES albums (id),
    album_artist_id {int} REFERENCES artists (id),
    track {int} NOT NULL DEFAULT 0,
    track_total {int} NOT NULL DEFAULT 0,
    disc {int} NOT NULL DEFAULT 0,
    disc_total {int} NOT NULL DEFAULT 0,
    year {int} NOT NULL DEFAULT 0,
    composer TEXT,
    comment TEXT,
    lyrics TEXT,
    mbid TEXT,
    album_mbid TEXT,
    artist_mbid TEXT,
    album_artist_mbid TEXT,
    rg_track_gain {real},
    rg_track_peak {real},
    rg_album_gain {real},
    rg_album_peak {real},
    duration {real} NOT NULL DEFAULT 0,
    bitrate {int} NOT NULL DEFAULT 0,
    sample_rate {int} NOT NULL DEFAULT 0,
    channels {int} NOT NULL DEFAULT 0,
    mime TEXT NOT NULL,
    embedded_art {int} NOT NULL DEFAULT 0,
    enabled {int} NOT NULL DEFAULT 1,
    created {int} NOT NULL,
    updated {int} NOT NULL
);
CREATE INDEX songs_catalog ON songs (catalog_id);
CREATE INDEX songs_title ON songs (enabled, title_folded, id);
CREATE INDEX songs_artist ON songs (artist_id);
CREATE INDEX songs_album ON songs (album_id, disc, track);
CREATE INDEX songs_album_artist ON songs (album_artist_id);
CREATE INDEX songs_created ON songs (created);
CREATE INDEX songs_updated ON songs (updated);

-- Every artist credited on a song, in tag order; songs.artist_id is the first.
CREATE TABLE song_artists (
    song_id {int} NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    position {int} NOT NULL,
    artist_id {int} NOT NULL REFERENCES artists (id),
    PRIMARY KEY (song_id, position)
);
CREATE INDEX song_artists_artist ON song_artists (artist_id);

CREATE TABLE song_genres (
    song_id {int} NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    genre_id {int} NOT NULL REFERENCES genres (id),
    PRIMARY KEY (song_id, genre_id)
);
CREATE INDEX song_genres_genre ON song_genres (genre_id);

-- The genres of each album and artist (those of their songs), rebuilt by every scan
-- that changes something, so lists read them instead of aggregating songs.
CREATE TABLE album_genres (
    album_id {int} NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    genre_id {int} NOT NULL REFERENCES genres (id) ON DELETE CASCADE,
    PRIMARY KEY (album_id, genre_id)
);
CREATE TABLE artist_genres (
    artist_id {int} NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    genre_id {int} NOT NULL REFERENCES genres (id) ON DELETE CASCADE,
    PRIMARY KEY (artist_id, genre_id)
);

-- Files a scan looked at and could not use, so that a rescan does not retry
-- unchanged bad files and so that users can see why a file is missing.
CREATE TABLE skipped_files (
    id {pk},
    catalog_id {int} NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size {int} NOT NULL,
    mtime {int} NOT NULL,
    reason TEXT NOT NULL,
    seen {int} NOT NULL
);

CREATE TABLE videos (
    id {pk},
    catalog_id {int} NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size {int} NOT NULL,
    mtime {int} NOT NULL,
    title TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    mime TEXT NOT NULL,
    duration {real} NOT NULL DEFAULT 0,
    bitrate {int} NOT NULL DEFAULT 0,
    resolution_x {int} NOT NULL DEFAULT 0,
    resolution_y {int} NOT NULL DEFAULT 0,
    enabled {int} NOT NULL DEFAULT 1,
    created {int} NOT NULL,
    updated {int} NOT NULL
);

CREATE TABLE users (
    id {pk},
    username TEXT NOT NULL UNIQUE,
    fullname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    fullname_public {int} NOT NULL DEFAULT 0,
    access {int} NOT NULL,
    -- hex(sha256(password)): the API4 handshake is defined over this value.
    password_hash TEXT NOT NULL,
    apikey TEXT UNIQUE,
    -- hex(sha256(username + hex(sha256(apikey)))): the hashed API-key handshake form,
    -- kept so that a login is one indexed lookup instead of a pass over every user.
    apikey_auth TEXT UNIQUE,
    disabled {int} NOT NULL DEFAULT 0,
    created {int} NOT NULL,
    last_seen {int} NOT NULL DEFAULT 0
);

-- Sessions live in the store so that any tonearm process sharing the database
-- accepts a token another one issued.
CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    api_version {int} NOT NULL,
    expire {int} NOT NULL,
    created {int} NOT NULL,
    geo_latitude TEXT,
    geo_longitude TEXT,
    geo_name TEXT
);
CREATE INDEX sessions_expire ON sessions (expire);
CREATE INDEX sessions_user ON sessions (user_id);

-- IP ranges as fixed-width hex keys (IPv4 mapped into IPv6) so that a range test is
-- a plain string comparison on both engines.
CREATE TABLE acls (
    id {pk},
    name TEXT NOT NULL,
    start_ip TEXT NOT NULL,
    end_ip TEXT NOT NULL,
    start_key TEXT NOT NULL,
    end_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id {int} REFERENCES users (id) ON DELETE CASCADE,
    level {int} NOT NULL
);

CREATE TABLE playlists (
    id {pk},
    name TEXT NOT NULL,
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public {int} NOT NULL DEFAULT 0,
    created {int} NOT NULL,
    updated {int} NOT NULL
);
CREATE INDEX playlists_user ON playlists (user_id);

CREATE TABLE playlist_items (
    playlist_id {int} NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position {int} NOT NULL,
    song_id {int} NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    PRIMARY KEY (playlist_id, position)
);

CREATE TABLE smart_playlists (
    id {pk},
    name TEXT NOT NULL,
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public {int} NOT NULL DEFAULT 0,
    rules TEXT NOT NULL,
    match_operator TEXT NOT NULL DEFAULT 'and',
    random {int} NOT NULL DEFAULT 0,
    item_limit {int} NOT NULL DEFAULT 0,
    created {int} NOT NULL,
    updated {int} NOT NULL
);

CREATE TABLE ratings (
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id {int} NOT NULL,
    rating {int} NOT NULL,
    updated {int} NOT NULL,
    PRIMARY KEY (user_id, object_kind, object_id)
);
CREATE INDEX ratings_object ON ratings (object_kind, object_id);

CREATE TABLE flags (
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id {int} NOT NULL,
    created {int} NOT NULL,
    PRIMARY KEY (user_id, object_kind, object_id)
);

CREATE TABLE plays (
    id {pk},
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id {int} NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    played_at {int} NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    geo_latitude TEXT,
    geo_longitude TEXT,
    geo_name TEXT
);
CREATE INDEX plays_user_time ON plays (user_id, played_at);
CREATE INDEX plays_song ON plays (song_id);

CREATE TABLE follows (
    follower_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created {int} NOT NULL,
    PRIMARY KEY (follower_id, followed_id)
);

CREATE TABLE shouts (
    id {pk},
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id {int} NOT NULL,
    text TEXT NOT NULL,
    sticky {int} NOT NULL DEFAULT 0,
    created {int} NOT NULL
);

CREATE TABLE activity (
    id {pk},
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id {int} NOT NULL,
    created {int} NOT NULL
);
CREATE INDEX activity_user_time ON activity (user_id, created);

CREATE TABLE democratic_votes (
    user_id {int} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id {int} NOT NULL,
    created {int} NOT NULL,
    PRIMARY KEY (user_id, object_kind, object_id)
);

CREATE TABLE localplay_instances (
    id {pk},
    user_id {int} REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port {int} NOT NULL,
    password TEXT NOT NULL DEFAULT ''
);
"#;

/// What advanced_search's `label`, `metadata`, `image_width` and `image_height` rules
/// need, and a covering index for its most common pair of rules (title, year).
///
/// Songs already scanned get an impossible mtime, so that the next scan reads their
/// tags again and fills in labels, metadata and art sizes.
const SEARCH_FIELDS: &str = r#"
-- Record labels (publishers), from the LABEL / ORGANIZATION / TPUB tags.
CREATE TABLE labels (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    name_folded TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT ''
);
ALTER TABLE songs ADD COLUMN label_id {int} REFERENCES labels (id);
CREATE INDEX songs_label ON songs (label_id);

-- Tags the song columns do not hold (BPM, ISRC, MOOD, custom TXXX or Vorbis
-- fields, ...): advanced_search's `metadata` rules, with rule_N_subtype naming the
-- field by id or by name.
CREATE TABLE metadata_fields (
    id {pk},
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE song_metadata (
    song_id {int} NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    field_id {int} NOT NULL REFERENCES metadata_fields (id),
    value TEXT NOT NULL,
    value_folded TEXT NOT NULL,
    -- The value as a number when it is one (BPM 128), for numeric comparisons.
    value_number {real},
    PRIMARY KEY (song_id, field_id)
);
CREATE INDEX song_metadata_field ON song_metadata (field_id);

-- Pixel sizes of art: a song's embedded picture, and an album's chosen art.
ALTER TABLE songs ADD COLUMN art_width {int} NOT NULL DEFAULT 0;
ALTER TABLE songs ADD COLUMN art_height {int} NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN art_width {int} NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN art_height {int} NOT NULL DEFAULT 0;

-- Enabled songs by title, with their year: lists in title order, and searches on
-- title and year, read this index alone, never the wide rows. Partial rather than
-- led by `enabled`, so that no planner takes `enabled = 1` for a selective key and
-- walks every song through it when it should look ids up or scan the table.
DROP INDEX songs_title;
CREATE INDEX songs_title ON songs (title_folded, id, year, enabled) WHERE enabled = 1;

UPDATE songs SET mtime = -1;
"#;
