//! Scoring a rule set on labelled fragments (`tenderscan rules eval`): recall, false flags and
//! quota accuracy, overall, per rule, per language and per kind, and every miss.
//!
//! Input files are TOML (`[[fragment]]` tables with `text` and either `label` or `expect`, the
//! rule ids that must match) or JSON Lines (`{"text": ..., "label": "flag"|"clean"}`), with
//! optional `quota`, `kind`, `lang` and `note`. A fragment is *flagged* when a rule of at least
//! the given severity (medium by default: what alerts) matches it.
//!
//! Must never: count a fragment twice, or read anything but the files it is given. Errors name
//! the file and line.

use super::{Context, Period, QuotaKind, RuleSet, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What a fragment is labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// It orders manufactured opinion: a rule at the severity or above must match.
    Flag,
    /// Nothing at the severity or above may match.
    Clean,
}

/// A quota a fragment states. `kind` and `per` may be left out (then not compared); `per =
/// "none"` means no period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedQuota {
    pub kind: Option<QuotaKind>,
    pub count: u64,
    /// `None`: not compared; `Some(None)`: no period.
    pub per: Option<Option<Period>>,
}

/// One labelled fragment.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub text: String,
    /// `None` for a TOML fragment with `expect` only: decided by the expected rules' severity.
    pub label: Option<Label>,
    /// Rule ids that must match (TOML `expect`); may be empty.
    pub expect: Vec<String>,
    /// The quotas the fragment states; `Some(vec![])`: none may be read.
    pub quota: Option<Vec<ExpectedQuota>>,
    pub kind: Option<String>,
    pub lang: Option<String>,
    /// `file:line`.
    pub origin: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawQuotaOne {
    Count(u64),
    Full {
        kind: Option<QuotaKind>,
        count: u64,
        per: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawQuotas {
    One(RawQuotaOne),
    Many(Vec<RawQuotaOne>),
}

#[derive(Deserialize)]
struct RawCase {
    text: String,
    label: Option<String>,
    #[serde(default)]
    expect: Vec<String>,
    quota: Option<RawQuotas>,
    kind: Option<String>,
    lang: Option<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
struct RawToml {
    #[serde(default)]
    fragment: Vec<toml::Spanned<RawCase>>,
}

fn case(raw: RawCase, origin: String) -> Result<Case, String> {
    let label = match raw.label.as_deref() {
        None => None,
        Some("flag") => Some(Label::Flag),
        Some("clean") => Some(Label::Clean),
        Some(other) => return Err(format!("label `{other}` is neither `flag` nor `clean`")),
    };
    let quota = match raw.quota {
        None => None,
        Some(q) => {
            let list = match q {
                RawQuotas::One(o) => vec![o],
                RawQuotas::Many(v) => v,
            };
            let mut out = Vec::new();
            for q in list {
                out.push(match q {
                    RawQuotaOne::Count(count) => ExpectedQuota {
                        kind: None,
                        count,
                        per: None,
                    },
                    RawQuotaOne::Full { kind, count, per } => ExpectedQuota {
                        kind,
                        count,
                        per: per.as_deref().map(Period::from_name).transpose()?,
                    },
                });
            }
            Some(out)
        }
    };
    Ok(Case {
        text: raw.text,
        label,
        expect: raw.expect,
        quota,
        kind: raw.kind,
        lang: raw.lang,
        origin,
    })
}

/// The evidence of flags reviewers dismissed (`Store::dismissed_evidence`: notice, rule,
/// evidence) as clean cases: the rules should not flag them. Their origin is
/// `review:NOTICE:RULE`.
pub fn dismissed_cases(dismissed: &[(String, String, String)]) -> Vec<Case> {
    dismissed
        .iter()
        .filter(|(_, _, text)| !text.trim().is_empty())
        .map(|(notice, rule, text)| Case {
            text: text.clone(),
            label: Some(Label::Clean),
            expect: Vec::new(),
            quota: None,
            kind: Some("reviewed".into()),
            lang: None,
            origin: format!("review:{notice}:{rule}"),
        })
        .collect()
}

/// Read labelled fragments from a `.toml` file or JSON Lines (any other name).
pub fn load_cases(path: &Path) -> Result<Vec<Case>, String> {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let line_of = |off: usize| src[..off.min(src.len())].matches('\n').count() + 1;
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "toml") {
        let raw: RawToml = toml::from_str(&src).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start)).unwrap_or(1);
            format!("{name}:{line}: {}", e.message().trim().replace('\n', "; "))
        })?;
        for f in raw.fragment {
            let line = line_of(f.span().start);
            let origin = format!("{name}:{line}");
            out.push(case(f.into_inner(), origin.clone()).map_err(|m| format!("{origin}: {m}"))?);
        }
    } else {
        for (i, l) in src.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let origin = format!("{name}:{}", i + 1);
            let raw: RawCase = serde_json::from_str(l).map_err(|e| format!("{origin}: {e}"))?;
            out.push(case(raw, origin.clone()).map_err(|m| format!("{origin}: {m}"))?);
        }
    }
    Ok(out)
}

