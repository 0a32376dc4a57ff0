//! What the other channels carry, one [`Piece`] a notice: a Telegram HTML block (only
//! the tags the Bot API allows: `b`, `i`, `a`, `blockquote`), the JSON object of a
//! webhook body, and the title and link of an Atom entry.
//!
//! What this module must never do: put a piece of notice text into HTML unescaped (every
//! one goes through [`h`]), make a link of anything but an absolute http(s) URL, or make
//! a Telegram block over [`MAX_PIECE_CHARS`] (a notice too long for it is told briefly).

use super::escape::{clean_inline, evidence_parts, h, header_text, safe_url};
use super::i18n::{deadline_line, event_line, labels, money, price_line, quota_source, sev_index};
use super::{
    MAX_AGENCY_CHARS, MAX_FIELD_CHARS, MAX_TITLE_CHARS, agency_line, found_in, group, plan_line,
    rule_title,
};
use crate::alert::RuleText;
use crate::config::Language;
use crate::store::{AlertItem, ChangeItem, WatchItem};
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Telegram's limit for one message (characters after entities are parsed: the HTML
/// source counted here is never shorter).
pub(crate) const TELEGRAM_MAX_CHARS: usize = 4096;
/// Longest block for one notice, leaving room for a digest's heading.
pub(crate) const MAX_PIECE_CHARS: usize = 3800;
/// Evidence shown around the match in a Telegram block (characters each side).
const EVIDENCE_SIDE_CHARS: usize = 160;

/// One notice (its findings, or its changes) for a channel.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub alert_ids: Vec<i64>,
    pub title: String,
    pub link: Option<String>,
    /// Telegram HTML (also the Atom entry's content).
    pub html: String,
    /// The webhook's object for this notice.
    pub json: serde_json::Value,
    /// `match`, `changed` or `watch`.
    pub kind: &'static str,
}

fn side(s: &str, tail: bool) -> String {
    super::escape::clip_words(s, EVIDENCE_SIDE_CHARS, tail)
}

