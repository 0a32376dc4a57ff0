//! A message as a mail client reads it, for the alert tests: decoded by mail-parser (the
//! parser of the Stalwart mail server, independent of lettre, which composes tenderscan's
//! mail), and checked against the wire format by [`defects`], a strict reader of RFC 5322,
//! 2045-2047 and 5321 written for these tests. A message a strict client would complain
//! about (a header that is not ASCII, a malformed encoded word or address, a multipart
//! without its boundaries, base64 or quoted-printable a decoder must guess at, 8-bit bytes
//! in a 7bit part, a bare LF, a line over 998 bytes, a repeated From/To/Subject) has defects.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use std::path::Path;

/// A message as a mail client reads it.
#[derive(Debug)]
pub struct Parsed {
    /// Every header in order: address headers as `Name <a@b>` / `a@b` (comma-separated),
    /// the others unfolded with RFC 2047 words decoded.
    pub headers: Vec<(String, String)>,
    /// `type/subtype` of the message, lowercase.
    pub content_type: String,
    /// What [`defects`] found; empty for a well-formed message.
    pub defects: Vec<String>,
    /// (content type, decoded text with LF line ends) of each leaf part, in order.
    pub parts: Vec<(String, String)>,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn part(&self, content_type: &str) -> &str {
        self.parts
            .iter()
            .find(|(t, _)| t == content_type)
            .map(|(_, b)| b.as_str())
            .unwrap_or_else(|| panic!("no {content_type} part in {:?}", self.content_type))
    }
}

pub fn parse_mime(path: &Path) -> Parsed {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_bytes(&raw).unwrap_or_else(|| panic!("{}: not a message", path.display()))
}

const ADDRESS_HEADERS: [&str; 6] = ["from", "sender", "reply-to", "to", "cc", "bcc"];

pub fn parse_bytes(raw: &[u8]) -> Option<Parsed> {
    let msg = MessageParser::new()
        .with_mime_headers()
        .with_address_headers()
        .default_header_text()
        .header_text("Subject")
        .header_text("Message-ID")
        .header_text("Date")
        .header_text("MIME-Version")
        .header_text("Auto-Submitted")
        .parse(raw)?;
    let mut headers = Vec::new();
    for h in msg.headers() {
        let value = match (
            &h.value,
            ADDRESS_HEADERS.contains(&h.name().to_ascii_lowercase().as_str()),
        ) {
            (HeaderValue::Address(a), true) => render_address(a),
            (HeaderValue::Text(t), _) => t.to_string(),
            (HeaderValue::TextList(l), _) => l.join(", "),
            _ => {
                // Content-Type and the like: the raw value, unfolded.
                let v = &raw[h.offset_start() as usize..h.offset_end() as usize];
                unfold(&String::from_utf8_lossy(v))
            }
        };
        headers.push((h.name().to_string(), value));
    }
    let content_type = match msg.root_part().content_type() {
        Some(ct) => mime_type(ct.ctype(), ct.subtype()),
        None => "text/plain".to_string(),
    };
    let mut defects = defects(raw);
    let mut parts = Vec::new();
    for (i, p) in msg.parts.iter().enumerate() {
        if p.is_encoding_problem {
            defects.push(format!("part {i}: mail-parser found an encoding problem"));
        }
        let ct = match p.content_type() {
            Some(ct) => mime_type(ct.ctype(), ct.subtype()),
            None => "text/plain".to_string(),
        };
        let body = match &p.body {
            PartType::Text(t) | PartType::Html(t) => t.replace("\r\n", "\n"),
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                String::from_utf8_lossy(b).replace("\r\n", "\n")
            }
            PartType::Message(_) | PartType::Multipart(_) => continue,
        };
        parts.push((ct, body));
    }
    Some(Parsed {
        headers,
        content_type,
        defects,
        parts,
    })
}

fn mime_type(t: &str, sub: Option<&str>) -> String {
    format!("{}/{}", t, sub.unwrap_or("")).to_ascii_lowercase()
}

fn unfold(v: &str) -> String {
    v.replace("\r\n", "").replace('\n', "").trim().to_string()
}

