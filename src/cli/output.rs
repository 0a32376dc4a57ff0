//! Logging set-up and terminal output: the log subscriber (text lines for people, JSON for
//! log collectors), the progress bar, and the helpers every command prints through.
//!
//! What this module must never do: let untrusted text reach the terminal raw. Text logs go
//! through `SafeFields` (each field a [`crate::safe_text::line()`]); JSON output and JSON
//! logs keep the exact text, with the control characters serde_json leaves raw written as
//! `\uNNNN` ([`crate::safe_text::json`]).

use super::args::{Cli, Command, LogFormat, ReportFormat};
use super::exit;
use crate::safe_text::{self, line};
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

pub(super) fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::{Targets, filter_fn};
    use tracing_subscriber::prelude::*;
    let default = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 if std::io::stderr().is_terminal() => "info",
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("TENDERSCAN_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default},html5ever=error,selectors=error,hyper=warn,reqwest=warn,rustls=warn"
        ))
    });
    let not_progress = filter_fn(|m| m.target() != crate::pipeline::PROGRESS_TARGET);
    // A progress bar only for a person watching: stderr is a terminal and logs are text.
    let bar = (std::io::stderr().is_terminal()
        && !cli.quiet
        && matches!(cli.log_format, LogFormat::Text)
        && matches!(
            cli.command,
            Command::Run { .. } | Command::Crawl { .. } | Command::Scan { .. }
        ))
    .then(progress_bar)
    .or_else(|| {
        (std::io::stderr().is_terminal()
            && !cli.quiet
            && matches!(cli.log_format, LogFormat::Text)
            && matches!(cli.command, Command::Backfill { .. }))
        .then(backfill_bar)
    });
    if let Some(b) = &bar {
        let _ = BAR.set(b.clone());
    }
    let json = matches!(cli.log_format, LogFormat::Json);
    let writer = BarWriter {
        bar: bar.clone(),
        json,
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = match cli.log_format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .fmt_fields(SafeFields)
            .boxed(),
    };
    let progress = bar.map(|b| {
        ProgressLayer(b).with_filter(
            Targets::new().with_target(crate::pipeline::PROGRESS_TARGET, tracing::Level::INFO),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter).with_filter(not_progress))
        .with(progress)
        .try_init();
}

/// The progress bar, when one is shown; cleared before the process exits.
pub(super) static BAR: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The backfill's bar: documents done of done + left, the ETA at the source's pace.
fn backfill_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} [{bar:30}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One line of a backfill's progress: its source and stage, what is done, what is left and
/// the time that takes at the source's pace.
pub(super) fn backfill_progress(p: &crate::pipeline::backfill::Progress) -> String {
    let source = line(&p.source);
    match p.left {
        None => format!("{source}: {}: {} pages", p.stage, p.done),
        Some(left) => {
            let eta = p.eta.map_or_else(
                || "?".to_string(),
                |d| {
                    let s = d.as_secs();
                    format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
                },
            );
            format!(
                "{source}: {}: {} done, {left} left ({} of candidates), ETA {eta}",
                p.stage,
                p.done,
                p.candidates_left.unwrap_or(0)
            )
        }
    }
}

/// Log lines go to stderr; with a progress bar showing, around it. JSON log lines have the
/// control characters serde_json leaves raw (DEL, C1, bidi) written as `\uNNNN`
/// ([`safe_text::json`]): the same text for a log collector, no control for a terminal.
#[derive(Clone)]
struct BarWriter {
    bar: Option<indicatif::ProgressBar>,
    json: bool,
}

impl Write for BarWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole log line per call; JSON is always UTF-8.
        let safe = self
            .json
            .then(|| std::str::from_utf8(buf).ok().map(safe_text::json))
            .flatten();
        let bytes = safe.as_deref().map_or(buf, str::as_bytes);
        let write_all = || std::io::stderr().write_all(bytes).map(|()| buf.len());
        match &self.bar {
            Some(bar) => bar.suspend(write_all),
            None => write_all(),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BarWriter {
    type Writer = BarWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The fields of a text log line (the message and `key=value` pairs), each made safe as a
/// [`safe_text::line()`]: a CR or LF in a portal's message is shown as `\r`/`\n`, so it
/// cannot start a forged log line, and no ESC, BEL, NUL, C1 or bidi character reaches the
/// terminal. String values are quoted as before (`table="flags"`), `%` values written as
/// they display.
struct SafeFields;

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for SafeFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut v = SafeVisitor(String::new());
        fields.record(&mut v);
        writer.write_str(&v.0)
    }
}

struct SafeVisitor(String);

impl SafeVisitor {
    fn push(&mut self, field: &tracing::field::Field, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let name = field.name();
        if name != "message" {
            self.0
                .push_str(line(name.strip_prefix("r#").unwrap_or(name)).as_ref());
            self.0.push('=');
        }
        self.0.push_str(&line(value));
    }
}

impl tracing::field::Visit for SafeVisitor {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.push(field, value);
        } else {
            self.push(field, &format!("{value:?}"));
        }
    }
    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.push(field, &text);
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name().starts_with("log.") {
            return;
        }
        self.push(field, &format!("{value:?}"));
    }
}

