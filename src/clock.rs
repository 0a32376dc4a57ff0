//! The time `tenderscan daemon` schedules by: the system clock, or, for tests only, a clock
//! that starts at a given instant and may run faster (`TENDERSCAN_TEST_CLOCK`, see README,
//! Development), so a test sees the real daemon loop reach its next cron time in seconds
//! instead of waiting for a wall-clock minute.
//!
//! This module must never change the time anything but the schedules see (the daemon's, and
//! the recipients' digest `schedule`s that `run`, `alert` and the daemon check): runs,
//! stored times, mail dates and the lock keep the system clock. It is never set from the
//! config file, and a bad `TENDERSCAN_TEST_CLOCK` is an error, never silently the real time.

use chrono::{DateTime, Local};
use std::time::{Duration, Instant};

/// The environment variable that selects a [`TestClock`] for `tenderscan daemon`.
pub const TEST_CLOCK_ENV: &str = "TENDERSCAN_TEST_CLOCK";

/// Where the daemon reads the time.
pub trait Clock: Send + Sync {
    /// The time now, on this clock.
    fn now(&self) -> DateTime<Local>;
    /// How long to sleep in real time for `d` to pass on this clock.
    fn real(&self, d: Duration) -> Duration;
    /// What the daemon logs when it starts (`None` for the system clock).
    fn describe(&self) -> Option<String> {
        None
    }
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Local> {
        Local::now()
    }
    fn real(&self, d: Duration) -> Duration {
        d
    }
}

/// A clock that reads `origin` when it is made and then runs `speed` times as fast as the
/// real one (monotonic: the system clock being set does not move it).
pub struct TestClock {
    origin: DateTime<Local>,
    started: Instant,
    speed: f64,
}

impl TestClock {
    /// The fastest a test clock may run (a day in under 0.1 s).
    pub const MAX_SPEED: f64 = 1_000_000.0;

    pub fn new(origin: DateTime<Local>, speed: f64) -> Result<TestClock, String> {
        if !(speed.is_finite() && (1.0..=Self::MAX_SPEED).contains(&speed)) {
            return Err(format!(
                "speed {speed} is not between 1 and {}",
                Self::MAX_SPEED
            ));
        }
        Ok(TestClock {
            origin,
            started: Instant::now(),
            speed,
        })
    }

    /// `START` or `START,SPEED`: an RFC 3339 instant (`2026-03-01T09:59:58+06:00`) and how
    /// many times faster than real time the clock runs (default 1).
    pub fn parse(spec: &str) -> Result<TestClock, String> {
        let (start, speed) = match spec.split_once(',') {
            Some((s, v)) => (
                s.trim(),
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("{:?} is not a speed (a number)", v.trim()))?,
            ),
            None => (spec.trim(), 1.0),
        };
        let origin = DateTime::parse_from_rfc3339(start)
            .map_err(|e| {
                format!("{start:?} is not an RFC 3339 time like 2026-03-01T09:59:58+06:00: {e}")
            })?
            .with_timezone(&Local);
        TestClock::new(origin, speed)
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Local> {
        let passed = self.started.elapsed().mul_f64(self.speed);
        chrono::Duration::from_std(passed)
            .ok()
            .and_then(|d| self.origin.checked_add_signed(d))
            .unwrap_or(self.origin)
    }
    fn real(&self, d: Duration) -> Duration {
        d.div_f64(self.speed)
    }
    fn describe(&self) -> Option<String> {
        Some(format!(
            "{TEST_CLOCK_ENV} is set: the schedule runs on a test clock that started at {} and runs {}x",
            self.origin, self.speed
        ))
    }
}

/// The clock the daemon uses: a [`TestClock`] when `TENDERSCAN_TEST_CLOCK` is set (an
/// error naming the variable when it is malformed), else the system clock.
pub fn from_env() -> Result<Box<dyn Clock>, String> {
    match std::env::var_os(TEST_CLOCK_ENV) {
        None => Ok(Box::new(SystemClock)),
        Some(v) => {
            let v = v
                .into_string()
                .map_err(|_| format!("{TEST_CLOCK_ENV}: not UTF-8"))?;
            TestClock::parse(&v)
                .map(|c| Box::new(c) as Box<dyn Clock>)
                .map_err(|e| format!("{TEST_CLOCK_ENV}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_starts_where_it_is_told_and_runs_at_its_speed() {
        let c = TestClock::parse("2026-03-01T09:59:58+00:00,600").unwrap();
        let origin = DateTime::parse_from_rfc3339("2026-03-01T09:59:58Z").unwrap();
        let first = c.now();
        assert!(first >= origin);
        std::thread::sleep(Duration::from_millis(20));
        // At least 20 ms real passed: at least 12 s on the clock (a lower bound only).
        assert!(c.now() - first >= chrono::Duration::seconds(12));
        assert_eq!(c.real(Duration::from_secs(60)), Duration::from_millis(100));
        assert!(c.describe().unwrap().contains("600x"));
        let plain = TestClock::parse(" 2026-03-01T10:00:00+06:00 ").unwrap();
        assert_eq!(plain.real(Duration::from_secs(3)), Duration::from_secs(3));
        assert_eq!(
            SystemClock.real(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert!(SystemClock.describe().is_none());
    }

    #[test]
    fn a_malformed_test_clock_is_an_error() {
        for (bad, why) in [
            ("tomorrow", "RFC 3339"),
            ("2026-03-01 10:00", "RFC 3339"),
            ("2026-03-01T10:00:00Z,fast", "not a speed"),
            ("2026-03-01T10:00:00Z,0", "between 1 and"),
            ("2026-03-01T10:00:00Z,NaN", "between 1 and"),
            ("2026-03-01T10:00:00Z,1e9", "between 1 and"),
        ] {
            let e = TestClock::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