/// Addresses as a mail client shows them: `a@b`, `Name <a@b>`, `"Name, Inc." <a@b>`.
fn render_address(a: &Address) -> String {
    fn one(name: Option<&str>, addr: Option<&str>) -> String {
        let addr = addr.unwrap_or("");
        match name.filter(|n| !n.is_empty()) {
            None => addr.to_string(),
            Some(n) if n.chars().any(|c| "()<>@,:;.\"[]\\".contains(c)) => {
                format!(
                    "\"{}\" <{addr}>",
                    n.replace('\\', "\\\\").replace('"', "\\\"")
                )
            }
            Some(n) => format!("{n} <{addr}>"),
        }
    }
    match a {
        Address::List(list) => list
            .iter()
            .map(|x| one(x.name.as_deref(), x.address.as_deref()))
            .collect::<Vec<_>>()
            .join(", "),
        Address::Group(groups) => groups
            .iter()
            .map(|g| {
                let members: Vec<String> = g
                    .addresses
                    .iter()
                    .map(|x| one(x.name.as_deref(), x.address.as_deref()))
                    .collect();
                match &g.name {
                    Some(n) => format!("{n}: {};", members.join(", ")),
                    None => members.join(", "),
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

// --- The strict reader -----------------------------------------------------------------

/// Everything in `raw` a strict mail client would object to.
pub fn defects(raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') || raw.first() == Some(&b'\n') {
        out.push("a line ends in a bare LF".into());
    }
    if raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && raw.get(i + 1) != Some(&b'\n'))
    {
        out.push("a bare CR".into());
    }
    entity(raw, "message", true, 0, &mut out);
    out
}

/// Header lines (unfolded name, value) and the body of one entity.
fn split_entity<'a>(
    raw: &'a [u8],
    at: &str,
    out: &mut Vec<String>,
) -> (Vec<(String, String)>, &'a [u8]) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut pos = 0;
    let mut first = true;
    loop {
        if pos >= raw.len() {
            return (headers, &raw[raw.len()..]);
        }
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..end];
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        pos = end;
        if content.is_empty() {
            return (headers, &raw[pos..]);
        }
        if content.len() > 998 {
            out.push(format!("{at}: a header line over 998 bytes"));
        }
        if let Some(b) = content
            .iter()
            .find(|&&b| !(b == b'\t' || (0x20..0x7f).contains(&b)))
        {
            out.push(format!(
                "{at}: byte 0x{b:02x} in the header line {:?}",
                String::from_utf8_lossy(content)
            ));
        }
        let text = String::from_utf8_lossy(content).into_owned();
        if text.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some((_, v)) if !first => v.push_str(&text),
                _ => out.push(format!("{at}: the first header line is a continuation")),
            }
            continue;
        }
        first = false;
        match text.split_once(':') {
            Some((name, value))
                if !name.is_empty() && name.bytes().all(|b| (33..127).contains(&b)) =>
            {
                headers.push((name.to_string(), value.to_string()));
            }
            _ => {
                out.push(format!(
                    "{at}: not a header line: {text:?} (no blank line?)"
                ));
                return (headers, &raw[pos - line.len()..]);
            }
        }
    }
}

