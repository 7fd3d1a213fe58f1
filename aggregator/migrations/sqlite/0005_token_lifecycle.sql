-- Tokens expire and are revoked: an optional expiry (Unix seconds) and the last day (Unix
-- seconds / 86,400) each was used on, for `token list`.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_day INTEGER;
