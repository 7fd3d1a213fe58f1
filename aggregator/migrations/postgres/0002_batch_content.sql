-- The content hash beside each batch id: a retry (identical bytes) is a duplicate, another
-- batch reusing the id a conflict. Ids recorded before this migration have none (NULL) and
-- count as duplicates until they expire.
ALTER TABLE batch_ids ADD COLUMN content BYTEA;
