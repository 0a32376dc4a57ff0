//! Text folding for matching: one pass over the original text that yields a folded copy made of
//! words separated by single separator bytes, plus a sparse map from folded offsets back to
//! original byte offsets.
//!
//! What folding does, in order, per word:
//! - a *word* is a run of alphanumeric characters (letters of any script, digits) and combining
//!   marks; soft hyphens (U+00AD) and zero-width characters (U+200B..U+200D, U+2060, U+FEFF) inside
//!   or next to a word are dropped; `.` or `,` between two ASCII digits stays inside the word
//!   (`1,5`, `1.000`);
//! - words containing characters outside ASCII and basic Cyrillic (U+0400..U+04FF), or combining
//!   marks, are NFKC-normalised (full-width letters, ligatures, decomposed `й`/`ё`);
//! - lowercase; `ё` becomes `е`, and `э` right after `ф` becomes `е` (`фэйк`);
//! - Latin look-alike letters (a c e o p x y k i, and upper-case A B C E H K M O P T X Y) and
//!   Greek ones (α β ε η ι κ μ ν ο ρ τ υ χ) inside a word that has at least as many Cyrillic as
//!   Latin and Greek letters become their Cyrillic twins (`i` becomes Kazakh `і`); Cyrillic
//!   look-alikes inside a Latin-majority word become Latin. For OCR's sake `b` (`ь`), `I`, `l`
//!   and the dotless `ı` (`і`) count as look-alikes too, and `ы` read as two letters (`ьі`,
//!   `ъі`, `ьi`, `ьı`, `bl`...) becomes `ы` again (no Russian or Kazakh word has `ь` or `ъ`
//!   before `і`);
//! - a word broken by a hyphen at a line end ("коммента-\nриев") whose next part starts in lower
//!   case is joined;
//! - in a text of Kazakh written in Latin script (see `is_kazakh_latin`), every Latin word is
//!   read in Cyrillic, in the plain letters a Russian keyboard types for the Kazakh ones
//!   (`qaldyru` becomes `калдыру`), which the rules' plain twins of Kazakh terms match;
//! - a letter-spaced word (four or more one-letter tokens one space apart, as PDF headings and
//!   emphasis come out: "Ф е й к   а к к а у н т") is joined; two spaces end it;
//! - everything else (spaces, line breaks, hyphens and dashes, punctuation, symbols) separates
//!   words. A run of separators becomes one byte: `|` when it ends a sentence (contains
//!   `. ! ? ; …`, two line breaks, or a line break followed by a bullet, a digit or an upper-case
//!   letter; not the dot of an abbreviation such as `шт.`, `ед.`, `мес.`), otherwise a space. So "фейк-аккаунт", "фейк аккаунт" and "фейк\nаккаунт" fold alike.
//!
//! This module must never slice the original text off a char boundary and never panic.

use unicode_normalization::UnicodeNormalization;

/// Separator between two words of one sentence in the folded text.
pub(crate) const SEP: u8 = b' ';
/// Separator that ends a sentence in the folded text.
pub(crate) const BREAK: u8 = b'|';

/// Folded text plus the way back to the original.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    /// Words separated by [`SEP`] or [`BREAK`]; no separator at either end.
    pub text: String,
    /// (folded offset, original offset) at every point where the difference between the two
    /// changes; sorted by folded offset.
    cps: Vec<(usize, usize)>,
    orig_len: usize,
}

impl Normalized {
    /// Original byte offset of a folded offset. Exact at the start and end of every word; inside
    /// a word that needed NFKC it is approximate. Callers snap to char boundaries.
    pub fn to_orig(&self, n: usize) -> usize {
        let i = self.cps.partition_point(|&(fo, _)| fo <= n);
        self.orig_at(i, n)
    }

    /// [`Normalized::to_orig`] for a caller that asks about nearby offsets again and again (the
    /// quota reader, around each unit word): starts from where the last call, in `hint`, found
    /// its place among the change points, a few steps either way, and searches the whole list
    /// only when the offset is farther. Same answer as `to_orig`.
    pub fn to_orig_near(&self, n: usize, hint: &std::cell::Cell<usize>) -> usize {
        let cps = &self.cps;
        let mut i = hint.get().min(cps.len());
        let mut steps = 0;
        while i > 0 && cps[i - 1].0 > n && steps < 8 {
            i -= 1;
            steps += 1;
        }
        while i < cps.len() && cps[i].0 <= n && steps < 8 {
            i += 1;
            steps += 1;
        }
        if !((i == 0 || cps[i - 1].0 <= n) && (i == cps.len() || cps[i].0 > n)) {
            i = cps.partition_point(|&(fo, _)| fo <= n);
        }
        hint.set(i);
        self.orig_at(i, n)
    }

    /// The original offset of folded `n`, `i` being the number of change points at or before it.
    fn orig_at(&self, i: usize, n: usize) -> usize {
        if i == 0 {
            return n.min(self.orig_len);
        }
        let (fo, oo) = self.cps[i - 1];
        (oo + (n - fo)).min(self.orig_len)
    }

    /// Folded offset of an original offset (the inverse of [`Normalized::to_orig`]): exact at
    /// word starts, approximate inside words; always a char boundary of the folded text.
    pub fn to_folded(&self, o: usize) -> usize {
        let i = self.cps.partition_point(|&(_, oo)| oo <= o);
        let f = if i == 0 {
            o
        } else {
            let (fo, oo) = self.cps[i - 1];
            let next = self.cps.get(i).map_or(self.text.len(), |c| c.0);
            (fo + (o - oo)).min(next)
        };
        let mut f = f.min(self.text.len());
        while !self.text.is_char_boundary(f) {
            f -= 1;
        }
        f
    }
}

fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}'
    )
}

fn is_combining(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn is_cyrillic(c: char) -> bool {
    matches!(c as u32, 0x0400..=0x0481 | 0x048A..=0x052F)
}

/// Latin look-alike -> Cyrillic (applied before lowercasing).
fn latin_to_cyr(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'x' => 'х',
        'y' => 'у',
        'k' => 'к',
        'i' => 'і',
        // OCR's: ь read as b, і or the second half of ы read as l, I or dotless ı
        'b' => 'ь',
        'l' | 'ı' | 'I' => 'і',
        'A' => 'А',
        'B' => 'В',
        'C' => 'С',
        'E' => 'Е',
        'H' => 'Н',
        'K' => 'К',
        'M' => 'М',
        'O' => 'О',
        'P' => 'Р',
        'T' => 'Т',
        'X' => 'Х',
        'Y' => 'У',
        _ => return None,
    })
}

/// Cyrillic look-alike -> Latin (applied before lowercasing).
fn cyr_to_latin(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'с' => 'c',
        'е' => 'e',
        'о' => 'o',
        'р' => 'p',
        'х' => 'x',
        'у' => 'y',
        'к' => 'k',
        'і' => 'i',
        'А' => 'A',
        'В' => 'B',
        'С' => 'C',
        'Е' => 'E',
        'Н' => 'H',
        'К' => 'K',
        'М' => 'M',
        'О' => 'O',
        'Р' => 'P',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        _ => return None,
    })
}

/// Lowercase one char and fold ё; pushes the result to `out`.
#[inline]
fn push_lower(out: &mut String, c: char) {
    let u = c as u32;
    let l = match u {
        0x41..=0x5A => u + 0x20,
        0x0410..=0x042F => u + 0x20,
        0x0401 | 0x0451 => 0x0435, // Ё ё -> е
        0x0400..=0x040F => u + 0x50,
        0x0430..=0x045F => u,
        0x0460..=0x04BF if u.is_multiple_of(2) && u != 0x0482 => u + 1,
        0x0460..=0x04BF => u,
        _ if u < 0x80 => u,
        _ => {
            for l in c.to_lowercase() {
                out.push(if l == 'ё' { 'е' } else { l });
            }
            return;
        }
    };
    let l = if l == 0x044D && out.ends_with('ф') {
        0x0435 // фэйк -> фейк
    } else {
        l
    };
    if l == 0x0456 && fold_yery(out) {
        return;
    }
    out.push(char::from_u32(l).unwrap_or(c));
}

