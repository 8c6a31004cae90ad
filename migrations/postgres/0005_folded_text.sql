-- Case-insensitive matching compares columns folded by tonearm (Rust's Unicode
-- lower case), never the engine's LOWER(): SQLite's folds ASCII only, so "Ø" or
-- "É" matched on PostgreSQL and not on SQLite. The store fills these columns for
-- rows that exist once, after this migration (`backfill_folded`), without reading
-- any tag again.

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
