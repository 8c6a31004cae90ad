-- Each song's genre ids in its own row ("3,17"; '' for none), written by the scanner
-- with its song_genres rows: a list reads a song's genres with the song instead of
-- by a second query per chunk, one index probe per song (on PostgreSQL a quarter of
-- its CPU on a 5000-song page). song_genres stays the table that genre queries and
-- counts join. Filled here from song_genres, so no tag is read again.
ALTER TABLE songs ADD COLUMN genre_ids TEXT NOT NULL DEFAULT '';
UPDATE songs SET genre_ids = COALESCE(
    (SELECT group_concat(genre_id, ',') FROM song_genres WHERE song_id = songs.id), '');

-- The whole list's covering index (migration 13) holds the new column too;
-- deferred_indexes.rs holds the same statement.
DROP INDEX IF EXISTS songs_list;
CREATE INDEX songs_list ON songs (
    title_folded, id, title, artist_id, album_id, album_artist_id, disc, track, path,
    duration, year, bitrate, sample_rate, channels, mime, size, mbid, album_mbid,
    artist_mbid, album_artist_mbid, composer, comment, catalog_id, rg_album_gain,
    rg_album_peak, rg_track_gain, rg_track_peak, genre_ids, enabled
) WHERE enabled = 1;
