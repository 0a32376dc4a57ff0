-- title: Notices changed or vanished after being flagged
-- description: Flagged notices whose text, amount, status or documents changed after the first flag, or that vanished from the portal or lost their matches.
-- param: since = 2000-01-01 -- flagged on or after this date (YYYY-MM-DD)
WITH candidates AS (
    -- only notices that changed, vanished or lost a match (partial indexes find them)
    SELECT id FROM notices WHERE version > 1 OR gone_at IS NOT NULL
    UNION
    SELECT notice_id FROM matches WHERE retracted_at IS NOT NULL
),
first_flag AS (
    SELECT m.notice_id, MIN(m.first_flagged_at) AS flagged_at,
           MAX(m.retracted_at) AS last_retracted,
           SUM(m.retracted_at IS NULL) AS still_matching
    FROM candidates c
    CROSS JOIN matches m ON m.notice_id = c.id   -- CROSS: the few candidates drive the join
    GROUP BY m.notice_id
)
SELECT s.name AS source, n.number AS notice_number, n.title,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       ff.flagged_at AS first_flagged_at,
       (SELECT COUNT(*) FROM notice_versions v WHERE v.notice_id = n.id AND v.version > 1 AND v.seen_at >= ff.flagged_at) AS versions_after_flag,
       (SELECT group_concat(v.changes, ' ') FROM notice_versions v WHERE v.notice_id = n.id AND v.version > 1 AND v.seen_at >= ff.flagged_at) AS what_changed,
       n.status,
       n.gone_at,
       CASE WHEN ff.still_matching = 0 THEN ff.last_retracted END AS matches_gone_at,
       n.url
FROM first_flag ff
JOIN notices n ON n.id = ff.notice_id
JOIN sources s ON s.id = n.source_id
LEFT JOIN agencies a ON a.id = n.agency_id
WHERE ff.flagged_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')
  AND (n.gone_at IS NOT NULL
       OR ff.still_matching = 0
       OR EXISTS (SELECT 1 FROM notice_versions v WHERE v.notice_id = n.id AND v.version > 1 AND v.seen_at >= ff.flagged_at))
ORDER BY ff.flagged_at DESC;
