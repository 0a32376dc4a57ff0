//! Quotas: numbers attached to units of manufactured opinion ("не менее 50 комментариев в день",
//! "төрт жалған аккаунт", "at least 30 comments per day"), read from the folded text.
//!
//! The engine finds unit words (see [`UNIT_TERMS`]) with its prefilter; for each one this module
//! looks for a number among the three words before it (adjectives may sit in between: "50
//! положительных комментариев") or, failing that, among the four words after it when only words
//! like "не менее", "кемінде", "at least" sit in between ("комментарии: не менее 50 в сутки"),
//! always inside one sentence. A number is digits ("50", "1 000", "1,000") and/or number words in
//! Russian (any case: "четырех", "пятидесяти", "тысячу"), Kazakh ("төрт", "отыз", "екі жүз") or
//! English ("four", "thirty five", "two hundred"). When digits and words stand together ("50
//! (пятьдесят)") the digits win. The period comes from a marker between the unit and the number,
//! within nine words after the quota or twelve before it: day ("в день", "в сутки", "ежедневно", "күніне", "күн
//! сайын", "per day", "daily"), week, month; a marker right after a number ("30 дней") is a
//! duration, not a period.

use super::engine::FxBuild;
use super::normalize::{BREAK, SEP};
use std::collections::HashMap;
use std::sync::OnceLock;

pub use crate::states::{Period, QuotaKind};

impl Period {
    /// A period by its name in rule files and labelled fragments; `none` is no period.
    pub fn from_name(name: &str) -> Result<Option<Period>, String> {
        Ok(match name {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            "quarter" => Some(Period::Quarter),
            "term" => Some(Period::Term),
            "none" => None,
            other => {
                return Err(format!(
                    "unknown period `{other}` (day, week, month, quarter, term, none)"
                ));
            }
        })
    }
}

