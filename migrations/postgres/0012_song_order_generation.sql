-- Nothing on PostgreSQL: the in-memory order of the song list (see the SQLite step of
-- the same number) is SQLite's alone. On PostgreSQL several processes write at once,
-- and a counter row updated by every writer would serialise them (and could deadlock
-- two writers touching the same songs in different orders); a sequence is not
-- transactional, so a reader could label an old order with a new number.
SELECT 1;
