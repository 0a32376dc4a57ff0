//! The second opinion: a logistic-regression model over folded words that rates a passage as an order
//! of manufactured opinion or not, for what the rules' vocabulary misses and for the rule hits
//! whose wording says the opposite.
//!
//! Features of a passage (a sentence, or two sentences side by side): each folded word cut to
//! its first [`PREFIX_CHARS`] letters, Kazakh-only letters typed plain (ә→а, қ→к, і→и ...),
//! numbers as `0`; and each pair of neighbouring words in one sentence (`фейко аккаун`). The
//! score is `prior + Σ weight` over the distinct features (the log-odds of an order); weights are
//! learnt by [`Model::train`] from labelled fragments (`tenderscan rules train`) and kept as
//! data (`opinion.tsv`, one `feature<TAB>weight` per line). A passage above the model's
//! `threshold` that no rule flagged becomes a `second-opinion` match at medium severity; a rule
//! hit whose passages all score below `veto` is lowered to low severity. Both name the words that
//! moved the score.
//!
//! Must never: flag or lower a match without naming its words, read anything but the text it is
//! given, or panic on any input (a malformed model file is an error naming its line).

use super::RuleError;
use super::engine::FxBuild;
use super::normalize::{BREAK, SEP};
use std::collections::{BTreeMap, HashMap};

/// Letters of a word a feature keeps.
pub const PREFIX_CHARS: usize = 6;
/// The rule id of the second opinion's matches.
pub const RULE_ID: &str = "second-opinion";
/// Words named in an explanation.
const EXPLAIN_WORDS: usize = 5;

const BUILTIN: &str = include_str!("opinion.tsv");
const BUILTIN_ORIGIN: &str = "opinion.tsv";

/// A trained model. Immutable; share it with the rule set.
#[derive(Debug, Clone)]
pub struct Model {
    /// feature -> (its index, its weight)
    weights: HashMap<String, (u32, f32), FxBuild>,
    /// The same by the FNV-1a hash of the feature, so that [`Model::hits`] looks a pair up
    /// without building its string; empty when two features' hashes collide (then the
    /// strings are looked up).
    by_hash: HashMap<u64, (u32, f32), FxBuild>,
    prior: f32,
    /// A passage scoring above this is an order (a `second-opinion` match).
    pub threshold: f32,
    /// A rule hit whose passages all score below this is lowered to low severity.
    pub veto: f32,
    /// Where it came from, for errors and `rules list`.
    pub origin: String,
    /// The model text, for the rule set's version.
    text: String,
    /// Fragments it learnt from (flag, clean), from the header.
    pub trained_on: (usize, usize),
}

/// How a passage scored and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Opinion {
    pub score: f32,
    /// The features that moved the score most in its direction, strongest first.
    pub words: Vec<(String, f32)>,
}

impl Opinion {
    /// One line for alerts: `second opinion 7.4: фейко +2.1, аккаун +1.8`.
    pub fn reason(&self) -> String {
        let words: Vec<String> = self
            .words
            .iter()
            .map(|(w, x)| format!("{w} {x:+.1}"))
            .collect();
        format!("second opinion {:.1}: {}", self.score, words.join(", "))
    }
}

/// Settings of [`Model::train`]. The defaults were chosen by five-fold cross-validation on the
/// tuning parts of the development corpus (DETECTION.md, "Second opinion").
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Passes over the cases.
    pub epochs: usize,
    /// Step of the gradient descent.
    pub rate: f32,
    /// L2 decay of each weight a case touches.
    pub l2: f32,
    /// Features seen in fewer fragments are left out.
    pub min_count: usize,
    pub threshold: f32,
    pub veto: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 30,
            rate: 0.2,
            l2: 1e-3,
            min_count: 1,
            threshold: 4.0,
            veto: -4.0,
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, going on from `h`: hashing "a b" is hashing "a", then " ", then "b".
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The feature of one folded word: its first letters, Kazakh letters plain, a number as `0`.
fn key(word: &str) -> String {
    let mut out = String::new();
    key_into(word, &mut out);
    out
}