fn entity(raw: &[u8], at: &str, top: bool, depth: usize, out: &mut Vec<String>) {
    if depth > 8 {
        out.push(format!("{at}: nested too deep"));
        return;
    }
    let (headers, body) = split_entity(raw, at, out);
    let get = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    };
    for (name, value) in &headers {
        header_value(name, value, at, out);
    }
    if top {
        for name in [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "Reply-To",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding",
        ] {
            let n = get(name).len();
            if n > 1 {
                out.push(format!("{at}: {n} {name} headers"));
            }
        }
        for name in ["From", "Date"] {
            if get(name).is_empty() {
                out.push(format!("{at}: no {name} header"));
            }
        }
        if !get("Content-Type").is_empty() && get("MIME-Version") != ["1.0"] {
            out.push(format!("{at}: Content-Type without MIME-Version: 1.0"));
        }
    }
    let (ctype, params) = match get("Content-Type").first() {
        Some(v) => match content_type(v) {
            Some(ct) => ct,
            None => {
                out.push(format!("{at}: bad Content-Type {v:?}"));
                return;
            }
        },
        None => ("text/plain".to_string(), Vec::new()),
    };
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let cte = get("Content-Transfer-Encoding")
        .first()
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_else(|| "7bit".into());
    if !["7bit", "8bit", "binary", "quoted-printable", "base64"].contains(&cte.as_str()) {
        out.push(format!("{at}: unknown Content-Transfer-Encoding {cte:?}"));
        return;
    }
    if let Some(sub) = ctype.strip_prefix("multipart/") {
        if !["7bit", "8bit", "binary"].contains(&cte.as_str()) {
            out.push(format!("{at}: multipart/{sub} encoded as {cte}"));
        }
        let Some(boundary) = param("boundary") else {
            out.push(format!("{at}: multipart/{sub} without a boundary"));
            return;
        };
        if boundary.is_empty() || boundary.len() > 70 {
            out.push(format!("{at}: boundary of {} characters", boundary.len()));
        }
        let parts = multipart(body, boundary, at, out);
        if parts.is_empty() {
            out.push(format!("{at}: multipart/{sub} with no part"));
        }
        for (i, p) in parts.iter().enumerate() {
            entity(p, &format!("{at} part {}", i + 1), false, depth + 1, out);
        }
        return;
    }
    leaf(body, &ctype, param("charset"), &cte, at, out);
}

/// The parts between `--boundary` lines, each without the CRLF that belongs to the next
/// delimiter.
fn multipart<'a>(body: &'a [u8], boundary: &str, at: &str, out: &mut Vec<String>) -> Vec<&'a [u8]> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut closed = false;
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| pos + i + 1);
        let line = &body[pos..end];
        let content = String::from_utf8_lossy(line);
        let content = content.trim_end_matches(['\r', '\n', ' ', '\t']);
        if content == open || content == close {
            if let Some(s) = start {
                // The CRLF before the delimiter is part of it.
                let mut e = pos;
                if e > s && body[e - 1] == b'\n' {
                    e -= 1;
                    if e > s && body[e - 1] == b'\r' {
                        e -= 1;
                    }
                }
                parts.push(&body[s..e.max(s)]);
            }
            if content == close {
                closed = true;
                break;
            }
            start = Some(end);
        }
        pos = end;
    }
    if start.is_none() {
        out.push(format!("{at}: the start boundary {open:?} is not there"));
    } else if !closed {
        out.push(format!("{at}: the close boundary {close:?} is not there"));
    }
    parts
}

fn leaf(
    body: &[u8],
    ctype: &str,
    charset: Option<&str>,
    cte: &str,
    at: &str,
    out: &mut Vec<String>,
) {
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    if lines.iter().any(|l| l.len() > 998) {
        out.push(format!("{at}: a body line over 998 bytes"));
    }
    let decoded: Vec<u8> = match cte {
        "7bit" | "8bit" => {
            if cte == "7bit" && body.iter().any(|&b| b >= 0x80) {
                out.push(format!("{at}: 8-bit bytes in a 7bit part"));
            }
            if body.contains(&0) {
                out.push(format!("{at}: a NUL byte in a {cte} part"));
            }
            body.to_vec()
        }
        "binary" => body.to_vec(),
        "base64" => {
            if lines.iter().any(|l| l.len() > 76) {
                out.push(format!("{at}: a base64 line over 76 characters"));
            }
            let text: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            match base64(&text) {
                Some(d) => d,
                None => {
                    out.push(format!("{at}: invalid base64"));
                    return;
                }
            }
        }
        _ => match quoted_printable(&lines, at, out) {
            Some(d) => d,
            None => return,
        },
    };
    if ctype.starts_with("text/") {
        let label = charset.unwrap_or("us-ascii");
        match encoding_rs::Encoding::for_label(label.as_bytes()) {
            None => out.push(format!("{at}: unknown charset {label:?}")),
            Some(enc) => {
                if label.eq_ignore_ascii_case("us-ascii") && decoded.iter().any(|&b| b >= 0x80) {
                    out.push(format!("{at}: non-ASCII text declared us-ascii"));
                }
                let (_, _, bad) = enc.decode(&decoded);
                if bad {
                    out.push(format!("{at}: text that is not valid {label}"));
                }
            }
        }
    }
}