/// The pieces of a digest: changed notices first, then new findings, most severe first,
/// then the watchlist. `page` gives the newsroom's page of a notice, when there is one:
/// each Telegram block links it.
pub(crate) fn pieces(
    items: &[AlertItem],
    changes: &[ChangeItem],
    watches: &[WatchItem],
    rules: &HashMap<String, RuleText>,
    lang: Language,
    page: &dyn Fn(i64) -> Option<String>,
) -> Vec<Piece> {
    let l = labels(lang);
    let mut out = Vec::new();
    for c in changes {
        let title = header_text(&c.title, MAX_TITLE_CHARS);
        let link = c.url.as_deref().and_then(safe_url);
        let mut html = format!("<b>{}</b>\n", h(l.changed));
        let _ = writeln!(html, "{}", title_html(&title, link.as_deref()));
        if let Some(a) = c.agency_name.as_deref() {
            let _ = writeln!(
                html,
                "{}: {}",
                h(l.agency),
                h(&header_text(a, MAX_AGENCY_CHARS))
            );
        }
        let events: Vec<String> = c
            .events
            .iter()
            .map(|e| event_line(lang, e, c.currency.as_deref()))
            .collect();
        for e in &events {
            let _ = writeln!(html, "• {}", h(e));
        }
        let page_link = page(c.notice_id).as_deref().and_then(safe_url);
        if let Some(p) = &page_link {
            let _ = writeln!(html, "{}", page_html(p, l.page));
        }
        let html = fit(html, || {
            let mut b = format!(
                "<b>{}</b>\n{}",
                h(l.changed),
                title_html(&header_text(&title, 200), link.as_deref())
            );
            if let Some(p) = &page_link {
                let _ = write!(b, "\n{}", page_html(p, l.page));
            }
            b
        });
        out.push(Piece {
            alert_ids: vec![c.alert_id],
            json: json!({
                "kind": "changed",
                "alert_ids": [c.alert_id],
                "notice_id": c.notice_id,
                "number": c.notice_number.as_deref().map(|n| header_text(n, MAX_FIELD_CHARS)),
                "title": title,
                "url": link,
                "agency": c.agency_name.as_deref().map(|a| header_text(a, MAX_AGENCY_CHARS)),
                "events": events,
                "page_url": page_link,
            }),
            title,
            link,
            html,
            kind: "changed",
        });
    }
    for g in group(items) {
        let first = g.items[0];
        let title = header_text(&first.title, MAX_TITLE_CHARS);
        let link = first.url.as_deref().and_then(safe_url);
        // A plan point says so where a finding says its severity.
        let sev = if first.planned {
            l.planned.to_uppercase()
        } else {
            l.severity[sev_index(g.top)].to_uppercase()
        };
        let mut html = format!(
            "<b>{}</b> · {}\n",
            h(&sev),
            h(rule_title(rules, &first.rule_id, lang))
        );
        let _ = writeln!(html, "{}", title_html(&title, link.as_deref()));
        if let Some(a) = agency_line(first, l) {
            let _ = writeln!(html, "{}: {}", h(l.agency), h(&a));
        }
        if let Some((label, p)) = plan_line(first, l) {
            let _ = writeln!(html, "{}: {}", h(label), h(&p));
        }
        if let Some(m) = first
            .notice_amount
            .and_then(|a| money(a, first.currency.as_deref()))
        {
            let _ = writeln!(html, "{}: {}", h(l.amount), h(&m));
        }
        if let Some(d) = deadline_line(lang, first) {
            let _ = writeln!(html, "{}: {}", h(l.deadline), h(&d));
        }
        if let Some(n) = first.notice_number.as_deref() {
            let _ = writeln!(
                html,
                "{}: {}",
                h(l.notice),
                h(&header_text(n, MAX_FIELD_CHARS))
            );
        }
        let mut findings = Vec::new();
        // each quoted sentence once, with every rule that found it
        for q in g.quotes() {
            let it = q[0];
            let (a, m, b) = evidence_parts(it);
            let mut titles: Vec<String> = Vec::new();
            for i in &q {
                let t = format!(
                    "<b>{}</b> ({})",
                    h(rule_title(rules, &i.rule_id, lang)),
                    h(l.severity[sev_index(i.severity)])
                );
                if !titles.contains(&t) {
                    titles.push(t);
                }
            }
            let _ = writeln!(
                html,
                "\n{}\n{}: {}",
                titles.join("; "),
                h(l.found_in),
                h(&found_in(it, l))
            );
            let mut prices: Vec<String> = Vec::new();
            for i in &q {
                if let Some((priced, p)) = price_line(lang, i) {
                    let line = format!("{}: {}", h(if priced { l.price } else { l.quota }), h(&p));
                    if !prices.contains(&line) {
                        prices.push(line);
                    }
                }
            }
            for line in prices {
                let _ = writeln!(html, "{line}");
            }
            let _ = writeln!(
                html,
                "<blockquote>{}<b>{}</b>{}</blockquote>",
                h(&side(a.trim_start(), true)),
                h(&m),
                h(&side(b.trim_end(), false))
            );
            if q.iter().any(|i| i.by_ocr) {
                let _ = writeln!(html, "<i>{}</i>", h(l.by_ocr));
            }
            if q.iter().all(|i| i.retracted) {
                let _ = writeln!(html, "<i>{}</i>", h(l.retracted));
            }
            for it in q {
                let (a, m, b) = evidence_parts(it);
                findings.push(json!({
                    "alert_id": it.alert_id,
                    "rule_id": clean_inline(&it.rule_id),
                    "rule_title": clean_inline(rule_title(rules, &it.rule_id, lang)),
                    "severity": it.severity.to_string(),
                    "found_in": found_in(it, l),
                    "evidence": clean_inline(&format!("{a}{m}{b}")),
                    "matched": clean_inline(&m),
                    "by_ocr": it.by_ocr,
                    "retracted": it.retracted,
                    "document_sha256": super::text::sha(it),
                    "quota_source": quota_source(lang, it),
                }));
            }
        }
        let page_link = page(first.notice_id).as_deref().and_then(safe_url);
        if let Some(p) = &page_link {
            let _ = writeln!(html, "\n{}", page_html(p, l.page));
        }
        let brief = || {
            let mut b = format!(
                "<b>{}</b> · {}\n{}",
                h(&sev),
                h(&header_text(rule_title(rules, &first.rule_id, lang), 200)),
                title_html(&header_text(&title, 200), link.as_deref())
            );
            if let Some(p) = &page_link {
                let _ = write!(b, "\n{}", page_html(p, l.page));
            }
            b
        };
        let html = fit(html, brief);
        out.push(Piece {
            alert_ids: g.items.iter().map(|i| i.alert_id).collect(),
            json: json!({
                "kind": "match",
                "alert_ids": g.items.iter().map(|i| i.alert_id).collect::<Vec<_>>(),
                "notice_id": first.notice_id,
                "number": first.notice_number.as_deref().map(|n| header_text(n, MAX_FIELD_CHARS)),
                "title": title,
                "url": link,
                "source": clean_inline(&first.source),
                "agency": {
                    "name": first.agency_name.as_deref().map(|a| header_text(a, MAX_AGENCY_CHARS)),
                    "bin": first.agency_bin.as_deref().map(|b| header_text(b, MAX_FIELD_CHARS)),
                },
                "amount": first.notice_amount,
                "currency": first.currency.as_deref().map(|c| header_text(c, 10)),
                "deadline_at": first.deadline_at,
                "severity": g.top.to_string(),
                "planned": first.planned,
                "findings": findings,
                "page_url": page_link,
            }),
            title,
            link,
            html: html.trim_end().to_string(),
            kind: "match",
        });
    }
    out.extend(super::watch::pieces(watches, lang, page));
    out
}

