-- 008: indexes found missing at a million notices.
--
-- Partial indexes for the `changed_after_flag` report: the few notices that changed,
-- vanished or lost matches are found without reading every match.
CREATE INDEX notices_changed ON notices(id) WHERE version > 1 OR gone_at IS NOT NULL;
CREATE INDEX matches_retracted ON matches(notice_id) WHERE retracted_at IS NOT NULL;

-- Documents by URL: an attachment already fetched for another notice is reused, not
-- fetched again; without this, each lookup read the whole table.
CREATE INDEX documents_url ON documents(url);