/// Strict quoted-printable (RFC 2045 6.7): ASCII only, `=XX` with uppercase hex or a soft
/// line break, lines of at most 76 characters, no unencoded trailing white space.
fn quoted_printable(lines: &[&[u8]], at: &str, out: &mut Vec<String>) -> Option<Vec<u8>> {
    let hex = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut d = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.len() > 76 {
            out.push(format!("{at}: a quoted-printable line over 76 characters"));
            return None;
        }
        if line.iter().any(|&b| b >= 0x80 || (b < 0x20 && b != b'\t')) {
            out.push(format!("{at}: a raw byte in quoted-printable"));
            return None;
        }
        if line.ends_with(b" ") || line.ends_with(b"\t") {
            out.push(format!("{at}: trailing white space in quoted-printable"));
            return None;
        }
        let mut i = 0;
        let mut soft = false;
        while i < line.len() {
            if line[i] == b'=' {
                if i + 1 == line.len() {
                    soft = true;
                    break;
                }
                match (
                    line.get(i + 1).and_then(|&c| hex(c)),
                    line.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => d.push(h * 16 + l),
                    _ => {
                        out.push(format!("{at}: a bad escape in quoted-printable"));
                        return None;
                    }
                }
                i += 3;
            } else {
                d.push(line[i]);
                i += 1;
            }
        }
        if !soft && n + 1 < lines.len() {
            d.extend_from_slice(b"\r\n");
        }
    }
    Some(d)
}

/// Strict base64: the alphabet, whole quanta, `=` only at the end.
fn base64(s: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let quanta = s.len() / 4;
    let mut out = Vec::with_capacity(quanta * 3);
    for (i, q) in s.chunks(4).enumerate() {
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quanta) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

/// `type/subtype` (lowercase) and its parameters, or `None` when malformed.
fn content_type(v: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut rest = v.trim();
    let end = rest.find(';').unwrap_or(rest.len());
    let t = rest[..end].trim();
    let (a, b) = t.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&c))
    };
    if !token(a) || !token(b) {
        return None;
    }
    let mut params = Vec::new();
    rest = &rest[end..];
    while let Some(r) = rest.strip_prefix(';') {
        let r = r.trim_start();
        if r.is_empty() {
            break;
        }
        let (name, after) = r.split_once('=')?;
        let name = name.trim();
        if !token(name) {
            return None;
        }
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let mut close = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?.1),
                    '"' => {
                        close = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &q[close? + 1..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            let value = after[..end].trim();
            if !token(value) {
                return None;
            }
            (value.to_string(), &after[end..])
        };
        params.push((name.to_string(), value));
        rest = tail.trim_start();
    }
    if !rest.is_empty() {
        return None;
    }
    Some((format!("{a}/{b}").to_ascii_lowercase(), params))
}

fn header_value(name: &str, value: &str, at: &str, out: &mut Vec<String>) {
    let lname = name.to_ascii_lowercase();
    encoded_words(name, value, at, out);
    let v = value.trim();
    match lname.as_str() {
        n if ADDRESS_HEADERS.contains(&n) => {
            if let Err(e) = address_list(v) {
                out.push(format!("{at}: {name}: {e}: {v:?}"));
            }
        }
        "date" if chrono::DateTime::parse_from_rfc2822(v).is_err() => {
            out.push(format!("{at}: Date is not an RFC 5322 date: {v:?}"));
        }
        "message-id" => {
            let ok = v
                .strip_prefix('<')
                .and_then(|r| r.strip_suffix('>'))
                .and_then(|r| r.split_once('@'))
                .is_some_and(|(l, r)| {
                    let part = |s: &str| {
                        !s.is_empty()
                            && s.bytes()
                                .all(|c| c.is_ascii_graphic() && !b"<>@\"\\[]".contains(&c))
                    };
                    part(l) && part(r)
                });
            if !ok {
                out.push(format!("{at}: Message-ID is not <left@right>: {v:?}"));
            }
        }
        _ => {}
    }
}

