//! RTF, read by a small reader of our own (no maintained crate handles code pages and Unicode
//! escapes well): `\uN` with its `\ucN` fallback skipped, `\'hh` bytes decoded in the code page
//! of the current font (`\fcharset`) or of the document (`\ansicpg`), destinations that hold no
//! body text (font and colour tables, styles, pictures, objects, field instructions, `{\*...}`)
//! skipped, `\par`, `\line`, `\cell` and `\row` kept as structure.

use super::{Ctx, ExtractError, Input, Kind, PartText};
use encoding_rs::Encoding;
use std::collections::HashMap;

const SKIP_DEST: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "objdata",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "fldinst",
    "filetbl",
    "revtbl",
    "pgdsctbl",
    "private",
    "bkmkstart",
    "bkmkend",
    "nonshppict",
    "shpinst",
    "ftnsep",
    "ftnsepc",
    "aftnsep",
];

const MAX_GROUPS: usize = 4096;

#[derive(Clone)]
struct State {
    skip: bool,
    in_fonttbl: bool,
    uc: usize,
    font_cp: Option<&'static Encoding>,
}

fn codepage(cp: i32) -> Option<&'static Encoding> {
    let label = match cp {
        65001 => "utf-8",
        866 => "ibm866",
        874 => "windows-874",
        932 => "shift_jis",
        936 => "gbk",
        949 => "euc-kr",
        950 => "big5",
        1250..=1258 => return Encoding::for_label(format!("windows-{cp}").as_bytes()),
        10000 => "macintosh",
        10007 => "x-mac-cyrillic",
        20866 => "koi8-r",
        21866 => "koi8-u",
        28595 => "iso-8859-5",
        _ => return None,
    };
    Encoding::for_label(label.as_bytes())
}

fn charset_cp(charset: i32) -> Option<i32> {
    Some(match charset {
        0 => 1252,
        128 => 932,
        129 => 949,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        _ => return None,
    })
}

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let mut pt = ctx.begin();
    let r = rtf_text(ctx, input.bytes, &mut pt);
    ctx.settle(input.own_path(), Kind::Rtf, pt, r)
}

struct Out<'p> {
    pt: &'p mut PartText,
    bytes: Vec<u8>,
    enc: &'static Encoding,
    high_surrogate: Option<u16>,
}

impl Out<'_> {
    fn flush(&mut self) {
        if !self.bytes.is_empty() {
            let (s, _) = self.enc.decode_without_bom_handling(&self.bytes);
            self.pt.push_str(&s);
            self.bytes.clear();
        }
    }
    fn text(&mut self, s: &str) {
        self.flush();
        self.pt.push_str(s);
    }
    fn unicode(&mut self, n: i32) {
        self.flush();
        let u = (n as i64).rem_euclid(65536) as u16;
        match u {
            0xD800..=0xDBFF => self.high_surrogate = Some(u),
            0xDC00..=0xDFFF => {
                if let Some(h) = self.high_surrogate.take() {
                    let c = 0x10000 + (((h as u32) - 0xD800) << 10) + (u as u32 - 0xDC00);
                    if let Some(c) = char::from_u32(c) {
                        self.pt.push(c);
                    }
                }
            }
            _ => {
                if let Some(c) = char::from_u32(u as u32) {
                    self.pt.push(c);
                }
            }
        }
    }
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

