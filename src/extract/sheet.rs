//! Spreadsheets through calamine: XLSX (every sheet streamed cell by cell) and XLS. Each sheet
//! starts with its name on a line, then one line per row, cells tab-separated.
//!
//! calamine inflates XLSX parts itself, so every part is first inflated through our capped
//! reader (declared and actual sizes checked) before calamine sees the file. For XLS, calamine
//! builds a dense grid per sheet and reserves memory from the DIMENSIONS record: the records
//! are scanned first and a sheet whose cells (or declared dimensions) span more than
//! `MAX_GRID_CELLS` is refused, so a small file cannot ask for gigabytes (found by fuzzing:
//! calamine 0.38 reserved 257 GB for a one-bit change to an XLS). Page-sized pictures of an
//! XLSX (`xl/media/`) are read by OCR after the sheets.

use super::cfb::Cfb;
use super::zipread::ZipView;
use super::{Ctx, ExtractError, Input, Kind, PartText, guarded};
use calamine::{Data, Reader, Xls, Xlsx};
use std::io::Cursor;

const MAX_GRID_CELLS: u64 = 4_000_000;

pub(crate) fn extract(ctx: &mut Ctx, input: &Input, kind: Kind) -> Result<(), ExtractError> {
    match kind {
        Kind::Xlsx => xlsx(ctx, input),
        _ => xls(ctx, input),
    }
}

fn xlsx(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    if input.bytes.starts_with(&super::cfb::MAGIC) {
        return Err(ExtractError::Encrypted { kind: Kind::Xlsx });
    }
    // inflate every part once under our limits
    let mut view = ZipView::open(ctx, input.bytes, Kind::Xlsx, &|_| true)?;
    if let Some(b) = view.broken.take() {
        return Err(ExtractError::corrupt(Kind::Xlsx, b));
    }
    let mut media = Vec::new();
    for name in view.names() {
        let e = view.read(ctx, &name, false)?;
        if name.starts_with("xl/media/") {
            media.push((name, e.data));
        }
    }
    ctx.check_time()?;
    let room = ctx.limits.max_text_bytes.saturating_sub(ctx.text.len());
    let deadline = ctx.deadline;
    let sheets = guarded(Kind::Xlsx, || {
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(input.bytes))
            .map_err(|e| ExtractError::corrupt(Kind::Xlsx, e))?;
        let mut out = Vec::new();
        let mut used = 0usize;
        for name in wb.sheet_names() {
            let mut cells: Vec<(u32, u32, String)> = Vec::new();
            let mut reader = match wb.worksheet_cells_reader(&name) {
                Ok(r) => r,
                Err(e) => {
                    out.push((name, Err(e.to_string())));
                    continue;
                }
            };
            let mut err = None;
            loop {
                if std::time::Instant::now() >= deadline {
                    err = Some("time budget exhausted".to_string());
                    break;
                }
                match reader.next_cell() {
                    Ok(Some(c)) => {
                        let v = Data::from(c.get_value().clone()).to_string();
                        if v.trim().is_empty() {
                            continue;
                        }
                        used += v.len() + 1;
                        let (r, col) = c.get_position();
                        cells.push((r, col, v));
                        if used > room {
                            err = Some("text limit reached".into());
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        err = Some(e.to_string());
                        break;
                    }
                }
            }
            cells.sort_by_key(|c| (c.0, c.1));
            out.push((name, Ok((cells, err))));
            if used > room {
                break;
            }
        }
        Ok(out)
    })?;
    let mut pt = ctx.begin();
    for (name, sheet) in sheets {
        match sheet {
            Ok((cells, err)) => {
                write_sheet(&mut pt, &name, cells.into_iter());
                if let Some(e) = err {
                    ctx.note(format!("{}: sheet {name}: {e}", input.own_path()));
                }
            }
            Err(e) => ctx.note(format!(
                "{}: sheet {name} unreadable: {e}",
                input.own_path()
            )),
        }
    }
    ctx.finish(input.own_path(), Kind::Xlsx, pt);
    for (name, data) in media {
        if ctx.is_full() || ctx.out_of_time() {
            break;
        }
        super::ocr::images_in(ctx, input, &name, &data);
    }
    Ok(())
}

fn write_sheet(pt: &mut PartText, name: &str, cells: impl Iterator<Item = (u32, u32, String)>) {
    pt.push_str(name);
    pt.push('\n');
    let mut row = None;
    for (r, _, v) in cells {
        match row {
            Some(prev) if prev == r => pt.push('\t'),
            Some(_) => pt.push('\n'),
            None => {}
        }
        row = Some(r);
        pt.push_str(v.trim());
    }
    pt.push('\n');
}

