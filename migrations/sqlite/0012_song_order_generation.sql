-- A counter of changes to the order of the whole song list (a song added, removed,
-- enabled or disabled, or retitled), kept by triggers so that no writer can forget
-- it. A process keeps that order in memory and reads this counter to know whether
-- its copy still holds; a page at any offset then costs the same (the covering
-- index walked up to the offset cost 0.75 ms at offset 50,000 of 100,000).
-- SQLite has one writer at a time, so the counter row is no point of contention.
CREATE TABLE song_order_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO song_order_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER song_order_insert AFTER INSERT ON songs
BEGIN
    UPDATE song_order_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER song_order_delete AFTER DELETE ON songs
BEGIN
    UPDATE song_order_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER song_order_update AFTER UPDATE OF title_folded, enabled ON songs
WHEN old.title_folded IS NOT new.title_folded OR old.enabled IS NOT new.enabled
BEGIN
    UPDATE song_order_generation SET generation = generation + 1 WHERE id = 1;
END;
