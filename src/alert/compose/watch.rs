//! The watchlist section ("On your watchlist"): the new and changed notices that matched a
//! `[[watch]]`, one entry a notice (with the watches it is on), in every channel's form:
//! the digest's text and HTML parts, a Telegram block, a webhook object, an Atom entry.
//!
//! What this module must never do: put a piece of notice text (or a watch's name, which a
//! reporter typed) unescaped into HTML, or make a link of anything but an http(s) URL.

use super::channels::{Piece, fit, title_html};
use super::escape::{clean_inline, h, header_text, html_escape, safe_url, url_text};
use super::i18n::{deadline_text, labels, money};
use super::{MAX_AGENCY_CHARS, MAX_FIELD_CHARS, MAX_TITLE_CHARS};
use crate::config::Language;
use crate::store::{WatchEvent, WatchItem};
use serde_json::json;
use std::fmt::Write as _;

/// Longest watch name shown.
const MAX_WATCH_CHARS: usize = 100;
/// Most change lines shown for one notice.
const MAX_CHANGES: usize = 8;

/// One notice on the watchlist: its alerts (one a watch it matched).
pub(super) struct WatchGroup<'a> {
    pub(super) items: Vec<&'a WatchItem>,
}

impl WatchGroup<'_> {
    fn first(&self) -> &WatchItem {
        self.items[0]
    }
    /// New on the portal unless every watch saw it before.
    fn event(&self) -> WatchEvent {
        if self.items.iter().any(|i| i.event == WatchEvent::New) {
            WatchEvent::New
        } else {
            WatchEvent::Changed
        }
    }
    fn names(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for i in &self.items {
            let n = header_text(&i.watch, MAX_WATCH_CHARS);
            if !names.contains(&n) {
                names.push(n);
            }
        }
        names.join(", ")
    }
    fn changes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.items.iter().flat_map(|i| &i.changes) {
            let c = super::escape::clip(clean_inline(c).trim(), 300, false);
            if !out.contains(&c) {
                out.push(c);
            }
        }
        if out.len() > MAX_CHANGES {
            let more = out.len() - MAX_CHANGES;
            out.truncate(MAX_CHANGES);
            out.push(format!("+{more}"));
        }
        out
    }
    fn alert_ids(&self) -> Vec<i64> {
        self.items.iter().map(|i| i.alert_id).collect()
    }
}

/// The watch alerts (ordered by notice) as one group a notice.
pub(super) fn group(items: &[WatchItem]) -> Vec<WatchGroup<'_>> {
    let mut out: Vec<WatchGroup> = Vec::new();
    for it in items {
        match out.last_mut() {
            Some(g) if g.first().notice_id == it.notice_id => g.items.push(it),
            _ => out.push(WatchGroup { items: vec![it] }),
        }
    }
    out
}

/// The facts shown of a notice, (label, cleaned value), in order.
fn facts(g: &WatchGroup<'_>, lang: Language) -> Vec<(&'static str, String)> {
    let l = labels(lang);
    let w = g.first();
    let mut out = vec![(
        l.watches,
        format!(
            "{} ({})",
            g.names(),
            match g.event() {
                WatchEvent::New => l.watch_new,
                WatchEvent::Changed => l.watch_changed,
            }
        ),
    )];
    let name = w
        .agency_name
        .as_deref()
        .map(|s| header_text(s, MAX_AGENCY_CHARS))
        .filter(|s| !s.is_empty());
    let bin = w
        .agency_bin
        .as_deref()
        .map(|s| header_text(s, MAX_FIELD_CHARS))
        .filter(|s| !s.is_empty());
    match (name, bin) {
        (Some(n), Some(b)) => out.push((l.agency, format!("{n} ({} {b})", l.bin))),
        (Some(n), None) => out.push((l.agency, n)),
        (None, Some(b)) => out.push((l.agency, format!("{} {b}", l.bin))),
        (None, None) => {}
    }
    if let Some(m) = w.amount.and_then(|a| money(a, w.currency.as_deref())) {
        out.push((l.amount, m));
    }
    if let Some(d) = deadline_text(lang, w.deadline_at.as_deref(), w.deadline_local.as_deref()) {
        out.push((l.deadline, d));
    }
    if let Some(n) = w.notice_number.as_deref() {
        out.push((l.notice, header_text(n, MAX_FIELD_CHARS)));
    }
    out
}

fn title(g: &WatchGroup<'_>) -> String {
    header_text(&g.first().title, MAX_TITLE_CHARS)
}

