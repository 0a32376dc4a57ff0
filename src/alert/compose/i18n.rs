//! The words of a digest in the recipient's language: labels, section names, Russian
//! plurals, quota units and periods, amounts, the deadline in Almaty time, and the
//! sentences that tell a change.
//!
//! Untrusted parts of what it words (a deadline in the portal's own words, a phrase, a
//! document name, a status) are cleaned and capped here; the renderers escape for HTML.
//! What this module must never do: word a quota counted per period as a price per unit,
//! which would mislead.

use super::MAX_FIELD_CHARS;
use super::escape::{clean_inline, clip, header_text};
use crate::config::Language;
use crate::model::Severity;
use crate::states::{ChangeEvent, Period, Place, QuotaKind};
use crate::store::AlertItem;

/// Labels in one language.
pub(crate) struct Labels {
    pub(crate) lang: &'static str,
    pub(crate) intro: &'static str,
    pub(crate) sections: [&'static str; 3],
    pub(crate) severity: [&'static str; 3],
    pub(crate) agency: &'static str,
    pub(crate) bin: &'static str,
    /// The procurement method.
    pub(crate) method: &'static str,
    /// Who was paid (the supplier of a contract or award).
    pub(crate) supplier: &'static str,
    pub(crate) amount: &'static str,
    pub(crate) deadline: &'static str,
    pub(crate) almaty: &'static str,
    pub(crate) notice: &'static str,
    pub(crate) link: &'static str,
    pub(crate) lot: &'static str,
    pub(crate) found_in: &'static str,
    pub(crate) notice_text: &'static str,
    pub(crate) price: &'static str,
    pub(crate) quota: &'static str,
    pub(crate) evidence: &'static str,
    /// Said next to evidence read by OCR from a scan.
    pub(crate) by_ocr: &'static str,
    pub(crate) why: &'static str,
    pub(crate) retracted: &'static str,
    pub(crate) changed: &'static str,
    pub(crate) changed_intro: &'static str,
    /// The watchlist section's heading.
    pub(crate) watchlist: &'static str,
    pub(crate) watchlist_intro: &'static str,
    /// Which watches a notice is on.
    pub(crate) watches: &'static str,
    pub(crate) watch_new: &'static str,
    pub(crate) watch_changed: &'static str,
    /// The link to the newsroom's page of a notice (`[alerts] page_url`).
    pub(crate) page: &'static str,
    /// The section of plan points (what an agency plans to buy, before any announcement).
    pub(crate) planned: &'static str,
    /// On a plan point: the announcements and contracts that followed it.
    pub(crate) followed_by: &'static str,
    /// On an announcement or contract: the plan points it follows.
    pub(crate) plan_point: &'static str,
    pub(crate) footer: &'static str,
    /// The rules a card's notice was flagged by.
    pub(crate) rules: &'static str,
    /// The rules that found one quoted sentence.
    pub(crate) found_by: &'static str,
    /// Where a quota's count came from.
    pub(crate) count_from: &'static str,
    /// Above the notices listed one line each, past the size budget.
    pub(crate) rest: &'static str,
}

const EN: Labels = Labels {
    lang: "en",
    intro: "tenderscan found public tenders that may order fake online opinion. Each entry quotes the words that matched.",
    sections: ["Low", "Medium", "High"],
    severity: ["low", "medium", "high"],
    agency: "Agency",
    bin: "BIN",
    method: "Method",
    supplier: "Paid to",
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
    watchlist: "On your watchlist",
    watchlist_intro: "New and changed tenders on your watchlist (an agency, a supplier, a region, a code or words you follow), whether or not a rule flagged them.",
    watches: "Watch",
    watch_new: "new on the portal",
    watch_changed: "changed on the portal",
    page: "On the newsroom's page",
    planned: "Planned (plan points, before any announcement)",
    followed_by: "Followed by",
    plan_point: "Planned as plan point",
    footer: "Sent by tenderscan. A match is a lead, not proof: read the tender documents before you publish.",
    rules: "Rules",
    found_by: "Found by",
    count_from: "Count",
    rest: "More notices, one line each (every finding is in the attached CSV file)",
};

const RU: Labels = Labels {
    lang: "ru",
    intro: "tenderscan нашёл госзакупки, в которых может заказываться фейковое мнение в интернете. У каждой записи процитированы совпавшие слова.",
    sections: ["Низкая важность", "Средняя важность", "Высокая важность"],
    severity: ["низкая", "средняя", "высокая"],
    agency: "Заказчик",
    bin: "БИН",
    method: "Способ закупки",
    supplier: "Поставщик",
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
    watchlist: "В вашем списке наблюдения",
    watchlist_intro: "Новые и изменённые закупки из вашего списка наблюдения (заказчик, поставщик, регион, код или слова, за которыми вы следите), независимо от того, сработало ли правило.",
    watches: "Наблюдение",
    watch_new: "новая на портале",
    watch_changed: "изменилась на портале",
    page: "На странице редакции",
    planned: "Запланировано (пункты плана, до объявления)",
    followed_by: "Последовавшая закупка",
    plan_point: "Пункт плана",
    footer: "Отправлено tenderscan. Совпадение — повод проверить, а не доказательство: прочитайте документацию закупки перед публикацией.",
    rules: "Правила",
    found_by: "Сработали правила",
    count_from: "Откуда число",
    rest: "Остальные закупки, по строке на каждую (все находки — во вложенном файле CSV)",
};

const KK: Labels = Labels {
    lang: "kk",
    intro: "tenderscan интернетте жалған пікірге тапсырыс берілуі мүмкін мемлекеттік сатып алуларды тапты. Әр жазбада сәйкес келген сөздер келтірілген.",
    sections: ["Төмен маңыздылық", "Орташа маңыздылық", "Жоғары маңыздылық"],
    severity: ["төмен", "орташа", "жоғары"],
    agency: "Тапсырыс беруші",
    bin: "БСН",
    method: "Сатып алу тәсілі",
    supplier: "Өнім беруші",
    amount: "Сомасы",
    deadline: "Өтінімдер қабылдау мерзімі",
    almaty: "Алматы уақытымен",
    notice: "Хабарландыру",
    link: "Порталда",
    lot: "Лот",
    found_in: "Қайдан табылды",
    notice_text: "хабарландыру мәтіні",
    price: "Бағасы",
    quota: "Көлемі",
    evidence: "Дәйексөз",
    by_ocr: "сканнан OCR арқылы оқылды: сөздерді құжатпен салыстырыңыз",
    why: "Неліктен маңызды",
    retracted: "Хабарландырудың қазіргі нұсқасында бұл жоқ: табылғаннан кейін мәтін өзгертілген.",
    changed: "Хабарлағаннан кейін өзгерді",
    changed_intro: "tenderscan хабарлаған сатып алулар порталда өзгерді. Бұрынғы нұсқалар дәлел ретінде сақталған (`tenderscan show NOTICE`).",
    watchlist: "Сіздің бақылау тізіміңізде",
    watchlist_intro: "Бақылау тізіміңіздегі жаңа және өзгерген сатып алулар (сіз бақылайтын тапсырыс беруші, өнім беруші, өңір, код немесе сөздер), ереже іске қосылса да, қосылмаса да.",
    watches: "Бақылау",
    watch_new: "порталда жаңа",
    watch_changed: "порталда өзгерді",
    page: "Редакция бетінде",
    planned: "Жоспарланған (жоспар тармақтары, хабарландыруға дейін)",
    followed_by: "Одан кейінгі сатып алу",
    plan_point: "Жоспар тармағы",
    footer: "tenderscan жіберді. Сәйкестік дәлел емес, тексеруге себеп: жарияламас бұрын сатып алу құжаттамасын оқыңыз.",
    rules: "Ережелер",
    found_by: "Анықтаған ережелер",
    count_from: "Сан қайдан алынды",
    rest: "Қалған сатып алулар, әрқайсысы бір жолда (барлық табылғандар тіркелген CSV файлында)",
};

pub(crate) fn labels(lang: Language) -> &'static Labels {
    match lang {
        Language::En => &EN,
        Language::Ru => &RU,
        Language::Kk => &KK,
    }
}

pub(super) fn sev_index(s: Severity) -> usize {
    match s {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
    }
}

/// Russian plural form: 0 one (1, 21), 1 few (2-4, 22-24), 2 many (5-20, 25...).
pub(super) fn ru_plural(n: u64) -> usize {
    let (d, h) = (n % 10, n % 100);
    if d == 1 && h != 11 {
        0
    } else if (2..=4).contains(&d) && !(12..=14).contains(&h) {
        1
    } else {
        2
    }
}

pub(super) fn tenders(lang: Language, n: usize) -> String {
    match lang {
        Language::En => format!("{n} {}", if n == 1 { "tender" } else { "tenders" }),
        Language::Ru => format!(
            "{n} {}",
            ["закупка", "закупки", "закупок"][ru_plural(n as u64)]
        ),
        // Kazakh nouns stay singular after a number.
        Language::Kk => format!("{n} сатып алу"),
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
        (Language::Kk, Accounts) => ["аккаунт", "аккаунт", "аккаунт", "аккаунт"],
        (Language::Kk, Comments) => ["пікір", "пікір", "пікір", "пікір"],
        (Language::Kk, Posts) => ["жарияланым", "жарияланым", "жарияланым", "жарияланым"],
        (Language::Kk, Followers) => ["жазылушы", "жазылушы", "жазылушы", "жазылушы"],
        (Language::Kk, Likes) => ["лайк", "лайк", "лайк", "лайк"],
    }
}

/// "4 accounts"; "4" where the kind is not known.
fn count_units(lang: Language, n: i64, kind: Option<QuotaKind>) -> String {
    match kind.map(|k| unit_names(lang, k)) {
        Some(names) => {
            let form = match lang {
                Language::En => usize::from(n != 1),
                Language::Ru => ru_plural(n.unsigned_abs()),
                Language::Kk => 0,
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
        (Language::Kk, Period::Day) => "күніне",
        (Language::Kk, Period::Week) => "аптасына",
        (Language::Kk, Period::Month) => "айына",
        (Language::Kk, Period::Quarter) => "тоқсанына",
        (Language::Kk, Period::Term) => "шарттың бүкіл мерзімінде",
    }
}

pub(super) fn money(x: f64, currency: Option<&str>) -> Option<String> {
    crate::money::with_currency(x, currency)
}

/// The price line: "1 300 000 KZT for 4 accounts: 325 000 KZT per account", or the
/// quota alone where a price per unit would mislead (a quota per period, no amount, a
/// count that is not sure).
pub(super) fn price_line(lang: Language, item: &AlertItem) -> Option<(bool, String)> {
    let count = item.quota_count.filter(|c| *c > 0)?;
    let units = count_units(lang, count, item.quota_kind);
    // a count over the whole term is a total: a price per unit stands, as without a period
    if let Some(p) = item.quota_period.filter(|p| *p != Period::Term) {
        return Some((false, format!("{units} {}", period_phrase(lang, p))));
    }
    if !item.quota_sure {
        let note = match lang {
            Language::En => "the count is not sure: no price per unit",
            Language::Ru => "число не наверняка: цену за единицу не считаем",
            Language::Kk => "сан нақты емес: бірлік бағасы есептелмейді",
        };
        return Some((false, format!("{units} ({note})")));
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
            Language::Kk => format!(
                "{units} үшін {total}: бір {} үшін {per}",
                one.unwrap_or_else(|| "бірлік".into())
            ),
        },
    ))
}

/// Where the quota's count came from, e.g. "из таблицы объёмов, строка «Комментарии», 900
/// в месяц" or "from the text: «30 positive comments»"; `None` without a quota or where
/// it was not recorded.
pub(super) fn quota_source(lang: Language, item: &AlertItem) -> Option<String> {
    let count = item.quota_count.filter(|c| *c > 0)?;
    let label = item
        .quota_label
        .as_deref()
        .map(|l| clip(clean_inline(l).trim(), 80, false))
        .filter(|l| !l.is_empty());
    let amount = match item.quota_period {
        Some(p) => match lang {
            Language::Kk => format!("{} {count}", period_phrase(lang, p)),
            _ => format!("{count} {}", period_phrase(lang, p)),
        },
        None => count.to_string(),
    };
    match (item.quota_source.as_deref()?, label) {
        ("table", Some(row)) => Some(match lang {
            Language::En => format!("from the volume table, row «{row}», {amount}"),
            Language::Ru => format!("из таблицы объёмов, строка «{row}», {amount}"),
            Language::Kk => format!("көлем кестесінен, «{row}» жолы, {amount}"),
        }),
        ("table", None) => Some(match lang {
            Language::En => format!("from the volume table, {amount}"),
            Language::Ru => format!("из таблицы объёмов, {amount}"),
            Language::Kk => format!("көлем кестесінен, {amount}"),
        }),
        (_, Some(words)) => Some(match lang {
            Language::En => format!("from the text: «{words}»"),
            Language::Ru => format!("из текста: «{words}»"),
            Language::Kk => format!("мәтіннен: «{words}»"),
        }),
        (_, None) => None,
    }
}

/// The deadline in Almaty time and UTC, or the portal's own string.
pub(super) fn deadline_line(lang: Language, item: &AlertItem) -> Option<String> {
    deadline_text(
        lang,
        item.deadline_at.as_deref(),
        item.deadline_local.as_deref(),
    )
}

/// A deadline (stored UTC time, else the portal's own words) in Almaty time and UTC.
pub(super) fn deadline_text(
    lang: Language,
    at: Option<&str>,
    local: Option<&str>,
) -> Option<String> {
    let l = labels(lang);
    if let Some(utc) = at
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
    {
        let local = utc.with_timezone(&chrono_tz::Asia::Almaty);
        let shown = match lang {
            Language::En => local.format("%Y-%m-%d %H:%M").to_string(),
            Language::Ru | Language::Kk => local.format("%d.%m.%Y %H:%M").to_string(),
        };
        return Some(format!(
            "{shown} {} ({} UTC)",
            l.almaty,
            utc.format("%Y-%m-%d %H:%M")
        ));
    }
    local
        .map(|s| header_text(s, MAX_FIELD_CHARS))
        .filter(|s| !s.is_empty())
}

/// Month names: (English, Russian genitive, Kazakh).
const MONTHS: [(&str, &str, &str); 12] = [
    ("January", "января", "қаңтар"),
    ("February", "февраля", "ақпан"),
    ("March", "марта", "наурыз"),
    ("April", "апреля", "сәуір"),
    ("May", "мая", "мамыр"),
    ("June", "июня", "маусым"),
    ("July", "июля", "шілде"),
    ("August", "августа", "тамыз"),
    ("September", "сентября", "қыркүйек"),
    ("October", "октября", "қазан"),
    ("November", "ноября", "қараша"),
    ("December", "декабря", "желтоқсан"),
];

/// A date in words: "28 November 2026", "28 ноября 2026 г.", "2026 жылғы 28 қараша".
pub(super) fn date_words(lang: Language, d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (en, ru, kk) = MONTHS[d.month0() as usize];
    let (day, year) = (d.day(), d.year());
    match lang {
        Language::En => format!("{day} {en} {year}"),
        Language::Ru => format!("{day} {ru} {year} г."),
        Language::Kk => format!("{year} жылғы {day} {kk}"),
    }
}

/// The day of a stored UTC time in words in Almaty ("28 ноября 2026 г."); a time that
/// cannot be read is shown as its cleaned date part.
fn day(lang: Language, at: &str) -> String {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(at.trim()) {
        return date_words(lang, t.with_timezone(&chrono_tz::Asia::Almaty).date_naive());
    }
    clean_inline(at.get(..10).unwrap_or(at)).trim().to_string()
}

/// A time a portal wrote ("2026-12-05 18:00:00", "05.12.2026 18:00", RFC 3339) in the
/// reader's words ("5 декабря 2026 г. 18:00"); anything else as cleaned text.
fn portal_time(lang: Language, s: &str) -> String {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        let local = dt.with_timezone(&chrono_tz::Asia::Almaty);
        return format!(
            "{} {}",
            date_words(lang, local.date_naive()),
            local.format("%H:%M")
        );
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return format!("{} {}", date_words(lang, dt.date()), dt.format("%H:%M"));
        }
    }
    for f in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(t, f) {
            return date_words(lang, d);
        }
    }
    clip(clean_inline(t).trim(), 200, false)
}

