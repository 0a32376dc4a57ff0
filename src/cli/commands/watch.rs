//! `watch add|list|remove`: the watch file beside the database (`config::watch` reads,
//! checks and writes it; this prints).
//!
//! What this module must never do: print a watch's name or value (typed by a person, or
//! read from a file anyone may edit) other than through [`crate::safe_text`].

use crate::cli::exit;
use crate::cli::{OutputFormat, WatchCommand};
use crate::config::{Config, Watch, WatchEntry, watch};
use crate::safe_text::line;
use anyhow::Result;

pub(in crate::cli) fn watch_command(cfg: &Config, command: &WatchCommand) -> Result<i32> {
    match command {
        WatchCommand::Add {
            name,
            agency_bin,
            supplier_bin,
            region,
            code,
            query,
            recipients,
        } => {
            let entry = WatchEntry {
                name: name.clone(),
                agency_bin: agency_bin.clone(),
                supplier_bin: supplier_bin.clone(),
                region: region.clone(),
                code: code.clone(),
                query: query.clone(),
                recipients: (!recipients.is_empty()).then(|| recipients.clone()),
            };
            let w = watch::add(cfg, entry)?;
            println!(
                "watch {} added to {}: {}",
                line(&w.name),
                line(&w.file.display().to_string()),
                describe(cfg, &w)
            );
            Ok(exit::OK)
        }
        WatchCommand::Remove { name } => {
            let w = watch::remove(cfg, name)?;
            println!(
                "watch {} removed from {}",
                line(&w.name),
                line(&w.file.display().to_string())
            );
            Ok(exit::OK)
        }
        WatchCommand::List { format } => {
            let all = watch::load_all(cfg)?;
            match format {
                OutputFormat::Json => {
                    let v: Vec<serde_json::Value> = all
                        .iter()
                        .map(|w| {
                            serde_json::json!({
                                "name": w.name,
                                w.on.key(): w.on.value(),
                                "recipients": w.recipient_keys(cfg),
                                "all_recipients": w.recipients.is_none(),
                                "file": w.file,
                                "line": w.line,
                                "in_watch_file": w.in_watch_file,
                            })
                        })
                        .collect();
                    println!(
                        "{}",
                        crate::cli::output::json_pretty(&serde_json::Value::Array(v))?
                    );
                }
                OutputFormat::Text => {
                    if all.is_empty() {
                        println!(
                            "no watches (config.toml has no [[watch]]; the watch file {} has none)",
                            line(&watch::file_beside(&cfg.database.path).display().to_string())
                        );
                    }
                    for w in &all {
                        println!(
                            "{}\t{}\t{}{}",
                            line(&w.name),
                            describe(cfg, w),
                            line(&w.file.display().to_string()),
                            w.line.map(|l| format!(":{l}")).unwrap_or_default()
                        );
                    }
                }
            }
            Ok(exit::OK)
        }
    }
}

/// "agency_bin = 990240001234 -> desk@x.kz, telegram:@desk" (all recipients when none named).
fn describe(cfg: &Config, w: &Watch) -> String {
    let to = match &w.recipients {
        None => "all recipients".to_string(),
        Some(_) => w.recipient_keys(cfg).join(", "),
    };
    format!("{} = {} -> {}", w.on.key(), line(w.on.value()), line(&to))
}