/// Unit words, in the rule term syntax (stemmed words; `*` marks a prefix).
pub(crate) const UNIT_TERMS: &[(QuotaKind, &str)] = &[
    (QuotaKind::Comments, "комментари*"),
    (QuotaKind::Comments, "коммент"),
    (QuotaKind::Comments, "=комм"),
    (QuotaKind::Comments, "отзыв*"),
    (QuotaKind::Comments, "пікір"),
    (QuotaKind::Comments, "comment"),
    (QuotaKind::Comments, "review"),
    (QuotaKind::Comments, "reply"),
    (QuotaKind::Comments, "комент*"),
    (QuotaKind::Comments, "камент*"),
    (QuotaKind::Comments, "каммент*"),
    (QuotaKind::Comments, "отклик"),
    (QuotaKind::Comments, "реплик*"),
    (QuotaKind::Comments, "testimonial"),
    (QuotaKind::Comments, "coment*"),
    (QuotaKind::Comments, "сообщени*"),
    (QuotaKind::Comments, "message*"),
    (QuotaKind::Posts, "пост"),
    (QuotaKind::Posts, "публикаци*"),
    (QuotaKind::Posts, "жарияланым"),
    (QuotaKind::Posts, "жазба"),
    // the nouns only: "Comments shall be posted ..." counts comments
    (QuotaKind::Posts, "=post"),
    (QuotaKind::Posts, "=posts"),
    (QuotaKind::Posts, "publication"),
    (QuotaKind::Posts, "сторис"),
    (QuotaKind::Posts, "новост*"),
    (QuotaKind::Posts, "жаңалық*"),
    (QuotaKind::Posts, "stories"),
    (QuotaKind::Posts, "репост*"),
    (QuotaKind::Posts, "repost*"),
    (QuotaKind::Posts, "=shares"),
    // a share (repost) in Kazakh, also typed without Kazakh letters; Instagram's Reels
    (QuotaKind::Posts, "бөлісу*"),
    (QuotaKind::Posts, "болису*"),
    (QuotaKind::Posts, "=reels"),
    (QuotaKind::Posts, "=articles"),
    (QuotaKind::Posts, "=видео"),
    (QuotaKind::Posts, "=video"),
    (QuotaKind::Posts, "=videos"),
    (QuotaKind::Posts, "бейнеролик*"),
    (QuotaKind::Posts, "видеоролик*"),
    (QuotaKind::Comments, "хабарлама*"),
    (QuotaKind::Likes, "vote*"),
    (QuotaKind::Posts, "материал*"),
    (QuotaKind::Posts, "интеграци*"),
    (QuotaKind::Posts, "бейне"),
    (QuotaKind::Posts, "мақала"),
    (QuotaKind::Posts, "стат"),
    (QuotaKind::Posts, "ролик"),
    (QuotaKind::Accounts, "аккаунт"),
    (QuotaKind::Accounts, "профиль"),
    (QuotaKind::Accounts, "бот"),
    (QuotaKind::Accounts, "парақша"),
    (QuotaKind::Accounts, "account"),
    (QuotaKind::Accounts, "profile"),
    (QuotaKind::Accounts, "bot"),
    (QuotaKind::Accounts, "акаунт*"),
    (QuotaKind::Accounts, "=акк"),
    (QuotaKind::Accounts, "=акки"),
    (QuotaKind::Accounts, "=акков"),
    (QuotaKind::Accounts, "=виртуалы"),
    (QuotaKind::Accounts, "=виртуалов"),
    (QuotaKind::Accounts, "acount*"),
    (QuotaKind::Accounts, "persona"),
    (QuotaKind::Accounts, "страниц*"),
    (QuotaKind::Accounts, "учетн*"),
    (QuotaKind::Accounts, "қолданушы*"),
    (QuotaKind::Accounts, "канал"),
    (QuotaKind::Accounts, "channel"),
    (QuotaKind::Accounts, "арна"),
    (QuotaKind::Accounts, "паблик*"),
    (QuotaKind::Followers, "подписчик"),
    (QuotaKind::Followers, "фолловер*"),
    (QuotaKind::Followers, "подпищик*"),
    (QuotaKind::Followers, "жазылушы*"),
    (QuotaKind::Followers, "follower*"),
    (QuotaKind::Followers, "subscriber*"),
    (QuotaKind::Likes, "лайк"),
    (QuotaKind::Likes, "реакци*"),
    (QuotaKind::Likes, "=like"),
    (QuotaKind::Likes, "=likes"),
    (QuotaKind::Likes, "reaction"),
    (QuotaKind::Likes, "ұнату*"),
    // "отметки «Нравится»": the mark is counted, the word after it names it
    (QuotaKind::Likes, "=нравится"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumWord {
    /// Adds its value (1..=999).
    Add(u64),
    /// Multiplies the pending small number: hundred (Kazakh жүз, English hundred).
    Hundred,
    /// Closes a group: thousand, million.
    Mult(u64),
}

fn number_words() -> &'static HashMap<&'static str, NumWord, FxBuild> {
    static M: OnceLock<HashMap<&'static str, NumWord, FxBuild>> = OnceLock::new();
    M.get_or_init(|| {
        use NumWord::*;
        #[rustfmt::skip]
        let table: &[(NumWord, &[&str])] = &[
            (Add(1), &["один", "одна", "одно", "одного", "одной", "одному", "одним", "одну", "одном", "бір", "one"]),
            (Add(2), &["два", "две", "двух", "двум", "двумя", "екі", "two"]),
            (Add(3), &["три", "трех", "трем", "тремя", "үш", "three"]),
            (Add(4), &["четыре", "четырех", "четырем", "четырьмя", "төрт", "four"]),
            (Add(5), &["пять", "пяти", "пятью", "бес", "five"]),
            (Add(6), &["шесть", "шести", "шестью", "алты", "six"]),
            (Add(7), &["семь", "семи", "семью", "жеті", "seven"]),
            (Add(8), &["восемь", "восьми", "восемью", "восьмью", "сегіз", "eight"]),
            (Add(9), &["девять", "девяти", "девятью", "тоғыз", "nine"]),
            (Add(10), &["десять", "десяти", "десятью", "он", "ten"]),
            (Add(11), &["eleven"]),
            (Add(12), &["twelve"]),
            (Add(13), &["thirteen"]),
            (Add(14), &["fourteen"]),
            (Add(15), &["fifteen"]),
            (Add(16), &["sixteen"]),
            (Add(17), &["seventeen"]),
            (Add(18), &["eighteen"]),
            (Add(19), &["nineteen"]),
            (Add(20), &["жиырма", "twenty"]),
            (Add(30), &["отыз", "thirty"]),
            (Add(40), &["сорок", "сорока", "қырық", "forty", "fourty"]),
            (Add(50), &["пятьдесят", "пятидесяти", "пятьюдесятью", "елу", "fifty"]),
            (Add(60), &["шестьдесят", "шестидесяти", "шестьюдесятью", "алпыс", "sixty"]),
            (Add(70), &["семьдесят", "семидесяти", "семьюдесятью", "жетпіс", "seventy"]),
            (Add(80), &["восемьдесят", "восьмидесяти", "восемьюдесятью", "сексен", "eighty"]),
            (Add(90), &["девяносто", "девяноста", "тоқсан", "ninety"]),
            (Add(100), &["сто", "ста"]),
            (Add(200), &["двести", "двухсот", "двумстам", "двумястами", "двухстах"]),
            (Add(300), &["триста", "трехсот", "тремстам", "тремястами", "трехстах"]),
            (Add(400), &["четыреста", "четырехсот", "четыремстам", "четырьмястами", "четырехстах"]),
            (Add(500), &["пятьсот", "пятисот", "пятистам", "пятьюстами", "пятистах"]),
            (Add(600), &["шестьсот", "шестисот", "шестистам", "шестьюстами", "шестистах"]),
            (Add(700), &["семьсот", "семисот", "семистам", "семьюстами", "семистах"]),
            (Add(800), &["восемьсот", "восьмисот", "восьмистам", "восемьюстами", "восьмьюстами", "восьмистах"]),
            (Add(900), &["девятьсот", "девятисот", "девятистам", "девятьюстами", "девятистах"]),
            (Hundred, &["жүз", "hundred", "hundreds"]),
            (Mult(1000), &["тысяча", "тысячи", "тысячу", "тысячей", "тысячью", "тысяч", "тысячам", "тысячами", "тысячах", "мың", "thousand", "thousands", "тыс"]),
            (Mult(1_000_000), &["миллион", "миллиона", "миллиону", "миллионом", "миллионе", "миллионы", "миллионов", "миллионам", "миллионами", "миллионах", "million", "millions", "млн"]),
        ];
        let mut m: HashMap<&'static str, NumWord, FxBuild> = HashMap::default();
        for (v, forms) in table {
            for f in *forms {
                m.insert(*f, *v);
            }
        }
        // Kazakh number words typed without Kazakh letters ("торт", "уш", "мын"), once
        for (v, forms) in table {
            for f in *forms {
                if super::stem::has_kazakh_letter(f) {
                    let plain = super::stem::kk_plain(f);
                    if !m.contains_key(plain.as_str()) {
                        m.insert(Box::leak(plain.into_boxed_str()), *v);
                    }
                }
            }
        }
        // Russian 11..19 and 20, 30: stem + ь / и / ью
        let teens = [
            ("одиннадцат", 11),
            ("двенадцат", 12),
            ("тринадцат", 13),
            ("четырнадцат", 14),
            ("пятнадцат", 15),
            ("шестнадцат", 16),
            ("семнадцат", 17),
            ("восемнадцат", 18),
            ("девятнадцат", 19),
            ("двадцат", 20),
            ("тридцат", 30),
        ];
        for (stem, v) in teens {
            for end in ["ь", "и", "ью"] {
                let w: &'static str = Box::leak(format!("{stem}{end}").into_boxed_str());
                m.insert(w, Add(v));
            }
        }
        m
    })
}

/// The value of a number word (folded), if it is one.
pub(crate) fn number_word(w: &str) -> Option<NumWord> {
    // the readers ask of every word they pass: no number word is shorter than 2 bytes or
    // longer than 40, or starts with a digit or punctuation
    if w.len() < 2
        || w.len() > 40
        || !w.as_bytes()[0].is_ascii_alphabetic() && w.as_bytes()[0] < 0xC0
    {
        return None;
    }
    number_words().get(w).copied()
}

pub(crate) fn is_digits(w: &str) -> bool {
    w.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && w.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
}

/// Suffix tokens written after digits: "50-ти", "4-х".
fn is_num_suffix(w: &str) -> bool {
    matches!(
        w,
        "ти" | "х" | "ми" | "ью" | "ых" | "і" | "ы" | "ден" | "тен" | "нан"
    )
}

fn is_number_token(w: &str) -> bool {
    is_digits(w) || number_word(w).is_some()
}

/// Parse one digits token: "50", "1,000", "1.000". Decimals give None.
fn parse_digit_token(w: &str) -> Option<String> {
    if !w.contains(['.', ',']) {
        return Some(w.to_string());
    }
    let mut parts = w.split(['.', ',']);
    let first = parts.next()?;
    if first.is_empty() || first.len() > 3 {
        return None;
    }
    let mut s = first.to_string();
    for p in parts {
        if p.len() != 3 {
            return None;
        }
        s.push_str(p);
    }
    Some(s)
}

/// Value of a run of number tokens, in text order.
pub(crate) fn parse_number(tokens: &[&str]) -> Option<u64> {
    let toks: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| !is_num_suffix(t))
        .collect();
    if toks.is_empty() {
        return None;
    }
    if let Some(last_d) = toks.iter().rposition(|t| is_digits(t)) {
        // digits win; group "1 000 000" style thousands
        let mut first = last_d;
        while first > 0
            && is_digits(toks[first - 1])
            && toks[first].len() == 3
            && toks[first].bytes().all(|b| b.is_ascii_digit())
            && toks[first - 1].len() <= 3
            && toks[first - 1].bytes().all(|b| b.is_ascii_digit())
        {
            first -= 1;
        }
        // "1.5 thousand", "1,5 тыс.": one decimal figure and a multiplier word
        if first == last_d
            && let Some(Some(NumWord::Mult(m))) = toks.get(last_d + 1).map(|t| number_word(t))
            && let Some((a, b)) = toks[last_d].split_once(['.', ','])
            && !a.is_empty()
            && a.len() <= 3
            && (1..=2).contains(&b.len())
            && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        {
            let whole: u64 = a.parse().ok()?;
            let frac: u64 = b.parse().ok()?;
            let scale = if b.len() == 1 { 10 } else { 100 };
            return whole
                .checked_mul(m)?
                .checked_add(frac.checked_mul(m)? / scale);
        }
        let mut s = String::new();
        for t in &toks[first..=last_d] {
            s.push_str(&parse_digit_token(t)?);
        }
        if s.len() > 15 {
            return None;
        }
        let v: u64 = s.parse().ok()?;
        // "20 мың", "10 тыс.", "5 thousand": a multiplier word right after the digits
        let mult = match toks.get(last_d + 1).and_then(|t| number_word(t)) {
            Some(NumWord::Mult(m)) => m,
            _ => 1,
        };
        return v.checked_mul(mult);
    }
    let (mut total, mut cur) = (0u64, 0u64);
    for t in toks {
        match number_word(t)? {
            NumWord::Add(v) => cur = cur.saturating_add(v),
            NumWord::Hundred => cur = cur.max(1).saturating_mul(100),
            NumWord::Mult(m) => {
                total = total.saturating_add(cur.max(1).saturating_mul(m));
                cur = 0;
            }
        }
    }
    Some(total.saturating_add(cur))
}

/// Words that may sit between a unit and a number written after it.
fn is_forward_filler(w: &str) -> bool {
    matches!(
        w,
        "не" | "менее"
            | "более"
            | "чем"
            | "до"
            | "от"
            | "количество"
            | "кол"
            | "во"
            | "саны"
            | "санын"
            | "санына"
            | "кемінде"
            | "кеминде"
            | "кем"
            | "дегенде"
            | "астам"
            | "at"
            | "least"
            | "minimum"
            | "min"
            | "no"
            | "less"
            | "fewer"
            | "more"
            | "than"
            | "of"
            | "шт"
            | "штук"
            | "мин"
            | "минимум"
            | "-"
            | "саны:"
            | "quantity"
            | "qty"
            | "x"
    )
}

/// "The number of": after a unit, it makes that unit the thing a later number counts
/// ("жазылушылар саны", "количество комментариев" reads the other way and needs no help).
pub(crate) fn is_count_noun(w: &str) -> bool {
    matches!(
        w,
        "саны"
            | "санын"
            | "санына"
            | "санының"
            | "количество"
            | "количества"
            | "число"
            | "числа"
            | "численность"
            | "численности"
    )
}

/// Words right before a number that make it a count: "не менее 40", "кемінде 40", "at least 40".
fn is_count_marker(w: &str) -> bool {
    matches!(
        w,
        "менее"
            | "более"
            | "минимум"
            | "кемінде"
            | "кеминде"
            | "дегенде"
            | "least"
            | "minimum"
            | "min"
            | "мин"
            | "до"
            | "количестве"
            | "количеством"
            | "объеме"
            | "объёме"
            | "объемом"
            | "мөлшерінде"
            | "көлемінде"
            | "total"
            | "of"
    )
}

/// Words that stop the backward search for a number ("в 2024 году комментарии").
fn is_backward_stop(w: &str) -> bool {
    // a conjunction, a piece word ("5 ед. и размещение отзывов") or a preposition opens another
    // noun phrase: "10 аккаунтов для комментирования публикаций" counts accounts, not publications
    matches!(w, "и" | "and" | "және")
        || is_piece_word(w)
        || matches!(
            w,
            "для"
                | "с"
                | "со"
                | "под"
                | "к"
                | "ко"
                | "на"
                | "о"
                | "об"
                | "по"
                | "из"
                | "от"
                | "при"
                | "над"
                | "for"
                | "under"
                | "on"
                | "to"
                | "from"
                | "about"
                | "үшін"
                | "арқылы"
                | "туралы"
                | "астына"
                | "астында"
        )
        || is_number_stop(w)
}

/// Prepositions that open a noun phrase modifying the one before.
fn is_preposition(w: &str) -> bool {
    matches!(
        w,
        "к" | "ко"
            | "под"
            | "на"
            | "по"
            | "о"
            | "об"
            | "для"
            | "из"
            | "с"
            | "со"
            | "от"
            | "в"
            | "во"
            | "for"
            | "on"
            | "under"
            | "to"
            | "of"
            | "about"
            | "from"
            | "in"
            // "each" and "every" make the next noun the item counted against: "лайктар әр
            // постқа 300", "20 comments per post"
            | "каждой"
            | "каждому"
            | "каждый"
            | "каждую"
            | "каждого"
            | "каждом"
    ) || is_each_word(w)
}

/// "Each", "every", "per": the noun after it is the item counted against.
fn is_each_word(w: &str) -> bool {
    matches!(w, "әр" | "әрбір" | "each" | "every" | "per")
}

/// Words a number is never counted across: years, clause numbers, money.
fn is_number_stop(w: &str) -> bool {
    matches!(
        w,
        "год"
            | "года"
            | "году"
            | "годы"
            | "г"
            | "гг"
            | "жыл"
            | "жылы"
            | "жылға"
            | "year"
            | "п"
            | "пп"
            | "пункт"
            | "пункта"
            | "пункте"
            | "ст"
            | "статьи"
            | "статья"
            | "статье"
            | "№"
            | "no"
            | "тг"
            | "тенге"
            | "теңге"
            | "kzt"
    )
}

/// A number stop that labels no number here: "г." of a town ("акима г. Шымкент"), not of a
/// year, and "no" of "no reference to the Ministry" (only "No. 5" labels a number).
fn stop_without_number(text: &str, w: &str, end: usize) -> bool {
    matches!(w, "г" | "no")
        && !next_word(text.as_bytes(), end).is_some_and(|n| is_number_token(word(text, n)))
}

/// A currency after a number makes it money, not a count: "комментария – 500 тенге".
fn is_money_word(w: &str) -> bool {
    matches!(
        w,
        "тг" | "тенге" | "теңге" | "kzt" | "₸" | "руб" | "рублей" | "usd" | "долл" | "tenge"
    )
}

/// The period of "X сайын" (every X): күн, апта, ай, тоқсан, also typed plain.
fn every(w: &str) -> Option<Period> {
    match w {
        "күн" | "кун" => Some(Period::Day),
        "апта" => Some(Period::Week),
        "ай" => Some(Period::Month),
        "тоқсан" | "токсан" => Some(Period::Quarter),
        _ => None,
    }
}

/// How far the forward search goes for a number said as a rate after a marker.
const FAR_STEPS: usize = 30;

/// The count of a price, not of an order: "стоимость 1 комментария – 300 тенге", "500
/// тенге за 1 (один) комментарий", "1 пікір – 500 теңге". `ns` is where the number starts,
/// `we` where the unit word ends. ("900 комментариев – 450 000 тенге" is a count and its
/// total: only one unit followed by a sum is a price.)
fn is_unit_price(text: &str, ns: usize, end: usize, count: u64) -> bool {
    let t = text.as_bytes();
    let w = |p: Option<(usize, usize)>| p.map(|p| word(text, p));
    let before = prev_word(t, ns);
    let before2 = before.and_then(|b| prev_word(t, b.0));
    let priced = |x: Option<&str>| {
        x.is_some_and(|x| {
            matches!(
                x,
                "стоимость" | "цена" | "price" | "cost" | "бағасы" | "құны"
            )
        })
    };
    if priced(w(before)) || priced(w(before2)) {
        return true;
    }
    if matches!(w(before), Some("за" | "per")) && w(before2).is_some_and(is_money_word) {
        return true;
    }
    if count != 1 {
        return false;
    }
    // after the number and its unit: an optional dash, a number, a currency
    let mut cur = next_word(t, end);
    if cur.is_some_and(|c| !is_number_token(word(text, c)) && word(text, c) != "-") {
        cur = cur.and_then(|c| next_word(t, c.1));
    }
    if w(cur) == Some("-") {
        cur = cur.and_then(|c| next_word(t, c.1));
    }
    let mut saw_number = false;
    while let Some(c) = cur {
        let s = word(text, c);
        if is_number_token(s) {
            saw_number = true;
            cur = next_word(t, c.1);
            continue;
        }
        return saw_number && is_money_word(s);
    }
    false
}

/// An account, page or channel, whose followers a count may be of.
fn is_page_word(w: &str) -> bool {
    [
        "аккаунт",
        "акаунт",
        "страниц",
        "канал",
        "профил",
        "парақша",
        "паблик",
        "account",
        "page",
        "channel",
        "profile",
    ]
    .iter()
    .any(|p| w.starts_with(p))
}

/// Number words that are no count here: "тоқсан сайын" (every quarter; тоқсан is also
/// ninety), and "one" alone unless a marker asks for at least one: the "one" of a unit's
/// price or size ("стоимость одного комментария", "бір үлгідегі пікірлер": comments of one
/// pattern), while "не менее одного отзыва в день" is a count.
fn not_a_count(toks: &[&str], before: Option<&str>, after: Option<&str>) -> bool {
    match toks {
        ["тоқсан" | "токсан"] => after == Some("сайын"),
        ["одного" | "одной" | "одному" | "одним" | "одном" | "одною" | "одну" | "бір" | "бир"] => {
            !before.is_some_and(is_count_marker)
        }
        _ => false,
    }
}

/// Words of handling what others wrote, never of making it: a count after them (or, in
/// Kazakh, before them) is of comments read, moderated, answered or taken down ("обработка не
/// менее 3 000 комментариев", "жалобы на 50 фейковых аккаунтов", "1 000 пікірді тексеру",
/// "214 пікірге жауап берілді", "remove 200 bot accounts"), which no one paid to manufacture.
pub(crate) fn is_handling_word(w: &str) -> bool {
    [
        "обработ",
        "обрабатыв",
        "анализ",
        "проанализ",
        "мониторинг",
        "модерац",
        "модерир",
        "отмодер",
        "просмотр",
        "просматр",
        "провер",
        "удален",
        "удалил",
        "удаля",
        "удалит",
        "скрыт",
        "скрыв",
        "выявл",
        "выяв",
        "жалоб",
        "верифик",
        "блокир",
        "заблокир",
        "отслеж",
        "классифиц",
        "разметк",
        "ответ",
        "тексер",
        "талда",
        "талдан",
        "қаралған",
        "каралган",
        "жою",
        "жойыл",
        "бұғатта",
        "бугатта",
        "анықтал",
        "аныктал",
        "шағым",
        "шагым",
        "өңде",
        "онде",
        "жауап",
        "analy",
        "monitor",
        "moderat",
        "remov",
        "detect",
        "identif",
        "takedown",
        "delet",
        "answer",
        "respond",
        "classif",
        "фильтр",
        "сүзгі",
        "receiv",
        "поступа",
        "поступлен",
        // found, taken down or counted by others: a report, not an order
        "обнаруж",
        "появил",
        "appeared",
        "ликвидир",
        "насчитал",
        "suspend",
        "found",
        "traced",
        "uncover",
        "estimat",
        "labell",
        "размечен",
        "табылд",
        "тапты",
        "таптык",
        "таптық",
        "sentiment",
        "анықтад",
        "аныктад",
    ]
    .iter()
    .any(|p| w.starts_with(p))
}

/// Words of making or running accounts and pages, which end the look back for a handling
/// word: a count after them is of things made even inside a monitoring service.
fn is_making_word(w: &str) -> bool {
    [
        "созда",
        "завед",
        "зарегистр",
        "регистрац",
        "ведени",
        "вести",
        "ведет",
        "ведёт",
        "ашу",
        "ашып",
        "ашад",
        "құру",
        "құрып",
        "құрад",
        "куру",
        "курып",
        "курад",
        "тірке",
        "тирке",
        "creat",
        "open",
        "regist",
    ]
    .iter()
    .any(|p| w.starts_with(p))
}

/// A count of things handled, not made: a handling word among the four words before the
/// quota (same clause), or, Kazakh verbs coming last, right after it.
fn handled_not_made(
    text: &str,
    start: usize,
    end: usize,
    next_char: &dyn Fn(usize) -> Option<char>,
) -> bool {
    let t = text.as_bytes();
    // between a unit and its number: "пікір сүзгісін баптайды (кемінде 300 сөз)"
    let mut cur = next_word(t, start);
    while let Some(w) = cur {
        if w.1 > end {
            break;
        }
        if is_handling_word(word(text, w)) {
            return true;
        }
        cur = next_word(t, w.1);
    }
    let mut cur = prev_word(t, start);
    for _ in 0..4 {
        let Some(w) = cur else { break };
        if matches!(next_char(w.1), Some(',' | ';' | ':' | '|' | '\t')) {
            break;
        }
        let s = word(text, w);
        if is_making_word(s) {
            // "мониторинг ... осуществляет создание четырех фейковых аккаунтов": the
            // monitoring is another service; these accounts are made
            break;
        }
        if is_handling_word(s) {
            return true;
        }
        cur = prev_word(t, w.0);
    }
    // ... in its own clause: "(2 аккаунт), верификация рәсімін өткізу" verifies, not makes them
    let mut cur = if matches!(next_char(end), Some(',' | ';' | ':' | ')' | '|' | '\t')) {
        None
    } else {
        next_word(t, end)
    };
    for _ in 0..2 {
        let Some(w) = cur else { break };
        let s = word(text, w);
        if is_handling_word(s) && !s.starts_with("ответ") {
            return true;
        }
        if matches!(next_char(w.1), Some(',' | ';' | ':' | '|' | '\t')) {
            break;
        }
        cur = next_word(t, w.1);
    }
    false
}

/// Accounts are kept, not produced: a count of accounts has no period, only the whole term
/// they are kept for ("4 аккаунт ... шарт мерзімі ішінде жүргізеді").
pub(crate) fn kept_period(kind: QuotaKind, per: Option<Period>) -> Option<Period> {
    if kind == QuotaKind::Accounts {
        per.filter(|p| *p == Period::Term)
    } else {
        per
    }
}

/// A noun a plan or a volume is headed with ("Monthly plan:", "Ай сайынғы жоспар:").
fn is_plan_noun(w: &str) -> bool {
    PLAN_NOUNS.contains(&w)
}

/// What [`is_plan_noun`] knows: the nouns of a plan, a volume, a target.
const PLAN_NOUNS: &[&str] = &[
    "план",
    "плана",
    "plan",
    "plans",
    "жоспар",
    "жоспары",
    "жоспарі",
    "volumes",
    "volume",
    "көлем",
    "көлемі",
    "колем",
    "колеми",
    "объем",
    "объём",
    "объемы",
    "targets",
    "target",
    "kpi",
    "kpis",
    "норма",
    "нормасы",
    "indicators",
    "показатели",
    "көрсеткіштер",
    "көрсеткіштері",
    "тапсырмалар",
    "задачи",
];

/// A word that makes the unit after it a denominator: "per post", "each profile", "на каждую
/// публикацию", "әр жарияланымға".
fn is_per_word(w: &str) -> bool {
    is_each_word(w)
        || matches!(
            w,
            "каждую"
                | "каждый"
                | "каждой"
                | "каждого"
                | "каждое"
                | "каждому"
                | "ар"
                | "арбир"
        )
}

/// A period said as an adverb ("ежемесячно", "daily", "күнделікті"), which never counts a
/// duration as "2 месяца" does.
fn is_rate_adverb(w: &str) -> bool {
    [
        "ежедневн",
        "еженедельн",
        "ежемесячн",
        "ежекварталь",
        "күнделікті",
        "кунделикти",
    ]
    .iter()
    .any(|p| w.starts_with(p))
        || matches!(w, "daily" | "weekly" | "monthly" | "quarterly")
}

pub(crate) fn period_word(w: &str) -> Option<Period> {
    period_word_as_typed(w).or_else(|| {
        // Kazakh typed without its letters, or with a Latin "i": "кунiне", "айлык" (no period
        // word is longer than 20 bytes: longer words are not copied to look)
        (w.len() <= 20
            && w.chars()
                .any(|c| matches!(c, 'ә' | 'ғ' | 'қ' | 'ң' | 'ө' | 'ұ' | 'ү' | 'һ' | 'і')))
        .then(|| period_word_as_typed(&super::stem::kk_plain(w)))
        .flatten()
    })
}

fn period_word_as_typed(w: &str) -> Option<Period> {
    match w {
        // monthly, weekly, quarterly as adjectives: "пікірлердің айлық саны – 500"
        "айлық" | "айлык" => Some(Period::Month),
        "апталық" | "апталык" => Some(Period::Week),
        "тоқсандық" | "токсандык" => Some(Period::Quarter),
        "день" | "дня" | "сутки" | "суток" | "day" | "daily" | "күніне" | "тәулігіне"
        | "кунине" | "таулигине" => Some(Period::Day),
        "неделю" | "неделя" | "недели" | "нед" | "week" | "weekly" | "аптасына" | "апта" => {
            Some(Period::Week)
        }
        "месяц" | "месяца" | "мес" | "month" | "monthly" | "айына" | "ай" => {
            Some(Period::Month)
        }
        _ if w.starts_with("ежедневн")
            || w.starts_with("суточн")
            || w.starts_with("күнделікті")
            || w.starts_with("кунделикти") =>
        {
            Some(Period::Day)
        }
        _ if w.starts_with("еженедельн") => Some(Period::Week),
        _ if w.starts_with("ежемесячн") => Some(Period::Month),
        "квартал" | "квартала" | "квартале" | "quarter" | "quarterly" | "тоқсанына"
        | "токсанына" => Some(Period::Quarter),
        _ if w.starts_with("ежекварталь") => Some(Period::Quarter),
        _ => None,
    }
}

/// A month's name (Russian in the nominative, genitive or prepositional; Kazakh, also typed
/// plainly; English).
pub(crate) fn is_month_name(w: &str) -> bool {
    const RU: &[&str] = &[
        "январ",
        "феврал",
        "март",
        "апрел",
        "ма",
        "июн",
        "июл",
        "август",
        "сентябр",
        "октябр",
        "ноябр",
        "декабр",
    ];
    let ru = RU.iter().any(|m| {
        w.strip_prefix(m).is_some_and(|rest| {
            matches!(rest, "" | "ь" | "я" | "е" | "а" | "й" | "ю")
                && (*m != "ма" || matches!(rest, "й" | "я" | "е"))
                && (*m != "март" || rest != "ь")
        })
    });
    ru || matches!(
        w,
        "қаңтар"
            | "ақпан"
            | "наурыз"
            | "сәуір"
            | "мамыр"
            | "маусым"
            | "шілде"
            | "тамыз"
            | "қыркүйек"
            | "қазан"
            | "қараша"
            | "желтоқсан"
            | "каңтар"
            | "кантар"
            | "акпан"
            | "сауир"
            | "шилде"
            | "кыркуйек"
            | "казан"
            | "караша"
            | "желтоксан"
            | "january"
            | "february"
            | "march"
            | "april"
            | "june"
            | "july"
            | "august"
            | "september"
            | "october"
            | "november"
            | "december"
    )
}

/// Where a text names the month or quarter its figures are for, as an act, a plan or a report
/// is headed: "Акт ... за март 2023 г.", "План-график на май 2024 г.", "Итоги ноября", "2023
/// жылғы қыркүйек", "наурыз айында", "for October 2022", "за III квартал", "Q2" (folded
/// offsets, in text order). A month after a day number is a date, never a period ("до 31
/// марта"); one after "с", "по", "до", "от" bounds a term.
pub(crate) fn heading_periods(text: &str) -> Vec<(usize, Period)> {
    let t = text.as_bytes();
    let mut out = Vec::new();
    let mut prev: Option<&str> = None;
    let mut prev2: Option<&str> = None;
    let mut prev_s = 0usize;
    let mut prev_plan = false;
    // the last five words, for a total said some words before its term
    let mut recent: [&str; 5] = [""; 5];
    let mut nth = 0usize;
    let mut s = 0usize;
    while s < t.len() {
        let e = memchr::memchr2(SEP, BREAK, &t[s..]).map_or(t.len(), |k| s + k);
        let w = &text[s..e];
        // the cheap tests first (most words are no month): a month after "за", or before a
        // year or "айында", at the month's own offset
        let heads = matches!(
            prev,
            Some("за" | "на" | "итоги" | "итогам" | "for" | "in" | "during" | "жылғы" | "жылгы")
        );
        let after = (w.len() == 4 && is_digits(w))
            || matches!(w, "айында" | "айы" | "айындағы" | "айындагы");
        let month_at = if heads && w.len() <= 20 && is_month_name(w) {
            Some(s)
        } else if after
            && prev.is_some_and(|p| p.len() <= 20 && is_month_name(p))
            && !matches!(
                prev2,
                Some("с" | "по" | "до" | "от" | "from" | "until" | "till" | "to")
            )
            && !prev2.is_some_and(|p| p.len() <= 2 && is_digits(p))
        {
            Some(prev_s)
        } else {
            None
        };
        if let Some(at) = month_at
            && out.last().is_none_or(|&(o, _)| o != at)
        {
            out.push((at, Period::Month));
        }
        // a plan named by its period: "Monthly plan:", "Ай сайынғы жоспар:", "Айлық көлем",
        // "KPI (monthly)", "IV тоқсан жоспары"; a total for the term: "Total for the 6-month
        // term:", "Итого за весь период"
        // most words start with a letter none of the plan, term and quarter words below
        // starts with: they skip those tests
        let named = may_name_a_period(w);
        let plan = named && is_plan_noun(w);
        if plan {
            let before = prev.and_then(|p| {
                period_word(p).or_else(|| match (prev2, p) {
                    (Some(b), "сайынғы" | "сайынгы") => period_word(b),
                    (Some("i" | "ii" | "iii" | "iv"), "тоқсан" | "токсан" | "квартал") => {
                        Some(Period::Quarter)
                    }
                    _ => None,
                })
            });
            if let Some(p) = before {
                out.push((s, p));
            }
        } else if prev_plan && let Some(p) = period_word(w) {
            out.push((s, p));
        }
        if named
            && TERM_WORDS.contains(&w)
            && recent.iter().any(|r| {
                matches!(
                    *r,
                    "total"
                        | "итого"
                        | "всего"
                        | "барлығы"
                        | "барлыгы"
                        | "whole"
                        | "entire"
                        | "весь"
                )
            })
        {
            out.push((s, Period::Term));
        }
        let quarter_named = named
            && QUARTER_WORDS.contains(&w)
            && matches!(
                prev,
                Some(
                    "i" | "ii"
                        | "iii"
                        | "iv"
                        | "1"
                        | "2"
                        | "3"
                        | "4"
                        | "1-й"
                        | "первый"
                        | "второй"
                        | "третий"
                        | "четвертый"
                )
            )
            && matches!(prev2, Some("за" | "в" | "итого" | "for" | "in"));
        if quarter_named || (named && Q_WORDS.contains(&w)) {
            out.push((s, Period::Quarter));
        }
        prev_plan = plan;
        prev2 = prev;
        prev = Some(w);
        prev_s = s;
        // a ring: which of the five is oldest does not matter to the test above
        recent[nth % 5] = w;
        nth += 1;
        s = e + 1;
    }
    out
}

/// The words of a term, a quarter, a numbered quarter in [`heading_periods`].
const TERM_WORDS: &[&str] = &["term", "срок", "период", "мерзімі", "мерзім"];
const QUARTER_WORDS: &[&str] = &["квартал", "квартале", "тоқсан", "токсан", "quarter"];
const Q_WORDS: &[&str] = &["q1", "q2", "q3", "q4"];

/// Whether a word starts with a letter that one of [`heading_periods`]' plan nouns
/// ([`is_plan_noun`]), term words ("term", "срок", "период", "мерзім") or quarter words
/// ("квартал", "тоқсан", "quarter", "q1") starts with: the others skip those tests.
fn may_name_a_period(w: &str) -> bool {
    matches!(
        w.chars().next(),
        Some(
            'p' | 'v' | 't' | 'k' | 'i' | 'q' | 'п' | 'ж' | 'к' | 'о' | 'н' | 'т' | 'з' | 'с' | 'м'
        )
    )
}

/// The period of "in one X": "1 күнде", "бір айда", "бір тәулік ішінде", "в один день".
fn in_one(w: &str) -> Option<Period> {
    match w {
        "күнде" | "кунде" | "тәулікте" | "таулікте" | "тәулік" | "таулик" | "день" => {
            Some(Period::Day)
        }
        "аптада" | "неделю" => Some(Period::Week),
        "айда" | "месяц" => Some(Period::Month),
        "тоқсанда" | "токсанда" => Some(Period::Quarter),
        _ => None,
    }
}

/// Words that make the whole contract term the period ("за весь период оказания услуг", "в
/// рамках договора", "шарт мерзімі ішінде", "over the term of the contract"): the word and the
/// word before it.
fn term_word(prev: Option<&str>, w: &str) -> bool {
    match w {
        "договора" | "договору" | "контракта" | "контракту" | "шарт" | "шарттың" | "шартқа"
        | "contract" => true,
        "период" | "срок" | "периода" | "срока" | "мерзімі" | "мерзімінде" | "term" =>
        {
            matches!(
                prev,
                Some(
                    "весь"
                        | "за"
                        | "на"
                        | "the"
                        | "шарт"
                        | "всего"
                        | "действия"
                        | "оказания"
                        | "contract"
                        | "договора"
                        | "течение"
                        | "талқылау"
                        | "көрсету"
                )
            )
        }
        // "for the whole period of rendering of services", "during the campaign period"
        "period" | "duration" => matches!(
            prev,
            Some("whole" | "entire" | "campaign" | "discussion" | "contract" | "contractual")
        ),
        // "сүйемелдеу кезеңінде" (over the support period), "қызмет көрсету кезеңінде"
        "кезеңінде" | "кезеңі" => matches!(
            prev,
            Some("сүйемелдеу" | "көрсету" | "шарт" | "шарттың" | "талқылау" | "орындау")
        ),
        _ => false,
    }
}

/// Folded-text navigation: the word before the one starting at `start`, same sentence.
pub(crate) fn prev_word(t: &[u8], start: usize) -> Option<(usize, usize)> {
    if start == 0 || start > t.len() || t[start - 1] != SEP {
        return None;
    }
    let e = start - 1;
    word_start_before(t, e).map(|s| (s, e))
}

/// Longest word (bytes) the in-place checks walk over; a longer run stops a walk.
pub(crate) const MAX_WALK_WORD: usize = 1024;

/// Start of the word ending at `e`, if it is at most [`MAX_WALK_WORD`] bytes long.
pub(crate) fn word_start_before(t: &[u8], e: usize) -> Option<usize> {
    let lo = e.saturating_sub(MAX_WALK_WORD);
    match memchr::memrchr2(SEP, BREAK, &t[lo..e]) {
        Some(k) => Some(lo + k + 1),
        None if lo == 0 => Some(0),
        None => None,
    }
}

/// The word after the one ending at `end`, same sentence.
pub(crate) fn next_word(t: &[u8], end: usize) -> Option<(usize, usize)> {
    if end >= t.len() || t[end] != SEP {
        return None;
    }
    let s = end + 1;
    word_end_after(t, s).map(|e| (s, e))
}

/// End of the word starting at `s`, if it is at most [`MAX_WALK_WORD`] bytes long.
pub(crate) fn word_end_after(t: &[u8], s: usize) -> Option<usize> {
    let hi = (s + MAX_WALK_WORD).min(t.len());
    match memchr::memchr2(SEP, BREAK, &t[s..hi]) {
        Some(k) => Some(s + k),
        None if hi == t.len() => Some(t.len()),
        None => None,
    }
}

/// A quota in folded offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawQuota {
    pub kind: QuotaKind,
    pub count: u64,
    pub per: Option<Period>,
    pub start: usize,
    pub end: usize,
    /// Folded start of the number, and whether it stands before its unit word.
    pub num_start: usize,
    pub num_before: bool,
}

