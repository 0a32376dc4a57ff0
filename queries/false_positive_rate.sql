-- title: False-positive rate per rule
-- description: How often reviewers dismissed each rule's flags (`tenderscan review ... false-positive`): of the flags with a current verdict given in the period, the share whose verdict is false-positive. A high rate tells which rule to tighten.
-- param: since = 2000-01-01 -- verdicts given on or after this date (YYYY-MM-DD)
-- param: min_reviewed = 1 -- leave out rules with fewer reviewed flags
SELECT r.rule_id,
       COUNT(*) AS flags,
       SUM(r.verdict IS NOT NULL AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')) AS reviewed,
       SUM(r.verdict = 'false-positive' AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')) AS dismissed,
       SUM(r.verdict = 'confirmed' AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')) AS confirmed,
       SUM(r.verdict = 'published' AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')) AS published,
       SUM(r.verdict = 'watching' AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')) AS watching,
       ROUND(1.0 * SUM(r.verdict = 'false-positive' AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01'))
             / SUM(r.verdict IS NOT NULL AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')), 3) AS false_positive_rate
FROM flag_reviews r
GROUP BY r.rule_id
HAVING SUM(r.verdict IS NOT NULL AND r.reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01'))
       >= MAX(1, CAST(COALESCE(NULLIF(:min_reviewed, ''), '1') AS INTEGER))
ORDER BY false_positive_rate DESC, reviewed DESC, r.rule_id;
