-- 020: reviewers' verdicts on flags (issue #19, "the triage loop"). A flag is a notice (or
-- one of its lots) and a rule, as in `flag_rows`; a verdict says what a person made of it:
-- `confirmed`, `false-positive`, `published` (a story ran on it) or `watching`, with a note,
-- who and when. The table is append-only: a new verdict on the same flag is a new row, and
-- the flag's current verdict is its latest row (the highest id). Nothing here depends on a
-- migration numbered between 018 and this one.

CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY,
    notice_id   INTEGER NOT NULL REFERENCES notices(id),
    lot_key     INTEGER NOT NULL,      -- the lot's id, or 0 for the notice itself (as in flag_rows)
    rule_id     TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    note        TEXT,
    reviewer    TEXT NOT NULL,
    reviewed_at TEXT NOT NULL
);
CREATE INDEX verdicts_flag ON verdicts(notice_id, lot_key, rule_id, id);

CREATE TRIGGER verdicts_check_insert BEFORE INSERT ON verdicts
BEGIN
    SELECT RAISE(ABORT, 'verdicts.verdict must be confirmed, false-positive, published or watching')
    WHERE NEW.verdict NOT IN ('confirmed', 'false-positive', 'published', 'watching');
    SELECT RAISE(ABORT, 'verdicts.lot_key must be 0 or a lot of the notice')
    WHERE NEW.lot_key <> 0
      AND NOT EXISTS (SELECT 1 FROM lots l WHERE l.id = NEW.lot_key AND l.notice_id = NEW.notice_id);
END;

-- The history is kept: a verdict is never edited or deleted, only followed by another.
CREATE TRIGGER verdicts_no_update BEFORE UPDATE ON verdicts
BEGIN
    SELECT RAISE(ABORT, 'verdicts are append-only: record a new verdict instead');
END;
CREATE TRIGGER verdicts_no_delete BEFORE DELETE ON verdicts
BEGIN
    SELECT RAISE(ABORT, 'verdicts are append-only: record a new verdict instead');
END;

-- Each reviewed flag's latest verdict, with how many verdicts it has had.
CREATE VIEW current_verdicts AS
SELECT v.notice_id, v.lot_key, v.rule_id, v.verdict, v.note, v.reviewer, v.reviewed_at,
       (SELECT count(*) FROM verdicts c
        WHERE c.notice_id = v.notice_id AND c.lot_key = v.lot_key AND c.rule_id = v.rule_id) AS reviews,
       v.id AS verdict_id
FROM verdicts v
WHERE v.id = (SELECT max(w.id) FROM verdicts w
              WHERE w.notice_id = v.notice_id AND w.lot_key = v.lot_key AND w.rule_id = v.rule_id);

-- One row per flag that is flagged now or was ever reviewed, with its current verdict
-- (NULL: not reviewed yet). `live` is 0 when the flag's matches have all been retracted
-- since (the words were edited out); severity and evidence are then the latest match's.
-- The `flags` view is unchanged.
CREATE VIEW flag_reviews AS
WITH keys AS (
    SELECT notice_id, lot_key, rule_id FROM flag_rows
    UNION
    SELECT notice_id, lot_key, rule_id FROM verdicts
)
SELECT s.name                                AS source,
       n.number                              AS notice_number,
       l.number                              AS lot_number,
       COALESCE(l.title, n.title)            AS title,
       a.identifier                          AS agency_bin,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       COALESCE(l.amount, n.amount)          AS amount,
       n.currency                            AS currency,
       k.rule_id                             AS rule_id,
       m.severity                            AS severity,
       m.evidence                            AS evidence,
       n.url                                 AS url,
       (SELECT min(x.first_flagged_at) FROM matches x
        WHERE x.notice_id = k.notice_id AND COALESCE(x.lot_id, 0) = k.lot_key
          AND x.rule_id = k.rule_id)         AS first_flagged_at,
       f.match_id IS NOT NULL                AS live,
       cv.verdict                            AS verdict,
       cv.note                               AS note,
       cv.reviewer                           AS reviewed_by,
       cv.reviewed_at                        AS reviewed_at,
       COALESCE(cv.reviews, 0)               AS reviews,
       k.notice_id                           AS notice_id,
       NULLIF(k.lot_key, 0)                  AS lot_id
FROM keys k
JOIN notices n ON n.id = k.notice_id
JOIN sources s ON s.id = n.source_id
LEFT JOIN lots l ON l.id = NULLIF(k.lot_key, 0)
LEFT JOIN agencies a ON a.id = n.agency_id
LEFT JOIN flag_rows f ON f.notice_id = k.notice_id AND f.lot_key = k.lot_key AND f.rule_id = k.rule_id
LEFT JOIN matches m ON m.id = COALESCE(f.match_id,
    (SELECT y.id FROM matches y
     WHERE y.notice_id = k.notice_id AND COALESCE(y.lot_id, 0) = k.lot_key AND y.rule_id = k.rule_id
     ORDER BY y.last_seen_at DESC, y.id DESC LIMIT 1))
LEFT JOIN current_verdicts cv
       ON cv.notice_id = k.notice_id AND cv.lot_key = k.lot_key AND cv.rule_id = k.rule_id;