/// Words right after a number that count people, not the unit ("респонденттер саны – 800 адам",
/// "1 000 respondents", "50 человек"); followers are people, so not for them.
/// The word right after a number says it counts something else: a duration, a length, money,
/// people (but followers are people), or another noun ("60 запросов в минуту", "25
/// қызметкеріне", "a 2023 study", "6 полос", "3 вебинара").
fn counts_another(a: &str, kind: QuotaKind) -> bool {
    is_duration_word(a)
        || is_length_word(a)
        || is_money_word(a)
        || (kind != QuotaKind::Followers && is_people_word(a))
        || is_other_noun(a)
}

/// Nouns a number in a specification counts that are none of the quota units: requests,
/// staff, sessions, prizes, templates, printed pages and copies, years, campaigns.
fn is_other_noun(w: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "запрос",
        "request",
        "сотрудник",
        "қызметкер",
        "кызметкер",
        "специалист",
        "маман",
        "employee",
        "staff",
        "оператор",
        "занят",
        "вебинар",
        "webinar",
        "семинар",
        "seminar",
        "тренинг",
        "training",
        "session",
        "сабақ",
        "приз",
        "prize",
        "шаблон",
        "template",
        "вариант",
        "variant",
        "выпуск",
        "полос",
        "тираж",
        "экземпляр",
        "copies",
        "модул",
        "module",
        "кампани",
        "campaign",
        "лицензи",
        "licen",
        "study",
        "studies",
        "пайыз",
        "процент",
        "signatur",
        "област",
        "район",
        "регион",
        "region",
        "district",
        "город",
        "просмотр",
        "view",
        "қаралым",
        "impression",
        "показ",
        "жылғы",
        "жылдың",
        "жылдан",
        "жылдары",
    ];
    PREFIXES.iter().any(|p| w.starts_with(p)) || matches!(w, "г" | "гг" | "жылы")
}

