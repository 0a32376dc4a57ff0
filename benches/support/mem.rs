//! Peak memory for the benches (Linux): the process's peak resident set size, reset between
//! phases through /proc/self/clear_refs.

#![allow(dead_code)]

fn status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Reset the peak resident set size, so the next reading covers one phase.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size since the last reset, in MB.
pub fn peak_mb() -> f64 {
    status_mb("VmHWM:")
}

/// Run `f` once and print the process's peak RSS during it, and how much above the
/// resident size before it that is (what `f` itself needed).
pub fn report_peak(label: &str, f: impl FnOnce()) {
    reset_peak();
    let before = status_mb("VmRSS:");
    f();
    let peak = peak_mb();
    eprintln!(
        "{label}: peak RSS {peak:.1} MB ({:+.1} MB over the {before:.1} MB resident before)",
        peak - before
    );
}
