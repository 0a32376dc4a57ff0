//! The rule engine: reads a technical assignment the way a reporter would, in Russian, Kazakh and
//! English, and says what it orders and how many.
//!
//! Rules are data (TOML, see `src/rules/README.md`); [`RuleSet`] compiles them once into a
//! shared term table and a literal prefilter over the stems of anchor words, and
//! [`RuleSet::find`] folds a text once (the prefilter runs inside that pass, per word), verifies
//! the candidate words, and only then evaluates the rules whose words occur.
//!
//! Parts: `normalize` (folding, look-alikes, offsets), `stem` (ru/en Snowball, kk suffix
//! stripper), `compile` (TOML -> terms, phrases, prefilter keys), `quota` (numbers, number
//! words, quotas), `engine` (matching, evidence), `opinion` (the statistical second opinion: a
//! model over folded words that adds `second-opinion` matches and lowers rule hits it rates as
//! something else), `eval` (scoring rules on labelled fragments).
//!
//! This module does no I/O except reading rule files in [`RuleSet::load`], never panics on any
//! input text, and reports offsets into the original text on char boundaries.

mod compile;
mod engine;
pub mod eval;
mod normalize;
mod opinion;
pub mod provenance;
mod quota;
mod stem;
mod table;

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

pub use crate::model::Severity;
pub use opinion::{Model, Opinion, RULE_ID as SECOND_OPINION, TrainOptions};
pub use quota::{Period, QuotaKind};

/// Bumped whenever matching behaviour changes, so [`RuleSet::version`] changes with it.
pub const ENGINE_VERSION: &str = "tenderscan-rules-10";

const BUILTIN: &str = include_str!("builtin.toml");
const BUILTIN_ORIGIN: &str = "builtin.toml";

/// Errors loading or compiling rules. Display: `origin:line: rule `id`: message`.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{}: cannot read rule file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}:{line}: {}{message}", rule.as_ref().map(|r| format!("rule `{r}`: ")).unwrap_or_default())]
    Rule {
        origin: String,
        line: usize,
        rule: Option<String>,
        message: String,
    },
}

/// What a rule is, for listings and alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    pub id: String,
    /// The title in English (`title` or `title.en` in the rule file): the fallback.
    pub title: String,
    pub severity: Severity,
    /// One line for the alert email, in English (`why` or `why.en`): the fallback.
    pub why: String,
    /// `title.ru` / `title.kk` and `why.ru` / `why.kk`, where the rule file has them.
    #[serde(skip_serializing_if = "Translations::is_empty")]
    pub translations: Translations,
    /// File the rule came from (`builtin.toml` for the built-in set).
    pub origin: String,
    /// Line of the rule's `id` key in that file.
    pub line: usize,
}

/// A rule's title and why in Russian and Kazakh (English is [`RuleInfo::title`] and
/// [`RuleInfo::why`], the fallback for a language a rule file does not give).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Translations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_ru: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_kk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_ru: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_kk: Option<String>,
}

impl Translations {
    pub fn is_empty(&self) -> bool {
        *self == Translations::default()
    }
}

impl RuleInfo {
    /// The title in `lang` (`"en"`, `"ru"`, `"kk"`), English where the file has none.
    pub fn title_in(&self, lang: &str) -> &str {
        let t = &self.translations;
        match lang {
            "ru" => t.title_ru.as_deref(),
            "kk" => t.title_kk.as_deref(),
            _ => None,
        }
        .unwrap_or(&self.title)
    }

    /// The why line in `lang`, English where the file has none.
    pub fn why_in(&self, lang: &str) -> &str {
        let t = &self.translations;
        match lang {
            "ru" => t.why_ru.as_deref(),
            "kk" => t.why_kk.as_deref(),
            _ => None,
        }
        .unwrap_or(&self.why)
    }
}

/// Facts about the notice a text belongs to, for amount thresholds.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub amount: Option<f64>,
    pub currency: Option<String>,
}

