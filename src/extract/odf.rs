//! OpenDocument text and spreadsheets (ODT, ODS): `content.xml`. Spreadsheet sheets start with
//! their name on a line; rows are lines, cells are tab-separated. Repeated empty cells and rows
//! are not expanded (a hostile file may repeat a cell a billion times). Page-sized pictures
//! (`Pictures/`) are read by OCR after the text.

use super::xml::{self, Ev, attr};
use super::zipread::ZipView;
use super::{Ctx, ExtractError, Input, Kind, PartText};

pub(crate) fn extract(ctx: &mut Ctx, input: &Input, kind: Kind) -> Result<(), ExtractError> {
    let mut view = ZipView::open(ctx, input.bytes, kind, &|n| {
        n == "content.xml" || n.starts_with("Pictures/")
    })?;
    if let Some(b) = view.broken.take() {
        ctx.note(format!("{}: {b}", input.own_path()));
    }
    if !view.contains("content.xml") {
        return Err(ExtractError::corrupt(kind, "no content.xml"));
    }
    let entry = view.read(ctx, "content.xml", true)?;
    let path = input.sub_path("content.xml");
    if let Some(p) = &entry.partial {
        ctx.note(format!("{path}: read partly, {p}"));
    }
    let mut pt = ctx.begin();
    let r = odf_text(ctx, &entry.data, kind, &mut pt);
    drop(entry);
    let r = ctx.settle(path, kind, pt, r);
    super::ocr::media(ctx, &mut view, input, "Pictures/");
    r
}

const SKIP: &[&str] = &[
    "tracked-changes",
    "sequence-decls",
    "variable-decls",
    "user-field-decls",
    "forms",
    "scripts",
    "font-face-decls",
    "automatic-styles",
];

pub(crate) fn odf_text(
    ctx: &Ctx,
    data: &[u8],
    kind: Kind,
    pt: &mut PartText,
) -> Result<(), ExtractError> {
    let mut skip = 0u32;
    let mut cells = 0u32;
    let mut in_body = false;
    xml::walk(ctx, data, kind, |ev| {
        match ev {
            Ev::Start(name, e) => {
                if SKIP.contains(&name) {
                    skip += 1;
                }
                match name {
                    "body" => in_body = true,
                    "table-cell" | "covered-table-cell" => cells += 1,
                    "table" if skip == 0 && kind == Kind::Ods => {
                        if let Some(n) = attr(e, "name") {
                            pt.push_str(&n);
                            pt.push('\n');
                        }
                    }
                    _ => {}
                }
            }
            Ev::End(name) => {
                if SKIP.contains(&name) {
                    skip = skip.saturating_sub(1);
                }
                match name {
                    "body" => in_body = false,
                    "p" | "h" if skip == 0 => pt.push(if cells > 0 { ' ' } else { '\n' }),
                    "table-cell" | "covered-table-cell" => {
                        cells = cells.saturating_sub(1);
                        if skip == 0 {
                            pt.end_cell();
                        }
                    }
                    "table-row" if skip == 0 => pt.end_row(),
                    "table" if skip == 0 => pt.push('\n'),
                    _ => {}
                }
            }
            Ev::Empty(name, e) if skip == 0 && in_body => match name {
                "s" => {
                    let n: usize = attr(e, "c").and_then(|c| c.parse().ok()).unwrap_or(1);
                    for _ in 0..n.min(64) {
                        pt.push(' ');
                    }
                }
                "tab" => pt.push('\t'),
                "line-break" => pt.push('\n'),
                "table-cell" | "covered-table-cell" => pt.end_cell(),
                _ => {}
            },
            Ev::Text(t) if skip == 0 && in_body => pt.push_str(t),
            _ => {}
        }
        !pt.is_full()
    })
}
