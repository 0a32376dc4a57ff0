//! The rule engine from the outside: the built-in rules over a labelled corpus (recall and false
//! flags), every rule's examples, rule-file errors, loading files.

use serde::Deserialize;
use std::path::PathBuf;
use tenderscan::rules::{Context, RuleError, RuleSet, Severity};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    fragment: Vec<Fragment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fragment {
    text: String,
    expect: Vec<String>,
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rules")
        .join(name)
}

#[test]
fn labelled_corpus_recall_and_false_flags() {
    let rs = RuleSet::builtin().expect("built-in rules compile");
    let src = std::fs::read_to_string(fixture("labelled.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&src).unwrap();
    for f in &corpus.fragment {
        for id in &f.expect {
            assert!(rs.get(id).is_some(), "unknown rule id {id} in corpus");
        }
    }
    let (mut positives, mut found) = (0usize, 0usize);
    let (mut negatives, mut flags) = (0usize, 0usize);
    let mut report = Vec::new();
    for f in &corpus.fragment {
        let got = rs.find(&f.text, &Context::default()).matches;
        let ids: Vec<&str> = got.iter().map(|m| m.rule_id.as_str()).collect();
        // the severity the fragment deserves: the highest expected one, or none
        let deserved = f
            .expect
            .iter()
            .filter_map(|id| rs.get(id).map(|r| r.severity))
            .max();
        let expected_alerting = deserved.is_some_and(|s| s >= Severity::Medium);
        if expected_alerting {
            positives += 1;
        } else {
            negatives += 1;
        }
        let recalled = f.expect.iter().all(|id| ids.contains(&id.as_str()));
        if expected_alerting && recalled {
            found += 1;
        }
        if !recalled {
            report.push(format!("MISSED {:?}: {:?} got {:?}", f.expect, f.text, ids));
        }
        // a false flag: a match at medium or above where the fragment deserves less, or a
        // high match that the fragment does not expect
        let flagged = got.iter().any(|m| {
            !f.expect.contains(&m.rule_id)
                && ((m.severity >= Severity::Medium && deserved.is_none_or(|d| m.severity > d))
                    || (m.severity == Severity::High && deserved != Some(Severity::High)))
        });
        if flagged {
            flags += 1;
            report.push(format!(
                "FALSE FLAG {:?}: {:?} got {:?}",
                f.expect, f.text, ids
            ));
        }
        // a fragment expecting only low rules must not be missed either
        if !expected_alerting && !f.expect.is_empty() && recalled {
            // counted in neither figure; recall is over alerting positives
        }
    }
    let total = corpus.fragment.len();
    let recall = found as f64 / positives as f64;
    let false_flag_rate = flags as f64 / total as f64;
    for line in &report {
        println!("{line}");
    }
    println!(
        "labelled corpus: {total} fragments ({positives} alerting positives, {negatives} negatives or low-only); \
         recall {:.1}% ({found}/{positives}); false flags {:.1}% ({flags}/{total})",
        recall * 100.0,
        false_flag_rate * 100.0
    );
    assert!(total >= 80, "corpus too small: {total}");
    assert!(recall >= 0.95, "recall {recall:.3} < 0.95");
    assert!(
        false_flag_rate <= 0.02,
        "false flags {false_flag_rate:.3} > 0.02"
    );
}

#[test]
fn low_only_fragments_are_recalled() {
    // SMM fragments expect the low rule: it must be found (not counted in recall above).
    let rs = RuleSet::builtin().unwrap();
    let src = std::fs::read_to_string(fixture("labelled.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&src).unwrap();
    let mut missed = Vec::new();
    let mut n = 0;
    for f in corpus
        .fragment
        .iter()
        .filter(|f| f.expect == ["smm-services"])
    {
        n += 1;
        let got = rs.find(&f.text, &Context::default()).matches;
        if !got.iter().any(|m| m.rule_id == "smm-services") {
            missed.push(f.text.clone());
        }
    }
    println!("smm-services: {}/{n} found", n - missed.len());
    assert!(missed.len() * 10 <= n, "smm-services missed: {missed:#?}");
}

#[test]
fn builtin_examples_pass() {
    let rs = RuleSet::builtin().unwrap();
    let outcomes = rs.check_examples();
    assert!(outcomes.len() >= 40);
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    for r in rs.rules() {
        assert!(
            outcomes
                .iter()
                .any(|o| o.rule_id == r.id && o.expected_match),
            "{} has no example",
            r.id
        );
        assert!(
            outcomes
                .iter()
                .any(|o| o.rule_id == r.id && !o.expected_match),
            "{} has no counterexample",
            r.id
        );
    }
}

#[test]
fn builtin_rule_ids_and_severities() {
    let rs = RuleSet::builtin().unwrap();
    let got: Vec<(&str, Severity)> = rs
        .rules()
        .iter()
        .map(|r| (r.id.as_str(), r.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("fake-accounts", Severity::High),
            ("fake-accounts-made", Severity::High),
            ("comment-quota-positive", Severity::High),
            ("opinion-writing", Severity::Medium),
            ("comment-quota", Severity::Medium),
            ("negativity-work", Severity::Medium),
            ("bought-audience", Severity::Medium),
            ("smm-services", Severity::Low),
            ("fake-personas", Severity::High),
            ("pretend-citizens", Severity::High),
            ("concealed-source", Severity::High),
            ("paid-commenting", Severity::Medium),
            ("staged-questions", Severity::Medium),
            ("opinion-norm", Severity::Medium),
            ("comment-volume", Severity::Medium),
            ("comment-volume-placed", Severity::Medium),
            ("comment-volume-large", Severity::Medium),
            ("likes-volume", Severity::Medium),
            ("review-farming", Severity::Medium),
            ("vote-rigging", Severity::Medium),
        ]
    );
    for r in rs.rules() {
        assert_eq!(r.origin, "builtin.toml");
        assert!(r.line > 0 && !r.why.is_empty() && !r.title.is_empty());
        // every built-in rule is worded in the three digest languages
        let t = &r.translations;
        for (what, text) in [
            ("title.ru", &t.title_ru),
            ("title.kk", &t.title_kk),
            ("why.ru", &t.why_ru),
            ("why.kk", &t.why_kk),
        ] {
            let text = text
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no {what}", r.id));
            assert!(
                text.chars()
                    .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c))),
                "{}: {what} is not Cyrillic: {text}",
                r.id
            );
            assert_ne!(text, r.title.as_str(), "{}: {what} is the English", r.id);
        }
        assert_ne!(t.title_ru, t.title_kk, "{}", r.id);
    }
    let o = RuleSet::builtin()
        .unwrap()
        .with_second_opinion(tenderscan::rules::Model::builtin().unwrap())
        .unwrap();
    let r = o.get("second-opinion").unwrap();
    assert!(
        r.title_in("ru").starts_with("Похоже на заказ"),
        "{}",
        r.title_in("ru")
    );
    assert!(r.why_in("kk").contains("модель"));
    assert_eq!(r.title_in("en"), r.title);
    assert_eq!(rs.version().len(), 16);
    assert_eq!(rs.version(), RuleSet::builtin().unwrap().version());
}

#[test]
fn examples_report_failures() {
    let src = r#"
[[rule]]
id = "x"
title = "t"
severity = "low"
why = "w"
phrases = ["фейковый аккаунт"]
examples = ["фейковых аккаунтов", "ботинки"]
counterexamples = ["фейковые аккаунты", "ботинки"]
"#;
    let rs = RuleSet::from_toml_str(src, "x.toml").unwrap();
    let o = rs.check_examples();
    let passed: Vec<bool> = o.iter().map(|o| o.passed).collect();
    assert_eq!(passed, [true, false, false, true]);
    assert_eq!(o[1].text, "ботинки");
    assert!(o[1].expected_match && !o[2].expected_match);
}

fn err(src: &str) -> String {
    match RuleSet::from_toml_str(src, "rules.toml") {
        Ok(_) => panic!("accepted: {src}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = "[[rule]]\nid = \"ok-rule\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"аккаунт\"]\n\n";

/// `title` and `why` are a string (English) or a table of languages, English required as
/// the fallback; a digest language the file does not give falls back to English.
#[test]
fn titles_and_whys_are_translatable_with_english_the_fallback() {
    let src = "[[rule]]\nid = \"tr\"\ntitle.en = \"Fake accounts\"\ntitle.ru = \"Фейковые аккаунты\"\nseverity = \"low\"\nwhy.en = \"W\"\nwhy.kk = \"Жалған\"\nphrases = [\"аккаунт\"]\n";
    let rs = RuleSet::from_toml_str(src, "rules.toml").unwrap();
    let r = rs.get("tr").unwrap();
    assert_eq!(r.title, "Fake accounts");
    assert_eq!(r.title_in("ru"), "Фейковые аккаунты");
    assert_eq!(r.title_in("kk"), "Fake accounts");
    assert_eq!(r.why_in("kk"), "Жалған");
    assert_eq!(r.why_in("ru"), "W");
    // the plain form is English
    let plain = RuleSet::from_toml_str(HEAD, "rules.toml").unwrap();
    assert_eq!(plain.get("ok-rule").unwrap().title_in("ru"), "t");
    let e = err(
        "[[rule]]\nid = \"tr\"\ntitle.ru = \"Фейк\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"аккаунт\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:3: rule `tr`: `title.en` is missing"),
        "{e}"
    );
    let e = err(
        "[[rule]]\nid = \"tr\"\ntitle = \"t\"\nseverity = \"low\"\nwhy.en = \"w\"\nwhy.de = \"x\"\nphrases = [\"аккаунт\"]\n",
    );
    assert!(
        e.contains("`why.de`: no such language (en, ru or kk)"),
        "{e}"
    );
    let e = err(
        "[[rule]]\nid = \"tr\"\ntitle = \"t\"\nseverity = \"low\"\nwhy.en = \"w\"\nwhy.ru = \"\"\nphrases = [\"аккаунт\"]\n",
    );
    assert!(e.contains("`why` must be one non-empty line"), "{e}");
}

#[test]
fn rule_file_errors_name_file_line_and_rule() {
    let e = err(&format!(
        "{HEAD}[[rule]]\nid = \"fake-accounts\"\ntitle = \"t\"\nseverity = \"high\"\nwhy = \"w\"\nphrasez = [\"a\"]\n"
    ));
    assert_eq!(
        e,
        "rules.toml:13: rule `fake-accounts`: unknown field `phrasez`, expected one of `id`, `title`, `severity`, `why`, `phrases`, `near`, `unless`, `unless_within`, `regex`, `quota`, `context`, `unless_context`, `min_amount`, `amount_currency`, `defer_to`, `examples`, `counterexamples`"
    );

    let e = err(&format!(
        "{HEAD}[[rule]]\nid = \"bad-re\"\ntitle = \"t\"\nseverity = \"high\"\nwhy = \"w\"\nregex = [\"(unclosed\"]\n"
    ));
    assert!(
        e.starts_with("rules.toml:13: rule `bad-re`: invalid regex"),
        "{e}"
    );

    let e = err(&format!(
        "{HEAD}[[rule]]\nid = \"ok-rule\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"бот\"]\n"
    ));
    assert_eq!(
        e,
        "rules.toml:9: rule `ok-rule`: duplicate rule id (first defined at rules.toml:2)"
    );

    let e = err("[[rule]]\nid = \"empty\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\n");
    assert_eq!(
        e,
        "rules.toml:2: rule `empty`: rule has no matchers (phrases, near, regex or quota)"
    );

    let e = err(
        "[[rule]]\nid = \"sev\"\ntitle = \"t\"\nseverity = \"urgent\"\nwhy = \"w\"\nphrases = [\"бот\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:4: rule `sev`: unknown variant `urgent`"),
        "{e}"
    );

    // a space meant as `|`: the phrase would need "удалил took down down" and never match
    let e = err(
        "[[rule]]\nid = \"spaced\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nunless = [\"удалил*|took down|taken down\"]\nphrases = [\"бот\"]\n",
    );
    assert!(
        e.starts_with(
            "rules.toml:6: rule `spaced`: phrase `удалил*|took down|taken down` has `down` in two of its 3 words"
        ),
        "{e}"
    );

    let e = err(
        "[[rule]]\nid = \"short\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"в на\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:6: rule `short`: phrase `в на` needs a word"),
        "{e}"
    );

    let e = err(
        "[[rule]]\nid = \"near\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\n\nnear = [\n  { terms = [\"фейк*\"], within = 3 },\n]\n",
    );
    assert!(
        e.starts_with("rules.toml:8: rule `near`: `near` needs at least two terms"),
        "{e}"
    );

    let e = err(
        "[[rule]]\nid = \"Bad Id\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"бот\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:2: rule `Bad Id`: id must be"),
        "{e}"
    );

    let e = err(
        "[[rule]]\nid = \"q\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\n[rule.quota]\nkinds = [\"comments\"]\nper = [\"year\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:") && e.contains("rule `q`: unknown period `year`"),
        "{e}"
    );

    let e = err(
        "[[rule]]\nid = \"q2\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\n[rule.quota]\nkinds = [\"votes\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:7: rule `q2`: unknown variant `votes`"),
        "{e}"
    );

    let e = err("[[rule]\nid = \"x\"\n");
    assert!(e.starts_with("rules.toml:1: "), "{e}");

    let e = err(
        "[[rule]]\nid = \"hy\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"фейк-аккаунт\"]\n",
    );
    assert!(
        e.contains("rule `hy`: term `фейк-аккаунт` is not one word"),
        "{e}"
    );
}

#[test]
fn concepts_are_shared_vocabulary_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    std::fs::write(
        &a,
        r#"
[concepts]
stand-in = "фейк*|подставн*|липов*"
account = "аккаунт|профиль|=акк"
excuses = ["выявлени* @stand-in", "мониторинг*"]

[[rule]]
id = "ours"
title = "t"
severity = "high"
why = "w"
phrases = ["@stand-in @account"]
unless = ["@excuses"]
examples = ["Ведение липовых профилей", "фейк-акк для отзывов"]
counterexamples = ["Выявление фейковых аккаунтов", "Мониторинг: подставные аккаунты"]
"#,
    )
    .unwrap();
    // a second file uses the first file's concepts (and the built-in ones)
    let b = dir.path().join("b.toml");
    std::fs::write(
        &b,
        r#"
[[rule]]
id = "theirs"
title = "t"
severity = "low"
why = "w"
near = [{ terms = ["@account", "комментари*"], within = 4 }]
unless_context = { any = ["@not-an-order"], within = 30 }
examples = ["аккаунт для комментариев"]
counterexamples = ["Мошенники создают аккаунт для комментариев"]
"#,
    )
    .unwrap();
    let rs = RuleSet::load(true, &[a.clone(), b.clone()]).unwrap();
    let failed: Vec<_> = rs
        .check_examples()
        .into_iter()
        .filter(|o| !o.passed && (o.rule_id == "ours" || o.rule_id == "theirs"))
        .map(|o| o.text)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");

    // errors name the file and the line
    let e = err(
        "[[rule]]\nid = \"x\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"@nowhere аккаунт\"]\n",
    );
    assert_eq!(e, "rules.toml:6: rule `x`: unknown concept `@nowhere`");
    let e = err(
        "[concepts]\nlist = [\"a b\"]\n\n[[rule]]\nid = \"x\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"@list аккаунт\"]\n",
    );
    assert!(
        e.starts_with("rules.toml:9: rule `x`: concept `list` is a list of phrases"),
        "{e}"
    );
    let e = err("[concepts]\nok = \"бот\"\ntwo-words = \"фейк аккаунт\"\n");
    assert!(
        e.starts_with("rules.toml:3: concept `two-words`: a word concept is one word"),
        "{e}"
    );
    let clash = dir.path().join("clash.toml");
    std::fs::write(&clash, "[concepts]\nnot-an-order = [\"x\"]\n").unwrap();
    let e = RuleSet::load(true, std::slice::from_ref(&clash))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:2: concept `not-an-order` is already defined in builtin.toml",
            clash.display()
        )),
        "{e}"
    );
}

