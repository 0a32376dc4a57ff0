//! The plain-text part of a digest: one numbered entry a notice, its findings under it,
//! the matched words in `**bold**`.
//!
//! What this module must never do: write untrusted text that was not cleaned (no control
//! or bidi-override character, one-line fields capped), or a link as a link that is not
//! an absolute http(s) URL.

use super::escape::{clean_inline, evidence_parts, header_text, safe_url, url_text};
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

/// The plain-text part: the intro, the changed notices, the sections, the footer.
pub(super) fn text_part(body: &Body<'_>) -> String {
    let (l, lang, rules, intro) = (labels(body.lang), body.lang, body.rules, body.intro);
    let changes = body.changes;
    let mut text = String::new();
    let _ = writeln!(text, "{intro}\n");
    let mut number = 0;
    if !changes.is_empty() {
        let _ = writeln!(
            text,
            "== {} ({}) ==\n",
            l.changed.to_uppercase(),
            changes.len()
        );
        for c in changes {
            number += 1;
            changed_text(&mut text, number, c, lang);
        }
    }
    for (sev, in_section) in body.sections() {
        let heading = sev.map_or(l.planned, |sev| l.sections[sev_index(sev)]);
        let _ = writeln!(
            text,
            "== {} ({}) ==\n",
            heading.to_uppercase(),
            in_section.len()
        );
        for g in in_section {
            number += 1;
            notice_text(&mut text, number, g, rules, lang);
            card_page(&mut text, (body.page)(g.items[0].notice_id), lang);
        }
    }
    super::watch::text_section(&mut text, body.watches, &mut number, lang);
    let _ = writeln!(text, "--\n{}", l.footer);
    text
}

fn notice_text(
    out: &mut String,
    number: usize,
    g: &NoticeGroup<'_>,
    rules: &HashMap<String, RuleText>,
    lang: Language,
) {
    let l = labels(lang);
    let first = g.items[0];
    let _ = writeln!(
        out,
        "{number}. {}",
        header_text(&first.title, MAX_TITLE_CHARS)
    );
    if let Some(a) = agency_line(first, l) {
        let _ = writeln!(out, "   {}: {a}", l.agency);
    }
    if let Some(m) = method_line(first) {
        let _ = writeln!(out, "   {}: {m}", l.method);
    }
    if let Some(s) = supplier_line(first, l) {
        let _ = writeln!(out, "   {}: {s}", l.supplier);
    }
    if let Some((label, p)) = plan_line(first, l) {
        let _ = writeln!(out, "   {label}: {p}");
    }
    if let Some(m) = first
        .notice_amount
        .and_then(|a| money(a, first.currency.as_deref()))
    {
        let _ = writeln!(out, "   {}: {m}", l.amount);
    }
    if let Some(d) = deadline_line(lang, first) {
        let _ = writeln!(out, "   {}: {d}", l.deadline);
    }
    if let Some(n) = first.notice_number.as_deref() {
        let _ = writeln!(out, "   {}: {}", l.notice, header_text(n, MAX_FIELD_CHARS));
    }
    match first.url.as_deref().and_then(safe_url) {
        Some(u) => {
            let _ = writeln!(out, "   {}: {u}", l.link);
        }
        None => {
            if let Some(u) = first.url.as_deref() {
                let _ = writeln!(out, "   {}: {}", l.link, url_text(u));
            }
        }
    }
    for it in &g.items {
        let _ = writeln!(
            out,
            "\n   * {} ({})",
            clean_inline(rule_title(rules, &it.rule_id)).trim(),
            l.severity[sev_index(it.severity)]
        );
        let _ = writeln!(out, "     {}: {}", l.found_in, found_in(it, l));
        if let Some((priced, p)) = price_line(lang, it) {
            let _ = writeln!(out, "     {}: {p}", if priced { l.price } else { l.quota });
        }
        let (a, m, b) = evidence_parts(it);
        let label = if it.by_ocr {
            format!("{} ({})", l.evidence, l.by_ocr)
        } else {
            l.evidence.to_string()
        };
        if m.is_empty() {
            let _ = writeln!(out, "     {label}: \"{}\"", a.trim());
        } else {
            let _ = writeln!(
                out,
                "     {label}: \"{}**{}**{}\"",
                a.trim_start(),
                m,
                b.trim_end()
            );
        }
        if it.retracted {
            let _ = writeln!(out, "     ({})", l.retracted);
        }
        if let Some(why) = rules
            .get(&it.rule_id)
            .map(|r| clean_inline(&r.why).trim().to_string())
            .filter(|w| !w.is_empty())
        {
            let _ = writeln!(out, "     {}: {why}", l.why);
        }
        for r in &it.reasons {
            let _ = writeln!(out, "     {}", clean_inline(r).trim());
        }
    }
    out.push('\n');
}

fn changed_text(out: &mut String, number: usize, c: &ChangeItem, lang: Language) {
    let l = labels(lang);
    let _ = writeln!(out, "{number}. {}", header_text(&c.title, MAX_TITLE_CHARS));
    if let Some(a) = c.agency_name.as_deref() {
        let _ = writeln!(out, "   {}: {}", l.agency, header_text(a, MAX_AGENCY_CHARS));
    }
    if let Some(n) = c.notice_number.as_deref() {
        let _ = writeln!(out, "   {}: {}", l.notice, header_text(n, MAX_FIELD_CHARS));
    }
    if let Some(u) = c.url.as_deref() {
        let shown = safe_url(u).unwrap_or_else(|| url_text(u));
        let _ = writeln!(out, "   {}: {shown}", l.link);
    }
    for ev in &c.events {
        let _ = writeln!(out, "   * {}", event_line(lang, ev));
    }
    out.push('\n');
}

/// The card's link to the newsroom's web page (`[serve] public_url`), as its last line.
fn card_page(out: &mut String, page: Option<String>, lang: Language) {
    if let Some(p) = page.as_deref().and_then(safe_url) {
        // The card ends with an empty line: the link goes before it.
        if out.ends_with("\n\n") {
            out.pop();
        }
        let _ = writeln!(out, "   {}: {p}\n", labels(lang).page);
    }
}
