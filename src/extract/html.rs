//! HTML: charset from BOM, media type or `<meta>`, else detected; scripts, styles, noscript and
//! templates dropped; block elements become line breaks, table cells tabs. The tree is walked
//! without recursion, so deeply nested markup cannot overflow the stack.
//!
//! Before any tree is built the markup's nesting is measured by a linear scan ([`nesting`]):
//! html5ever's tree building is quadratic in depth (a 5.5 MB page of nested `<div>`s took over
//! 15 minutes), so a page nested deeper than [`MAX_DEPTH`] is read by [`flat_text`], a linear
//! tag stripper, with a note.

use super::{Ctx, ExtractError, Input, Kind};
use encoding_rs::Encoding;
use scraper::{Html, Node};

const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "object", "iframe", "select",
    "button",
];

const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "title",
    "tr",
    "ul",
];

/// `charset=` in a media type or in the first bytes of a page.
fn charset_label(s: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = s.iter().map(|c| c.to_ascii_lowercase()).collect();
    let pos = lower.windows(8).position(|w| w == b"charset=")?;
    let rest = &lower[pos + 8..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.')))
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let declared = input
        .media_type
        .and_then(|m| charset_label(m.as_bytes()))
        .or_else(|| charset_label(&input.bytes[..input.bytes.len().min(4096)]));
    let (source, _) = super::text::decode(input.bytes, declared);
    ctx.check_time()?;
    let depth = nesting(&source);
    if depth > MAX_DEPTH {
        ctx.note(format!(
            "{}: markup nested {depth} levels deep (over {MAX_DEPTH}): read as flat text",
            input.own_path()
        ));
        let mut pt = ctx.begin();
        flat_text(&source, &mut pt, ctx.deadline);
        drop(source);
        let path = input.own_path();
        if pt.is_empty() {
            return Err(ExtractError::Empty {
                kind: Kind::Html,
                reason: format!("{path}: no text outside scripts and markup"),
            });
        }
        ctx.finish(path, Kind::Html, pt);
        return Ok(());
    }
    let doc = Html::parse_document(&source);
    drop(source);
    ctx.check_time()?;
    let mut pt = ctx.begin();
    // the title first: it often names the purchase
    let mut title = String::new();
    let mut body = String::new();
    let mut pre = 0u32;
    let mut in_title = false;
    let mut steps = 0u32;
    let mut node = doc.tree.root();
    'walk: loop {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(8192) && ctx.out_of_time() {
            ctx.note(format!(
                "{}: time budget exhausted, page read partly",
                input.own_path()
            ));
            break;
        }
        let mut descend = true;
        match node.value() {
            Node::Element(e) => {
                let name = e.name();
                if name == "title" {
                    in_title = true;
                } else if SKIP.contains(&name) {
                    descend = false;
                } else {
                    if name == "pre" {
                        pre += 1;
                    }
                    if BLOCK.contains(&name) {
                        body.push('\n');
                    }
                }
            }
            Node::Text(t) => {
                let out = if in_title { &mut title } else { &mut body };
                if pre > 0 {
                    out.push_str(t);
                } else {
                    let mut last_space = out.ends_with([' ', '\n', '\t']);
                    for c in t.chars() {
                        if c.is_whitespace() {
                            if !last_space {
                                out.push(' ');
                                last_space = true;
                            }
                        } else {
                            out.push(c);
                            last_space = false;
                        }
                    }
                }
                if body.len() + title.len() > pt_room(ctx) {
                    break 'walk;
                }
            }
            _ => {}
        }
        if descend && let Some(c) = node.first_child() {
            node = c;
            continue;
        }
        loop {
            // close `node`
            if let Node::Element(e) = node.value() {
                match e.name() {
                    "title" => in_title = false,
                    "pre" => pre = pre.saturating_sub(1),
                    "td" | "th" => body.push('\t'),
                    n if BLOCK.contains(&n) => body.push('\n'),
                    _ => {}
                }
            }
            if let Some(s) = node.next_sibling() {
                node = s;
                break;
            }
            match node.parent() {
                Some(p) => node = p,
                None => break 'walk,
            }
        }
    }
    for text in [title.trim(), body.as_str()] {
        for line in text.lines() {
            let line = line.trim_matches(' ');
            if !line.is_empty() {
                pt.push_str(line);
                pt.push('\n');
            }
        }
    }
    let path = input.own_path();
    if pt.is_empty() {
        return Err(ExtractError::Empty {
            kind: Kind::Html,
            reason: format!("{path}: no text outside scripts and markup"),
        });
    }
    ctx.finish(path, Kind::Html, pt);
    Ok(())
}