/// The link to the newsroom's page of a notice (already a checked http(s) URL).
fn page_html(url: &str, label: &str) -> String {
    format!("<a href=\"{}\">{}</a>", h(url), h(label))
}

/// The title as a link when there is a usable one (both already cleaned).
pub(super) fn title_html(title: &str, link: Option<&str>) -> String {
    match link {
        Some(u) => format!("<a href=\"{}\">{}</a>", h(u), h(title)),
        None => format!("<b>{}</b>", h(title)),
    }
}

/// `html`, or the brief form when it is over [`MAX_PIECE_CHARS`].
pub(super) fn fit(html: String, brief: impl FnOnce() -> String) -> String {
    if html.chars().count() <= MAX_PIECE_CHARS {
        html
    } else {
        brief()
    }
}

/// Telegram messages: one a piece, or (`digest`) pieces packed in order into messages
/// under [`TELEGRAM_MAX_CHARS`], a notice never split. Each is (its alerts, its HTML).
pub(crate) fn telegram_messages(pieces: &[Piece], digest: bool) -> Vec<(Vec<i64>, String)> {
    let mut out: Vec<(Vec<i64>, String)> = Vec::new();
    for p in pieces {
        match out.last_mut() {
            Some((ids, text))
                if digest
                    && text.chars().count() + 2 + p.html.chars().count() <= TELEGRAM_MAX_CHARS =>
            {
                text.push_str("\n\n");
                text.push_str(&p.html);
                ids.extend(&p.alert_ids);
            }
            _ => out.push((p.alert_ids.clone(), p.html.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_two_rules_found_is_quoted_once_in_a_telegram_block() {
        let a = super::super::tests::item();
        let mut b = a.clone();
        b.alert_id = 2;
        b.rule_id = "comment-quota".into();
        let p = pieces(&[a, b], &[], &[], &HashMap::new(), Language::Ru, &|_| None);
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].html.matches("<blockquote>").count(),
            1,
            "{}",
            p[0].html
        );
        assert!(
            p[0].html
                .contains("<b>comment-quota</b> (высокая); <b>fake-accounts</b> (высокая)"),
            "{}",
            p[0].html
        );
        // the webhook keeps one finding a rule
        assert_eq!(p[0].json["findings"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn telegram_blocks_escape_notice_text_and_fit_the_limit() {
        let mut it = super::super::tests::item();
        it.title = "<b onclick=x>Tender & \"co\"</b>".into();
        it.url = Some("javascript:alert(1)".into());
        let rules = HashMap::new();
        let p = pieces(&[it.clone()], &[], &[], &rules, Language::En, &|_| None);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].html
                .contains("&lt;b onclick=x&gt;Tender &amp; &quot;co&quot;&lt;/b&gt;"),
            "{}",
            p[0].html
        );
        assert!(!p[0].html.contains("javascript"));
        // A huge title and evidence still fit one message.
        it.title = "Я".repeat(100_000);
        it.evidence = "<".repeat(100_000);
        let p = pieces(&[it], &[], &[], &rules, Language::Ru, &|_| None);
        assert!(p[0].html.chars().count() <= MAX_PIECE_CHARS);
        // Packed into digests under the limit, a notice never split.
        let many: Vec<Piece> = (0..10).map(|_| p[0].clone()).collect();
        for (_, m) in telegram_messages(&many, true) {
            assert!(m.chars().count() <= TELEGRAM_MAX_CHARS);
        }
        assert_eq!(telegram_messages(&many, false).len(), 10);
    }

    #[test]
    fn blocks_link_the_newsrooms_page_when_there_is_one() {
        let it = super::super::tests::item();
        let change = ChangeItem {
            currency: None,
            alert_id: 2,
            notice_id: 5,
            notice_number: None,
            title: "SMM".into(),
            agency_name: None,
            url: None,
            events: vec![],
        };
        let page = |id: i64| Some(format!("https://news.example/t/notice/{id}"));
        let p = pieces(
            std::slice::from_ref(&it),
            std::slice::from_ref(&change),
            &[],
            &HashMap::new(),
            Language::Ru,
            &page,
        );
        assert_eq!(p.len(), 2);
        assert!(
            p[0].html
                .contains("<a href=\"https://news.example/t/notice/5\">На странице редакции</a>"),
            "{}",
            p[0].html
        );
        assert!(
            p[1].html
                .contains("<a href=\"https://news.example/t/notice/1\">На странице редакции</a>"),
            "{}",
            p[1].html
        );
        assert_eq!(p[1].json["page_url"], "https://news.example/t/notice/1");
        // A page that is no http(s) URL is no link.
        let bad = |_: i64| Some("javascript:alert(1)//notice/1".to_string());
        let p = pieces(&[it], &[], &[], &HashMap::new(), Language::En, &bad);
        assert!(!p[0].html.contains("javascript"), "{}", p[0].html);
    }
}
