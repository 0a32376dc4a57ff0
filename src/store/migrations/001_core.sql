-- 001: sources, agencies, notices with their versions, lots and documents. Times are UTC, ISO 8601 text ("2026-11-28T13:11:00Z").

CREATE TABLE sources (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL,
    url                  TEXT,
    cursor               TEXT,             -- opaque resume point, saved after a page is stored
    cursor_updated_at    TEXT,
    last_success_at      TEXT,
    last_error           TEXT,
    last_error_at        TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL
);

CREATE TABLE agencies (
    id            INTEGER PRIMARY KEY,
    scheme        TEXT NOT NULL DEFAULT 'KZ-BIN',
    identifier    TEXT NOT NULL,           -- the BIN, leading zeros kept
    name_ru       TEXT,
    name_kk       TEXT,
    name_en       TEXT,
    region        TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (scheme, identifier)
);

CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    source_id       INTEGER NOT NULL REFERENCES sources(id),
    external_id     TEXT NOT NULL,
    number          TEXT,
    title           TEXT NOT NULL,
    title_kk        TEXT,
    description     TEXT,
    agency_id       INTEGER REFERENCES agencies(id),
    amount          REAL,
    currency        TEXT,
    status          TEXT,
    status_code     TEXT,
    method          TEXT,
    published_at    TEXT,                  -- UTC
    published_local TEXT,                  -- the portal's own string
    deadline_at     TEXT,
    deadline_local  TEXT,
    url             TEXT,
    region          TEXT,
    content_hash    TEXT,                  -- hash of the mapped record, to see changes
    version         INTEGER NOT NULL DEFAULT 1,
    scanned_version TEXT,                  -- rule-set version that last scanned it
    first_seen_at   TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    gone_at         TEXT,                  -- vanished from the portal
    UNIQUE (source_id, external_id)
);
CREATE INDEX notices_agency ON notices(agency_id);
CREATE INDEX notices_published ON notices(published_at);
CREATE INDEX notices_number ON notices(number);
CREATE INDEX notices_scanned ON notices(scanned_version);

CREATE TABLE notice_versions (
    id         INTEGER PRIMARY KEY,
    notice_id  INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    seen_at    TEXT NOT NULL,
    changes    TEXT,                       -- JSON: what changed from the previous version
    snapshot   TEXT NOT NULL,              -- JSON: the record as mapped
    UNIQUE (notice_id, version)
);

CREATE TABLE lots (
    id            INTEGER PRIMARY KEY,
    notice_id     INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    number        TEXT,
    title         TEXT,
    description   TEXT,
    amount        REAL,
    quantity      REAL,
    status        TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (notice_id, external_id)
);

CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    notice_id    INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    lot_id       INTEGER REFERENCES lots(id) ON DELETE SET NULL,
    url          TEXT NOT NULL,
    file_name    TEXT,
    title        TEXT,
    is_spec      INTEGER NOT NULL DEFAULT 0,  -- marked as the technical specification
    kind         TEXT,                        -- docx, pdf, ... as detected by content
    media_type   TEXT,
    sha256       TEXT,
    size         INTEGER,
    text         TEXT,                        -- extracted plain text
    scanned      INTEGER NOT NULL DEFAULT 0,  -- a PDF without a text layer (needs OCR)
    notes        TEXT,                        -- what extraction skipped or read partly
    error        TEXT,                        -- why it could not be fetched or read
    fetched_at   TEXT,
    first_seen_at TEXT NOT NULL,
    UNIQUE (notice_id, url)
);
CREATE INDEX documents_lot ON documents(lot_id);
CREATE INDEX documents_sha ON documents(sha256);
