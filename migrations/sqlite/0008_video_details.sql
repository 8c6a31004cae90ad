-- What the video scanner reads beyond the first schema's columns: the codecs, and
-- the poster (an image file beside the video, or the cover in its tags), kept like
-- an album's art. Lists are sorted by title, so the title has an index.

ALTER TABLE videos ADD COLUMN video_codec TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN audio_codec TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN art_kind TEXT;
ALTER TABLE videos ADD COLUMN art_path TEXT;
ALTER TABLE videos ADD COLUMN art_mime TEXT;
CREATE INDEX videos_title ON videos (title_folded, id);
