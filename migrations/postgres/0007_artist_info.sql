-- What update_artist_info fetches (biography summary, where and when the artist
-- formed; the MusicBrainz id already has a column) and an artist's own picture
-- (update_art): before this, an artist only ever showed an album's art.

ALTER TABLE artists ADD COLUMN summary TEXT;
ALTER TABLE artists ADD COLUMN placeformed TEXT;
ALTER TABLE artists ADD COLUMN placeformed_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE artists ADD COLUMN yearformed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE artists ADD COLUMN info_updated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE artists ADD COLUMN art_kind TEXT;
ALTER TABLE artists ADD COLUMN art_path TEXT;
ALTER TABLE artists ADD COLUMN art_mime TEXT;
