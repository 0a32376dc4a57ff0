//! `rules list`, `rules check` (validate a rule set and run its examples) and `rules
//! eval` (score the rules on labelled fragments, in text or JSON).
//!
//! What this module must never do: open the database, or show a rule's or a fragment's
//! text other than as a [`crate::safe_text::line()`]; `rules eval --format json` keeps
//! its fields' names and order.

use crate::cli::args::OutputFormat;
use crate::cli::exit;
use crate::cli::output::json_line;
use crate::config::Config;
use crate::rules::RuleSet;
use crate::safe_text::{self, block, line};
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(in crate::cli) fn rules_list(rules: &RuleSet) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rule set {} ({} rules)",
        rules.version(),
        rules.rules().len()
    )?;
    for r in rules.rules() {
        writeln!(
            out,
            "  {:<8} {:<28} {}",
            r.severity,
            line(&r.id),
            line(&r.title)
        )?;
    }
    Ok(exit::OK)
}

/// `rules train`: learn the second opinion's model from labelled fragments and write it.
pub(in crate::cli) fn rules_train(
    files: &[PathBuf],
    output: &Path,
    opt: crate::rules::TrainOptions,
) -> Result<i32> {
    use crate::rules::eval::{self, Label};
    let mut cases = Vec::new();
    let mut unlabelled = 0usize;
    for f in files {
        match eval::load_cases(f) {
            Ok(c) => {
                for c in c {
                    match c.label {
                        Some(l) => cases.push((c.text, l == Label::Flag)),
                        None => unlabelled += 1,
                    }
                }
            }
            Err(e) => {
                eprintln!("tenderscan: {}", line(&e));
                return Ok(exit::BAD_CONFIG);
            }
        }
    }
    let refs: Vec<(&str, bool)> = cases.iter().map(|(t, y)| (t.as_str(), *y)).collect();
    if opt.veto >= opt.threshold {
        eprintln!("tenderscan: --veto must be below --threshold");
        return Ok(exit::BAD_CONFIG);
    }
    let model = crate::rules::Model::train(&refs, opt);
    if let Err(e) = crate::atomic::write_atomic(output, model.text().as_bytes()) {
        eprintln!("tenderscan: {}", line(&e));
        return Ok(exit::BAD_CONFIG);
    }
    let flags = refs.iter().filter(|(_, y)| *y).count();
    println!(
        "{}: {} features from {} fragments ({} flag, {} clean{})",
        line(&output.display().to_string()),
        model.len(),
        refs.len(),
        flags,
        refs.len() - flags,
        if unlabelled > 0 {
            format!("; {unlabelled} without a label left out")
        } else {
            String::new()
        }
    );
    Ok(exit::OK)
}

pub(in crate::cli) fn rules_eval(
    set: &RuleSet,
    files: &[PathBuf],
    reviewed: Vec<crate::rules::eval::Case>,
    format: OutputFormat,
    min_severity: crate::rules::Severity,
    verbose: bool,
) -> Result<i32> {
    use crate::rules::eval::{self, Label, Tally};
    let mut cases = reviewed;
    for f in files {
        match eval::load_cases(f) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                eprintln!("tenderscan: {}", line(&e));
                return Ok(exit::BAD_CONFIG);
            }
        }
    }
    let ev = eval::evaluate(set, &cases, min_severity);
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        writeln!(out, "{}", json_line(&EvalJson::new(&ev))?)?;
        return Ok(exit::OK);
    }
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or("-".into())
    };
    let line = |name: &str, t: &Tally| {
        format!(
            "{name:<18} {:>5}  recall {:>6} ({}/{})  false flags {:>6} ({}/{})  quotas right {:>6} ({}/{})",
            t.fragments,
            pct(t.recall()),
            t.recalled,
            t.positives,
            pct(t.false_flag_rate()),
            t.false_flags,
            t.clean,
            pct(t.quota_accuracy()),
            t.quota_right,
            t.quota_cases
        )
    };
    writeln!(
        out,
        "rule set {} ({} rules), {} fragments, flagged at {} or above",
        ev.rule_set,
        set.rules().len(),
        ev.total.fragments,
        ev.min_severity
    )?;
    writeln!(out, "{}", line("all", &ev.total))?;
    if !ev.by_language.is_empty() {
        writeln!(out, "by language:")?;
        for (k, t) in &ev.by_language {
            writeln!(out, "  {}", line(&safe_text::line(k), t))?;
        }
    }
    if !ev.by_kind.is_empty() {
        writeln!(out, "by kind:")?;
        for (k, t) in &ev.by_kind {
            writeln!(out, "  {}", line(&safe_text::line(k), t))?;
        }
    }
    writeln!(out, "by rule (fragments matched, any severity):")?;
    for (id, r) in &ev.by_rule {
        writeln!(
            out,
            "  {:<28} {:<7} on flag {:>4}  on clean {:>4}",
            id, r.severity, r.on_positives, r.on_clean
        )?;
    }
    if verbose {
        for o in ev.outcomes.iter().filter(|o| o.is_miss()) {
            let what = match (o.label, o.flagged) {
                (Label::Flag, false) => "MISSED",
                (Label::Clean, true) => "FALSE FLAG",
                _ if !o.missing_rules.is_empty() => "RULE MISSING",
                _ => "QUOTA",
            };
            let q = |v: Vec<String>| v.join(", ");
            writeln!(
                out,
                "{what} {} [{}/{}] rules [{}]{}{} quotas [{}] expected [{}]\n    {}",
                safe_text::line(&o.origin),
                safe_text::line(o.kind.as_deref().unwrap_or("-")),
                safe_text::line(o.lang.as_deref().unwrap_or("-")),
                safe_text::line(&o.rules.join(", ")),
                if o.missing_rules.is_empty() {
                    ""
                } else {
                    " missing "
                },
                safe_text::line(&o.missing_rules.join(", ")),
                q(o.quotas
                    .iter()
                    .map(|g| format!(
                        "{} {} {}",
                        g.count,
                        g.kind.as_str(),
                        g.per.map(|p| p.as_str()).unwrap_or("none")
                    ))
                    .collect()),
                q(o.expected_quotas
                    .iter()
                    .flatten()
                    .map(|e| format!(
                        "{} {} {}",
                        e.count,
                        e.kind.map(|k| k.as_str()).unwrap_or("any"),
                        match e.per {
                            None => "any",
                            Some(None) => "none",
                            Some(Some(p)) => p.as_str(),
                        }
                    ))
                    .collect()),
                safe_text::line(&o.text)
            )?;
        }
    }
    Ok(exit::OK)
}

