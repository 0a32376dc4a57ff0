//! CMS / PKCS#7 signed files (.cms, .p7s, .p7m), as made by Kazakhstan's NCALayer: the signed
//! document travels inside as encapsulated content. A small DER+BER reader of our own (the
//! `cms` crate reads DER only) handles indefinite lengths and constructed OCTET STRINGs, then
//! the content is read as whatever it is. Base64 and PEM wrappings are undone first. A detached
//! signature carries no document: that is reported as such.

use super::{Ctx, ExtractError, Input, Kind, sniff};

/// 1.2.840.113549.1.7.2 signedData, 1.2.840.113549.1.7.1 data, .7.3 envelopedData
const OID_SIGNED: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
const OID_ENVELOPED: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03];

const MAX_NESTING: u32 = 64;

/// One BER element: tag byte parts and where its content lies.
#[derive(Debug, Clone, Copy)]
struct Tlv {
    class: u8,
    constructed: bool,
    tag: u32,
    /// Content start and end (for indefinite length, the end excludes the end-of-contents).
    start: usize,
    end: usize,
    /// Offset just after the whole element.
    next: usize,
}

fn bad(reason: impl Into<String>) -> ExtractError {
    ExtractError::corrupt(Kind::Cms, reason.into())
}

/// Reads the element at `pos`.
fn read_tlv(d: &[u8], pos: usize, depth: u32) -> Result<Tlv, ExtractError> {
    if depth > MAX_NESTING {
        return Err(bad("BER nested too deeply"));
    }
    let mut p = pos;
    let b = *d.get(p).ok_or_else(|| bad("truncated (tag)"))?;
    p += 1;
    let class = b >> 6;
    let constructed = b & 0x20 != 0;
    let mut tag = (b & 0x1F) as u32;
    if tag == 0x1F {
        tag = 0;
        loop {
            let c = *d.get(p).ok_or_else(|| bad("truncated (long tag)"))?;
            p += 1;
            if tag > (u32::MAX >> 7) {
                return Err(bad("tag number too large"));
            }
            tag = (tag << 7) | (c & 0x7F) as u32;
            if c & 0x80 == 0 {
                break;
            }
        }
    }
    let l = *d.get(p).ok_or_else(|| bad("truncated (length)"))?;
    p += 1;
    if l == 0x80 {
        if !constructed {
            return Err(bad("indefinite length on a primitive element"));
        }
        // children until end-of-contents 00 00
        let start = p;
        let mut q = p;
        loop {
            if d.get(q) == Some(&0) && d.get(q + 1) == Some(&0) {
                return Ok(Tlv {
                    class,
                    constructed,
                    tag,
                    start,
                    end: q,
                    next: q + 2,
                });
            }
            if q >= d.len() {
                return Err(bad("truncated (no end-of-contents)"));
            }
            q = read_tlv(d, q, depth + 1)?.next;
        }
    }
    let len = if l & 0x80 == 0 {
        l as usize
    } else {
        let n = (l & 0x7F) as usize;
        if n == 0 || n > 8 {
            return Err(bad("bad length"));
        }
        let mut v: u64 = 0;
        for i in 0..n {
            v = (v << 8) | *d.get(p + i).ok_or_else(|| bad("truncated (length)"))? as u64;
        }
        p += n;
        usize::try_from(v).map_err(|_| bad("length too large"))?
    };
    let end = p.checked_add(len).ok_or_else(|| bad("length too large"))?;
    if end > d.len() {
        return Err(bad(format!(
            "truncated: element wants {len} bytes, {} left",
            d.len() - p
        )));
    }
    Ok(Tlv {
        class,
        constructed,
        tag,
        start: p,
        end,
        next: end,
    })
}

/// Children of a constructed element.
fn children(d: &[u8], t: &Tlv, depth: u32) -> Result<Vec<Tlv>, ExtractError> {
    let mut out = Vec::new();
    let mut p = t.start;
    while p < t.end {
        let c = read_tlv(d, p, depth + 1)?;
        p = c.next;
        out.push(c);
        if out.len() > 100_000 {
            return Err(bad("too many elements"));
        }
    }
    Ok(out)
}

