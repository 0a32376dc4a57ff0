-- 006: exchange rates from the config's [currency] table, and notices with their amounts in
-- the base currency. The rates are replaced at the start of every run (the config is the
-- truth); a currency without a rate gives NULL, never a guess.

CREATE TABLE currency_rates (
    currency   TEXT PRIMARY KEY,           -- ISO 4217, upper case
    base       TEXT NOT NULL,              -- the [currency] base
    rate       REAL NOT NULL,              -- units of base per one unit of currency
    updated_at TEXT NOT NULL
);

CREATE VIEW notices_in_base AS
SELECT n.id                          AS notice_id,
       s.name                        AS source,
       n.number                      AS notice_number,
       n.title                       AS title,
       n.amount                      AS amount,
       n.currency                    AS currency,
       COALESCE(r.base, b.base)      AS base,
       CASE WHEN n.amount IS NULL THEN NULL
            WHEN UPPER(n.currency) = b.base THEN 1.0
            ELSE r.rate END          AS rate,
       CASE WHEN n.amount IS NULL THEN NULL
            WHEN UPPER(n.currency) = b.base THEN ROUND(n.amount, 2)
            WHEN r.rate IS NOT NULL THEN ROUND(n.amount * r.rate, 2) END AS amount_base,
       n.published_at                AS published_at,
       n.url                         AS url
FROM notices n
JOIN sources s ON s.id = n.source_id
LEFT JOIN (SELECT MAX(base) AS base FROM currency_rates) b
LEFT JOIN currency_rates r ON r.currency = UPPER(n.currency);
