//! Extraction: fixtures built in code (DOCX, XLSX, ZIP, CMS, HTML, text) and small real files
//! made by LibreOffice and ReportLab (tests/fixtures/extract, see make_fixtures.py).

use crate::util::zip_of;
use std::time::Duration;
use tenderscan::extract::{ExtractError, Extracted, Kind, Limits, extract, sniff};

const RU: &str = "Техническая спецификация на оказание услуг по размещению положительных отзывов в социальных сетях";
const KK: &str = "Қызмет: әлеуметтік желілерде оң пікірлер қалыптастыру үшін ұйымның өнімдері туралы ғаламтор шолуы, мың жазба, һижра";
const KK_LETTERS: [char; 9] = ['қ', 'ң', 'ү', 'ұ', 'ә', 'ө', 'і', 'ғ', 'һ'];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/extract/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every word of `expected` (punctuation stripped) is in `text`.
fn assert_words(text: &str, expected: &str) {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for w in expected
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        assert!(words.contains(&w), "word {w:?} missing from:\n{text}");
    }
}

fn run(bytes: &[u8], name: &str) -> Extracted {
    extract(bytes, Some(name), None, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const W: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";

fn para(t: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{t}</w:t></w:r></w:p>")
}

fn docx_with(body: &str, extra: &[(&str, String)]) -> Vec<u8> {
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document {W}><w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    let ct = "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("word/document.xml", doc.as_bytes()),
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
    ];
    for (n, x) in extra {
        entries.push((n, x.as_bytes()));
    }
    zip_of(&entries)
}

fn spec_docx() -> Vec<u8> {
    let table = "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Наименование</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Саны</w:t></w:r></w:p></w:tc></w:tr>\
        <w:tr><w:tc><w:p><w:r><w:t>Комментарии</w:t></w:r></w:p><w:p><w:r><w:t>в соцсетях</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>1500</w:t></w:r></w:p></w:tc></w:tr></w:tbl>";
    let body = format!(
        "{}{}{table}<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr><w:r><w:t>Срок</w:t></w:r><w:r><w:tab/><w:t>12 &amp; месяцев</w:t></w:r></w:p>\
         <w:p><w:r><w:delText>удалено</w:delText></w:r><w:r><w:instrText> HYPERLINK x </w:instrText></w:r></w:p>",
        para(RU),
        para(KK)
    );
    let header = format!("<w:hdr {W}>{}</w:hdr>", para("Акимат города Алматы"));
    let foot = format!(
        "<w:footnotes {W}><w:footnote w:id=\"1\">{}</w:footnote></w:footnotes>",
        para("Сноска: отзывы на 2GIS")
    );
    docx_with(
        &body,
        &[("word/header1.xml", header), ("word/footnotes.xml", foot)],
    )
}

#[test]
fn docx_body_tables_headers_footnotes() {
    let out = run(&spec_docx(), "techspec.docx");
    assert_eq!(out.kind, Kind::Docx);
    assert_words(&out.text, RU);
    assert_words(&out.text, KK);
    for c in KK_LETTERS {
        assert!(out.text.contains(c), "{c}");
    }
    // rows on lines, cells tab-separated, paragraphs inside a cell joined
    assert!(
        out.text
            .contains("Наименование\tСаны\nКомментарии в соцсетях\t1500\n"),
        "{:?}",
        out.text
    );
    assert!(out.text.contains("Срок\t12 & месяцев"), "{:?}", out.text);
    assert!(!out.text.contains("удалено") && !out.text.contains("HYPERLINK"));
    assert_words(&out.text, "Акимат города Алматы Сноска отзывы на 2GIS");
    let paths: Vec<&str> = out.parts.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "word/document.xml",
            "word/header1.xml",
            "word/footnotes.xml"
        ]
    );
    assert!(out.parts[0].chars > 100);
    assert!(!out.scanned);
    // parts are separated by a blank line
    assert!(out.text.contains("\n\nАкимат"));
}