/// Bytes of an OCTET STRING, primitive or constructed (BER chunks, concatenated).
fn octets(d: &[u8], t: &Tlv, depth: u32, cap: u64, out: &mut Vec<u8>) -> Result<(), ExtractError> {
    if depth > MAX_NESTING {
        return Err(bad("BER nested too deeply"));
    }
    if !t.constructed {
        if out.len() as u64 + (t.end - t.start) as u64 > cap {
            return Err(ExtractError::LimitExceeded(
                "signed content over the size limit".into(),
            ));
        }
        out.extend_from_slice(&d[t.start..t.end]);
        return Ok(());
    }
    for c in children(d, t, depth)? {
        octets(d, &c, depth + 1, cap, out)?;
    }
    Ok(())
}

fn is(t: &Tlv, class: u8, tag: u32) -> bool {
    t.class == class && t.tag == tag
}

/// The encapsulated content of a ContentInfo, or `None` for a detached signature.
fn econtent(d: &[u8], cap: u64) -> Result<Option<Vec<u8>>, ExtractError> {
    let ci = read_tlv(d, 0, 0)?;
    if !is(&ci, 0, 16) || !ci.constructed {
        return Err(bad("not a ContentInfo SEQUENCE"));
    }
    let kids = children(d, &ci, 0)?;
    let oid = kids
        .first()
        .filter(|t| is(t, 0, 6))
        .ok_or_else(|| bad("no content type"))?;
    let oid = &d[oid.start..oid.end];
    let explicit = kids.get(1).filter(|t| is(t, 2, 0));
    if oid == OID_ENVELOPED {
        return Err(ExtractError::Encrypted { kind: Kind::Cms });
    }
    if oid == OID_DATA {
        let Some(e) = explicit else { return Ok(None) };
        let inner = children(d, e, 1)?;
        let os = inner.first().ok_or_else(|| bad("empty data content"))?;
        let mut out = Vec::new();
        octets(d, os, 2, cap, &mut out)?;
        return Ok(Some(out));
    }
    if oid != OID_SIGNED {
        return Err(ExtractError::Unsupported(
            "CMS content type other than signed data".into(),
        ));
    }
    let e = explicit.ok_or_else(|| bad("signed data missing"))?;
    let sd = children(d, e, 1)?;
    let sd = sd
        .first()
        .filter(|t| is(t, 0, 16))
        .ok_or_else(|| bad("SignedData is not a SEQUENCE"))?;
    let fields = children(d, sd, 2)?;
    // version INTEGER, digestAlgorithms SET, encapContentInfo SEQUENCE, ...
    let eci = fields
        .iter()
        .find(|t| is(t, 0, 16))
        .ok_or_else(|| bad("no encapsulated content info"))?;
    let eci_kids = children(d, eci, 3)?;
    let Some(wrapped) = eci_kids.iter().find(|t| is(t, 2, 0)) else {
        return Ok(None);
    };
    let inner = children(d, wrapped, 4)?;
    let os = inner
        .first()
        .ok_or_else(|| bad("empty encapsulated content"))?;
    if !is(os, 0, 4) {
        return Err(bad("encapsulated content is not an OCTET STRING"));
    }
    let mut out = Vec::new();
    octets(d, os, 5, cap, &mut out)?;
    Ok(Some(out))
}

