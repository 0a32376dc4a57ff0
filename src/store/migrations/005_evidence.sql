-- 005: evidence (every payload fetched from a portal, kept as a zstd file named by its sha256
-- in the folder `<db stem>.evidence/` beside the database), documents a notice no longer lists,
-- and the re-check of flagged notices that disappear.

CREATE TABLE evidence (
    id               INTEGER PRIMARY KEY,
    notice_id        INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    document_id      INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    kind             TEXT NOT NULL,           -- 'notice' (a source's payload: API JSON or HTML) | 'document' (an attachment)
    url              TEXT NOT NULL,           -- the attachment's URL; for 'notice', the notice's page on the portal
    http_status      INTEGER,                 -- the attachment's HTTP status; NULL for 'notice' (sources yield only successful pages)
    media_type       TEXT,
    sha256           TEXT NOT NULL,           -- of the uncompressed bytes: the file ab/cd/<sha256>.zst
    size             INTEGER NOT NULL,        -- uncompressed bytes
    stored_size      INTEGER NOT NULL,        -- bytes of the .zst file
    first_fetched_at TEXT NOT NULL,           -- UTC
    last_fetched_at  TEXT NOT NULL,           -- UTC: the same bytes fetched again
    fetch_count      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (notice_id, kind, url, sha256)
);
CREATE INDEX evidence_sha ON evidence(sha256);
CREATE INDEX evidence_document ON evidence(document_id);

ALTER TABLE documents ADD COLUMN removed_at TEXT;      -- UTC: the notice stopped listing it (not read by scans any more)
ALTER TABLE lots ADD COLUMN removed_at TEXT;           -- UTC: the notice stopped listing it (not read by scans any more)
ALTER TABLE notices ADD COLUMN rechecked_at TEXT;      -- UTC: last single-object re-check (flagged notices)
CREATE INDEX alerts_notice ON alerts(notice_id, kind);       -- a notice's recipients, for its `changed` alerts
