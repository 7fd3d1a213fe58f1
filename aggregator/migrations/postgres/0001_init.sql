-- Campaigns: the validated configuration as JSON, with its digest for a consistency check.
CREATE TABLE campaigns (
    id         TEXT PRIMARY KEY,
    config     TEXT NOT NULL,
    digest     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Partial counters per (campaign, epoch, node): each aggregator node adds only to its own
-- rows, so nodes never wait on each other's counter rows; reads merge the nodes' rows.
-- The accumulator's snapshot in the wire format; never raw reports, addresses or times.
CREATE TABLE counters (
    campaign TEXT NOT NULL REFERENCES campaigns (id),
    epoch    BIGINT NOT NULL,
    node     TEXT NOT NULL,
    n        BIGINT NOT NULL,
    cells    BYTEA NOT NULL,
    PRIMARY KEY (campaign, epoch, node)
);

-- Batch ids seen, for idempotency across all nodes (the unique key decides); expired by epoch.
CREATE TABLE batch_ids (
    campaign TEXT NOT NULL,
    batch_id BYTEA NOT NULL,
    epoch    BIGINT NOT NULL,
    PRIMARY KEY (campaign, batch_id)
);
CREATE INDEX batch_ids_by_epoch ON batch_ids (campaign, epoch);

-- Bearer tokens, as SHA-256 hashes only.
CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
    created_at BIGINT NOT NULL
);
