-- Secrets at rest and handshake abuse.

-- Session tokens are kept only as hex(sha256(token)); a lookup hashes what the client
-- sent. Tokens issued before this step were stored in clear: they are dropped (their
-- clients log in again).
DELETE FROM sessions;
ALTER TABLE sessions RENAME COLUMN token TO token_hash;

-- API keys are kept only as hex(sha256(key)), all that both API-key handshakes need
-- (the hashed one is sha256(username + sha256(key)), kept in apikey_auth). Rust fills
-- this from the clear `apikey` column after the step and empties that column, which
-- stays unused (kept as in the SQLite schema).
ALTER TABLE users ADD COLUMN apikey_hash TEXT;
CREATE UNIQUE INDEX users_apikey_hash ON users (apikey_hash);

-- Failed handshakes per client address ('ip:ADDR') and per user name ('user:NAME'),
-- in the store so that every process on one database counts them together.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure BIGINT NOT NULL
);

-- Password handshakes already accepted, as hex(sha256(timestamp + ':' + auth)), kept
-- until their timestamp leaves the window, so a captured pair logs in only once.
CREATE TABLE used_handshakes (
    auth_hash TEXT PRIMARY KEY,
    expire BIGINT NOT NULL
);
CREATE INDEX used_handshakes_expire ON used_handshakes (expire);
