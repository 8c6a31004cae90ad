-- The initial democratic_votes had no order among votes of one second; nothing
-- used it yet, so it is made again with an id that grows with every vote (the queue
-- plays equal votes in the order of their first vote). democratic_playing holds
-- the song the democratic stream started last, so that a player coming back for
-- the rest of it (a Range request) gets the same song, from any process.

DROP TABLE democratic_votes;
CREATE TABLE democratic_votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (user_id, object_kind, object_id)
);
CREATE INDEX democratic_votes_object ON democratic_votes (object_kind, object_id);

CREATE TABLE democratic_playing (
    queue_id INTEGER PRIMARY KEY,
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    started INTEGER NOT NULL
);