/// Counts for one slice (overall, a language, a kind).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub fragments: usize,
    pub positives: usize,
    pub recalled: usize,
    pub clean: usize,
    pub false_flags: usize,
    pub quota_cases: usize,
    pub quota_right: usize,
}

impl Tally {
    pub fn recall(&self) -> Option<f64> {
        (self.positives > 0).then(|| self.recalled as f64 / self.positives as f64)
    }
    pub fn false_flag_rate(&self) -> Option<f64> {
        (self.clean > 0).then(|| self.false_flags as f64 / self.clean as f64)
    }
    pub fn quota_accuracy(&self) -> Option<f64> {
        (self.quota_cases > 0).then(|| self.quota_right as f64 / self.quota_cases as f64)
    }
    fn add(&mut self, o: &Outcome) {
        self.fragments += 1;
        match o.label {
            Label::Flag => {
                self.positives += 1;
                self.recalled += o.flagged as usize;
            }
            Label::Clean => {
                self.clean += 1;
                self.false_flags += o.flagged as usize;
            }
        }
        if let Some(ok) = o.quota_right {
            self.quota_cases += 1;
            self.quota_right += ok as usize;
        }
    }
}

/// Per rule: on how many positives and how many clean fragments it matched (at any severity).
#[derive(Debug, Clone, Serialize)]
pub struct RuleTally {
    pub severity: Severity,
    pub on_positives: usize,
    pub on_clean: usize,
}

/// A quota as read, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GotQuota {
    pub kind: QuotaKind,
    pub count: u64,
    pub per: Option<Period>,
}

/// What the rules made of one fragment.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub origin: String,
    pub text: String,
    pub label: Label,
    pub kind: Option<String>,
    pub lang: Option<String>,
    /// A rule at the threshold or above matched.
    pub flagged: bool,
    /// Rules that matched, at any severity, in order.
    pub rules: Vec<String>,
    /// Expected rule ids that did not match (TOML `expect`).
    pub missing_rules: Vec<String>,
    /// `None` when the fragment states no quotas.
    pub quota_right: Option<bool>,
    pub expected_quotas: Option<Vec<ExpectedQuota>>,
    pub quotas: Vec<GotQuota>,
}

impl Outcome {
    /// Wrongly flagged, missed, or quotas wrong.
    pub fn is_miss(&self) -> bool {
        (self.label == Label::Flag) != self.flagged
            || !self.missing_rules.is_empty()
            || self.quota_right == Some(false)
    }
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub rule_set: String,
    pub min_severity: Severity,
    pub total: Tally,
    pub by_language: BTreeMap<String, Tally>,
    pub by_kind: BTreeMap<String, Tally>,
    pub by_rule: BTreeMap<String, RuleTally>,
    pub outcomes: Vec<Outcome>,
}

/// Quotas are right when every stated one was read (kind, count and period, where given) and
/// nothing else was read as a quota.
fn quotas_right(expected: &[ExpectedQuota], got: &[GotQuota]) -> bool {
    let mut used = vec![false; got.len()];
    for e in expected {
        let hit = got.iter().enumerate().position(|(i, g)| {
            !used[i]
                && g.count == e.count
                && e.kind.is_none_or(|k| k == g.kind)
                && e.per.is_none_or(|p| p == g.per)
        });
        match hit {
            Some(i) => used[i] = true,
            None => return false,
        }
    }
    // what is left must repeat a stated quota (the same count said twice), nothing new
    got.iter().enumerate().all(|(i, g)| {
        used[i]
            || expected
                .iter()
                .any(|e| e.count == g.count && e.kind.is_none_or(|k| k == g.kind))
    })
}

