-- title: Suppliers who won flagged tenders
-- description: Companies awarded flagged notices (or the flagged lots of them), with how many, for how much and from which agencies; needs contract data (OCDS awards), an award's whole value counted for each supplier of a consortium.
-- param: since = 2000-01-01 -- first publication date (YYYY-MM-DD)
-- param: min_severity = medium -- low, medium or high
-- param: supplier = -- only this supplier: its identifier (BIN), or a part of its name
-- param: limit = 100 -- how many suppliers
WITH flagged AS (
    SELECT notice_id, lot_key, MAX(severity_rank) AS rank
    FROM flag_rows
    WHERE severity_rank >= CASE COALESCE(NULLIF(:min_severity, ''), 'medium') WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END
    GROUP BY notice_id, lot_key
),
-- Awards that cover a flagged part: a flag on the notice itself taints all its awards; a
-- flag on a lot, the awards of that lot and those for the whole notice.
won AS (
    SELECT aw.id AS award_id, aw.notice_id, MAX(f.rank) AS rank
    FROM flagged f
    JOIN awards aw ON aw.notice_id = f.notice_id
    LEFT JOIN lots l ON l.id = f.lot_key
    WHERE aw.removed_at IS NULL
      AND COALESCE(aw.status, 'active') NOT IN ('cancelled', 'unsuccessful')
      AND (f.lot_key = 0 OR aw.lots IS NULL
           OR EXISTS (SELECT 1 FROM json_each(aw.lots) j WHERE j.value = l.external_id))
    GROUP BY aw.id
)
SELECT s.identifier AS supplier_id,
       s.scheme AS supplier_scheme,
       s.name AS supplier_name,
       COUNT(DISTINCT w.notice_id) AS flagged_notices_won,
       SUM(CASE WHEN w.rank = 3 THEN 1 ELSE 0 END) AS high_awards,
       ROUND(SUM(COALESCE(aw.contract_amount, aw.amount)), 2) AS awarded_amount,
       COALESCE(aw.currency, n.currency) AS currency,
       COUNT(DISTINCT n.agency_id) AS agencies,
       group_concat(DISTINCT COALESCE(ag.name_ru, ag.name_kk, ag.name_en)) AS agency_names,
       MIN(substr(COALESCE(aw.contract_signed_at, aw.awarded_at, n.published_at), 1, 4)) AS first_year,
       MAX(substr(COALESCE(aw.contract_signed_at, aw.awarded_at, n.published_at), 1, 4)) AS last_year
FROM won w
JOIN awards aw ON aw.id = w.award_id
JOIN award_suppliers x ON x.award_id = aw.id
JOIN suppliers s ON s.id = x.supplier_id
JOIN notices n ON n.id = w.notice_id
LEFT JOIN agencies ag ON ag.id = n.agency_id
WHERE COALESCE(n.published_at, n.first_seen_at) >= COALESCE(NULLIF(:since, ''), '2000-01-01')
  AND (COALESCE(:supplier, '') = '' OR s.identifier = COALESCE(:supplier, '') OR s.name LIKE '%' || COALESCE(:supplier, '') || '%')
GROUP BY s.id, COALESCE(aw.currency, n.currency)
ORDER BY flagged_notices_won DESC, awarded_amount DESC, supplier_name
LIMIT CAST(COALESCE(NULLIF(:limit, ''), 100) AS INTEGER);
