-- 012: evidence is what was received. `evidence.fetched_url` is where the bytes came from
-- (the page or API URL a source fetched, after redirects; an attachment's final URL); `url`
-- keeps its meaning (a notice payload's row names the notice's page on the portal).
-- A notice or document whose payload could not be kept (a full or broken evidence disk) is
-- marked, so that `verify` and the operator check report it until a later run keeps it.

ALTER TABLE evidence ADD COLUMN fetched_url TEXT;           -- NULL for rows kept before 011
ALTER TABLE notices ADD COLUMN evidence_missing_at TEXT;    -- UTC: the payload of a sighting could not be kept; cleared once one is
ALTER TABLE documents ADD COLUMN evidence_missing_at TEXT;  -- UTC: the bytes could not be kept; the document stays pending until they are

-- Flagged notices and documents a run before 011 left without evidence (a full evidence disk
-- was silent then; retention never removes a flagged notice's evidence, so none of these was
-- pruned) are marked, so that `verify` and the operator check report them and later runs keep
-- them again: such a document is pending again (fetched, kept and read by the next run), such
-- a notice is asked for by id where the source can (`[evidence] recheck_days`' re-check).
UPDATE documents SET evidence_missing_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), fetched_at = NULL
WHERE sha256 IS NOT NULL AND removed_at IS NULL
  AND notice_id IN (SELECT notice_id FROM matches)
  AND NOT EXISTS (SELECT 1 FROM evidence e
                  WHERE e.document_id = documents.id AND e.kind = 'document' AND e.sha256 = documents.sha256);
UPDATE notices SET evidence_missing_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE id IN (SELECT notice_id FROM matches)
  AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.notice_id = notices.id AND e.kind = 'notice');