/// `rules eval --format json`: the figures, then every miss.
#[derive(serde::Serialize)]
struct EvalJson<'a> {
    rule_set: &'a str,
    min_severity: &'static str,
    fragments: usize,
    positives: usize,
    recalled: usize,
    recall: Option<f64>,
    clean: usize,
    false_flags: usize,
    false_flag_rate: Option<f64>,
    quota_cases: usize,
    quota_right: usize,
    quota_accuracy: Option<f64>,
    by_language: &'a std::collections::BTreeMap<String, crate::rules::eval::Tally>,
    by_kind: &'a std::collections::BTreeMap<String, crate::rules::eval::Tally>,
    by_rule: &'a std::collections::BTreeMap<String, crate::rules::eval::RuleTally>,
    misses: Vec<&'a crate::rules::eval::Outcome>,
}

impl<'a> EvalJson<'a> {
    fn new(ev: &'a crate::rules::eval::Evaluation) -> Self {
        let t = &ev.total;
        EvalJson {
            rule_set: &ev.rule_set,
            min_severity: ev.min_severity.as_str(),
            fragments: t.fragments,
            positives: t.positives,
            recalled: t.recalled,
            recall: t.recall(),
            clean: t.clean,
            false_flags: t.false_flags,
            false_flag_rate: t.false_flag_rate(),
            quota_cases: t.quota_cases,
            quota_right: t.quota_right,
            quota_accuracy: t.quota_accuracy(),
            by_language: &ev.by_language,
            by_kind: &ev.by_kind,
            by_rule: &ev.by_rule,
            misses: ev.outcomes.iter().filter(|o| o.is_miss()).collect(),
        }
    }
}

pub(in crate::cli) fn rules_check(cfg: &Config, file: Option<&Path>) -> Result<i32> {
    // A file is checked as `run` would load it: with the built-in rules and the configured
    // files, so an id that clashes with one of theirs fails here too.
    if let Some(f) = file {
        let same = |p: &Path| match (p.canonicalize(), f.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => p == f,
        };
        let mut files: Vec<_> = cfg
            .rules
            .files
            .iter()
            .filter(|p| !same(p))
            .cloned()
            .collect();
        files.push(f.to_path_buf());
        if let Err(e) = RuleSet::load(cfg.rules.builtin, &files) {
            eprintln!("tenderscan: {}", block(&e.to_string()));
            return Ok(exit::BAD_CONFIG);
        }
    }
    let set = match file {
        Some(f) => RuleSet::load(false, &[f.to_path_buf()]),
        None => cfg.rules.load(true, &[], None, false),
    };
    let set = match set {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tenderscan: {}", block(&e.to_string()));
            return Ok(exit::BAD_CONFIG);
        }
    };
    if let Some(f) = file
        && set.rules().is_empty()
    {
        tracing::warn!(
            "{}: no rules in it (a rule is a [[rule]] table): nothing to check",
            line(&f.display().to_string())
        );
    }
    let outcomes = set.check_examples();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rule set {}: {} rules",
        set.version(),
        set.rules().len()
    )?;
    for r in set.rules() {
        let mine: Vec<_> = outcomes.iter().filter(|o| o.rule_id == r.id).collect();
        let passed = mine.iter().filter(|o| o.passed).count();
        writeln!(
            out,
            "  {:<8} {:<28} examples {}/{} passed  ({}:{})",
            r.severity,
            r.id,
            passed,
            mine.len(),
            r.origin,
            r.line
        )?;
    }
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    for o in &failed {
        writeln!(
            out,
            "FAIL {}: {} {}",
            line(&o.rule_id),
            if o.expected_match {
                "example did not match:"
            } else {
                "counterexample matched:"
            },
            line(&format!("{:?}", o.text))
        )?;
    }
    if failed.is_empty() {
        writeln!(
            out,
            "all {} examples and counterexamples pass",
            outcomes.len()
        )?;
        Ok(exit::OK)
    } else {
        writeln!(out, "{} of {} failed", failed.len(), outcomes.len())?;
        Ok(exit::BAD_CONFIG)
    }
}