/// `і` right after `ь` or `ъ` in the same word: OCR read `ы` as two letters. The soft or hard
/// sign becomes `ы` and the `і` is dropped; true when it did.
#[inline]
fn fold_yery(out: &mut String) -> bool {
    if out.ends_with('ь') || out.ends_with('ъ') {
        out.pop();
        out.push('ы');
        true
    } else {
        false
    }
}

/// Greek look-alike -> Cyrillic, inside a Cyrillic-majority word (applied before lowercasing).
fn greek_to_cyr(c: char) -> Option<char> {
    Some(match c {
        'α' | 'Α' => 'а',
        'β' | 'Β' => 'в',
        'ε' | 'Ε' => 'е',
        'η' | 'Η' => 'н',
        'ι' | 'Ι' => 'і',
        'κ' | 'Κ' => 'к',
        'μ' | 'Μ' => 'м',
        'ν' => 'и',
        'ο' | 'Ο' | 'ό' => 'о',
        'ρ' | 'Ρ' => 'р',
        'τ' | 'Τ' => 'т',
        'υ' | 'Υ' => 'у',
        'χ' | 'Χ' => 'х',
        'Ν' => 'н',
        'Ζ' => 'з',
        _ => return None,
    })
}

fn is_greek(c: char) -> bool {
    matches!(c as u32, 0x0370..=0x03FF)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Ignorable,
    Sep,
}

#[inline]
fn classify(c: char) -> (Class, bool /*slow*/) {
    let u = c as u32;
    if u < 0x80 {
        if c.is_ascii_alphanumeric() {
            (Class::Word, false)
        } else {
            (Class::Sep, false)
        }
    } else if (0x0400..=0x04FF).contains(&u) {
        if (0x0483..=0x0489).contains(&u) {
            (Class::Word, true)
        } else if u == 0x0482 {
            (Class::Sep, false)
        } else {
            (Class::Word, false)
        }
    } else if is_ignorable(c) {
        (Class::Ignorable, false)
    } else if c.is_alphanumeric() || is_combining(c) {
        (Class::Word, true)
    } else {
        (Class::Sep, false)
    }
}

struct Builder {
    out: String,
    cps: Vec<(usize, usize)>,
    delta: isize,
}

impl Builder {
    #[inline]
    fn cp(&mut self, orig: usize) {
        let n = self.out.len();
        let d = orig as isize - n as isize;
        if d != self.delta {
            self.cps.push((n, orig));
            self.delta = d;
        }
    }

    /// Re-emit the Latin word `src[ws..we]` of a Kazakh-Latin text in Cyrillic, the plain letters
    /// a Russian keyboard types for Kazakh ones (`qaldyru` -> `калдыру`, `turǵyndar` ->
    /// `тургындар`, `baılanysy` -> `баиланысы`): the rules' plain twins of Kazakh terms match it.
    /// Falls back to [`Builder::redo_word`] for a word with a letter it does not know.
    fn translit_word(&mut self, src: &str, ws: usize, we: usize, out_ws: usize, nfkc: bool) {
        let word = &src[ws..we];
        let chars: Vec<(usize, char)> = word
            .char_indices()
            .filter(|&(_, c)| !is_ignorable(c) && c.is_alphanumeric())
            .map(|(i, c)| (ws + i, c.to_lowercase().next().unwrap_or(c)))
            .collect();
        if chars
            .iter()
            .any(|&(_, c)| !c.is_ascii_digit() && kz_latin_letter(c, None, None).is_none())
        {
            self.redo_word(src, ws, we, out_ws, nfkc);
            return;
        }
        self.out.truncate(out_ws);
        while self.cps.last().is_some_and(|&(n, _)| n > out_ws) {
            self.cps.pop();
        }
        self.delta = match self.cps.last() {
            Some(&(n, o)) => o as isize - n as isize,
            None => isize::MIN,
        };
        let mut k = 0;
        while k < chars.len() {
            let (o, c) = chars[k];
            self.cp(o);
            let next = chars.get(k + 1).map(|x| x.1);
            let prev = k.checked_sub(1).map(|j| chars[j].1);
            // digraphs of the informal and 2017 alphabets
            let di = match (c, next) {
                ('s', Some('h')) => Some('ш'),
                ('c', Some('h')) => Some('ч'),
                ('z', Some('h')) => Some('ж'),
                _ => None,
            };
            // я and ю of the 2018 alphabet: "ıa", "ıý" ("joıý" is жою)
            let iotated = match (c, next) {
                ('i' | 'ı', Some('a' | 'á')) if prev.is_none_or(|p| "aeouyıáóúýé".contains(p)) => {
                    Some('я')
                }
                ('i' | 'ı', Some('u' | 'ý' | 'ú'))
                    if prev.is_none_or(|p| "aeouyıáóúýé".contains(p)) =>
                {
                    Some('ю')
                }
                _ => None,
            };
            if let Some(d) = di.or(iotated) {
                self.out.push(d);
                k += 2;
                continue;
            }
            match kz_latin_letter(c, prev, next) {
                Some(m) => self.out.push(m),
                None => self.out.push(c),
            }
            k += 1;
        }
    }

    /// Re-emit the word `src[ws..we]` (already partly emitted from folded offset `out_ws`) the
    /// slow way: NFKC if asked, look-alike folding by script majority.
    fn redo_word(&mut self, src: &str, ws: usize, we: usize, out_ws: usize, nfkc: bool) {
        self.out.truncate(out_ws);
        while self.cps.last().is_some_and(|&(n, _)| n > out_ws) {
            self.cps.pop();
        }
        self.delta = match self.cps.last() {
            Some(&(n, o)) => o as isize - n as isize,
            None => isize::MIN,
        };
        let word = &src[ws..we];
        let chars: Vec<(usize, char)> = if nfkc {
            let s: String = word.nfkc().collect();
            s.chars()
                .filter(|&c| !is_ignorable(c) && (c.is_alphanumeric() || is_combining(c)))
                .map(|c| (ws, c))
                .collect()
        } else {
            word.char_indices()
                .filter(|&(_, c)| !is_ignorable(c) && (c.is_alphanumeric() || is_combining(c)))
                .map(|(i, c)| (ws + i, c))
                .collect()
        };
        let (mut cyr, mut lat, mut greek) = (0usize, 0usize, 0usize);
        for &(_, c) in &chars {
            if is_cyrillic(c) {
                cyr += 1;
            } else if c.is_ascii_alphabetic() || c == 'ı' {
                lat += 1;
            } else if is_greek(c) {
                greek += 1;
            }
        }
        let mixed = cyr > 0 && (lat > 0 || greek > 0);
        // "AKKAУHTOB": every Latin letter has a Cyrillic twin, so a Cyrillic letter among them
        // makes the word Cyrillic whatever the majority
        let lat_all_twins = chars
            .iter()
            .filter(|(_, c)| c.is_ascii_alphabetic() || *c == 'ı')
            .all(|&(_, c)| latin_to_cyr(c).is_some());
        let to_cyr = cyr >= lat + greek || lat_all_twins;
        for (k, &(o, c)) in chars.iter().enumerate() {
            if !nfkc || k == 0 {
                self.cp(o);
            }
            let c = if mixed {
                let m = if to_cyr {
                    latin_to_cyr(c).or_else(|| greek_to_cyr(c))
                } else if lat > 0 {
                    cyr_to_latin(c)
                } else {
                    None
                };
                m.unwrap_or(c)
            } else {
                c
            };
            push_lower(&mut self.out, c);
        }
    }
}

