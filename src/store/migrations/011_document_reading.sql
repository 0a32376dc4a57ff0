-- 011: poison quarantine. A document is marked just before it is read; the mark goes when
-- its content is saved. A run that finds a mark left by a run that died knows which
-- document was being read: read in tenderscan's own process, it is recorded as failed at
-- once; read in a worker process (which cannot take tenderscan down), it is tried again,
-- and failed after three marks.
ALTER TABLE documents ADD COLUMN read_started_at TEXT;
ALTER TABLE documents ADD COLUMN read_in_process INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN read_attempts INTEGER NOT NULL DEFAULT 0;