#[test]
fn load_merges_files_and_names_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("newsroom.toml");
    std::fs::write(
        &good,
        "[[rule]]\nid = \"our-words\"\ntitle = \"Ours\"\nseverity = \"medium\"\nwhy = \"w\"\nphrases = [\"имиджевые комментарии\"]\nexamples = [\"имиджевых комментариев\"]\n",
    )
    .unwrap();
    let rs = RuleSet::load(true, std::slice::from_ref(&good)).unwrap();
    assert_eq!(
        rs.rules().len(),
        RuleSet::builtin().unwrap().rules().len() + 1
    );
    let ours = rs.get("our-words").unwrap();
    assert_eq!(ours.origin, good.display().to_string());
    assert_eq!(ours.line, 2);
    assert_ne!(rs.version(), RuleSet::builtin().unwrap().version());
    let f = rs.find("Размещение имиджевых комментариев", &Context::default());
    assert!(f.matches.iter().any(|m| m.rule_id == "our-words"));
    assert!(rs.check_examples().iter().all(|o| o.passed));

    let only = RuleSet::load(false, std::slice::from_ref(&good)).unwrap();
    assert_eq!(only.rules().len(), 1);

    let clash = dir.path().join("clash.toml");
    std::fs::write(&clash, "[[rule]]\nid = \"fake-accounts\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"бот\"]\n").unwrap();
    let e = RuleSet::load(true, std::slice::from_ref(&clash))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:2: rule `fake-accounts`: duplicate rule id (first defined at builtin.toml:",
            clash.display()
        )),
        "{e}"
    );

    let missing = dir.path().join("missing.toml");
    let e = RuleSet::load(false, &[missing]).unwrap_err();
    assert!(matches!(e, RuleError::Io { .. }));
}