/// Every `=?charset?B|Q?text?=` in a header: a known charset, valid encoding, whole
/// characters (RFC 2047 section 5), at most 75 characters.
fn encoded_words(name: &str, value: &str, at: &str, out: &mut Vec<String>) {
    let mut rest = value;
    while let Some(i) = rest.find("=?") {
        let after = &rest[i + 2..];
        let Some((charset, after)) = after.split_once('?') else {
            return;
        };
        let Some((enc, after)) = after.split_once('?') else {
            return;
        };
        let Some(end) = after.find("?=") else {
            return;
        };
        let text = &after[..end];
        let word_len = 2 + charset.len() + 1 + enc.len() + 1 + text.len() + 2;
        rest = &after[end + 2..];
        if charset.contains(char::is_whitespace) || text.contains(char::is_whitespace) {
            // Not an encoded word: plain text that happens to hold "=?".
            continue;
        }
        let bad = |why: &str, out: &mut Vec<String>| {
            out.push(format!(
                "{at}: {name}: encoded word {why}: =?{charset}?{enc}?{text}?="
            ))
        };
        if word_len > 75 {
            bad("over 75 characters", out);
        }
        let label = charset.split('*').next().unwrap_or(charset);
        let Some(encoding) = encoding_rs::Encoding::for_label(label.as_bytes()) else {
            bad("in an unknown charset", out);
            continue;
        };
        let bytes = match enc {
            "B" | "b" => base64(text.as_bytes()),
            "Q" | "q" => {
                let mut d = Vec::new();
                let b = text.as_bytes();
                let mut i = 0;
                let mut ok = true;
                while i < b.len() {
                    match b[i] {
                        b'_' => d.push(b' '),
                        b'=' => match b
                            .get(i + 1..i + 3)
                            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
                        {
                            Some(x) => {
                                d.push(x);
                                i += 2;
                            }
                            None => ok = false,
                        },
                        c if c.is_ascii_graphic() && c != b'?' => d.push(c),
                        _ => ok = false,
                    }
                    i += 1;
                }
                ok.then_some(d)
            }
            _ => {
                bad("with an unknown encoding", out);
                continue;
            }
        };
        match bytes {
            None => bad("that does not decode", out),
            Some(b) => {
                if encoding
                    .decode_without_bom_handling_and_without_replacement(&b)
                    .is_none()
                {
                    bad("holding part of a character", out);
                }
            }
        }
    }
}

/// RFC 5322 address-list, as far as tenderscan writes one: each address `local@domain` or
/// `phrase <local@domain>`, the phrase made of atoms, quoted strings or encoded words.
fn address_list(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("empty".into());
    }
    // Split at commas outside quotes and angle brackets.
    let mut items = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in v.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                items.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || angle {
        return Err("an open quote or angle bracket".into());
    }
    items.push(&v[start..]);
    for item in items {
        let item = item.trim();
        match item.rfind('<') {
            Some(lt) => {
                let addr = item[lt + 1..]
                    .strip_suffix('>')
                    .ok_or_else(|| format!("{item:?} does not end in >"))?;
                addr_spec(addr)?;
                phrase(item[..lt].trim())?;
            }
            None => addr_spec(item)?,
        }
    }
    Ok(())
}

fn addr_spec(a: &str) -> Result<(), String> {
    let (local, domain) = a
        .rsplit_once('@')
        .ok_or_else(|| format!("{a:?} has no @"))?;
    let atext = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&c))
    };
    if !atext(local) {
        return Err(format!("bad local part in {a:?}"));
    }
    if !atext(domain) || domain.contains(['/', '=']) {
        return Err(format!("bad domain in {a:?}"));
    }
    Ok(())
}

