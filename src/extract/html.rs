//! HTML: charset from BOM, media type or `<meta>`, else detected; scripts, styles, noscript and
//! templates dropped; block elements become line breaks, table cells tabs. The tree is walked
//! without recursion, so deeply nested markup cannot overflow the stack.

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

fn pt_room(ctx: &Ctx) -> usize {
    ctx.limits.max_text_bytes.saturating_sub(ctx.text.len())
}