/// A field of a notice or lot by name, in the reader's language (an unknown field as its
/// cleaned name).
fn field_name(lang: Language, field: &str) -> String {
    let names: Option<[&str; 3]> = match field {
        "number" => Some(["the number", "номер", "нөмірі"]),
        "title" => Some(["the title", "название", "атауы"]),
        "title_kk" => Some(["the Kazakh title", "название на казахском", "қазақша атауы"]),
        "description" => Some(["the description", "описание", "сипаттамасы"]),
        "agency" => Some(["the agency", "заказчик", "тапсырыс беруші"]),
        "amount" => Some(["the amount", "сумма", "сомасы"]),
        "currency" => Some(["the currency", "валюта", "валютасы"]),
        "status" => Some(["the status", "статус", "мәртебесі"]),
        "status_code" => Some(["the status code", "код статуса", "мәртебе коды"]),
        "method" => Some(["the method", "способ закупки", "сатып алу тәсілі"]),
        "published" => Some([
            "the publication date",
            "дата публикации",
            "жарияланған күні",
        ]),
        "deadline" => Some([
            "the deadline",
            "срок приёма заявок",
            "өтінімдер қабылдау мерзімі",
        ]),
        "url" => Some(["the link", "ссылка", "сілтемесі"]),
        "region" => Some(["the region", "регион", "өңірі"]),
        "quantity" => Some(["the quantity", "количество", "саны"]),
        "suppliers" => Some(["the suppliers", "поставщики", "өнім берушілер"]),
        "contract_status" => Some(["the contract status", "статус договора", "шарт мәртебесі"]),
        "contract_amount" => Some(["the contract amount", "сумма договора", "шарт сомасы"]),
        "contract_signed" => Some([
            "the contract date",
            "дата договора",
            "шартқа қол қойылған күні",
        ]),
        _ => None,
    };
    match names {
        Some(n) => n[match lang {
            Language::En => 0,
            Language::Ru => 1,
            Language::Kk => 2,
        }]
        .to_string(),
        None => clip(clean_inline(field).trim(), 40, false),
    }
}

