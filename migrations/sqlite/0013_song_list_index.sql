-- The whole song list (`songs` without a filter, by folded title then id) read from
-- one index that holds every column a list shows. A page's rows then lie side by
-- side in title order: a 5000-song page reads ~300 index pages one after another,
-- where fetching its rows by id read ~4,000 table pages scattered over the 40 MB
-- table (two thirds of the store's time on that page went to those reads and the
-- seeks). 18 MB at 100,000 songs; built in 0.35 s. songs_title stays: paging ids
-- reads it, and it is there while a first scan defers this one (deferred_indexes.rs,
-- which holds the same statement).
CREATE INDEX songs_list ON songs (
    title_folded, id, title, artist_id, album_id, album_artist_id, disc, track, path,
    duration, year, bitrate, sample_rate, channels, mime, size, mbid, album_mbid,
    artist_mbid, album_artist_mbid, composer, comment, catalog_id, rg_album_gain,
    rg_album_peak, rg_track_gain, rg_track_peak, enabled
) WHERE enabled = 1;
