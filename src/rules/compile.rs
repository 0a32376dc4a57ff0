//! TOML rule files -> compiled rules: schema (serde, `deny_unknown_fields`), validation with
//! file/line/rule-id errors, term interning and the prefilter keys.
//!
//! Must never accept a structurally invalid rule: everything `engine` relies on (non-empty
//! matchers, at least one prefilter word per phrase, compiled regexes) is checked here.

use super::normalize::{BREAK, SEP, normalize};
use super::quota::QuotaKind;
use super::{Period, RuleError, RuleInfo, Severity, stem};
use serde::Deserialize;
use std::collections::HashMap;
use toml::Spanned;

/// Shortest prefilter key, in chars. Shorter words in phrases are checked in place.
pub(crate) const MIN_KEY_CHARS: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Named vocabulary the rules of any loaded file compose: `name = "a|b*|=c"` is one word
    /// position (used as `@name` inside a phrase, a near term or an alternative), `name = [..]`
    /// a list of phrases (used as a whole `"@name"` item of `phrases`, `unless`, `context.any` or
    /// `unless_context.any`).
    #[serde(default)]
    concepts: toml::Table,
    #[serde(default)]
    rule: Vec<RawRule>,
}

/// A named piece of vocabulary (see [`RawFile::concepts`]).
#[derive(Debug, Clone)]
enum Concept {
    /// Alternatives for one word position.
    Word(String),
    /// A list of phrases.
    Phrases(Vec<String>),
}

