-- 016: goszakup plan points, and the state of a backfill. Depends on 014 and nothing after.
--
-- A plan point (goszakup `Plans` root: what an agency plans to buy this year) is a notice of
-- kind 'plan' (external id `plan-{id}`), read by the rules like any notice; every other
-- notice is of kind 'notice'. `subject_type` is the portal's subject type where it says
-- (goszakup `refSubjectTypeId`: 1 goods, 2 works, 3 services).
ALTER TABLE notices ADD COLUMN kind TEXT NOT NULL DEFAULT 'notice';
ALTER TABLE notices ADD COLUMN subject_type TEXT;
CREATE INDEX notices_kind ON notices(kind) WHERE kind <> 'notice';

CREATE TRIGGER notices_kind_check_insert BEFORE INSERT ON notices
BEGIN
    SELECT RAISE(ABORT, 'notices.kind must be notice or plan')
    WHERE NEW.kind NOT IN ('notice', 'plan');
END;
CREATE TRIGGER notices_kind_check_update BEFORE UPDATE OF kind ON notices
BEGIN
    SELECT RAISE(ABORT, 'notices.kind must be notice or plan')
    WHERE NEW.kind NOT IN ('notice', 'plan');
END;

-- Catalogue codes (ENSTRU/KTRU) of a notice: of its plan points, its lots' or its units'.
CREATE TABLE notice_codes (
    notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    code      TEXT NOT NULL,
    PRIMARY KEY (notice_id, code)
) WITHOUT ROWID;

-- The plan points a notice names: a plan notice its own id, an announcement the plan
-- points of its lots, a contract those of its units. A plan and the announcement or
-- contract that follows it share a `plan_point`.
CREATE TABLE plan_links (
    notice_id  INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    plan_point TEXT NOT NULL,
    PRIMARY KEY (notice_id, plan_point)
) WITHOUT ROWID;
CREATE INDEX plan_links_point ON plan_links(plan_point);

-- Documents left to a backfill's documents stage: `run` does not fetch them as left over
-- (it still does when it meets their notice again).
ALTER TABLE documents ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0;
CREATE INDEX documents_deferred ON documents(notice_id) WHERE deferred = 1 AND fetched_at IS NULL;

-- One backfill of a source over a period: its stage ('metadata', 'documents', 'done'), the
-- metadata crawl's own cursor (the source's cron cursor is not touched), and figures.
CREATE TABLE backfills (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources(id),
    since          TEXT NOT NULL,
    until          TEXT NOT NULL,
    stage          TEXT NOT NULL DEFAULT 'metadata',
    cursor         TEXT,
    pages          INTEGER NOT NULL DEFAULT 0,
    documents_done INTEGER NOT NULL DEFAULT 0,
    started_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (source_id, since, until)
);
CREATE TRIGGER backfills_stage_check BEFORE UPDATE OF stage ON backfills
BEGIN
    SELECT RAISE(ABORT, 'backfills.stage must be metadata, documents or done')
    WHERE NEW.stage NOT IN ('metadata', 'documents', 'done');
END;

-- The notices a backfill's metadata stage stored, with their priority for the documents
-- stage: 0 flagged by the rules from the metadata, 1 a candidate by `[backfill]` (catalogue
-- code, title words), 2 another service (subject type), 3 the rest. The documents stage
-- fetches by tier, then newest first.
CREATE TABLE backfill_notices (
    backfill_id INTEGER NOT NULL REFERENCES backfills(id) ON DELETE CASCADE,
    notice_id   INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    tier        INTEGER NOT NULL,
    PRIMARY KEY (backfill_id, notice_id)
) WITHOUT ROWID;
