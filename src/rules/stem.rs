//! Stemmers for folded words: Russian and English through `rust-stemmers` (Snowball), Kazakh
//! through a small suffix stripper of our own.
//!
//! The Kazakh stemmer ([`kk`]) works on folded (lowercase) words:
//! 1. up to four times, strip the longest ending from [`KK_SUFFIXES`] (plural, possessive, case
//!    and infinitive endings: `-лар/-лер/-дар/-дер/-тар/-тер`, `-ның/-нің/-дың/...`,
//!    `-ға/-ге/-қа/-ке/-на/-не`, `-ны/-ні/-ды/-ді/-ты/-ті`, `-да/-де/-та/-те/-нда/-нде`,
//!    `-дан/-ден/-тан/-тен/-нан/-нен`, `-мен/-бен/-пен`, `-ым/-ім/-ың/-ің/-ы/-і/-сы/-сі`, `-у`,
//!    ...) as long as at least three letters remain;
//! 2. turn a voiced final consonant back into its dictionary form: `г`->`к`, `ғ`->`қ`, `б`->`п`
//!    (`жүрегі` -> `жүрек`, `парағы` -> `парақ`, `кітабы` -> `кітап`).
//!
//! It is deliberately blunt: it never strips participle or verb-tense endings (`-ған`, `-ды` on
//! verbs is stripped as a case ending), so rules spell verb forms with a prefix (`жаса*`).
//! Both a pattern and the text go through the same function, so over-stripping costs precision
//! only when two different words share a stem.

use rust_stemmers::{Algorithm, Stemmer};
use std::sync::OnceLock;

fn ru_stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::Russian))
}

fn en_stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Russian Snowball stem of a folded word.
pub(crate) fn ru(word: &str) -> String {
    ru_stemmer().stem(word).into_owned()
}

/// English Snowball (Porter2) stem of a folded word.
pub(crate) fn en(word: &str) -> String {
    en_stemmer().stem(word).into_owned()
}

/// Kazakh endings stripped by [`kk`], longest first when several fit.
#[rustfmt::skip]
pub(crate) const KK_SUFFIXES: &[&str] = &[
    // plural
    "лар", "лер", "дар", "дер", "тар", "тер",
    // genitive
    "ның", "нің", "дың", "дің", "тың", "тің",
    // dative
    "ға", "ге", "қа", "ке", "на", "не",
    // accusative
    "ны", "ні", "ды", "ді", "ты", "ті", "ын", "ін",
    // locative
    "да", "де", "та", "те", "нда", "нде",
    // ablative
    "дан", "ден", "тан", "тен", "нан", "нен",
    // instrumental
    "мен", "бен", "пен", "менен",
    // possessive
    "ым", "ім", "ың", "ің", "ыңыз", "іңіз", "ңыз", "ңіз", "ымыз", "іміз", "мыз", "міз", "сы", "сі",
    "ы", "і",
    // infinitive / verbal noun
    "у",
    // the same endings typed without Kazakh letters (see [`kk_plain`]); the plain genitive
    // ("-дын", "-тын") is left out: it would eat the accusative of a stem in -д/-т
    "ыныз", "иниз",
];

/// A folded word with the letters only Kazakh uses replaced by the Russian ones a Russian
/// keyboard types for them (ә→а, ғ→г, қ→к, ң→н, ө→о, ұ→у, ү→у, һ→х, і→и).
pub(crate) fn kk_plain(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'ә' => 'а',
            'ғ' => 'г',
            'қ' => 'к',
            'ң' => 'н',
            'ө' => 'о',
            'ұ' | 'ү' => 'у',
            'һ' => 'х',
            'і' => 'и',
            c => c,
        })
        .collect()
}

/// The plain-letter twin of one rule term (`қалдыр*` → `калдыр*`, `=жоқ` → `=жок`) when the term
/// has a Kazakh-only letter and its plain form keeps at least three letters, five for a prefix
/// (`оң` would become the Russian `он`).
pub(crate) fn kk_plain_term(raw: &str) -> Option<String> {
    let (pre, body, post) = if let Some(b) = raw.strip_prefix('=') {
        ("=", b, "")
    } else if let Some(b) = raw.strip_suffix('*') {
        ("", b, "*")
    } else {
        ("", raw, "")
    };
    let folded = crate::rules::normalize::normalize(body).text;
    if !has_kazakh_letter(&folded) {
        return None;
    }
    let plain = kk_plain(&folded);
    // a short plain prefix would start Russian words too (`ұста*` → `уста*`, `установка`)
    let min = if post == "*" { 5 } else { 3 };
    (plain.chars().filter(|c| c.is_alphabetic()).count() >= min)
        .then(|| format!("{pre}{plain}{post}"))
}

