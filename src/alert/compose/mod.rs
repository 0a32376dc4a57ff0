//! Composing digests: the subject, a plain-text part and an HTML part, with labels in
//! the recipient's language.
//!
//! Every piece of notice text is untrusted (a portal or an agency wrote it): in the text
//! part control and bidi-override characters are removed; in the HTML part everything is
//! escaped and links are only ever http(s); nothing untrusted reaches a header unless
//! [`header_text`] cleaned it. Single-line portal fields (titles, agency names, numbers,
//! links shown as text) are capped at the lengths below, with an ellipsis, so a portal
//! cannot put half a megabyte into a heading. This module does no I/O.
//!
//! Parts: `i18n` (the words in each language), `escape` (cleaning, capping, escaping,
//! links), `text` and `html` (the two parts of a digest); here, the grouping of findings
//! by notice, the subject, and operator messages.

mod channels;
mod escape;
mod html;
mod i18n;
mod text;
mod watch;

pub(crate) use channels::{Piece, pieces, telegram_messages};
pub(crate) use escape::{header_text, split_evidence};
/// The digest's words, for the web page's labels (`tenderscan serve` says the same words).
pub(crate) use i18n::{Labels, labels as digest_labels};

use crate::alert::RuleText;
use crate::config::Language;
use crate::model::Severity;
use crate::store::{AlertItem, ChangeItem, WatchItem};
use escape::{clean_inline, clip};
use i18n::{labels, ru_plural, sev_index, tenders};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Longest notice title shown (characters, the ellipsis included).
const MAX_TITLE_CHARS: usize = 300;
/// Longest agency name shown.
const MAX_AGENCY_CHARS: usize = 200;
/// Longest short field shown: notice and lot numbers, the BIN, a deadline the portal
/// wrote in its own words.
const MAX_FIELD_CHARS: usize = 100;
/// Most suppliers named on one notice (the rest are counted).
const MAX_SUPPLIERS: usize = 5;
/// Longest link shown as text (one that is not a usable http(s) link).
const MAX_URL_TEXT_CHARS: usize = 300;
/// Longest URL made a link; a longer one is shown as (capped) text.
const MAX_LINK_CHARS: usize = 2048;

/// A composed digest.
#[derive(Debug, Clone)]
pub(crate) struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every finding as CSV (file name, content), when the HTML part could not show every
    /// notice in full.
    pub csv: Option<(String, String)>,
}

/// The notices of a digest: each with its findings, most severe first.
struct NoticeGroup<'a> {
    top: Severity,
    items: Vec<&'a AlertItem>,
}

fn group(items: &[AlertItem]) -> Vec<NoticeGroup<'_>> {
    let mut order: Vec<i64> = Vec::new();
    let mut by: HashMap<i64, Vec<&AlertItem>> = HashMap::new();
    for it in items {
        by.entry(it.notice_id)
            .or_insert_with(|| {
                order.push(it.notice_id);
                Vec::new()
            })
            .push(it);
    }
    let mut groups: Vec<NoticeGroup> = order
        .into_iter()
        .map(|id| {
            let mut items = by.remove(&id).unwrap_or_default();
            items.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(&b.rule_id)));
            NoticeGroup {
                top: items.first().map(|i| i.severity).unwrap_or(Severity::Low),
                items,
            }
        })
        .collect();
    // most severe first, then the largest amount (a notice without one last)
    groups.sort_by(|a, b| {
        b.top
            .cmp(&a.top)
            .then(
                b.amount()
                    .unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&a.amount().unwrap_or(f64::NEG_INFINITY)),
            )
            .then(a.items[0].notice_id.cmp(&b.items[0].notice_id))
    });
    groups
}

impl NoticeGroup<'_> {
    fn amount(&self) -> Option<f64> {
        self.items[0].notice_amount.filter(|a| a.is_finite())
    }

    /// The sentences of the card: findings that quote the same words of the same document
    /// share one quote (a sentence is shown once, with every rule that found it).
    fn quotes(&self) -> Vec<Vec<&AlertItem>> {
        let mut out: Vec<Vec<&AlertItem>> = Vec::new();
        for it in &self.items {
            let key = |i: &AlertItem| {
                (
                    i.document.clone(),
                    i.lot_number.clone(),
                    clean_inline(&i.evidence).trim().to_string(),
                )
            };
            let k = key(it);
            match out.iter_mut().find(|q| key(q[0]) == k) {
                Some(q) => q.push(it),
                None => out.push(vec![it]),
            }
        }
        out
    }

    /// Each rule of the card once, most severe first: (rule id, severity).
    fn rules(&self) -> Vec<(&str, Severity)> {
        distinct_rules(self.items.iter().copied())
    }
}

/// Each rule of some findings once, in their order: (rule id, severity).
fn distinct_rules<'a>(items: impl IntoIterator<Item = &'a AlertItem>) -> Vec<(&'a str, Severity)> {
    let mut out: Vec<(&str, Severity)> = Vec::new();
    for it in items {
        if !out.iter().any(|(id, _)| *id == it.rule_id) {
            out.push((it.rule_id.as_str(), it.severity));
        }
    }
    out
}

