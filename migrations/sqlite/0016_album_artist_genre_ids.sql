-- Albums' and artists' genre ids in their own rows ("3,17"; '' for none), as songs
-- keep theirs (migration 15): kept with the genre pair tables by the scanner's
-- counts (counts.rs), so a page of albums or artists reads its genres with its rows
-- instead of by a query per batch of 250. Filled here from the pair tables.
ALTER TABLE albums ADD COLUMN genre_ids TEXT NOT NULL DEFAULT '';
ALTER TABLE artists ADD COLUMN genre_ids TEXT NOT NULL DEFAULT '';
UPDATE albums SET genre_ids = COALESCE(
    (SELECT string_agg(CAST(g.genre_id AS TEXT), ',') FROM album_genres g WHERE g.album_id = albums.id), '');
UPDATE artists SET genre_ids = COALESCE(
    (SELECT string_agg(CAST(g.genre_id AS TEXT), ',') FROM artist_genres g WHERE g.artist_id = artists.id), '');