/// A value of a change in the reader's words: amounts grouped with the currency, times
/// and dates in words, text in quotes; `None` where the value was too long to keep.
fn change_value(
    lang: Language,
    field: &str,
    v: &Option<serde_json::Value>,
    currency: Option<&str>,
) -> Option<String> {
    use serde_json::Value;
    let money_field = matches!(field, "amount" | "contract_amount" | "award_amount");
    let time_field = matches!(field, "published" | "deadline" | "contract_signed");
    match v {
        None => None,
        Some(Value::Null) => Some(
            match lang {
                Language::En => "nothing",
                Language::Ru => "пусто",
                Language::Kk => "бос",
            }
            .into(),
        ),
        Some(Value::Number(n)) => {
            let f = n.as_f64()?;
            if money_field {
                money(f, currency)
            } else {
                crate::money::format_amount(f)
            }
        }
        Some(Value::String(s)) if money_field => match s.trim().replace(' ', "").parse::<f64>() {
            Ok(f) => money(f, currency),
            Err(_) => Some(format!("«{}»", clip(clean_inline(s).trim(), 200, false))),
        },
        Some(Value::String(s)) if time_field => Some(portal_time(lang, s)),
        Some(Value::String(s)) => Some(format!("«{}»", clip(clean_inline(s).trim(), 200, false))),
        Some(other) => Some(clip(clean_inline(&other.to_string()).trim(), 200, false)),
    }
}