#[test]
fn truncated_docx_gives_partial_text_with_a_note() {
    let body: String = (0..400)
        .map(|i| para(&format!("Абзац {i} пікірлер")))
        .collect();
    let full = docx_with(&body, &[]);
    let cut = &full[..full.len() * 6 / 10];
    let out = run(cut, "cut.docx");
    assert_eq!(out.kind, Kind::Docx);
    assert!(
        out.text.starts_with("Абзац 0 пікірлер\nАбзац 1 пікірлер"),
        "{:?}",
        &out.text[..80]
    );
    assert!(
        !out.text.contains("Абзац 399 "),
        "a cut file cannot hold its end"
    );
    assert!(
        out.notes.iter().any(|n| n.contains("local headers"))
            && out.notes.iter().any(|n| n.contains("partly")),
        "{:?}",
        out.notes
    );
}

#[test]
fn docx_xml_over_the_entry_cap_is_read_up_to_the_cap() {
    // 4 MiB of paragraphs; the cap is 256 KiB: text of the start, a note, quick
    let body: String = (0..40_000)
        .map(|i| para(&format!("Строка {i} текст")))
        .collect();
    let docx = docx_with(&body, &[]);
    let limits = Limits {
        max_entry_bytes: 256 << 10,
        ..Limits::default()
    };
    let out = extract(&docx, Some("big.docx"), None, &limits).unwrap();
    assert!(out.text.starts_with("Строка 0 текст"));
    assert!(out.text.len() < 256 << 10);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("more than the 256.0 KiB")),
        "{:?}",
        out.notes
    );
}

fn xlsx() -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let wb = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Спецификация" sheetId="1" r:id="rId1"/><sheet name="Қосымша" sheetId="2" r:id="rId2"/></sheets></workbook>"#;
    let wbrels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
    let sst = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4"><si><t>Наименование услуги</t></si><si><t>Количество</t></si><si><t>Размещение отзывов</t></si><si><t>Пікірлер жариялау</t></si></sst>"#;
    let s1 = r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>1500</v></c></row></sheetData></worksheet>"#;
    let s2 = r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="3"><c r="B3" t="s"><v>3</v></c><c r="C3" t="inlineStr"><is><t>ұйым өнімі</t></is></c></row></sheetData></worksheet>"#;
    zip_of(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("xl/workbook.xml", wb.as_bytes()),
        ("xl/_rels/workbook.xml.rels", wbrels.as_bytes()),
        ("xl/sharedStrings.xml", sst.as_bytes()),
        ("xl/worksheets/sheet1.xml", s1.as_bytes()),
        ("xl/worksheets/sheet2.xml", s2.as_bytes()),
    ])
}

#[test]
fn xlsx_every_sheet_row_by_row() {
    let out = run(&xlsx(), "quantities.xlsx");
    assert_eq!(out.kind, Kind::Xlsx);
    assert_eq!(
        out.text,
        "Спецификация\nНаименование услуги\tКоличество\nРазмещение отзывов\t1500\nҚосымша\nПікірлер жариялау\tұйым өнімі"
    );
}

#[test]
fn zip_recurses_into_documents_and_encodings() {
    let cp1251 = encoding_rs::WINDOWS_1251
        .encode("Отзывы и комментарии в социальных сетях, накрутка лайков")
        .0;
    let inner = zip_of(&[("readme.txt", "Ішкі мұрағат: пікірлер".as_bytes())]);
    let z = zip_of(&[
        ("ТЗ/techspec.docx", &spec_docx()),
        ("ТЗ/объем.xlsx", &xlsx()),
        ("notes-1251.txt", &cp1251),
        ("inner.zip", &inner),
        (
            "setup.exe",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
        ),
    ]);
    let out = run(&z, "lot.zip");
    assert_eq!(out.kind, Kind::Zip);
    assert_words(&out.text, RU);
    assert_words(&out.text, KK);
    assert_words(&out.text, "Размещение отзывов Пікірлер жариялау");
    assert_words(
        &out.text,
        "Отзывы и комментарии в социальных сетях накрутка лайков",
    );
    assert_words(&out.text, "Ішкі мұрағат пікірлер");
    let paths: Vec<&str> = out.parts.iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"ТЗ/techspec.docx/word/document.xml"),
        "{paths:?}"
    );
    assert!(paths.contains(&"inner.zip/readme.txt"), "{paths:?}");
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("setup.exe skipped: unsupported")),
        "{:?}",
        out.notes
    );
    assert!(
        out.notes.iter().any(|n| n.contains("windows-1251")),
        "{:?}",
        out.notes
    );
}

