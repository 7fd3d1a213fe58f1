-- Counter cells in chunks of 1,024 cells (little-endian u64, trailing zero cells trimmed), so a
-- commit rewrites only the chunks its batches touched. `counters` keeps each row's report
-- count; its `cells` is empty for rows written since, and older rows' snapshots are added to
-- their chunks when read.
CREATE TABLE counter_chunks (
    campaign TEXT NOT NULL,
    epoch    INTEGER NOT NULL,
    chunk    INTEGER NOT NULL,
    cells    BLOB NOT NULL,
    PRIMARY KEY (campaign, epoch, chunk)
) STRICT;