/// Whether a folded word contains a letter only Kazakh uses (ә ғ қ ң ө ұ ү һ і).
pub(crate) fn has_kazakh_letter(word: &str) -> bool {
    word.chars()
        .any(|c| matches!(c, 'ә' | 'ғ' | 'қ' | 'ң' | 'ө' | 'ұ' | 'ү' | 'һ' | 'і'))
}

/// Kazakh stem of a folded word; see the module documentation.
pub(crate) fn kk(word: &str) -> String {
    let mut w: &str = word;
    for _ in 0..4 {
        let n = w.chars().count();
        let mut best: Option<&str> = None;
        for suf in KK_SUFFIXES {
            if w.ends_with(suf) {
                let sl = suf.chars().count();
                if n >= sl + 3 && best.is_none_or(|b| b.len() < suf.len()) {
                    best = Some(suf);
                }
            }
        }
        match best {
            Some(suf) => w = &w[..w.len() - suf.len()],
            None => break,
        }
    }
    let mut s = w.to_string();
    if let Some(last) = s.chars().last() {
        let rep = match last {
            'г' => Some('к'),
            'ғ' => Some('қ'),
            'б' => Some('п'),
            _ => None,
        };
        if let Some(r) = rep {
            s.pop();
            s.push(r);
        }
    }
    s
}

/// Whether the last char of a Kazakh stem may appear voiced in an inflected form.
pub(crate) fn kk_alternates(stem: &str) -> bool {
    matches!(stem.chars().last(), Some('к' | 'қ' | 'п'))
}

/// The stem used by [`crate::rules::fold`] for one folded word: Kazakh for words with a
/// Kazakh-only letter, Russian for other Cyrillic words, English for Latin words; other words
/// (digits, other scripts) unchanged.
pub(crate) fn by_script(word: &str) -> String {
    let first_alpha = word.chars().find(|c| c.is_alphabetic());
    match first_alpha {
        Some(c) if ('\u{0400}'..='\u{052F}').contains(&c) => {
            if has_kazakh_letter(word) {
                kk(word)
            } else {
                let r = ru(word);
                if r == word { kk(word) } else { r }
            }
        }
        Some(c) if c.is_ascii_alphabetic() => en(word),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_inflections_share_a_stem() {
        for w in ["аккаунт", "аккаунта", "аккаунтов", "аккаунтами", "аккаунты"]
        {
            assert_eq!(ru(w), "аккаунт", "{w}");
        }
        assert_eq!(ru("комментариев"), ru("комментарии"));
        assert_eq!(ru("комментарий"), ru("комментариям"));
        assert_ne!(ru("ботинки"), ru("боты"));
        assert_eq!(ru("боты"), "бот");
    }

    #[test]
    fn english_inflections_share_a_stem() {
        assert_eq!(en("accounts"), en("account"));
        assert_eq!(en("comments"), en("commenting"));
        assert_eq!(en("replies"), en("reply"));
    }

    #[test]
    fn kazakh_suffixes_are_stripped() {
        for w in ["пікір", "пікірлер", "пікірлерді", "пікірлердің", "пікірге"]
        {
            assert_eq!(kk(w), "пікір", "{w}");
        }
        for w in [
            "аккаунт",
            "аккаунттар",
            "аккаунттарды",
            "аккаунтын",
            "аккаунтқа",
        ] {
            assert_eq!(kk(w), "аккаунт", "{w}");
        }
        assert_eq!(kk("боттар"), "бот");
        assert_eq!(kk("жалған"), "жалған");
    }

    #[test]
    fn kazakh_typed_without_its_letters_has_a_plain_twin() {
        assert_eq!(kk_plain("қалдыру"), "калдыру");
        assert_eq!(kk_plain("тұрғындар"), "тургындар");
        assert_eq!(kk_plain("пікір"), "пикир");
        assert_eq!(kk_plain_term("қалдыр*").as_deref(), Some("калдыр*"));
        assert_eq!(kk_plain_term("=жоқ").as_deref(), Some("=жок"));
        assert_eq!(kk_plain_term("жалған").as_deref(), Some("жалган"));
        // too short to stay Kazakh, or nothing to replace
        assert_eq!(kk_plain_term("оң"), None);
        assert_eq!(kk_plain_term("ұста*"), None);
        assert_eq!(kk_plain_term("аккаунт"), None);
    }

    #[test]
    fn kazakh_final_consonants_alternate() {
        assert_eq!(kk("жүрегі"), "жүрек");
        assert_eq!(kk("парағы"), "парақ");
        assert_eq!(kk("кітабы"), "кітап");
        assert_eq!(kk("кітап"), "кітап");
        assert!(kk_alternates("парақ"));
    }

    #[test]
    fn fold_stem_by_script() {
        assert_eq!(by_script("аккаунттар"), "аккаунт");
        assert_eq!(by_script("аккаунтов"), "аккаунт");
        assert_eq!(by_script("accounts"), "account");
        assert_eq!(by_script("2024"), "2024");
    }
}
