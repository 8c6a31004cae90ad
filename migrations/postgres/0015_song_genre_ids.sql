-- Each song's genre ids in its own row ("3,17"; '' for none), written by the scanner
-- with its song_genres rows: a list reads a song's genres with the song instead of
-- by a second query per chunk, one index probe per song (a quarter of PostgreSQL's
-- CPU on a 5000-song page). song_genres stays the table that genre queries and
-- counts join. Filled here from song_genres, so no tag is read again.
ALTER TABLE songs ADD COLUMN genre_ids TEXT NOT NULL DEFAULT '';
UPDATE songs SET genre_ids = COALESCE(
    (SELECT string_agg(genre_id::TEXT, ',') FROM song_genres WHERE song_id = songs.id), '');