/// A quota: a number attached to a unit of manufactured opinion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub kind: QuotaKind,
    pub count: u64,
    pub per: Option<Period>,
    /// Byte offsets of the number and the unit word in the original text.
    pub start: usize,
    pub end: usize,
}

/// One place where a rule matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub rule_id: String,
    pub severity: Severity,
    /// 0..=1: how tight the match is (see the README).
    pub score: f64,
    /// Byte offsets of the matched span in the original text (char boundaries).
    pub start: usize,
    pub end: usize,
    /// The sentence around the match from the original text, at most 300 chars.
    pub evidence: String,
    /// Byte offset of `evidence` in the original text; the span inside the evidence is
    /// `start - evidence_start .. end - evidence_start`.
    pub evidence_start: usize,
    /// Quotas in or near the match (same sentence).
    pub quotas: Vec<Quota>,
    /// What the second opinion said, when it made this match or lowered it (the words that
    /// moved its score).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl Match {
    /// The count that stands for this match (the one a price per unit divides by): among the
    /// quotas whose number or unit lies inside the matched words ("10 жалған аккаунт" in
    /// "500 оң пікір ... 10 жалған аккаунт ашады" for fake accounts), the largest; where none
    /// does, the largest count near the match.
    pub fn main_quota(&self) -> Option<&Quota> {
        let inside = |q: &&Quota| q.start < self.end && self.start < q.end;
        self.quotas
            .iter()
            .filter(inside)
            .max_by_key(|q| q.count)
            .or_else(|| self.quotas.iter().max_by_key(|q| q.count))
    }
}

/// Everything found in one text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Findings {
    /// Sorted by severity (high first), then start.
    pub matches: Vec<Match>,
    /// Every quota in the text, deduplicated, by start.
    pub quotas: Vec<Quota>,
}

/// Result of one example or counterexample of a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExampleOutcome {
    pub rule_id: String,
    pub text: String,
    /// true for an example, false for a counterexample.
    pub expected_match: bool,
    pub passed: bool,
}

/// A compiled, immutable rule set. `Send + Sync`; share it with `Arc`.
#[derive(Debug)]
pub struct RuleSet {
    /// The rules in file order, then the second opinion's entry when it is on.
    infos: Vec<RuleInfo>,
    engine: engine::Engine,
    version: String,
    opinion: Option<Model>,
    /// Rules proper (`infos` past this are the second opinion's).
    n_rules: usize,
}

impl RuleSet {
    /// The built-in rules (`src/rules/builtin.toml`).
    pub fn builtin() -> Result<RuleSet, RuleError> {
        Self::from_sources(&[(BUILTIN.to_string(), BUILTIN_ORIGIN.to_string())])
    }

    /// The built-in rules (if asked) plus the rules of `files`, in that order. Rule ids must be
    /// unique across all of them.
    pub fn load(include_builtin: bool, files: &[PathBuf]) -> Result<RuleSet, RuleError> {
        let mut sources = Vec::new();
        if include_builtin {
            sources.push((BUILTIN.to_string(), BUILTIN_ORIGIN.to_string()));
        }
        for f in files {
            let text = std::fs::read_to_string(f).map_err(|source| RuleError::Io {
                path: f.clone(),
                source,
            })?;
            sources.push((text, f.display().to_string()));
        }
        Self::from_sources(&sources)
    }

    /// Rules from one TOML string; `origin` names it in errors (usually the file name).
    pub fn from_toml_str(src: &str, origin: &str) -> Result<RuleSet, RuleError> {
        Self::from_sources(&[(src.to_string(), origin.to_string())])
    }

