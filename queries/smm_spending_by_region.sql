-- title: Spending on SMM and image services by region and year
-- description: Notices a rule flagged (by default the SMM / image-making rule), summed by region and year, per currency; each notice counted once.
-- param: rule = smm-services -- a rule id, or * for any rule (a GLOB pattern)
-- param: since = 2000-01-01 -- first publication date (YYYY-MM-DD)
WITH hit AS (
    SELECT DISTINCT notice_id
    FROM flag_rows
    WHERE rule_id GLOB COALESCE(NULLIF(:rule, ''), 'smm-services')
)
SELECT COALESCE(n.region, a.region, '(unknown)') AS region,
       substr(COALESCE(n.published_at, n.first_seen_at), 1, 4) AS year,
       n.currency,
       COUNT(*) AS notices,
       COUNT(DISTINCT n.agency_id) AS agencies,
       ROUND(SUM(n.amount), 2) AS amount
FROM hit h
JOIN notices n ON n.id = h.notice_id
LEFT JOIN agencies a ON a.id = n.agency_id
WHERE COALESCE(n.published_at, n.first_seen_at) >= COALESCE(NULLIF(:since, ''), '2000-01-01')
GROUP BY 1, 2, 3
ORDER BY year DESC, amount DESC;
