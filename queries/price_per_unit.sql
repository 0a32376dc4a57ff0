-- title: Price per comment, per account, per follower
-- description: What tenders paid per unit of manufactured opinion (amount / quota), by unit and year: count, min, median, max.
-- param: kind = % -- comments, posts, accounts, followers, likes, or % for all
-- param: since = 2000-01-01 -- first publication date (YYYY-MM-DD)
WITH priced AS (
    SELECT f.quota_kind AS kind,
           substr(COALESCE(f.published_at, f.first_flagged_at), 1, 4) AS year,
           f.currency,
           f.price_per_unit AS price
    FROM flag_details f
    WHERE f.price_per_unit IS NOT NULL
      AND f.quota_kind LIKE COALESCE(NULLIF(:kind, ''), '%')
      AND COALESCE(f.published_at, f.first_flagged_at) >= COALESCE(NULLIF(:since, ''), '2000-01-01')
),
ranked AS (
    SELECT kind, year, currency, price,
           ROW_NUMBER() OVER (PARTITION BY kind, year, currency ORDER BY price) AS rn,
           COUNT(*) OVER (PARTITION BY kind, year, currency) AS n
    FROM priced
)
SELECT kind, year, currency,
       MAX(n) AS tenders,
       MIN(price) AS min_price,
       ROUND(AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN price END), 2) AS median_price,
       MAX(price) AS max_price
FROM ranked
GROUP BY kind, year, currency
ORDER BY kind, year, currency;