fn is_concept_name(n: &str) -> bool {
    is_kebab(n)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    /// A string (English), or a table of languages (`title.en`, `title.ru`, `title.kk`).
    title: Spanned<toml::Value>,
    severity: Severity,
    why: Spanned<toml::Value>,
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    #[serde(default)]
    near: Vec<Spanned<RawNear>>,
    #[serde(default)]
    unless: Vec<Spanned<String>>,
    unless_within: Option<u32>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
    quota: Option<Spanned<RawQuota>>,
    context: Option<Spanned<RawContext>>,
    unless_context: Option<Spanned<RawContext>>,
    min_amount: Option<f64>,
    amount_currency: Option<String>,
    #[serde(default)]
    defer_to: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counterexamples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNear {
    terms: Vec<String>,
    within: u32,
    /// The window may cross sentence ends (a list split over bullets).
    #[serde(default)]
    across_sentences: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    kinds: Vec<QuotaKind>,
    min_count: Option<u64>,
    max_count: Option<u64>,
    per: Option<Vec<String>>,
    within: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContext {
    any: Vec<String>,
    within: u32,
}

pub(crate) type TermId = u32;

/// How a term recognises a folded word.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TermKind {
    /// Same Russian or Kazakh stem (Cyrillic terms), or same English stem (Latin terms).
    Stem {
        ru: Option<String>,
        kk: Option<String>,
        en: Option<String>,
    },
    /// The word starts with this (`term*`).
    Prefix(String),
    /// The word is exactly this (`=term`).
    Exact(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub kind: TermKind,
    /// Prefilter keys (prefixes every matching word starts with); empty for a weak term.
    pub keys: Vec<String>,
}

/// The shortest prefilter key among a slot's terms, in chars (0 when one is weak).
pub(crate) fn slot_min_key_chars(list: &[Term], slot: &[TermId]) -> usize {
    slot.iter()
        .map(|&t| {
            list[t as usize]
                .keys
                .iter()
                .map(|k| k.chars().count())
                .min()
                .unwrap_or(0)
        })
        .min()
        .unwrap_or(0)
}

/// One word position of a phrase: any of these terms.
pub(crate) type Slot = Vec<TermId>;

#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub slots: Vec<Slot>,
    /// A slot whose terms all have prefilter keys.
    pub anchor: usize,
    /// The first two bytes ([`super::engine`]'s `first2`) a word right before and right after
    /// the anchor can start with, when every term of that slot has keys: a cheap test of the
    /// anchor's neighbours before their words are read. Filled by the engine; `None` tests
    /// nothing.
    pub gates: [Option<Box<[u16]>>; 2],
}

#[derive(Debug, Clone)]
pub(crate) struct Near {
    pub slots: Vec<Slot>,
    pub within: u32,
    pub across_sentences: bool,
    /// The slot whose words go into the prefilter (the one with the longest keys).
    pub anchor: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct QuotaReq {
    pub kinds: Vec<QuotaKind>,
    pub min_count: u64,
    pub max_count: Option<u64>,
    /// Allowed periods; `None` inside means "no period". Empty = any.
    pub per: Vec<Option<Period>>,
    pub within: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct ContextReq {
    pub any: Vec<Phrase>,
    pub within: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub phrases: Vec<Phrase>,
    pub near: Vec<Near>,
    pub regex: Vec<regex::Regex>,
    pub unless: Vec<Phrase>,
    pub unless_within: u32,
    pub quota: Option<QuotaReq>,
    pub context: Option<ContextReq>,
    /// Cancels a match when one of these phrases stands within `within` words, any sentence
    /// (warnings, news, prohibitions, detection around the words).
    pub unless_context: Option<ContextReq>,
    pub min_amount: Option<f64>,
    pub amount_currency: Option<String>,
    /// Rule ids whose match on an overlapping span makes this rule's match redundant.
    pub defer_to: Vec<String>,
    pub examples: Vec<String>,
    pub counterexamples: Vec<String>,
}

/// Interns terms across all rules and the built-in quota units.
#[derive(Default)]
pub(crate) struct Terms {
    pub list: Vec<Term>,
    by_spec: HashMap<String, TermId>,
    /// Concepts of every file loaded so far, with the file that defined each.
    concepts: HashMap<String, (Concept, String)>,
}

impl Terms {
    /// Compile one alternative (`word`, `word*`, `=word`); Err(message) when it is not one word.
    pub fn intern(&mut self, raw: &str) -> Result<TermId, String> {
        let raw = raw.trim();
        let (mode, body) = if let Some(b) = raw.strip_prefix('=') {
            ('=', b)
        } else if let Some(b) = raw.strip_suffix('*') {
            ('*', b)
        } else {
            ('s', raw)
        };
        let folded = normalize(body).text;
        if folded.is_empty() {
            return Err(format!("empty term `{raw}`"));
        }
        if folded.bytes().any(|b| b == SEP || b == BREAK) {
            return Err(format!(
                "term `{raw}` is not one word (write a hyphenated word as two words)"
            ));
        }
        let spec = format!("{mode}{folded}");
        if let Some(&id) = self.by_spec.get(&spec) {
            return Ok(id);
        }
        let is_cyr = folded
            .chars()
            .any(|c| ('\u{0400}'..='\u{052F}').contains(&c));
        let is_lat = folded.chars().all(|c| c.is_ascii_alphabetic());
        let (kind, keys) = match mode {
            '=' => (TermKind::Exact(folded.clone()), vec![folded.clone()]),
            '*' => (TermKind::Prefix(folded.clone()), vec![folded.clone()]),
            _ if is_cyr => {
                let r = stem::ru(&folded);
                let k = stem::kk(&folded);
                let mut kkey = k.clone();
                if stem::kk_alternates(&kkey) {
                    kkey.pop();
                }
                let keys = if kkey == r {
                    vec![r.clone()]
                } else {
                    vec![r.clone(), kkey]
                };
                (
                    TermKind::Stem {
                        ru: Some(r),
                        kk: Some(k),
                        en: None,
                    },
                    keys,
                )
            }
            _ if is_lat => {
                let e = stem::en(&folded);
                let mut key = e.clone();
                if key.chars().count() >= 4 {
                    key.pop();
                }
                // the stem may not be a prefix of the word (Porter2 y->i): common prefix
                let common: usize = key
                    .char_indices()
                    .zip(folded.chars())
                    .take_while(|((_, a), b)| a == b)
                    .map(|((i, a), _)| i + a.len_utf8())
                    .last()
                    .unwrap_or(0);
                key.truncate(common);
                (
                    TermKind::Stem {
                        ru: None,
                        kk: None,
                        en: Some(e),
                    },
                    vec![key],
                )
            }
            _ => (TermKind::Exact(folded.clone()), vec![folded.clone()]),
        };
        let keys = if keys.iter().all(|k| k.chars().count() >= MIN_KEY_CHARS) {
            keys
        } else {
            Vec::new()
        };
        let id = self.list.len() as TermId;
        self.list.push(Term { kind, keys });
        self.by_spec.insert(spec, id);
        Ok(id)
    }

    /// A word position's alternatives with `@concept`s spelled out.
    fn expand_alternatives(&self, raw: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for alt in raw.split('|') {
            let alt = alt.trim();
            if alt.is_empty() {
                return Err(format!("empty alternative in `{raw}`"));
            }
            match alt.strip_prefix('@') {
                None => out.push(alt.to_string()),
                Some(name) => match self.concepts.get(name) {
                    Some((Concept::Word(w), _)) => {
                        out.extend(w.split('|').map(|a| a.trim().to_string()))
                    }
                    Some((Concept::Phrases(_), _)) => {
                        return Err(format!(
                            "concept `{name}` is a list of phrases: use it as a whole item (\"@{name}\"), not inside a word"
                        ));
                    }
                    None => return Err(format!("unknown concept `@{name}`")),
                },
            }
        }
        Ok(out)
    }

    /// A list of phrases with whole-item `"@concept"`s spliced in.
    pub fn expand_items(&self, items: &[String]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for it in items {
            let t = it.trim();
            if let Some(name) = t.strip_prefix('@')
                && !name.contains([' ', '|'])
                && let Some((Concept::Phrases(ps), _)) = self.concepts.get(name)
            {
                out.extend(ps.iter().cloned());
            } else {
                out.push(it.clone());
            }
        }
        Ok(out)
    }

    /// Add one file's concepts; `Err((name, message))` names the concept at fault.
    fn add_concepts(&mut self, table: &toml::Table, origin: &str) -> Result<(), (String, String)> {
        // words first, so that phrase lists and later words may use them
        let mut pending: Vec<(&String, &toml::Value)> = table.iter().collect();
        pending.sort_by_key(|(_, v)| !v.is_str());
        for (name, v) in pending {
            if !is_concept_name(name) {
                return Err((
                    name.clone(),
                    "a concept name must be short kebab-case".into(),
                ));
            }
            if let Some((_, from)) = self.concepts.get(name.as_str()) {
                return Err((
                    name.clone(),
                    format!("concept `{name}` is already defined in {from}"),
                ));
            }
            let c = match v {
                toml::Value::String(w) => {
                    if w.split_whitespace().count() != 1 {
                        return Err((
                            name.clone(),
                            format!(
                                "concept `{name}`: a word concept is one word position (`a|b*|=c`); use a list for phrases"
                            ),
                        ));
                    }
                    Concept::Word(
                        self.expand_alternatives(w)
                            .map_err(|m| (name.clone(), m))?
                            .join("|"),
                    )
                }
                toml::Value::Array(a) => {
                    let mut ps = Vec::new();
                    for x in a {
                        match x.as_str() {
                            Some(p) => ps.push(p.to_string()),
                            None => {
                                return Err((
                                    name.clone(),
                                    format!("concept `{name}`: every item must be a string"),
                                ));
                            }
                        }
                    }
                    if ps.is_empty() {
                        return Err((name.clone(), format!("concept `{name}` is empty")));
                    }
                    Concept::Phrases(self.expand_items(&ps).map_err(|m| (name.clone(), m))?)
                }
                _ => {
                    return Err((
                        name.clone(),
                        format!(
                            "concept `{name}` must be a string (one word position) or a list of phrases"
                        ),
                    ));
                }
            };
            self.concepts.insert(name.clone(), (c, origin.to_string()));
        }
        Ok(())
    }

    fn slot(&mut self, raw: &str) -> Result<Slot, String> {
        let mut slot = Vec::new();
        for alt in self.expand_alternatives(raw)? {
            let alt = alt.as_str();
            let id = self.intern(alt)?;
            slot.push(id);
            // Kazakh typed without its letters ("жалган аккаунт", "пiкiр калдыру" on a Russian
            // keyboard): the same word with ә ғ қ ң ө ұ ү һ і written as а г к н о у у х и
            if let Some(plain) = stem::kk_plain_term(alt.trim())
                && let Ok(pid) = self.intern(&plain)
                && !slot.contains(&pid)
            {
                slot.push(pid);
            }
        }
        Ok(slot)
    }

    /// The shortest prefilter key among a slot's terms, in chars (0 when one is weak).
    pub fn min_key_chars(&self, slot: &Slot) -> usize {
        slot_min_key_chars(&self.list, slot)
    }

    fn strong(&self, slot: &Slot) -> bool {
        slot.iter().all(|&t| !self.list[t as usize].keys.is_empty())
    }

    /// A phrase: words separated by spaces, alternatives by `|`.
    pub fn phrase(&mut self, raw: &str) -> Result<Phrase, String> {
        let mut slots = Vec::new();
        for w in raw.split_whitespace() {
            slots.push(self.slot(w)?);
        }
        if slots.is_empty() {
            return Err("empty phrase".into());
        }
        if slots.len() > 12 {
            return Err(format!("phrase `{raw}` has more than 12 words"));
        }
        // "удалил*|took down|taken down" is a phrase of three words, not three alternatives: a
        // word standing in two of its places says a space was meant as `|`
        let words: Vec<Vec<&str>> = raw
            .split_whitespace()
            .map(|w| w.split('|').collect())
            .collect();
        for (i, a) in words.iter().enumerate() {
            if let Some(w) = a
                .iter()
                .find(|w| words[i + 1..].iter().any(|b| b.contains(w)))
            {
                return Err(format!(
                    "phrase `{raw}` has `{w}` in two of its {} words: alternatives are joined by `|`, \
                     and a space starts the phrase's next word (write each phrase as its own item)",
                    words.len()
                ));
            }
        }
        let anchor = (0..slots.len())
            .filter(|&i| self.strong(&slots[i]))
            .max_by_key(|&i| self.min_key_chars(&slots[i]))
            .ok_or_else(|| {
                format!(
                    "phrase `{raw}` needs a word of at least {MIN_KEY_CHARS} letters (short words only qualify)"
                )
            })?;
        Ok(Phrase {
            slots,
            anchor,
            gates: [None, None],
        })
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    let o = offset.min(src.len());
    src.as_bytes()[..o].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Rule id of the `[[rule]]` table containing `offset`, found textually (used for errors the
/// deserializer reports before we know the ids).
fn rule_id_at(src: &str, offset: usize) -> Option<String> {
    let mut id = None;
    let mut pos = 0usize;
    for line in src.split_inclusive('\n') {
        if pos > offset {
            break;
        }
        let t = line.trim();
        if t.starts_with("[[") && t.trim_start_matches('[').trim_start().starts_with("rule") {
            id = None;
        } else if t.starts_with('[') {
            // a sub-table like [rule.quota] keeps the id
        } else if let Some(rest) = t.strip_prefix("id") {
            let rest = rest.trim_start();
            if let Some(v) = rest.strip_prefix('=') {
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                id = Some(v.to_string());
            }
        }
        pos += line.len();
    }
    // the id may follow the error position inside the same table
    if id.is_none() {
        let rest = &src[offset.min(src.len())..];
        for line in rest.lines() {
            let t = line.trim();
            if t.starts_with("[[") {
                break;
            }
            if let Some(r) = t.strip_prefix("id")
                && let Some(v) = r.trim_start().strip_prefix('=')
            {
                return Some(v.trim().trim_matches(|c| c == '"' || c == '\'').to_string());
            }
        }
    }
    id
}

/// A parsed, validated rule with its position.
pub(crate) struct Parsed {
    pub info: RuleInfo,
    pub rule: CompiledRule,
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Parse and validate one source; terms are interned into `terms`.
pub(crate) fn parse_source(
    src: &str,
    origin: &str,
    terms: &mut Terms,
) -> Result<Vec<Parsed>, RuleError> {
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let off = e.span().map(|s| s.start).unwrap_or(0);
        RuleError::Rule {
            origin: origin.to_string(),
            line: line_of(src, off),
            rule: e.span().and_then(|s| rule_id_at(src, s.start)),
            message: e.message().trim().replace('\n', "; "),
        }
    })?;
    if let Err((name, message)) = terms.add_concepts(&raw.concepts, origin) {
        let needle = format!("\n{name}");
        let off = src.find(&needle).map_or(0, |i| i + 1);
        return Err(RuleError::Rule {
            origin: origin.to_string(),
            line: line_of(src, off),
            rule: None,
            message,
        });
    }
    let mut out = Vec::new();
    for r in raw.rule {
        let id = r.id.get_ref().clone();
        let id_line = line_of(src, r.id.span().start);
        let err = |span: std::ops::Range<usize>, message: String| RuleError::Rule {
            origin: origin.to_string(),
            line: line_of(src, span.start),
            rule: Some(id.clone()),
            message,
        };
        if !is_kebab(&id) {
            return Err(err(
                r.id.span(),
                "id must be short kebab-case (a-z, 0-9, single hyphens)".into(),
            ));
        }
        let (title, title_ru, title_kk) =
            localized(r.title.get_ref(), "title").map_err(|m| err(r.title.span(), m))?;
        let (why, why_ru, why_kk) =
            localized(r.why.get_ref(), "why").map_err(|m| err(r.why.span(), m))?;
        for t in [Some(&title), title_ru.as_ref(), title_kk.as_ref()]
            .into_iter()
            .flatten()
        {
            if t.is_empty() {
                return Err(err(r.title.span(), "empty title".into()));
            }
        }
        for w in [Some(&why), why_ru.as_ref(), why_kk.as_ref()]
            .into_iter()
            .flatten()
        {
            if w.is_empty() || w.contains('\n') {
                return Err(err(r.why.span(), "`why` must be one non-empty line".into()));
            }
        }
        let mut phrases = Vec::new();
        for p in &r.phrases {
            for item in terms
                .expand_items(std::slice::from_ref(p.get_ref()))
                .map_err(|m| err(p.span(), m))?
            {
                phrases.push(terms.phrase(&item).map_err(|m| err(p.span(), m))?);
            }
        }
        let mut near = Vec::new();
        for n in &r.near {
            let nn = n.get_ref();
            if nn.terms.len() < 2 {
                return Err(err(n.span(), "`near` needs at least two terms".into()));
            }
            if (nn.within as usize) < nn.terms.len() || nn.within > 50 {
                return Err(err(
                    n.span(),
                    format!(
                        "`near.within` must be between the number of terms ({}) and 50",
                        nn.terms.len()
                    ),
                ));
            }
            let mut slots = Vec::new();
            for t in &nn.terms {
                let s = terms.slot(t).map_err(|m| err(n.span(), m))?;
                if !terms.strong(&s) {
                    return Err(err(
                        n.span(),
                        format!(
                            "near term `{t}` is too short (at least {MIN_KEY_CHARS} letters, or use a phrase)"
                        ),
                    ));
                }
                slots.push(s);
            }
            let anchor = (0..slots.len())
                .max_by_key(|&i| terms.min_key_chars(&slots[i]))
                .unwrap_or(0);
            near.push(Near {
                slots,
                within: nn.within,
                across_sentences: nn.across_sentences,
                anchor,
            });
        }
        let mut unless = Vec::new();
        for u in &r.unless {
            for item in terms
                .expand_items(std::slice::from_ref(u.get_ref()))
                .map_err(|m| err(u.span(), m))?
            {
                unless.push(terms.phrase(&item).map_err(|m| err(u.span(), m))?);
            }
        }
        let mut regex = Vec::new();
        for rx in &r.regex {
            let re = regex::RegexBuilder::new(rx.get_ref())
                .size_limit(1 << 20)
                .build()
                .map_err(|e| err(rx.span(), format!("invalid regex: {e}")))?;
            regex.push(re);
        }
        let quota = match &r.quota {
            None => None,
            Some(q) => {
                let qq = q.get_ref();
                if qq.kinds.is_empty() {
                    return Err(err(q.span(), "`quota.kinds` is empty".into()));
                }
                let mut per = Vec::new();
                for p in qq.per.iter().flatten() {
                    per.push(Period::from_name(p).map_err(|m| err(q.span(), m))?);
                }
                let min_count = qq.min_count.unwrap_or(1);
                if qq.max_count.is_some_and(|m| m < min_count) {
                    return Err(err(q.span(), "`quota.max_count` < `min_count`".into()));
                }
                Some(QuotaReq {
                    kinds: qq.kinds.clone(),
                    min_count,
                    max_count: qq.max_count,
                    per,
                    within: qq.within.unwrap_or(12).min(50),
                })
            }
        };
        let mut context_of = |c: &Option<Spanned<RawContext>>, key: &str| match c {
            None => Ok(None),
            Some(c) => {
                let cc = c.get_ref();
                if cc.any.is_empty() {
                    return Err(err(c.span(), format!("`{key}.any` is empty")));
                }
                let mut any = Vec::new();
                for p in terms.expand_items(&cc.any).map_err(|m| err(c.span(), m))? {
                    any.push(terms.phrase(&p).map_err(|m| err(c.span(), m))?);
                }
                Ok(Some(ContextReq {
                    any,
                    within: cc.within.min(500),
                }))
            }
        };
        let context = context_of(&r.context, "context")?;
        let unless_context = context_of(&r.unless_context, "unless_context")?;
        if phrases.is_empty() && near.is_empty() && regex.is_empty() && quota.is_none() {
            return Err(err(
                r.id.span(),
                "rule has no matchers (phrases, near, regex or quota)".into(),
            ));
        }
        if r.min_amount.is_some_and(|a| !a.is_finite() || a < 0.0) {
            return Err(err(
                r.id.span(),
                "`min_amount` must be a non-negative number".into(),
            ));
        }
        out.push(Parsed {
            info: RuleInfo {
                id: id.clone(),
                title,
                severity: r.severity,
                why,
                translations: super::Translations {
                    title_ru,
                    title_kk,
                    why_ru,
                    why_kk,
                },
                origin: origin.to_string(),
                line: id_line,
            },
            rule: CompiledRule {
                phrases,
                near,
                regex,
                unless,
                unless_within: r.unless_within.unwrap_or(8).min(50),
                quota,
                context,
                unless_context,
                min_amount: r.min_amount,
                amount_currency: r.amount_currency.map(|c| c.trim().to_ascii_uppercase()),
                defer_to: r.defer_to,
                examples: r.examples,
                counterexamples: r.counterexamples,
            },
        });
    }
    Ok(out)
}

/// A rule's `title` or `why`: a string (English), or a table with `en` (required: the
/// fallback) and optionally `ru` and `kk` (`title.en = "..."`, `title.ru = "..."`).
/// Returns (en, ru, kk), trimmed.
fn localized(
    v: &toml::Value,
    key: &str,
) -> Result<(String, Option<String>, Option<String>), String> {
    match v {
        toml::Value::String(s) => Ok((s.trim().to_string(), None, None)),
        toml::Value::Table(t) => {
            let mut out: [Option<String>; 3] = [None, None, None];
            for (lang, text) in t {
                let i = match lang.as_str() {
                    "en" => 0,
                    "ru" => 1,
                    "kk" => 2,
                    other => {
                        return Err(format!("`{key}.{other}`: no such language (en, ru or kk)"));
                    }
                };
                let toml::Value::String(text) = text else {
                    return Err(format!("`{key}.{lang}` must be a string"));
                };
                out[i] = Some(text.trim().to_string());
            }
            let [en, ru, kk] = out;
            let en = en.ok_or_else(|| {
                format!("`{key}.en` is missing: English is the fallback for the other languages")
            })?;
            Ok((en, ru, kk))
        }
        _ => Err(format!(
            "`{key}` must be a string or a table of languages (`{key}.en`, `{key}.ru`, `{key}.kk`)"
        )),
    }
}
