-- title: False-positive rate per rule
-- description: How often reviewers dismissed each rule's flags (`tenderscan review ... false-positive`): of the flags whose current verdict was given in the period, the share that are false positives. A high rate tells which rule to tighten.
-- param: since = 2000-01-01 -- verdicts given on or after this date (YYYY-MM-DD)
-- param: min_reviewed = 1 -- leave out rules with fewer reviewed flags
WITH reviewed AS (
    SELECT rule_id, verdict
    FROM flag_reviews
    WHERE verdict IS NOT NULL
      AND reviewed_at >= COALESCE(NULLIF(:since, ''), '2000-01-01')
)
SELECT r.rule_id,
       (SELECT COUNT(*) FROM flag_reviews f WHERE f.rule_id = r.rule_id) AS flags,
       COUNT(*) AS reviewed,
       SUM(r.verdict = 'false-positive') AS dismissed,
       SUM(r.verdict = 'confirmed') AS confirmed,
       SUM(r.verdict = 'published') AS published,
       SUM(r.verdict = 'watching') AS watching,
       ROUND(1.0 * SUM(r.verdict = 'false-positive') / COUNT(*), 3) AS false_positive_rate
FROM reviewed r
GROUP BY r.rule_id
HAVING COUNT(*) >= CAST(COALESCE(NULLIF(:min_reviewed, ''), 1) AS INTEGER)
ORDER BY false_positive_rate DESC, reviewed DESC, r.rule_id;