fn is_people_word(w: &str) -> bool {
    matches!(
        w,
        "адам"
            | "адамнан"
            | "адамға"
            | "человек"
            | "чел"
            | "people"
            | "persons"
            | "respondents"
            | "residents"
            | "респондент"
            | "респондентов"
            | "респонденттер"
            | "респондентпен"
            | "респондентті"
            | "участников"
            | "жителей"
    )
}

/// Words right after a number that make it a length of text, never a count ("не менее 150
/// знаков", "кемінде 300 сөз", "up to 280 characters").
fn is_length_word(w: &str) -> bool {
    matches!(
        w,
        "знак"
            | "знака"
            | "знаков"
            | "символ"
            | "символа"
            | "символов"
            | "слов"
            | "слова"
            | "таңба"
            | "таңбадан"
            | "таңбаға"
            | "танба"
            | "сөз"
            | "сөзден"
            | "соз"
            | "characters"
            | "chars"
            | "words"
    )
}

/// Words right after a number that make it a duration or a deadline, never a count ("24 часа",
/// "24 сағат ішінде", "within 48 hours", "30 минут").
fn is_duration_word(w: &str) -> bool {
    matches!(
        w,
        "час"
            | "часа"
            | "часов"
            | "ч"
            | "минут"
            | "минуты"
            | "мин"
            | "сағат"
            | "сагат"
            | "сағаттың"
            | "hour"
            | "hours"
            | "minute"
            | "minutes"
            | "рабочих"
            | "месяца"
            | "месяцев"
            | "недель"
            | "months"
            | "weeks"
            | "рабочего"
            | "календарных"
            | "календарного"
            | "рет"
            | "раз"
            | "раза"
            | "times"
            | "гбит"
            | "мбит"
            | "экз"
            | "пайызға"
            | "процента"
            | "working"
            | "business"
            | "дней"
            | "дня"
            | "days"
            | "жұмыс"
            | "секунд"
            | "seconds"
            | "лет"
            | "года"
            | "жыл"
            | "years"
            | "числа"
            | "процент"
            | "процентов"
            | "пайыз"
            | "percent"
    )
}

