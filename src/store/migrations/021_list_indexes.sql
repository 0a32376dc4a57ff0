-- 021: indexes for the web page's lists at a million notices (issue #19). The flag list
-- walks the flags in the order it shows them (by date, by amount) instead of sorting every
-- flag for each page; an agency's, a supplier's and a notice's page look them up by their
-- identifiers.
-- Indexes only: no row changes, and the `flags` view keeps its exact columns.

-- The flag list by amount: a notice's own amount, and a lot's.
CREATE INDEX notices_amount ON notices(amount);
-- (with the notice: the walk goes from the lot to its flag without reading the lot's row)
CREATE INDEX lots_amount ON lots(amount, notice_id);
-- The flag list by price per unit: the matches whose count is sure (see 019).
CREATE INDEX matches_priced ON matches(notice_id)
    WHERE quota_sure = 1 AND quota_count > 0 AND retracted_at IS NULL;
-- `/agency/BIN`, `/supplier/ID`, and the list's and charts' agency and supplier filters
-- (the UNIQUE (scheme, identifier) indexes do not serve a look-up by identifier alone).
CREATE INDEX agencies_identifier ON agencies(identifier);
CREATE INDEX suppliers_identifier ON suppliers(identifier);
-- A notice by its external id (`show`, the notice page): the UNIQUE (source_id,
-- external_id) index does not serve it either.
CREATE INDEX notices_external ON notices(external_id);
-- Whether any notice is of a region (a region the list is asked for that none has lists
-- nothing at once instead of walking every flag).
CREATE INDEX notices_region ON notices(region);
