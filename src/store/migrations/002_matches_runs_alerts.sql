-- 002: matches, runs, the alert outbox and digests, and the `flags` view.

CREATE TABLE matches (
    id               INTEGER PRIMARY KEY,
    notice_id        INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    lot_id           INTEGER REFERENCES lots(id) ON DELETE CASCADE,
    document_id      INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    target           TEXT NOT NULL,         -- 'notice:ID', 'lot:ID' or 'document:ID': what was read
    rule_id          TEXT NOT NULL,
    severity         TEXT NOT NULL,         -- low | medium | high
    severity_rank    INTEGER NOT NULL,      -- 1 | 2 | 3
    score            REAL NOT NULL,
    evidence         TEXT NOT NULL,         -- the sentence around the match (<= 300 chars)
    evidence_start   INTEGER NOT NULL,      -- byte offset of the evidence in the text read
    match_start      INTEGER NOT NULL,      -- byte offsets of the matched span in the text read
    match_end        INTEGER NOT NULL,
    quotas           TEXT,                  -- JSON array of {kind, count, per}
    quota_kind       TEXT,                  -- the main quota, if any
    quota_count      INTEGER,
    quota_period     TEXT,
    ruleset_version  TEXT NOT NULL,
    first_flagged_at TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    retracted_at     TEXT,                  -- no longer matched (rule change or edited notice)
    UNIQUE (target, rule_id)
);
CREATE INDEX matches_notice ON matches(notice_id);
CREATE INDEX matches_rule ON matches(rule_id, severity_rank);
CREATE INDEX matches_flagged ON matches(first_flagged_at);

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    command          TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    status           TEXT NOT NULL DEFAULT 'running',  -- running | ok | partial | failed | interrupted
    pid              INTEGER,
    ruleset_version  TEXT,
    notices_fetched  INTEGER NOT NULL DEFAULT 0,
    notices_new      INTEGER NOT NULL DEFAULT 0,
    notices_changed  INTEGER NOT NULL DEFAULT 0,
    documents        INTEGER NOT NULL DEFAULT 0,
    matches          INTEGER NOT NULL DEFAULT 0,
    alerts_sent      INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    summary          TEXT                   -- JSON: per source figures and error messages
);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'match',   -- match | changed | operator
    match_id    INTEGER REFERENCES matches(id) ON DELETE CASCADE,
    notice_id   INTEGER REFERENCES notices(id) ON DELETE CASCADE,
    dedupe_key  TEXT NOT NULL,                   -- one alert per recipient and key
    payload     TEXT,                            -- JSON for changed/operator alerts
    status      TEXT NOT NULL DEFAULT 'pending', -- pending | sent | baseline
    digest_id   INTEGER REFERENCES digests(id),
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    UNIQUE (recipient, dedupe_key)
);
CREATE INDEX alerts_pending ON alerts(status, recipient);

CREATE TABLE digests (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT NOT NULL,
    message_id  TEXT NOT NULL UNIQUE,   -- written before the send is attempted
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'sending',  -- sending | sent | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);

-- One row per flagged notice (or lot) and rule: the table NGOs and scripts query.
CREATE VIEW flags AS
WITH ranked AS (
    SELECT m.*,
           ROW_NUMBER() OVER (PARTITION BY m.notice_id, m.lot_id, m.rule_id
                              ORDER BY m.severity_rank DESC, m.score DESC,
                                       m.quota_count IS NULL, m.id) AS rn,
           MIN(m.first_flagged_at) OVER (PARTITION BY m.notice_id, m.lot_id, m.rule_id) AS first_flag
    FROM matches m
    WHERE m.retracted_at IS NULL
)
SELECT s.name                                AS source,
       n.number                              AS notice_number,
       l.number                              AS lot_number,
       COALESCE(l.title, n.title)            AS title,
       a.identifier                          AS agency_bin,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       COALESCE(l.amount, n.amount)          AS amount,
       n.currency                            AS currency,
       r.rule_id                             AS rule_id,
       r.severity                            AS severity,
       r.evidence                            AS evidence,
       r.quota_kind                          AS quota_kind,
       r.quota_count                         AS quota_count,
       r.quota_period                        AS quota_period,
       CASE WHEN r.quota_count > 0 AND COALESCE(l.amount, n.amount) IS NOT NULL
            THEN ROUND(COALESCE(l.amount, n.amount) / r.quota_count, 2) END AS price_per_unit,
       n.url                                 AS url,
       n.published_at                        AS published_at,
       r.first_flag                          AS first_flagged_at
FROM ranked r
JOIN notices n ON n.id = r.notice_id
JOIN sources s ON s.id = n.source_id
LEFT JOIN lots l ON l.id = r.lot_id
LEFT JOIN agencies a ON a.id = n.agency_id
WHERE r.rn = 1;