/// Words that say what a number in a table cell or after a colon is measured in ("шт.",
/// "шт./день", "ед. в месяц", "дана"): a number right after them is a count.
/// Pieces a count is given in ("10 шт.", "5 ед.", "10 дана"): after a number they close its
/// phrase.
fn is_piece_word(w: &str) -> bool {
    matches!(
        w,
        "шт" | "штук" | "ед" | "единиц" | "дана" | "pcs" | "units" | "pieces" | "items"
    )
}

fn is_measure_word(w: &str) -> bool {
    is_piece_word(w)
        || matches!(
            w,
            "сайын"
                | "штуки"
                | "единица"
                | "qty"
                | "units"
                | "unit"
                | "кол"
                | "во"
                | "количество"
                | "саны"
                | "объем"
                | "объём"
                | "көлемі"
        )
        || period_word(w).is_some()
}

/// Whether the word starting at folded `start` sits in a prepositional phrase: a preposition
/// among the three words before it, with no number or unit boundary between ("для написания
/// положительных комментариев", "on the akimat's posts"). Such a unit modifies another noun and
/// neither takes a number written after it nor stops the head noun's search for one.
/// An English noun of making or placing: "placement of comments – 150" counts the comments.
fn is_making_noun(w: &str) -> bool {
    matches!(
        w,
        "placement"
            | "placing"
            | "posting"
            | "writing"
            | "creation"
            | "generation"
            | "provision"
            | "maintenance"
            | "registration"
            | "delivery"
    )
}

