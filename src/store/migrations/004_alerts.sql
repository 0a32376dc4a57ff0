-- 004: delivery bookkeeping for the alert outbox.
--
-- alerts.status:  pending (waiting, digest_id NULL) | queued (attached to a digest being sent,
--                 or to an unconfirmed one) | sent | baseline (never mailed)
-- digests.status: queued (composed, alerts attached, not yet handed to the server)
--                 | sending (being handed to the server) | sent | failed (alerts released)
--                 | unconfirmed (a run died while sending: the server may have it; never resent
--                   automatically, only by `tenderscan alert --resend ID`)

ALTER TABLE alerts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;   -- failed delivery attempts
ALTER TABLE alerts ADD COLUMN last_error TEXT;
ALTER TABLE alerts ADD COLUMN first_failed_at TEXT;                  -- UTC, first failed attempt
CREATE INDEX alerts_digest ON alerts(digest_id);

ALTER TABLE digests ADD COLUMN kind TEXT NOT NULL DEFAULT 'digest'; -- digest | operator
ALTER TABLE digests ADD COLUMN raw BLOB;                             -- the message as handed over, for --resend
ALTER TABLE digests ADD COLUMN alert_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE digests ADD COLUMN attempted_at TEXT;                    -- UTC, last hand-over attempt
CREATE INDEX digests_status ON digests(status);
