-- title: Repeat buyers
-- description: Agencies flagged in more than one year, with the years and their flagged notices.
-- param: min_severity = medium -- low, medium or high
-- param: min_years = 2 -- flagged in at least this many different years
WITH flagged AS (
    SELECT n.agency_id,
           substr(COALESCE(n.published_at, MIN(f.first_flagged_at)), 1, 4) AS year,
           n.id AS notice_id,
           n.amount
    FROM flag_rows f
    JOIN notices n ON n.id = f.notice_id
    WHERE f.severity_rank >= CASE COALESCE(NULLIF(:min_severity, ''), 'medium') WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END
    GROUP BY n.id
)
SELECT a.identifier AS agency_bin,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       COUNT(DISTINCT f.year) AS years,
       group_concat(DISTINCT f.year) AS which_years,
       COUNT(*) AS flagged_notices,
       ROUND(SUM(f.amount), 2) AS flagged_amount
FROM flagged f
JOIN agencies a ON a.id = f.agency_id
GROUP BY a.id
HAVING COUNT(DISTINCT f.year) >= CAST(COALESCE(NULLIF(:min_years, ''), 2) AS INTEGER)
ORDER BY years DESC, flagged_notices DESC;