/// One difference between two versions as a sentence in the reader's language, e.g.
/// "сумма изменилась: было 12 500 000 KZT, стало 6 250 000 KZT".
pub(super) fn change_sentence(
    lang: Language,
    c: &crate::states::FieldChange,
    currency: Option<&str>,
) -> String {
    use crate::states::Change;
    let name = c
        .name
        .as_deref()
        .map(|n| clip(clean_inline(n).trim(), 100, false))
        .unwrap_or_default();
    let (what, field): (String, &str) = match (c.field.as_str(), c.detail.as_deref()) {
        ("lot", Some(d)) => (
            match lang {
                Language::En => format!("lot {name}: {}", field_name(lang, d)),
                Language::Ru => format!("лот {name}: {}", field_name(lang, d)),
                Language::Kk => format!("{name} лот: {}", field_name(lang, d)),
            },
            d,
        ),
        ("award", d) => (
            match lang {
                Language::En => format!(
                    "the award to {name}{}",
                    d.map(|d| format!(": {}", field_name(lang, d)))
                        .unwrap_or_default()
                ),
                Language::Ru => format!(
                    "победитель {name}{}",
                    d.map(|d| format!(": {}", field_name(lang, d)))
                        .unwrap_or_default()
                ),
                Language::Kk => format!(
                    "жеңімпаз {name}{}",
                    d.map(|d| format!(": {}", field_name(lang, d)))
                        .unwrap_or_default()
                ),
            },
            match d {
                Some(d) => d,
                None => "award_amount",
            },
        ),
        ("lot", None) => (
            match lang {
                Language::En => format!("lot {name}"),
                Language::Ru => format!("лот {name}"),
                Language::Kk => format!("{name} лот"),
            },
            "title",
        ),
        ("document", _) => (
            match lang {
                Language::En => format!("the document «{name}»"),
                Language::Ru => format!("документ «{name}»"),
                Language::Kk => format!("«{name}» құжаты"),
            },
            "document",
        ),
        ("record", _) => (
            match lang {
                Language::En => "the record".into(),
                Language::Ru => "запись".into(),
                Language::Kk => "жазба".into(),
            },
            "record",
        ),
        (f, _) => (field_name(lang, f), f),
    };
    let old = change_value(lang, field, &c.old, currency);
    let new = change_value(lang, field, &c.new, currency);
    match c.change {
        Change::Added | Change::Removed => {
            let added = c.change == Change::Added;
            let value = if added { &new } else { &old }
                .as_ref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            match (lang, added) {
                (Language::En, true) => format!("{what} added{value}"),
                (Language::En, false) => format!("{what} removed{value}"),
                (Language::Ru, true) => format!("добавлен {what}{value}"),
                (Language::Ru, false) => format!("удалён {what}{value}"),
                (Language::Kk, true) => format!("{what}{value} қосылды"),
                (Language::Kk, false) => format!("{what}{value} алынып тасталды"),
            }
        }
        Change::Changed => match (old, new) {
            (Some(o), Some(n)) => match lang {
                Language::En => format!("{what} changed from {o} to {n}"),
                Language::Ru => format!("{what}: было {o}, стало {n}"),
                Language::Kk => format!("{what}: бұрын {o}, енді {n}"),
            },
            (None, Some(n)) => match lang {
                Language::En => format!("{what} changed to {n}"),
                Language::Ru => format!("{what}: стало {n}"),
                Language::Kk => format!("{what}: енді {n}"),
            },
            _ => match lang {
                Language::En => format!("{what} changed"),
                Language::Ru => format!("{what}: изменено"),
                Language::Kk => format!("{what}: өзгертілді"),
            },
        },
    }
}

