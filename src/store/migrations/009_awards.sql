-- 009: who won. Awards and the contracts signed on them, where a source publishes them
-- (OCDS `awards[]` and `contracts[]`), and the suppliers they went to: the
-- `suppliers_of_flagged` report reads them.

CREATE TABLE suppliers (
    id            INTEGER PRIMARY KEY,
    scheme        TEXT NOT NULL,           -- "KZ-BIN", an OCDS identifier scheme, or "OCDS-party"
    identifier    TEXT NOT NULL,           -- leading zeros kept
    name          TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (scheme, identifier)
);

CREATE TABLE awards (
    id                 INTEGER PRIMARY KEY,
    notice_id          INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    external_id        TEXT NOT NULL,       -- the award's id within the notice
    status             TEXT,                -- pending, active, cancelled, unsuccessful
    awarded_at         TEXT,                -- UTC
    amount             REAL,
    currency           TEXT,
    lots               TEXT,                -- JSON array of the lots' external ids; NULL for the whole notice
    contract_id        TEXT,
    contract_status    TEXT,
    contract_amount    REAL,
    contract_signed_at TEXT,                -- UTC
    first_seen_at      TEXT NOT NULL,
    last_seen_at       TEXT NOT NULL,
    removed_at         TEXT,                -- no longer listed by the source
    UNIQUE (notice_id, external_id)
);

-- An award's suppliers (a consortium has several).
CREATE TABLE award_suppliers (
    award_id    INTEGER NOT NULL REFERENCES awards(id) ON DELETE CASCADE,
    supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
    PRIMARY KEY (award_id, supplier_id)
) WITHOUT ROWID;
CREATE INDEX award_suppliers_supplier ON award_suppliers(supplier_id);

-- One row per award and supplier, with the notice and its agency: what an NGO exports.
CREATE VIEW supplier_awards AS
SELECT aw.id AS award_id,
       n.id AS notice_id,
       n.number AS notice_number,
       n.title AS notice_title,
       ag.identifier AS agency_bin,
       COALESCE(ag.name_ru, ag.name_kk, ag.name_en) AS agency_name,
       s.scheme AS supplier_scheme,
       s.identifier AS supplier_id,
       s.name AS supplier_name,
       aw.external_id AS award_external_id,
       aw.status AS award_status,
       aw.awarded_at,
       aw.amount,
       aw.currency,
       aw.lots,
       aw.contract_id,
       aw.contract_status,
       aw.contract_amount,
       aw.contract_signed_at,
       aw.first_seen_at,
       aw.removed_at
FROM awards aw
JOIN award_suppliers x ON x.award_id = aw.id
JOIN suppliers s ON s.id = x.supplier_id
JOIN notices n ON n.id = aw.notice_id
LEFT JOIN agencies ag ON ag.id = n.agency_id;