#[test]
fn version_changes_with_any_rule() {
    let a = "[[rule]]\nid = \"a\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"бот\"]\n";
    let b = a.replace("бот", "боты");
    let va = RuleSet::from_toml_str(a, "x")
        .unwrap()
        .version()
        .to_string();
    let vb = RuleSet::from_toml_str(&b, "x")
        .unwrap()
        .version()
        .to_string();
    assert_ne!(va, vb);
    assert_eq!(va, RuleSet::from_toml_str(a, "y").unwrap().version());
}

#[test]
fn regex_rule_maps_offsets_to_original() {
    let src = "[[rule]]\nid = \"re\"\ntitle = \"t\"\nseverity = \"medium\"\nwhy = \"w\"\nregex = [\"нурбот[а-я]*\"]\n";
    let rs = RuleSet::from_toml_str(src, "re.toml").unwrap();
    let t = "Услуги «НУРБОТОВ» и прочее";
    let f = rs.find(t, &Context::default());
    assert_eq!(f.matches.len(), 1);
    assert_eq!(&t[f.matches[0].start..f.matches[0].end], "НУРБОТОВ");
}

#[test]
fn big_adversarial_input_is_safe_and_capped() {
    let rs = RuleSet::builtin().unwrap();
    // one enormous word, then many repeated candidate words
    let mut t = "аккаунт".repeat(200_000);
    t.push(' ');
    t.push_str(&"фейковых аккаунтов бот комментариев 5 ".repeat(20_000));
    // Its speed is measured by `cargo bench --bench rules`, not asserted here.
    let f = rs.find(&t, &Context::default());
    for m in &f.matches {
        assert!(t.is_char_boundary(m.start) && t.is_char_boundary(m.end));
    }
    assert!(
        f.matches
            .iter()
            .filter(|m| m.rule_id == "fake-accounts")
            .count()
            <= 100
    );
}

