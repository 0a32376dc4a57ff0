-- 011: poison quarantine. A document is marked (in a commit of its own) just before it is
-- read, and the mark goes as soon as its reading ends, well or not. A run that finds a mark
-- knows that tenderscan died while reading that document: read in tenderscan's own
-- process, it is recorded as failed at once; read in a worker process (which cannot take
-- tenderscan down, so the death came from elsewhere), it is tried again, and failed after
-- three such marks.
ALTER TABLE documents ADD COLUMN read_started_at TEXT;
ALTER TABLE documents ADD COLUMN read_in_process INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN read_attempts INTEGER NOT NULL DEFAULT 0;
