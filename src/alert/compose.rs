//! Composing digests: the subject, a plain-text part and an HTML part, with labels in
//! the recipient's language.
//!
//! Every piece of notice text is untrusted (a portal or an agency wrote it): in the text
//! part control and bidi-override characters are removed; in the HTML part everything is
//! escaped and links are only ever http(s); nothing untrusted reaches a header unless
//! [`header_text`] cleaned it. Single-line portal fields (titles, agency names, numbers,
//! links shown as text) are capped at the lengths below, with an ellipsis, so a portal
//! cannot put half a megabyte into a heading. This module does no I/O.

use super::RuleText;
use crate::config::Language;
use crate::model::Severity;
use crate::states::{ChangeEvent, Period, Place, QuotaKind};
use crate::store::{AlertItem, ChangeItem};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Longest notice title shown (characters, the ellipsis included).
pub(crate) const MAX_TITLE_CHARS: usize = 300;
/// Longest agency name shown.
pub(crate) const MAX_AGENCY_CHARS: usize = 200;
/// Longest short field shown: notice and lot numbers, the BIN, a deadline the portal
/// wrote in its own words.
pub(crate) const MAX_FIELD_CHARS: usize = 100;
/// Longest link shown as text (one that is not a usable http(s) link).
pub(crate) const MAX_URL_TEXT_CHARS: usize = 300;
/// Longest URL made a link; a longer one is shown as (capped) text.
pub(crate) const MAX_LINK_CHARS: usize = 2048;