#[test]
fn findings_serialize_lowercase() {
    let rs = RuleSet::builtin().unwrap();
    let f = rs.find(
        "не менее 50 положительных комментариев в день в Instagram",
        &Context::default(),
    );
    let j = serde_json::to_value(&f).unwrap();
    assert_eq!(j["quotas"][0]["kind"], "comments");
    assert_eq!(j["quotas"][0]["per"], "day");
    assert_eq!(j["matches"][0]["severity"], "high");
}

#[test]
fn development_corpus_figures_do_not_fall() {
    // Regression floors under the figures recorded in DETECTION.md (not the targets of the
    // detection issue), scored as `rules eval` does: the rules alone on every part, and the
    // rules with the second opinion on the parts it was never trained on (held-out and fresh;
    // on the tuning parts it has learnt the answers).
    use tenderscan::rules::eval;
    let rules = RuleSet::builtin().unwrap();
    let both = RuleSet::builtin()
        .unwrap()
        .with_second_opinion(tenderscan::rules::Model::builtin().unwrap())
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/corpus");
    for (set, name, file, min_recall, max_ff, min_quota) in [
        (&rules, "rules", "tune.jsonl", 0.94, 0.03, 0.84),
        (&rules, "rules", "heldout.jsonl", 0.82, 0.09, 0.74),
        (&rules, "rules", "fresh.jsonl", 0.77, 0.05, 0.68),
        (&rules, "rules", "tune2.jsonl", 0.95, 0.01, 0.86),
        (&rules, "rules", "heldout2.jsonl", 0.83, 0.09, 0.80),
        (&rules, "rules", "tune3.jsonl", 0.88, 0.02, 0.87),
        (&rules, "rules", "heldout3.jsonl", 0.72, 0.07, 0.84),
        (&rules, "rules", "tune4.jsonl", 0.93, 0.03, 0.85),
        (&rules, "rules", "heldout4.jsonl", 0.79, 0.07, 0.86),
        (&rules, "rules", "tune5.jsonl", 0.85, 0.05, 0.65),
        (&rules, "rules", "heldout5.jsonl", 0.69, 0.07, 0.63),
        (&rules, "rules", "tune6.jsonl", 0.73, 0.06, 0.65),
        // quotas 47 -> 46 of 81 with batch 11's quota reading (chosen on the tuning parts)
        (&rules, "rules", "heldout6.jsonl", 0.62, 0.19, 0.56),
        (&rules, "rules", "tune7.jsonl", 0.66, 0.08, 0.63),
        (&rules, "rules", "heldout7.jsonl", 0.63, 0.16, 0.71),
        // tune8 (English, Kazakh and mixed indirect wording, 2026-12-03), the rules alone:
        // 0.755 / 0.048 / 0.695 before they were tuned on it, 0.862 / 0.032 / 0.695 after
        (&rules, "rules", "tune8.jsonl", 0.84, 0.05, 0.67),
        // batch 9 (ru, kk, en, mixed; quotas in tables and periods, 2026-12-04), the rules
        // alone: tune9 0.926 / 0.079 / 0.759 before they were tuned on it, 0.975 / 0.011 /
        // 0.862 after; heldout9 0.897 / 0.048 / 0.931, before and after
        (&rules, "rules", "tune9.jsonl", 0.95, 0.03, 0.83),
        (&rules, "rules", "heldout9.jsonl", 0.86, 0.10, 0.89),
        // batch 10 (reporting and leaks, evasive Kazakh, English ToRs; 2026-12-04), the rules
        // alone: tune10 0.612 / 0.100 / 0.836 before they were tuned on it, 0.837 / 0 / 0.900
        // after; heldout10 0.652 / 0.138 / 0.690 before, 0.739 / 0.138 / 0.690 after
        (&rules, "rules", "tune10.jsonl", 0.81, 0.03, 0.87),
        (&rules, "rules", "heldout10.jsonl", 0.70, 0.17, 0.66),
        // batch 11 (English, Russian and Kazakh leaks, chats and indirect orders; 2026-12-04),
        // the rules alone: tune11 0.638 / 0.082 / 0.624 before they were tuned on it, 0.787 /
        // 0.031 / 0.647 after; heldout11 0.611 / 0.250 / 0.722 before and after
        (&rules, "rules", "tune11.jsonl", 0.76, 0.05, 0.62),
        (&rules, "rules", "heldout11.jsonl", 0.55, 0.30, 0.66),
        // batch 12 (hard negatives sharing the orders' words, Kazakh typed plainly; 2026-12-04),
        // the rules alone: tune12 0.701 / 0.093 / 0.724 before they were tuned on it, 0.831 /
        // 0.056 / 0.789 after; heldout12 0.786 / 0.103 / 0.750 before and after
        (&rules, "rules", "tune12.jsonl", 0.80, 0.08, 0.76),
        (&rules, "rules", "heldout12.jsonl", 0.71, 0.14, 0.70),
        // batch 13 (plain orders as clerks type them, distance, hard negatives; 2026-12-04),
        // the rules alone: tune13 0.888 / 0.130 / 0.737 before they were tuned on it, 0.975 /
        // 0.052 / 0.789 after; heldout13 0.700 / 0.043 / 0.938 before and after
        (&rules, "rules", "tune13.jsonl", 0.94, 0.08, 0.75),
        (&rules, "rules", "heldout13.jsonl", 0.65, 0.09, 0.87),
        // batch 14 (English marketing-language ToRs; 2026-12-04), the rules alone: tune14 0.438
        // / 0.106 / 0.738 before they were tuned on it, 0.797 / 0.061 / 0.738 after; heldout14
        // 0.812 / 0.214 / 0.667 before and after
        (&rules, "rules", "tune14.jsonl", 0.76, 0.09, 0.71),
        (&rules, "rules", "heldout14.jsonl", 0.75, 0.25, 0.6),
        // a second fresh batch, written at the end of 2026-12-04 and only scored: 0.820 / 0.060 /
        // 0.815 rules alone, 0.870 / 0.020 with the second opinion (0.830 and 0.880 after batch
        // 14's tuning)
        (&rules, "rules", "fresh2.jsonl", 0.77, 0.09, 0.77),
        // batches 15-18 (Kazakh evasive specifications; reporting and leaks; English, also
        // machine-translated; Russian plain orders with typing noise; 2026-12-04, second
        // session), the rules alone before they were tuned on them -> after: tune15 0.719 /
        // 0.051 / 0.792 -> 0.820 / 0.051 / 0.816; tune16 0.638 / 0.105 / 0.620 -> 0.660 / 0.105 /
        // 0.620; tune17 0.563 / 0.093 / 0.604 -> 0.709 / 0.065 / 0.604; tune18 0.879 / 0.061 /
        // 0.821 -> 0.934 / 0.061 / 0.821 (the held-out parts: DETECTION.md)
        (&rules, "rules", "tune15.jsonl", 0.78, 0.08, 0.78),
        (&rules, "rules", "heldout15.jsonl", 0.76, 0.06, 0.85),
        (&rules, "rules", "tune16.jsonl", 0.62, 0.13, 0.59),
        (&rules, "rules", "heldout16.jsonl", 0.76, 0.10, 0.51),
        (&rules, "rules", "tune17.jsonl", 0.67, 0.09, 0.57),
        (&rules, "rules", "heldout17.jsonl", 0.70, 0.18, 0.78),
        (&rules, "rules", "tune18.jsonl", 0.90, 0.09, 0.79),
        (&rules, "rules", "heldout18.jsonl", 0.88, 0.05, 0.78),
        // batches 19-21 (English hard negatives; Kazakh clerks' orders; Russian evasive
        // specifications; 2026-12-04, second session), the rules alone before they were tuned on
        // them -> after: tune19 0.750 / 0.202 / 0.687 -> 0.750 / 0.101 / 0.687; tune20 0.849 /
        // 0.125 / 0.733 -> 0.892 / 0.031 / 0.733; tune21 0.717 / 0.081 / 0.825 -> 0.830 / 0.040 /
        // 0.825 (the held-out parts: DETECTION.md)
        (&rules, "rules", "tune19.jsonl", 0.71, 0.13, 0.65),
        (&rules, "rules", "heldout19.jsonl", 0.83, 0.09, 0.67),
        (&rules, "rules", "tune20.jsonl", 0.85, 0.06, 0.70),
        (&rules, "rules", "heldout20.jsonl", 0.80, 0.18, 0.62),
        (&rules, "rules", "tune21.jsonl", 0.79, 0.07, 0.79),
        (&rules, "rules", "heldout21.jsonl", 0.69, 0.05, 0.80),
        // a third fresh set, written in the second session of 2026-12-04 after batches 15-18's
        // tuning and only scored: 0.910 / 0.070 / 0.739 with the second opinion at the session's
        // start, 0.940 / 0.050 after batches 15-18, 0.940 / 0.060 at its end (rules alone 0.870 /
        // 0.050)
        (&rules, "rules", "fresh3.jsonl", 0.83, 0.08, 0.70),
        // batches 22-25 (numbers in specifications; English; Kazakh; leaked documents), the
        // rules alone before they were tuned on them -> after: tune22 0.940 / 0.034 / 0.734 ->
        // 0.940 / 0.034 / 0.761; tune23 0.725 / 0.175 / 0.623 -> 0.780 / 0.072 / 0.638; tune24
        // 0.811 / 0.046 / 0.817 -> 0.895 / 0.011 / 0.817; tune25 0.689 / 0.042 / 0.722 -> 0.811 /
        // 0.042 / 0.730
        // a fourth fresh set, written after the third round's tuning and only scored: 0.920 /
        // 0.070 / 0.746 with the second opinion at the session's start, 0.960 / 0.040 / 0.754
        // after the third round (rules alone 0.890 / 0.080 -> 0.910 / 0.080)
        (&rules, "rules", "fresh4.jsonl", 0.87, 0.11, 0.72),
        (&rules, "rules", "tune22.jsonl", 0.90, 0.06, 0.72),
        (&rules, "rules", "heldout22.jsonl", 0.80, 0.07, 0.70),
        (&rules, "rules", "tune23.jsonl", 0.74, 0.10, 0.60),
        (&rules, "rules", "heldout23.jsonl", 0.77, 0.20, 0.62),
        (&rules, "rules", "tune24.jsonl", 0.85, 0.04, 0.78),
        (&rules, "rules", "heldout24.jsonl", 0.80, 0.07, 0.85),
        (&rules, "rules", "tune25.jsonl", 0.77, 0.07, 0.69),
        (&rules, "rules", "heldout25.jsonl", 0.84, 0.11, 0.48),
        // batches 26 (English, 60% hard negatives) and 28 (numbers in en/kk/ru), the rules alone
        // before they were tuned on them -> after: tune26 0.792 / 0.109 / 0.682 -> 0.792 /
        // 0.067 / 0.682; tune28 0.860 / 0.111 / 0.544 -> 0.871 / 0.111 / 0.628
        (&rules, "rules", "tune26.jsonl", 0.75, 0.09, 0.65),
        (&rules, "rules", "heldout26.jsonl", 0.66, 0.22, 0.48),
        (&rules, "rules", "tune28.jsonl", 0.83, 0.14, 0.60),
        (&rules, "rules", "heldout28.jsonl", 0.86, 0.09, 0.58),
        // batch 27 (Kazakh in Cyrillic, typed plainly, in Latin and in informal ASCII), the rules
        // alone: tune27 0.659 / 0.112 / 0.472 before they were tuned on it, 0.761 / 0.090 / 0.488
        // after
        (&rules, "rules", "tune27.jsonl", 0.72, 0.12, 0.45),
        (&rules, "rules", "heldout27.jsonl", 0.59, 0.15, 0.58),
        // 87 -> 85 of 97 with the second opinion retrained on tune1-18 (two Kazakh orders lost;
        // over every unseen part pooled it gains ten orders and a false flag fewer, loses three
        // orders and one false flag more)
        (&both, "opinion", "heldout.jsonl", 0.87, 0.06, 0.74),
        (&both, "opinion", "fresh.jsonl", 0.85, 0.03, 0.68),
        (&both, "opinion", "heldout2.jsonl", 0.88, 0.06, 0.80),
        (&both, "opinion", "heldout3.jsonl", 0.82, 0.07, 0.84),
        (&both, "opinion", "heldout4.jsonl", 0.87, 0.07, 0.86),
        // 31 -> 28 of 37 and 7 false flags of 34 (6 before) with the second opinion retrained on
        // tune1-25 with words seen in at least 3 fragments: over every unseen part pooled it
        // finds nineteen orders more and one false flag fewer (DETECTION.md)
        (&both, "opinion", "heldout5.jsonl", 0.75, 0.07, 0.63),
        (&both, "opinion", "heldout6.jsonl", 0.71, 0.21, 0.56),
        (&both, "opinion", "heldout7.jsonl", 0.69, 0.16, 0.71),
        (&both, "opinion", "heldout9.jsonl", 0.89, 0.10, 0.89),
        (&both, "opinion", "heldout10.jsonl", 0.78, 0.14, 0.66),
        (&both, "opinion", "heldout11.jsonl", 0.72, 0.25, 0.66),
        (&both, "opinion", "heldout12.jsonl", 0.78, 0.14, 0.70),
        (&both, "opinion", "heldout13.jsonl", 0.80, 0.09, 0.87),
        (&both, "opinion", "heldout14.jsonl", 0.81, 0.18, 0.6),
        (&both, "opinion", "fresh2.jsonl", 0.83, 0.05, 0.77),
        (&both, "opinion", "heldout15.jsonl", 0.84, 0.06, 0.85),
        (&both, "opinion", "heldout16.jsonl", 0.85, 0.10, 0.51),
        (&both, "opinion", "heldout17.jsonl", 0.79, 0.14, 0.78),
        (&both, "opinion", "heldout18.jsonl", 0.88, 0.05, 0.78),
        (&both, "opinion", "heldout19.jsonl", 0.83, 0.09, 0.67),
        (&both, "opinion", "heldout20.jsonl", 0.88, 0.13, 0.62),
        (&both, "opinion", "heldout21.jsonl", 0.78, 0.05, 0.80),
        (&both, "opinion", "fresh3.jsonl", 0.90, 0.09, 0.70),
        (&both, "opinion", "fresh4.jsonl", 0.92, 0.07, 0.72),
        (&both, "opinion", "heldout22.jsonl", 0.85, 0.04, 0.70),
        (&both, "opinion", "heldout23.jsonl", 0.85, 0.20, 0.62),
        (&both, "opinion", "heldout24.jsonl", 0.85, 0.07, 0.85),
        (&both, "opinion", "heldout25.jsonl", 0.92, 0.11, 0.48),
        (&both, "opinion", "heldout26.jsonl", 0.90, 0.16, 0.48),
        (&both, "opinion", "heldout28.jsonl", 0.86, 0.09, 0.58),
        (&both, "opinion", "heldout27.jsonl", 0.62, 0.11, 0.58),
    ] {
        let cases = eval::load_cases(&dir.join(file)).unwrap();
        // every part is read whole (the smallest, heldout14, holds 30 fragments)
        assert!(cases.len() >= 30, "{file}: {} fragments", cases.len());
        let ev = eval::evaluate(set, &cases, Severity::Medium);
        let t = &ev.total;
        let (r, ff, q) = (
            t.recall().unwrap(),
            t.false_flag_rate().unwrap(),
            t.quota_accuracy().unwrap(),
        );
        println!(
            "{file} ({name}): recall {r:.3} ({}/{}), false flags {ff:.3} ({}/{}), quotas {q:.3} ({}/{})",
            t.recalled, t.positives, t.false_flags, t.clean, t.quota_right, t.quota_cases
        );
        assert!(
            r >= min_recall,
            "{file} ({name}): recall {r:.3} < {min_recall}"
        );
        assert!(
            ff <= max_ff,
            "{file} ({name}): false flags {ff:.3} > {max_ff}"
        );
        assert!(
            q >= min_quota,
            "{file} ({name}): quotas right {q:.3} < {min_quota}"
        );
    }
}