/// [`key`] appended to a reused buffer.
fn key_into(word: &str, out: &mut String) {
    if word
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        out.push('0');
        return;
    }
    let end = word
        .char_indices()
        .nth(PREFIX_CHARS)
        .map_or(word.len(), |(i, _)| i);
    let head = &word[..end];
    // Kazakh-only letters are two-byte chars led by 0xD2/0xD3, or і (0xD1 0x96)
    let b = head.as_bytes();
    let kazakh = b
        .iter()
        .enumerate()
        .any(|(i, &x)| x == 0xD2 || x == 0xD3 || (x == 0xD1 && b.get(i + 1) == Some(&0x96)));
    if kazakh {
        out.push_str(&super::stem::kk_plain(head));
    } else {
        out.push_str(head);
    }
}

/// The distinct features of some sentences of folded text (words separated by [`SEP`], no
/// [`BREAK`] inside a sentence): words and neighbouring pairs, sorted.
pub(crate) fn features<'a>(sentences: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for s in sentences {
        let keys: Vec<String> = s
            .split([SEP as char, BREAK as char])
            .filter(|w| !w.is_empty())
            .map(key)
            .collect();
        for (i, k) in keys.iter().enumerate() {
            out.push(k.clone());
            if let Some(n) = keys.get(i + 1) {
                out.push(format!("{k} {n}"));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The sentences of a folded text.
pub(crate) fn sentences(folded: &str) -> impl Iterator<Item = &str> {
    folded.split(BREAK as char).filter(|s| !s.is_empty())
}

impl Model {
    /// The model shipped with tenderscan (`src/rules/opinion.tsv`, trained on the tuning parts
    /// of the development corpus).
    pub fn builtin() -> Result<Model, RuleError> {
        Model::parse(BUILTIN, BUILTIN_ORIGIN)
    }

    /// A model file: `#` comments, `@prior`, `@threshold`, `@veto`, `@trained_on FLAG CLEAN`
    /// lines, then `feature<TAB>weight` lines. Errors name `origin` and the line.
    pub fn parse(text: &str, origin: &str) -> Result<Model, RuleError> {
        let err = |line: usize, message: String| RuleError::Rule {
            origin: origin.to_string(),
            line,
            rule: None,
            message,
        };
        let mut m = Model {
            weights: HashMap::default(),
            by_hash: HashMap::default(),
            prior: 0.0,
            threshold: f32::INFINITY,
            veto: f32::NEG_INFINITY,
            origin: origin.to_string(),
            text: text.to_string(),
            trained_on: (0, 0),
        };
        let num = |line: usize, v: &str| -> Result<f32, RuleError> {
            v.trim()
                .parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| err(line, format!("`{}` is not a number", v.trim())))
        };
        let (mut has_threshold, mut has_veto) = (false, false);
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim_end_matches('\r');
            if l.trim().is_empty() || l.starts_with('#') {
                continue;
            }
            if let Some(rest) = l.strip_prefix('@') {
                let (k, v) = rest.split_once(['\t', ' ']).unwrap_or((rest, ""));
                match k {
                    "prior" => m.prior = num(line, v)?,
                    "threshold" => {
                        m.threshold = num(line, v)?;
                        has_threshold = true
                    }
                    "veto" => {
                        m.veto = num(line, v)?;
                        has_veto = true
                    }
                    "trained_on" => {
                        let mut it = v.split_whitespace().map(|x| x.parse::<usize>());
                        match (it.next(), it.next()) {
                            (Some(Ok(f)), Some(Ok(c))) => m.trained_on = (f, c),
                            _ => {
                                return Err(err(line, "`@trained_on` wants two counts".into()));
                            }
                        }
                    }
                    _ => return Err(err(line, format!("unknown setting `@{k}`"))),
                }
                continue;
            }
            let Some((f, w)) = l.split_once('\t') else {
                return Err(err(line, "expected `feature<TAB>weight`".into()));
            };
            if f.is_empty() || f.split(' ').count() > 2 {
                return Err(err(
                    line,
                    format!("`{f}` is not one word or a pair of words"),
                ));
            }
            let id = m.weights.len() as u32;
            let w = num(line, w)?;
            m.weights.entry(f.to_string()).or_insert((id, w)).1 = w;
        }
        if !has_threshold || !has_veto {
            return Err(err(0, "a model needs `@threshold` and `@veto`".into()));
        }
        if m.veto >= m.threshold {
            return Err(err(0, "`@veto` must be below `@threshold`".into()));
        }
        for (f, &x) in &m.weights {
            if m.by_hash.insert(fnv(FNV_OFFSET, f.as_bytes()), x).is_some() {
                m.by_hash.clear();
                break;
            }
        }
        Ok(m)
    }

    /// Learn weights from labelled texts (true: an order of manufactured opinion): logistic
    /// regression by stochastic gradient descent with L2 decay, in a fixed order (the same
    /// cases give the same model).
    pub fn train(cases: &[(&str, bool)], opt: TrainOptions) -> Model {
        let mut index: BTreeMap<String, [usize; 2]> = BTreeMap::new();
        let docs: Vec<(Vec<String>, bool)> = cases
            .iter()
            .map(|(text, flag)| {
                let norm = super::normalize::normalize(text);
                let f = features(sentences(&norm.text));
                for x in &f {
                    index.entry(x.clone()).or_default()[usize::from(*flag)] += 1;
                }
                (f, *flag)
            })
            .collect();
        let names: Vec<&String> = index
            .iter()
            .filter(|(_, c)| c[0] + c[1] >= opt.min_count)
            .map(|(f, _)| f)
            .collect();
        let id: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), i))
            .collect();
        let xs: Vec<(Vec<usize>, f64)> = docs
            .iter()
            .map(|(f, y)| {
                (
                    f.iter()
                        .filter_map(|x| id.get(x.as_str()).copied())
                        .collect(),
                    if *y { 1.0 } else { 0.0 },
                )
            })
            .collect();
        let mut w = vec![0f64; names.len()];
        let mut bias = 0f64;
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        let (rate, l2) = (f64::from(opt.rate), f64::from(opt.l2));
        for _ in 0..opt.epochs {
            // Fisher-Yates with xorshift64: a fixed, platform-independent order
            for i in (1..order.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                order.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            for &i in &order {
                let (fs, y) = &xs[i];
                let z = (bias + fs.iter().map(|&f| w[f]).sum::<f64>()).clamp(-30.0, 30.0);
                let g = 1.0 / (1.0 + (-z).exp()) - y;
                bias -= rate * g;
                for &f in fs {
                    w[f] -= rate * (g + l2 * w[f]);
                }
            }
        }
        let n_flag = cases.iter().filter(|(_, y)| *y).count();
        let mut out = String::new();
        out.push_str(
            "# tenderscan second opinion: logistic regression over folded word prefixes and\n\
             # pairs (src/rules/opinion.rs). Written by `tenderscan rules train`; do not edit.\n",
        );
        out.push_str(&format!(
            "@trained_on {} {}\n",
            n_flag,
            cases.len() - n_flag
        ));
        out.push_str(&format!("@prior {bias:.3}\n"));
        out.push_str(&format!("@threshold {}\n", opt.threshold));
        out.push_str(&format!("@veto {}\n", opt.veto));
        for (f, x) in names.iter().zip(&w) {
            if x.abs() >= 0.02 {
                out.push_str(&format!("{f}\t{x:.3}\n"));
            }
        }
        // the text just written always parses
        Model::parse(&out, "trained model").unwrap_or_else(|_| Model {
            weights: HashMap::default(),
            by_hash: HashMap::default(),
            prior: 0.0,
            threshold: opt.threshold,
            veto: opt.veto,
            origin: "trained model".into(),
            text: out,
            trained_on: (n_flag, cases.len() - n_flag),
        })
    }

    /// The model as a file (`@` settings and weights), as [`Model::parse`] reads it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Number of features with a weight.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Score of some sentences of folded text: the sum over [`features`] without building
    /// them (one buffer for keys, each feature counted once by its index).
    #[cfg(test)]
    pub(crate) fn score<'a>(&self, sentences: impl IntoIterator<Item = &'a str>) -> f32 {
        self.prior + self.hits(sentences).iter().map(|h| h.1).sum::<f32>()
    }

    /// The weighted features of some sentences, by index, each once.
    pub(crate) fn hits<'a>(&self, sentences: impl IntoIterator<Item = &'a str>) -> Vec<(u32, f32)> {
        if self.by_hash.is_empty() {
            return self.hits_by_string(sentences);
        }
        let mut hits: Vec<(u32, f32)> = Vec::new();
        let mut buf = String::new();
        for s in sentences {
            let mut prev: Option<u64> = None;
            for w in s
                .split([SEP as char, BREAK as char])
                .filter(|w| !w.is_empty())
            {
                buf.clear();
                key_into(w, &mut buf);
                let h = fnv(FNV_OFFSET, buf.as_bytes());
                if let Some(&x) = self.by_hash.get(&h) {
                    hits.push(x);
                }
                // the pair "prev buf", hashed on from the previous word's hash
                if let Some(p) = prev
                    && let Some(&x) = self.by_hash.get(&fnv(fnv(p, b" "), buf.as_bytes()))
                {
                    hits.push(x);
                }
                prev = Some(h);
            }
        }
        hits.sort_unstable_by_key(|h| h.0);
        hits.dedup_by_key(|h| h.0);
        hits
    }

    /// [`Model::hits`] by the features' strings.
    fn hits_by_string<'a>(&self, sentences: impl IntoIterator<Item = &'a str>) -> Vec<(u32, f32)> {
        let mut hits: Vec<(u32, f32)> = Vec::new();
        let mut buf = String::new();
        let mut prev = String::new();
        for s in sentences {
            prev.clear();
            let mut first = true;
            for w in s
                .split([SEP as char, BREAK as char])
                .filter(|w| !w.is_empty())
            {
                buf.clear();
                key_into(w, &mut buf);
                if let Some(&h) = self.weights.get(buf.as_str()) {
                    hits.push(h);
                }
                if !first {
                    let k = prev.len();
                    prev.push(' ');
                    prev.push_str(&buf);
                    if let Some(&h) = self.weights.get(prev.as_str()) {
                        hits.push(h);
                    }
                    prev.truncate(k);
                }
                first = false;
                std::mem::swap(&mut prev, &mut buf);
            }
        }
        hits.sort_unstable_by_key(|h| h.0);
        hits.dedup_by_key(|h| h.0);
        hits
    }

    /// The score of a passage with no features.
    pub(crate) fn prior(&self) -> f32 {
        self.prior
    }

    /// Score and the words behind it (those pushing the way the score went).
    pub(crate) fn explain<'a>(&self, sentences: impl IntoIterator<Item = &'a str>) -> Opinion {
        let mut parts: Vec<(String, f32)> = features(sentences)
            .into_iter()
            .filter_map(|f| self.weights.get(&f).map(|&(_, w)| (f, w)))
            .collect();
        let score = self.prior + parts.iter().map(|(_, w)| w).sum::<f32>();
        let up = score >= 0.0;
        parts.retain(|(_, w)| (*w > 0.0) == up);
        parts.sort_by(|a, b| {
            b.1.abs()
                .partial_cmp(&a.1.abs())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.0.cmp(&b.0))
        });
        parts.truncate(EXPLAIN_WORDS);
        Opinion {
            score,
            words: parts,
        }
    }

    /// Score of a plain text (folded first), as `rules train` and tests see it.
    pub fn score_text(&self, text: &str) -> Opinion {
        let norm = super::normalize::normalize(text);
        self.explain(sentences(&norm.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_lookup_finds_what_the_strings_find() {
        let m = Model::builtin().unwrap();
        assert!(!m.by_hash.is_empty());
        let mut rng: u64 = 7;
        let words = [
            "фейко",
            "аккаун",
            "для",
            "коммен",
            "пікір",
            "жазу",
            "0",
            "от",
            "имени",
            "жител",
            "the",
            "fake",
            "accoun",
            "қала",
            "тұрғын",
            "мониторинг",
            "x",
            "",
        ];
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..(rng % 12) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if !s.is_empty() {
                    s.push(SEP as char);
                }
                s.push_str(words[(rng % words.len() as u64) as usize]);
            }
            assert_eq!(
                m.hits([s.as_str()]),
                m.hits_by_string([s.as_str()]),
                "{s:?}"
            );
        }
        let norm = super::super::normalize::normalize(
            "Создание четырех фейковых аккаунтов для комментирования публикаций от имени жителей",
        );
        let a = m.hits(sentences(&norm.text));
        assert!(!a.is_empty());
        assert_eq!(a, m.hits_by_string(sentences(&norm.text)));
    }

    fn toy() -> Model {
        let cases = [
            ("Создание фейковых аккаунтов для комментирования", true),
            ("Создать фейковые аккаунты и писать комментарии", true),
            ("Комментарии с фейковых аккаунтов от имени жителей", true),
            ("Выявление фейковых аккаунтов и их блокировка", false),
            ("Мониторинг комментариев и выявление ботов", false),
            ("Поставка бумаги и выявление брака", false),
        ];
        Model::train(
            &cases,
            TrainOptions {
                min_count: 1,
                ..TrainOptions::default()
            },
        )
    }

    #[test]
    fn features_are_prefixes_and_pairs_with_kazakh_plain() {
        let f = features(["пікірлер жазу 25"]);
        assert!(f.contains(&"пикирл".to_string()), "{f:?}");
        assert!(f.contains(&"пикирл жазу".to_string()), "{f:?}");
        assert!(f.contains(&"0".to_string()), "{f:?}");
        // no pair across a sentence break
        let f = features(sentences("фейк аккаунт|мониторинг"));
        assert!(!f.iter().any(|x| x == "аккаун монито"), "{f:?}");
    }

    #[test]
    fn trained_model_orders_and_explains() {
        let m = toy();
        let yes = m.score_text("Создание фейковых аккаунтов для комментирования новостей");
        let no = m.score_text("Выявление и блокировка ботов, мониторинг");
        assert!(yes.score > no.score, "{yes:?} {no:?}");
        assert!(yes.words.iter().all(|(_, w)| *w > 0.0));
        assert!(no.words.iter().all(|(_, w)| *w < 0.0));
        assert!(
            yes.reason().starts_with("second opinion "),
            "{}",
            yes.reason()
        );
    }

    #[test]
    fn model_text_round_trips_and_errors_name_the_line() {
        let m = toy();
        let again = Model::parse(m.text(), "x.tsv").unwrap();
        assert_eq!(again.len(), m.len());
        assert_eq!(again.threshold, m.threshold);
        let bad = "@threshold 6\n@veto -4\nфейк\tmany\n";
        let e = Model::parse(bad, "bad.tsv").unwrap_err().to_string();
        assert!(e.starts_with("bad.tsv:3:"), "{e}");
        let e = Model::parse("фейк\t1\n", "m.tsv").unwrap_err().to_string();
        assert!(e.contains("@threshold"), "{e}");
        let e = Model::parse("@threshold 1\n@veto 2\n", "m.tsv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("below"), "{e}");
    }

    #[test]
    fn builtin_model_parses() {
        let m = Model::builtin().unwrap();
        assert!(m.len() > 1000, "{}", m.len());
        assert!(m.trained_on.0 > 500 && m.trained_on.1 > 500);
    }

    #[test]
    fn fast_score_is_the_sum_over_features() {
        let m = Model::builtin().unwrap();
        for t in [
            "Создание фейковых аккаунтов для комментирования новостей акимата",
            "Күніне 30 пікір қалдыру, пікірлер тұрғындар атынан. Мониторинг 12 аккаунтов",
            "fake fake fake accounts accounts",
            "",
        ] {
            let n = super::super::normalize::normalize(t);
            let a = m.score(sentences(&n.text));
            let b = m.explain(sentences(&n.text)).score;
            assert!((a - b).abs() < 1e-3, "{t}: {a} vs {b}");
        }
    }

    #[test]
    fn any_input_scores_without_panic() {
        let m = toy();
        for t in [
            "",
            "|||",
            "\u{0}\u{202e}",
            "1.000,5 ###",
            &"ы".repeat(10_000),
        ] {
            let _ = m.score_text(t);
        }
    }
}
