-- Dashboard sessions, shared by every node and kept across restarts: the SHA-256 of the
-- session id (never the id) and when it expires (Unix seconds).
CREATE TABLE sessions (
    hash       BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