/// A ZIP with one deflated entry of `zeros` zero bytes, built without inflating anything:
/// a fixed-Huffman stream of one literal and length-258 matches at distance 1.
fn zip_bomb(zeros: u64, declared: u32) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, v: u64, n: u32) {
            self.acc |= v << self.n;
            self.n += n;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        fn put_rev(&mut self, code: u64, n: u32) {
            let mut r = 0;
            for i in 0..n {
                r |= ((code >> i) & 1) << (n - 1 - i);
            }
            self.put(r, n);
        }
    }
    let mut b = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    b.put_rev(0x30, 8); // literal 0
    let matches = (zeros - 1) / 258;
    for _ in 0..matches {
        b.put_rev(0b1100_0101, 8); // length code 285 = 258
        b.put_rev(0, 5); // distance code 0 = 1
    }
    for _ in 0..(zeros - 1 - matches * 258) {
        b.put_rev(0x30, 8);
    }
    b.put_rev(0, 7); // end of block
    b.put(0, 7);
    let data = b.out;
    let name = b"zeros.bin";
    let mut z = Vec::new();
    let local = |z: &mut Vec<u8>| {
        z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00");
        z.extend_from_slice(&0u32.to_le_bytes()); // crc (never reached)
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&declared.to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name);
    };
    local(&mut z);
    z.extend_from_slice(&data);
    let cd = z.len() as u32;
    z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00");
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&declared.to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0u8; 12]); // extra, comment, disk, attrs
    z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    z.extend_from_slice(name);
    let cd_len = z.len() as u32 - cd;
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&cd.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

#[test]
fn zip_bomb_declared_size_is_refused_without_inflating() {
    let bomb = zip_bomb(1 << 30, u32::MAX);
    assert!(bomb.len() < 8 << 20);
    let err = extract(&bomb, Some("bomb.zip"), None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ExtractError::LimitExceeded(_)), "{err}");
    // Refused for what it declares, before a byte is inflated.
    assert!(err.to_string().contains("zeros.bin declares"), "{err}");
}

#[test]
fn zip_bomb_with_lying_sizes_stops_at_the_cap() {
    // declares 1 000 bytes, inflates to 1 GiB: the reader must stop at the cap
    let bomb = zip_bomb(1 << 30, 1000);
    let limits = Limits {
        max_entry_bytes: 4 << 20,
        ..Limits::default()
    };
    let r = extract(&bomb, Some("bomb.zip"), None, &limits);
    // the inflater stops where the declared size ends (zip checks actual against declared;
    // we check declared against the caps), and zeros are no document: an error
    let err = r.unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::Empty {
                kind: Kind::Zip,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("zeros.bin: read partly"), "{err}");
}

fn nested_zip(levels: usize) -> Vec<u8> {
    let mut z = zip_of(&[("deep.txt", "Самый глубокий уровень".as_bytes())]);
    for i in 1..levels {
        z = zip_of(&[(&format!("level{i}.zip"), &z)]);
    }
    z
}