/// A composed digest.
#[derive(Debug, Clone)]
pub(crate) struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Labels in one language.
struct Labels {
    lang: &'static str,
    intro: &'static str,
    sections: [&'static str; 3],
    severity: [&'static str; 3],
    agency: &'static str,
    bin: &'static str,
    amount: &'static str,
    deadline: &'static str,
    almaty: &'static str,
    notice: &'static str,
    link: &'static str,
    lot: &'static str,
    found_in: &'static str,
    notice_text: &'static str,
    price: &'static str,
    quota: &'static str,
    evidence: &'static str,
    /// Said next to evidence read by OCR from a scan.
    by_ocr: &'static str,
    why: &'static str,
    retracted: &'static str,
    changed: &'static str,
    changed_intro: &'static str,
    footer: &'static str,
}

const EN: Labels = Labels {
    lang: "en",
    intro: "tenderscan found public tenders that may order fake online opinion. Each entry quotes the words that matched.",
    sections: ["Low", "Medium", "High"],
    severity: ["low", "medium", "high"],
    agency: "Agency",
    bin: "BIN",
    amount: "Amount",
    deadline: "Deadline",
    almaty: "Almaty time",
    notice: "Notice",
    link: "On the portal",
    lot: "Lot",
    found_in: "Found in",
    notice_text: "the notice text",
    price: "Price",
    quota: "Quota",
    evidence: "Evidence",
    by_ocr: "read by OCR from a scan: check the words against the document",
    why: "Why this matters",
    retracted: "No longer in the notice: it was edited after this was found.",
    changed: "Changed since you were told",
    changed_intro: "Tenders tenderscan told you about have changed on the portal. The old versions are kept as evidence (`tenderscan show NOTICE`).",
    footer: "Sent by tenderscan. A match is a lead, not proof: read the tender documents before you publish.",
};

const RU: Labels = Labels {
    lang: "ru",
    intro: "tenderscan нашёл госзакупки, в которых может заказываться фейковое мнение в интернете. У каждой записи процитированы совпавшие слова.",
    sections: ["Низкая важность", "Средняя важность", "Высокая важность"],
    severity: ["низкая", "средняя", "высокая"],
    agency: "Заказчик",
    bin: "БИН",
    amount: "Сумма",
    deadline: "Приём заявок до",
    almaty: "по времени Алматы",
    notice: "Объявление",
    link: "На портале",
    lot: "Лот",
    found_in: "Где найдено",
    notice_text: "текст объявления",
    price: "Цена",
    quota: "Объём",
    evidence: "Цитата",
    by_ocr: "распознано OCR со скана: сверьте слова с документом",
    why: "Почему это важно",
    retracted: "В текущей версии объявления этого уже нет: текст изменили после того, как это было найдено.",
    changed: "Изменилось после оповещения",
    changed_intro: "Закупки, о которых tenderscan сообщал, изменились на портале. Прежние версии сохранены как доказательства (`tenderscan show NOTICE`).",
    footer: "Отправлено tenderscan. Совпадение — повод проверить, а не доказательство: прочитайте документацию закупки перед публикацией.",
};

fn labels(lang: Language) -> &'static Labels {
    match lang {
        Language::En => &EN,
        Language::Ru => &RU,
    }
}

fn sev_index(s: Severity) -> usize {
    match s {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
    }
}

/// Russian plural form: 0 one (1, 21), 1 few (2-4, 22-24), 2 many (5-20, 25...).
fn ru_plural(n: u64) -> usize {
    let (d, h) = (n % 10, n % 100);
    if d == 1 && h != 11 {
        0
    } else if (2..=4).contains(&d) && !(12..=14).contains(&h) {
        1
    } else {
        2
    }
}

fn tenders(lang: Language, n: usize) -> String {
    match lang {
        Language::En => format!("{n} {}", if n == 1 { "tender" } else { "tenders" }),
        Language::Ru => format!(
            "{n} {}",
            ["закупка", "закупки", "закупок"][ru_plural(n as u64)]
        ),
    }
}

/// Quota unit names: (one, few, many, "per one").
fn unit_names(lang: Language, kind: QuotaKind) -> [&'static str; 4] {
    use QuotaKind::*;
    match (lang, kind) {
        (Language::En, Accounts) => ["account", "accounts", "accounts", "account"],
        (Language::En, Comments) => ["comment", "comments", "comments", "comment"],
        (Language::En, Posts) => ["post", "posts", "posts", "post"],
        (Language::En, Followers) => ["follower", "followers", "followers", "follower"],
        (Language::En, Likes) => ["like", "likes", "likes", "like"],
        (Language::Ru, Accounts) => ["аккаунт", "аккаунта", "аккаунтов", "аккаунт"],
        (Language::Ru, Comments) => ["комментарий", "комментария", "комментариев", "комментарий"],
        (Language::Ru, Posts) => ["публикация", "публикации", "публикаций", "публикацию"],
        (Language::Ru, Followers) => ["подписчик", "подписчика", "подписчиков", "подписчика"],
        (Language::Ru, Likes) => ["лайк", "лайка", "лайков", "лайк"],
    }
}

/// "4 accounts"; "4" where the kind is not known.
fn count_units(lang: Language, n: i64, kind: Option<QuotaKind>) -> String {
    match kind.map(|k| unit_names(lang, k)) {
        Some(names) => {
            let form = match lang {
                Language::En => usize::from(n != 1),
                Language::Ru => ru_plural(n.unsigned_abs()),
            };
            format!("{n} {}", names[form])
        }
        None => n.to_string(),
    }
}

fn period_phrase(lang: Language, period: Period) -> &'static str {
    match (lang, period) {
        (Language::En, Period::Day) => "per day",
        (Language::En, Period::Week) => "per week",
        (Language::En, Period::Month) => "per month",
        (Language::En, Period::Quarter) => "per quarter",
        (Language::En, Period::Term) => "over the contract term",
        (Language::Ru, Period::Day) => "в день",
        (Language::Ru, Period::Week) => "в неделю",
        (Language::Ru, Period::Month) => "в месяц",
        (Language::Ru, Period::Quarter) => "в квартал",
        (Language::Ru, Period::Term) => "за весь срок договора",
    }
}

fn money(x: f64, currency: Option<&str>) -> Option<String> {
    crate::money::with_currency(x, currency)
}

/// The price line: "1 300 000 KZT for 4 accounts: 325 000 KZT per account", or the
/// quota alone where a price per unit would mislead (a quota per period, no amount).
pub(crate) fn price_line(lang: Language, item: &AlertItem) -> Option<(bool, String)> {
    let count = item.quota_count.filter(|c| *c > 0)?;
    let units = count_units(lang, count, item.quota_kind);
    // a count over the whole term is a total: a price per unit stands, as without a period
    if let Some(p) = item.quota_period.filter(|p| *p != Period::Term) {
        return Some((false, format!("{units} {}", period_phrase(lang, p))));
    }
    let cur = item.currency.as_deref();
    let (Some(total), Some(per)) = (
        item.amount.and_then(|a| money(a, cur)),
        item.amount.and_then(|a| money(a / count as f64, cur)),
    ) else {
        return Some((false, units));
    };
    let one = item.quota_kind.map(|k| unit_names(lang, k)[3].to_string());
    Some((
        true,
        match lang {
            Language::En => format!(
                "{total} for {units}: {per} per {}",
                one.unwrap_or_else(|| "unit".into())
            ),
            Language::Ru => format!(
                "{total} за {units}: {per} за {}",
                one.unwrap_or_else(|| "единицу".into())
            ),
        },
    ))
}

