//! Content detection: magic bytes first, the file name only to break ties.

use super::{Kind, cfb, cms};
use std::io::Cursor;

/// The kind of `bytes`, by content. `name` is consulted only where content is ambiguous
/// (an OLE file with no recognised stream, a damaged ZIP).
pub fn sniff(bytes: &[u8], name: Option<&str>) -> Kind {
    let by_name = name.and_then(kind_from_name);
    let head = &bytes[..bytes.len().min(1024)];
    if bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
        || bytes.starts_with(b"PK\x07\x08")
    {
        return sniff_zip(bytes, by_name);
    }
    if bytes.starts_with(&cfb::MAGIC) {
        return match cfb::sniff_ole(bytes) {
            Some(k) => k,
            None => match by_name {
                Some(k @ (Kind::Doc | Kind::Xls)) => k,
                _ => Kind::Unknown,
            },
        };
    }
    // PNG, JPEG, TIFF, GIF, BMP, WebP whose header gives a size
    if super::ocr::image_info(bytes).is_some() {
        return Kind::Image;
    }
    let trimmed = trim_start(head);
    if trimmed.starts_with(b"{\\rtf") {
        return Kind::Rtf;
    }
    // before the PDF check: a signed PDF has "%PDF-" a few dozen bytes in
    if cms::looks_like_cms(bytes) {
        return Kind::Cms;
    }
    // PDF readers accept the header anywhere in the first KiB (after junk a mailer added)
    if find(head, b"%PDF-").is_some() {
        return Kind::Pdf;
    }
    if looks_like_html(trimmed) {
        return Kind::Html;
    }
    if super::text::looks_like_text(bytes) {
        return Kind::Text;
    }
    Kind::Unknown
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn looks_like_html(t: &[u8]) -> bool {
    let lower: Vec<u8> = t
        .iter()
        .take(1024)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const STARTS: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<meta",
        b"<title",
        b"<table",
        b"<div",
        b"<p>",
        b"<p ",
        b"<h1",
        b"<br",
    ];
    if STARTS.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    (lower.starts_with(b"<?xml") || lower.starts_with(b"<!--")) && find(&lower, b"<html").is_some()
}

fn sniff_zip(bytes: &[u8], by_name: Option<Kind>) -> Kind {
    if let Ok(mut z) = zip::ZipArchive::new(Cursor::new(bytes)) {
        if z.index_for_name("word/document.xml").is_some() {
            return Kind::Docx;
        }
        if z.index_for_name("xl/workbook.xml").is_some() {
            return Kind::Xlsx;
        }
        if let Ok(mut f) = z.by_name("mimetype") {
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(&mut f, 100), &mut buf);
            if let Some(k) = odf_kind(&buf) {
                return k;
            }
        }
        // a DOCX whose main part has another name: trust the content types
        if z.index_for_name("[Content_Types].xml").is_some()
            && z.file_names().flatten().any(|n| n.starts_with("word/"))
        {
            return Kind::Docx;
        }
        return Kind::Zip;
    }
    // damaged: look at the local headers near the start
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if head.len() > 38
        && &head[30..38] == b"mimetype"
        && let Some(k) = odf_kind(&head[38..head.len().min(38 + 100)])
    {
        return k;
    }
    if find(head, b"word/").is_some() {
        return Kind::Docx;
    }
    if find(head, b"xl/").is_some() {
        return Kind::Xlsx;
    }
    match by_name {
        Some(k @ (Kind::Docx | Kind::Xlsx | Kind::Odt | Kind::Ods)) => k,
        _ => Kind::Zip,
    }
}

fn odf_kind(mime: &[u8]) -> Option<Kind> {
    if mime.starts_with(b"application/vnd.oasis.opendocument.text") {
        Some(Kind::Odt)
    } else if mime.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
        Some(Kind::Ods)
    } else {
        None
    }
}

/// The kind a file name claims, from its extension.
pub(crate) fn kind_from_name(name: &str) -> Option<Kind> {
    let ext = name.rsplit('.').next()?.to_ascii_lowercase();
    if ext.len() == name.len() {
        return None;
    }
    Some(match ext.as_str() {
        "docx" | "docm" | "dotx" => Kind::Docx,
        "doc" | "dot" => Kind::Doc,
        "pdf" => Kind::Pdf,
        "htm" | "html" | "xhtml" => Kind::Html,
        "xlsx" | "xlsm" => Kind::Xlsx,
        "xls" => Kind::Xls,
        "ods" => Kind::Ods,
        "odt" => Kind::Odt,
        "rtf" => Kind::Rtf,
        "zip" => Kind::Zip,
        "cms" | "p7s" | "p7m" | "sig" => Kind::Cms,
        "txt" | "csv" => Kind::Text,
        "png" | "jpg" | "jpeg" | "jpe" | "tif" | "tiff" | "gif" | "bmp" | "webp" => Kind::Image,
        _ => return None,
    })
}

/// Whether content of kind `found` is unsurprising under a name claiming `claimed`.
pub(crate) fn compatible(claimed: Kind, found: Kind) -> bool {
    matches!(
        (claimed, found),
        // Word saves RTF and HTML under .doc; spreadsheets saved as HTML or text
        (Kind::Doc, Kind::Rtf | Kind::Html | Kind::Docx)
            | (Kind::Xls, Kind::Html | Kind::Text | Kind::Xlsx)
            | (Kind::Html, Kind::Text)
            | (Kind::Text, Kind::Html)
    )
}
