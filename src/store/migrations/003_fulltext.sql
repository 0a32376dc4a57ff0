-- 003: the full-text index.

-- Full-text index over notice, lot and document text. Contentless: the text lives in
-- its own table once; rowid = id * 4 + (0 notice, 1 lot, 2 document). `folded` holds the
-- text folded and stemmed the way the rule engine reads it.
CREATE VIRTUAL TABLE fulltext USING fts5(
    body, folded,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);