/// Turns the pipeline's progress events into the bar's message.
struct ProgressLayer(indicatif::ProgressBar);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ProgressLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Fields(Vec<(String, String)>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push((f.name().to_string(), format!("{v:?}")));
            }
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                self.0.push((f.name().to_string(), v.to_string()));
            }
        }
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        let get = |k: &str| {
            f.0.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("0")
        };
        self.0.set_message(format!(
            "{}: {} notices, {} documents, {} matches",
            line(get("what")),
            get("notices"),
            get("documents"),
            get("matches")
        ));
    }
}

/// A line for a person at a terminal; nothing under cron.
pub(super) fn say(args: std::fmt::Arguments<'_>) {
    if let Some(b) = BAR.get() {
        b.finish_and_clear();
    }
    if std::io::stdout().is_terminal() {
        println!("{args}");
    } else {
        tracing::info!("{args}");
    }
}

/// The terminal's width: $COLUMNS, else what the terminal says, else 120.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            console::Term::stdout()
                .size_checked()
                .map(|(_, w)| w as usize)
        })
        .filter(|w: &usize| *w >= 20)
        .unwrap_or(120)
}

/// A value as pretty JSON with nothing raw a terminal would act on ([`safe_text::json`]).
pub(super) fn json_pretty<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(safe_text::json(&serde_json::to_string_pretty(v)?).into_owned())
}

/// A value as one line of JSON, made safe the same way.
pub(super) fn json_line<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(safe_text::json(&serde_json::to_string(v)?).into_owned())
}

pub(super) fn print_table(
    t: &crate::report::Table,
    format: ReportFormat,
    excel: bool,
) -> Result<i32> {
    use crate::report;
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Table => write!(out, "{}", report::to_text(t, terminal_width()))?,
        ReportFormat::Csv => write!(out, "{}", report::to_csv(t, excel))?,
        ReportFormat::Json => writeln!(out, "{}", json_pretty(&report::to_json(t))?)?,
        ReportFormat::Md => write!(out, "{}", report::to_markdown(t))?,
    }
    Ok(exit::OK)
}

/// A path as one safe line.
pub(super) fn shown(p: &Path) -> String {
    line(&p.display().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A log sink in memory.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the API answered: {0}")]
    struct PortalError(String);

    #[test]
    fn text_log_fields_cannot_end_the_line_or_reach_the_terminal_raw() {
        use tracing_subscriber::prelude::*;
        let sink = Sink::default();
        let writer = sink.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .fmt_fields(SafeFields);
        let subscriber = tracing_subscriber::registry().with(layer);
        let hostile = "x\r\n2026-01-01 ERROR forged\x1b[2J\x07\0\u{202e}\u{9b}";
        let e = PortalError(hostile.into());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("crawl", source = %hostile);
            let _g = span.enter();
            tracing::error!(
                url = %hostile,
                name = hostile,
                error = &e as &(dyn std::error::Error + 'static),
                "message {hostile}"
            );
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.chars()
                .all(|c| c == '\n' || !crate::safe_text::is_unsafe(c)),
            "{out:?}"
        );
        let shown = "x\\r\\n2026-01-01 ERROR forged\\x1b[2J\\x07\\x00\\u202e\\u009b";
        for part in [
            format!("crawl{{source={shown}}}"),
            format!("message {shown}"),
            format!("url={shown}"),
            format!("error=the API answered: {shown}"),
        ] {
            assert!(out.contains(&part), "{part:?} not in {out:?}");
        }
        // A string field is quoted as before; its Debug escapes stay readable.
        assert!(
            out.contains("name=\"x\\r\\n2026-01-01 ERROR forged"),
            "{out}"
        );
    }
}