/// The text part's section.
pub(super) fn text_section(
    out: &mut String,
    groups: &[WatchGroup<'_>],
    number: &mut usize,
    lang: Language,
) {
    if groups.is_empty() {
        return;
    }
    let l = labels(lang);
    let _ = writeln!(
        out,
        "== {} ({}) ==\n",
        l.watchlist.to_uppercase(),
        groups.len()
    );
    for g in groups {
        *number += 1;
        let _ = writeln!(out, "{number}. {}", title(g));
        for (k, v) in facts(g, lang) {
            let _ = writeln!(out, "   {k}: {v}");
        }
        if let Some(u) = g.first().url.as_deref() {
            let shown = safe_url(u).unwrap_or_else(|| url_text(u));
            let _ = writeln!(out, "   {}: {shown}", l.link);
        }
        for c in g.changes() {
            let _ = writeln!(out, "   * {c}");
        }
        out.push('\n');
    }
}

/// The HTML part's section.
pub(super) fn html_section(out: &mut String, groups: &[WatchGroup<'_>], lang: Language) {
    if groups.is_empty() {
        return;
    }
    let l = labels(lang);
    let _ = writeln!(
        out,
        "<h2 style=\"color:#1f6f43;border-bottom:2px solid #1f6f43;margin-top:28px\">{} ({})</h2>",
        html_escape(l.watchlist),
        groups.len()
    );
    for g in groups {
        let t = html_escape(&title(g));
        let _ = writeln!(
            out,
            "<div style=\"margin:14px 0;padding:10px 12px;border:1px solid #ddd;border-radius:4px\">"
        );
        match g.first().url.as_deref().and_then(safe_url) {
            Some(u) => {
                let _ = writeln!(
                    out,
                    "<h3 style=\"margin:0 0 6px\"><a href=\"{}\">{t}</a></h3>",
                    html_escape(&u)
                );
            }
            None => {
                let _ = writeln!(out, "<h3 style=\"margin:0 0 6px\">{t}</h3>");
            }
        }
        for (k, v) in facts(g, lang) {
            let _ = writeln!(
                out,
                "<p style=\"margin:2px 0\">{}: {}</p>",
                html_escape(k),
                html_escape(&v)
            );
        }
        let changes = g.changes();
        if !changes.is_empty() {
            out.push_str("<ul>\n");
            for c in changes {
                let _ = writeln!(out, "<li>{}</li>", html_escape(&c));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</div>\n");
    }
}

/// The channels' pieces of the watchlist: one a notice. `page` gives the newsroom's page
/// of a notice, when there is one.
pub(super) fn pieces(
    items: &[WatchItem],
    lang: Language,
    page: &dyn Fn(i64) -> Option<String>,
) -> Vec<Piece> {
    let l = labels(lang);
    group(items)
        .iter()
        .map(|g| {
            let w = g.first();
            let t = title(g);
            let link = w.url.as_deref().and_then(safe_url);
            let page_link = page(w.notice_id).as_deref().and_then(safe_url);
            let mut html = format!("<b>{}</b>\n", h(l.watchlist));
            let _ = writeln!(html, "{}", title_html(&t, link.as_deref()));
            let facts = facts(g, lang);
            for (k, v) in &facts {
                let _ = writeln!(html, "{}: {}", h(k), h(v));
            }
            let changes = g.changes();
            for c in &changes {
                let _ = writeln!(html, "• {}", h(c));
            }
            if let Some(p) = &page_link {
                let _ = writeln!(html, "<a href=\"{}\">{}</a>", h(p), h(l.page));
            }
            let html = fit(html, || {
                let mut b = format!(
                    "<b>{}</b>\n{}",
                    h(l.watchlist),
                    title_html(&header_text(&t, 200), link.as_deref())
                );
                if let Some(p) = &page_link {
                    let _ = write!(b, "\n<a href=\"{}\">{}</a>", h(p), h(l.page));
                }
                b
            });
            Piece {
                alert_ids: g.alert_ids(),
                json: json!({
                    "kind": "watch",
                    "alert_ids": g.alert_ids(),
                    "notice_id": w.notice_id,
                    "number": w.notice_number.as_deref().map(|n| header_text(n, MAX_FIELD_CHARS)),
                    "title": t,
                    "url": link,
                    "page_url": page_link,
                    "source": clean_inline(&w.source),
                    "agency": {
                        "name": w.agency_name.as_deref().map(|a| header_text(a, MAX_AGENCY_CHARS)),
                        "bin": w.agency_bin.as_deref().map(|b| header_text(b, MAX_FIELD_CHARS)),
                    },
                    "amount": w.amount,
                    "currency": w.currency.as_deref().map(|c| header_text(c, 10)),
                    "deadline_at": w.deadline_at,
                    "watches": g.items.iter().map(|i| header_text(&i.watch, MAX_WATCH_CHARS)).collect::<Vec<_>>(),
                    "event": match g.event() { WatchEvent::New => "new", WatchEvent::Changed => "changed" },
                    "changes": changes,
                }),
                title: t,
                link,
                html: html.trim_end().to_string(),
                kind: "watch",
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn item(alert_id: i64, notice_id: i64, watch: &str, event: WatchEvent) -> WatchItem {
        WatchItem {
            alert_id,
            notice_id,
            notice_number: Some("900002-1".into()),
            title: "<b>Канцелярские</b> товары".into(),
            agency_name: Some("Акимат".into()),
            agency_bin: Some("990240001234".into()),
            amount: Some(250_000.0),
            currency: Some("KZT".into()),
            deadline_at: None,
            deadline_local: None,
            url: Some("https://goszakup.gov.kz/ru/announce/index/900002".into()),
            source: "goszakup".into(),
            watch: watch.into(),
            event,
            changes: if event == WatchEvent::Changed {
                vec!["amount: 250000 -> 300000".into()]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn one_entry_a_notice_with_its_watches_escaped_and_the_page_link() {
        let items = [
            item(1, 7, "<i>akimat</i>", WatchEvent::New),
            item(2, 7, "smm", WatchEvent::New),
            item(3, 8, "smm", WatchEvent::Changed),
        ];
        let page = |id: i64| Some(format!("https://news.example/tenders/notice/{id}"));
        let p = pieces(&items, Language::En, &page);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].alert_ids, [1, 2]);
        assert!(
            p[0].html.starts_with("<b>On your watchlist</b>"),
            "{}",
            p[0].html
        );
        assert!(
            p[0].html
                .contains("Watch: &lt;i&gt;akimat&lt;/i&gt;, smm (new on the portal)"),
            "{}",
            p[0].html
        );
        assert!(p[0].html.contains("&lt;b&gt;Канцелярские&lt;/b&gt; товары"));
        assert!(
            p[0].html.contains(
                "<a href=\"https://news.example/tenders/notice/7\">On the newsroom&#39;s page</a>"
            ),
            "{}",
            p[0].html
        );
        assert!(p[1].html.contains("(changed on the portal)"));
        assert!(
            p[1].html.contains("• amount: 250000 -&gt; 300000"),
            "{}",
            p[1].html
        );
        assert_eq!(p[1].json["event"], "changed");
        assert_eq!(
            p[1].json["page_url"],
            "https://news.example/tenders/notice/8"
        );
        // No page: no link.
        let p = pieces(&items, Language::Ru, &|_| None);
        assert!(p[0].html.starts_with("<b>В вашем списке наблюдения</b>"));
        assert!(!p[0].html.contains("notice/7"));
        let mut text = String::new();
        let mut n = 0;
        text_section(&mut text, &group(&items), &mut n, Language::Ru);
        assert!(
            text.starts_with("== В ВАШЕМ СПИСКЕ НАБЛЮДЕНИЯ (2) =="),
            "{text}"
        );
        assert_eq!(n, 2);
        // Kazakh: the section, its words, and a whole digest of watch alerts only.
        let p = pieces(&items, Language::Kk, &page);
        assert!(
            p[0].html.starts_with("<b>Сіздің бақылау тізіміңізде</b>"),
            "{}",
            p[0].html
        );
        assert!(p[0].html.contains("(порталда жаңа)"));
        assert!(p[0].html.contains(">Редакция бетінде</a>"));
        assert!(p[1].html.contains("(порталда өзгерді)"));
        let d = super::super::digest(&[], &[], &items, &Default::default(), Language::Kk);
        assert_eq!(d.subject, "tenderscan: бақылау тізіміңізде 2 сатып алу");
        assert!(
            d.text.contains("== СІЗДІҢ БАҚЫЛАУ ТІЗІМІҢІЗДЕ (2) =="),
            "{}",
            d.text
        );
        assert!(
            d.text
                .contains("Тапсырыс беруші: Акимат (БСН 990240001234)"),
            "{}",
            d.text
        );
        assert!(d.html.starts_with("<!DOCTYPE html>\n<html lang=\"kk\">"));
        let en = super::super::digest(&[], &[], &items, &Default::default(), Language::En);
        assert_eq!(en.subject, "tenderscan: 2 tenders on your watchlist");
        assert!(
            en.text
                .starts_with("New and changed tenders on your watchlist")
        );
        let mut html = String::new();
        html_section(&mut html, &group(&items), Language::En);
        assert!(html.contains("On your watchlist (2)</h2>"));
        assert!(!html.contains("<b>Канцелярские"));
    }
}
