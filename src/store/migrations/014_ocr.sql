-- 014: scans read by OCR. `text_source` says
-- where a document's text came from, `+`-joined:
-- `text` (the format's own text), `pdftotext` or `pdf-extract` (a PDF's text layer), `ocr`;
-- NULL when there is no text. `ocr` is NULL (no page image needed reading), 'read' (OCR ran),
-- 'unavailable' (page images left unread: no OCR installed, or OCR off; `scan --ocr` reads
-- them later) or 'failed' (reading them again failed). `ocr_spans` is a JSON list of
-- [start, end] byte ranges of `text` that OCR read, so a match can say it was read by OCR.
ALTER TABLE documents ADD COLUMN text_source TEXT;
ALTER TABLE documents ADD COLUMN ocr TEXT;
ALTER TABLE documents ADD COLUMN ocr_spans TEXT;

-- Rows read before: their text is the format's own (or a PDF's text layer); a scan with no
-- text was left for OCR.
UPDATE documents SET text_source = 'text' WHERE text IS NOT NULL AND text <> '';
UPDATE documents SET ocr = 'unavailable'
WHERE scanned = 1 AND (text IS NULL OR text = '') AND error IS NULL;
CREATE INDEX documents_ocr ON documents(ocr) WHERE ocr IS NOT NULL;

-- `flags` and `flag_details` gain `read_by_ocr` (1 when the flag's matched words were read
-- by OCR, which can err), at the end; the other columns are as before.
DROP VIEW flags;
DROP VIEW flag_details;
CREATE VIEW flag_details AS
SELECT s.name                                AS source,
       n.number                              AS notice_number,
       l.number                              AS lot_number,
       COALESCE(l.title, n.title)            AS title,
       a.identifier                          AS agency_bin,
       COALESCE(a.name_ru, a.name_kk, a.name_en) AS agency_name,
       COALESCE(l.amount, n.amount)          AS amount,
       n.currency                            AS currency,
       f.rule_id                             AS rule_id,
       m.severity                            AS severity,
       m.evidence                            AS evidence,
       m.quota_kind                          AS quota_kind,
       m.quota_count                         AS quota_count,
       m.quota_period                        AS quota_period,
       CASE WHEN m.quota_count > 0 AND COALESCE(l.amount, n.amount) IS NOT NULL
            THEN ROUND(COALESCE(l.amount, n.amount) / m.quota_count, 2) END AS price_per_unit,
       n.url                                 AS url,
       n.published_at                        AS published_at,
       f.first_flagged_at                    AS first_flagged_at,
       f.notice_id                           AS notice_id,
       m.lot_id                              AS lot_id,
       n.agency_id                           AS agency_id,
       f.severity_rank                       AS severity_rank,
       f.match_id                            AS match_id,
       CASE WHEN json_valid(d.ocr_spans) THEN EXISTS (
           SELECT 1 FROM json_each(d.ocr_spans) j
           WHERE json_extract(j.value, '$[0]') < MAX(m.match_end, m.match_start + 1)
             AND json_extract(j.value, '$[1]') > m.match_start)
       ELSE 0 END                            AS read_by_ocr
FROM flag_rows f
JOIN matches m ON m.id = f.match_id
JOIN notices n ON n.id = f.notice_id
JOIN sources s ON s.id = n.source_id
LEFT JOIN lots l ON l.id = m.lot_id
LEFT JOIN agencies a ON a.id = n.agency_id
LEFT JOIN documents d ON d.id = m.document_id;

CREATE VIEW flags AS
SELECT source, notice_number, lot_number, title, agency_bin, agency_name, amount, currency,
       rule_id, severity, evidence, quota_kind, quota_count, quota_period, price_per_unit,
       url, published_at, first_flagged_at, read_by_ocr
FROM flag_details;