fn after_preposition(text: &str, start: usize, next_char: &dyn Fn(usize) -> Option<char>) -> bool {
    let t = text.as_bytes();
    let mut cur = prev_word(t, start);
    // ends of the words passed; their punctuation is looked up only once a preposition is found
    let mut passed: [usize; 3] = [0; 3];
    for k in 0..3 {
        let Some(p) = cur else { return false };
        passed[k] = p.1;
        let w = word(text, p);
        if is_preposition(w) {
            // "норму по лайкам — 200" names what the norm counts
            if w == "по"
                && prev_word(t, p.0).is_some_and(|b| {
                    let b = word(text, b);
                    b.starts_with("норм") || b.starts_with("план")
                })
            {
                return false;
            }
            // "the number of comments" names what is counted: the unit heads the phrase
            if w == "of"
                && prev_word(t, p.0).is_some_and(|b| {
                    matches!(
                        word(text, b),
                        "number" | "amount" | "volume" | "quantity" | "total"
                    ) || is_making_noun(word(text, b))
                })
            {
                return false;
            }
            // a colon, comma or bracket in between closes the phrase: "в социальных сетях:
            // комментарии – 15 000"
            return !passed[..=k]
                .iter()
                .any(|&e| matches!(next_char(e), Some(':' | ',' | ';' | '(' | ')' | '–' | '—')));
        }
        if is_number_token(w) || matches!(w, "-" | "и" | "and" | "және") {
            return false;
        }
        cur = prev_word(t, p.0);
    }
    false
}

fn word(text: &str, (s, e): (usize, usize)) -> &str {
    &text[s..e]
}

