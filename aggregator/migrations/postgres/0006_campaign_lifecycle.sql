-- A campaign can be closed (it stops accepting reports and stays readable; Unix seconds) and
-- can keep only its last N epochs of counters (retention; NULL: every epoch).
ALTER TABLE campaigns ADD COLUMN closed_at BIGINT;
ALTER TABLE campaigns ADD COLUMN retention_epochs BIGINT;