/// The top of a digest: how many notices, how much money (by currency), which agencies.
fn summary(groups: &[NoticeGroup<'_>], lang: Language) -> Option<String> {
    if groups.is_empty() {
        return None;
    }
    let mut sums: Vec<(String, f64)> = Vec::new();
    let mut agencies: Vec<String> = Vec::new();
    for g in groups {
        let first = g.items[0];
        if let Some(a) = g.amount() {
            let cur = first.currency.clone().unwrap_or_default();
            match sums.iter_mut().find(|(c, _)| *c == cur) {
                Some((_, s)) => *s += a,
                None => sums.push((cur, a)),
            }
        }
        if let Some(a) = first
            .agency_name
            .as_deref()
            .map(|a| header_text(a, 80))
            .filter(|a| !a.is_empty())
            && !agencies.contains(&a)
        {
            agencies.push(a);
        }
    }
    let money: Vec<String> = sums
        .iter()
        .filter_map(|(c, s)| i18n::money(*s, Some(c)))
        .collect();
    let shown = 5;
    let more = agencies.len().saturating_sub(shown);
    let mut names = agencies
        .iter()
        .take(shown)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        let _ = write!(
            names,
            "{}",
            match lang {
                Language::En => format!(" and {more} more"),
                Language::Ru => format!(" и ещё {more}"),
                Language::Kk => format!(" және тағы {more}"),
            }
        );
    }
    let n = tenders(lang, groups.len());
    let mut out = match (lang, money.is_empty()) {
        (Language::En, false) => format!("{n}, {} in all", money.join(" + ")),
        (Language::Ru, false) => format!("{n} на общую сумму {}", money.join(" + ")),
        (Language::Kk, false) => format!("{n}, жалпы сомасы {}", money.join(" + ")),
        (_, true) => n,
    };
    if !agencies.is_empty() {
        let label = match (lang, agencies.len()) {
            (Language::En, 1) => "agency",
            (Language::En, _) => "agencies",
            (Language::Ru, 1) => "заказчик",
            (Language::Ru, _) => "заказчики",
            (Language::Kk, 1) => "тапсырыс беруші",
            (Language::Kk, _) => "тапсырыс берушілер",
        };
        let _ = write!(out, "; {label}: {names}");
    }
    out.push('.');
    Some(out)
}

/// The most bytes of HTML part a digest fills with notice cards: the notices past it are
/// listed one line each (and every finding is in the CSV attachment), so the HTML part
/// stays under Gmail's 102 KB clipping limit.
pub(crate) const HTML_BUDGET: usize = 90_000;

/// The CSV attachment's columns.
const CSV_COLUMNS: [&str; 16] = [
    "notice_number",
    "title",
    "agency",
    "agency_bin",
    "amount",
    "currency",
    "deadline",
    "url",
    "rule_id",
    "rule_title",
    "severity",
    "found_in",
    "document_sha256",
    "quota",
    "quota_source",
    "evidence",
];

