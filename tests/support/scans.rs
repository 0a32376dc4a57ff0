//! Scans built in code, for the OCR tests (tests/it/ocr.rs) and the OCR benchmark
//! (benches/ocr.rs): a printed page (a text PDF in tests/fixtures/ocr) is rendered to grey
//! pixels by pdftoppm, given what a scanner or a phone camera does to it (skew, paper grey,
//! noise, specks, blur, uneven light), and wrapped in an image-only PDF or a DOCX written
//! here. Nothing of the page's text layer survives: the PDF holds one image per page.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An 8-bit grey image.
#[derive(Clone)]
pub struct Gray {
    pub width: u32,
    pub height: u32,
    pub px: Vec<u8>,
}

/// A page image inside a PDF.
pub enum Img {
    /// Grey pixels, FlateDecode.
    Gray(Gray),
    /// A JPEG as it is (DCTDecode), with its size and colour components.
    Jpeg {
        bytes: Vec<u8>,
        width: u32,
        height: u32,
        components: u8,
    },
}

/// The printed page `name` of tests/fixtures/ocr.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ocr")
        .join(name)
}

/// Whether tesseract (with rus, kaz, eng) and pdftoppm are installed. Without them the OCR
/// tests skip, except under CI (`.ci/run` installs them), where they must be there.
pub fn have_ocr(test: &str) -> bool {
    let langs = Command::new("tesseract").arg("--list-langs").output();
    let ok = match langs {
        Ok(o) if o.status.success() => {
            let l = String::from_utf8_lossy(&o.stdout);
            ["rus", "kaz", "eng"]
                .iter()
                .all(|x| l.lines().any(|y| y.trim() == *x))
        }
        _ => false,
    } && Command::new("pdftoppm").arg("-v").output().is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: tesseract-ocr (rus, kaz, eng) and poppler-utils must be installed in CI (.ci/run installs them)"
        );
        eprintln!("{test}: tesseract with rus+kaz+eng or pdftoppm not installed: skipped");
    }
    ok
}