/// The deadline in Almaty time and UTC, or the portal's own string.
fn deadline_line(lang: Language, item: &AlertItem) -> Option<String> {
    let l = labels(lang);
    if let Some(utc) = item
        .deadline_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
    {
        let local = utc.with_timezone(&chrono_tz::Asia::Almaty);
        let shown = match lang {
            Language::En => local.format("%Y-%m-%d %H:%M").to_string(),
            Language::Ru => local.format("%d.%m.%Y %H:%M").to_string(),
        };
        return Some(format!(
            "{shown} {} ({} UTC)",
            l.almaty,
            utc.format("%Y-%m-%d %H:%M")
        ));
    }
    item.deadline_local
        .as_deref()
        .map(|s| header_text(s, MAX_FIELD_CHARS))
        .filter(|s| !s.is_empty())
}

/// Remove control and bidi-override characters (replaced by a space) and collapse runs
/// of whitespace into one space. Untrusted text goes through this before display.
pub(crate) fn clean_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let bad = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
        if bad || c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// Text for a header: cleaned (no CR, LF or other control characters) and shortened.
pub(crate) fn header_text(s: &str, max_chars: usize) -> String {
    let t = clean_inline(s);
    let t = t.trim();
    if t.chars().count() <= max_chars {
        t.to_string()
    } else {
        let mut cut: String = t.chars().take(max_chars.saturating_sub(1)).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        cut
    }
}

/// Escape text for HTML element content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn h(s: &str) -> String {
    html_escape(&clean_inline(s))
}

/// A link target, only when it is an absolute http(s) URL.
/// (A URL longer than [`MAX_LINK_CHARS`] is no link either.)
pub(crate) fn safe_url(u: &str) -> Option<String> {
    if u.len() > 4 * MAX_LINK_CHARS {
        return None;
    }
    let parsed = url::Url::parse(u.trim()).ok()?;
    (matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some()
        && parsed.as_str().len() <= MAX_LINK_CHARS)
        .then(|| parsed.to_string())
}

/// A link that is not usable, as text.
fn url_text(u: &str) -> String {
    header_text(u, MAX_URL_TEXT_CHARS)
}

