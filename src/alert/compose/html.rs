//! The HTML part of a digest: the same entries as the text part, the matched words in
//! `<mark>`, inline styles only (mail clients drop style sheets).
//!
//! What this module must never do: write untrusted text that was not escaped, or an
//! `href` that is not an absolute http(s) URL.

use super::escape::{evidence_parts, h, header_text, html_escape, safe_url, url_text};
use super::i18n::{deadline_line, event_line, labels, money, price_line, sev_index};
use super::{
    Body, MAX_AGENCY_CHARS, MAX_FIELD_CHARS, MAX_TITLE_CHARS, NoticeGroup, agency_line, found_in,
    method_line, plan_line, rule_title, supplier_line,
};
use crate::alert::RuleText;
use crate::config::Language;
use crate::store::ChangeItem;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The HTML part: the same as the text part, every untrusted piece escaped.
pub(super) fn html_part(body: &Body<'_>) -> String {
    let (l, lang, rules, intro) = (labels(body.lang), body.lang, body.rules, body.intro);
    let changes = body.changes;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45;color:#222;max-width:760px\">\n\
         <p>{}</p>\n",
        l.lang,
        html_escape(body.subject),
        html_escape(intro)
    );
    if !changes.is_empty() {
        let _ = writeln!(
            html,
            "<h2 style=\"color:#1a4d8f;border-bottom:2px solid #1a4d8f;margin-top:28px\">{} ({})</h2>",
            html_escape(l.changed),
            changes.len()
        );
        for c in changes {
            changed_html(&mut html, c, lang);
        }
    }
    for (sev, in_section) in body.sections() {
        let heading = sev.map_or(l.planned, |sev| l.sections[sev_index(sev)]);
        let color = sev.map_or("#1a5fb4", |sev| {
            ["#555", "#b36b00", "#b00020"][sev_index(sev)]
        });
        let _ = writeln!(
            html,
            "<h2 style=\"color:{color};border-bottom:2px solid {color};margin-top:28px\">{} ({})</h2>",
            html_escape(heading),
            in_section.len()
        );
        for g in in_section {
            notice_html(&mut html, g, rules, lang);
            card_page(&mut html, (body.page)(g.items[0].notice_id), lang);
        }
    }
    super::watch::html_section(&mut html, body.watches, lang);
    let _ = write!(
        html,
        "<hr><p style=\"color:#666;font-size:13px\">{}</p>\n</body></html>\n",
        html_escape(l.footer)
    );
    html
}

