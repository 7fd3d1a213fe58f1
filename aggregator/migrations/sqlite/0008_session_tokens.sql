-- A session belongs to the token that opened it: it ends when the token is revoked and never
-- outlives the token's expiry (reads join the tokens table). Sessions opened before this
-- migration name no token and are ended: their users sign in again.
DROP TABLE sessions;
CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY,
    token_hash BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_token ON sessions (token_hash);
