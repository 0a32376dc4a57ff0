//! One run of an external tool (`pdftoppm`, `tesseract`): the input on its standard input, its
//! standard output read up to a cap (the rest drained and dropped, so it never blocks), its
//! standard error kept up to 8 KiB (drained likewise), and the process killed at the deadline.
//!
//! This module must never: pass anything from the input as an argument or a path (callers
//! give fixed arguments; the bytes go to stdin), keep more than `cap` bytes of output, or let
//! the tool outlive the deadline (it is killed and waited for before the call returns).

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a tool that ended on its own gave.
#[derive(Debug)]
pub(crate) struct Output {
    pub stdout: Vec<u8>,
    /// Its output went past the cap (what is in `stdout` is the first `cap` bytes).
    pub over: bool,
    pub status: ExitStatus,
    /// The start of its standard error.
    pub stderr: String,
}

impl Output {
    /// The first line of standard error that says something, cleaned for a note.
    pub fn complaint(&self) -> String {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().filter(|c| !c.is_control()).take(200).collect())
            .unwrap_or_default()
    }

    /// "exit 1: its complaint", for notes.
    pub fn failure(&self) -> String {
        let code = self
            .status
            .code()
            .map(|c| format!("exit {c}"))
            .unwrap_or_else(|| "killed by a signal".into());
        match self.complaint() {
            c if c.is_empty() => code,
            c => format!("{code}: {c}"),
        }
    }
}

#[derive(Debug)]
pub(crate) enum RunError {
    /// The tool could not be started.
    Start(std::io::Error),
    /// Killed at the deadline.
    TimedOut,
    /// Waiting for it failed (it was killed).
    Wait(std::io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Start(e) => write!(f, "cannot start it: {e}"),
            RunError::TimedOut => f.write_str("stopped at the deadline"),
            RunError::Wait(e) => write!(f, "lost it: {e}"),
        }
    }
}

const STDERR_KEEP: usize = 8 << 10;

/// Runs `cmd` with `input` on its standard input until it ends or `deadline` passes.
pub(crate) fn run(
    cmd: &mut Command,
    input: &[u8],
    deadline: Instant,
    cap: usize,
) -> Result<Output, RunError> {
    if Instant::now() >= deadline {
        return Err(RunError::TimedOut);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RunError::Start)?;
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(w) = stdin.as_mut() {
                // A tool that stops reading early (or is killed) ends this with EPIPE.
                let _ = w.write_all(input);
            }
            drop(stdin);
        });
        let out = s.spawn(move || drain(stdout.as_mut(), cap));
        let err = s.spawn(move || drain(stderr.as_mut(), STDERR_KEEP));
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Ok(st),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(RunError::TimedOut);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(RunError::Wait(e));
                }
            }
        };
        // The pipes close with the process: both readers end.
        let (stdout, over) = out.join().unwrap_or_default();
        let (stderr, _) = err.join().unwrap_or_default();
        status.map(|status| Output {
            stdout,
            over,
            status,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    })
}

/// Reads `r` to its end, keeping the first `cap` bytes; says whether there was more.
fn drain(r: Option<&mut impl Read>, cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut over = false;
    let Some(r) = r else {
        return (out, over);
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = cap.saturating_sub(out.len());
                if n > room {
                    over = true;
                }
                out.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    (out, over)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(30)
    }

    #[test]
    fn output_is_capped_and_the_rest_drained() {
        // `head -c` of 1 MiB of input: the tool writes it all; we keep 1000 bytes.
        let input = vec![b'x'; 1 << 20];
        let out = run(Command::new("cat").arg("-"), &input, far(), 1000).unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 1000);
        assert!(out.over);
        let out = run(&mut Command::new("cat"), b"abc", far(), 1000).unwrap();
        assert_eq!((out.stdout.as_slice(), out.over), (&b"abc"[..], false));
    }

    #[test]
    fn a_tool_past_its_deadline_is_killed() {
        let r = run(
            Command::new("sleep").arg("30"),
            b"",
            Instant::now() + Duration::from_millis(200),
            10,
        );
        assert!(matches!(r, Err(RunError::TimedOut)), "{r:?}");
        let r = run(&mut Command::new("cat"), b"", Instant::now(), 10);
        assert!(matches!(r, Err(RunError::TimedOut)));
    }

    #[test]
    fn failures_name_the_exit_and_the_complaint() {
        let out = run(
            Command::new("sh").args(["-c", "echo '\x1b[2J  bad input' >&2; exit 3"]),
            b"",
            far(),
            10,
        )
        .unwrap();
        assert_eq!(out.failure(), "exit 3: [2J  bad input");
        let r = run(&mut Command::new("/nonexistent/tool"), b"", far(), 10);
        assert!(matches!(r, Err(RunError::Start(_))));
    }
}