fn notice_html(
    out: &mut String,
    g: &NoticeGroup<'_>,
    rules: &HashMap<String, RuleText>,
    lang: Language,
) {
    let l = labels(lang);
    let first = g.items[0];
    let title = html_escape(&header_text(&first.title, MAX_TITLE_CHARS));
    let _ = writeln!(
        out,
        "<div style=\"margin:14px 0;padding:10px 12px;border:1px solid #ddd;border-radius:4px\">"
    );
    match first.url.as_deref().and_then(safe_url) {
        Some(u) => {
            let _ = writeln!(
                out,
                "<h3 style=\"margin:0 0 6px\"><a href=\"{}\">{title}</a></h3>",
                html_escape(&u)
            );
        }
        None => {
            let _ = writeln!(out, "<h3 style=\"margin:0 0 6px\">{title}</h3>");
        }
    }
    out.push_str("<table style=\"border-collapse:collapse;font-size:14px\">\n");
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(
            out,
            "<tr><td style=\"color:#666;padding:1px 10px 1px 0;vertical-align:top\">{}</td><td>{v}</td></tr>",
            html_escape(k)
        );
    };
    if let Some(a) = agency_line(first, l) {
        row(out, l.agency, html_escape(&a));
    }
    if let Some(m) = method_line(first) {
        row(out, l.method, html_escape(&m));
    }
    if let Some(s) = supplier_line(first, l) {
        row(out, l.supplier, html_escape(&s));
    }
    if let Some((label, p)) = plan_line(first, l) {
        row(out, label, html_escape(&p));
    }
    if let Some(m) = first
        .notice_amount
        .and_then(|a| money(a, first.currency.as_deref()))
    {
        row(out, l.amount, html_escape(&m).replace(' ', "&nbsp;"));
    }
    if let Some(d) = deadline_line(lang, first) {
        row(out, l.deadline, html_escape(&d));
    }
    if let Some(n) = first.notice_number.as_deref() {
        row(out, l.notice, html_escape(&header_text(n, MAX_FIELD_CHARS)));
    }
    if let Some(raw) = first.url.as_deref() {
        match safe_url(raw) {
            Some(u) => row(
                out,
                l.link,
                format!("<a href=\"{0}\">{0}</a>", html_escape(&u)),
            ),
            None => row(out, l.link, html_escape(&url_text(raw))),
        }
    }
    out.push_str("</table>\n");
    for it in &g.items {
        let color = ["#555", "#b36b00", "#b00020"][sev_index(it.severity)];
        let _ = writeln!(
            out,
            "<div style=\"margin:10px 0 0 8px;padding-left:10px;border-left:3px solid {color}\">\n\
             <p style=\"margin:0\"><strong>{}</strong> <span style=\"color:{color}\">({})</span></p>\n\
             <p style=\"margin:2px 0;color:#555;font-size:14px\">{}: {}</p>",
            h(rule_title(rules, &it.rule_id).trim()),
            html_escape(l.severity[sev_index(it.severity)]),
            html_escape(l.found_in),
            html_escape(&found_in(it, l))
        );
        if let Some((priced, p)) = price_line(lang, it) {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0\">{}: <strong>{}</strong></p>",
                html_escape(if priced { l.price } else { l.quota }),
                html_escape(&p)
            );
        }
        let (a, m, b) = evidence_parts(it);
        let quote = if m.is_empty() {
            html_escape(a.trim())
        } else {
            format!(
                "{}<mark style=\"background:#ffe066;font-weight:bold\">{}</mark>{}",
                html_escape(a.trim_start()),
                html_escape(&m),
                html_escape(b.trim_end())
            )
        };
        let _ = writeln!(
            out,
            "<blockquote style=\"margin:6px 0;padding:4px 10px;background:#f6f6f6\" title=\"{}\">{quote}</blockquote>",
            html_escape(l.evidence)
        );
        if it.by_ocr {
            let _ = writeln!(
                out,
                "<p style=\"margin:0 0 4px;color:#8a5a00;font-size:13px\">{}</p>",
                html_escape(l.by_ocr)
            );
        }
        if it.retracted {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0;color:#b00020\">{}</p>",
                html_escape(l.retracted)
            );
        }
        if let Some(r) = rules.get(&it.rule_id).filter(|r| !r.why.trim().is_empty()) {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0\"><em>{}:</em> {}</p>",
                html_escape(l.why),
                h(r.why.trim())
            );
        }
        for r in &it.reasons {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0;color:#555;font-size:13px\">{}</p>",
                h(r.trim())
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
}

fn changed_html(out: &mut String, c: &ChangeItem, lang: Language) {
    let l = labels(lang);
    let title = html_escape(&header_text(&c.title, MAX_TITLE_CHARS));
    let _ = writeln!(
        out,
        "<div style=\"margin:14px 0;padding:10px 12px;border:1px solid #ddd;border-radius:4px\">"
    );
    match c.url.as_deref().and_then(safe_url) {
        Some(u) => {
            let _ = writeln!(
                out,
                "<h3 style=\"margin:0 0 6px\"><a href=\"{}\">{title}</a></h3>",
                html_escape(&u)
            );
        }
        None => {
            let _ = writeln!(out, "<h3 style=\"margin:0 0 6px\">{title}</h3>");
        }
    }
    if let Some(a) = c.agency_name.as_deref() {
        let _ = writeln!(
            out,
            "<p style=\"margin:2px 0\">{}: {}</p>",
            html_escape(l.agency),
            html_escape(&header_text(a, MAX_AGENCY_CHARS))
        );
    }
    if let Some(n) = c.notice_number.as_deref() {
        let _ = writeln!(
            out,
            "<p style=\"margin:2px 0\">{}: {}</p>",
            html_escape(l.notice),
            html_escape(&header_text(n, MAX_FIELD_CHARS))
        );
    }
    out.push_str("<ul>\n");
    for ev in &c.events {
        let _ = writeln!(out, "<li>{}</li>", html_escape(&event_line(lang, ev)));
    }
    out.push_str("</ul>\n</div>\n");
}

/// The card's link to the newsroom's web page (`[serve] public_url`), its last line.
fn card_page(out: &mut String, page: Option<String>, lang: Language) {
    if let Some(p) = page.as_deref().and_then(safe_url) {
        // Inside the card: before the `</div>` that closes it.
        let close = "</div>\n";
        let inside = out.ends_with(close);
        if inside {
            out.truncate(out.len() - close.len());
        }
        let _ = writeln!(
            out,
            "<p style=\"margin:8px 0 0;font-size:14px\"><a href=\"{}\">{}</a></p>",
            html_escape(&p),
            html_escape(labels(lang).page)
        );
        if inside {
            out.push_str(close);
        }
    }
}
