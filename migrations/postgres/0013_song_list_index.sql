-- Nothing on PostgreSQL: the SQLite step of the same number gives the whole song list
-- an index with every column a list shows, read in title order. PostgreSQL pages
-- still read their rows by id.
SELECT 1;
