-- What advanced_search's `label`, `metadata`, `image_width` and `image_height` rules
-- need, and a covering index for its most common pair of rules (title, year).
-- Songs already scanned got an impossible mtime, so that the next scan read their
-- tags again and filled in labels, metadata and art sizes.

-- Record labels (publishers), from the LABEL / ORGANIZATION / TPUB tags.
CREATE TABLE labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    name_folded TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT ''
);
ALTER TABLE songs ADD COLUMN label_id INTEGER REFERENCES labels (id);
CREATE INDEX songs_label ON songs (label_id);

-- Tags the song columns do not hold (BPM, ISRC, MOOD, custom TXXX or Vorbis
-- fields, ...): advanced_search's `metadata` rules, with rule_N_subtype naming the
-- field by id or by name.
CREATE TABLE metadata_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE song_metadata (
    song_id INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES metadata_fields (id),
    value TEXT NOT NULL,
    value_folded TEXT NOT NULL,
    -- The value as a number when it is one (BPM 128), for numeric comparisons.
    value_number REAL,
    PRIMARY KEY (song_id, field_id)
);
CREATE INDEX song_metadata_field ON song_metadata (field_id);

-- Pixel sizes of art: a song's embedded picture, and an album's chosen art.
ALTER TABLE songs ADD COLUMN art_width INTEGER NOT NULL DEFAULT 0;
ALTER TABLE songs ADD COLUMN art_height INTEGER NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN art_width INTEGER NOT NULL DEFAULT 0;
ALTER TABLE albums ADD COLUMN art_height INTEGER NOT NULL DEFAULT 0;

-- Enabled songs by title, with their year: lists in title order, and searches on
-- title and year, read this index alone, never the wide rows. Partial rather than
-- led by `enabled`, so that no planner takes `enabled = 1` for a selective key and
-- walks every song through it when it should look ids up or scan the table.
DROP INDEX songs_title;
CREATE INDEX songs_title ON songs (title_folded, id, year, enabled) WHERE enabled = 1;

UPDATE songs SET mtime = -1;