/// Called once per folded word as folding goes: (folded word, its folded start, its word
/// index, its sentence index).
pub(crate) type OnWord<'f> = &'f mut dyn FnMut(&str, usize, u32, u32);

/// Fold `src` for matching. See the module documentation for what folding does.
pub(crate) fn normalize(src: &str) -> Normalized {
    normalize_with(src, None)
}

/// [`normalize`], calling `on_word` for every folded word (the engine's prefilter).
pub(crate) fn normalize_with(src: &str, on_word: Option<OnWord>) -> Normalized {
    fold(src, on_word, true)
}

/// The rest of a word from `i` made of ASCII letters and digits and basic Cyrillic letters
/// (`А-Я`, `а-я` as two bytes), folded in one tight loop: lower-case letters and digits are
/// copied as spans, upper-case ones mapped byte-wise. Each such char keeps its byte length, so
/// the folded/original offset difference does not change and no offset is recorded. Stops
/// (leaving the char to the general path) at anything whose folding looks around or changes a
/// length: `ё`/`Ё` and the other U+0400..U+040F/U+0450..U+045F letters (`і` for `ьі`), `э`/`Э`
/// (`фэйк`), Kazakh letters, `.`/`,` (inside numbers), separators, everything else. Only called
/// inside a word whose offsets are in step (`in_word && !dirty`). Returns where it stopped.
#[inline]
fn fold_run(st: &mut State<'_>, src: &str, mut i: usize) -> usize {
    let bytes = src.as_bytes();
    let n = bytes.len();
    let out = &mut st.b.out;
    let mut span = i;
    let (mut lat, mut cyr, mut last_digit) = (false, false, st.last_digit);
    while i < n {
        let b0 = bytes[i];
        match b0 {
            b'a'..=b'z' => {
                lat = true;
                last_digit = false;
                i += 1;
            }
            b'0'..=b'9' => {
                last_digit = true;
                i += 1;
            }
            b'A'..=b'Z' => {
                out.push_str(&src[span..i]);
                out.push((b0 | 0x20) as char);
                lat = true;
                last_digit = false;
                i += 1;
                span = i;
            }
            0xD0 | 0xD1 if i + 1 < n => {
                let b1 = bytes[i + 1];
                match (b0, b1) {
                    // а-п, р-я but э: copied as they are
                    (0xD0, 0xB0..=0xBF) | (0xD1, 0x80..=0x8C | 0x8E..=0x8F) => {}
                    // А-П -> а-п, Р-Я -> р-я, but Э
                    (0xD0, 0x90..=0x9F) => {
                        out.push_str(&src[span..i]);
                        out.push(char::from_u32(0x0430 + (b1 as u32 - 0x90)).unwrap_or('\u{FFFD}'));
                        span = i + 2;
                    }
                    (0xD0, 0xA0..=0xAC | 0xAE..=0xAF) => {
                        out.push_str(&src[span..i]);
                        out.push(char::from_u32(0x0440 + (b1 as u32 - 0xA0)).unwrap_or('\u{FFFD}'));
                        span = i + 2;
                    }
                    _ => break,
                }
                cyr = true;
                last_digit = false;
                i += 2;
            }
            _ => break,
        }
    }
    out.push_str(&src[span..i]);
    st.has_lat |= lat;
    st.has_cyr |= cyr;
    st.last_digit = last_digit;
    i
}

/// [`fold`] for the rules bench: the folded length.
pub(crate) fn fold_for_bench(src: &str, fast: bool) -> usize {
    fold(src, None, fast).text.len()
}

/// The folding itself; `fast` takes [`fold_run`] for runs of ASCII and basic Cyrillic, else
/// every char goes through the per-char paths (the reference the fast path is tested against).
fn fold(src: &str, on_word: Option<OnWord>, fast: bool) -> Normalized {
    let mut st = State {
        on_word,
        wi: 0,
        si: 0,
        dirty: false,
        b: Builder {
            out: String::with_capacity(src.len() + 8),
            cps: Vec::new(),
            delta: isize::MIN,
        },
        in_word: false,
        word_ws: 0,
        word_out: 0,
        slow: false,
        has_lat: false,
        has_cyr: false,
        last_digit: false,
        sep_start: 0,
        sep_break: false,
        sep_newlines: 0,
        sep_bullet: false,
        last_end: 0,
        pending: false,
        sep_join: 0,
        kz_latin: is_kazakh_latin(src),
    };
    let bytes = src.as_bytes();
    let n = bytes.len();
    // spaces inside letter-spaced words ("Ф е й к   а к к а у н т"), dropped like soft hyphens
    let joins = letter_spaced_joins(src);
    let mut next_join = 0usize;
    let mut i = 0usize;
    while i < n {
        let b0 = bytes[i];
        if b0 == b' ' && joins.get(next_join) == Some(&i) {
            next_join += 1;
            st.dirty = true;
            i += 1;
            continue;
        }
        if fast && st.in_word && !st.dirty {
            let j = fold_run(&mut st, src, i);
            if j > i {
                i = j;
                continue;
            }
        }
        // fast path: basic Cyrillic letters U+0400..U+045F as two bytes
        if (b0 == 0xD0 || (b0 == 0xD1 && bytes.get(i + 1).is_some_and(|&b| b < 0xA0))) && i + 1 < n
        {
            let b1 = bytes[i + 1];
            let upper = b0 == 0xD0 && b1 < 0xB0;
            st.word_char(i, upper);
            st.has_cyr = true;
            st.last_digit = false;
            let (o0, o1) = match (b0, b1) {
                (0xD0, 0x81) | (0xD1, 0x91) => (0xD0, 0xB5), // Ё ё -> е
                (0xD0, 0x80..=0x8F) => (0xD1, b1 + 0x10),
                (0xD0, 0x90..=0x9F) => (0xD0, b1 + 0x20),
                (0xD0, 0xA0..=0xAF) => (0xD1, b1 - 0x20),
                _ => (b0, b1),
            };
            let mut cp = ((o0 as u32 & 0x1F) << 6) | (o1 as u32 & 0x3F);
            if cp == 0x044D && st.b.out.ends_with('ф') {
                cp = 0x0435; // фэйк -> фейк
            }
            if cp == 0x0456 && st.b.out.len() > st.word_out && fold_yery(&mut st.b.out) {
                // ьі -> ы: the folded text is a letter shorter from here on
                st.dirty = true;
                i += 2;
                continue;
            }
            st.b.out
                .push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
            i += 2;
            continue;
        }
        // fast path: Cyrillic supplement U+048A..U+04FF (Kazakh ғ қ ң ү ұ һ ә ө) as two bytes
        if (b0 == 0xD2 || b0 == 0xD3) && i + 1 < n {
            let b1 = bytes[i + 1];
            let cp = ((b0 as u32 & 0x1F) << 6) | (b1 as u32 & 0x3F);
            if (0x048A..=0x04FF).contains(&cp) {
                let lower = match cp {
                    0x04C0 => 0x04CF,
                    0x04C1..=0x04CE => cp + (cp & 1),
                    _ => cp + (1 - (cp & 1)),
                };
                st.word_char(i, lower != cp);
                st.has_cyr = true;
                st.last_digit = false;
                st.b.out
                    .push(char::from_u32(lower).unwrap_or(char::REPLACEMENT_CHARACTER));
                i += 2;
                continue;
            }
        }
        if b0 < 0x80 {
            if b0.is_ascii_alphanumeric() {
                st.word_char(i, b0.is_ascii_uppercase() || b0.is_ascii_digit());
                st.has_lat |= b0.is_ascii_alphabetic();
                st.last_digit = b0.is_ascii_digit();
                st.b.out.push(b0.to_ascii_lowercase() as char);
            } else if st.in_word
                && st.last_digit
                && (b0 == b'.' || b0 == b',')
                && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit())
            {
                st.b.cp(i);
                st.b.out.push(b0 as char);
                st.last_digit = false;
            } else {
                st.sep_char(src, i, b0 as char);
            }
            i += 1;
            continue;
        }
        let Some(c) = src[i..].chars().next() else {
            break;
        };
        let (class, slow) = classify(c);
        match class {
            Class::Word => {
                st.word_char(i, c.is_uppercase() || c.is_numeric());
                st.slow |= slow;
                st.has_cyr |= is_cyrillic(c);
                st.last_digit = false;
                push_lower(&mut st.b.out, c);
                st.dirty = true;
            }
            Class::Ignorable => st.dirty = true,
            Class::Sep => st.sep_char(src, i, c),
        }
        i += c.len_utf8();
    }
    if st.in_word {
        if st.kz_latin && !st.has_cyr && (st.has_lat || st.slow) {
            st.b.translit_word(src, st.word_ws, src.len(), st.word_out, st.slow);
        } else if st.slow || (st.has_lat && st.has_cyr) {
            st.b.redo_word(src, st.word_ws, src.len(), st.word_out, st.slow);
        }
        st.word_done();
        st.last_end = src.len();
    } else if st.pending {
        st.word_done();
    }
    // The end of the last word.
    let mut b = st.b;
    let n = b.out.len();
    b.cps.push((n, st.last_end));
    Normalized {
        text: b.out,
        cps: b.cps,
        orig_len: src.len(),
    }
}