pub(crate) fn rtf_text(ctx: &Ctx, d: &[u8], pt: &mut PartText) -> Result<(), ExtractError> {
    if !d.trim_ascii_start().starts_with(b"{\\rtf") {
        return Err(ExtractError::corrupt(Kind::Rtf, "no {\\rtf header"));
    }
    let mut doc_enc: &'static Encoding = encoding_rs::WINDOWS_1252;
    let mut fonts: HashMap<i32, &'static Encoding> = HashMap::new();
    let mut cur_font_def: Option<i32> = None;
    let mut stack: Vec<State> = Vec::new();
    let mut st = State {
        skip: false,
        in_fonttbl: false,
        uc: 1,
        font_cp: None,
    };
    let mut out = Out {
        pt,
        bytes: Vec::new(),
        enc: doc_enc,
        high_surrogate: None,
    };
    // characters still to skip after a \uN (its ANSI fallback)
    let mut pending_skip = 0usize;
    let mut i = 0usize;
    let mut steps = 0u32;
    while i < d.len() {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(65536) {
            ctx.check_time()?;
            if out.pt.is_full() {
                break;
            }
        }
        let c = d[i];
        match c {
            b'{' => {
                if stack.len() >= MAX_GROUPS {
                    return Err(ExtractError::corrupt(Kind::Rtf, "groups nested too deeply"));
                }
                stack.push(st.clone());
                pending_skip = 0;
                i += 1;
                // {\*\dest ...} is an optional destination: skip unless known
                if d.get(i..i + 2) == Some(b"\\*") {
                    st.skip = true;
                }
            }
            b'}' => {
                out.flush();
                if st.in_fonttbl {
                    cur_font_def = None;
                }
                st = stack.pop().unwrap_or(State {
                    skip: false,
                    in_fonttbl: false,
                    uc: 1,
                    font_cp: None,
                });
                out.enc = st.font_cp.unwrap_or(doc_enc);
                pending_skip = 0;
                i += 1;
            }
            b'\\' => {
                let Some(&n) = d.get(i + 1) else { break };
                if n == b'\'' {
                    // \'hh
                    let h = d.get(i + 2).and_then(|&c| hexval(c));
                    let l = d.get(i + 3).and_then(|&c| hexval(c));
                    i += 4;
                    if let (Some(h), Some(l)) = (h, l) {
                        if pending_skip > 0 {
                            pending_skip -= 1;
                        } else if !st.skip {
                            out.bytes.push(h << 4 | l);
                        }
                    }
                    continue;
                }
                if !n.is_ascii_alphabetic() {
                    // control symbol
                    i += 2;
                    if pending_skip > 0 {
                        pending_skip -= 1;
                        continue;
                    }
                    if st.skip {
                        continue;
                    }
                    match n {
                        b'\\' | b'{' | b'}' => {
                            let mut b = [0u8; 4];
                            out.text((n as char).encode_utf8(&mut b));
                        }
                        b'~' => out.text("\u{a0}"),
                        b'_' => out.text("-"),
                        b'-' => {}
                        b'\n' | b'\r' => out.text("\n"),
                        b'\t' => out.text("\t"),
                        _ => {}
                    }
                    continue;
                }
                // control word
                let mut j = i + 1;
                while j < d.len() && j - i <= 32 && d[j].is_ascii_alphabetic() {
                    j += 1;
                }
                let word = std::str::from_utf8(&d[i + 1..j]).unwrap_or("");
                let mut k = j;
                if k < d.len() && d[k] == b'-' {
                    k += 1;
                }
                while k < d.len() && k - j <= 10 && d[k].is_ascii_digit() {
                    k += 1;
                }
                let param: Option<i32> = std::str::from_utf8(&d[j..k])
                    .ok()
                    .and_then(|s| s.parse().ok());
                if k < d.len() && d[k] == b' ' {
                    k += 1;
                }
                i = k;
                if word == "bin" {
                    let n = param.unwrap_or(0).max(0) as usize;
                    i = i.saturating_add(n).min(d.len());
                    continue;
                }
                // a \uN's fallback may be a control word too
                if pending_skip > 0 && word != "u" {
                    pending_skip -= 1;
                    continue;
                }
                match word {
                    "ansicpg" => {
                        if let Some(e) = param.and_then(codepage) {
                            doc_enc = e;
                            if st.font_cp.is_none() {
                                out.flush();
                                out.enc = e;
                            }
                        }
                    }
                    "fonttbl" => {
                        st.in_fonttbl = true;
                        st.skip = true;
                    }
                    "f" if st.in_fonttbl => cur_font_def = param,
                    "fcharset" if st.in_fonttbl => {
                        if let (Some(f), Some(e)) =
                            (cur_font_def, param.and_then(charset_cp).and_then(codepage))
                        {
                            fonts.insert(f, e);
                        }
                    }
                    "cpg" if st.in_fonttbl => {
                        if let (Some(f), Some(e)) = (cur_font_def, param.and_then(codepage)) {
                            fonts.insert(f, e);
                        }
                    }
                    "f" => {
                        out.flush();
                        st.font_cp = param.and_then(|f| fonts.get(&f).copied());
                        out.enc = st.font_cp.unwrap_or(doc_enc);
                    }
                    "uc" => st.uc = param.unwrap_or(1).clamp(0, 8) as usize,
                    "u" => {
                        if !st.skip
                            && let Some(p) = param
                        {
                            out.unicode(p);
                        }
                        pending_skip = st.uc;
                    }
                    w if SKIP_DEST.contains(&w) => st.skip = true,
                    _ if st.skip => {}
                    "par" | "line" | "sect" | "page" => out.text("\n"),
                    "tab" => out.text("\t"),
                    "cell" | "nestcell" => {
                        out.flush();
                        out.pt.end_cell();
                    }
                    "row" | "nestrow" => {
                        out.flush();
                        out.pt.end_row();
                    }
                    "emdash" => out.text("—"),
                    "endash" => out.text("–"),
                    "bullet" => out.text("•"),
                    "lquote" => out.text("‘"),
                    "rquote" => out.text("’"),
                    "ldblquote" => out.text("“"),
                    "rdblquote" => out.text("”"),
                    "emspace" | "enspace" | "qmspace" => out.text(" "),
                    _ => {}
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                // plain text run
                let start = i;
                while i < d.len() && !matches!(d[i], b'{' | b'}' | b'\\' | b'\r' | b'\n') {
                    i += 1;
                }
                let mut run = &d[start..i];
                if pending_skip > 0 {
                    let n = pending_skip.min(run.len());
                    run = &run[n..];
                    pending_skip -= n;
                }
                if !st.skip && !run.is_empty() {
                    out.bytes.extend_from_slice(run);
                }
            }
        }
    }
    out.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Limits;

    fn text(rtf: &[u8]) -> String {
        let limits = Limits::default();
        let ctx = Ctx::new(&limits);
        let mut pt = ctx.begin();
        rtf_text(&ctx, rtf, &mut pt).unwrap();
        crate::extract::tidy(&pt_text(pt))
    }

    fn pt_text(pt: PartText) -> String {
        pt.into_string()
    }

    #[test]
    fn unicode_escapes_and_fallbacks() {
        let s = text(b"{\\rtf1\\ansi\\uc1 \\u1179?\\u1187?\\u1199? \\u-1? ok\\par next}");
        assert_eq!(s, "\u{49b}\u{4a3}\u{4af} \u{ffff} ok\nnext");
    }

    #[test]
    fn ansicpg_and_font_charset() {
        // "Тест" in cp1251 = D2 E5 F1 F2
        let s = text(b"{\\rtf1\\ansi\\ansicpg1251 \\'d2\\'e5\\'f1\\'f2\\par}");
        assert_eq!(s, "Тест");
        let s = text(
            b"{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0\\fcharset0 Arial;}{\\f1\\fcharset204 Times;}}\\f1 \\'d2\\'e5\\'f1\\'f2 \\f0 caf\\'e9}",
        );
        assert_eq!(s, "Тест café");
    }

    #[test]
    fn skipped_destinations() {
        let s = text(b"{\\rtf1{\\*\\generator Foo;}{\\info{\\title T}}{\\pict 0102ff}{\\field{\\*\\fldinst HYPERLINK x}{\\fldrslt shown}}body}");
        assert_eq!(s, "shownbody");
    }
}