/// One event of a `changed` alert as a sentence, e.g. "the phrase 'фейковых аккаунтов'
/// was removed from the technical specification (techspec.docx) on 28 November 2026".
/// Untrusted parts are cleaned; the caller escapes for HTML. `currency` is the notice's,
/// for the amounts of changes.
pub(super) fn event_line(lang: Language, ev: &ChangeEvent, currency: Option<&str>) -> String {
    let s = |v: &str| clip(clean_inline(v).trim(), 200, false);
    let o = |v: &Option<String>| v.as_deref().map(s).unwrap_or_default();
    let on = day(lang, ev.at());
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
            let place = match (place, lang) {
                (Place::TechnicalSpecification, Language::En) => {
                    format!("the technical specification{doc_part}")
                }
                (Place::TechnicalSpecification, Language::Ru) => {
                    format!("технической спецификации{doc_part}")
                }
                (Place::TechnicalSpecification, Language::Kk) => {
                    format!("техникалық ерекшеліктен{doc_part}")
                }
                (Place::Document, Language::En) => format!("the document{doc_part}"),
                (Place::Document, Language::Ru) => format!("документа{doc_part}"),
                (Place::Document, Language::Kk) => format!("құжаттан{doc_part}"),
                (Place::Lot, Language::En) => "the lot's text".into(),
                (Place::Lot, Language::Ru) => "текста лота".into(),
                (Place::Lot, Language::Kk) => "лот мәтінінен".into(),
                (Place::Notice, Language::En) => "the notice text".into(),
                (Place::Notice, Language::Ru) => "текста объявления".into(),
                (Place::Notice, Language::Kk) => "хабарландыру мәтінінен".into(),
            };
            match lang {
                Language::En => format!(
                    "the phrase '{}' was removed from {place} on {on}",
                    s(phrase)
                ),
                Language::Ru => format!("фраза «{}» удалена из {place} {on}", s(phrase)),
                Language::Kk => {
                    format!("«{}» сөз тіркесі {on} {place} алынып тасталды", s(phrase))
                }
            }
        }
        ChangeEvent::Changed {
            version, changes, ..
        } => {
            let mut parts: Vec<String> = changes
                .iter()
                .take(8)
                .map(|c| clip(&change_sentence(lang, c, currency), 300, false))
                .collect();
            if changes.len() > 8 {
                let more = changes.len() - 8;
                parts.push(match lang {
                    Language::En => format!("and {more} more"),
                    Language::Ru => format!("и ещё {more}"),
                    Language::Kk => format!("және тағы {more}"),
                });
            }
            let v = version;
            let parts = parts.join("; ");
            match lang {
                Language::En => format!("new version {v} on {on}: {parts}"),
                Language::Ru => format!("новая версия {v} от {on}: {parts}"),
                Language::Kk => format!("{on} жаңа нұсқа {v}: {parts}"),
            }
        }
        ChangeEvent::Cancelled { status, .. } => match lang {
            Language::En => format!("cancelled on {on} (status: {})", o(status)),
            Language::Ru => format!("закупка отменена {on} (статус: {})", o(status)),
            Language::Kk => format!("сатып алудың күші {on} жойылды (мәртебесі: {})", o(status)),
        },
        ChangeEvent::Gone { how, .. } => match lang {
            Language::En => format!("disappeared from the portal on {on} ({})", s(how)),
            Language::Ru => format!("исчезла с портала {on} ({})", s(how)),
            Language::Kk => format!("{on} порталдан жоғалды ({})", s(how)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::compose::tests::item;

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
        assert_eq!(
            price_line(Language::Kk, &it).unwrap().1,
            "4 аккаунт үшін 1 300 000 KZT: бір аккаунт үшін 325 000 KZT"
        );
        let mut kk = it.clone();
        kk.quota_period = Some(Period::Day);
        kk.quota_count = Some(30);
        kk.quota_kind = Some(QuotaKind::Comments);
        assert_eq!(
            price_line(Language::Kk, &kk).unwrap(),
            (false, "30 пікір күніне".into())
        );
        let mut none = it.clone();
        none.quota_count = None;
        assert_eq!(price_line(Language::En, &none), None);
        let mut zero = it;
        zero.quota_count = Some(0);
        assert_eq!(price_line(Language::En, &zero), None);
    }

    /// A `changed` alert reads as sentences: field names, amounts and dates in the reader's
    /// language, never `amount: 12500000 -> 6250000`.
    #[test]
    fn change_lines_are_sentences_in_the_readers_language() {
        use crate::states::{Change, FieldChange};
        let amount = FieldChange {
            field: "amount".into(),
            change: Change::Changed,
            name: None,
            detail: None,
            old: Some(serde_json::json!(12_500_000)),
            new: Some(serde_json::json!(6_250_000)),
        };
        let lot_desc = FieldChange {
            field: "lot".into(),
            change: Change::Changed,
            name: Some("7-ЗЦП1".into()),
            detail: Some("description".into()),
            old: None,
            new: None,
        };
        let deadline = FieldChange {
            field: "deadline".into(),
            change: Change::Changed,
            name: None,
            detail: None,
            old: Some(serde_json::json!("2026-12-05 18:00:00")),
            new: Some(serde_json::json!("2026-12-12 18:00:00")),
        };
        let doc = FieldChange {
            field: "document".into(),
            change: Change::Added,
            name: Some("ТС <новая>.docx".into()),
            detail: None,
            old: None,
            new: None,
        };
        let ev = ChangeEvent::Changed {
            at: "2026-11-28T10:00:00Z".into(),
            version: 2,
            changes: vec![
                amount.clone(),
                lot_desc.clone(),
                deadline.clone(),
                doc.clone(),
            ],
        };
        let ru = event_line(Language::Ru, &ev, Some("KZT"));
        assert_eq!(
            ru,
            "новая версия 2 от 28 ноября 2026 г.: сумма: было 12 500 000 KZT, стало 6 250 000 KZT; \
             лот 7-ЗЦП1: описание: изменено; срок приёма заявок: было 5 декабря 2026 г. 18:00, \
             стало 12 декабря 2026 г. 18:00; добавлен документ «ТС <новая>.docx»"
        );
        let en = event_line(Language::En, &ev, Some("KZT"));
        assert!(
            en.starts_with("new version 2 on 28 November 2026: the amount changed from 12 500 000 KZT to 6 250 000 KZT; lot 7-ЗЦП1: the description changed;"),
            "{en}"
        );
        let kk = event_line(Language::Kk, &ev, Some("KZT"));
        assert!(
            kk.starts_with("2026 жылғы 28 қараша жаңа нұсқа 2: сомасы: бұрын 12 500 000 KZT, енді 6 250 000 KZT; 7-ЗЦП1 лот: сипаттамасы: өзгертілді"),
            "{kk}"
        );
        for line in [&ru, &en, &kk] {
            assert!(!line.contains("->") && !line.contains("12500000"), "{line}");
        }
    }

    /// A count that is not sure has no price per unit, and the email says where it came from.
    #[test]
    fn unsure_counts_have_no_price_and_say_their_source() {
        let mut it = item();
        it.quota_sure = false;
        let (priced, line) = price_line(Language::Ru, &it).unwrap();
        assert!(!priced);
        assert!(!line.contains("325 000"), "{line}");
        assert!(line.starts_with("4 аккаунта ("), "{line}");
        let mut t = item();
        t.quota_source = Some("table".into());
        t.quota_label = Some("Комментарии".into());
        t.quota_kind = Some(QuotaKind::Comments);
        t.quota_count = Some(900);
        t.quota_period = Some(Period::Month);
        assert_eq!(
            quota_source(Language::Ru, &t).unwrap(),
            "из таблицы объёмов, строка «Комментарии», 900 в месяц"
        );
        assert_eq!(
            quota_source(Language::En, &t).unwrap(),
            "from the volume table, row «Комментарии», 900 per month"
        );
        assert_eq!(
            quota_source(Language::Kk, &t).unwrap(),
            "көлем кестесінен, «Комментарии» жолы, айына 900"
        );
        t.quota_source = None;
        assert_eq!(quota_source(Language::Ru, &t), None);
    }

    #[test]
    fn dates_in_words_in_each_language() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(date_words(Language::En, d), "1 March 2026");
        assert_eq!(date_words(Language::Ru, d), "1 марта 2026 г.");
        assert_eq!(date_words(Language::Kk, d), "2026 жылғы 1 наурыз");
    }

    #[test]
    fn russian_plurals() {
        let f = |n| ru_plural(n);
        assert_eq!(
            [f(1), f(2), f(5), f(11), f(21), f(22), f(112)],
            [0, 1, 2, 2, 0, 1, 2]
        );
        assert_eq!(tenders(Language::Ru, 3), "3 закупки");
        assert_eq!(tenders(Language::Kk, 3), "3 сатып алу");
        assert_eq!(tenders(Language::En, 1), "1 tender");
    }
}
