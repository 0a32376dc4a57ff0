//! `tenderscan match` and `tenderscan rules`: the rule engine from the command line,
//! without a database.

use crate::util::{docx, tenderscan};
use predicates::prelude::*;

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn match_reads_text_docx_and_stdin_and_prints_one_json_object_per_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.txt"),
        "Исполнитель обеспечивает не менее 50 (пятидесяти) положительных комментариев в день в социальных сетях.",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("techspec_1.docx"),
        docx(&[
            "Техническая спецификация",
            "Создание четырех фейковых аккаунтов для комментирования публикаций.",
        ]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("boots.txt"),
        "Поставка ботинок кожаных, 40 пар.",
    )
    .unwrap();
    let out = tenderscan(dir.path())
        .args([
            "match",
            "--format",
            "json",
            "spec.txt",
            "techspec_1.docx",
            "boots.txt",
            "-",
        ])
        .write_stdin("Four fake accounts shall be created for commenting on the akimat's posts.")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    // Exactly the documented fields, in order.
    let text = String::from_utf8_lossy(&out);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("{\"source\":\"spec.txt\",\"matches\":[{\"rule\":"),
        "{first}"
    );
    for l in &lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort();
        // The fields of #14 and before, and those #17 added (where the text came from, OCR).
        assert_eq!(
            keys,
            [
                "matches",
                "ocr",
                "ocr_note",
                "quotas",
                "source",
                "text_source"
            ]
        );
        for m in l["matches"].as_array().unwrap() {
            let mut k: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
            k.sort();
            assert_eq!(
                k,
                [
                    "end", "evidence", "ocr", "rule", "score", "severity", "start"
                ]
            );
        }
    }
    // The quota with its period, the digits and the words agreeing.
    let q = &lines[0]["quotas"];
    assert!(
        q.as_array()
            .unwrap()
            .iter()
            .any(|q| q["kind"] == "comments" && q["count"] == 50 && q["per"] == "day"),
        "{q}"
    );
    assert!(
        lines[0]["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["severity"] == "high")
    );
    // The DOCX read through extraction: four accounts, high.
    let docx_line = &lines[1];
    assert_eq!(docx_line["source"], "techspec_1.docx");
    let m = &docx_line["matches"][0];
    assert_eq!(m["rule"], "fake-accounts");
    assert_eq!(m["severity"], "high");
    assert!(
        docx_line["quotas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["kind"] == "accounts" && q["count"] == 4 && q["per"].is_null())
    );
    // Offsets are byte offsets into the extracted text, and the evidence holds the span.
    let (start, end) = (m["start"].as_u64().unwrap(), m["end"].as_u64().unwrap());
    assert!(start < end);
    assert!(
        m["evidence"]
            .as_str()
            .unwrap()
            .contains("фейковых аккаунтов")
    );
    // Boots are not fake accounts.
    assert_eq!(lines[2]["matches"].as_array().unwrap().len(), 0);
    // stdin, in English.
    assert_eq!(lines[3]["source"], "-");
    assert_eq!(lines[3]["matches"][0]["rule"], "fake-accounts");
}

#[test]
fn match_goes_on_past_an_unreadable_input_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.txt"), "Создание фейковых аккаунтов.").unwrap();
    // A DOCX cut short: zip magic, nothing readable.
    std::fs::write(dir.path().join("broken.docx"), b"PK\x03\x04garbage").unwrap();
    tenderscan(dir.path())
        .args([
            "match",
            "--format",
            "json",
            "missing.txt",
            "broken.docx",
            "ok.txt",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.txt"))
        .stderr(predicate::str::contains("broken.docx"))
        .stdout(predicate::str::contains("\"source\":\"ok.txt\""));
}

#[test]
fn match_text_output_highlights_the_match() {
    let dir = tempfile::tempdir().unwrap();
    tenderscan(dir.path())
        .args(["match"])
        .write_stdin("Пункт 3. Создание фейковых аккаунтов для поддержки акимата.")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("[[фейковых аккаунтов]]")
                .or(predicate::str::contains("[[Создание фейковых аккаунтов]]")),
        )
        .stdout(predicate::str::contains("fake-accounts"));
}

#[test]
fn rules_check_runs_examples_and_names_file_line_and_rule_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    tenderscan(dir.path())
        .args(["rules", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fake-accounts"))
        .stdout(predicate::str::contains(
            "examples and counterexamples pass",
        ));

    // A newsroom's own rule whose example does not match.
    let mine = dir.path().join("mine.toml");
    std::fs::write(
        &mine,
        r#"
[[rule]]
id = "troll-farm"
title = "Troll farm"
severity = "high"
why = "A farm of trolls is paid from the budget."
phrases = ["ферма троллей"]
examples = ["создание фермы троллей", "закуп ботинок"]
"#,
    )
    .unwrap();
    tenderscan(dir.path())
        .args(["rules", "check", "mine.toml"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("FAIL troll-farm"))
        .stdout(predicate::str::contains("закуп ботинок"));

    // A structural error: the file, the line, the rule id.
    std::fs::write(
        &mine,
        "[[rule]]\nid = \"broken\"\ntitle = \"x\"\nseverity = \"high\"\nwhy = \"y\"\nregex = [\"(unclosed\"]\n",
    )
    .unwrap();
    tenderscan(dir.path())
        .args(["rules", "check", "mine.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mine.toml"))
        .stderr(predicate::str::contains("broken"))
        .stderr(predicate::str::is_match(r"mine\.toml:\d+").unwrap());
}

#[test]
fn every_command_help_has_a_one_line_description_an_example_and_the_exit_codes() {
    use clap::CommandFactory;
    let dir = tempfile::tempdir().unwrap();
    let root = tenderscan::cli::Cli::command();
    let mut paths: Vec<Vec<String>> = Vec::new();
    for sub in root.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let leaves: Vec<_> = sub
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        paths.push(vec![sub.get_name().to_string()]);
        for leaf in leaves {
            paths.push(vec![
                sub.get_name().to_string(),
                leaf.get_name().to_string(),
            ]);
        }
    }
    assert!(paths.len() >= 18, "{paths:?}");
    for path in &paths {
        let out = crate::util::tenderscan(dir.path())
            .args(path)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "{path:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        let mut lines = help.lines();
        let first = lines.next().unwrap_or_default();
        assert!(!first.trim().is_empty(), "{path:?}: {help}");
        assert_eq!(
            lines.next(),
            Some(""),
            "{path:?}: the description is one line: {help}"
        );
        assert!(
            help.contains("\nExample:\n  tenderscan "),
            "{path:?}: {help}"
        );
        assert!(help.contains("\nExit codes: 0 "), "{path:?}: {help}");
    }
}
