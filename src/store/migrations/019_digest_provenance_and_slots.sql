-- Where a match's main quota count came from (src/rules/provenance.rs), so a digest can say
-- it ("from the volume table, row «Комментарии», 900 a month") and work out a price per unit
-- only from a count that is sure. NULL on matches recorded before: their source is not
-- known, so they are not sure (no price per unit) until the notice is scanned again.
ALTER TABLE matches ADD COLUMN quota_source TEXT
    CHECK (quota_source IS NULL OR quota_source IN ('table', 'text'));
-- The table row's name, or the words the count was read from (untrusted portal text).
ALTER TABLE matches ADD COLUMN quota_label TEXT;
-- 1 when a price per unit may be worked out from the count.
ALTER TABLE matches ADD COLUMN quota_sure INTEGER CHECK (quota_sure IS NULL OR quota_sure IN (0, 1));

-- The last slot of a recipient's digest schedule (`[[recipients]] schedule`, e.g. `daily
-- 08:00`) whose digests were handed over: a run sends a scheduled recipient's pending alerts
-- only once a newer slot has come. `each-run` recipients have no row.
CREATE TABLE digest_slots (
    recipient  TEXT PRIMARY KEY,
    slot       TEXT NOT NULL,               -- UTC, RFC 3339: the slot's time
    sent_at    TEXT NOT NULL                -- UTC: when its digests were handed over
);
