-- Nothing on SQLite: its in-memory song order is checked against the counter of
-- step 12 (one writer at a time, so that row is no point of contention). The
-- PostgreSQL step of the same number gives PostgreSQL a log instead.
SELECT 1;