#[test]
fn the_builtin_model_is_trained_on_the_tuning_parts_only() {
    // src/rules/opinion.tsv is what `rules train` makes of the twenty-five tuning parts (words seen in at least 3 fragments): no held-out
    // or fresh fragment went into it, and anyone can rebuild it.
    use tenderscan::rules::{Model, TrainOptions, eval};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/corpus");
    let mut cases = Vec::new();
    for f in [
        "tune.jsonl",
        "tune2.jsonl",
        "tune3.jsonl",
        "tune4.jsonl",
        "tune5.jsonl",
        "tune6.jsonl",
        "tune7.jsonl",
        "tune8.jsonl",
        "tune9.jsonl",
        "tune10.jsonl",
        "tune11.jsonl",
        "tune12.jsonl",
        "tune13.jsonl",
        "tune14.jsonl",
        "tune15.jsonl",
        "tune16.jsonl",
        "tune17.jsonl",
        "tune18.jsonl",
        "tune19.jsonl",
        "tune20.jsonl",
        "tune21.jsonl",
        "tune22.jsonl",
        "tune23.jsonl",
        "tune24.jsonl",
        "tune25.jsonl",
    ] {
        for c in eval::load_cases(&dir.join(f)).unwrap() {
            cases.push((c.text, c.label == Some(eval::Label::Flag)));
        }
    }
    let refs: Vec<(&str, bool)> = cases.iter().map(|(t, y)| (t.as_str(), *y)).collect();
    let trained = Model::train(
        &refs,
        TrainOptions {
            min_count: 3,
            ..TrainOptions::default()
        },
    );
    let shipped = Model::builtin().unwrap();
    let weights = |m: &Model| -> std::collections::BTreeMap<String, f64> {
        m.text()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('@'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(f, w)| (f.to_string(), w.parse().unwrap()))
            .collect()
    };
    let (a, b) = (weights(&trained), weights(&shipped));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "retrain: tenderscan rules train tests/fixtures/rules/corpus/tune{{,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25}}.jsonl --min-count 3 -o src/rules/opinion.tsv"
    );
    for (f, w) in &a {
        assert!((w - b[f]).abs() <= 0.002, "{f}: {w} vs {}", b[f]);
    }
    assert_eq!(shipped.threshold, TrainOptions::default().threshold);
    assert_eq!(shipped.veto, TrainOptions::default().veto);
    assert_eq!(shipped.trained_on, (2916, 2805));
    // no held-out or fresh fragment is among the cases
    for f in [
        "heldout.jsonl",
        "heldout2.jsonl",
        "heldout3.jsonl",
        "heldout4.jsonl",
        "heldout5.jsonl",
        "heldout6.jsonl",
        "heldout7.jsonl",
        "heldout9.jsonl",
        "heldout10.jsonl",
        "heldout11.jsonl",
        "heldout12.jsonl",
        "heldout13.jsonl",
        "heldout14.jsonl",
        "heldout15.jsonl",
        "heldout16.jsonl",
        "heldout17.jsonl",
        "heldout18.jsonl",
        "heldout19.jsonl",
        "heldout20.jsonl",
        "heldout21.jsonl",
        "heldout22.jsonl",
        "heldout23.jsonl",
        "heldout24.jsonl",
        "heldout25.jsonl",
        "heldout26.jsonl",
        "heldout27.jsonl",
        "heldout28.jsonl",
        "fresh.jsonl",
        "fresh2.jsonl",
        "fresh3.jsonl",
        "fresh4.jsonl",
    ] {
        for c in eval::load_cases(&dir.join(f)).unwrap() {
            assert!(!cases.iter().any(|(t, _)| *t == c.text), "{f}: {}", c.text);
        }
    }
}