fn phrase(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Ok(());
    }
    let mut rest = p;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(q) = rest.strip_prefix('"') {
            let mut end = None;
            let mut esc = false;
            for (i, c) in q.char_indices() {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                }
            }
            let end = end.ok_or_else(|| format!("unclosed quote in {p:?}"))?;
            rest = &q[end + 1..];
        } else {
            let end = rest.find([' ', '\t', '"']).unwrap_or(rest.len());
            let word = &rest[..end];
            let atom = word
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c));
            let encoded = word.starts_with("=?") && word.ends_with("?=");
            if !atom && !encoded {
                return Err(format!("{word:?} is neither an atom nor a quoted string"));
            }
            rest = &rest[end..];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(head: &str, body: &str) -> Vec<u8> {
        format!("{head}\r\n\r\n{body}")
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    const GOOD_HEAD: &str = "From: tenderscan <alerts@newsroom.example>\r\nTo: desk@newsroom.example\r\n\
        Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n\
        Message-ID: <tenderscan.1.abc@newsroom.example>\r\nMIME-Version: 1.0";

    fn good() -> Vec<u8> {
        msg(
            &format!("{GOOD_HEAD}\r\nContent-Type: multipart/alternative; boundary=\"b1\""),
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
             =D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82 a long line=\r\n continued\r\n\
             --b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             PHA+0J/RgNC40LLQtdGCPC9wPg==\r\n--b1--\r\n",
        )
    }

    #[test]
    fn a_well_formed_message_reads_without_defects() {
        let p = parse_bytes(&good()).unwrap();
        assert_eq!(p.defects, Vec::<String>::new());
        assert_eq!(p.content_type, "multipart/alternative");
        assert_eq!(p.header("Subject"), Some("Привет"));
        assert_eq!(
            p.header("From"),
            Some("tenderscan <alerts@newsroom.example>")
        );
        assert_eq!(p.header("To"), Some("desk@newsroom.example"));
        assert_eq!(
            p.header("Message-ID"),
            Some("<tenderscan.1.abc@newsroom.example>")
        );
        assert_eq!(p.part("text/plain"), "Привет a long line continued");
        assert_eq!(p.part("text/html"), "<p>Привет</p>");
    }

    /// Each broken variant of the good message has a defect naming what is wrong.
    #[test]
    fn each_kind_of_damage_is_a_defect() {
        let good = String::from_utf8(good()).unwrap();
        let cases: &[(&str, &str, &str)] = &[
            ("--b1--\r\n", "", "close boundary"),
            ("boundary=\"b1\"", "charset=utf-8", "without a boundary"),
            (
                "PHA+0J/RgNC40LLQtdGCPC9wPg==",
                "PHA+0J/RgNC40LLQtdGCPC9wPg=",
                "invalid base64",
            ),
            ("=D0=9F", "=D0=9G", "bad escape"),
            ("=D0=9F", "П", "raw byte"),
            (
                "Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=",
                "Subject: Привет",
                "byte 0x",
            ),
            (
                "=?utf-8?b?0J/RgNC40LLQtdGC?=",
                "=?utf-8?b?0J/RgNC40LLQtdG?=",
                "does not decode",
            ),
            (
                "=?utf-8?b?0J/RgNC40LLQtdGC?=",
                "=?utf-8?b?0J/RgNC40LLQtdE=?=",
                "part of a character",
            ),
            (
                "To: desk@newsroom.example",
                "To: desk@newsroom.example\r\nTo: x@y.example",
                "2 To headers",
            ),
            (
                "To: desk@newsroom.example",
                "To: desk newsroom.example",
                "has no @",
            ),
            (
                "Date: Sat, 28 Nov 2026 10:00:00 +0000",
                "Date: yesterday",
                "not an RFC 5322 date",
            ),
            (
                "<tenderscan.1.abc@newsroom.example>",
                "tenderscan.1.abc",
                "Message-ID",
            ),
            ("MIME-Version: 1.0", "MIME-Version: 2.0", "MIME-Version"),
            ("quoted-printable", "7bit", "8-bit bytes in a 7bit part"),
        ];
        for (from, to, expect) in cases {
            assert!(good.contains(from), "{from}");
            let mut bad = good.replacen(from, to, 1);
            if *expect == "8-bit bytes in a 7bit part" {
                bad = bad.replacen("=D0=9F=D1=80", "Пр", 1);
            }
            let p = parse_bytes(bad.as_bytes()).unwrap();
            assert!(
                p.defects.iter().any(|d| d.contains(expect)),
                "{expect:?} not among {:?}",
                p.defects
            );
        }
        let lf = good.replace("\r\n", "\n");
        assert!(defects(lf.as_bytes()).iter().any(|d| d.contains("bare LF")));
        let long = good.replacen("a long line=", &format!("{}=", "x".repeat(80)), 1);
        assert!(
            defects(long.as_bytes())
                .iter()
                .any(|d| d.contains("over 76"))
        );
    }
}
