//! The web page's words in ru, kk and en: the digest's own labels where the words are the
//! same ([`crate::alert::digest_labels`]), and the page's own beside them.
//!
//! Must never: hold untrusted text (these are constants; the templates escape what the
//! database gives them).

use crate::alert::{Labels, digest_labels};
use crate::config::Language;
use std::collections::BTreeMap;

/// The page's own words: (key, [en, ru, kk]).
const PAGE: &[(&str, [&str; 3])] = &[
    ("flags", ["Flags", "Флаги", "Белгілер"]),
    ("search", ["Search", "Поиск", "Іздеу"]),
    ("charts", ["Charts", "Графики", "Графиктер"]),
    ("login", ["Log in", "Войти", "Кіру"]),
    ("logout", ["Log out", "Выйти", "Шығу"]),
    ("user", ["User", "Пользователь", "Пайдаланушы"]),
    ("password", ["Password", "Пароль", "Құпиясөз"]),
    (
        "login_failed",
        [
            "Wrong user or password.",
            "Неверный пользователь или пароль.",
            "Пайдаланушы немесе құпиясөз қате.",
        ],
    ),
    ("severity", ["Severity", "Важность", "Маңыздылық"]),
    ("rule", ["Rule", "Правило", "Ереже"]),
    ("region", ["Region", "Регион", "Өңір"]),
    ("since", ["From", "С", "Бастап"]),
    ("until", ["To", "По", "Дейін"]),
    ("verdict", ["Verdict", "Вердикт", "Шешім"]),
    ("source", ["Source", "Источник", "Дереккөз"]),
    ("sort", ["Sort by", "Сортировка", "Сұрыптау"]),
    ("sort_date", ["date", "дата", "күні"]),
    ("sort_amount", ["amount", "сумма", "сомасы"]),
    (
        "sort_price",
        ["price per unit", "цена за единицу", "бірлік бағасы"],
    ),
    ("apply", ["Show", "Показать", "Көрсету"]),
    ("any", ["any", "любой", "кез келген"]),
    ("at_least", ["at least", "не ниже", "кемінде"]),
    ("unreviewed", ["not reviewed", "без вердикта", "шешімсіз"]),
    ("confirmed", ["confirmed", "подтверждено", "расталды"]),
    (
        "false-positive",
        ["false positive", "ложное срабатывание", "жалған белгі"],
    ),
    ("published", ["published", "опубликовано", "жарияланды"]),
    ("watching", ["watching", "наблюдаем", "бақылауда"]),
    ("prev", ["← Previous", "← Назад", "← Алдыңғы"]),
    ("next", ["Next →", "Дальше →", "Келесі →"]),
    (
        "none_found",
        ["Nothing found.", "Ничего не найдено.", "Ештеңе табылмады."],
    ),
    ("date", ["Date", "Дата", "Күні"]),
    ("title", ["Title", "Название", "Атауы"]),
    ("published_at", ["Published", "Опубликовано", "Жарияланды"]),
    ("first_flagged", ["Flagged", "Отмечено", "Белгіленді"]),
    ("status", ["Status", "Статус", "Мәртебесі"]),
    ("seen", ["Seen", "Замечено", "Көрілді"]),
    (
        "gone",
        [
            "No longer on the portal since",
            "Нет на портале с",
            "Порталда жоқ, бастап",
        ],
    ),
    ("lots", ["Lots", "Лоты", "Лоттар"]),
    (
        "awards",
        [
            "Awards and contracts",
            "Итоги и договоры",
            "Қорытындылар мен шарттар",
        ],
    ),
    ("contract", ["Contract", "Договор", "Шарт"]),
    ("signed", ["signed", "подписан", "қол қойылды"]),
    ("removed", ["removed", "удалено", "жойылды"]),
    ("documents", ["Documents", "Документы", "Құжаттар"]),
    ("download", ["Download", "Скачать", "Жүктеу"]),
    (
        "spec",
        [
            "technical specification",
            "техническая спецификация",
            "техникалық ерекшелік",
        ],
    ),
    ("bytes", ["bytes", "байт", "байт"]),
    ("not_kept", ["not kept", "не сохранён", "сақталмаған"]),
    (
        "matches",
        [
            "What the rules found",
            "Что нашли правила",
            "Ережелер не тапты",
        ],
    ),
    ("versions", ["Versions", "Версии", "Нұсқалар"]),
    (
        "first_version",
        ["first seen", "впервые замечено", "алғаш көрілді"],
    ),
    (
        "evidence_files",
        [
            "Evidence kept",
            "Сохранённые доказательства",
            "Сақталған дәлелдер",
        ],
    ),
    ("fetched", ["fetched", "загружено", "жүктелді"]),
    ("times", ["times", "раз", "рет"]),
    ("verdicts", ["Verdicts", "Вердикты", "Шешімдер"]),
    (
        "no_verdicts",
        [
            "No verdicts yet.",
            "Вердиктов пока нет.",
            "Әзірге шешім жоқ.",
        ],
    ),
    ("by", ["by", "кто", "кім"]),
    ("note", ["Note", "Примечание", "Ескертпе"]),
    (
        "record",
        ["Record the verdict", "Записать вердикт", "Шешімді жазу"],
    ),
    (
        "recorded",
        ["Verdict recorded.", "Вердикт записан.", "Шешім жазылды."],
    ),
    (
        "flagged_tenders",
        [
            "Flagged tenders",
            "Отмеченные закупки",
            "Белгіленген сатып алулар",
        ],
    ),
    (
        "money_per_year",
        [
            "Money per year",
            "Деньги по годам",
            "Жылдар бойынша қаражат",
        ],
    ),
    ("csv", ["data as CSV", "данные в CSV", "деректер CSV"]),
    ("query", ["Words", "Слова", "Сөздер"]),
    ("kind", ["Found in", "Где", "Қайда"]),
    ("not_found", ["Not found.", "Не найдено.", "Табылмады."]),
    (
        "plan_links",
        ["Plan points", "Пункты плана", "Жоспар тармақтары"],
    ),
    ("external_id", ["external id", "внешний id", "сыртқы id"]),
    ("read_only", ["read-only", "только чтение", "тек оқу"]),
];

