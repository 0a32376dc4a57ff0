//! `review`: a reviewer's verdict on a flag (`store::verdicts` records it), and the list of
//! the current verdicts (`review --list`).
//!
//! What this module must never do: print a note, a reviewer's name, a title or evidence
//! (typed by people or read from portals) other than through [`crate::safe_text`].

use crate::cli::exit;
use crate::cli::output::json_pretty;
use crate::cli::{OutputFormat, VerdictArg};
use crate::config::Config;
use crate::safe_text::{cell, line};
use crate::store::{FlagReview, Store, VerdictInput};
use anyhow::{Result, bail};

/// What `review NOTICE --rule ID VERDICT` records.
pub(in crate::cli) struct NewVerdict<'a> {
    pub notice: &'a str,
    pub rule: &'a str,
    pub verdict: VerdictArg,
    pub note: Option<&'a str>,
    pub lot: Option<&'a str>,
    pub by: Option<&'a str>,
}

pub(in crate::cli) fn review(
    cfg: &Config,
    v: &NewVerdict<'_>,
    format: OutputFormat,
) -> Result<i32> {
    let reviewer = match v.by.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.to_string(),
        None => match std::env::var("USER").ok().filter(|u| !u.trim().is_empty()) {
            Some(u) => u.trim().to_string(),
            None => bail!("review: who gives the verdict? $USER is not set: add --by NAME"),
        },
    };
    let mut store = Store::open(&cfg.database.path)?;
    let Some(id) = store.find_notice(v.notice)? else {
        bail!(
            "review: no notice {:?} (give its number, external id, id or URL)",
            v.notice
        );
    };
    let note = v.note.map(str::trim).filter(|n| !n.is_empty());
    let row = store.record_verdict(&VerdictInput {
        notice_id: id,
        lot: v.lot,
        rule: v.rule,
        verdict: v.verdict.into(),
        note,
        reviewer: &reviewer,
    })?;
    match format {
        OutputFormat::Json => println!("{}", json_pretty(&row)?),
        OutputFormat::Text => println!(
            "{} {}: {} by {} ({} verdict{} so far)",
            flag_name(&row),
            line(&row.rule_id),
            row.verdict.map(|v| v.as_str()).unwrap_or("?"),
            line(&reviewer),
            row.reviews,
            if row.reviews == 1 { "" } else { "s" }
        ),
    }
    Ok(exit::OK)
}

pub(in crate::cli) fn review_list(
    cfg: &Config,
    verdict: Option<VerdictArg>,
    format: OutputFormat,
) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let rows = store.flag_reviews(verdict.map(Into::into))?;
    match format {
        OutputFormat::Json => println!("{}", json_pretty(&rows)?),
        OutputFormat::Text => {
            if rows.is_empty() {
                println!("no verdicts");
            }
            for r in &rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}{}\t{}",
                    line(r.reviewed_at.as_deref().unwrap_or("")),
                    flag_name(r),
                    line(&r.rule_id),
                    r.verdict.map(|v| v.as_str()).unwrap_or(""),
                    line(r.reviewed_by.as_deref().unwrap_or("")),
                    cell(r.note.as_deref().unwrap_or("")),
                    if r.live { "" } else { " (words gone)" },
                    cell(&r.title),
                );
            }
        }
    }
    Ok(exit::OK)
}

/// "notice 700-1" or "notice 700-1 lot 700-ЗЦП1", made safe for a terminal.
fn flag_name(r: &FlagReview) -> String {
    let notice = r
        .notice_number
        .clone()
        .unwrap_or_else(|| r.notice_id.to_string());
    match (&r.lot_number, r.lot_id) {
        (Some(n), _) => format!("notice {} lot {}", line(&notice), line(n)),
        (None, Some(id)) => format!("notice {} lot {id}", line(&notice)),
        _ => format!("notice {}", line(&notice)),
    }
}
