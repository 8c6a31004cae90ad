-- A log of changes to the order of the whole song list (a song added, removed,
-- enabled or disabled, or retitled), so that a process can keep that order in memory
-- as SQLite's processes do (step 12) and page at any offset without walking the
-- index up to it (5,000 songs at offset 95,000 of 100,000 walked 95,000 entries:
-- 6 ms of PostgreSQL's CPU on top of the page's 20).
--
-- Not a counter row: every writer would update that one row and hold its lock to
-- its commit, serialising PostgreSQL's concurrent writers (and deadlocking two that
-- touch the same songs in different orders). Each writing statement inserts a row of
-- its own instead, from a statement-level trigger: inserts by different transactions
-- never wait for each other, and a scan batch of hundreds of songs adds one row.
--
-- A reader labels its copy with the log's row count and highest id, read before the
-- order. A sequence hands out ids before commit, so a write may commit after another
-- with a higher id: the highest id alone could miss it, the count cannot (rows are
-- only ever added, except by compaction, which adds a row of a higher id too).
CREATE TABLE song_order_log (id BIGSERIAL PRIMARY KEY);
INSERT INTO song_order_log DEFAULT VALUES;

CREATE FUNCTION song_order_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO song_order_log DEFAULT VALUES;
    RETURN NULL;
END;
$$;

CREATE TRIGGER song_order_insert_delete AFTER INSERT OR DELETE ON songs
    FOR EACH STATEMENT EXECUTE FUNCTION song_order_logged();
CREATE TRIGGER song_order_update AFTER UPDATE OF title_folded, enabled ON songs
    FOR EACH STATEMENT EXECUTE FUNCTION song_order_logged();
CREATE TRIGGER song_order_truncate AFTER TRUNCATE ON songs
    FOR EACH STATEMENT EXECUTE FUNCTION song_order_logged();
