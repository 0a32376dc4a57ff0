//! Legacy Word 97-2003 DOC, read by our own code (no maintained crate reads DOC text): the
//! WordDocument stream's FIB points at the piece table (CLX) in the table stream; each piece
//! is UTF-16LE or "compressed" 8-bit (cp1252) text. Field instructions are dropped and their
//! results kept; cell marks become tabs. Word 6/95 files and encrypted files are reported as
//! unsupported / encrypted. Formatting, embedded objects and text boxes' order are not kept.

use super::cfb::{Cfb, u32_at};
use super::{Ctx, ExtractError, Input, Kind, PartText};

fn bad(reason: impl Into<String>) -> ExtractError {
    ExtractError::corrupt(Kind::Doc, reason.into())
}

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let cfb = Cfb::open(input.bytes).map_err(bad)?;
    let cap = ctx.entry_budget();
    let wd = cfb.read("WordDocument", cap).map_err(bad)?;
    ctx.unpacked += wd.len() as u64;
    let ident = u16::from_le_bytes([*wd.first().unwrap_or(&0), *wd.get(1).unwrap_or(&0)]);
    if ident != 0xA5EC {
        return Err(bad("WordDocument stream has no Word signature"));
    }
    let nfib = u16::from_le_bytes([
        wd.get(2).copied().unwrap_or(0),
        wd.get(3).copied().unwrap_or(0),
    ]);
    if nfib < 101 {
        return Err(ExtractError::Unsupported(format!(
            "{}: Word 6/95 or older DOC (nFib {nfib})",
            input.own_path()
        )));
    }
    let flags = u16::from_le_bytes([
        wd.get(0x0A).copied().unwrap_or(0),
        wd.get(0x0B).copied().unwrap_or(0),
    ]);
    if flags & 0x0100 != 0 {
        return Err(ExtractError::Encrypted { kind: Kind::Doc });
    }
    let table_name = if flags & 0x0200 != 0 {
        "1Table"
    } else {
        "0Table"
    };
    let table = cfb.read(table_name, cap).map_err(bad)?;
    ctx.unpacked += table.len() as u64;
    let fc_clx = u32_at(&wd, 0x01A2).ok_or_else(|| bad("FIB too short"))? as usize;
    let lcb_clx = u32_at(&wd, 0x01A6).ok_or_else(|| bad("FIB too short"))? as usize;
    let clx = table
        .get(fc_clx..fc_clx.saturating_add(lcb_clx))
        .ok_or_else(|| bad("piece table outside the table stream"))?;
    let mut pt = ctx.begin();
    let r = pieces(ctx, clx, &wd, &mut pt);
    ctx.settle(input.own_path(), Kind::Doc, pt, r)
}

/// Walks the CLX: skips Prc entries, reads the PlcPcd and the text of every piece.
fn pieces(ctx: &Ctx, clx: &[u8], wd: &[u8], pt: &mut PartText) -> Result<(), ExtractError> {
    let mut p = 0usize;
    while clx.get(p) == Some(&0x01) {
        let cb = i16::from_le_bytes([
            clx.get(p + 1).copied().unwrap_or(0),
            clx.get(p + 2).copied().unwrap_or(0),
        ]);
        p += 3 + cb.max(0) as usize;
    }
    if clx.get(p) != Some(&0x02) {
        return Err(bad("no piece table"));
    }
    let lcb = u32_at(clx, p + 1).ok_or_else(|| bad("piece table cut"))? as usize;
    let plc = clx
        .get(p + 5..p + 5 + lcb)
        .ok_or_else(|| bad("piece table cut"))?;
    if plc.len() < 4 {
        return Err(bad("empty piece table"));
    }
    let n = (plc.len() - 4) / 12;
    let mut fields = Fields::default();
    for i in 0..n {
        ctx.check_time()?;
        let cp0 = u32_at(plc, 4 * i).unwrap_or(0);
        let cp1 = u32_at(plc, 4 * (i + 1)).unwrap_or(0);
        let chars = cp1.saturating_sub(cp0) as usize;
        let pcd = 4 * (n + 1) + 8 * i;
        let fc = u32_at(plc, pcd + 2).ok_or_else(|| bad("piece descriptor cut"))?;
        let compressed = fc & 0x4000_0000 != 0;
        if compressed {
            let off = ((fc & 0x3FFF_FFFF) / 2) as usize;
            let bytes = wd
                .get(off..off.saturating_add(chars).min(wd.len()))
                .unwrap_or(&[]);
            let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            for c in s.chars() {
                fields.put(c, pt);
            }
        } else {
            let off = fc as usize;
            let end = off.saturating_add(chars.saturating_mul(2)).min(wd.len());
            let bytes = wd.get(off..end).unwrap_or(&[]);
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            for c in char::decode_utf16(units) {
                fields.put(c.unwrap_or('\u{fffd}'), pt);
            }
        }
        if pt.is_full() {
            break;
        }
    }
    Ok(())
}

/// Field state: text between 0x13 (begin) and 0x14 (separator) is the instruction, skipped.
#[derive(Default)]
struct Fields {
    /// One flag per open field: true while in its instruction part.
    stack: Vec<bool>,
    /// The previous character was a cell mark: a second one ends the row.
    after_cell: bool,
}

impl Fields {
    fn put(&mut self, c: char, pt: &mut PartText) {
        if c != '\u{7}' {
            self.after_cell = false;
        }
        match c {
            '\u{13}' => {
                if self.stack.len() < 64 {
                    self.stack.push(true);
                }
            }
            '\u{14}' => {
                if let Some(top) = self.stack.last_mut() {
                    *top = false;
                }
            }
            '\u{15}' => {
                self.stack.pop();
            }
            _ if self.stack.iter().any(|&instr| instr) => {}
            '\r' | '\u{b}' | '\u{c}' => pt.push('\n'),
            '\u{7}' if self.after_cell => {
                pt.end_row();
                self.after_cell = false;
            }
            '\u{7}' => {
                pt.end_cell();
                self.after_cell = true;
            }
            '\u{1e}' => pt.push('-'),
            '\u{1f}' => {}
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => pt.push(c),
        }
    }
}
