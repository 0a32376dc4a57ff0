//! The plain-text part of a digest: one numbered entry a notice, its findings under it,
//! the matched words in `**bold**`.
//!
//! What this module must never do: write untrusted text that was not cleaned (no control
//! or bidi-override character, one-line fields capped), or a link as a link that is not
//! an absolute http(s) URL.

use super::escape::{clean_inline, evidence_parts, header_text, safe_url, url_text};
use super::i18n::{deadline_line, event_line, labels, money, price_line, quota_source, sev_index};
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
    if let Some(sum) = &body.summary {
        let _ = writeln!(text, "{sum}\n");
    }
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
        let (full, rest): (Vec<_>, Vec<_>) = in_section
            .into_iter()
            .partition(|g| body.full.contains(&g.items[0].notice_id));
        for g in full {
            number += 1;
            notice_text(&mut text, number, g, rules, lang);
            card_page(&mut text, (body.page)(g.items[0].notice_id), lang);
        }
        if !rest.is_empty() {
            let _ = writeln!(text, "{}:\n", l.rest);
            for g in rest {
                number += 1;
                let _ = writeln!(text, "{number}. {}", brief_line(g, lang));
            }
            text.push('\n');
        }
    }
    super::watch::text_section(&mut text, body.watches, &mut number, lang);
    let _ = writeln!(text, "--\n{}", l.footer);
    text
}

/// Where a quote was found, with the document's SHA-256 when it is known.
pub(super) fn found_in_sha(it: &crate::store::AlertItem, l: &super::i18n::Labels) -> String {
    let place = found_in(it, l);
    match sha(it) {
        Some(sha) => format!("{place} (sha256 {sha})"),
        None => place,
    }
}

/// The document's SHA-256 as stored: hex digits only, else nothing.
pub(super) fn sha(it: &crate::store::AlertItem) -> Option<&str> {
    it.document_sha256
        .as_deref()
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A notice listed on one line (past the size budget): its title, agency, amount, link.
pub(super) fn brief_line(g: &NoticeGroup<'_>, lang: Language) -> String {
    let l = labels(lang);
    let first = g.items[0];
    let mut parts = vec![format!(
        "{} ({})",
        header_text(&first.title, 160),
        l.severity[sev_index(g.top)]
    )];
    if let Some(a) = first.agency_name.as_deref().map(|a| header_text(a, 80)) {
        parts.push(a);
    }
    if let Some(m) = first
        .notice_amount
        .and_then(|a| money(a, first.currency.as_deref()))
    {
        parts.push(m);
    }
    if let Some(u) = first.url.as_deref().and_then(safe_url) {
        parts.push(u);
    }
    parts.join(" — ")
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
    let card_rules = g.rules();
    let titles = |ids: &mut dyn Iterator<Item = (&str, crate::model::Severity)>| {
        ids.map(|(id, sev)| {
            format!(
                "{} ({})",
                clean_inline(rule_title(rules, id, lang)).trim(),
                l.severity[sev_index(sev)]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
    };
    let _ = writeln!(
        out,
        "   {}: {}",
        l.rules,
        titles(&mut card_rules.iter().copied())
    );
    let quotes = g.quotes();
    for q in &quotes {
        let it = q[0];
        let _ = writeln!(out, "\n   * {}: {}", l.found_in, found_in_sha(it, l));
        if card_rules.len() > 1 {
            let mut ids = super::distinct_rules(q.iter().copied()).into_iter();
            let _ = writeln!(out, "     {}: {}", l.found_by, titles(&mut ids));
        }
        let mut prices: Vec<(bool, String, Option<String>)> = Vec::new();
        for i in q {
            if let Some((priced, p)) = price_line(lang, i) {
                let src = quota_source(lang, i);
                if !prices.iter().any(|(_, x, _)| *x == p) {
                    prices.push((priced, p, src));
                }
            }
        }
        for (priced, p, src) in prices {
            let _ = writeln!(out, "     {}: {p}", if priced { l.price } else { l.quota });
            if let Some(src) = src {
                let _ = writeln!(out, "     {}: {src}", l.count_from);
            }
        }
        let (a, m, b) = evidence_parts(it);
        let label = if q.iter().any(|i| i.by_ocr) {
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
        if q.iter().all(|i| i.retracted) {
            let _ = writeln!(out, "     ({})", l.retracted);
        }
        let mut reasons: Vec<&String> = Vec::new();
        for r in q.iter().flat_map(|i| &i.reasons) {
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
        for r in reasons {
            let _ = writeln!(out, "     {}", clean_inline(r).trim());
        }
    }
    let whys: Vec<(String, String)> = card_rules
        .iter()
        .filter_map(|(id, _)| {
            let why = rules
                .get(*id)
                .map(|r| clean_inline(r.why_in(lang)).trim().to_string())?;
            (!why.is_empty()).then(|| {
                (
                    clean_inline(rule_title(rules, id, lang)).trim().to_string(),
                    why,
                )
            })
        })
        .collect();
    match whys.as_slice() {
        [] => {}
        [(_, why)] => {
            let _ = writeln!(out, "\n   {}: {why}", l.why);
        }
        many => {
            let _ = writeln!(out, "\n   {}:", l.why);
            for (title, why) in many {
                let _ = writeln!(out, "   - {title}: {why}");
            }
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
        let _ = writeln!(out, "   * {}", event_line(lang, ev, c.currency.as_deref()));
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
