-- 015: watchlist alerts. `[[watch]]` entries (config.toml and the watch file beside the
-- database) name an agency BIN, a supplier BIN, a region, an ENSTRU/KTRU code prefix or a
-- full-text query; a new or changed notice that matches one is alerted to the watch's
-- recipients whether or not a rule fired: an alert of the new kind `watch`, through the same
-- outbox (one per recipient and dedupe key `watch:{name}:{notice}:v{version}`). Its payload
-- is JSON: {"watch": name, "event": "new" | "changed", "version": n, "changes": [text]}.
--
-- `notices.watched_version` is the version of the notice the watches last looked at: a
-- notice is looked at once per version (a re-scan with `scan --all`, or a watch added later,
-- does not alert old notices). Notices already held count as looked at.
ALTER TABLE notices ADD COLUMN watched_version INTEGER;
UPDATE notices SET watched_version = version;

-- The kinds' check (013) gains `watch`, and a watch alert's payload is checked.
DROP TRIGGER alerts_check_insert;
DROP TRIGGER alerts_check_update;

CREATE TRIGGER alerts_check_insert BEFORE INSERT ON alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts.status must be pending, queued, sent or baseline')
    WHERE NEW.status NOT IN ('pending', 'queued', 'sent', 'baseline');
    SELECT RAISE(ABORT, 'alerts.kind must be match, changed, operator or watch')
    WHERE NEW.kind NOT IN ('match', 'changed', 'operator', 'watch');
    SELECT RAISE(ABORT, 'alerts.payload of a changed alert must be JSON with a list of events, each of type changed, phrase_removed, cancelled or gone')
    WHERE NEW.kind = 'changed'
      AND (json_valid(NEW.payload) IS NOT 1
           OR json_type(NEW.payload, '$.events') IS NOT 'array'
           OR EXISTS (SELECT 1 FROM json_each(NEW.payload, '$.events') e
                      WHERE e.type IS NOT 'object'
                         OR json_extract(e.value, '$.type') IS NULL
                         OR json_extract(e.value, '$.type')
                            NOT IN ('changed', 'phrase_removed', 'cancelled', 'gone')));
    SELECT RAISE(ABORT, 'alerts.payload of a watch alert must be JSON with the watch''s name and an event new or changed')
    WHERE NEW.kind = 'watch'
      AND (json_valid(NEW.payload) IS NOT 1
           OR json_type(NEW.payload, '$.watch') IS NOT 'text'
           OR json_extract(NEW.payload, '$.event') IS NOT 'new'
              AND json_extract(NEW.payload, '$.event') IS NOT 'changed');
END;

CREATE TRIGGER alerts_check_update BEFORE UPDATE OF status, kind ON alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts.status must be pending, queued, sent or baseline')
    WHERE NEW.status NOT IN ('pending', 'queued', 'sent', 'baseline');
    SELECT RAISE(ABORT, 'alerts.kind must be match, changed, operator or watch')
    WHERE NEW.kind NOT IN ('match', 'changed', 'operator', 'watch');
END;