/// Page 1 of `pdf` rendered to grey at `dpi` by pdftoppm.
pub fn render(pdf: &Path, dpi: u32) -> Gray {
    let out = Command::new("pdftoppm")
        .args([
            "-gray",
            "-r",
            &dpi.to_string(),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
        ])
        .arg(pdf)
        .output()
        .expect("pdftoppm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_pgm(&out.stdout)
}

/// Page 1 of `pdf` as a JPEG from pdftoppm (colour, as a phone or a scanner saves it).
pub fn render_jpeg(pdf: &Path, dpi: u32, quality: u32) -> Img {
    let out = Command::new("pdftoppm")
        .args([
            "-jpeg",
            "-r",
            &dpi.to_string(),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
        ])
        .arg("-jpegopt")
        .arg(format!("quality={quality}"))
        .arg(pdf)
        .output()
        .expect("pdftoppm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (width, height, components) = jpeg_size(&out.stdout);
    Img::Jpeg {
        bytes: out.stdout,
        width,
        height,
        components,
    }
}

fn parse_pgm(b: &[u8]) -> Gray {
    let mut fields = Vec::new();
    let mut i = 2;
    assert!(b.starts_with(b"P5"), "not a PGM");
    while fields.len() < 3 {
        while b[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        while b[i].is_ascii_digit() {
            i += 1;
        }
        fields.push(
            std::str::from_utf8(&b[s..i])
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    let (width, height) = (fields[0], fields[1]);
    let px = b[i + 1..i + 1 + (width * height) as usize].to_vec();
    Gray { width, height, px }
}

fn jpeg_size(b: &[u8]) -> (u32, u32, u8) {
    let mut i = 2;
    loop {
        assert_eq!(b[i], 0xFF, "JPEG marker");
        let m = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return (w, h, b[i + 9]);
        }
        i += 2 + len;
    }
}

/// A small, repeatable pseudo-random source (no dependency, same pixels every run).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(6364136223846793005).wrapping_add(1))
    }
    /// Uniform in [0, 1).
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / ((1u64 << 24) as f32)
    }
}

/// What the scanner or camera does to the page.
#[derive(Clone, Copy, Debug)]
pub struct Scanner {
    /// Rotation, degrees.
    pub skew: f32,
    /// Noise added to every pixel, as a share of full scale (0.1 = +-25 levels).
    pub noise: f32,
    /// Dark specks per million pixels.
    pub specks: f32,
    /// 3x3 box blurs applied.
    pub blur: u32,
    /// Paper brightness (255 white) and ink darkness.
    pub paper: u8,
    pub ink: u8,
    /// Light falling off from the top-left corner to the opposite one (0: even), as a share.
    pub vignette: f32,
    /// Black and white at this grey level (a fax, a cheap copier), after the noise; 0: grey.
    pub threshold: u8,
    pub seed: u64,
}

impl Scanner {
    /// An office scanner: slightly crooked, grey paper, some noise and dust.
    pub const OFFICE: Scanner = Scanner {
        skew: 0.8,
        noise: 0.08,
        specks: 40.0,
        blur: 1,
        paper: 238,
        ink: 40,
        vignette: 0.0,
        threshold: 0,
        seed: 7,
    };
    /// A phone photo of the page: more skew, uneven light, more blur.
    pub const PHONE: Scanner = Scanner {
        skew: 2.0,
        noise: 0.1,
        specks: 10.0,
        blur: 2,
        paper: 225,
        ink: 55,
        vignette: 0.3,
        threshold: 0,
        seed: 11,
    };
    /// A poor fax-grade copy.
    pub const POOR: Scanner = Scanner {
        skew: 1.5,
        noise: 0.2,
        specks: 400.0,
        blur: 2,
        paper: 215,
        ink: 70,
        vignette: 0.15,
        threshold: 0,
        seed: 13,
    };
    /// A fax: black and white, speckled, a little crooked.
    pub const FAX: Scanner = Scanner {
        skew: 1.0,
        noise: 0.25,
        specks: 800.0,
        blur: 1,
        paper: 230,
        ink: 30,
        vignette: 0.0,
        threshold: 150,
        seed: 17,
    };
}

/// `g` as it comes out of `s`.
pub fn scan(g: &Gray, s: &Scanner) -> Gray {
    let (w, h) = (g.width as i64, g.height as i64);
    let (sin, cos) = s.skew.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let at = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            255.0
        } else {
            g.px[(y * w + x) as usize] as f32
        }
    };
    let mut out = vec![0f32; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            // where this output pixel comes from, bilinear
            let dx = x as f32 - cx;
            let dy = y as f32 - cy;
            let sx = cos * dx + sin * dy + cx;
            let sy = -sin * dx + cos * dy + cy;
            let (x0, y0) = (sx.floor() as i64, sy.floor() as i64);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + at(x0 + 1, y0) * fx * (1.0 - fy)
                + at(x0, y0 + 1) * (1.0 - fx) * fy
                + at(x0 + 1, y0 + 1) * fx * fy;
            out[(y * w + x) as usize] = v;
        }
    }
    for _ in 0..s.blur {
        out = box_blur(&out, w as usize, h as usize);
    }
    let mut rng = Lcg::new(s.seed);
    let span = s.paper as f32 - s.ink as f32;
    let diag = ((w * w + h * h) as f32).sqrt();
    let px = out
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (x, y) = ((i as i64 % w) as f32, (i as i64 / w) as f32);
            let light = 1.0 - s.vignette * ((x * x + y * y).sqrt() / diag);
            let mut p = (s.ink as f32 + v / 255.0 * span) * light;
            p += (rng.next() - 0.5) * 2.0 * s.noise * 127.0;
            if rng.next() * 1_000_000.0 < s.specks {
                p = s.ink as f32;
            }
            if s.threshold > 0 {
                p = if p < s.threshold as f32 { 0.0 } else { 255.0 };
            }
            p.clamp(0.0, 255.0) as u8
        })
        .collect();
    Gray {
        width: g.width,
        height: g.height,
        px,
    }
}

fn box_blur(px: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = px.to_vec();
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let mut s = 0.0;
            for dy in 0..3 {
                for dx in 0..3 {
                    s += px[(y + dy - 1) * w + x + dx - 1];
                }
            }
            out[y * w + x] = s / 9.0;
        }
    }
    out
}