    fn from_sources(sources: &[(String, String)]) -> Result<RuleSet, RuleError> {
        let mut terms = compile::Terms::default();
        let mut parsed: Vec<compile::Parsed> = Vec::new();
        let mut h = Sha256::new();
        h.update(ENGINE_VERSION.as_bytes());
        for (src, origin) in sources {
            h.update((src.len() as u64).to_le_bytes());
            h.update(src.as_bytes());
            for p in compile::parse_source(src, origin, &mut terms)? {
                if let Some(first) = parsed.iter().find(|q| q.info.id == p.info.id) {
                    return Err(RuleError::Rule {
                        origin: p.info.origin.clone(),
                        line: p.info.line,
                        rule: Some(p.info.id.clone()),
                        message: format!(
                            "duplicate rule id (first defined at {}:{})",
                            first.info.origin, first.info.line
                        ),
                    });
                }
                parsed.push(p);
            }
        }
        for p in &parsed {
            for d in &p.rule.defer_to {
                if !parsed.iter().any(|q| &q.info.id == d) || d == &p.info.id {
                    return Err(RuleError::Rule {
                        origin: p.info.origin.clone(),
                        line: p.info.line,
                        rule: Some(p.info.id.clone()),
                        message: format!(
                            "`defer_to` names `{d}`, which is not another loaded rule"
                        ),
                    });
                }
            }
        }
        let version = hex::encode(h.finalize())[..16].to_string();
        let infos: Vec<RuleInfo> = parsed.iter().map(|p| p.info.clone()).collect();
        let engine = engine::Engine::new(terms, parsed.into_iter().map(|p| p.rule).collect());
        let n_rules = infos.len();
        Ok(RuleSet {
            infos,
            engine,
            version,
            opinion: None,
            n_rules,
        })
    }

    /// These rules with the second opinion of `model` (see `opinion.rs`): passages no rule
    /// flagged that the model rates as orders become `second-opinion` matches at medium, and
    /// rule hits it rates as clearly something else are lowered to low. The version changes
    /// with the model.
    pub fn with_second_opinion(mut self, model: Model) -> Result<RuleSet, RuleError> {
        if let Some(r) = self.infos[..self.n_rules]
            .iter()
            .find(|r| r.id == opinion::RULE_ID)
        {
            return Err(RuleError::Rule {
                origin: r.origin.clone(),
                line: r.line,
                rule: Some(r.id.clone()),
                message: "this id is the second opinion's; rename the rule".into(),
            });
        }
        self.infos.truncate(self.n_rules);
        let mut h = Sha256::new();
        h.update(self.version.as_bytes());
        h.update(model.text().as_bytes());
        self.version = hex::encode(h.finalize())[..16].to_string();
        let trained = model.trained_on.0 + model.trained_on.1;
        self.infos.push(RuleInfo {
            id: opinion::RULE_ID.to_string(),
            title: "Worded like an order of fake opinion (second opinion)".into(),
            severity: Severity::Medium,
            why: format!(
                "No rule matched, but a statistical model trained on {trained} labelled fragments rates \
                 this passage as an order of manufactured opinion; the words that moved it are \
                 listed. Read it before you rely on it."
            ),
            translations: Translations {
                title_ru: Some("Похоже на заказ фейкового мнения (второе мнение)".into()),
                title_kk: Some("Жалған пікірге тапсырысқа ұқсайды (екінші пікір)".into()),
                why_ru: Some(format!(
                    "Ни одно правило не сработало, но статистическая модель, обученная на {trained} \
                     размеченных фрагментах, оценивает этот отрывок как заказ искусственного мнения; \
                     слова, повлиявшие на оценку, перечислены. Прочитайте его, прежде чем на него опираться."
                )),
                why_kk: Some(format!(
                    "Бірде-бір ереже іске қосылған жоқ, бірақ {trained} белгіленген үзіндіде оқытылған \
                     статистикалық модель бұл үзіндіні жасанды пікірге тапсырыс деп бағалайды; бағаға \
                     әсер еткен сөздер көрсетілген. Оған сүйенбес бұрын оқып шығыңыз."
                )),
            },
            origin: model.origin.clone(),
            line: 0,
        });
        self.opinion = Some(model);
        Ok(self)
    }

    /// The second opinion's model, when it is on.
    pub fn second_opinion(&self) -> Option<&Model> {
        self.opinion.as_ref()
    }

    /// Stable id of this rule set: the first 16 hex digits of SHA-256 over the engine version
    /// and every rule source; changes when any rule (or the engine) changes.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// One rule by id.
    pub fn get(&self, id: &str) -> Option<&RuleInfo> {
        self.infos.iter().find(|r| r.id == id)
    }