/// The quota whose unit word is at folded `[ws, we)`, if a number belongs to it.
pub(crate) fn quota_at(
    text: &str,
    ws: usize,
    we: usize,
    kind: QuotaKind,
    is_unit: &dyn Fn(usize) -> bool,
    next_char: &dyn Fn(usize) -> Option<char>,
) -> Option<RawQuota> {
    // a unit after "per", "each", "на каждую", "әр" is what another count is counted against:
    // "100 reactions per publication", "5 comments a day from each profile"
    if prev_word(text.as_bytes(), ws).is_some_and(|p| is_per_word(word(text, p))) {
        return None;
    }
    // a number followed in the original by a cell or list mark: "1 |", "1\t", "1)", "1."
    let row_marked = |e: usize| matches!(next_char(e), Some('|' | '\t' | ')' | '.'));
    // a range counts from its lower bound: "50–70 комментариев", "10-12 шт"
    let cut_range = |run: &mut Vec<(usize, usize)>| {
        if let Some(i) = (0..run.len().saturating_sub(1)).find(|&i| {
            is_digits(word(text, run[i]))
                && is_digits(word(text, run[i + 1]))
                && matches!(next_char(run[i].1), Some('-' | '–' | '—' | '‒'))
        }) {
            run.truncate(i + 1);
        }
    };
    // a share, never a count: "100% пікірлер өңделеді", "70 %"
    let percent_follows = |e: usize| matches!(next_char(e), Some('%' | '\u{066A}' | '\u{FF05}'));
    let t = text.as_bytes();
    // ... also with a Kazakh suffix after the sign: "пікірлердің 70%-ы"
    let share = |run: &[(usize, usize)]| run.iter().any(|w| percent_follows(w.1));
    // years, not a range of counts: "SMM contracts from 2019–2023 included paid comments"
    let year_range = |run: &[(usize, usize)]| {
        run.windows(2).any(|p| {
            let year = |w: (usize, usize)| {
                let s = word(text, w);
                s.len() == 4 && s.parse::<u16>().is_ok_and(|y| (1900..=2100).contains(&y))
            };
            year(p[0]) && year(p[1]) && matches!(next_char(p[0].1), Some('-' | '–' | '—' | '‒'))
        })
    };
    // a number joined by a hyphen to a word is part of an adjective: "5-star reviews",
    // "two-factor"
    let compound = |run: &[(usize, usize)]| {
        let last = run[run.len() - 1];
        next_char(last.1) == Some('-')
            && next_word(t, last.1).is_some_and(|n| {
                let s = word(text, n);
                n.0 == last.1 + 1 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic())
            })
    };
    // backward: up to 3 filler words, then a run of number tokens
    let mut num: Option<(usize, usize, u64)> = None; // (start, end, value)
    let mut cur = prev_word(t, ws);
    let mut fillers = 0;
    // ends of the words passed going back: a comma, semicolon or colon after one of them (or
    // after the number) closes the clause ("публикации – 20 в месяц, комментарии – 600 в
    // месяц"); the original text is looked at only once a number is found
    // (at most three fillers are passed: no allocation on this hot path)
    let mut passed = [0usize; 3];
    let clause_closed = |ends: &[usize]| {
        ends.iter()
            .any(|&e| matches!(next_char(e), Some(',' | ';' | ':')))
    };
    while let Some(w) = cur {
        let s = word(text, w);
        if is_number_token(s)
            || is_num_suffix(s) && prev_word(t, w.0).is_some_and(|p| is_digits(word(text, p)))
        {
            // collect the run backwards
            let mut run = vec![w];
            let mut p = prev_word(t, w.0);
            while let Some(pw) = p {
                let ps = word(text, pw);
                if is_number_token(ps) || is_num_suffix(ps) {
                    run.push(pw);
                    p = prev_word(t, pw.0);
                } else {
                    break;
                }
            }
            run.reverse();
            let unit_side_end = run[run.len() - 1].1;
            let no_count = share(&run) || year_range(&run) || compound(&run);
            cut_range(&mut run);
            let toks: Vec<&str> = run.iter().map(|&w| word(text, w)).collect();
            let after = next_word(t, unit_side_end).map(|n| word(text, n));
            let before = prev_word(t, run[0].0).map(|p| word(text, p));
            if let Some(v) = parse_number(&toks)
                && !not_a_count(&toks, before, after)
                && !after.is_some_and(|a| counts_another(a, kind))
                && !no_count
                && !clause_closed(&passed[..fillers])
                && !clause_closed(&[unit_side_end])
                // "(кемінде 40), қолданылған аккаунттар": a bracket closed after a lone number
                // ends its phrase ("4 (четыре) аккаунта" is one number, its word in brackets)
                && !(run.len() == 1 && next_char(unit_side_end) == Some(')'))
            {
                num = Some((run[0].0, unit_side_end, v));
            }
            break;
        }
        if is_backward_stop(s) || is_unit(w.0) || fillers >= 3 {
            break;
        }
        passed[fillers] = w.1;
        fillers += 1;
        cur = prev_word(t, w.0);
    }
    // a small number opening a sentence (a table row, a list item: "1 | Комментарии | шт. |
    // 900") is the row's number when another number follows in the row
    let row_number = num.is_some_and(|(ns, _, v)| {
        v < 1000 && prev_word(t, ns).is_none() && word_end_after(t, ns).is_some_and(row_marked)
    });
    if row_number {
        num = None;
    }
    // a unit after a preposition modifies another ("комментарии к публикациям – 400"): it takes
    // no number written after it
    // ... unless a bracket opens right after it with its number: "a network of sockpuppet
    // accounts (minimum 25)", "в социальных сетях (8 шт.)"
    let modifier = after_preposition(text, ws, next_char) && next_char(we) != Some('(');
    if num.is_none() && !modifier {
        // forward: a number right after the unit with only "не менее", "кемінде", "at least"
        // in between, or within six words when such a marker stands right before it
        // ("Количество отзывов о работе: не менее 40")
        let mut cur = next_word(t, we);
        let mut steps = 0;
        // a table row reads further: "Комментарии к публикациям | шт. в месяц | 900"
        let mut max_steps: usize = if row_number { 10 } else { 9 };
        let mut all_fillers = true;
        let mut prev_marker = false;
        // the word before is a dash or ends with a colon; a period word stands just before
        // (with a marker between: "айына кемінде 300")
        let mut prev_dash = false;
        let mut period_before = false;
        let mut dash_tail = false;
        let mut prev_end = we;
        let mut prev_each = false;
        let mut count_named = false;
        // a word naming a volume passed on the way ("в количестве", "in a volume of", "total")
        let mut volume_named = false;
        while let Some(w) = cur {
            let s = word(text, w);
            if is_number_token(s) {
                let mut run = vec![w];
                let mut n = next_word(t, w.1);
                while let Some(nw) = n {
                    let ns = word(text, nw);
                    if is_number_token(ns) || is_num_suffix(ns) {
                        run.push(nw);
                        n = next_word(t, nw.1);
                    } else {
                        break;
                    }
                }
                // a rate right after the number makes it a count too: "положительного
                // характера — 25 в сутки"
                let rate_follows = || {
                    let mut c = next_word(t, run[run.len() - 1].1);
                    for _ in 0..2 {
                        let Some(nw) = c else { return false };
                        if period_word(word(text, nw)).is_some() {
                            return true;
                        }
                        c = next_word(t, nw.1);
                    }
                    false
                };
                // or the whole term: "не менее 600 over the term", "– 200 за весь период"
                let term_follows = || {
                    let mut c = next_word(t, run[run.len() - 1].1);
                    let mut prev = None;
                    for _ in 0..4 {
                        let Some(nw) = c else { return false };
                        let w = word(text, nw);
                        if term_word(prev, w) {
                            return true;
                        }
                        prev = Some(w);
                        c = next_word(t, nw.1);
                    }
                    false
                };
                let measure_follows = next_word(t, run[run.len() - 1].1)
                    .is_some_and(|n| is_piece_word(word(text, n)));
                // a label and its value: "Лайки на публикации акимата: 150 на каждую"; "the
                // number of" said on the way: "жазылушылар санын шарт соңына дейін 5000-ға"
                let colon_before =
                    steps <= 6 && (matches!(next_char(prev_end), Some(':')) || count_named);
                // far from its unit, a number is its count only as a rate after a marker:
                // "написание комментариев от имени ... пользователей, не менее 30 в сутки"
                let far = steps > max_steps && !(dash_tail && steps < 18);
                // ... or as so many pieces after the volume is named: "в количестве 20
                // единиц", "in a volume of 150 units per quarter" (what is counted is the unit
                // the sentence spoke of, no other unit standing between)
                let pieces_far = measure_follows && volume_named;
                if far
                    && !pieces_far
                    && !((prev_marker || prev_dash)
                        && (rate_follows() || period_before || term_follows()))
                {
                    break;
                }
                if !(all_fillers
                    || prev_marker
                    || rate_follows()
                    || term_follows()
                    || measure_follows
                    || colon_before)
                {
                    break;
                }
                let after = next_word(t, run[run.len() - 1].1).map(|n| word(text, n));
                if after.is_some_and(|a| counts_another(a, kind))
                    || share(&run)
                    || year_range(&run)
                    || compound(&run)
                {
                    break;
                }
                let run_end = run[run.len() - 1].1;
                cut_range(&mut run);
                let toks: Vec<&str> = run.iter().map(|&w| word(text, w)).collect();
                let before = prev_word(t, run[0].0).map(|p| word(text, p));
                if let Some(v) = parse_number(&toks)
                    && !not_a_count(&toks, before, after)
                {
                    num = Some((run[0].0, run_end, v));
                }
                break;
            }
            steps += 1;
            let after_prep = after_preposition(text, w.0, next_char);
            // "no fewer than 25": this "no" is not "No. 5"
            let no_fewer = s == "no"
                && next_word(t, w.1)
                    .is_some_and(|n| matches!(word(text, n), "fewer" | "less" | "more"));
            // a number after a dash closes the head noun's clause even far off: "Создание
            // ложных аккаунтов в социальных сетях для формирования мнения о ... — не менее 10"
            if s == "-" && steps + 3 > max_steps && steps < 15 {
                dash_tail = true;
            }
            let dash_ahead = dash_tail && steps < 18 && (s == "-" || is_forward_filler(s));
            // followers are of a page: "подписчиков официальной страницы не менее 1000"
            let their_page = kind == QuotaKind::Followers && is_page_word(s);
            if (steps > max_steps && !dash_ahead && steps > FAR_STEPS)
                || (is_unit(w.0) && !after_prep && !their_page)
                || (is_number_stop(s) && !no_fewer && !stop_without_number(text, s, w.1))
            {
                break;
            }
            // "each post" between a unit and its number is no clause of its own: "лайктар
            // әр постқа 300"
            let each_word = is_each_word(s);
            let each_item = each_word || (prev_each && is_unit(w.0));
            prev_each = each_word;
            all_fillers &= (is_forward_filler(s) || each_item) && steps <= 4;
            // followers grow by a number: "подписчиков официального аккаунта на 10 000"
            prev_marker = is_count_marker(s)
                || is_measure_word(s)
                || (kind == QuotaKind::Followers && matches!(s, "на" | "by"));
            prev_dash = s == "-" || matches!(next_char(w.1), Some(':'));
            period_before = period_word(s).is_some()
                || (s == "сайын"
                    && prev_word(t, w.0).is_some_and(|p| every(word(text, p)).is_some()))
                || (prev_marker && period_before);
            if matches!(
                s,
                "количестве"
                    | "количеством"
                    | "объеме"
                    | "объёме"
                    | "числе"
                    | "саны"
                    | "санын"
                    | "количество"
                    | "количества"
                    | "мөлшерінде"
                    | "amount"
                    | "number"
                    | "total"
            ) {
                max_steps = max_steps.max(steps + 4);
            }
            volume_named |= matches!(
                s,
                "количестве"
                    | "объеме"
                    | "объёме"
                    | "volume"
                    | "көлемде"
                    | "көлемінде"
                    | "amount"
            );
            count_named |= steps == 1 && is_count_noun(s);
            prev_end = w.1;
            cur = next_word(t, w.1);
        }
    }
    if row_number && num.is_none() {
        // "1 Комментарий" alone in a row is still not a count we are sure of
        return None;
    }
    let (ns, ne, count) = num?;
    if count == 0 || is_unit_price(text, ns, ne.max(we), count) {
        return None;
    }
    let start = ns.min(ws);
    let end = ne.max(we);
    if handled_not_made(text, start, end, next_char) {
        return None;
    }
    // period: between a unit and its number ("комментариев в месяц - не менее 450", a table row
    // "Комментарии | шт./квартал | 1 200"), after the quota (9 words), then before it (12)
    let mut per = None;
    if ns > we {
        let mut cur = next_word(t, we);
        while let Some(w) = cur {
            if w.0 >= ns {
                break;
            }
            let s = word(text, w);
            let before = prev_word(t, w.0).map(|p| word(text, p));
            let pair = match (before, s) {
                (Some(b), "сайын" | "сайынғы" | "сайынгы") if every(b).is_some() => {
                    every(b)
                }
                _ if term_word(before, s) => Some(Period::Term),
                _ => period_word(s),
            };
            if let Some(p) = pair {
                per = Some(p);
                break;
            }
            cur = next_word(t, w.1);
        }
    }
    // a period word right before the number, past its marker: "тоқсанына кемінде 900 пікір,
    // бір аккаунттан тәулігіне үштен артық емес" is 900 a quarter (not "2 месяца 300": a
    // number before it makes it a duration)
    if per.is_none() && ns < ws {
        let mut cur = prev_word(t, ns);
        for _ in 0..2 {
            let Some(w) = cur else { break };
            let s = word(text, w);
            if matches!(next_char(w.1), Some(',' | ';' | ':' | '|' | '\t')) {
                break;
            }
            if is_count_marker(s) || is_forward_filler(s) {
                cur = prev_word(t, w.0);
                continue;
            }
            if !prev_word(t, w.0).is_some_and(|p| is_number_token(word(text, p))) {
                per = period_word(s);
            }
            break;
        }
    }
    // "20/сутки": a slash makes the period word after a number a rate, not a duration
    let mut prev_is_num = ne == end && next_char(ne) != Some('/');
    let mut cur = if per.is_none() {
        next_word(t, end)
    } else {
        None
    };
    for _ in 0..9 {
        let Some(w) = cur else { break };
        let s = word(text, w);
        // a rate adverb is never a duration: "не менее 1500 ежемесячно"
        if prev_is_num && is_rate_adverb(s) {
            per = period_word(s);
            break;
        }
        if !prev_is_num {
            if let Some(p) = period_word(s) {
                per = Some(p);
                break;
            }
            if let Some(p) = every(s)
                && next_word(t, w.1)
                    .is_some_and(|n| matches!(word(text, n), "сайын" | "сайынғы" | "сайынгы"))
            {
                per = Some(p);
                break;
            }
            let pw = prev_word(t, w.0).map(|p| word(text, p));
            if term_word(pw, s) {
                per = Some(Period::Term);
                break;
            }
        }
        prev_is_num = is_number_token(s);
        cur = next_word(t, w.1);
    }
    if per.is_none() {
        let mut cur = prev_word(t, start);
        for _ in 0..12 {
            let Some(w) = cur else { break };
            let s = word(text, w);
            let before = prev_word(t, w.0).map(|p| word(text, p));
            // "тоқсан сайын" (every quarter): тоқсан is also ninety; "1 күнде", "бір айда"
            // (in one day, in one month) are a rate, "2 месяца" a duration
            let before_is_num = before.is_some_and(is_number_token)
                && every(before.unwrap_or_default()).is_none()
                && !(matches!(before, Some("1" | "бір" | "бир" | "один" | "одну" | "одни"))
                    && in_one(s).is_some());
            if !before_is_num {
                if let Some(p) = period_word(s).or_else(|| {
                    before
                        .is_some_and(|b| matches!(b, "1" | "бір" | "бир" | "один" | "одну"))
                        .then(|| in_one(s))
                        .flatten()
                }) {
                    per = Some(p);
                    break;
                }
                if matches!(s, "сайын" | "сайынғы" | "сайынгы") {
                    per = before.and_then(every);
                    if per.is_some() {
                        break;
                    }
                }
                if term_word(before, s) {
                    per = Some(Period::Term);
                    break;
                }
            }
            cur = prev_word(t, w.0);
        }
    }
    if per.is_none() {
        // a rate adverb closing the clause further on: "не менее 40 положительных отзывов о
        // работе поликлиник на платформах 2ГИС и Google Карты ежемесячно"; another number
        // or a clause mark on the way belongs to another count
        let mut cur = next_word(t, end);
        let mut prev_end = end;
        for _ in 0..FAR_STEPS {
            let Some(w) = cur else { break };
            let s = word(text, w);
            if is_digits(s) || matches!(next_char(prev_end), Some(';' | ':')) {
                break;
            }
            if is_rate_adverb(s) {
                per = period_word(s);
                break;
            }
            // "... равномерно в течение срока договора" (accounts are kept, not made, over it)
            if kind != QuotaKind::Accounts && term_word(prev_word(t, w.0).map(|p| word(text, p)), s)
            {
                per = Some(Period::Term);
                break;
            }
            prev_end = w.1;
            cur = next_word(t, w.1);
        }
    }
    let per = kept_period(kind, per);
    Some(RawQuota {
        kind,
        count,
        per,
        start,
        end,
        num_start: ns,
        num_before: ns < ws,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Option<u64> {
        let toks: Vec<&str> = s.split(' ').collect();
        parse_number(&toks)
    }

    #[test]
    fn the_heading_gate_lets_every_plan_term_and_quarter_word_through() {
        for w in PLAN_NOUNS
            .iter()
            .chain(TERM_WORDS)
            .chain(QUARTER_WORDS)
            .chain(Q_WORDS)
        {
            assert!(may_name_a_period(w), "{w}");
        }
        assert!(!may_name_a_period("бумага"));
    }

    #[test]
    fn number_words_in_three_languages() {
        assert_eq!(num("четырех"), Some(4));
        assert_eq!(num("пятидесяти"), Some(50));
        assert_eq!(num("тысячу"), Some(1000));
        assert_eq!(num("две тысячи пятьсот"), Some(2500));
        assert_eq!(num("сто двадцать пять"), Some(125));
        assert_eq!(num("тридцати"), Some(30));
        assert_eq!(num("төрт"), Some(4));
        assert_eq!(num("отыз"), Some(30));
        assert_eq!(num("екі жүз елу"), Some(250));
        assert_eq!(num("бес мың"), Some(5000));
        assert_eq!(num("four"), Some(4));
        assert_eq!(num("two hundred fifty"), Some(250));
        assert_eq!(num("thirty five"), Some(35));
    }

    #[test]
    fn digits_and_groups() {
        assert_eq!(num("50"), Some(50));
        assert_eq!(num("1 000"), Some(1000));
        assert_eq!(num("10 000 000"), Some(10_000_000));
        assert_eq!(num("1,000"), Some(1000));
        assert_eq!(num("1,5"), None);
        assert_eq!(num("2024 50"), Some(50));
        assert_eq!(num("50 пятьдесят"), Some(50));
        assert_eq!(num("пятьдесят 50"), Some(50));
        assert_eq!(num("50 ти"), Some(50));
        assert_eq!(num("99999999999999999999999"), None);
    }
}
