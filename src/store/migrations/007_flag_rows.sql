-- 007: the `flags` view reads a small table of its rows, kept by triggers, instead of
-- ranking every match on every query: reports over the view stay under a second at a
-- million notices. One row per notice (or lot) and rule with a live match: which match
-- is the best (highest severity, then score, then one with a quota), and when the group
-- was first flagged.

CREATE TABLE flag_rows (
    notice_id        INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    lot_key          INTEGER NOT NULL,      -- the lot's id, or 0 for the notice itself
    rule_id          TEXT NOT NULL,
    match_id         INTEGER NOT NULL,
    severity_rank    INTEGER NOT NULL,
    first_flagged_at TEXT NOT NULL,
    PRIMARY KEY (notice_id, lot_key, rule_id)
) WITHOUT ROWID;
CREATE INDEX flag_rows_severity ON flag_rows(severity_rank, first_flagged_at);
CREATE INDEX matches_group ON matches(notice_id, lot_id, rule_id);

-- Rebuild the rows of the groups the changed matches belong to.
CREATE TRIGGER flag_rows_insert AFTER INSERT ON matches BEGIN
    DELETE FROM flag_rows
    WHERE notice_id = new.notice_id AND lot_key = COALESCE(new.lot_id, 0) AND rule_id = new.rule_id;
    INSERT INTO flag_rows (notice_id, lot_key, rule_id, match_id, severity_rank, first_flagged_at)
    SELECT new.notice_id, COALESCE(new.lot_id, 0), new.rule_id,
           (SELECT b.id FROM matches b
            WHERE b.notice_id = new.notice_id AND b.lot_id IS new.lot_id AND b.rule_id = new.rule_id
              AND b.retracted_at IS NULL
            ORDER BY b.severity_rank DESC, b.score DESC, b.quota_count IS NULL, b.id LIMIT 1),
           MAX(m.severity_rank), MIN(m.first_flagged_at)
    FROM matches m
    WHERE m.notice_id = new.notice_id AND m.lot_id IS new.lot_id AND m.rule_id = new.rule_id
      AND m.retracted_at IS NULL
    HAVING COUNT(*) > 0;
END;

CREATE TRIGGER flag_rows_update AFTER UPDATE OF notice_id, lot_id, rule_id, severity_rank, score,
    quota_count, retracted_at, first_flagged_at ON matches BEGIN
    DELETE FROM flag_rows
    WHERE (notice_id = old.notice_id AND lot_key = COALESCE(old.lot_id, 0) AND rule_id = old.rule_id)
       OR (notice_id = new.notice_id AND lot_key = COALESCE(new.lot_id, 0) AND rule_id = new.rule_id);
    INSERT INTO flag_rows (notice_id, lot_key, rule_id, match_id, severity_rank, first_flagged_at)
    SELECT g.notice_id, COALESCE(g.lot_id, 0), g.rule_id,
           (SELECT b.id FROM matches b
            WHERE b.notice_id = g.notice_id AND b.lot_id IS g.lot_id AND b.rule_id = g.rule_id
              AND b.retracted_at IS NULL
            ORDER BY b.severity_rank DESC, b.score DESC, b.quota_count IS NULL, b.id LIMIT 1),
           MAX(m.severity_rank), MIN(m.first_flagged_at)
    FROM (SELECT old.notice_id AS notice_id, old.lot_id AS lot_id, old.rule_id AS rule_id
          UNION SELECT new.notice_id, new.lot_id, new.rule_id) g
    JOIN matches m ON m.notice_id = g.notice_id AND m.lot_id IS g.lot_id AND m.rule_id = g.rule_id
    WHERE m.retracted_at IS NULL
    GROUP BY g.notice_id, g.lot_id, g.rule_id;
END;

CREATE TRIGGER flag_rows_delete AFTER DELETE ON matches BEGIN
    DELETE FROM flag_rows
    WHERE notice_id = old.notice_id AND lot_key = COALESCE(old.lot_id, 0) AND rule_id = old.rule_id;
    INSERT INTO flag_rows (notice_id, lot_key, rule_id, match_id, severity_rank, first_flagged_at)
    SELECT old.notice_id, COALESCE(old.lot_id, 0), old.rule_id,
           (SELECT b.id FROM matches b
            WHERE b.notice_id = old.notice_id AND b.lot_id IS old.lot_id AND b.rule_id = old.rule_id
              AND b.retracted_at IS NULL
            ORDER BY b.severity_rank DESC, b.score DESC, b.quota_count IS NULL, b.id LIMIT 1),
           MAX(m.severity_rank), MIN(m.first_flagged_at)
    FROM matches m
    WHERE m.notice_id = old.notice_id AND m.lot_id IS old.lot_id AND m.rule_id = old.rule_id
      AND m.retracted_at IS NULL
    HAVING COUNT(*) > 0;
END;

-- The rows of the matches already there.
INSERT INTO flag_rows (notice_id, lot_key, rule_id, match_id, severity_rank, first_flagged_at)
SELECT g.notice_id, COALESCE(g.lot_id, 0), g.rule_id,
       (SELECT b.id FROM matches b
        WHERE b.notice_id = g.notice_id AND b.lot_id IS g.lot_id AND b.rule_id = g.rule_id
          AND b.retracted_at IS NULL
        ORDER BY b.severity_rank DESC, b.score DESC, b.quota_count IS NULL, b.id LIMIT 1),
       MAX(g.severity_rank), MIN(g.first_flagged_at)
FROM matches g
WHERE g.retracted_at IS NULL
GROUP BY g.notice_id, g.lot_id, g.rule_id;

-- `flag_details`: the flags with the keys reports filter and group on (ids, severity rank);
-- SQLite pushes a report's WHERE into it, so the indexes on flag_rows serve.
CREATE INDEX flag_rows_rule ON flag_rows(rule_id, notice_id);
CREATE VIEW flag_details AS
SELECT s.name                                AS source,
       n.number                              AS notice_number,
       l.number                              AS lot_number,
       COALESCE(l.title, n.title)            AS title,
       a.identifier                          AS agency_bin,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       COALESCE(l.amount, n.amount)          AS amount,
       n.currency                            AS currency,
       f.rule_id                             AS rule_id,
       m.severity                            AS severity,
       m.evidence                            AS evidence,
       m.quota_kind                          AS quota_kind,
       m.quota_count                         AS quota_count,
       m.quota_period                        AS quota_period,
       CASE WHEN m.quota_count > 0 AND COALESCE(l.amount, n.amount) IS NOT NULL
            THEN ROUND(COALESCE(l.amount, n.amount) / m.quota_count, 2) END AS price_per_unit,
       n.url                                 AS url,
       n.published_at                        AS published_at,
       f.first_flagged_at                    AS first_flagged_at,
       f.notice_id                           AS notice_id,
       m.lot_id                              AS lot_id,
       n.agency_id                           AS agency_id,
       f.severity_rank                       AS severity_rank,
       f.match_id                            AS match_id
FROM flag_rows f
JOIN matches m ON m.id = f.match_id
JOIN notices n ON n.id = f.notice_id
JOIN sources s ON s.id = n.source_id
LEFT JOIN lots l ON l.id = m.lot_id
LEFT JOIN agencies a ON a.id = n.agency_id;

-- Same columns, same meaning as before (see README).
DROP VIEW flags;
CREATE VIEW flags AS
SELECT source, notice_number, lot_number, title, agency_bin, agency_name, amount, currency,
       rule_id, severity, evidence, quota_kind, quota_count, quota_period, price_per_unit,
       url, published_at, first_flagged_at
FROM flag_details;