#[test]
fn second_opinion_flags_what_no_rule_does_and_names_its_words() {
    let rules = RuleSet::builtin().unwrap();
    let both = RuleSet::builtin()
        .unwrap()
        .with_second_opinion(tenderscan::rules::Model::builtin().unwrap())
        .unwrap();
    assert_ne!(rules.version(), both.version());
    assert!(both.get("second-opinion").is_some());
    let alerting = |f: &tenderscan::rules::Findings| {
        f.matches
            .iter()
            .filter(|m| m.severity >= Severity::Medium)
            .cloned()
            .collect::<Vec<_>>()
    };
    // commenters of the supplier writing in support of the akim: no rule names "комментаторы
    // исполнителя", the model has learnt the words around such orders
    let text =
        "Комментаторы исполнителя пишут в поддержку акима под публикациями в городских пабликах.";
    assert!(alerting(&rules.find(text, &Default::default())).is_empty());
    let got = alerting(&both.find(text, &Default::default()));
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m.rule_id, "second-opinion");
    assert_eq!(m.severity, Severity::Medium);
    assert_eq!(&text[m.start..m.end], text.trim_end_matches('.'));
    assert!(
        m.reasons[0].starts_with("second opinion "),
        "{:?}",
        m.reasons
    );
    // the words that moved it are the sentence's own (each a word's first letters, or a pair)
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let named = m.reasons[0].split_once(": ").unwrap().1;
    for part in named.split(", ") {
        let (feature, weight) = part.rsplit_once(' ').unwrap();
        assert!(weight.starts_with('+'), "{part}: {:?}", m.reasons);
        for w in feature.split(' ') {
            assert!(
                words.iter().any(|x| x.starts_with(w)),
                "{w}: {:?}",
                m.reasons
            );
        }
    }
    // a rule hit the model reads as something else (a press office refuting what fake accounts
    // spread) is lowered to low, with the words why
    let refute = "Пресс-служба публикует опровержение в течение 2 часов после появления \
                  недостоверной информации, в том числе распространяемой фейковыми аккаунтами.";
    assert!(!alerting(&rules.find(refute, &Default::default())).is_empty());
    let f = both.find(refute, &Default::default());
    assert!(alerting(&f).is_empty(), "{:?}", f.matches);
    let low = f
        .matches
        .iter()
        .find(|m| m.rule_id == "fake-accounts")
        .unwrap();
    assert_eq!(low.severity, Severity::Low);
    assert!(
        low.reasons[0].starts_with("lowered from high: second opinion -"),
        "{:?}",
        low.reasons
    );
    // the Rudny wording stays high
    let rudny = both.find(
        "Создание четырех фейковых аккаунтов для комментирования",
        &Default::default(),
    );
    assert_eq!(
        rudny.matches[0].severity,
        Severity::High,
        "{:?}",
        rudny.matches
    );
    // a rule id that clashes with the second opinion's is refused
    let clash = RuleSet::from_toml_str(
        "[[rule]]\nid = \"second-opinion\"\ntitle = \"t\"\nseverity = \"low\"\nwhy = \"w\"\nphrases = [\"фейк аккаунт\"]\n",
        "mine.toml",
    )
    .unwrap()
    .with_second_opinion(tenderscan::rules::Model::builtin().unwrap())
    .unwrap_err()
    .to_string();
    assert!(clash.starts_with("mine.toml:2:"), "{clash}");
}

