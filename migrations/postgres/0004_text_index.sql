-- Substring search through an index: `search_songs`, the `filter` of song lists
-- and the text rules of advanced_search found their words by reading every title
-- (31 ms for search_songs at 100,000 songs on SQLite, 99 ms on PostgreSQL).
-- Trigram GIN indexes (pg_trgm), which `LIKE '%word%'` uses as it is. A big first
-- scan drops and rebuilds them (store/text_index.rs).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX songs_title_trgm ON songs USING gin (title_folded gin_trgm_ops);
CREATE INDEX songs_search_trgm ON songs USING gin (search_text gin_trgm_ops);
