-- The committer's probe while it is idle: a counter per node, bumped in a transaction of its
-- own, to learn whether the database can commit (what /readyz answers).
CREATE TABLE write_probes (
    node   TEXT PRIMARY KEY,
    probes BIGINT NOT NULL
);