/// A blank sheet through the office scanner: grey paper, noise, dust.
pub fn blank_page(width: u32, height: u32) -> Gray {
    let white = Gray {
        width,
        height,
        px: vec![255; (width * height) as usize],
    };
    scan(&white, &Scanner::OFFICE)
}

/// A grey PNG of `g` (filter 0 rows, zlib, CRC-32 per chunk).
pub fn png(g: &Gray) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let chunk = |out: &mut Vec<u8>, ty: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = ty.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut raw = Vec::with_capacity(g.px.len() + g.height as usize);
    for row in g.px.chunks(g.width as usize) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut ihdr = g.width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&g.height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

/// A PDF with one page per entry of `pages` (an index into `images`), each page the image
/// filling an A4-shaped box at `dpi`: what a scanner's "scan to PDF" writes. No text layer.
pub fn image_pdf(images: &[Img], pages: &[usize], dpi: u32) -> Vec<u8> {
    let n_img = images.len();
    // objects: 1 catalog, 2 pages, 3.. images, then per page: page + content
    let first_page = 3 + n_img;
    let mut objs: Vec<Vec<u8>> = Vec::new();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    objs.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    let mut sizes = Vec::new();
    for img in images {
        let (head, data, w, h) = match img {
            Img::Gray(g) => (
                format!(
                    "/Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                    g.width, g.height
                ),
                zlib(&g.px),
                g.width,
                g.height,
            ),
            Img::Jpeg {
                bytes,
                width,
                height,
                components,
            } => (
                format!(
                    "/Width {width} /Height {height} /ColorSpace /{} /BitsPerComponent 8 /Filter /DCTDecode",
                    if *components == 1 {
                        "DeviceGray"
                    } else {
                        "DeviceRGB"
                    }
                ),
                bytes.clone(),
                *width,
                *height,
            ),
        };
        sizes.push((w, h));
        let mut o = format!(
            "<< /Type /XObject /Subtype /Image {head} /Length {} >>\nstream\n",
            data.len()
        )
        .into_bytes();
        o.extend_from_slice(&data);
        o.extend_from_slice(b"\nendstream");
        objs.push(o);
    }
    for &i in pages {
        let (w, h) = sizes[i];
        let (pw, ph) = (w as f32 * 72.0 / dpi as f32, h as f32 * 72.0 / dpi as f32);
        let page_obj = objs.len() + 1;
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2} {ph:.2}] /Resources << /XObject << /Im{i} {} 0 R >> >> /Contents {} 0 R >>",
                3 + i,
                page_obj + 1
            )
            .into_bytes(),
        );
        let content = format!("q {pw:.2} 0 0 {ph:.2} 0 0 cm /Im{i} Do Q");
        objs.push(
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            )
            .into_bytes(),
        );
    }
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
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

/// A DOCX holding `paragraphs` of typed text, then the picture `png` (a photo of the signed
/// page pasted in), as Word writes one: the picture in word/media, drawn inline.
pub fn docx_with_picture(paragraphs: &[&str], png: &[u8], width: u32, height: u32) -> Vec<u8> {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    // 6 inches wide, in EMU
    let cx = 6 * 914_400u64;
    let cy = cx * height as u64 / width as u64;
    let mut body: String = paragraphs
        .iter()
        .map(|p| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                esc(p)
            )
        })
        .collect();
    body.push_str(&format!(
        "<w:p><w:r><w:drawing><wp:inline><wp:extent cx=\"{cx}\" cy=\"{cy}\"/><wp:docPr id=\"1\" name=\"Picture 1\"/>\
         <a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:pic>\
         <pic:nvPicPr><pic:cNvPr id=\"0\" name=\"scan.png\"/><pic:cNvPicPr/></pic:nvPicPr>\
         <pic:blipFill><a:blip r:embed=\"rId10\"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>\
         <pic:spPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr>\
         </pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    ));
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" \
         xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" \
         xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" \
         xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\">\
         <w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let ct = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
              <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
              <Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/>\
              <Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
    let rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    let doc_rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId10\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/image1.png\"/></Relationships>";
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
        ("word/_rels/document.xml.rels", doc_rels.as_bytes()),
        ("word/media/image1.png", png),
    ] {
        w.start_file(name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}