/// Decodes Base64 (with or without a PEM armour), ignoring whitespace.
fn unbase64(s: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(s).ok()?;
    let body: String = if text.trim_start().starts_with("-----BEGIN") {
        text.lines()
            .filter(|l| !l.starts_with("-----") && !l.contains(':'))
            .collect()
    } else {
        text.to_string()
    };
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn der_has_signed_oid(d: &[u8]) -> bool {
    d.first() == Some(&0x30)
        && d[..d.len().min(32)]
            .windows(OID_SIGNED.len())
            .any(|w| w == OID_SIGNED)
}

/// Whether `bytes` is a CMS signed (or data) message, binary or Base64/PEM.
pub(crate) fn looks_like_cms(bytes: &[u8]) -> bool {
    if der_has_signed_oid(bytes) {
        return true;
    }
    if bytes.first() == Some(&0x30)
        && bytes[..bytes.len().min(32)]
            .windows(OID_DATA.len())
            .any(|w| w == OID_DATA)
    {
        return true;
    }
    let head = &bytes[..bytes.len().min(4096)];
    let t = head.trim_ascii_start();
    if t.starts_with(b"-----BEGIN PKCS7") || t.starts_with(b"-----BEGIN CMS") {
        return true;
    }
    if t.starts_with(b"MII") || t.starts_with(b"MIA") {
        // decode a prefix: 128 Base64 characters give 96 bytes
        let prefix: Vec<u8> = t
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .take(128)
            .collect();
        let n = prefix.len() / 4 * 4;
        return unbase64(&prefix[..n]).is_some_and(|d| der_has_signed_oid(&d));
    }
    false
}

/// Name of the signed document: `техзадание.docx.cms` gives `техзадание.docx`.
fn inner_name(name: Option<&str>) -> String {
    let n = name.unwrap_or("content");
    let base = n.rsplit(['/', '\\']).next().unwrap_or(n);
    for ext in [".cms", ".p7s", ".p7m", ".sig"] {
        if base.len() > ext.len() && base.to_ascii_lowercase().ends_with(ext) {
            return base[..base.len() - ext.len()].to_string();
        }
    }
    "content".to_string()
}

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    if input.depth >= ctx.limits.max_depth {
        return Err(ExtractError::LimitExceeded(format!(
            "{}: containers nested more than {} levels deep",
            input.own_path(),
            ctx.limits.max_depth
        )));
    }
    let decoded;
    let der: &[u8] = if input.bytes.first() == Some(&0x30) {
        input.bytes
    } else {
        decoded = unbase64(input.bytes).ok_or_else(|| bad("neither DER nor Base64"))?;
        &decoded
    };
    let cap = ctx.entry_budget();
    let content = econtent(der, cap)?.ok_or_else(|| {
        ExtractError::Unsupported(format!(
            "{}: detached signature, the signed document is not inside",
            input.own_path()
        ))
    })?;
    ctx.unpacked += content.len() as u64;
    let name = inner_name(input.name);
    let kind = sniff(&content, Some(&name));
    if kind == Kind::Unknown {
        return Err(ExtractError::Unsupported(format!(
            "{}: signed content of unknown format",
            input.own_path()
        )));
    }
    let child = Input {
        bytes: &content,
        name: Some(&name),
        media_type: None,
        path: input.sub_path(&name),
        depth: input.depth + 1,
    };
    ctx.run(&child, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_length_and_chunked_octets() {
        // SEQUENCE(indef) { OCTET STRING constructed(indef) { "ab", "cd" } }
        let d = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x02, b'c', b'd', 0, 0, 0, 0,
        ];
        let seq = read_tlv(&d, 0, 0).unwrap();
        assert_eq!(seq.next, d.len());
        let kids = children(&d, &seq, 0).unwrap();
        let mut out = Vec::new();
        octets(&d, &kids[0], 1, 100, &mut out).unwrap();
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn truncated_and_overlong_lengths_are_errors() {
        assert!(read_tlv(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], 0, 0).is_err());
        assert!(read_tlv(&[0x30, 0x80, 0x04], 0, 0).is_err());
        assert!(read_tlv(&[0x04, 0x80], 0, 0).is_err());
    }

    #[test]
    fn base64_round() {
        assert_eq!(unbase64(b"0LrQsg==").unwrap(), "кв".as_bytes());
        assert_eq!(inner_name(Some("ТЗ.docx.cms")), "ТЗ.docx");
    }
}
