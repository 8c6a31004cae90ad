-- The initial schema. It plans the whole API (playlists, ratings, plays, social,
-- videos, democratic play, localplay) so that later features add queries, not rewrites.
-- Every integer column is 64-bit so that rows decode the same way on both engines, and
-- primary keys are never reused, so clients' caches never see an id change meaning.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE catalogs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    last_add INTEGER NOT NULL DEFAULT 0,
    last_update INTEGER NOT NULL DEFAULT 0,
    last_clean INTEGER NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);

CREATE TABLE artists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    name_folded TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    mbid TEXT,
    album_count INTEGER NOT NULL DEFAULT 0,
    song_count INTEGER NOT NULL DEFAULT 0,
    total_time INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX artists_sort ON artists (sort_name, id);
CREATE INDEX artists_folded ON artists (name_folded);

CREATE TABLE albums (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    album_artist_id INTEGER NOT NULL REFERENCES artists (id),
    year INTEGER NOT NULL DEFAULT 0,
    disc_count INTEGER NOT NULL DEFAULT 1,
    mbid TEXT,
    song_count INTEGER NOT NULL DEFAULT 0,
    total_time INTEGER NOT NULL DEFAULT 0,
    art_kind TEXT,
    art_path TEXT,
    art_mime TEXT,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (name, album_artist_id)
);
CREATE INDEX albums_sort ON albums (sort_name, id);
CREATE INDEX albums_folded ON albums (name_folded);
CREATE INDEX albums_artist ON albums (album_artist_id);

CREATE TABLE genres (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    name_folded TEXT NOT NULL,
    song_count INTEGER NOT NULL DEFAULT 0,
    album_count INTEGER NOT NULL DEFAULT 0,
    artist_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE songs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    catalog_id INTEGER NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    title TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    -- Folded title, artists, album, composer, comment, genres and file name: what
    -- search_songs matches "anywhere" against, in one column scan.
    search_text TEXT NOT NULL DEFAULT '',
    artist_id INTEGER NOT NULL REFERENCES artists (id),
    album_id INTEGER NOT NULL REFERENCES albums (id),
    album_artist_id INTEGER REFERENCES artists (id),
    track INTEGER NOT NULL DEFAULT 0,
    track_total INTEGER NOT NULL DEFAULT 0,
    disc INTEGER NOT NULL DEFAULT 0,
    disc_total INTEGER NOT NULL DEFAULT 0,
    year INTEGER NOT NULL DEFAULT 0,
    composer TEXT,
    comment TEXT,
    lyrics TEXT,
    mbid TEXT,
    album_mbid TEXT,
    artist_mbid TEXT,
    album_artist_mbid TEXT,
    rg_track_gain REAL,
    rg_track_peak REAL,
    rg_album_gain REAL,
    rg_album_peak REAL,
    duration REAL NOT NULL DEFAULT 0,
    bitrate INTEGER NOT NULL DEFAULT 0,
    sample_rate INTEGER NOT NULL DEFAULT 0,
    channels INTEGER NOT NULL DEFAULT 0,
    mime TEXT NOT NULL,
    embedded_art INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
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
    song_id INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    artist_id INTEGER NOT NULL REFERENCES artists (id),
    PRIMARY KEY (song_id, position)
);
CREATE INDEX song_artists_artist ON song_artists (artist_id);

CREATE TABLE song_genres (
    song_id INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    genre_id INTEGER NOT NULL REFERENCES genres (id),
    PRIMARY KEY (song_id, genre_id)
);
CREATE INDEX song_genres_genre ON song_genres (genre_id);

-- The genres of each album and artist (those of their songs), rebuilt by every scan
-- that changes something, so lists read them instead of aggregating songs.
CREATE TABLE album_genres (
    album_id INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    genre_id INTEGER NOT NULL REFERENCES genres (id) ON DELETE CASCADE,
    PRIMARY KEY (album_id, genre_id)
);
CREATE TABLE artist_genres (
    artist_id INTEGER NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    genre_id INTEGER NOT NULL REFERENCES genres (id) ON DELETE CASCADE,
    PRIMARY KEY (artist_id, genre_id)
);

-- Files a scan looked at and could not use, so that a rescan does not retry
-- unchanged bad files and so that users can see why a file is missing.
CREATE TABLE skipped_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    catalog_id INTEGER NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    reason TEXT NOT NULL,
    seen INTEGER NOT NULL
);

CREATE TABLE videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    catalog_id INTEGER NOT NULL REFERENCES catalogs (id) ON DELETE CASCADE,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    title TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    mime TEXT NOT NULL,
    duration REAL NOT NULL DEFAULT 0,
    bitrate INTEGER NOT NULL DEFAULT 0,
    resolution_x INTEGER NOT NULL DEFAULT 0,
    resolution_y INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    fullname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    fullname_public INTEGER NOT NULL DEFAULT 0,
    access INTEGER NOT NULL,
    -- hex(sha256(password)): the API4 handshake is defined over this value.
    password_hash TEXT NOT NULL,
    apikey TEXT UNIQUE,
    -- hex(sha256(username + hex(sha256(apikey)))): the hashed API-key handshake form,
    -- kept so that a login is one indexed lookup instead of a pass over every user.
    apikey_auth TEXT UNIQUE,
    disabled INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    last_seen INTEGER NOT NULL DEFAULT 0
);

-- Sessions live in the store so that any tonearm process sharing the database
-- accepts a token another one issued.
CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    api_version INTEGER NOT NULL,
    expire INTEGER NOT NULL,
    created INTEGER NOT NULL,
    geo_latitude TEXT,
    geo_longitude TEXT,
    geo_name TEXT
);
CREATE INDEX sessions_expire ON sessions (expire);
CREATE INDEX sessions_user ON sessions (user_id);

-- IP ranges as fixed-width hex keys (IPv4 mapped into IPv6) so that a range test is
-- a plain string comparison on both engines.
CREATE TABLE acls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    start_ip TEXT NOT NULL,
    end_ip TEXT NOT NULL,
    start_key TEXT NOT NULL,
    end_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    level INTEGER NOT NULL
);

CREATE TABLE playlists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX playlists_user ON playlists (user_id);

CREATE TABLE playlist_items (
    playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    song_id INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    PRIMARY KEY (playlist_id, position)
);

CREATE TABLE smart_playlists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public INTEGER NOT NULL DEFAULT 0,
    rules TEXT NOT NULL,
    match_operator TEXT NOT NULL DEFAULT 'and',
    random INTEGER NOT NULL DEFAULT 0,
    item_limit INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);

CREATE TABLE ratings (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    rating INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (user_id, object_kind, object_id)
);
CREATE INDEX ratings_object ON ratings (object_kind, object_id);

CREATE TABLE flags (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (user_id, object_kind, object_id)
);

CREATE TABLE plays (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    played_at INTEGER NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    geo_latitude TEXT,
    geo_longitude TEXT,
    geo_name TEXT
);
CREATE INDEX plays_user_time ON plays (user_id, played_at);
CREATE INDEX plays_song ON plays (song_id);

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followed_id)
);

CREATE TABLE shouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    sticky INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);

CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX activity_user_time ON activity (user_id, created);

CREATE TABLE democratic_votes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (user_id, object_kind, object_id)
);

CREATE TABLE localplay_instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    password TEXT NOT NULL DEFAULT ''
);
