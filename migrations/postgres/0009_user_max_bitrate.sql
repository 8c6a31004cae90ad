-- A user's highest bitrate (kbit/s; 0: no limit of their own), which `user_update
-- maxbitrate=` sets (spec 5.11) and the play endpoint applies to every stream. It
-- lives in the store, not in a config file, so that the API can set it and every
-- process sharing the database applies it.

ALTER TABLE users ADD COLUMN max_bitrate BIGINT NOT NULL DEFAULT 0;
