-- Dashboard sessions, shared by every node and kept across restarts: the SHA-256 of the
-- session id (never the id) and when it expires (Unix seconds).
CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
