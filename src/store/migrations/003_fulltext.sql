-- 003: full-text indexes over notice, lot and document text.
--
-- External-content FTS5 tables: the text lives once, in its own table; triggers keep the
-- indexes in step. unicode61 folds case (Cyrillic too) and, with remove_diacritics 2,
-- ё to е; Kazakh letters (ә ғ қ ң ө ұ ү і һ) have no decomposition and stay distinct.
-- `tenderscan search` stems query words the way the rule engine does and searches their
-- prefixes, so inflected forms are found. Datasette sees these as the tables' FTS indexes.

CREATE VIRTUAL TABLE notices_fts USING fts5(
    title, title_kk, description,
    content = 'notices', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER notices_fts_insert AFTER INSERT ON notices BEGIN
    INSERT INTO notices_fts (rowid, title, title_kk, description)
    VALUES (new.id, new.title, new.title_kk, new.description);
END;
CREATE TRIGGER notices_fts_delete AFTER DELETE ON notices BEGIN
    INSERT INTO notices_fts (notices_fts, rowid, title, title_kk, description)
    VALUES ('delete', old.id, old.title, old.title_kk, old.description);
END;
CREATE TRIGGER notices_fts_update AFTER UPDATE OF title, title_kk, description ON notices BEGIN
    INSERT INTO notices_fts (notices_fts, rowid, title, title_kk, description)
    VALUES ('delete', old.id, old.title, old.title_kk, old.description);
    INSERT INTO notices_fts (rowid, title, title_kk, description)
    VALUES (new.id, new.title, new.title_kk, new.description);
END;

CREATE VIRTUAL TABLE lots_fts USING fts5(
    title, description,
    content = 'lots', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER lots_fts_insert AFTER INSERT ON lots BEGIN
    INSERT INTO lots_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER lots_fts_delete AFTER DELETE ON lots BEGIN
    INSERT INTO lots_fts (lots_fts, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER lots_fts_update AFTER UPDATE OF title, description ON lots BEGIN
    INSERT INTO lots_fts (lots_fts, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO lots_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;

CREATE VIRTUAL TABLE documents_fts USING fts5(
    file_name, text,
    content = 'documents', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, file_name, text) VALUES (new.id, new.file_name, new.text);
END;
CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, file_name, text)
    VALUES ('delete', old.id, old.file_name, old.text);
END;
CREATE TRIGGER documents_fts_update AFTER UPDATE OF file_name, text ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, file_name, text)
    VALUES ('delete', old.id, old.file_name, old.text);
    INSERT INTO documents_fts (rowid, file_name, text) VALUES (new.id, new.file_name, new.text);
END;