/// Deepest nesting a page may have to be parsed into a tree.
pub(crate) const MAX_DEPTH: usize = 512;

/// Elements that hold no content, and elements whose end tag may be left out (the parser
/// closes them by itself): neither deepens the nesting [`nesting`] counts.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
    "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head",
    "body",
];

/// Elements whose content is raw text up to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "plaintext"];

/// One tag found by [`scan`].
struct Tag<'a> {
    name: &'a str,
    closing: bool,
    self_closing: bool,
}

/// What [`scan`] meets: text between tags, or a tag.
enum Item<'a> {
    Text(&'a str),
    Tag(Tag<'a>),
}

/// Walks `s` once, calling `f` for text between tags and for each tag until it answers
/// false; comments, doctypes and processing instructions are skipped, raw-text elements'
/// content comes as text, unparsed. Linear in the input.
fn scan<'a>(s: &'a str, mut f: impl FnMut(Item<'a>) -> bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(off) = memchr(b'<', &b[i..]) else {
            f(Item::Text(&s[i..]));
            return;
        };
        let lt = i + off;
        if lt > i && !f(Item::Text(&s[i..lt])) {
            return;
        }
        let rest = &b[lt + 1..];
        if rest.starts_with(b"!--") {
            i = match find(&b[lt + 4..], b"-->") {
                Some(e) => lt + 4 + e + 3,
                None => b.len(),
            };
            continue;
        }
        if rest.first().is_some_and(|c| matches!(c, b'!' | b'?')) {
            i = match memchr(b'>', rest) {
                Some(e) => lt + 1 + e + 1,
                None => b.len(),
            };
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = lt + 1 + usize::from(closing);
        let name_len = b[name_start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
            .count();
        if name_len == 0 || !b[name_start].is_ascii_alphabetic() {
            // A lone '<' is text.
            if !f(Item::Text(&s[lt..lt + 1])) {
                return;
            }
            i = lt + 1;
            continue;
        }
        let name = &s[name_start..name_start + name_len];
        // The tag ends at the first '>' outside quotes.
        let mut j = name_start + name_len;
        let mut quote = 0u8;
        while j < b.len() {
            let c = b[j];
            if quote != 0 {
                if c == quote {
                    quote = 0;
                }
            } else if c == b'"' || c == b'\'' {
                quote = c;
            } else if c == b'>' {
                break;
            }
            j += 1;
        }
        let self_closing = j < b.len() && b[j - 1] == b'/';
        if !f(Item::Tag(Tag {
            name,
            closing,
            self_closing,
        })) {
            return;
        }
        i = (j + 1).min(b.len());
        if !closing
            && !self_closing
            && let Some(raw) = RAW_TEXT.iter().find(|r| r.eq_ignore_ascii_case(name))
        {
            // Content up to `</name`, case-insensitively.
            let end = find_end_tag(&b[i..], raw.as_bytes()).map_or(b.len(), |e| i + e);
            if end > i && !f(Item::Text(&s[i..end])) {
                return;
            }
            i = end;
        }
    }
}

fn memchr(c: u8, b: &[u8]) -> Option<usize> {
    b.iter().position(|x| *x == c)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_end_tag(hay: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = find(&hay[from..], b"</") {
        let at = from + p;
        let n = &hay[at + 2..];
        if n.len() >= name.len() && n[..name.len()].eq_ignore_ascii_case(name) {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

/// How deeply the markup nests, counted without building a tree (open tags less end tags;
/// void elements and elements with optional end tags do not count).
pub(crate) fn nesting(s: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    scan(s, |item| {
        if let Item::Tag(t) = item
            && !t.self_closing
            && !NOT_NESTING.iter().any(|n| n.eq_ignore_ascii_case(t.name))
        {
            if t.closing {
                depth = depth.saturating_sub(1);
            } else {
                depth += 1;
                max = max.max(depth);
            }
        }
        true
    });
    max
}

/// The visible text of a page without a tree: tags stripped, block elements as line breaks,
/// cells as tabs, scripts and styles dropped, common entities decoded. Linear; stops at the
/// deadline or when `pt` is full.
pub(crate) fn flat_text(s: &str, pt: &mut super::PartText, deadline: std::time::Instant) {
    fn flush(out: &mut String, pt: &mut super::PartText) {
        for line in out.split('\n') {
            let line = line.trim_matches(' ');
            if !line.is_empty() {
                pt.push_str(line);
                pt.push('\n');
            }
        }
        out.clear();
    }
    let mut skip = 0usize;
    let mut steps = 0u32;
    let mut out = String::new();
    let mut last_space = true;
    scan(s, |item| {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(8192) {
            if std::time::Instant::now() >= deadline || pt.is_full() {
                return false;
            }
            if out.len() > 1 << 16 {
                flush(&mut out, pt);
            }
        }
        match item {
            Item::Text(t) => {
                if skip > 0 {
                    return true;
                }
                for c in decode_entities(t).chars() {
                    if c.is_whitespace() {
                        if !last_space {
                            out.push(' ');
                            last_space = true;
                        }
                    } else {
                        out.push(c);
                        last_space = false;
                    }
                }
            }
            Item::Tag(t) => {
                let name = t.name.to_ascii_lowercase();
                if SKIP.contains(&name.as_str()) {
                    if t.closing {
                        skip = skip.saturating_sub(1);
                    } else if !t.self_closing {
                        skip += 1;
                    }
                } else if matches!(name.as_str(), "td" | "th") && t.closing {
                    out.push('\t');
                    last_space = true;
                } else if BLOCK.contains(&name.as_str()) {
                    out.push('\n');
                    last_space = true;
                }
            }
        }
        true
    });
    flush(&mut out, pt);
}

/// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;` and numeric references.
fn decode_entities(t: &str) -> std::borrow::Cow<'_, str> {
    if !t.contains('&') {
        return std::borrow::Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let end = after.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn pt_room(ctx: &Ctx) -> usize {
    ctx.limits.max_text_bytes.saturating_sub(ctx.text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{Limits, extract};

    #[test]
    fn nesting_counts_open_elements_not_void_or_self_closing_ones() {
        assert_eq!(nesting("<div><div><br><img src=x><p>a<p>b</div></div>"), 2);
        assert_eq!(nesting("<div/><div></div>"), 1);
        assert_eq!(nesting("<!-- <div><div><div> --><div>"), 1);
        assert_eq!(nesting("<script>if (a<b) {'<div>'}</script><div>"), 1);
        assert_eq!(nesting("<div title='a>b'><span>x</span></div>"), 2);
        assert_eq!(nesting("a < b and <3"), 0);
        assert_eq!(nesting(&"<div>".repeat(10_000)), 10_000);
    }

    #[test]
    fn flat_text_keeps_lines_cells_and_entities_and_drops_scripts() {
        let limits = Limits::default();
        let ctx = Ctx::new(&limits);
        let mut pt = ctx.begin();
        flat_text(
            "<h1>Техническое&nbsp;задание</h1><script>var x = '<p>no</p>';</script>\
             <table><tr><td>Комментарии</td><td>300 &#1096;&#1090;.</td></tr></table>\
             <p>A &amp; B &lt;C&gt; &unknown; &#x4b;</p><style>p{}</style>",
            &mut pt,
            ctx.deadline,
        );
        assert_eq!(
            crate::extract::tidy(&pt.into_string()),
            "Техническое задание\nКомментарии\t300 шт.\nA & B <C> &unknown; K"
        );
    }

    #[test]
    fn a_page_nested_past_the_cap_is_read_flat_with_a_note() {
        let page = format!(
            "<html><body>{}Создание фейковых аккаунтов</body></html>",
            "<div>".repeat(MAX_DEPTH + 1)
        );
        let x = extract(page.as_bytes(), Some("p.html"), None, &Limits::default()).unwrap();
        assert_eq!(x.text, "Создание фейковых аккаунтов");
        assert!(
            x.notes.iter().any(|n| n.contains("read as flat text")),
            "{:?}",
            x.notes
        );
        let page = format!(
            "<html><body>{}Создание фейковых аккаунтов</body></html>",
            "<div>".repeat(MAX_DEPTH)
        );
        let x = extract(page.as_bytes(), Some("p.html"), None, &Limits::default()).unwrap();
        assert_eq!(x.text, "Создание фейковых аккаунтов");
        assert!(x.notes.is_empty(), "{:?}", x.notes);
    }
}
