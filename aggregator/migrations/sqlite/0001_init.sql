-- Campaigns: the validated configuration as JSON, with its digest for a consistency check.
CREATE TABLE campaigns (
    id         TEXT PRIMARY KEY,
    config     TEXT NOT NULL,
    digest     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Counters per (campaign, epoch): the accumulator's snapshot in the wire format.
-- Never raw reports, addresses or arrival times.
CREATE TABLE counters (
    campaign TEXT NOT NULL REFERENCES campaigns (id),
    epoch    INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    cells    BLOB NOT NULL,
    PRIMARY KEY (campaign, epoch)
) STRICT, WITHOUT ROWID;

-- Batch ids seen, for idempotency; expired by epoch.
CREATE TABLE batch_ids (
    campaign TEXT NOT NULL,
    batch_id BLOB NOT NULL,
    epoch    INTEGER NOT NULL,
    PRIMARY KEY (campaign, batch_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX batch_ids_by_epoch ON batch_ids (campaign, epoch);

-- Bearer tokens, as SHA-256 hashes only.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
    created_at INTEGER NOT NULL
) STRICT;
