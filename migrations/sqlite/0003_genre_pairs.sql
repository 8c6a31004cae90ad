-- Genre counts are refreshed in every scan batch from the pair tables: counting a
-- genre's albums and artists reads these indexes instead of joining its songs.

CREATE INDEX album_genres_genre ON album_genres (genre_id);
CREATE INDEX artist_genres_genre ON artist_genres (genre_id);
