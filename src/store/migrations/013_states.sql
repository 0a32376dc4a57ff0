-- 013: the closed sets of text values are checked by the database: alert and digest states
-- and kinds, run states, match targets, severities, quota kinds and periods, and the event
-- types of `changed` alerts. The sets are the enums of `src/states.rs` (and `Severity` in
-- `src/model.rs`), whose text forms they are; a value outside its set is refused with
-- "<table>.<column> must be ...", and the statement (and its transaction) is rolled back.
--
-- Why triggers (BEFORE INSERT / BEFORE UPDATE OF the column, RAISE(ABORT)) and not CHECK
-- constraints: SQLite adds a CHECK to an existing column only by rebuilding the table
-- (create a copy, copy the rows, drop the old one, rename). Each migration runs in one
-- transaction, where `PRAGMA foreign_keys` cannot be switched off, and with foreign keys
-- on, dropping the old table deletes its rows first, with their ON DELETE actions:
-- rebuilding `matches` would delete every match alert (alerts.match_id ... ON DELETE
-- CASCADE), and `digests` cannot be dropped at all while alerts point at it. A rebuild
-- would also copy every row (a million matches), and has to recreate the indexes of
-- `matches` and `alerts`, the `flag_rows` triggers on `matches` and the views over them.
-- Triggers check the same sets on every write, cost nothing to add, and leave the tables,
-- their rows, indexes, foreign keys, triggers and views as they were.
--
-- Rows already there are not checked again: every build wrote only these values (they are
-- the sets its code had), and reading any other is an error naming it, not a guess.
-- Adding a value means adding it to its enum and replacing its trigger here in a new
-- migration, together.

CREATE TRIGGER alerts_check_insert BEFORE INSERT ON alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts.status must be pending, queued, sent or baseline')
    WHERE NEW.status NOT IN ('pending', 'queued', 'sent', 'baseline');
    SELECT RAISE(ABORT, 'alerts.kind must be match, changed or operator')
    WHERE NEW.kind NOT IN ('match', 'changed', 'operator');
    SELECT RAISE(ABORT, 'alerts.payload of a changed alert must be JSON with a list of events, each of type changed, phrase_removed, cancelled or gone')
    WHERE NEW.kind = 'changed'
      AND (json_valid(NEW.payload) IS NOT 1
           OR json_type(NEW.payload, '$.events') IS NOT 'array'
           OR EXISTS (SELECT 1 FROM json_each(NEW.payload, '$.events') e
                      WHERE e.type IS NOT 'object'
                         OR json_extract(e.value, '$.type') IS NULL
                         OR json_extract(e.value, '$.type')
                            NOT IN ('changed', 'phrase_removed', 'cancelled', 'gone')));
END;

CREATE TRIGGER alerts_check_update BEFORE UPDATE OF status, kind ON alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts.status must be pending, queued, sent or baseline')
    WHERE NEW.status NOT IN ('pending', 'queued', 'sent', 'baseline');
    SELECT RAISE(ABORT, 'alerts.kind must be match, changed or operator')
    WHERE NEW.kind NOT IN ('match', 'changed', 'operator');
END;

-- Apart from the one above: marking a `changed` alert sent does not parse its payload.
CREATE TRIGGER alerts_check_payload BEFORE UPDATE OF payload, kind ON alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts.payload of a changed alert must be JSON with a list of events, each of type changed, phrase_removed, cancelled or gone')
    WHERE NEW.kind = 'changed'
      AND (json_valid(NEW.payload) IS NOT 1
           OR json_type(NEW.payload, '$.events') IS NOT 'array'
           OR EXISTS (SELECT 1 FROM json_each(NEW.payload, '$.events') e
                      WHERE e.type IS NOT 'object'
                         OR json_extract(e.value, '$.type') IS NULL
                         OR json_extract(e.value, '$.type')
                            NOT IN ('changed', 'phrase_removed', 'cancelled', 'gone')));
END;

