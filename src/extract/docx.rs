//! DOCX (WordprocessingML): the main document, then headers, footers, footnotes, endnotes and
//! comments. Tables come out as rows on lines with cells separated by tabs. Deleted text
//! (tracked changes), field instructions and the fallback copies of text boxes are left out.
//! Page-sized pictures (`word/media/`: a photographed or scanned page pasted in) are read by
//! OCR after the text.

use super::xml::{self, Ev, attr};
use super::zipread::ZipView;
use super::{Ctx, ExtractError, Input, Kind, PartText};

fn wanted(name: &str) -> bool {
    name == "_rels/.rels"
        || (name.starts_with("word/") && name.ends_with(".xml"))
        || name.starts_with("word/media/")
}

/// Target of the officeDocument relationship in `_rels/.rels`.
fn main_part(ctx: &Ctx, rels: &[u8]) -> Option<String> {
    let mut found = None;
    let _ = xml::walk(ctx, rels, Kind::Docx, |ev| {
        if let Ev::Empty("Relationship", e) | Ev::Start("Relationship", e) = ev {
            let ty = attr(e, "Type").unwrap_or_default();
            if ty.ends_with("/officeDocument") {
                found = attr(e, "Target").map(|t| t.trim_start_matches('/').to_string());
                return false;
            }
        }
        true
    });
    found
}

fn order_key(name: &str) -> (u8, u32, String) {
    let file = name.rsplit('/').next().unwrap_or(name);
    let rank = if file.starts_with("header") {
        1
    } else if file.starts_with("footer") {
        2
    } else if file == "footnotes.xml" {
        3
    } else if file == "endnotes.xml" {
        4
    } else if file == "comments.xml" {
        5
    } else {
        9
    };
    let num = file
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (rank, num, file.to_string())
}

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    if input.bytes.starts_with(&super::cfb::MAGIC) {
        // Office wraps a password-protected DOCX/XLSX in an OLE file (EncryptedPackage)
        return Err(ExtractError::Encrypted { kind: Kind::Docx });
    }
    let mut view = ZipView::open(ctx, input.bytes, Kind::Docx, &wanted)?;
    if let Some(b) = view.broken.take() {
        ctx.note(format!("{}: {b}", input.own_path()));
    }
    let main = if view.contains("_rels/.rels") {
        view.read(ctx, "_rels/.rels", false)
            .ok()
            .and_then(|e| main_part(ctx, &e.data))
            .filter(|m| view.contains(m))
    } else {
        None
    }
    .unwrap_or_else(|| "word/document.xml".to_string());
    if !view.contains(&main) {
        return Err(ExtractError::corrupt(Kind::Docx, "no word/document.xml"));
    }
    let mut extra: Vec<String> = view
        .names()
        .into_iter()
        .filter(|n| n != &main && order_key(n).0 < 9 && n.starts_with("word/"))
        .collect();
    extra.sort_by_key(|n| order_key(n));
    let mut first_err = None;
    for (i, name) in std::iter::once(main).chain(extra).enumerate() {
        if ctx.is_full() || ctx.out_of_time() {
            break;
        }
        let path = input.sub_path(&name);
        let entry = match view.read(ctx, &name, true) {
            Ok(e) => e,
            Err(e) => {
                if i == 0 {
                    return Err(e);
                }
                ctx.note(format!("{path} skipped: {e}"));
                continue;
            }
        };
        if let Some(p) = &entry.partial {
            ctx.note(format!("{path}: read partly, {p}"));
        }
        let mut pt = ctx.begin();
        let r = wordml(ctx, &entry.data, &mut pt);
        match ctx.settle(path.clone(), Kind::Docx, pt, r) {
            Ok(()) => {}
            Err(e) if i == 0 => first_err = Some(e),
            Err(e) => ctx.note(format!("{path} skipped: {e}")),
        }
    }
    super::ocr::media(ctx, &mut view, input, "word/media/");
    match first_err {
        Some(e) if ctx.parts.is_empty() => Err(e),
        Some(e) => {
            ctx.note(format!(
                "{}: main document unreadable: {e}",
                input.own_path()
            ));
            Ok(())
        }
        None => Ok(()),
    }
}

/// Text of one WordprocessingML part.
pub(crate) fn wordml(ctx: &Ctx, data: &[u8], pt: &mut PartText) -> Result<(), ExtractError> {
    let mut in_t = false;
    let mut skip = 0u32; // inside mc:Fallback
    let mut in_tabs = 0u32; // inside w:tabs (tab stop definitions, not tab characters)
    let mut cells = 0u32; // table cell nesting
    xml::walk(ctx, data, Kind::Docx, |ev| {
        match ev {
            Ev::Start(name, _) => match name {
                "t" => in_t = true,
                "Fallback" => skip += 1,
                "tabs" => in_tabs += 1,
                "tc" => cells += 1,
                _ => {}
            },
            Ev::End(name) => match name {
                "t" => in_t = false,
                "Fallback" => skip = skip.saturating_sub(1),
                "tabs" => in_tabs = in_tabs.saturating_sub(1),
                "p" if skip == 0 => {
                    if cells > 0 {
                        pt.push(' ');
                    } else {
                        pt.push('\n');
                    }
                }
                "tc" => {
                    cells = cells.saturating_sub(1);
                    if skip == 0 {
                        pt.end_cell();
                    }
                }
                "tr" if skip == 0 => pt.end_row(),
                "tbl" if skip == 0 => pt.push('\n'),
                _ => {}
            },
            Ev::Empty(name, _) if skip == 0 => match name {
                "tab" if in_tabs == 0 => pt.push('\t'),
                "br" | "cr" => pt.push('\n'),
                "noBreakHyphen" => pt.push('-'),
                "p" if cells == 0 => pt.push('\n'),
                _ => {}
            },
            Ev::Text(t) if in_t && skip == 0 => pt.push_str(t),
            _ => {}
        }
        !pt.is_full()
    })
}