/// Split untrusted evidence into (before, matched, after) from the stored byte offsets.
/// Offsets out of range give `None`; offsets inside a character widen to whole characters.
pub(crate) fn split_evidence(
    evidence: &str,
    evidence_start: i64,
    match_start: i64,
    match_end: i64,
) -> Option<(&str, &str, &str)> {
    let lo = usize::try_from(match_start.checked_sub(evidence_start)?).ok()?;
    let hi = usize::try_from(match_end.checked_sub(evidence_start)?).ok()?;
    if lo >= hi || hi > evidence.len() {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while !evidence.is_char_boundary(lo) {
        lo -= 1;
    }
    while !evidence.is_char_boundary(hi) {
        hi += 1;
    }
    Some((&evidence[..lo], &evidence[lo..hi], &evidence[hi..]))
}

/// At most `n` characters of `s`, from its end (`tail`) or its start, with an ellipsis.
fn clip(s: &str, n: usize, tail: bool) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_string();
    }
    if tail {
        let skip = count - n;
        format!("…{}", s.chars().skip(skip).collect::<String>())
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// The evidence as (before, matched, after), cleaned and clipped; without a usable span
/// the whole evidence is `before`.
fn evidence_parts(item: &AlertItem) -> (String, String, String) {
    match split_evidence(
        &item.evidence,
        item.evidence_start,
        item.match_start,
        item.match_end,
    ) {
        Some((a, m, b)) => (
            clip(&clean_inline(a), 400, true),
            clip(&clean_inline(m), 300, false),
            clip(&clean_inline(b), 400, false),
        ),
        None => (
            clip(&clean_inline(&item.evidence), 800, false),
            String::new(),
            String::new(),
        ),
    }
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
    groups.sort_by(|a, b| {
        b.top
            .cmp(&a.top)
            .then(a.items[0].notice_id.cmp(&b.items[0].notice_id))
    });
    groups
}

fn rule_title<'a>(rules: &'a HashMap<String, RuleText>, id: &'a str) -> &'a str {
    rules
        .get(id)
        .map(|r| r.title.as_str())
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
        .map(|(id, _)| rule_title(rules, id))
        .unwrap_or("");
    let sev = match lang {
        Language::En => l.severity[sev_index(top)].to_string(),
        Language::Ru => format!(
            "{} важности",
            ["низкой", "средней", "высокой"][sev_index(top)]
        ),
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

/// The day of a stored UTC time ("2026-11-28").
fn day(at: &str) -> String {
    clean_inline(at.get(..10).unwrap_or(at)).trim().to_string()
}

/// One event of a `changed` alert as a sentence, e.g. "the phrase 'фейковых аккаунтов'
/// was removed from the technical specification (techspec.docx) on 2026-11-28".
/// Untrusted parts are cleaned; the caller escapes for HTML.
pub(crate) fn event_line(lang: Language, ev: &ChangeEvent) -> String {
    let s = |v: &str| clip(clean_inline(v).trim(), 200, false);
    let o = |v: &Option<String>| v.as_deref().map(s).unwrap_or_default();
    let on = day(&s(ev.at()));
    let en = lang == Language::En;
    match ev {
        ChangeEvent::PhraseRemoved {
            phrase,
            place,
            document,
            ..
        } => {
            let doc = o(document);
            let doc_part = if doc.is_empty() {
                String::new()
            } else {
                format!(" ({doc})")
            };
            let place = match (place, en) {
                (Place::TechnicalSpecification, true) => {
                    format!("the technical specification{doc_part}")
                }
                (Place::TechnicalSpecification, false) => {
                    format!("технической спецификации{doc_part}")
                }
                (Place::Document, true) => format!("the document{doc_part}"),
                (Place::Document, false) => format!("документа{doc_part}"),
                (Place::Lot, true) => "the lot's text".into(),
                (Place::Lot, false) => "текста лота".into(),
                (Place::Notice, true) => "the notice text".into(),
                (Place::Notice, false) => "текста объявления".into(),
            };
            if en {
                format!(
                    "the phrase '{}' was removed from {place} on {on}",
                    s(phrase)
                )
            } else {
                format!("фраза «{}» удалена из {place} {on}", s(phrase))
            }
        }
        ChangeEvent::Changed {
            version, changes, ..
        } => {
            let mut parts: Vec<String> = changes
                .iter()
                .take(8)
                .map(|c| clip(clean_inline(&c.describe()).trim(), 300, false))
                .collect();
            if changes.len() > 8 {
                parts.push(format!("+{}", changes.len() - 8));
            }
            let v = version;
            if en {
                format!("new version {v} on {on}: {}", parts.join("; "))
            } else {
                format!("новая версия {v} от {on}: {}", parts.join("; "))
            }
        }
        ChangeEvent::Cancelled { status, .. } => {
            if en {
                format!("cancelled on {on} (status: {})", o(status))
            } else {
                format!("закупка отменена {on} (статус: {})", o(status))
            }
        }
        ChangeEvent::Gone { how, .. } => {
            if en {
                format!("disappeared from the portal on {on} ({})", s(how))
            } else {
                format!("исчезла с портала {on} ({})", s(how))
            }
        }
    }
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

/// The subject of a digest with changes: the match subject plus how many changed, or
/// the changes alone.
fn changes_subject(base: Option<String>, n: usize, lang: Language) -> String {
    let part = match lang {
        Language::En => format!("{} changed", tenders(lang, n)),
        Language::Ru => format!(
            "изменения в {n} {}",
            ["закупке", "закупках", "закупках"][ru_plural(n as u64)]
        ),
    };
    header_text(
        &match base {
            Some(b) => format!("{b}; {part}"),
            None => format!("tenderscan: {part}"),
        },
        160,
    )
}

/// Compose one digest for one recipient: new findings by severity, and the flagged
/// notices that changed since (their own section).
pub(crate) fn digest(
    items: &[AlertItem],
    changes: &[ChangeItem],
    rules: &HashMap<String, RuleText>,
    lang: Language,
) -> Composed {
    let l = labels(lang);
    let groups = group(items);
    let subject = match (groups.is_empty(), changes.is_empty()) {
        (_, true) => subject(&groups, rules, lang),
        (true, false) => changes_subject(None, changes.len(), lang),
        (false, false) => changes_subject(Some(subject(&groups, rules, lang)), changes.len(), lang),
    };
    let intro = if groups.is_empty() {
        l.changed_intro
    } else {
        l.intro
    };
    let mut text = String::new();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45;color:#222;max-width:760px\">\n\
         <p>{}</p>\n",
        l.lang,
        html_escape(&subject),
        html_escape(intro)
    );
    let _ = writeln!(text, "{intro}\n");
    let mut number = 0;
    if !changes.is_empty() {
        let _ = writeln!(
            text,
            "== {} ({}) ==\n",
            l.changed.to_uppercase(),
            changes.len()
        );
        let _ = writeln!(
            html,
            "<h2 style=\"color:#1a4d8f;border-bottom:2px solid #1a4d8f;margin-top:28px\">{} ({})</h2>",
            html_escape(l.changed),
            changes.len()
        );
        for c in changes {
            number += 1;
            changed_text(&mut text, number, c, lang);
            changed_html(&mut html, c, lang);
        }
    }
    for sev in [Severity::High, Severity::Medium, Severity::Low] {
        let in_section: Vec<&NoticeGroup> = groups.iter().filter(|g| g.top == sev).collect();
        if in_section.is_empty() {
            continue;
        }
        let heading = l.sections[sev_index(sev)];
        let _ = writeln!(
            text,
            "== {} ({}) ==\n",
            heading.to_uppercase(),
            in_section.len()
        );
        let color = ["#555", "#b36b00", "#b00020"][sev_index(sev)];
        let _ = writeln!(
            html,
            "<h2 style=\"color:{color};border-bottom:2px solid {color};margin-top:28px\">{} ({})</h2>",
            html_escape(heading),
            in_section.len()
        );
        for g in in_section {
            number += 1;
            notice_text(&mut text, number, g, rules, lang);
            notice_html(&mut html, g, rules, lang);
        }
    }
    let _ = writeln!(text, "--\n{}", l.footer);
    let _ = write!(
        html,
        "<hr><p style=\"color:#666;font-size:13px\">{}</p>\n</body></html>\n",
        html_escape(l.footer)
    );
    Composed {
        subject,
        text,
        html,
    }
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
    }
    out.push('\n');
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
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
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

    fn item() -> AlertItem {
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
        }
    }

    #[test]
    fn amounts_group_thousands() {
        assert_eq!(
            crate::money::format_amount(1_300_000.0).unwrap(),
            "1 300 000"
        );
        assert_eq!(crate::money::format_amount(325_000.0).unwrap(), "325 000");
        assert_eq!(crate::money::format_amount(999.0).unwrap(), "999");
        assert_eq!(crate::money::format_amount(1234.5).unwrap(), "1 234.50");
        assert_eq!(crate::money::format_amount(-1000.0).unwrap(), "-1 000");
        assert_eq!(crate::money::format_amount(f64::NAN), None);
    }

    #[test]
    fn price_per_unit_in_both_languages() {
        let it = item();
        assert_eq!(
            price_line(Language::En, &it).unwrap().1,
            "1 300 000 KZT for 4 accounts: 325 000 KZT per account"
        );
        assert_eq!(
            price_line(Language::Ru, &it).unwrap().1,
            "1 300 000 KZT за 4 аккаунта: 325 000 KZT за аккаунт"
        );
        let mut p = it.clone();
        p.quota_period = Some(Period::Day);
        p.quota_count = Some(30);
        p.quota_kind = Some(QuotaKind::Comments);
        assert_eq!(
            price_line(Language::En, &p).unwrap(),
            (false, "30 comments per day".into())
        );
        assert_eq!(
            price_line(Language::Ru, &p).unwrap().1,
            "30 комментариев в день"
        );
        p.quota_period = Some(Period::Quarter);
        assert_eq!(
            price_line(Language::Ru, &p).unwrap(),
            (false, "30 комментариев в квартал".into())
        );
        // a count over the whole term is a total: it has a price per unit
        let mut term = it.clone();
        term.quota_period = Some(Period::Term);
        assert_eq!(
            price_line(Language::En, &term).unwrap(),
            (
                true,
                "1 300 000 KZT for 4 accounts: 325 000 KZT per account".into()
            )
        );
        let mut none = it.clone();
        none.quota_count = None;
        assert_eq!(price_line(Language::En, &none), None);
        let mut zero = it;
        zero.quota_count = Some(0);
        assert_eq!(price_line(Language::En, &zero), None);
    }

    #[test]
    fn russian_plurals() {
        let f = |n| ru_plural(n);
        assert_eq!(
            [f(1), f(2), f(5), f(11), f(21), f(22), f(112)],
            [0, 1, 2, 2, 0, 1, 2]
        );
        assert_eq!(tenders(Language::Ru, 3), "3 закупки");
        assert_eq!(tenders(Language::En, 1), "1 tender");
    }

    #[test]
    fn evidence_offsets_are_guarded() {
        let ev = "ab фейк cd";
        let (a, m, b) = split_evidence(ev, 10, 13, 13 + "фейк".len() as i64).unwrap();
        assert_eq!((a, m, b), ("ab ", "фейк", " cd"));
        // Inside a character: widened to whole characters, never a panic.
        let (_, m, _) = split_evidence(ev, 10, 14, 16).unwrap();
        assert_eq!(m, "фе");
        // Out of range, reversed, negative, empty: no highlight.
        assert_eq!(split_evidence(ev, 10, 13, 1000), None);
        assert_eq!(split_evidence(ev, 10, 15, 13), None);
        assert_eq!(split_evidence(ev, 10, 5, 12), None);
        assert_eq!(split_evidence(ev, 10, 13, 13), None);
        assert_eq!(split_evidence(ev, i64::MIN, i64::MAX, i64::MAX), None);
        assert_eq!(split_evidence("", 0, 0, 1), None);
    }

    #[test]
    fn escaping_and_cleaning() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(header_text("a\r\nBcc: x@y\u{202E}z", 100), "a Bcc: x@y z");
        assert_eq!(header_text("абвгд", 3), "аб…");
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("data:text/html,<b>"), None);
        assert_eq!(
            safe_url("https://x.kz/a?b=\"c\"").as_deref(),
            Some("https://x.kz/a?b=%22c%22")
        );
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
            &HashMap::new(),
            Language::En,
        );
        assert!(d.text.contains(&format!("1. {}\n", "т".repeat(300))));
        at.title = "т".repeat(301);
        let d = digest(&[at], &[], &HashMap::new(), Language::En);
        assert!(d.text.contains(&format!("1. {}…\n", "т".repeat(299))));
        assert_eq!(header_text("ab cd", 4), "ab…");
    }

    #[test]
    fn digest_sections_subject_and_deadline() {
        let mut rules = HashMap::new();
        rules.insert(
            "fake-accounts".to_string(),
            RuleText {
                title: "Fake accounts for commenting".into(),
                why: "Ordering fake accounts is paying for fake opinion.".into(),
            },
        );
        let mut low = item();
        low.notice_id = 2;
        low.alert_id = 2;
        low.severity = Severity::Low;
        low.rule_id = "smm".into();
        low.title = "<b>SMM</b>".into();
        let d = digest(&[low, item()], &[], &rules, Language::En);
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
        let ru = digest(&[item()], &[], &rules, Language::Ru);
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
        let typed = digest(&[item()], &[], &rules, Language::En);
        assert!(!typed.text.contains("OCR"), "{}", typed.text);
        assert!(!typed.html.contains("OCR"));
        let mut scan = item();
        scan.by_ocr = true;
        let en = digest(&[scan.clone()], &[], &rules, Language::En);
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
        let ru = digest(&[scan], &[], &rules, Language::Ru);
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
            "* the phrase 'фейковых <b>аккаунтов</b>' was removed from the technical specification (techspec.docx) on 2026-11-28"
        ), "{}", d.text);
        assert!(
            d.text
                .contains("* cancelled on 2026-11-29 (status: Отменено)"),
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
        let ru = digest(&[item()], &[change], &HashMap::new(), Language::Ru);
        assert!(
            ru.subject.ends_with("; изменения в 1 закупке"),
            "{}",
            ru.subject
        );
        assert!(ru.text.contains("фраза «фейковых <b>аккаунтов</b>» удалена из технической спецификации (techspec.docx) 2026-11-28"), "{}", ru.text);
        assert!(
            ru.text.contains("== ВЫСОКАЯ ВАЖНОСТЬ (1) =="),
            "{}",
            ru.text
        );
    }
}
