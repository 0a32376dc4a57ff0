//! Extraction throughput: a ~25-page DOCX built in code (paragraphs and a table, Russian and
//! Kazakh) and two PDFs from the fixtures (ReportLab, 12 pages; LibreOffice, 1 page).
//! `TENDERSCAN_PDFTOTEXT=off cargo bench --bench extract` measures the in-process PDF parser
//! instead of pdftotext.

#[path = "support/mem.rs"]
mod mem;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Write;
use tenderscan::extract::{Limits, extract};

const RU: &str = "Поставщик обеспечивает размещение не менее 1500 положительных отзывов и комментариев в социальных сетях и на картах 2GIS в течение срока договора.";
const KK: &str = "Өнім беруші әлеуметтік желілерде кемінде 1500 оң пікір мен түсініктеме жариялауды қамтамасыз етеді, ұйым туралы ғаламтор шолуы.";

/// Paragraphs of words drawn from the two sentences in a pseudo-random order, so the XML
/// compresses like a real document rather than like one repeated line.
fn docx(paragraphs: usize) -> (Vec<u8>, usize) {
    let words: Vec<&str> = RU.split(' ').chain(KK.split(' ')).collect();
    let mut seed = 0x2545_f491_u64;
    let mut body = String::new();
    for i in 0..paragraphs {
        let mut t = String::new();
        for _ in 0..22 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            t.push_str(words[(seed >> 33) as usize % words.len()]);
            t.push(' ');
        }
        body.push_str(&format!(
            "<w:p><w:pPr><w:jc w:val=\"both\"/></w:pPr><w:r><w:rPr><w:rFonts w:ascii=\"Times New Roman\"/><w:sz w:val=\"24\"/></w:rPr><w:t xml:space=\"preserve\">{}. {t}</w:t></w:r></w:p>",
            i + 1
        ));
        if i % 50 == 49 {
            body.push_str("<w:tbl>");
            for r in 0..20 {
                body.push_str(&format!(
                    "<w:tr><w:tc><w:p><w:r><w:t>{r}</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Комментарии / пікірлер</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>{} шт.</w:t></w:r></w:p></w:tc></w:tr>",
                    r * 100
                ));
            }
            body.push_str("</w:tbl>");
        }
    }
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("word/document.xml", opts).unwrap();
    w.write_all(doc.as_bytes()).unwrap();
    w.start_file("_rels/.rels", opts).unwrap();
    w.write_all(b"<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>").unwrap();
    (w.finish().unwrap().into_inner(), doc.len())
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/extract/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("extract");
    g.sample_size(30);
    let (docx, xml_len) = docx(600);
    eprintln!("docx: {xml_len} bytes of document.xml");
    let inputs = [
        ("docx_600_paragraphs", docx, "spec.docx"),
        (
            "pdf_reportlab_12_pages",
            fixture("reportlab_12pages.pdf"),
            "spec.pdf",
        ),
        (
            "pdf_libreoffice_1_page",
            fixture("lo_ru_kk.pdf"),
            "spec.pdf",
        ),
    ];
    for (id, bytes, name) in &inputs {
        let out = extract(bytes, Some(name), None, &limits).unwrap();
        mem::report_peak(id, || {
            black_box(extract(bytes, Some(name), None, &limits).unwrap());
        });
        eprintln!(
            "{id}: {} input bytes, {} text bytes",
            bytes.len(),
            out.text.len()
        );
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(*id, |b| {
            b.iter(|| extract(black_box(bytes), Some(name), None, &limits).unwrap())
        });
    }
    // The same documents through a reader worker process (what `run` does): the cost of
    // sending the bytes and the answer over pipes, and of the worker's limits. The worker is
    // started once and kept, as the pool does.
    let readers = tenderscan::extract::Readers::isolated(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_tenderscan")),
        1,
        tenderscan::extract::ProcessLimits::default(),
    );
    for (id, bytes, name) in &inputs {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(format!("{id}_in_worker"), |b| {
            b.iter(|| {
                readers
                    .read(black_box(bytes), Some(name), None, &limits, &|| false)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
