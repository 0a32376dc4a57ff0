//! The cycle of `run` on the config's `[schedule] cron`, for hosts without cron: wait for the
//! next time the schedule names (on a [`Clock`], so tests can run it fast), take the run lock
//! (a cron run holding it skips the cycle), run, log, and wait again until asked to stop.
//!
//! This module must never: run two cycles at once, run a cycle while another process holds
//! the lock, sleep more than a second of real time between looks at the stop flag, or end
//! on a failed cycle (a failure is logged; the next cycle comes at its time).

use crate::clock::Clock;
use crate::config::Config;
use crate::pipeline::{self, RunLock, RunOptions, StopFlag};
use crate::rules::RuleSet;
use crate::store::Store;
use std::time::Duration;

/// Why the daemon could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{file}: key `schedule.cron`: {message}")]
    Schedule { file: String, message: String },
}

/// Runs cycles until `stop` is raised. The caller watches the signals that raise it.
pub async fn serve(
    cfg: &Config,
    rules: &RuleSet,
    opts: &RunOptions,
    stop: &StopFlag,
    clock: &dyn Clock,
) -> Result<(), DaemonError> {
    let schedule_err = |message: String| DaemonError::Schedule {
        file: cfg.file.display().to_string(),
        message,
    };
    let cron = cfg.schedule.cron.cron();
    tracing::info!(schedule = %cfg.schedule.cron, "daemon started");
    if let Some(note) = clock.describe() {
        tracing::warn!("{note}");
    }
    loop {
        // From the whole second: croner keeps the fraction of `now` in what it finds.
        let now = clock.now();
        let now = chrono::Timelike::with_nanosecond(&now, 0).unwrap_or(now);
        let next = cron
            .find_next_occurrence(&now, false)
            .map_err(|e| schedule_err(format!("{:?}: {e}", cfg.schedule.cron)))?;
        tracing::info!("next run at {next}");
        loop {
            if stop.is_set() {
                return Ok(());
            }
            let left = (next - clock.now()).to_std().unwrap_or_default();
            if left.is_zero() {
                break;
            }
            // At most a second of real time between looks at the stop flag.
            tokio::time::sleep(clock.real(left).min(Duration::from_secs(1))).await;
        }
        let _lock = match RunLock::acquire(&cfg.database.path) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cycle skipped: {e}");
                continue;
            }
        };
        // digest schedules are checked against the daemon's clock
        let cycle = pipeline::RunOptions {
            now: Some(clock.now().with_timezone(&chrono::Utc)),
            ..opts.clone()
        };
        let outcome = match Store::open(&cfg.database.path) {
            Ok(mut store) => pipeline::run(cfg, &mut store, rules, &cycle, stop, "daemon")
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e.into()),
        };
        match outcome {
            Ok(r) if r.failed() => tracing::warn!(run = r.run_id, "cycle done with errors"),
            Ok(r) => tracing::info!(run = r.run_id, "cycle done"),
            Err(e) => tracing::error!("cycle failed: {e:#}"),
        }
    }
}