#[test]
fn ten_level_nested_zip_hits_the_depth_limit() {
    let z = nested_zip(10);
    let err = extract(&z, Some("nested.zip"), None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ExtractError::LimitExceeded(_)), "{err}");
    assert!(
        err.to_string().contains("nested more than 8 levels"),
        "{err}"
    );
    // allowed deeper, the same file reads through
    let deep = Limits {
        max_depth: 12,
        ..Limits::default()
    };
    let out = extract(&z, Some("nested.zip"), None, &deep).unwrap();
    assert_eq!(out.text, "Самый глубокий уровень");
    assert_eq!(out.parts.len(), 1);
    assert!(
        out.parts[0].path.ends_with("level1.zip/deep.txt"),
        "{}",
        out.parts[0].path
    );
}

#[test]
fn zip_entry_count_limit() {
    let names: Vec<String> = (0..50).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), "текст".as_bytes()))
        .collect();
    let z = zip_of(&entries);
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let out = extract(&z, None, None, &limits).unwrap();
    assert_eq!(out.parts.len(), 10);
    assert!(
        out.notes.iter().any(|n| n.contains("first 10 entries")),
        "{:?}",
        out.notes
    );
}

#[test]
fn pdfs_from_two_producers_keep_russian_and_kazakh() {
    for name in ["lo_ru_kk.pdf", "reportlab_ru_kk.pdf"] {
        let out = run(&fixture(name), name);
        assert_eq!(out.kind, Kind::Pdf, "{name}");
        assert!(!out.scanned, "{name}");
        assert_words(&out.text, RU);
        assert_words(&out.text, KK);
        for c in KK_LETTERS {
            assert!(out.text.contains(c), "{name}: {c}");
        }
        assert_words(&out.text, "Количество 1500 штук Пікірлер саны");
    }
    let out = run(&fixture("reportlab_ru_kk.pdf"), "x.pdf");
    assert_words(&out.text, "Вторая страница срок оказания услуг 12 месяцев");
}

#[test]
fn pdf_without_text_layer_is_a_scan_not_an_error() {
    let out = run(&fixture("scan_no_text.pdf"), "scan.pdf");
    assert!(out.scanned);
    assert_eq!(out.text, "");
    assert_eq!(out.kind, Kind::Pdf);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("no text layer") && n.contains("OCR")),
        "{:?}",
        out.notes
    );
    // inside a ZIP as the only PDF: still a scan
    let z = zip_of(&[("scan.pdf", &fixture("scan_no_text.pdf"))]);
    assert!(run(&z, "a.zip").scanned);
}