/// A lower-case letter of Kazakh in Latin script (the 2017, 2018 and 2021 alphabets and the
/// informal ASCII one) as the plain Cyrillic letter a Russian keyboard types for it; `i` and `ı`
/// after a vowel are `й` (`baılanys`, `aiyna`), else `и` (the plain twin of `і`).
fn kz_latin_letter(c: char, prev: Option<char>, _next: Option<char>) -> Option<char> {
    let vowel = |p: Option<char>| p.is_some_and(|p| "aeiouyıáäóöúüūýé".contains(p));
    Some(match c {
        'a' | 'á' | 'ä' => 'а',
        'b' => 'б',
        'c' => 'с',
        'd' => 'д',
        'e' | 'é' => 'е',
        'f' => 'ф',
        'g' | 'ǵ' | 'ğ' => 'г',
        'h' => 'х',
        'i' | 'ı' | 'ì' | 'í' if vowel(prev) => 'й',
        'i' | 'ı' | 'ì' | 'í' => 'и',
        'j' => 'ж',
        'k' => 'к',
        'l' => 'л',
        'm' => 'м',
        'n' | 'ń' | 'ñ' => 'н',
        'o' | 'ó' | 'ö' => 'о',
        'p' => 'п',
        'q' => 'к',
        'r' => 'р',
        's' => 'с',
        'ş' => 'ш',
        'ç' => 'ч',
        't' => 'т',
        'u' | 'ú' | 'ū' | 'ü' | 'ý' | 'w' => 'у',
        'v' => 'в',
        'x' => 'х',
        'y' => 'ы',
        'z' => 'з',
        _ => return None,
    })
}

/// Whether a text is Kazakh written in Latin script: at least two of its Latin words, and a fifth
/// of them, carry a mark of it (a letter of the Kazakh Latin alphabets that English does not
/// use, `ǵ ı ń ú ý ş ğ ñ ū ä ö ü á ó`, or a `q` not before `u`). A byte scan gates the word count.
fn is_kazakh_latin(src: &str) -> bool {
    // one memchr pass per byte (the slice `contains` of u8 is one), far cheaper than a loop
    // testing six bytes
    let b = src.as_bytes();
    if ![b'q', b'Q', 0xC3, 0xC4, 0xC5, 0xC7]
        .iter()
        .any(|x| b.contains(x))
    {
        return is_kazakh_ascii(src);
    }
    let (mut latin, mut marked) = (0usize, 0usize);
    for w in src.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty()
            || !w
                .chars()
                .all(|c| c.is_alphabetic() && (c.is_ascii() || matches!(c as u32, 0xC0..=0x24F)))
        {
            continue;
        }
        latin += 1;
        let lw = w.to_lowercase();
        let mark = lw.chars().any(|c| "ǵıńúýşğñūäöüáó".contains(c))
            || lw
                .char_indices()
                .any(|(i, c)| c == 'q' && !lw[i + 1..].starts_with('u'));
        marked += mark as usize;
        if latin > 4000 {
            break;
        }
    }
    (marked >= 2 && marked * 5 >= latin) || is_kazakh_ascii(src)
}

/// Kazakh typed in plain ASCII Latin, as chats and quick notes are ("kunine 20 pikir zhazu
/// kerek, akkaunttar ar turli bolsyn"): no letter marks it, its words do. At least two of the
/// ASCII words, and a fifth of them, are common Kazakh words no English text has. No allocation:
/// a byte walk over the words.
fn is_kazakh_ascii(src: &str) -> bool {
    const WORDS: &[&str] = &[
        "atynan",
        "deiin",
        "bolyp",
        "turaly",
        "alu",
        "korinu",
        "aitamyz",
        "jazyndar",
        "zhazyndar",
        "ashyndar",
        "ashamyz",
        "kerek",
        "keminde",
        "zhazu",
        "jazu",
        "kunine",
        "aptasyna",
        "aiyna",
        "ayina",
        "zhane",
        "ushin",
        "boiynsha",
        "boyinsha",
        "arkyly",
        "bolsyn",
        "turli",
        "ashu",
        "beriledi",
        "zhazylady",
        "jazylady",
        "kazhet",
        "qazhet",
        "emes",
        "sagat",
        "ishinde",
    ];
    const STEMS: &[&str] = &[
        "pikir", "tapsyrys", "turgyn", "akimdik", "akkaunt", "paraksh", "zhurgiz", "jurgiz",
        "berushi", "zhariala", "jariala", "zhazylu", "kosymsha", "qosymsha",
    ];
    let b = src.as_bytes();
    let (mut latin, mut marked) = (0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        // a word glued to a non-ASCII letter is no ASCII word
        if i < b.len() && b[i] >= 0x80 || s > 0 && b[s - 1] >= 0x80 {
            continue;
        }
        latin += 1;
        let w = &src[s..i];
        let is = |k: &&str| w.eq_ignore_ascii_case(k);
        let starts = |k: &&str| w.len() >= k.len() && w[..k.len()].eq_ignore_ascii_case(k);
        marked += (WORDS.iter().any(is) || STEMS.iter().any(starts)) as usize;
        if latin > 4000 {
            break;
        }
    }
    marked >= 2 && marked * 5 >= latin
}

/// Byte offsets of the single spaces inside letter-spaced words, as headings and emphasis come
/// out of PDFs ("Т Е Х Н И Ч Е С К О Е   З А Д А Н И Е", "Ф е й к   а к к а у н т т а р"): a run
/// of at least four one-letter tokens each one space apart is one word; two or more spaces end
/// it. Sorted.
/// The high bit of each byte of `w` that is a space, the others clear (exact: no carry crosses
/// a byte).
#[inline]
fn spaces_in(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ 0x2020_2020_2020_2020;
    !((((x & LOW7).wrapping_add(LOW7)) | x) | LOW7)
}