/// Every word a page may show, by key: the digest's labels and the page's own.
pub fn words(lang: Language) -> BTreeMap<&'static str, &'static str> {
    let i = match lang {
        Language::En => 0,
        Language::Ru => 1,
        Language::Kk => 2,
    };
    let d: &Labels = digest_labels(lang);
    let mut m: BTreeMap<&'static str, &'static str> =
        PAGE.iter().map(|(k, v)| (*k, v[i])).collect();
    for (k, v) in [
        ("lang", d.lang),
        ("agency", d.agency),
        ("bin", d.bin),
        ("method", d.method),
        ("supplier", d.supplier),
        ("amount", d.amount),
        ("deadline", d.deadline),
        ("notice", d.notice),
        ("link", d.link),
        ("lot", d.lot),
        ("found_in", d.found_in),
        ("price", d.price),
        ("quota", d.quota),
        ("evidence", d.evidence),
        ("by_ocr", d.by_ocr),
        ("retracted", d.retracted),
        ("rules", d.rules),
        ("footer", d.footer),
        ("low", d.severity[0]),
        ("medium", d.severity[1]),
        ("high", d.severity[2]),
    ] {
        m.insert(k, v);
    }
    m
}

/// A language by its code (`ru`, `kk`, `en`).
pub fn language(code: &str) -> Option<Language> {
    match code {
        "ru" => Some(Language::Ru),
        "kk" => Some(Language::Kk),
        "en" => Some(Language::En),
        _ => None,
    }
}

pub fn code(lang: Language) -> &'static str {
    digest_labels(lang).lang
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_word() {
        let en = words(Language::En);
        for lang in [Language::Ru, Language::Kk] {
            let w = words(lang);
            assert_eq!(w.keys().collect::<Vec<_>>(), en.keys().collect::<Vec<_>>());
            assert!(w.values().all(|v| !v.is_empty()));
        }
        assert_eq!(words(Language::Ru)["agency"], "Заказчик");
        assert_eq!(language(code(Language::Kk)), Some(Language::Kk));
    }
}
