//! The HTML part of a digest: the same entries as the text part, the matched words in
//! `<mark>`, inline styles only (mail clients drop style sheets).
//!
//! What this module must never do: write untrusted text that was not escaped, or an
//! `href` that is not an absolute http(s) URL.

use super::escape::{evidence_parts, h, header_text, html_escape, safe_url, url_text};
use super::i18n::{deadline_line, event_line, labels, money, price_line, quota_source, sev_index};
use super::text::sha;
use super::{
    Body, MAX_AGENCY_CHARS, MAX_FIELD_CHARS, MAX_TITLE_CHARS, NoticeGroup, agency_line, found_in,
    method_line, plan_line, rule_title, supplier_line,
};
use crate::alert::RuleText;
use crate::config::Language;
use crate::model::Severity;
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
    if let Some(sum) = &body.summary {
        let _ = writeln!(
            html,
            "<p style=\"font-size:16px;background:#f0f4fa;padding:8px 12px;border-radius:4px\"><strong>{}</strong></p>",
            h(sum)
        );
    }
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
        let (full, rest): (Vec<_>, Vec<_>) = in_section
            .into_iter()
            .partition(|g| body.full.contains(&g.items[0].notice_id));
        for g in full {
            notice_html(&mut html, g, rules, lang);
            card_page(&mut html, (body.page)(g.items[0].notice_id), lang);
        }
        if !rest.is_empty() {
            let _ = writeln!(
                html,
                "<p style=\"margin:14px 0 4px\"><strong>{}</strong></p>\n<ul>",
                html_escape(l.rest)
            );
            for g in rest {
                brief_html(&mut html, g, lang);
            }
            html.push_str("</ul>\n");
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

/// The size of a notice's card in the HTML part (bytes), for the budget.
pub(super) fn card_size(g: &NoticeGroup<'_>, body: &Body<'_>) -> usize {
    let mut out = String::new();
    notice_html(&mut out, g, body.rules, body.lang);
    out.len()
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
    let card_rules = g.rules();
    let titles = |ids: &mut dyn Iterator<Item = (&str, Severity)>| {
        ids.map(|(id, sev)| {
            let color = ["#555", "#b36b00", "#b00020"][sev_index(sev)];
            format!(
                "<strong>{}</strong> <span style=\"color:{color}\">({})</span>",
                h(rule_title(rules, id, lang).trim()),
                html_escape(l.severity[sev_index(sev)])
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
    };
    row(out, l.rules, titles(&mut card_rules.iter().copied()));
    out.push_str("</table>\n");
    for q in g.quotes() {
        let it = q[0];
        let top = q.iter().map(|i| i.severity).max().unwrap_or(it.severity);
        let color = ["#555", "#b36b00", "#b00020"][sev_index(top)];
        let place = match sha(it) {
            Some(sha) => format!(
                "{} <span style=\"font-family:monospace;font-size:12px;color:#777\">sha256&nbsp;{}</span>",
                html_escape(&found_in(it, l)),
                html_escape(sha)
            ),
            None => html_escape(&found_in(it, l)),
        };
        let _ = writeln!(
            out,
            "<div style=\"margin:10px 0 0 8px;padding-left:10px;border-left:3px solid {color}\">\n\
             <p style=\"margin:2px 0;color:#555;font-size:14px\">{}: {place}</p>",
            html_escape(l.found_in),
        );
        if card_rules.len() > 1 {
            let mut ids = super::distinct_rules(q.iter().copied()).into_iter();
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0;font-size:14px\">{}: {}</p>",
                html_escape(l.found_by),
                titles(&mut ids)
            );
        }
        let mut prices: Vec<(bool, String, Option<String>)> = Vec::new();
        for i in &q {
            if let Some((priced, p)) = price_line(lang, i)
                && !prices.iter().any(|(_, x, _)| *x == p)
            {
                prices.push((priced, p, quota_source(lang, i)));
            }
        }
        for (priced, p, src) in prices {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0\">{}: <strong>{}</strong></p>",
                html_escape(if priced { l.price } else { l.quota }),
                html_escape(&p)
            );
            if let Some(src) = src {
                let _ = writeln!(
                    out,
                    "<p style=\"margin:0 0 2px;color:#555;font-size:13px\">{}: {}</p>",
                    html_escape(l.count_from),
                    html_escape(&src)
                );
            }
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
        if q.iter().any(|i| i.by_ocr) {
            let _ = writeln!(
                out,
                "<p style=\"margin:0 0 4px;color:#8a5a00;font-size:13px\">{}</p>",
                html_escape(l.by_ocr)
            );
        }
        if q.iter().all(|i| i.retracted) {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0;color:#b00020\">{}</p>",
                html_escape(l.retracted)
            );
        }
        let mut reasons: Vec<&String> = Vec::new();
        for r in q.iter().flat_map(|i| &i.reasons) {
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
        for r in reasons {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0;color:#555;font-size:13px\">{}</p>",
                h(r.trim())
            );
        }
        out.push_str("</div>\n");
    }
    let whys: Vec<(&str, &str)> = card_rules
        .iter()
        .filter_map(|(id, _)| {
            let why = rules.get(*id).map(|r| r.why_in(lang).trim())?;
            (!why.is_empty()).then(|| (rule_title(rules, id, lang), why))
        })
        .collect();
    match whys.as_slice() {
        [] => {}
        [(_, why)] => {
            let _ = writeln!(
                out,
                "<p style=\"margin:8px 0 2px\"><em>{}:</em> {}</p>",
                html_escape(l.why),
                h(why)
            );
        }
        many => {
            let _ = writeln!(
                out,
                "<p style=\"margin:8px 0 2px\"><em>{}:</em></p>\n<ul style=\"margin:0\">",
                html_escape(l.why)
            );
            for (title, why) in many {
                let _ = writeln!(
                    out,
                    "<li><strong>{}</strong>: {}</li>",
                    h(title.trim()),
                    h(why)
                );
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</div>\n");
}

/// The size of a notice's line in the HTML part (bytes), for the budget.
pub(super) fn brief_size(g: &NoticeGroup<'_>, lang: Language) -> usize {
    let mut out = String::new();
    brief_html(&mut out, g, lang);
    out.len()
}

/// A notice listed on one line past the budget: its title linked, agency, amount.
fn brief_html(out: &mut String, g: &NoticeGroup<'_>, lang: Language) {
    let l = labels(lang);
    let first = g.items[0];
    let title = html_escape(&header_text(&first.title, 160));
    let title = match first.url.as_deref().and_then(safe_url) {
        Some(u) => format!("<a href=\"{}\">{title}</a>", html_escape(&u)),
        None => title,
    };
    let mut parts = vec![format!(
        "{title} ({})",
        html_escape(l.severity[sev_index(g.top)])
    )];
    if let Some(a) = first.agency_name.as_deref().map(|a| header_text(a, 80)) {
        parts.push(html_escape(&a));
    }
    if let Some(m) = first
        .notice_amount
        .and_then(|a| money(a, first.currency.as_deref()))
    {
        parts.push(html_escape(&m).replace(' ', "&nbsp;"));
    }
    let _ = writeln!(out, "<li>{}</li>", parts.join(" — "));
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
        let _ = writeln!(
            out,
            "<li>{}</li>",
            html_escape(&event_line(lang, ev, c.currency.as_deref()))
        );
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