    /// Run every rule over `text`.
    pub fn find(&self, text: &str, ctx: &Context) -> Findings {
        self.engine
            .find(text, ctx, &self.infos, self.opinion.as_ref())
    }

    /// Run every rule's examples (must match that rule) and counterexamples (must not).
    pub fn check_examples(&self) -> Vec<ExampleOutcome> {
        let mut out = Vec::new();
        for (i, info) in self.infos[..self.n_rules].iter().enumerate() {
            let rule = self.engine.rule(i);
            for (texts, expected) in [(&rule.examples, true), (&rule.counterexamples, false)] {
                for t in texts {
                    let f = self.find(t, &Context::default());
                    let hit = f.matches.iter().any(|m| m.rule_id == info.id);
                    out.push(ExampleOutcome {
                        rule_id: info.id.clone(),
                        text: t.clone(),
                        expected_match: expected,
                        passed: hit == expected,
                    });
                }
            }
        }
        out
    }
}

/// For the rules bench only: fold `text` as matching does, with the fast path for runs of
/// ASCII and basic Cyrillic or without it (`fast = false`: every char by the general path);
/// the length of the folded text.
#[doc(hidden)]
pub fn bench_fold(text: &str, fast: bool) -> usize {
    normalize::fold_for_bench(text, fast)
}

/// The folding the matcher applies, plus a stem per word, words joined by single spaces: for a
/// full-text index that should find inflected Russian and Kazakh words the way rules do.
///
/// Exactly: the text is folded as in matching (NFKC for words outside ASCII and basic Cyrillic;
/// lowercase; `ё`->`е`; soft hyphens and zero-width characters dropped; Latin look-alikes inside
/// Cyrillic-majority words made Cyrillic and vice versa; every run of non-alphanumeric characters,
/// hyphens and line breaks included, is a word break; `.`/`,` between digits kept). Then each word
/// is replaced by its stem: Kazakh suffix stripping for words containing ә ғ қ ң ө ұ ү һ і;
/// Russian Snowball for other Cyrillic words, or Kazakh stripping when Snowball leaves the word
/// unchanged; English Snowball for ASCII-letter words; anything else (digits, other scripts) as
/// folded. Sentence boundaries are not kept.
pub fn fold(text: &str) -> String {
    let n = normalize::normalize(text);
    let mut out = String::with_capacity(n.text.len());
    for (s, e) in normalize::words(&n.text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&stem::by_script(&n.text[s..e]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_is_send_sync() {
        fn ok<T: Send + Sync>() {}
        ok::<RuleSet>();
    }

    #[test]
    fn fold_stems_words() {
        assert_eq!(fold("Фейковых  aккаунтов!"), "фейков аккаунт");
        assert_eq!(fold("фейковый аккаунт"), fold("ФЕЙКОВЫХ аккаунтах"));
        assert_eq!(fold("пікірлерді"), "пікір");
        assert_eq!(fold("Fake-Accounts"), "fake account");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn a_match_counts_what_its_own_words_count() {
        let rules = RuleSet::builtin().unwrap();
        let main = |text: &str, rule: &str| {
            let found = rules.find(text, &Context::default());
            let m = found
                .matches
                .iter()
                .find(|m| m.rule_id == rule)
                .unwrap_or_else(|| panic!("{rule} did not match {text:?}: {found:?}"));
            m.main_quota().map(|q| (q.kind, q.count))
        };
        for text in [
            "Орындаушы айына кемінде 500 оң пікір жазады және әкімдіктің жарияланымдарын \
             қолдайтын 10 жалған аккаунт ашады.",
            "Исполнитель пишет не менее 500 положительных комментариев в месяц и создаёт 10 \
             фейковых аккаунтов.",
        ] {
            assert_eq!(
                main(text, "fake-accounts"),
                Some((QuotaKind::Accounts, 10)),
                "{text}"
            );
            assert_eq!(
                main(text, "comment-quota-positive"),
                Some((QuotaKind::Comments, 500)),
                "{text}"
            );
        }
    }
}