fn letter_spaced_joins(src: &str) -> Vec<usize> {
    const MIN_RUN: usize = 4;
    let mut out = Vec::new();
    let b = src.as_bytes();
    let n = b.len();
    let lone_after = |i: usize| -> Option<usize> {
        // the end of a one-char token starting at i, if a space follows it
        let len = match *b.get(i)? {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        (b.get(i + len) == Some(&b' ')).then_some(i + len)
    };
    // the gate: the next " x y " at or after `k` (a one-char token between single spaces,
    // twice), as the space's offset. A run of four lone letters holds one at the space before
    // its second letter, or before its first when a space precedes it; where there is none,
    // no run can start, so the char-by-char reading below skips to two chars before the next
    // (most texts have none at all; long ones have them far apart: "и в")
    let hit = |sp: usize| {
        b.get(sp + 1).is_some_and(|&x| x != b' ')
            && lone_after(sp + 1).is_some_and(|e| {
                b.get(e + 1).is_some_and(|&x| x != b' ') && lone_after(e + 1).is_some()
            })
    };
    let next_gate = |mut k: usize| -> usize {
        // eight places at a time: a space with another two to five bytes on (a one-char token
        // of one to four bytes between) is where a hit can start; most texts have a space every
        // few bytes but few such pairs
        let load = |o: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(w)
        };
        while k + 13 <= n {
            let here = spaces_in(load(k));
            if here != 0 {
                let mut m = here
                    & (spaces_in(load(k + 2))
                        | spaces_in(load(k + 3))
                        | spaces_in(load(k + 4))
                        | spaces_in(load(k + 5)));
                while m != 0 {
                    let sp = k + (m.trailing_zeros() / 8) as usize;
                    if hit(sp) {
                        return sp;
                    }
                    m &= m - 1;
                }
            }
            k += 8;
        }
        while let Some(p) = b.get(k..).and_then(|r| r.iter().position(|&x| x == b' ')) {
            let sp = k + p;
            if hit(sp) {
                return sp;
            }
            k = sp + 1;
        }
        usize::MAX
    };
    let mut gate = next_gate(0);
    if gate == usize::MAX {
        return out;
    }
    let char_at = |i: usize| src.get(i..).and_then(|r| r.chars().next());
    let char_before = |i: usize| src.get(..i).and_then(|r| r.chars().next_back());
    // the spaces of the run being read, and its letter count
    let mut run: Vec<usize> = Vec::new();
    let mut letters = 0usize;
    // what came before the current char: 0 start or 2+ spaces or another separator, 1 one space
    // after a lone letter, 2 a lone letter
    let mut prev_letter_alone = false;
    let mut prev_was_boundary = true;
    let flush = |run: &mut Vec<usize>, letters: &mut usize, out: &mut Vec<usize>| {
        if *letters >= MIN_RUN {
            out.extend_from_slice(run);
        }
        run.clear();
        *letters = 0;
    };
    let mut i = 0usize;
    loop {
        if i > gate {
            gate = next_gate(i);
        }
        if run.is_empty() && letters == 0 {
            // nothing open: skip to two chars before the gate (the run's first letter and the
            // boundary before it), where the reading starts afresh exactly as it would have
            let mut r = gate.min(n);
            for _ in 0..2 {
                if let Some(c) = char_before(r) {
                    r -= c.len_utf8();
                }
            }
            if r > i {
                i = r;
                prev_letter_alone = false;
                prev_was_boundary = char_before(i).is_none_or(|c| !c.is_alphanumeric());
            }
        }
        let Some(c) = char_at(i) else { break };
        let next = char_at(i + c.len_utf8());
        if c.is_alphabetic() {
            let next_is_boundary = next.is_none_or(|d| !d.is_alphanumeric());
            if prev_was_boundary && next_is_boundary {
                letters += 1;
                prev_letter_alone = true;
            } else {
                // the space before a longer word is not inside the run
                if run.last().is_some_and(|&sp| sp + 1 == i) {
                    run.pop();
                }
                flush(&mut run, &mut letters, &mut out);
                prev_letter_alone = false;
            }
            prev_was_boundary = false;
        } else if c == ' ' {
            let single = next.is_some_and(|d| d.is_alphabetic());
            if prev_letter_alone && single && letters > 0 {
                run.push(i);
            } else {
                flush(&mut run, &mut letters, &mut out);
            }
            prev_letter_alone = false;
            prev_was_boundary = true;
        } else {
            flush(&mut run, &mut letters, &mut out);
            prev_letter_alone = false;
            prev_was_boundary = !c.is_alphanumeric();
        }
        i += c.len_utf8();
    }
    flush(&mut run, &mut letters, &mut out);
    out
}

struct State<'f> {
    on_word: Option<OnWord<'f>>,
    /// words and sentence breaks emitted so far
    wi: u32,
    si: u32,
    /// the folded/original offset difference may have changed inside the current word
    dirty: bool,
    b: Builder,
    in_word: bool,
    word_ws: usize,
    word_out: usize,
    slow: bool,
    has_lat: bool,
    has_cyr: bool,
    last_digit: bool,
    sep_start: usize,
    sep_break: bool,
    sep_newlines: u32,
    sep_bullet: bool,
    last_end: usize,
    /// The word before the current separator run is not yet reported to `on_word`: it may go
    /// on after a hyphenated line break ("коммента-\nриев").
    pending: bool,
    /// Separator run so far: 0 nothing, 1 a hyphen right after the word, 2 then a line break
    /// (with optional spaces), 3 anything else.
    sep_join: u8,
    /// The text is Kazakh in Latin script (see [`is_kazakh_latin`]): its Latin words are read
    /// in Cyrillic.
    kz_latin: bool,
}

impl State<'_> {
    #[inline]
    fn word_done(&mut self) {
        if let Some(f) = self.on_word.as_mut() {
            let w = &self.b.out[self.word_out..];
            f(w, self.word_out, self.wi, self.si);
        }
    }

    /// Before emitting a word char at original offset `i`: open a word (emitting the pending
    /// separator) if needed, and record the offset.
    #[inline]
    fn word_char(&mut self, i: usize, upper: bool) {
        if !self.in_word {
            if self.pending {
                self.pending = false;
                // a word broken by a hyphen at a line end goes on in lower case: join it
                if self.sep_join == 2
                    && !upper
                    && self.b.out.chars().last().is_some_and(char::is_alphabetic)
                {
                    self.in_word = true;
                    self.b.cp(i);
                    self.dirty = false;
                    return;
                }
                self.word_done();
            }
            if !self.b.out.is_empty() {
                let brk = self.sep_break
                    || self.sep_newlines >= 2
                    || (self.sep_newlines == 1 && (self.sep_bullet || upper));
                self.b.cp(self.sep_start);
                self.b
                    .out
                    .push(if brk { BREAK as char } else { SEP as char });
                self.wi += 1;
                self.si += brk as u32;
            }
            self.in_word = true;
            self.word_ws = i;
            self.word_out = self.b.out.len();
            self.slow = false;
            self.has_lat = false;
            self.has_cyr = false;
            self.b.cp(i);
            self.dirty = false;
        } else if self.dirty {
            // an earlier char of this word changed length or was dropped
            self.b.cp(i);
            self.dirty = false;
        }
    }

    fn sep_char(&mut self, src: &str, i: usize, c: char) {
        if self.in_word {
            if self.kz_latin && !self.has_cyr && (self.has_lat || self.slow) {
                self.b
                    .translit_word(src, self.word_ws, i, self.word_out, self.slow);
            } else if self.slow || (self.has_lat && self.has_cyr) {
                self.b
                    .redo_word(src, self.word_ws, i, self.word_out, self.slow);
            }
            self.pending = true;
            self.in_word = false;
            self.last_end = i;
            self.sep_start = i;
            self.sep_break = false;
            self.sep_newlines = 0;
            self.sep_bullet = false;
            self.sep_join = 0;
        }
        self.sep_join = match (self.sep_join, c) {
            (0, '-' | '\u{2010}' | '\u{00AC}') => 1,
            (1 | 2, '\n') => 2,
            (1 | 2, ' ' | '\t' | '\r') => self.sep_join,
            _ => 3,
        };
        match c {
            // "шт.", "ед. изм.", "мес.": an abbreviation's dot does not end the sentence
            '.' if is_abbreviation(&self.b.out[self.word_out.min(self.b.out.len())..]) => {}
            '.' | '!' | '?' | ';' | '…' => self.sep_break = true,
            '\n' | '\u{2028}' | '\u{2029}' | '\u{0B}' | '\u{0C}' => self.sep_newlines += 1,
            '•' | '·' | '▪' | '●' | '◦' | '‣' | '-' | '–' | '—' | '*' => {
                self.sep_bullet = true
            }
            _ => {}
        }
    }
}