/// Largest bounding box (in cells) of any sheet's cell records in a BIFF8 Workbook stream.
fn biff_grid(stream: &[u8]) -> u64 {
    let mut worst = 0u64;
    let mut bounds: Option<(u16, u16, u16, u16)> = None;
    let mut p = 0usize;
    let area = |b: Option<(u16, u16, u16, u16)>| {
        b.map(|(r0, r1, c0, c1)| (r1 as u64 - r0 as u64 + 1) * (c1 as u64 - c0 as u64 + 1))
            .unwrap_or(0)
    };
    while p + 4 <= stream.len() {
        let ty = u16::from_le_bytes([stream[p], stream[p + 1]]);
        let len = u16::from_le_bytes([stream[p + 2], stream[p + 3]]) as usize;
        let data = &stream[p + 4..(p + 4 + len).min(stream.len())];
        p += 4 + len;
        match ty {
            0x0809 => {
                worst = worst.max(area(bounds));
                bounds = None;
            }
            // DIMENSIONS: calamine reserves rows x cols cells from it before reading any cell
            0x0200 => worst = worst.max(dimensions_area(data)),
            0x0203 | 0x027E | 0x00FD | 0x0204 | 0x0201 | 0x0006 | 0x0205 | 0x00D6 | 0x00BD
            | 0x00BE
                if data.len() >= 6 =>
            {
                let row = u16::from_le_bytes([data[0], data[1]]);
                let col = u16::from_le_bytes([data[2], data[3]]);
                let last = if matches!(ty, 0x00BD | 0x00BE) {
                    u16::from_le_bytes([data[data.len() - 2], data[data.len() - 1]])
                } else {
                    col
                };
                let (c0, c1) = (col.min(last), col.max(last));
                bounds = Some(match bounds {
                    None => (row, row, c0, c1),
                    Some((r0, r1, a, b)) => (r0.min(row), r1.max(row), a.min(c0), b.max(c1)),
                });
            }
            _ => {}
        }
    }
    worst.max(area(bounds))
}

/// The cell count calamine reserves for a DIMENSIONS record, computed as calamine does
/// (including its wrap-around on inverted bounds).
fn dimensions_area(r: &[u8]) -> u64 {
    let u16_at = |o: usize| u16::from_le_bytes([r[o], r[o + 1]]) as u32;
    let u32_at = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
    let (rf, rl, mut cf, cl) = match r.len() {
        10 => (u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
        14 | 16 => (u32_at(0), u32_at(4), u16_at(8), u16_at(10)),
        _ => return 0,
    };
    if 0xFF < cf || cl < cf {
        cf = 0;
    }
    let (start, end) = if rl >= 1 && cl >= 1 {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    let rows = end.0.wrapping_sub(start.0).wrapping_add(1) as u64;
    let cols = end.1.wrapping_sub(start.1).wrapping_add(1) as u64;
    rows.saturating_mul(cols)
}

fn xls(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let cfb = Cfb::open(input.bytes).map_err(|e| ExtractError::corrupt(Kind::Xls, e))?;
    let cap = ctx.entry_budget();
    let stream = cfb
        .read("Workbook", cap)
        .or_else(|_| cfb.read("Book", cap))
        .map_err(|e| ExtractError::corrupt(Kind::Xls, e))?;
    ctx.unpacked += stream.len() as u64;
    let grid = biff_grid(&stream);
    if grid > MAX_GRID_CELLS {
        return Err(ExtractError::LimitExceeded(format!(
            "{}: a sheet spans {grid} cells (limit {MAX_GRID_CELLS})",
            input.own_path()
        )));
    }
    drop(stream);
    let sheets = guarded(Kind::Xls, || {
        let mut wb: Xls<_> = Xls::new(Cursor::new(input.bytes)).map_err(|e| match e {
            calamine::XlsError::Password => ExtractError::Encrypted { kind: Kind::Xls },
            e => ExtractError::corrupt(Kind::Xls, e),
        })?;
        let mut out = Vec::new();
        for name in wb.sheet_names() {
            let r = wb
                .worksheet_range(&name)
                .map_err(|e| e.to_string())
                .map(|range| {
                    let mut cells = Vec::new();
                    let (r0, c0) = range.start().unwrap_or((0, 0));
                    for (i, row) in range.rows().enumerate() {
                        for (j, v) in row.iter().enumerate() {
                            let s = v.to_string();
                            if !s.trim().is_empty() {
                                cells.push((r0 + i as u32, c0 + j as u32, s));
                            }
                        }
                    }
                    cells
                });
            out.push((name, r));
        }
        Ok(out)
    })?;
    let mut pt = ctx.begin();
    for (name, sheet) in sheets {
        match sheet {
            Ok(cells) => write_sheet(&mut pt, &name, cells.into_iter()),
            Err(e) => ctx.note(format!(
                "{}: sheet {name} unreadable: {e}",
                input.own_path()
            )),
        }
        if pt.is_full() {
            break;
        }
    }
    ctx.finish(input.own_path(), Kind::Xls, pt);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = ty.to_le_bytes().to_vec();
        v.extend((data.len() as u16).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn biff_grid_measures_the_spread_of_cells() {
        // NUMBER at A1 and at IV65536 in one sheet: a 16.7M-cell grid for calamine
        let mut s = rec(0x0809, &[0; 16]);
        s.extend(rec(0x0203, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        s.extend(rec(
            0x0203,
            &[0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ));
        s.extend(rec(0x000A, &[]));
        assert_eq!(biff_grid(&s), 65536 * 256);
        assert!(biff_grid(&s) > MAX_GRID_CELLS);
        // two small sheets: the larger one counts
        let mut s = rec(0x0809, &[0; 16]);
        s.extend(rec(0x0203, &[1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        s.extend(rec(0x0809, &[0; 16]));
        // MULBLANK row 2, cols 0..=9
        s.extend(rec(0x00BE, &[2, 0, 0, 0, 0, 0, 0, 0, 9, 0]));
        assert_eq!(biff_grid(&s), 10);
        // DIMENSIONS (BIFF8, u32 rows) declaring 1M rows x 256 columns, no cells
        let mut s = rec(0x0809, &[0; 16]);
        s.extend(rec(0x0200, &[0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0]));
        assert_eq!(biff_grid(&s), (1 << 20) * 256);
        // inverted bounds wrap around in calamine: refused too
        let s = rec(0x0200, &[5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert!(biff_grid(&s) > MAX_GRID_CELLS);
    }
}