/// Every finding of the digest, one row each, as CSV: text cells guarded against
/// spreadsheet formulas (a cell that starts with `=`, `+`, `-` or `@` gets a `'`).
fn csv(groups: &[NoticeGroup<'_>], rules: &HashMap<String, RuleText>, lang: Language) -> String {
    let l = labels(lang);
    let t = |s: &str| crate::safe_text::excel_cell(&clean_inline(s)).into_owned();
    let mut out = crate::report::csv_line(CSV_COLUMNS.iter().map(|c| c.to_string()));
    for g in groups {
        for it in &g.items {
            let quota = i18n::price_line(lang, it)
                .map(|(_, p)| p)
                .unwrap_or_default();
            let (a, m, b) = escape::evidence_parts(it);
            out.push_str(&crate::report::csv_line([
                t(it.notice_number.as_deref().unwrap_or("")),
                t(&it.title),
                t(it.agency_name.as_deref().unwrap_or("")),
                t(it.agency_bin.as_deref().unwrap_or("")),
                it.notice_amount
                    .filter(|a| a.is_finite())
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                t(it.currency.as_deref().unwrap_or("")),
                t(it.deadline_at
                    .as_deref()
                    .or(it.deadline_local.as_deref())
                    .unwrap_or("")),
                t(it.url.as_deref().unwrap_or("")),
                t(&it.rule_id),
                t(rule_title(rules, &it.rule_id, lang)),
                it.severity.to_string(),
                t(&found_in(it, l)),
                t(it.document_sha256.as_deref().unwrap_or("")),
                t(&quota),
                t(&i18n::quota_source(lang, it).unwrap_or_default()),
                t(format!("{a}{m}{b}").trim()),
            ]));
        }
    }
    out
}

/// A rule's title in the recipient's language (English where its file has none; the id
/// where it has no title).
fn rule_title<'a>(rules: &'a HashMap<String, RuleText>, id: &'a str, lang: Language) -> &'a str {
    rules
        .get(id)
        .map(|r| r.title_in(lang))
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(id)
}

/// The subject: the number of tenders, how many share the top severity, and the most
/// common rule among those ("tenderscan: 3 tenders, 1 high: Fake accounts for comments").
fn subject(
    groups: &[NoticeGroup<'_>],
    rules: &HashMap<String, RuleText>,
    lang: Language,
) -> String {
    let l = labels(lang);
    let Some(top) = groups.first().map(|g| g.top) else {
        return "tenderscan".into();
    };
    let at_top: Vec<&NoticeGroup> = groups.iter().filter(|g| g.top == top).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for g in &at_top {
        let mut seen = std::collections::HashSet::new();
        for it in g.items.iter().filter(|i| i.severity == top) {
            if seen.insert(it.rule_id.as_str()) {
                *counts.entry(it.rule_id.as_str()).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let phrase = ranked
        .first()
        .map(|(id, _)| rule_title(rules, id, lang))
        .unwrap_or("");
    let sev = match lang {
        Language::En => l.severity[sev_index(top)].to_string(),
        Language::Ru => format!(
            "{} важности",
            ["низкой", "средней", "высокой"][sev_index(top)]
        ),
        Language::Kk => format!("{} маңыздылық", l.severity[sev_index(top)]),
    };
    header_text(
        &format!(
            "tenderscan: {}, {} {sev}: {phrase}",
            tenders(lang, groups.len()),
            at_top.len()
        ),
        160,
    )
}

/// The subject of a digest with changes: the match subject plus how many changed, or
/// the changes alone.
fn changes_subject(base: Option<String>, n: usize, lang: Language) -> String {
    let part = match lang {
        Language::En => format!("{} changed", tenders(lang, n)),
        Language::Ru => format!(
            "изменения в {n} {}",
            ["закупке", "закупках", "закупках"][ru_plural(n as u64)]
        ),
        Language::Kk => format!("{n} сатып алуда өзгерістер"),
    };
    header_text(
        &match base {
            Some(b) => format!("{b}; {part}"),
            None => format!("tenderscan: {part}"),
        },
        160,
    )
}

/// The subject with the watchlist's count ("...; 2 tenders on your watchlist"), or that alone.
fn watch_subject(base: Option<String>, n: usize, lang: Language) -> String {
    let part = match lang {
        Language::En => format!("{} on your watchlist", tenders(lang, n)),
        Language::Ru => format!("{} в вашем списке наблюдения", tenders(lang, n)),
        Language::Kk => format!("бақылау тізіміңізде {}", tenders(lang, n)),
    };
    header_text(
        &match base {
            Some(b) => format!("{b}; {part}"),
            None => format!("tenderscan: {part}"),
        },
        160,
    )
}

fn agency_line(item: &AlertItem, l: &Labels) -> Option<String> {
    let name = item
        .agency_name
        .as_deref()
        .map(|s| header_text(s, MAX_AGENCY_CHARS))
        .filter(|s| !s.is_empty());
    let bin = item
        .agency_bin
        .as_deref()
        .map(|s| header_text(s, MAX_FIELD_CHARS))
        .filter(|s| !s.is_empty());
    match (name, bin) {
        (Some(n), Some(b)) => Some(format!("{n} ({} {b})", l.bin)),
        (Some(n), None) => Some(n),
        (None, Some(b)) => Some(format!("{} {b}", l.bin)),
        (None, None) => None,
    }
}

/// Who was paid: each supplier as "name (BIN x)", at most [`MAX_SUPPLIERS`] of them.
fn supplier_line(item: &AlertItem, l: &Labels) -> Option<String> {
    let mut parts: Vec<String> = item
        .suppliers
        .iter()
        .take(MAX_SUPPLIERS)
        .filter_map(|(name, id)| {
            let name = name
                .as_deref()
                .map(|s| header_text(s, MAX_AGENCY_CHARS))
                .filter(|s| !s.is_empty());
            let id = Some(header_text(id, MAX_FIELD_CHARS)).filter(|s| !s.is_empty());
            match (name, id) {
                (Some(n), Some(b)) => Some(format!("{n} ({} {b})", l.bin)),
                (Some(n), None) => Some(n),
                (None, Some(b)) => Some(format!("{} {b}", l.bin)),
                (None, None) => None,
            }
        })
        .collect();
    if item.suppliers.len() > MAX_SUPPLIERS {
        parts.push(format!("+{}", item.suppliers.len() - MAX_SUPPLIERS));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// What a plan point was followed by, or which plan points a notice follows: the label and
/// each as "number (link)", cleaned and capped.
fn plan_line(item: &AlertItem, l: &Labels) -> Option<(&'static str, String)> {
    let parts: Vec<String> = item
        .plan_links
        .iter()
        .filter_map(|(number, url)| {
            let n = number
                .as_deref()
                .map(|n| header_text(n, MAX_FIELD_CHARS))
                .filter(|n| !n.is_empty());
            let u = url
                .as_deref()
                .map(|u| escape::safe_url(u).unwrap_or_else(|| escape::url_text(u)));
            match (n, u) {
                (Some(n), Some(u)) => Some(format!("{n} ({u})")),
                (Some(n), None) => Some(n),
                (None, Some(u)) => Some(u),
                (None, None) => None,
            }
        })
        .collect();
    let label = if item.planned {
        l.followed_by
    } else {
        l.plan_point
    };
    (!parts.is_empty()).then(|| (label, parts.join("; ")))
}

/// The procurement method, cleaned and capped.
fn method_line(item: &AlertItem) -> Option<String> {
    item.method
        .as_deref()
        .map(|m| header_text(m, MAX_AGENCY_CHARS))
        .filter(|m| !m.is_empty())
}

fn found_in(item: &AlertItem, l: &Labels) -> String {
    let mut parts = Vec::new();
    if item.lot_number.is_some() || item.lot_title.is_some() {
        let num = item
            .lot_number
            .as_deref()
            .map(|n| header_text(n, MAX_FIELD_CHARS))
            .unwrap_or_default();
        let title = item
            .lot_title
            .as_deref()
            .map(|t| clip(clean_inline(t).trim(), 120, false))
            .unwrap_or_default();
        let lot = match (num.trim(), title.as_str()) {
            ("", t) => format!("{} «{t}»", l.lot),
            (n, "") => format!("{} {n}", l.lot),
            (n, t) => format!("{} {n} «{t}»", l.lot),
        };
        parts.push(lot);
    }
    match item
        .document
        .as_deref()
        .map(|d| clean_inline(d).trim().to_string())
    {
        Some(d) if !d.is_empty() => parts.push(clip(&d, 120, false)),
        _ if parts.is_empty() => parts.push(l.notice_text.to_string()),
        _ => {}
    }
    parts.join(", ")
}

/// What both parts of a digest show, in the order they show it.
struct Body<'a> {
    subject: &'a str,
    intro: &'static str,
    /// How many, how much money, which agencies.
    summary: Option<String>,
    /// The notices shown as full cards (the others one line each).
    full: std::collections::HashSet<i64>,
    groups: &'a [NoticeGroup<'a>],
    changes: &'a [ChangeItem],
    /// The watchlist section's notices.
    watches: &'a [watch::WatchGroup<'a>],
    rules: &'a HashMap<String, RuleText>,
    lang: Language,
    /// `[serve] public_url`: the web page each notice card links to, if any.
    page: &'a dyn Fn(i64) -> Option<String>,
}

impl<'a> Body<'a> {
    /// The notices by the severity of their most severe finding, high first, then the plan
    /// points (`None`: planned, their own section); a section without notices is left out.
    fn sections(&self) -> impl Iterator<Item = (Option<Severity>, Vec<&'a NoticeGroup<'a>>)> {
        let groups = self.groups;
        [
            Some(Severity::High),
            Some(Severity::Medium),
            Some(Severity::Low),
            None,
        ]
        .into_iter()
        .map(move |sev| {
            let in_section: Vec<&NoticeGroup> = groups
                .iter()
                .filter(|g| match sev {
                    Some(sev) => !g.items[0].planned && g.top == sev,
                    None => g.items[0].planned,
                })
                .collect();
            (sev, in_section)
        })
        .filter(|(_, in_section)| !in_section.is_empty())
    }
}

/// Compose one digest for one recipient: new findings by severity, the flagged notices
/// that changed since, and the watchlist (each its own section).
pub(crate) fn digest(
    items: &[AlertItem],
    changes: &[ChangeItem],
    watches: &[WatchItem],
    rules: &HashMap<String, RuleText>,
    lang: Language,
) -> Composed {
    digest_linked(items, changes, watches, rules, lang, &|_| None)
}

/// [`digest`], each notice card linking to `page(notice id)` where that gives a URL (the
/// newsroom's web page, `[serve] public_url`).
pub(crate) fn digest_linked(
    items: &[AlertItem],
    changes: &[ChangeItem],
    watches: &[WatchItem],
    rules: &HashMap<String, RuleText>,
    lang: Language,
    page: &dyn Fn(i64) -> Option<String>,
) -> Composed {
    let l = labels(lang);
    let groups = group(items);
    let watched = watch::group(watches);
    let base = match (groups.is_empty(), changes.is_empty()) {
        (true, true) => None,
        (_, true) => Some(subject(&groups, rules, lang)),
        (true, false) => Some(changes_subject(None, changes.len(), lang)),
        (false, false) => Some(changes_subject(
            Some(subject(&groups, rules, lang)),
            changes.len(),
            lang,
        )),
    };
    let subject = match (base, watched.len()) {
        (Some(b), 0) => b,
        (b, n) => watch_subject(b, n, lang),
    };
    let intro = if !groups.is_empty() {
        l.intro
    } else if !changes.is_empty() {
        l.changed_intro
    } else {
        l.watchlist_intro
    };
    let mut body = Body {
        subject: &subject,
        intro,
        summary: summary(&groups, lang),
        full: std::collections::HashSet::new(),
        groups: &groups,
        changes,
        watches: &watched,
        rules,
        lang,
        page,
    };
    // The HTML with every notice on one line, then cards in place of lines, in order, while
    // the whole stays within the budget.
    body.full.clear();
    let mut used = html::html_part(&body).len();
    let mut over = false;
    let mut full = std::collections::HashSet::new();
    for (_, in_section) in body.sections() {
        for g in in_section {
            let grow = html::card_size(g, &body).saturating_sub(html::brief_size(g, lang));
            if !over && used + grow <= HTML_BUDGET {
                used += grow;
                full.insert(g.items[0].notice_id);
            } else {
                over = true;
            }
        }
    }
    body.full = full;
    let text = text::text_part(&body);
    let html = html::html_part(&body);
    let csv = over.then(|| {
        (
            "tenderscan-digest.csv".to_string(),
            csv(&groups, rules, lang),
        )
    });
    Composed {
        subject,
        text,
        html,
        csv,
    }
}

/// An operator message: (subject, text), in English.
pub(crate) fn operator(payload: &serde_json::Value) -> (String, String) {
    let s = |k: &str| payload.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let subject = header_text(&format!("tenderscan operator: {}", s("summary")), 160);
    let mut text = String::new();
    let _ = writeln!(text, "{}\n", clean_inline(s("summary")).trim());
    for line in s("detail").lines() {
        let _ = writeln!(text, "{}", clean_inline(line).trim_end());
    }
    if !s("action").is_empty() {
        let _ = writeln!(text, "\nWhat to do: {}", clean_inline(s("action")).trim());
    }
    let _ = writeln!(
        text,
        "\n--\nSent once per problem by tenderscan's operator check (`[mail] admin`)."
    );
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::{ChangeEvent, Place, QuotaKind};

    pub(super) fn item() -> AlertItem {
        AlertItem {
            alert_id: 1,
            notice_id: 1,
            notice_number: Some("17163708-1".into()),
            title: "Услуги SMM".into(),
            lot_number: None,
            lot_title: None,
            agency_name: Some("Акимат".into()),
            agency_bin: Some("000140000123".into()),
            notice_amount: Some(1_300_000.0),
            amount: Some(1_300_000.0),
            currency: Some("KZT".into()),
            deadline_at: Some("2026-12-05T18:00:00Z".into()),
            deadline_local: None,
            url: Some("https://goszakup.gov.kz/ru/announce/index/17163708".into()),
            source: "g".into(),
            document: None,
            rule_id: "fake-accounts".into(),
            severity: Severity::High,
            evidence: "создание четырёх фейковых аккаунтов для комментирования".into(),
            evidence_start: 100,
            match_start: 100 + "создание четырёх ".len() as i64,
            match_end: 100 + "создание четырёх фейковых аккаунтов".len() as i64,
            quota_kind: Some(QuotaKind::Accounts),
            quota_count: Some(4),
            quota_period: None,
            retracted: false,
            by_ocr: false,
            method: None,
            suppliers: Vec::new(),
            planned: false,
            plan_links: Vec::new(),
            reasons: Vec::new(),
            document_sha256: None,
            quota_source: Some("text".into()),
            quota_label: None,
            quota_sure: true,
        }
    }

    #[test]
    fn long_portal_fields_are_capped_with_an_ellipsis() {
        // 470 KB of title, with a 2-byte character on every cut point (no panic, whole chars).
        let title: String = "Закупка ".repeat(470_000 / "Закупка ".len() + 1);
        let agency = "Ж".repeat(100_000);
        let mut it = item();
        it.title = title.clone();
        it.agency_name = Some(agency.clone());
        it.agency_bin = Some("9".repeat(10_000));
        it.notice_number = Some("№".repeat(10_000));
        it.url = Some(format!("https://x.kz/{}", "a".repeat(10_000)));
        let change = ChangeItem {
            currency: None,
            alert_id: 2,
            notice_id: 2,
            notice_number: None,
            title: title.clone(),
            agency_name: Some(agency.clone()),
            url: None,
            events: vec![],
        };
        for lang in [Language::En, Language::Ru] {
            let d = digest(
                std::slice::from_ref(&it),
                std::slice::from_ref(&change),
                &[],
                &HashMap::new(),
                lang,
            );
            assert!(d.subject.chars().count() <= 160, "{}", d.subject);
            // 299 characters: 37 times "Закупка " (8 characters) and "Зак", then "…".
            let shown = format!("{}Зак…", "Закупка ".repeat(37));
            assert_eq!(shown.chars().count(), MAX_TITLE_CHARS);
            assert!(
                d.text.contains(&format!("1. {shown}\n")),
                "{}",
                &d.text[..2000]
            );
            assert!(d.text.contains(&format!("2. {shown}\n")));
            assert!(d.html.contains(&format!(">{shown}</h3>")));
            let agency_shown = format!("{}…", "Ж".repeat(199));
            assert!(d.text.contains(&agency_shown));
            assert!(!d.text.contains(&"Ж".repeat(200)));
            assert!(d.html.contains(&agency_shown));
            assert!(!d.html.contains(&"Ж".repeat(200)));
            assert!(d.text.contains(&format!("{}…", "№".repeat(99))));
            assert!(!d.text.contains(&"9".repeat(100)));
            // The over-long link is no link, and its text is capped.
            assert!(
                !d.html.contains("href=\"https://x.kz/aaa"),
                "a 10 KB URL is not a link"
            );
            assert!(
                d.text
                    .contains(&format!("https://x.kz/{}…", "a".repeat(300 - 13 - 1)))
            );
            // Everything else is a few KB: nothing of the 470 KB is left.
            assert!(d.text.len() < 12_000, "{}", d.text.len());
            assert!(d.html.len() < 20_000, "{}", d.html.len());
        }
        // A title at the cap is shown whole, one above is cut.
        let mut at = item();
        at.title = "т".repeat(300);
        let d = digest(
            std::slice::from_ref(&at),
            &[],
            &[],
            &HashMap::new(),
            Language::En,
        );
        assert!(d.text.contains(&format!("1. {}\n", "т".repeat(300))));
        at.title = "т".repeat(301);
        let d = digest(&[at], &[], &[], &HashMap::new(), Language::En);
        assert!(d.text.contains(&format!("1. {}…\n", "т".repeat(299))));
        assert_eq!(header_text("ab cd", 4), "ab…");
    }

    /// A plan point is in the planned section after the severities, with what followed it,
    /// escaped in HTML; an announcement says the plan point it follows.
    #[test]
    fn plan_points_have_their_own_section_and_their_links() {
        let mut plan = item();
        plan.notice_id = 2;
        plan.alert_id = 2;
        plan.planned = true;
        plan.title = "План <SMM>".into();
        plan.plan_links = vec![(
            Some("900001-1".into()),
            Some("https://goszakup.gov.kz/ru/announce/index/900001".into()),
        )];
        let mut anno = item();
        anno.plan_links = vec![(Some("77000123 (2026)".into()), None)];
        let d = digest(
            &[plan.clone(), anno],
            &[],
            &[],
            &HashMap::new(),
            Language::En,
        );
        let high = d.text.find("== HIGH (1) ==").unwrap();
        let planned = d
            .text
            .find("== PLANNED (PLAN POINTS, BEFORE ANY ANNOUNCEMENT) (1) ==");
        assert!(planned.is_some_and(|p| p > high), "{}", d.text);
        assert!(
            d.text.contains(
                "Followed by: 900001-1 (https://goszakup.gov.kz/ru/announce/index/900001)"
            ),
            "{}",
            d.text
        );
        assert!(
            d.text.contains("Planned as plan point: 77000123 (2026)"),
            "{}",
            d.text
        );
        assert!(d.html.contains("План &lt;SMM&gt;"), "{}", d.html);
        let ru = digest(&[plan], &[], &[], &HashMap::new(), Language::Ru);
        assert!(
            ru.text.contains("Последовавшая закупка: 900001-1"),
            "{}",
            ru.text
        );
        assert!(!ru.text.contains("ВЫСОКАЯ"), "{}", ru.text);
    }

    #[test]
    fn digest_sections_subject_and_deadline() {
        let mut rules = HashMap::new();
        rules.insert(
            "fake-accounts".to_string(),
            RuleText {
                title: "Fake accounts for commenting".into(),
                why: "Ordering fake accounts is paying for fake opinion.".into(),
                translations: crate::rules::Translations {
                    title_ru: Some("Фейковые аккаунты для комментирования".into()),
                    why_ru: Some("Заказ фейковых аккаунтов — это оплата фейкового мнения.".into()),
                    ..Default::default()
                },
            },
        );
        let mut low = item();
        low.notice_id = 2;
        low.alert_id = 2;
        low.severity = Severity::Low;
        low.rule_id = "smm".into();
        low.title = "<b>SMM</b>".into();
        let d = digest(&[low, item()], &[], &[], &rules, Language::En);
        assert_eq!(
            d.subject,
            "tenderscan: 2 tenders, 1 high: Fake accounts for commenting"
        );
        let high = d.text.find("== HIGH (1) ==").unwrap();
        let lowpos = d.text.find("== LOW (1) ==").unwrap();
        assert!(high < lowpos, "{}", d.text);
        // 18:00 UTC is 23:00 in Almaty (UTC+5).
        assert!(
            d.text
                .contains("2026-12-05 23:00 Almaty time (2026-12-05 18:00 UTC)"),
            "{}",
            d.text
        );
        assert!(d.text.contains("**фейковых аккаунтов**"), "{}", d.text);
        assert!(d.html.contains("&lt;b&gt;SMM&lt;/b&gt;"));
        assert!(!d.html.contains("<b>SMM"));
        let ru = digest(&[item()], &[], &[], &rules, Language::Ru);
        assert!(
            ru.subject
                .starts_with("tenderscan: 1 закупка, 1 высокой важности")
        );
        assert!(
            ru.text.contains("Заказчик: Акимат (БИН 000140000123)"),
            "{}",
            ru.text
        );
        assert!(ru.text.contains("05.12.2026 23:00 по времени Алматы"));
    }

    #[test]
    fn evidence_read_by_ocr_says_so_in_the_readers_language() {
        let rules = HashMap::new();
        let typed = digest(&[item()], &[], &[], &rules, Language::En);
        assert!(!typed.text.contains("OCR"), "{}", typed.text);
        assert!(!typed.html.contains("OCR"));
        let mut scan = item();
        scan.by_ocr = true;
        let en = digest(&[scan.clone()], &[], &[], &rules, Language::En);
        assert!(
            en.text.contains(
                "Evidence (read by OCR from a scan: check the words against the document): \""
            ),
            "{}",
            en.text
        );
        let quote = en.html.find("<blockquote").unwrap();
        let note = en.html.find("read by OCR from a scan").unwrap();
        assert!(note > quote, "the note follows the quote: {}", en.html);
        let ru = digest(&[scan], &[], &[], &rules, Language::Ru);
        assert!(
            ru.text
                .contains("Цитата (распознано OCR со скана: сверьте слова с документом): \""),
            "{}",
            ru.text
        );
        assert!(ru.html.contains("распознано OCR со скана"));
    }

    #[test]
    fn changed_alerts_have_their_own_section_escaped() {
        let change = ChangeItem {
            currency: None,
            alert_id: 9,
            notice_id: 3,
            notice_number: Some("17163708-1".into()),
            title: "<script>x</script> SMM".into(),
            agency_name: Some("Акимат".into()),
            url: Some("javascript:alert(1)".into()),
            events: vec![
                ChangeEvent::PhraseRemoved {
                    at: "2026-11-28T10:00:00Z".into(),
                    rule_id: "fake-accounts".into(),
                    phrase: "фейковых <b>аккаунтов</b>".into(),
                    evidence: "создание фейковых <b>аккаунтов</b>".into(),
                    place: Place::TechnicalSpecification,
                    document: Some("techspec.docx".into()),
                },
                ChangeEvent::Cancelled {
                    at: "2026-11-29T10:00:00Z".into(),
                    status: Some("Отменено".into()),
                    status_code: None,
                },
            ],
        };
        let d = digest(
            &[],
            std::slice::from_ref(&change),
            &[],
            &HashMap::new(),
            Language::En,
        );
        assert_eq!(d.subject, "tenderscan: 1 tender changed");
        assert!(
            d.text.contains("== CHANGED SINCE YOU WERE TOLD (1) =="),
            "{}",
            d.text
        );
        assert!(d.text.contains(
            "* the phrase 'фейковых <b>аккаунтов</b>' was removed from the technical specification (techspec.docx) on 28 November 2026"
        ), "{}", d.text);
        assert!(
            d.text
                .contains("* cancelled on 29 November 2026 (status: Отменено)"),
            "{}",
            d.text
        );
        assert!(
            !d.html.contains("<script>") && !d.html.contains("<b>аккаунтов"),
            "{}",
            d.html
        );
        assert!(d.html.contains("&lt;script&gt;x&lt;/script&gt; SMM"));
        assert!(!d.html.contains("href=\"javascript"), "{}", d.html);
        let kk = digest(
            &[],
            std::slice::from_ref(&change),
            &[],
            &HashMap::new(),
            Language::Kk,
        );
        assert_eq!(kk.subject, "tenderscan: 1 сатып алуда өзгерістер");
        assert!(
            kk.text.contains("== ХАБАРЛАҒАННАН КЕЙІН ӨЗГЕРДІ (1) =="),
            "{}",
            kk.text
        );
        assert!(kk.text.contains("«фейковых <b>аккаунтов</b>» сөз тіркесі 2026 жылғы 28 қараша техникалық ерекшеліктен (techspec.docx) алынып тасталды"), "{}", kk.text);
        assert!(
            kk.text
                .contains("сатып алудың күші 2026 жылғы 29 қараша жойылды (мәртебесі: Отменено)"),
            "{}",
            kk.text
        );
        let ru = digest(&[item()], &[change], &[], &HashMap::new(), Language::Ru);
        assert!(
            ru.subject.ends_with("; изменения в 1 закупке"),
            "{}",
            ru.subject
        );
        assert!(ru.text.contains("фраза «фейковых <b>аккаунтов</b>» удалена из технической спецификации (techspec.docx) 28 ноября 2026 г."), "{}", ru.text);
        assert!(
            ru.text.contains("== ВЫСОКАЯ ВАЖНОСТЬ (1) =="),
            "{}",
            ru.text
        );
    }

    /// One card a notice: a sentence three rules found is quoted once, every rule named on
    /// the card; notices by severity then amount; a summary on top; the spec file's sha256.
    #[test]
    fn one_card_a_notice_sorted_with_a_summary() {
        let mut rules = HashMap::new();
        for (id, en, ru) in [
            ("fake-accounts", "Fake accounts", "Фейковые аккаунты"),
            ("comment-quota", "Comment quota", "Норма комментариев"),
            ("smm", "SMM", "SMM-услуги"),
        ] {
            rules.insert(
                id.to_string(),
                RuleText {
                    title: en.into(),
                    why: format!("Why {en}."),
                    translations: crate::rules::Translations {
                        title_ru: Some(ru.into()),
                        why_ru: Some(format!("Потому что {ru}.")),
                        ..Default::default()
                    },
                },
            );
        }
        let sha = "ab".repeat(32);
        let mut a = item();
        a.document = Some("techspec.docx".into());
        a.document_sha256 = Some(sha.clone());
        let mut b = a.clone();
        b.alert_id = 2;
        b.rule_id = "comment-quota".into();
        b.severity = Severity::Medium;
        let mut c = a.clone();
        c.alert_id = 3;
        c.rule_id = "smm".into();
        c.severity = Severity::Low;
        // a second high notice with a larger amount, from another agency
        let mut big = item();
        big.alert_id = 4;
        big.notice_id = 7;
        big.title = "Большая закупка".into();
        big.notice_amount = Some(9_000_000.0);
        big.agency_name = Some("Акимат Б".into());
        let d = digest(&[a, b, c, big], &[], &[], &rules, Language::Ru);
        let quote = "создание четырёх **фейковых аккаунтов** для комментирования";
        assert_eq!(d.text.matches(quote).count(), 2, "{}", d.text);
        assert!(
            d.text.contains("Правила: Фейковые аккаунты (высокая); Норма комментариев (средняя); SMM-услуги (низкая)"),
            "{}",
            d.text
        );
        assert!(
            d.text.contains(&format!("techspec.docx (sha256 {sha})")),
            "{}",
            d.text
        );
        assert!(d.html.contains(&sha));
        assert_eq!(d.text.matches("Потому что Фейковые аккаунты.").count(), 2);
        assert!(
            !d.text.contains("Why "),
            "English whys in a Russian digest: {}",
            d.text
        );
        // the larger amount first within the same severity
        let big_at = d.text.find("Большая закупка").unwrap();
        let small_at = d.text.find("Услуги SMM").unwrap();
        assert!(big_at < small_at, "{}", d.text);
        assert!(
            d.text
                .contains("2 закупки на общую сумму 10 300 000 KZT; заказчики: Акимат Б, Акимат."),
            "{}",
            d.text
        );
        assert!(d.csv.is_none(), "small digests have no attachment");
        let en = digest(&[item()], &[], &[], &rules, Language::En);
        assert!(
            en.text
                .contains("1 tender, 1 300 000 KZT in all; agency: Акимат."),
            "{}",
            en.text
        );
        assert!(en.text.contains("Why this matters: Why Fake accounts."));
        let kk = digest(&[item()], &[], &[], &rules, Language::Kk);
        // no Kazakh translation here: the English fallback
        assert!(kk.text.contains("Fake accounts (жоғары)"), "{}", kk.text);
        assert!(
            kk.text
                .contains("1 сатып алу, жалпы сомасы 1 300 000 KZT; тапсырыс беруші: Акимат."),
            "{}",
            kk.text
        );
        assert!(
            kk.text.contains("05.12.2026 23:00 Алматы уақытымен"),
            "{}",
            kk.text
        );
        assert!(kk.html.contains("<html lang=\"kk\">"));
    }

    /// Past the budget the notices are listed one line each, the HTML stays under Gmail's
    /// 102 KB clipping limit, and every finding is in the CSV, formulas made text.
    #[test]
    fn large_digests_stay_under_the_clipping_limit_with_a_csv() {
        let mut items = Vec::new();
        for n in 0..100 {
            let mut it = item();
            it.alert_id = n;
            it.notice_id = n;
            it.title = format!(
                "=HYPERLINK(\"http://evil\") Закупка {n} {}",
                "длинное название ".repeat(15)
            );
            it.evidence = format!(
                "{} фейковых аккаунтов {}",
                "слово ".repeat(60),
                "ещё ".repeat(60)
            );
            it.evidence_start = 0;
            it.match_start = "слово ".len() as i64 * 60 + 1;
            it.match_end = it.match_start + "фейковых аккаунтов".len() as i64;
            items.push(it);
        }
        let d = digest(&items, &[], &[], &HashMap::new(), Language::En);
        assert!(d.html.len() < 102 * 1024, "{}", d.html.len());
        assert!(
            d.html.contains("More notices, one line each"),
            "the budget was not reached"
        );
        let (name, csv) = d.csv.expect("a CSV attachment");
        assert_eq!(name, "tenderscan-digest.csv");
        assert_eq!(csv.lines().count(), 101, "a header and one row a finding");
        assert!(csv.starts_with("notice_number,title,"));
        assert!(
            csv.contains("\"'=HYPERLINK(\"\"http://evil"),
            "{}",
            &csv[..600]
        );
        assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"));
        // every notice is in the text part, the ones past the budget on one line
        for n in [0, 99] {
            assert!(d.text.contains(&format!("Закупка {n} ")), "{n}");
        }
    }
}
