-- title: Agencies ranked by flagged spending
-- description: Which agencies paid for flagged tenders, how much and how often (each notice counted once, at its highest severity).
-- param: since = 2000-01-01 -- first publication date (YYYY-MM-DD)
-- param: min_severity = medium -- low, medium or high
-- param: limit = 100 -- how many agencies
WITH flagged AS (
    SELECT notice_id, MAX(severity_rank) AS rank
    FROM flag_rows
    WHERE severity_rank >= CASE COALESCE(NULLIF(:min_severity, ''), 'medium') WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END
    GROUP BY notice_id
)
SELECT a.identifier AS agency_bin,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       COUNT(*) AS flagged_notices,
       SUM(CASE WHEN f.rank = 3 THEN 1 ELSE 0 END) AS high,
       ROUND(SUM(n.amount), 2) AS flagged_amount,
       n.currency AS currency,
       MIN(n.published_at) AS first_published,
       MAX(n.published_at) AS last_published
FROM flagged f
JOIN notices n ON n.id = f.notice_id
JOIN agencies a ON a.id = n.agency_id
WHERE COALESCE(n.published_at, n.first_seen_at) >= COALESCE(NULLIF(:since, ''), '2000-01-01')
GROUP BY a.id, n.currency
ORDER BY flagged_amount DESC, flagged_notices DESC
LIMIT CAST(COALESCE(NULLIF(:limit, ''), 100) AS INTEGER);