/// Abbreviations of specification tables and lists whose dot is not a sentence end.
fn is_abbreviation(w: &str) -> bool {
    matches!(
        w,
        "шт" | "ед"
            | "изм"
            | "мес"
            | "нед"
            | "тыс"
            | "кол"
            | "колич"
            | "бірл"
            | "өлш"
            | "pcs"
            | "qty"
            | "no"
            | "approx"
            | "min"
            | "max"
            | "мин"
            | "макс"
            | "чел"
            | "экз"
            | "усл"
            | "см"
            | "напр"
            | "т"
            | "д"
            | "др"
            | "пр"
            | "вкл"
            | "соц"
            | "г"
            | "гг"
            | "ул"
            | "обл"
    )
}

/// Iterate over the words of a folded text: (start, end) byte offsets.
pub(crate) fn words(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let s = pos;
        let e = bytes[s..]
            .iter()
            .position(|&b| b == SEP || b == BREAK)
            .map_or(bytes.len(), |k| s + k);
        pos = e + 1;
        Some((s, e))
    })
}

/// Snap an original offset down to a char boundary.
pub(crate) fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Snap an original offset up to a char boundary.
pub(crate) fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold_words(s: &str) -> Vec<String> {
        let n = normalize(s);
        words(&n.text)
            .map(|(a, b)| n.text[a..b].to_string())
            .collect()
    }

    fn orig_words(s: &str) -> Vec<&str> {
        let n = normalize(s);
        words(&n.text)
            .map(|(a, b)| &s[n.to_orig(a)..n.to_orig(b)])
            .collect()
    }

    #[test]
    fn folds_case_yo_hyphens_and_breaks() {
        assert_eq!(fold_words("Фейк-Аккаунт"), ["фейк", "аккаунт"]);
        assert_eq!(fold_words("фейк\r\n  аккаунт"), ["фейк", "аккаунт"]);
        assert_eq!(fold_words("ЁЛКА ёж"), ["елка", "еж"]);
        assert_eq!(fold_words("ҚАЗАҚСТАН ӘКІМДІГІ"), ["қазақстан", "әкімдігі"]);
        let n = normalize("фейк\nаккаунт");
        assert_eq!(n.text, "фейк аккаунт");
        let n = normalize("один. Два\n\nтри\n- четыре\nпять");
        assert_eq!(n.text, "один|два|три|четыре пять");
    }

    #[test]
    fn soft_hyphen_and_zero_width_are_dropped() {
        assert_eq!(fold_words("ак\u{00AD}ка\u{200B}унт"), ["аккаунт"]);
        assert_eq!(
            orig_words("x ак\u{00AD}ка\u{200B}унт y")[1],
            "ак\u{00AD}ка\u{200B}унт"
        );
        assert_eq!(fold_words("\u{FEFF}\u{200D}"), Vec::<String>::new());
    }

    #[test]
    fn latin_look_alikes_fold_inside_cyrillic_words() {
        // Latin a, c, o inside Russian words.
        assert_eq!(fold_words("aккаунт"), ["аккаунт"]);
        assert_eq!(fold_words("Фeйкoвых aккaунтoв"), ["фейковых", "аккаунтов"]);
        // A Latin word with one Cyrillic look-alike folds the other way.
        assert_eq!(fold_words("fаke"), ["fake"]);
        // Pure Latin words keep their letters.
        assert_eq!(fold_words("Instagram SMM"), ["instagram", "smm"]);
        // offsets of the mixed word map to the original bytes
        let s = "создание aккаунтов";
        assert_eq!(orig_words(s), ["создание", "aккаунтов"]);
    }

    #[test]
    fn ocr_reading_of_yery_as_two_letters_folds_back() {
        // ы read as ь + Kazakh і, Latin i, l, I or dotless ı; ъ + і
        for s in [
            "фейковьіх",
            "фейковьix",
            "фейковьlх",
            "фейковьıх",
            "фейковbіх",
            "ФЕЙКОВЬІХ",
            "ФЕЙКОВЬIХ",
            "фейковъіх",
        ] {
            assert_eq!(fold_words(s), ["фейковых"], "{s}");
        }
        // offsets still map to the original words
        let s = "создание фейковьix аккаунтов";
        assert_eq!(orig_words(s), ["создание", "фейковьix", "аккаунтов"]);
        let s = "фейковьіх аккаунтов";
        assert_eq!(orig_words(s), ["фейковьіх", "аккаунтов"]);
        // a soft sign ending a word and a Kazakh word starting with і stay as they are
        assert_eq!(fold_words("роль ісі"), ["роль", "ісі"]);
        assert_eq!(fold_words("пікір білім"), ["пікір", "білім"]);
        // Latin words keep b, l, I
        assert_eq!(fold_words("Facebook Bloglike"), ["facebook", "bloglike"]);
    }

    #[test]
    fn greek_look_alikes_e_after_f_and_hyphenated_line_breaks() {
        assert_eq!(fold_words("фейκοвых аккαунтов"), ["фейковых", "аккаунтов"]);
        assert_eq!(fold_words("ФЭЙКОВЫЕ фэйк"), ["фейковые", "фейк"]);
        assert_eq!(fold_words("ФEЙKOBЫX AKKAУHTOB"), ["фейковых", "аккаунтов"]);
        assert_eq!(fold_words("fаke"), ["fake"]);
        assert_eq!(fold_words("экономика"), ["экономика"]);
        assert_eq!(
            fold_words("коммента-\nриев и ак-\n  каунтов"),
            ["комментариев", "и", "аккаунтов"]
        );
        // a hyphen without a line break, or a capital after it, still separates
        assert_eq!(fold_words("фейк-аккаунт"), ["фейк", "аккаунт"]);
        assert_eq!(fold_words("работы -\nОтчет"), ["работы", "отчет"]);
        let src = "ком-\nментарии x";
        let n = normalize(src);
        assert_eq!(n.text, "комментарии x");
        assert_eq!(n.to_orig(n.text.len()), src.len());
        assert_eq!(
            &src[n.to_orig(0)..n.to_orig("комментарии".len())],
            "ком-\nментарии"
        );
    }

    /// `letter_spaced_joins` as it was before it skipped to the gate's hits: every char read.
    fn letter_spaced_joins_reference(src: &str) -> Vec<usize> {
        const MIN_RUN: usize = 4;
        let mut out = Vec::new();
        // cheap gate: no " x y " anywhere (a one-char token between single spaces, twice) means no
        // run; most texts stop here after one byte scan
        let b = src.as_bytes();
        let lone_after = |i: usize| -> Option<usize> {
            // the end of a one-char token starting at i, if a space follows it
            let len = match *b.get(i)? {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            (b.get(i + len) == Some(&b' ')).then_some(i + len)
        };
        let mut gate = false;
        let mut k = 0usize;
        while let Some(p) = b[k..].iter().position(|&x| x == b' ') {
            let sp = k + p;
            if b.get(sp + 1).is_some_and(|&x| x != b' ')
                && let Some(e) = lone_after(sp + 1)
                && b.get(e + 1).is_some_and(|&x| x != b' ')
                && lone_after(e + 1).is_some()
            {
                gate = true;
                break;
            }
            k = sp + 1;
        }
        if !gate {
            return out;
        }
        // the spaces of the run being read, and its letter count
        let mut run: Vec<usize> = Vec::new();
        let mut letters = 0usize;
        let mut it = src.char_indices().peekable();
        // what came before the current char: 0 start or 2+ spaces or another separator, 1 one space
        // after a lone letter, 2 a lone letter
        let mut prev_letter_alone = false;
        let mut prev_was_boundary = true;
        let flush = |run: &mut Vec<usize>, letters: &mut usize, out: &mut Vec<usize>| {
            if *letters >= MIN_RUN {
                out.extend_from_slice(run);
            }
            run.clear();
            *letters = 0;
        };
        while let Some((i, c)) = it.next() {
            if c.is_alphabetic() {
                let next_is_boundary = it.peek().is_none_or(|&(_, d)| !d.is_alphanumeric());
                if prev_was_boundary && next_is_boundary {
                    letters += 1;
                    prev_letter_alone = true;
                } else {
                    // the space before a longer word is not inside the run
                    if run.last().is_some_and(|&sp| sp + 1 == i) {
                        run.pop();
                    }
                    flush(&mut run, &mut letters, &mut out);
                    prev_letter_alone = false;
                }
                prev_was_boundary = false;
            } else if c == ' ' {
                let single = it.peek().is_some_and(|&(_, d)| d.is_alphabetic());
                if prev_letter_alone && single && letters > 0 {
                    run.push(i);
                } else {
                    flush(&mut run, &mut letters, &mut out);
                }
                prev_letter_alone = false;
                prev_was_boundary = true;
            } else {
                flush(&mut run, &mut letters, &mut out);
                prev_letter_alone = false;
                prev_was_boundary = !c.is_alphanumeric();
            }
        }
        flush(&mut run, &mut letters, &mut out);
        out
    }

    #[test]
    fn spaces_in_marks_exactly_the_spaces() {
        for bytes in [
            *b"a b  c d",
            *b"        ",
            *b"\x20\x21\x1f\xa0\xe2\x20\x00\x7f",
        ] {
            let m = spaces_in(u64::from_le_bytes(bytes));
            for (i, &x) in bytes.iter().enumerate() {
                assert_eq!(m >> (8 * i + 7) & 1 == 1, x == b' ', "{bytes:?} at {i}");
            }
            assert_eq!(m & !0x8080_8080_8080_8080, 0);
        }
    }

    #[test]
    fn letter_spaced_joins_skip_nothing_the_full_reading_finds() {
        let cases = [
            "Ф е й к   а к к а у н т т а р  құру",
            "и в с а б в г аккаунт (x Ф е й к) ab Ф е й к",
            "word Ф е й к\nТ Е Х Н И Ч Е С К О Е  З А Д А Н И Е: создание и в г. Рудный",
            "а, б, в, г и в а б в г",
            "1 2 3 4 а б в г 5",
            "x  ф е й к",
            "ab c d e f",
            "é ü ñ ö ß ø",
            "и в с т р у к т у р е  и  в  с",
        ];
        for c in cases {
            assert_eq!(
                letter_spaced_joins(c),
                letter_spaced_joins_reference(c),
                "{c:?}"
            );
        }
        // random mixes of lone letters, spaces, words and punctuation
        let parts = [
            "а",
            "б",
            "Ф",
            "x",
            "é",
            "қ",
            " ",
            " ",
            "  ",
            "и",
            "ab",
            "аккаунт",
            ",",
            "(",
            "\n",
            "1",
            "-",
            "ё",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 40) as usize;
            let mut x = seed;
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push_str(parts[(x >> 33) as usize % parts.len()]);
            }
            assert_eq!(
                letter_spaced_joins(&s),
                letter_spaced_joins_reference(&s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn letter_spaced_words_are_joined() {
        assert_eq!(
            fold_words("Ф е й к   а к к а у н т т а р  құру"),
            ["фейк", "аккаунттар", "құру"]
        );
        assert_eq!(
            fold_words("Т Е Х Н И Ч Е С К О Е  З А Д А Н И Е: создание"),
            ["техническое", "задание", "создание"]
        );
        // three lone letters or a list of them stay apart; the word after a run is its own
        assert_eq!(fold_words("и в с"), ["и", "в", "с"]);
        assert_eq!(fold_words("а б в г аккаунт"), ["абвг", "аккаунт"]);
        assert_eq!(fold_words("а, б, в, г"), ["а", "б", "в", "г"]);
        // offsets still map back to the letters
        let src = "x  ф е й к";
        let n = normalize(src);
        assert_eq!(n.text, "x фейк");
        assert_eq!(&src[n.to_orig(2)..n.to_orig(n.text.len())], "ф е й к");
    }

    #[test]
    fn kazakh_typed_in_plain_ascii_is_read_in_cyrillic() {
        assert_eq!(
            fold_words("Kunine 20 pikir zhazu kerek, akkaunttar ar turli bolsyn"),
            [
                "кунине",
                "20",
                "пикир",
                "жазу",
                "керек",
                "аккаунттар",
                "ар",
                "турли",
                "болсын"
            ]
        );
        // English with a Kazakh word or two stays English
        assert_eq!(
            fold_words(
                "The word pikir means opinion; kerek means needed in this glossary of many words"
            ),
            [
                "the", "word", "pikir", "means", "opinion", "kerek", "means", "needed", "in",
                "this", "glossary", "of", "many", "words"
            ]
        );
    }

    #[test]
    fn kazakh_in_latin_script_is_read_in_cyrillic() {
        assert_eq!(
            fold_words("Qosymşa paraqşalar arqyly turǵyndar atynan pikir qaldyru – aiyna 120."),
            [
                "косымша",
                "паракшалар",
                "аркылы",
                "тургындар",
                "атынан",
                "пикир",
                "калдыру",
                "айына",
                "120"
            ]
        );
        assert_eq!(
            fold_words("Onim berushi baılanysy joq 4 paraqsha ashyp, kommentarıı jazýdy"),
            [
                "оним",
                "беруши",
                "байланысы",
                "жок",
                "4",
                "паракша",
                "ашып",
                "комментарий",
                "жазуды"
            ]
        );
        // English stays English, even with a q; one marked word is not enough
        assert_eq!(
            fold_words("Quality of queries at Qatar"),
            ["quality", "of", "queries", "at", "qatar"]
        );
        assert_eq!(
            fold_words("fake accounts for Aqtobe"),
            ["fake", "accounts", "for", "aqtobe"]
        );
        // offsets map back to the Latin words
        let src = "pikir qaldyru, aiyna qosymşa";
        let n = normalize(src);
        let w: Vec<&str> = n.text.split(' ').collect();
        assert_eq!(w, ["пикир", "калдыру", "айына", "косымша"]);
        let s1 = n.text.find("калдыру").unwrap();
        assert_eq!(
            &src[n.to_orig(s1)..n.to_orig(s1 + "калдыру".len())],
            "qaldyru"
        );
    }

    #[test]
    fn nfkc_for_compatibility_forms() {
        assert_eq!(fold_words("ＳＭＭ ﬁle"), ["smm", "file"]);
        // decomposed й and ё
        assert_eq!(fold_words("и\u{0306}ог е\u{0308}ж"), ["йог", "еж"]);
        assert_eq!(orig_words("a ＳＭＭ b"), ["a", "ＳＭＭ", "b"]);
    }

    #[test]
    fn digits_keep_inner_separators() {
        assert_eq!(fold_words("1,5 и 1.000, 50."), ["1,5", "и", "1.000", "50"]);
        assert_eq!(fold_words("1 000"), ["1", "000"]);
    }

    #[test]
    fn offsets_map_back_to_original_words() {
        let s = "  «Создание» ЧЕТЫРЁХ\u{00A0}фейковых — aккаунтов…\n\n";
        let ws = orig_words(s);
        assert_eq!(ws, ["Создание", "ЧЕТЫРЁХ", "фейковых", "aккаунтов"]);
    }

    #[test]
    fn to_orig_near_answers_as_to_orig_from_any_hint() {
        let src = "  «Создание» ЧЕТЫРЁХ\u{00A0}фейковых — aккаунтов…\n\n Ф е й к  ком-\nментариев, 5 000 шт.; ьі ok ";
        let n = normalize(&src.repeat(30));
        let hint = std::cell::Cell::new(0);
        let len = n.text.len();
        // forwards, backwards, and jumping about, as the quota reader asks
        let mut offsets: Vec<usize> = (0..=len).collect();
        offsets.extend((0..=len).rev());
        offsets.extend((0..=len).map(|k| (k * 7919) % (len + 1)));
        for o in offsets {
            assert_eq!(n.to_orig_near(o, &hint), n.to_orig(o), "offset {o}");
        }
        let far = std::cell::Cell::new(usize::MAX);
        assert_eq!(n.to_orig_near(3, &far), n.to_orig(3));
    }

    /// Folds `s` with and without the fast path: the folded text, every offset point and
    /// every word handed to the prefilter are the same.
    fn assert_fast_eq_slow(s: &str) {
        let run = |fast: bool| {
            let mut seen: Vec<(String, usize, u32, u32)> = Vec::new();
            let mut cb =
                |w: &str, at: usize, wi: u32, si: u32| seen.push((w.to_string(), at, wi, si));
            let n = fold(s, Some(&mut cb), fast);
            (n, seen)
        };
        let (f, fw) = run(true);
        let (g, gw) = run(false);
        assert_eq!(f.text, g.text, "{s:?}");
        assert_eq!(f.cps, g.cps, "{s:?}");
        assert_eq!(fw, gw, "{s:?}");
        for o in 0..=s.len() {
            assert_eq!(f.to_folded(o), g.to_folded(o), "{s:?} at {o}");
        }
        for k in 0..=f.text.len() {
            assert_eq!(f.to_orig(k), g.to_orig(k), "{s:?} at {k}");
        }
    }

    #[test]
    fn fast_path_folds_exactly_as_the_general_path() {
        // adversarial cases by hand: every stop of the fast run at every place in a word
        for s in [
            "Фейковых АККАУНТОВ для комментирования",
            "ФЭЙК фэйк ФэЙК эфэ",
            "фейковьіх ФЕЙКОВЬІХ фейковъіх фейковьix ьі",
            "ЧЕТЫРЁХ ёлка Ёж ЁЁЁ",
            "aккаунт Фeйкoвых ФEЙKOBЫX AKKAУHTOB fаke",
            "фейκοвых аккαунтов ΑΒΕ",
            "и\u{0306}ог е\u{0308}ж аккаун\u{0301}т",
            "1,5 и 1.000, 50. 3,,4 5..6 а1,5б",
            "коммента-\nриев ак-\n  каунтов работы -\nОтчет",
            "ак\u{00AD}ка\u{200B}унт\u{FEFF}ов",
            "Ф е й к   а к к а у н т т а р  құру",
            "Qosymşa paraqşalar arqyly turǵyndar atynan pikir qaldyru aiyna 120.",
            "ҚАЗАҚСТАН әкімдігі Ғ ғ Ұ ұ Ү ү Һ һ Ә ә Ө ө Ң ң Ӏ ӏ",
            "ЀЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ ѐёђѓєѕіїјљњћќѝўџ Ѡѡ",
            "ＳＭＭ ﬁle ß İstanbul ǅ",
            "шт. ед. изм. мес. г. Рудный",
            "Instagram SMM Facebook Bloglike",
            "",
            "а",
            "Я",
            "Zz9",
        ] {
            assert_fast_eq_slow(s);
        }
        // random: words built from a pool weighted to ASCII and Cyrillic, with look-alikes
        // (Latin, Greek), combining marks, Kazakh letters, ignorables and separators between
        let pool: Vec<char> = concat!(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
            "ёЁіІїЇўЎђЂѐЀџЏ",
            "әғқңөұүһӘҒҚҢӨҰҮҺӀӏ",
            "αβεηικμνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧόΖ",
            "ıİşǵńúýäöü",
            "\u{0300}\u{0301}\u{0306}\u{0308}\u{0483}\u{20D0}\u{FE20}",
            "\u{00AD}\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            "ＡＢＣｆﬁß😀ǅ",
            "  \n\n\r\t.,;:!?…-–—‐¬«»()|/*•·\u{00A0}\u{2028}"
        )
        .chars()
        .collect();
        assert_eq!((pool[61], pool[62], pool[125]), ('9', 'а', 'Я'));
        let mut x: u64 = 0xD1B54A32D192ED03;
        let mut rnd = |m: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m as u64) as usize
        };
        for round in 0..6000 {
            let len = 1 + rnd(60);
            let mut s = String::new();
            for _ in 0..len {
                // mostly plain letters, so long runs meet every kind of stop
                let c = match rnd(10) {
                    0..=3 => pool[rnd(62)],
                    4..=6 => pool[62 + rnd(64)],
                    _ => pool[rnd(pool.len())],
                };
                s.push(c);
            }
            if round % 5 == 0 {
                // raw code points anywhere in the plane, now and then
                s.push(char::from_u32(rnd(0x11000) as u32).unwrap_or('?'));
            }
            assert_fast_eq_slow(&s);
        }
    }

    #[test]
    fn random_input_never_panics_and_maps_to_boundaries() {
        // xorshift; a cheap fuzz over bytes and over a pool of tricky chars
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let pool: Vec<char> =
            "aаeеoоcсxх ЁёӘәІі\u{00AD}\u{200B}\u{0306}\u{0308}ﬁＡ1,.-\n|—«»😀ß\u{FEFF}İ"
                .chars()
                .collect();
        // Kazakh in Latin script and letter-spaced words: their own passes
        let kz: Vec<char> = "qQşǵıńúýäöüİ shchzh  a e i ı y u ý".chars().collect();
        for round in 0..4500 {
            let len = (round % 40) + 1;
            let mut s = String::new();
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if round % 3 == 2 {
                    s.push(kz[(x % kz.len() as u64) as usize]);
                } else if round % 3 == 0 {
                    s.push(pool[(x % pool.len() as u64) as usize]);
                } else {
                    let c = char::from_u32((x % 0x11000) as u32).unwrap_or('?');
                    s.push(c);
                }
            }
            let n = normalize(&s);
            assert!(!n.text.starts_with(' ') && !n.text.ends_with(' '));
            for (a, b) in words(&n.text) {
                let (oa, ob) = (n.to_orig(a), n.to_orig(b));
                assert!(oa <= ob && ob <= s.len(), "{s:?}");
                assert!(s.is_char_boundary(floor_boundary(&s, oa)));
                assert!(s.is_char_boundary(ceil_boundary(&s, ob)));
            }
        }
    }
}
