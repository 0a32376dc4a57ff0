-- 008: partial indexes for the `changed_after_flag` report: the few notices that changed,
-- vanished or lost matches are found without reading every match.

CREATE INDEX notices_changed ON notices(id) WHERE version > 1 OR gone_at IS NOT NULL;
CREATE INDEX matches_retracted ON matches(notice_id) WHERE retracted_at IS NOT NULL;
