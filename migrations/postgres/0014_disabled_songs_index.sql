-- Nothing on PostgreSQL: the SQLite step of the same number indexes the disabled
-- songs for searches answered by the FTS5 table alone. PostgreSQL searches through
-- its trigram indexes on the song table itself, where `enabled` is on the row.
SELECT 1;
