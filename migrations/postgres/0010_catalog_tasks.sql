-- One row per catalog: the lease of the process running a pass on it (so that
-- processes sharing a database never run two at once: a claim is one conditional
-- UPDATE, atomic on both engines), the pass's progress for the API, and the outcome
-- of the last one. A lease whose heartbeat stopped (its process died) is taken over.

CREATE TABLE catalog_tasks (
    catalog_id BIGINT PRIMARY KEY REFERENCES catalogs (id) ON DELETE CASCADE,
    owner TEXT,
    task TEXT NOT NULL DEFAULT '',
    heartbeat BIGINT NOT NULL DEFAULT 0,
    started BIGINT NOT NULL DEFAULT 0,
    files_done BIGINT NOT NULL DEFAULT 0,
    files_total BIGINT NOT NULL DEFAULT 0,
    last_task TEXT NOT NULL DEFAULT '',
    last_result TEXT NOT NULL DEFAULT '',
    last_finished BIGINT NOT NULL DEFAULT 0,
    last_rescan BIGINT NOT NULL DEFAULT 0
);