CREATE TRIGGER digests_check_insert BEFORE INSERT ON digests
BEGIN
    SELECT RAISE(ABORT, 'digests.status must be queued, sending, sent, failed or unconfirmed')
    WHERE NEW.status NOT IN ('queued', 'sending', 'sent', 'failed', 'unconfirmed');
    SELECT RAISE(ABORT, 'digests.kind must be digest or operator')
    WHERE NEW.kind NOT IN ('digest', 'operator');
END;

CREATE TRIGGER digests_check_update BEFORE UPDATE OF status, kind ON digests
BEGIN
    SELECT RAISE(ABORT, 'digests.status must be queued, sending, sent, failed or unconfirmed')
    WHERE NEW.status NOT IN ('queued', 'sending', 'sent', 'failed', 'unconfirmed');
    SELECT RAISE(ABORT, 'digests.kind must be digest or operator')
    WHERE NEW.kind NOT IN ('digest', 'operator');
END;

CREATE TRIGGER runs_check_insert BEFORE INSERT ON runs
BEGIN
    SELECT RAISE(ABORT, 'runs.status must be running, ok, partial, failed, interrupted or killed')
    WHERE NEW.status NOT IN ('running', 'ok', 'partial', 'failed', 'interrupted', 'killed');
END;

CREATE TRIGGER runs_check_update BEFORE UPDATE OF status ON runs
BEGIN
    SELECT RAISE(ABORT, 'runs.status must be running, ok, partial, failed, interrupted or killed')
    WHERE NEW.status NOT IN ('running', 'ok', 'partial', 'failed', 'interrupted', 'killed');
END;

-- A target is `notice:`, `lot:` or `document:` and the id in decimal digits.
CREATE TRIGGER matches_check_insert BEFORE INSERT ON matches
BEGIN
    SELECT RAISE(ABORT, 'matches.target must be notice:ID, lot:ID or document:ID')
    WHERE NOT (typeof(NEW.target) = 'text' AND (
           (NEW.target GLOB 'notice:[0-9]*' AND substr(NEW.target, 8) NOT GLOB '*[^0-9]*')
        OR (NEW.target GLOB 'lot:[0-9]*' AND substr(NEW.target, 5) NOT GLOB '*[^0-9]*')
        OR (NEW.target GLOB 'document:[0-9]*' AND substr(NEW.target, 10) NOT GLOB '*[^0-9]*')));
    SELECT RAISE(ABORT, 'matches.severity must be low, medium or high')
    WHERE NEW.severity NOT IN ('low', 'medium', 'high');
    SELECT RAISE(ABORT, 'matches.quota_kind must be comments, posts, accounts, followers, likes or NULL')
    WHERE NEW.quota_kind NOT IN ('comments', 'posts', 'accounts', 'followers', 'likes');
    SELECT RAISE(ABORT, 'matches.quota_period must be day, week, month, quarter, term or NULL')
    WHERE NEW.quota_period NOT IN ('day', 'week', 'month', 'quarter', 'term');
END;

CREATE TRIGGER matches_check_update BEFORE UPDATE OF target, severity, quota_kind, quota_period ON matches
BEGIN
    SELECT RAISE(ABORT, 'matches.target must be notice:ID, lot:ID or document:ID')
    WHERE NOT (typeof(NEW.target) = 'text' AND (
           (NEW.target GLOB 'notice:[0-9]*' AND substr(NEW.target, 8) NOT GLOB '*[^0-9]*')
        OR (NEW.target GLOB 'lot:[0-9]*' AND substr(NEW.target, 5) NOT GLOB '*[^0-9]*')
        OR (NEW.target GLOB 'document:[0-9]*' AND substr(NEW.target, 10) NOT GLOB '*[^0-9]*')));
    SELECT RAISE(ABORT, 'matches.severity must be low, medium or high')
    WHERE NEW.severity NOT IN ('low', 'medium', 'high');
    SELECT RAISE(ABORT, 'matches.quota_kind must be comments, posts, accounts, followers, likes or NULL')
    WHERE NEW.quota_kind NOT IN ('comments', 'posts', 'accounts', 'followers', 'likes');
    SELECT RAISE(ABORT, 'matches.quota_period must be day, week, month, quarter, term or NULL')
    WHERE NEW.quota_period NOT IN ('day', 'week', 'month', 'quarter', 'term');
END;
