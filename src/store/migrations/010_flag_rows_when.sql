-- 010: `flag_rows` is rebuilt on an update of `matches` only when a column it reads
-- changed. A re-scan sets every column of each match found again, mostly to the values
-- it had; `UPDATE OF` fires on the columns named, changed or not, so each such update
-- deleted and re-inserted its flag row for nothing.
DROP TRIGGER flag_rows_update;
CREATE TRIGGER flag_rows_update AFTER UPDATE OF notice_id, lot_id, rule_id, severity_rank, score,
    quota_count, retracted_at, first_flagged_at ON matches
WHEN old.notice_id IS NOT new.notice_id OR old.lot_id IS NOT new.lot_id
  OR old.rule_id IS NOT new.rule_id OR old.severity_rank IS NOT new.severity_rank
  OR old.score IS NOT new.score OR old.quota_count IS NOT new.quota_count
  OR old.retracted_at IS NOT new.retracted_at OR old.first_flagged_at IS NOT new.first_flagged_at
BEGIN
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