/// Score `set` on `cases`: a fragment is flagged when a rule of `min_severity` or above matches.
pub fn evaluate(set: &RuleSet, cases: &[Case], min_severity: Severity) -> Evaluation {
    let mut ev = Evaluation {
        rule_set: set.version().to_string(),
        min_severity,
        total: Tally::default(),
        by_language: BTreeMap::new(),
        by_kind: BTreeMap::new(),
        by_rule: set
            .rules()
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    RuleTally {
                        severity: r.severity,
                        on_positives: 0,
                        on_clean: 0,
                    },
                )
            })
            .collect(),
        outcomes: Vec::with_capacity(cases.len()),
    };
    for c in cases {
        let f = set.find(&c.text, &Context::default());
        let mut rules: Vec<String> = Vec::new();
        for m in &f.matches {
            if !rules.contains(&m.rule_id) {
                rules.push(m.rule_id.clone());
            }
        }
        let flagged = f.matches.iter().any(|m| m.severity >= min_severity);
        let label = c.label.unwrap_or_else(|| {
            let deserved = c
                .expect
                .iter()
                .filter_map(|id| set.get(id).map(|r| r.severity))
                .max();
            if deserved.is_some_and(|s| s >= min_severity) {
                Label::Flag
            } else {
                Label::Clean
            }
        });
        let missing_rules = c
            .expect
            .iter()
            .filter(|id| !rules.contains(id))
            .cloned()
            .collect();
        let quotas: Vec<GotQuota> = f
            .quotas
            .iter()
            .map(|q| GotQuota {
                kind: q.kind,
                count: q.count,
                per: q.per,
            })
            .collect();
        let quota_right = c.quota.as_ref().map(|e| quotas_right(e, &quotas));
        let o = Outcome {
            origin: c.origin.clone(),
            text: c.text.clone(),
            label,
            kind: c.kind.clone(),
            lang: c.lang.clone(),
            flagged,
            rules,
            missing_rules,
            quota_right,
            expected_quotas: c.quota.clone(),
            quotas,
        };
        ev.total.add(&o);
        if let Some(l) = &o.lang {
            ev.by_language.entry(l.clone()).or_default().add(&o);
        }
        if let Some(k) = &o.kind {
            ev.by_kind.entry(k.clone()).or_default().add(&o);
        }
        for r in &o.rules {
            if let Some(t) = ev.by_rule.get_mut(r) {
                match o.label {
                    Label::Flag => t.on_positives += 1,
                    Label::Clean => t.on_clean += 1,
                }
            }
        }
        ev.outcomes.push(o);
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: QuotaKind, count: u64, per: Option<Period>) -> GotQuota {
        GotQuota { kind, count, per }
    }

    #[test]
    fn quota_comparison_is_strict_about_extras() {
        use QuotaKind::*;
        let e = vec![ExpectedQuota {
            kind: Some(Comments),
            count: 900,
            per: Some(Some(Period::Month)),
        }];
        assert!(quotas_right(&e, &[q(Comments, 900, Some(Period::Month))]));
        assert!(!quotas_right(&e, &[q(Comments, 900, None)]));
        assert!(!quotas_right(
            &e,
            &[q(Comments, 1, None), q(Comments, 900, Some(Period::Month))]
        ));
        assert!(!quotas_right(&[], &[q(Comments, 24, None)]));
        assert!(quotas_right(&[], &[]));
        let any = vec![ExpectedQuota {
            kind: None,
            count: 4,
            per: None,
        }];
        assert!(quotas_right(&any, &[q(Accounts, 4, None)]));
    }

    #[test]
    fn loads_jsonl_and_toml_with_origins() {
        let dir = std::env::temp_dir().join(format!("ts-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = dir.join("c.jsonl");
        std::fs::write(
            &j,
            "{\"text\":\"a\",\"label\":\"flag\",\"quota\":{\"kind\":\"comments\",\"count\":5,\"per\":\"quarter\"}}\n\n{\"text\":\"b\",\"label\":\"maybe\"}\n",
        )
        .unwrap();
        let err = load_cases(&j).unwrap_err();
        assert!(err.contains("c.jsonl:3:") && err.contains("maybe"), "{err}");
        let t = dir.join("c.toml");
        std::fs::write(&t, "[[fragment]]\ntext = \"x\"\nexpect = []\nquota = 3\n").unwrap();
        let cases = load_cases(&t).unwrap();
        assert_eq!(cases.len(), 1);
        assert!(cases[0].origin.ends_with("c.toml:1"));
        assert_eq!(cases[0].quota.as_ref().unwrap()[0].count, 3);
        std::fs::remove_dir_all(&dir).ok();
    }
}