#[test]
fn pdf_cut_in_half_is_partial_or_a_clear_error() {
    let pdf = fixture("lo_ru_kk.pdf");
    let half = &pdf[..pdf.len() / 2];
    let r = extract(half, Some("cut.pdf"), None, &Limits::default());
    // the cross-reference table is at the end: both backends refuse, with the reason
    let err = r.unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::Corrupt {
                kind: Kind::Pdf,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn html_named_pdf_is_read_as_html_with_a_note() {
    let html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Закупка</title><style>p{color:red}</style><script>var x='скрипт';</script></head>\
        <body><h1>Объявление</h1><p>Услуги по <b>формированию</b>\n   общественного мнения</p><table><tr><td>Пікір</td><td>500</td></tr></table><noscript>нет</noscript></body></html>";
    let out = run(html.as_bytes(), "techspec_84965784.pdf");
    assert_eq!(out.kind, Kind::Html);
    assert_eq!(
        out.text,
        "Закупка\nОбъявление\nУслуги по формированию общественного мнения\nПікір\t500"
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("content is html, not pdf")),
        "{:?}",
        out.notes
    );
}

#[test]
fn html_charset_from_meta_and_media_type() {
    let body = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head><body><p>Размещение отзывов</p></body></html>";
    let bytes = encoding_rs::WINDOWS_1251.encode(body).0;
    let out = run(&bytes, "page.html");
    assert_eq!(out.text, "Размещение отзывов");
    let koi = encoding_rs::KOI8_R.encode("<p>Накрутка лайков</p>").0;
    let out = extract(
        &koi,
        None,
        Some("text/html; charset=KOI8-R"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(out.text, "Накрутка лайков");
}

#[test]
fn plain_text_encodings() {
    let s = "Оказание услуг по мониторингу: пікірлер, отзывы";
    let mut bom8 = b"\xEF\xBB\xBF".to_vec();
    bom8.extend_from_slice(s.as_bytes());
    let mut le_bom = vec![0xFF, 0xFE];
    let mut le = Vec::new();
    let mut be = vec![0xFE, 0xFF];
    for u in s.encode_utf16() {
        le_bom.extend_from_slice(&u.to_le_bytes());
        le.extend_from_slice(&u.to_le_bytes());
        be.extend_from_slice(&u.to_be_bytes());
    }
    for (what, bytes) in [
        ("utf8", s.as_bytes().to_vec()),
        ("bom", bom8),
        ("le-bom", le_bom),
        ("le", le),
        ("be", be),
    ] {
        let out = run(&bytes, "a.txt");
        assert_eq!(out.kind, Kind::Text, "{what}");
        assert_eq!(out.text, s, "{what}");
    }
    let ru = "Техническое задание на оказание услуг по размещению комментариев и отзывов в сети Интернет";
    for enc in [
        encoding_rs::WINDOWS_1251,
        encoding_rs::KOI8_R,
        encoding_rs::IBM866,
    ] {
        let bytes = enc.encode(ru).0;
        let out = run(&bytes, "a.txt");
        assert_eq!(out.text, ru, "{}", enc.name());
        assert!(
            out.notes.iter().any(|n| n.contains(enc.name())),
            "{:?}",
            out.notes
        );
    }
}

/// A DER length.
fn der_len(n: usize) -> Vec<u8> {
    if n < 128 {
        vec![n as u8]
    } else {
        let b = (n as u32).to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count();
        let mut v = vec![0x80 | (4 - skip) as u8];
        v.extend_from_slice(&b[skip..]);
        v
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(der_len(content.len()));
    v.extend_from_slice(content);
    v
}

const OID_SIGNED: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02,
];
const OID_DATA: &[u8] = &[
    0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
];
const DIGEST_SET: &[u8] = &[
    0x31, 0x0B, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00,
];

/// SignedData in DER around `content` (None: detached).
fn cms_der(content: Option<&[u8]>) -> Vec<u8> {
    let mut eci = OID_DATA.to_vec();
    if let Some(c) = content {
        eci.extend(der(0xA0, &der(0x04, c)));
    }
    let mut sd = der(0x02, &[1]);
    sd.extend_from_slice(DIGEST_SET);
    sd.extend(der(0x30, &eci));
    sd.extend(der(0x31, &[])); // signerInfos (empty here)
    let mut ci = OID_SIGNED.to_vec();
    ci.extend(der(0xA0, &der(0x30, &sd)));
    der(0x30, &ci)
}

/// The same in BER as NCALayer writes it: indefinite lengths, content in 1000-byte chunks.
fn cms_ber(content: &[u8]) -> Vec<u8> {
    let mut os = vec![0x24, 0x80];
    for chunk in content.chunks(1000) {
        os.extend(der(0x04, chunk));
    }
    os.extend([0, 0]);
    let mut v = vec![0x30, 0x80];
    v.extend_from_slice(OID_SIGNED);
    v.extend([0xA0, 0x80, 0x30, 0x80]);
    v.extend(der(0x02, &[1]));
    v.extend_from_slice(DIGEST_SET);
    v.extend([0x30, 0x80]);
    v.extend_from_slice(OID_DATA);
    v.extend([0xA0, 0x80]);
    v.extend(os);
    v.extend([0, 0, 0, 0]); // [0], encapContentInfo
    v.extend(der(0x31, &[]));
    v.extend([0, 0, 0, 0, 0, 0]); // SignedData, [0], ContentInfo
    v
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 16 == 0 {
            s.push('\n');
        }
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn cms_signed_docx_der_ber_and_base64() {
    let docx = spec_docx();
    let der_form = cms_der(Some(&docx));
    let ber_form = cms_ber(&docx);
    let b64 = base64(&der_form);
    let pem = format!(
        "-----BEGIN CMS-----\n{}\n-----END CMS-----\n",
        base64(&ber_form)
    );
    for (what, bytes) in [
        ("der", der_form.clone()),
        ("ber", ber_form),
        ("base64", b64.into_bytes()),
        ("pem", pem.into_bytes()),
    ] {
        assert_eq!(sniff(&bytes, None), Kind::Cms, "{what}");
        let out = run(&bytes, "ТЗ.docx.cms");
        assert_eq!(out.kind, Kind::Cms, "{what}");
        assert_words(&out.text, RU);
        assert_words(&out.text, KK);
        assert_eq!(out.parts[0].path, "ТЗ.docx/word/document.xml", "{what}");
    }
    // a signed PDF inside a ZIP
    let z = zip_of(&[("spec.pdf.p7s", &cms_der(Some(&fixture("lo_ru_kk.pdf"))))]);
    assert_eq!(
        sniff(&cms_der(Some(&fixture("lo_ru_kk.pdf"))), None),
        Kind::Cms
    );
    let out = run(&z, "signed.zip");
    assert_words(&out.text, KK);
    assert_eq!(out.parts[0].path, "spec.pdf.p7s/spec.pdf");
    assert_eq!(out.parts[0].kind, Kind::Pdf);
}

#[test]
fn cms_detached_and_truncated_are_clear_errors() {
    let err = extract(&cms_der(None), Some("sig.p7s"), None, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("detached signature"), "{err}");
    let full = cms_der(Some(&spec_docx()));
    let err = extract(
        &full[..full.len() / 2],
        Some("x.cms"),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::Corrupt {
                kind: Kind::Cms,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn libreoffice_doc_rtf_odt_fixtures() {
    for name in ["lo_ru_kk.doc", "lo_ru_kk.rtf", "lo_ru_kk.odt"] {
        let out = run(&fixture(name), name);
        let want = match name.rsplit('.').next().unwrap() {
            "doc" => Kind::Doc,
            "rtf" => Kind::Rtf,
            _ => Kind::Odt,
        };
        assert_eq!(out.kind, want, "{name}");
        assert_words(&out.text, RU);
        assert_words(&out.text, KK);
        assert!(
            out.text
                .contains("Количество комментариев\t1500 штук\tПікірлер саны"),
            "{name}: {:?}",
            out.text
        );
        assert!(
            out.text.ends_with("Конец документа"),
            "{name}: {:?}",
            out.text
        );
    }
}

#[test]
fn libreoffice_xls_and_ods_fixtures() {
    for name in ["lo_sheet.xls", "lo_sheet.ods"] {
        let out = run(&fixture(name), name);
        assert!(
            out.text.contains(
                "Количество комментариев\t1500 штук\tПікірлер саны\nТехническая\tҚызмет:\t42"
            ),
            "{name}: {:?}",
            out.text
        );
    }
}

#[test]
fn rtf_with_cp1251_and_unicode() {
    let rtf = b"{\\rtf1\\ansi\\ansicpg1251\\deff0{\\fonttbl{\\f0\\fcharset204 Times New Roman;}}{\\*\\generator Msftedit;}\\f0 \\'d2\\'e5\\'f5\\'ed\\'e8\\'f7\\'e5\\'f1\\'ea\\'ee\\'e5 \\'e7\\'e0\\'e4\\'e0\\'ed\\'e8\\'e5\\par \\u1179?\\u1201?\\u1241?\\'20\\u1171?\\u1186?\\par}";
    let out = run(rtf, "tz.rtf");
    assert_eq!(out.text, "Техническое задание\nқұә ғҢ");
}

#[test]
fn limits_input_size_text_cap_and_time_budget() {
    let limits = Limits {
        max_input_bytes: 10,
        ..Limits::default()
    };
    let err = extract(b"hello world, this is too long", None, None, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::TooLarge {
                size: 29,
                limit: 10
            }
        ),
        "{err}"
    );

    let limits = Limits {
        max_text_bytes: 20,
        ..Limits::default()
    };
    let out = extract("Пікірлер пікірлер пікірлер".as_bytes(), None, None, &limits).unwrap();
    assert_eq!(out.text, "Пікірлер");
    assert!(
        out.notes.iter().any(|n| n.contains("truncated")),
        "{:?}",
        out.notes
    );

    let limits = Limits {
        time_budget: Duration::ZERO,
        ..Limits::default()
    };
    let err = extract(&spec_docx(), None, None, &limits).unwrap_err();
    assert!(matches!(err, ExtractError::TimedOut(_)), "{err}");
}

#[test]
fn sniff_by_content_not_name() {
    assert_eq!(sniff(&spec_docx(), Some("x.zip")), Kind::Docx);
    assert_eq!(sniff(&xlsx(), None), Kind::Xlsx);
    assert_eq!(sniff(&fixture("lo_ru_kk.pdf"), Some("x.docx")), Kind::Pdf);
    assert_eq!(sniff(&fixture("lo_ru_kk.doc"), None), Kind::Doc);
    assert_eq!(sniff(&fixture("lo_sheet.xls"), None), Kind::Xls);
    assert_eq!(sniff(&fixture("lo_ru_kk.odt"), None), Kind::Odt);
    assert_eq!(sniff(&fixture("lo_sheet.ods"), None), Kind::Ods);
    assert_eq!(sniff(b"{\\rtf1 x}", Some("a.doc")), Kind::Rtf);
    assert_eq!(
        sniff(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00", None),
        Kind::Unknown
    );
    assert_eq!(
        sniff(&zip_of(&[("a.txt", b"a")]), Some("a.docx")),
        Kind::Zip
    );
    assert_eq!(Kind::Docx.as_str(), "docx");
    assert_eq!(serde_json::to_string(&Kind::Ods).unwrap(), "\"ods\"");
}

#[test]
fn unknown_binary_is_unsupported() {
    let err = extract(
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00",
        Some("a.bin"),
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ExtractError::Unsupported(_)), "{err}");
}

#[test]
fn fuzz_regression_xls_dimensions_record_cannot_reserve_gigabytes() {
    // found by the `ole` fuzz target: a DIMENSIONS record made calamine reserve 257 GB
    let bytes = fixture("fuzz_xls_dimensions_oom.xls");
    let err = extract(&bytes, Some("x.xls"), None, &Limits::default()).unwrap_err();
    assert!(matches!(err, ExtractError::LimitExceeded(_)), "{err}");
    assert!(err.to_string().contains("spans"), "{err}");
}

#[test]
fn fuzz_regression_pdf_header_inside_an_ole_file_is_not_a_pdf() {
    // found by the `ole` fuzz target: OLE magic first, "%PDF-" a few bytes later
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend_from_slice(b"%PDF-1.4\n");
    bytes.resize(600, 0);
    assert_eq!(sniff(&bytes, None), Kind::Unknown);
    assert_eq!(sniff(&bytes, Some("a.doc")), Kind::Doc);
    let err = extract(&bytes, Some("a.doc"), None, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ExtractError::Corrupt {
                kind: Kind::Doc,
                ..
            }
        ),
        "{err}"
    );
    // a PDF behind a few bytes of junk is still a PDF
    let mut junk = b"\r\n\r\n".to_vec();
    junk.extend(fixture("reportlab_ru_kk.pdf"));
    assert_eq!(sniff(&junk, None), Kind::Pdf);
}