#[test]
fn rules_eval_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cases.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"text":"Создание четырех фейковых аккаунтов для комментирования","label":"flag","lang":"ru","kind":"fake","quota":{"kind":"accounts","count":4,"per":"none"}}"#,
            "\n",
            r#"{"text":"Количество комментариев: не менее 300 в месяц","label":"flag","lang":"ru","kind":"volume","quota":[{"kind":"comments","count":300,"per":"month"}]}"#,
            "\n",
            r#"{"text":"Поставка бумаги офисной формата А4","label":"flag","lang":"ru","kind":"paper"}"#,
            "\n",
            r#"{"text":"Выявление и блокировка фейковых аккаунтов","label":"clean","lang":"ru"}"#,
            "\n",
            r#"{"text":"Ответ на комментарии в течение 24 часов","label":"clean","lang":"ru","quota":[]}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = crate::util::tenderscan(dir.path())
        .args(["rules", "eval", "--format", "json"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fragments"], 5);
    assert_eq!(v["positives"], 3);
    assert_eq!(v["recalled"], 2);
    assert_eq!(v["clean"], 2);
    assert_eq!(v["false_flags"], 0);
    assert_eq!(v["quota_cases"], 3);
    assert_eq!(v["quota_right"], 3);
    assert_eq!(v["by_language"]["ru"]["positives"], 3);
    assert_eq!(v["by_kind"]["paper"]["recalled"], 0);
    assert!(
        v["by_rule"]["fake-accounts"]["on_positives"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let misses = v["misses"].as_array().unwrap();
    assert_eq!(misses.len(), 1);
    assert!(
        misses[0]["origin"]
            .as_str()
            .unwrap()
            .ends_with("cases.jsonl:3")
    );

    let out = crate::util::tenderscan(dir.path())
        .args(["rules", "eval", "--misses"])
        .arg(&f)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("recall  66.7% (2/3)"), "{text}");
    assert!(
        text.contains("MISSED") && text.contains("Поставка бумаги"),
        "{text}"
    );

    // a broken line is named by file and line, and nothing is scored
    std::fs::write(
        &f,
        "{\"text\":\"a\",\"label\":\"flag\"}\n{\"text\":\"b\",\"label\":\"maybe\"}\n",
    )
    .unwrap();
    let out = crate::util::tenderscan(dir.path())
        .args(["rules", "eval"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cases.jsonl:2:") && err.contains("maybe"),
        "{err}"
    );
}

#[test]
fn a_volume_table_inside_a_docx_is_read_with_its_row_count() {
    // cells come out of a DOCX table separated by tabs: the row number is not the count
    let cell = |t: &str| format!("<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>");
    let rows = [
        ["№", "Наименование", "Ед. изм.", "Количество"],
        ["1", "Комментарии под публикациями", "шт. в месяц", "900"],
        ["2", "Пресс-релизы", "шт.", "12"],
    ];
    let tbl: String = rows
        .iter()
        .map(|r| {
            format!(
                "<w:tr>{}</w:tr>",
                r.iter().map(|c| cell(c)).collect::<String>()
            )
        })
        .collect();
    let doc = format!(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:tbl>{tbl}</w:tbl></w:body></w:document>"
    );
    let rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    let ct = "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
    let bytes = crate::util::zip_of(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("spec.docx");
    std::fs::write(&f, bytes).unwrap();
    let out = crate::util::tenderscan(dir.path())
        .args(["match", "--format", "json"])
        .arg(&f)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let quotas = v["quotas"].as_array().unwrap();
    assert_eq!(quotas.len(), 1, "{v}");
    assert_eq!(quotas[0]["count"], 900);
    assert_eq!(quotas[0]["per"], "month");
    assert!(
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["rule"] == "comment-volume"),
        "{v}"
    );
}

#[test]
fn rules_check_fails_on_what_run_fails_on_and_warns_on_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[database]\npath = \"t.db\"\n").unwrap();
    std::fs::write(
        d.join("clash.toml"),
        "[[rule]]\nid = \"fake-accounts\"\ntitle = \"Mine\"\nseverity = \"low\"\nwhy = \"Mine.\"\nphrases = [\"бот\"]\n",
    )
    .unwrap();
    let out = crate::util::tenderscan(d)
        .args(["rules", "check", "clash.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("clash.toml:2")
            && stderr.contains("duplicate rule id")
            && stderr.contains("builtin"),
        "{stderr}"
    );
    // `run` refuses the same file, for the same reason.
    std::fs::write(
        d.join("config.toml"),
        "[database]\npath = \"t.db\"\n[rules]\nfiles = [\"clash.toml\"]\n",
    )
    .unwrap();
    let run = crate::util::tenderscan(d).arg("run").output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("duplicate rule id"));
    // With the built-in rules off, the file is fine.
    std::fs::write(
        d.join("config.toml"),
        "[database]\npath = \"t.db\"\n[rules]\nbuiltin = false\n",
    )
    .unwrap();
    let ok = crate::util::tenderscan(d)
        .args(["rules", "check", "clash.toml"])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // An empty file: a warning, exit 0.
    std::fs::write(d.join("empty.toml"), "# nothing yet\n").unwrap();
    let out = crate::util::tenderscan(d)
        .args(["rules", "check", "empty.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("empty.toml: no rules"),
        "{stderr}"
    );
}

#[test]
fn match_walks_folders_recursively_and_ends_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[database]\npath = \"t.db\"\n").unwrap();
    let tree = d.join("specs");
    std::fs::create_dir_all(tree.join("2026/almaty")).unwrap();
    std::fs::write(
        tree.join("2026/almaty/ts.txt"),
        "Создание четырех фейковых аккаунтов для комментирования публикаций акимата.",
    )
    .unwrap();
    std::fs::write(
        tree.join("2026/ts.docx"),
        crate::util::docx(&["Создание фейковых аккаунтов для комментирования публикаций."]),
    )
    .unwrap();
    std::fs::write(
        tree.join("paper.txt"),
        "Поставка бумаги офисной А4, 40 пачек.",
    )
    .unwrap();
    let out = crate::util::tenderscan(d)
        .args(["match", "specs"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for f in [
        "specs/2026/almaty/ts.txt",
        "specs/2026/ts.docx",
        "specs/paper.txt",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{f}:"))),
            "{f} in {text}"
        );
    }
    assert!(text.contains("specs/paper.txt: no match"), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("3 files: 2 with matches, 0 not read"),
        "{text}"
    );
    // JSON lines stay JSON lines: one per file, no count among them.
    let out = crate::util::tenderscan(d)
        .args(["match", "--format", "json", "specs"])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
}
