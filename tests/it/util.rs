//! Helpers shared by the integration tests: temp projects, documents built in code,
//! and the tenderscan binary.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// A zip archive of (name, bytes) entries, deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A minimal DOCX whose body holds one paragraph per item (text is XML-escaped).
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body: String = paragraphs
        .iter()
        .map(|p| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                esc(p)
            )
        })
        .collect();
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    let ct = "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
    zip_of(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ])
}

/// The tenderscan binary, run in `dir` with a clean log environment.
pub fn tenderscan(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("tenderscan").unwrap();
    cmd.current_dir(dir)
        .env_remove("TENDERSCAN_LOG")
        .env_remove("GOSZAKUP_TOKEN");
    cmd
}

/// The path of the built binary, for tests that spawn and signal it themselves.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tenderscan"))
}

/// Open a test database read-only-ish and run a query returning one i64.
pub fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The first column of every row a query returns, as text.
pub fn query_strings(db: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Like [`count`], but `None` while the database or its tables are not there yet.
pub fn try_count(db: &Path, sql: &str) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(sql, [], |r| r.get(0)).ok()
}

/// A one-page PDF whose content stream is a FlateDecode bomb: `decoded` bytes of spaces
/// (about 1000:1) that a reader decoding the stream whole must allocate. Built from raw
/// deflate blocks: after a sync flush the compressor's state is the same for every further
/// run of spaces, so one such block is repeated instead of compressing gigabytes.
pub fn flate_bomb_pdf(decoded: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const CHUNK: usize = 1 << 20;
    let spaces = vec![b' '; CHUNK];
    let mut c = Compress::new(Compression::best(), false);
    let mut block = |flush| {
        let mut out = Vec::with_capacity(64 * 1024);
        let before = c.total_in();
        let input: &[u8] = if flush == FlushCompress::Finish {
            &[]
        } else {
            &spaces
        };
        c.compress_vec(input, &mut out, flush).unwrap();
        assert_eq!(c.total_in() - before, input.len() as u64);
        out
    };
    let chunks = decoded.div_ceil(CHUNK as u64).max(3);
    let first = block(FlushCompress::Sync);
    let second = block(FlushCompress::Sync);
    let third = block(FlushCompress::Sync);
    assert_eq!(second, third, "the repeated block is stable");
    let mut deflate = first;
    for _ in 1..chunks {
        deflate.extend_from_slice(&second);
    }
    deflate.extend_from_slice(&block(FlushCompress::Finish));
    // zlib wrapping: header, then the Adler-32 of `n` spaces.
    let n = u128::from(chunks) * CHUNK as u128;
    let m = 65521u128;
    let a = (1 + 32 * n) % m;
    let b = (n + 32 * (n * (n + 1) / 2)) % m;
    let mut zlib = vec![0x78, 0xda];
    zlib.extend_from_slice(&deflate);
    zlib.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    let objs: Vec<Vec<u8>> =
        vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>"
            .to_vec(),
        [
            format!("<< /Length {} /Filter /FlateDecode >>\nstream\n", zlib.len()).into_bytes(),
            zlib,
            b"\nendstream".to_vec(),
        ]
        .concat(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(o);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// CSV rows as an independent reader (the `csv` crate) reads them: the first row names the
/// fields, each further row is an object of strings, a UTF-8 BOM is skipped (like Python's
/// `utf-8-sig`), and a row whose field count differs from the header's is an error.
pub fn csv_rows(file: &Path) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(text);
    let names: Vec<String> = r
        .headers()
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .iter()
        .map(str::to_string)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            serde_json::Value::Object(
                names
                    .iter()
                    .zip(rec.iter())
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string())))
                    .collect(),
            )
        })
        .collect()
}
