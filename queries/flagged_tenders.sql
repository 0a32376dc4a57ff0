-- title: Flagged tenders in a period
-- description: Every flagged notice (or lot) and rule published in the period, at or above a severity, newest first.
-- param: since = 2000-01-01 -- first publication date (YYYY-MM-DD)
-- param: until = 9999-12-31 -- last publication date (YYYY-MM-DD)
-- param: min_severity = medium -- low, medium or high
SELECT f.published_at, f.source, f.notice_number, f.lot_number, f.title, f.agency_bin, f.agency_name,
       f.amount, f.currency, f.rule_id, f.severity, f.quota_kind, f.quota_count, f.quota_period,
       f.price_per_unit, f.evidence, f.url, f.first_flagged_at
FROM flag_details f
WHERE f.severity_rank >= CASE COALESCE(NULLIF(:min_severity, ''), 'medium') WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END
  AND COALESCE(f.published_at, f.first_flagged_at) >= COALESCE(NULLIF(:since, ''), '2000-01-01')
  AND substr(COALESCE(f.published_at, f.first_flagged_at), 1, 10) <= COALESCE(NULLIF(:until, ''), '9999-12-31')
ORDER BY COALESCE(f.published_at, f.first_flagged_at) DESC, f.notice_number, f.lot_number, f.rule_id;
