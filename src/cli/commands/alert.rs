//! `alert`: send the pending digests (or print them with `--dry-run`), send one digest
//! again with `--resend ID`, or mark an unconfirmed one delivered with `--confirm ID`.
//!
//! What this module must never do: send or mark anything without the run lock, or count
//! an unconfirmed digest as a failure (it is a warning; see README, Exit codes).

use super::run::{exit_code, with_lock};
use crate::cli::exit;
use crate::cli::output::say;
use crate::config::Config;
use crate::pipeline;
use crate::rules::RuleSet;
use crate::safe_text::{block, line};
use anyhow::Result;
use std::io::Write;

pub(in crate::cli) fn alert(
    cfg: &Config,
    rules: &RuleSet,
    dry_run: bool,
    resend: Option<i64>,
) -> Result<i32> {
    let texts = pipeline::rule_texts(rules);
    // recipients' schedules read the time from the clock (the test clock when
    // TENDERSCAN_TEST_CLOCK is set)
    let clock = crate::clock::from_env().map_err(|m| anyhow::anyhow!("{m}"))?;
    let now = Some(clock.now().with_timezone(&chrono::Utc));
    exit_code(with_lock(cfg, |store, _stop, rt| {
        let report = match resend {
            Some(id) => rt.block_on(crate::alert::resend(store, cfg, &texts, id))?,
            None => rt.block_on(crate::alert::send_pending(
                store,
                cfg,
                &texts,
                &crate::alert::SendOptions { dry_run, now },
            ))?,
        };
        let mut out = std::io::stdout().lock();
        for p in &report.previews {
            writeln!(out, "{}\n", block(p))?;
        }
        if !dry_run {
            say(format_args!(
                "{} digests sent ({} alerts)",
                report.digests_sent, report.alerts_sent
            ));
        }
        for f in &report.failed {
            eprintln!("tenderscan: mail failed: {}", line(f));
        }
        // `unconfirmed` digests waiting for their resend were logged as warnings: a
        // warning, not a failure (see README, Exit codes).
        Ok(if report.failed.is_empty() {
            exit::OK
        } else {
            exit::PARTIAL
        })
    }))
}

/// `alert --confirm ID`: a person checked that unconfirmed digest ID arrived.
pub(in crate::cli) fn confirm_digest(cfg: &Config, id: i64) -> Result<i32> {
    exit_code(with_lock(cfg, |store, _stop, _rt| {
        let n = crate::alert::confirm(store, id)?;
        say(format_args!(
            "digest {id} marked delivered ({n} alerts); it will not be resent"
        ));
        Ok(exit::OK)
    }))
}
