//! Readers in child processes: [`Readers`] runs [`extract`](super::extract) in a small pool of
//! worker processes of tenderscan itself (the hidden `__reader` command, see [`worker_main`]),
//! each with an address-space limit and a CPU budget set on itself before it reads anything,
//! and a wall-clock budget enforced from here.
//!
//! The wall-clock and CPU budgets are the document's (`Limits::time_budget`) plus, for kinds
//! that can hold scans, OCR's (`OcrLimits::time_budget`); the OCR tools the worker starts
//! inherit its address-space limit and are in its process group, so the kill reaches them.
//!
//! A reader that allocates without bound, loops, overflows its stack or crashes ends its own
//! process only: the document fails with an error naming what happened ("the PDF reader ran
//! out of its 1 GiB memory limit"), and the run goes on. `catch_unwind` cannot stop an
//! allocation failure; a process limit can.
//!
//! This module must never: let a worker outlive its call's budget (it is killed, with its
//! process group, at the deadline or when the stop flag is raised), read more of a worker's
//! answer than the text limit allows, reuse a worker that ran past its deadline or died, or
//! hand a worker anything but the bytes to read (no paths, no database, no network).
//!
//! The wire between the two is private to one build of the binary: a request is a
//! little-endian `u32` length and a JSON header ([`Request`]), then a `u64` length and the
//! input's bytes; an answer is a `u64` length and a JSON [`Answer`].

use super::{ExtractError, Extracted, Kind, Limits};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The argument that turns the binary into a reader worker.
pub const WORKER_ARG: &str = "__reader";

/// Extra wall-clock time a worker gets past the call's time budget to answer (it stops its own
/// readers at the budget; this covers process start and the answer's transfer).
const GRACE: Duration = Duration::from_secs(5);

/// How often a waiting call looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Limits of one worker process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessLimits {
    /// Address space of the worker (RLIMIT_AS), in bytes; what it and each tool it starts
    /// (pdftotext, pdftoppm, tesseract: the limit is inherited) may map.
    pub memory_bytes: u64,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            memory_bytes: 1 << 30,
        }
    }
}

/// Where documents are read: in worker processes (the default of the binary) or in this
/// process (for embedding and for `[crawl] reader_processes = 0`).
#[derive(Clone, Default)]
pub struct Readers {
    pool: Option<Arc<Pool>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pool {
            None => f.write_str("Readers(in process)"),
            Some(p) => write!(f, "Readers({} worker(s) of {})", p.max, p.exe.display()),
        }
    }
}

impl Readers {
    /// Reads in this process: no isolation (a reader's allocation failure aborts the process).
    pub fn in_process() -> Readers {
        Readers { pool: None }
    }

    /// Reads in at most `processes` workers started from `exe` (this binary).
    pub fn isolated(exe: PathBuf, processes: usize, limits: ProcessLimits) -> Readers {
        Readers {
            pool: Some(Arc::new(Pool {
                exe,
                max: processes.max(1),
                limits,
                state: Mutex::new(PoolState::default()),
                free: Condvar::new(),
            })),
        }
    }

    /// Whether reading happens in worker processes.
    pub fn is_isolated(&self) -> bool {
        self.pool.is_some()
    }

    /// Reads `bytes` like [`extract`](super::extract), in a worker when isolated. `stop` is
    /// asked while waiting: when it answers true the worker is killed and the call returns
    /// [`ExtractError::Interrupted`].
    pub fn read(
        &self,
        bytes: &[u8],
        name: Option<&str>,
        media_type: Option<&str>,
        limits: &Limits,
        stop: &dyn Fn() -> bool,
    ) -> Result<Extracted, ExtractError> {
        match &self.pool {
            None => super::extract(bytes, name, media_type, limits),
            Some(pool) => pool.read(bytes, name, media_type, limits, stop),
        }
    }
}

struct Pool {
    exe: PathBuf,
    max: usize,
    limits: ProcessLimits,
    state: Mutex<PoolState>,
    free: Condvar,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Worker>,
    live: usize,
}

impl Pool {
    fn read(
        &self,
        bytes: &[u8],
        name: Option<&str>,
        media_type: Option<&str>,
        limits: &Limits,
        stop: &dyn Fn() -> bool,
    ) -> Result<Extracted, ExtractError> {
        if bytes.len() > limits.max_input_bytes {
            return Err(ExtractError::TooLarge {
                size: bytes.len() as u64,
                limit: limits.max_input_bytes as u64,
            });
        }
        let job = Job {
            bytes,
            name,
            media_type,
            limits,
            kind: super::sniff(bytes, name),
        };
        let mut worker = self.acquire(stop)?;
        let outcome = worker.call(&job, self.limits, stop);
        let reuse = matches!(outcome, Ok((_, false)));
        self.release(worker, reuse);
        outcome.map(|(r, _)| r)?
    }

    /// An idle worker, a new one while fewer than `max` live, else waits for one.
    fn acquire(&self, stop: &dyn Fn() -> bool) -> Result<Worker, ExtractError> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if stop() {
                return Err(ExtractError::Interrupted);
            }
            while let Some(mut w) = st.idle.pop() {
                if w.alive() {
                    return Ok(w);
                }
                st.live -= 1;
            }
            if st.live < self.max {
                st.live += 1;
                drop(st);
                return Worker::start(&self.exe, self.limits).map_err(|e| {
                    let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                    st.live -= 1;
                    self.free.notify_one();
                    ExtractError::Reader(format!(
                        "could not start a reader process ({}): {e}",
                        self.exe.display()
                    ))
                });
            }
            st = self
                .free
                .wait_timeout(st, POLL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn release(&self, worker: Worker, reuse: bool) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if reuse {
            st.idle.push(worker);
        } else {
            drop(worker);
            st.live -= 1;
        }
        self.free.notify_one();
    }
}

/// One document to read, and what it is by content (for messages).
#[derive(Clone, Copy)]
struct Job<'a> {
    bytes: &'a [u8],
    name: Option<&'a str>,
    media_type: Option<&'a str>,
    limits: &'a Limits,
    kind: Kind,
}

/// A worker process and the thread that reads its answers.
struct Worker {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    answers: mpsc::Receiver<io::Result<Vec<u8>>>,
    /// Largest answer the reader thread accepts for the call in progress.
    cap: Arc<AtomicU64>,
    /// The last bytes the worker wrote to its standard error.
    stderr_tail: Arc<Mutex<Vec<u8>>>,
}

const STDERR_TAIL: usize = 4096;

impl Worker {
    fn start(exe: &std::path::Path, limits: ProcessLimits) -> io::Result<Worker> {
        let mut cmd = Command::new(exe);
        cmd.arg(WORKER_ARG)
            .arg(limits.memory_bytes.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("TENDERSCAN_LOG")
            // its last words are the panic or allocation message: a backtrace (RUST_BACKTRACE
            // set in the admin's shell) would push them out of the kept tail
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0");
        // Its own process group: a terminal's Ctrl-C goes to tenderscan, which stops the
        // worker itself, and a kill reaches the tools the worker started (pdftotext).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().map(BufWriter::new);
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("no stderr"))?;
        let cap = Arc::new(AtomicU64::new(0));
        let (tx, answers) = mpsc::channel();
        let thread_cap = cap.clone();
        std::thread::Builder::new()
            .name("reader-answers".into())
            .spawn(move || {
                loop {
                    let r = read_answer(&mut stdout, &thread_cap);
                    let end = r.is_err();
                    if tx.send(r).is_err() || end {
                        break;
                    }
                }
            })?;
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let tail = stderr_tail.clone();
        std::thread::Builder::new()
            .name("reader-stderr".into())
            .spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.extend_from_slice(&buf[..n]);
                    if t.len() > STDERR_TAIL {
                        let cut = t.len() - STDERR_TAIL;
                        t.drain(..cut);
                    }
                }
            })?;
        Ok(Worker {
            child,
            stdin,
            answers,
            cap,
            stderr_tail,
        })
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// One request. `Ok((result, retire))`: the worker answered (`retire` when it should not
    /// be used again); `Err`: the worker failed and is gone.
    fn call(
        &mut self,
        job: &Job<'_>,
        plimits: ProcessLimits,
        stop: &dyn Fn() -> bool,
    ) -> Result<(Result<Extracted, ExtractError>, bool), ExtractError> {
        let Job {
            bytes,
            name,
            media_type,
            limits,
            kind,
        } = *job;
        // The document's budget, and OCR's where it may hold scans: OCR time moves the
        // document's deadline in the worker.
        let budget = limits.budget_for(kind);
        let deadline = Instant::now()
            .checked_add(budget.saturating_add(GRACE))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        // JSON doubles a quote or backslash at worst; notes and parts are small.
        let cap = (limits.max_text_bytes as u64)
            .saturating_mul(2)
            .saturating_add(4 << 20);
        self.cap.store(cap, Ordering::SeqCst);
        let req = Request {
            name: name.map(str::to_string),
            media_type: media_type.map(str::to_string),
            limits: limits.clone(),
            cpu_secs: budget.as_secs().saturating_add(GRACE.as_secs()),
        };
        let sent = self.send(&req, bytes);
        if let Err(e) = sent {
            // A worker that died before taking the request: what did it say?
            return Err(self.failure(kind, plimits, budget, Some(e)));
        }
        loop {
            match self.answers.recv_timeout(POLL) {
                Ok(Ok(raw)) => {
                    return match serde_json::from_slice::<Answer>(&raw) {
                        Ok(a) => Ok((a.result, a.retire)),
                        Err(e) => {
                            self.kill();
                            Err(ExtractError::Reader(format!(
                                "the {} reader gave an unreadable answer: {e}",
                                reader_name(kind)
                            )))
                        }
                    };
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
                    self.kill();
                    return Err(ExtractError::LimitExceeded(format!(
                        "the {} reader's answer is over {} ({e})",
                        reader_name(kind),
                        super::human(cap)
                    )));
                }
                Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.failure(kind, plimits, budget, None));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if stop() {
                        self.kill();
                        return Err(ExtractError::Interrupted);
                    }
                    if Instant::now() >= deadline {
                        self.kill();
                        return Err(ExtractError::Reader(format!(
                            "the {} reader ran past its time budget of {} s and was stopped",
                            reader_name(kind),
                            budget.as_secs()
                        )));
                    }
                }
            }
        }
    }

    fn send(&mut self, req: &Request, bytes: &[u8]) -> io::Result<()> {
        let w = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("worker input closed"))?;
        let header = serde_json::to_vec(req).map_err(io::Error::other)?;
        w.write_all(&(header.len() as u32).to_le_bytes())?;
        w.write_all(&header)?;
        w.write_all(&(bytes.len() as u64).to_le_bytes())?;
        w.write_all(bytes)?;
        w.flush()
    }

    /// Waits for the dead (or dying) worker and says why it ended.
    fn failure(
        &mut self,
        kind: Kind,
        plimits: ProcessLimits,
        budget: Duration,
        send_error: Option<io::Error>,
    ) -> ExtractError {
        // The answer pipe closed: the process is ending; give it a moment, then make sure.
        let until = Instant::now() + Duration::from_secs(2);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    self.kill();
                    break self.child.try_wait().ok().flatten();
                }
            }
        };
        // The stderr thread may still be draining the last words.
        std::thread::sleep(Duration::from_millis(20));
        let tail = {
            let t = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
            String::from_utf8_lossy(&t).into_owned()
        };
        ExtractError::Reader(explain(kind, plimits, budget, status, &tail, send_error))
    }

    fn kill(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: killpg with the group this worker leads (process_group(0) at spawn); a
        // group that no longer exists is an ESRCH error and nothing else.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin = None;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.alive() {
            // Closing its input ends an idle worker; the kill is for a busy one.
            self.stdin = None;
            self.kill();
        } else {
            let _ = self.child.wait();
        }
    }
}

/// "PDF", "HTML", ... for messages.
fn reader_name(kind: Kind) -> String {
    match kind {
        Kind::Unknown | Kind::Text => "document".into(),
        k => k.as_str().to_ascii_uppercase(),
    }
}

fn human_limit(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        super::human(n)
    }
}

/// Why a worker ended, in words for the document's error.
fn explain(
    kind: Kind,
    plimits: ProcessLimits,
    budget: Duration,
    status: Option<std::process::ExitStatus>,
    stderr: &str,
    send_error: Option<io::Error>,
) -> String {
    use std::os::unix::process::ExitStatusExt;
    let reader = reader_name(kind);
    let memory = stderr.contains("memory allocation of") || stderr.contains("bad_alloc");
    if memory {
        return format!(
            "the {reader} reader ran out of its {} memory limit",
            human_limit(plimits.memory_bytes)
        );
    }
    if stderr.contains("has overflowed its stack") {
        return format!("the {reader} reader overflowed its stack");
    }
    // the last words: a panic's message (the line after "panicked at"), else the last line
    // that is not the backtrace hint Rust prints after a panic
    let lines: Vec<&str> = stderr.lines().collect();
    let panic_message = lines
        .iter()
        .rposition(|l| l.contains("panicked at"))
        .and_then(|i| lines.get(i + 1))
        .copied()
        .filter(|l| !l.trim().is_empty());
    let memory_panic = panic_message.is_some_and(|m| {
        m.contains("capacity overflow") || m.contains("out of memory") || m.contains("allocat")
    });
    if memory_panic {
        return format!(
            "the {reader} reader ran out of its {} memory limit",
            human_limit(plimits.memory_bytes)
        );
    }
    let last_words = panic_message
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.starts_with("note: "))
                .copied()
        })
        .map(|l| {
            let l: String = l.chars().filter(|c| !c.is_control()).take(200).collect();
            format!(": {l}")
        })
        .unwrap_or_default();
    match status.and_then(|s| s.signal()) {
        Some(libc::SIGXCPU) => format!(
            "the {reader} reader used up its CPU budget of {} s",
            budget.as_secs().saturating_add(GRACE.as_secs())
        ),
        Some(libc::SIGKILL) => format!("the {reader} reader was killed (signal 9){last_words}"),
        Some(libc::SIGSEGV) | Some(libc::SIGBUS) => {
            format!(
                "the {reader} reader crashed (signal {}){last_words}",
                status.and_then(|s| s.signal()).unwrap_or(0)
            )
        }
        Some(sig) => format!("the {reader} reader died (signal {sig}){last_words}"),
        None => match (status.and_then(|s| s.code()), send_error) {
            (Some(code), _) => format!("the {reader} reader exited with status {code}{last_words}"),
            (None, Some(e)) => format!("the {reader} reader could not be given the document: {e}"),
            (None, None) => format!("the {reader} reader stopped answering{last_words}"),
        },
    }
}

/// One answer; `cap` is read once its length has arrived (it is set before the request that
/// the answer is for is sent).
fn read_answer(r: &mut impl Read, cap: &AtomicU64) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    let cap = cap.load(Ordering::SeqCst);
    if len > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes"),
        ));
    }
    let mut buf = Vec::new();
    r.take(len).read_to_end(&mut buf)?;
    if (buf.len() as u64) < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(buf)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    name: Option<String>,
    media_type: Option<String>,
    limits: Limits,
    /// CPU seconds the worker may use for this request (RLIMIT_CPU is raised by this much).
    cpu_secs: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Answer {
    result: Result<Extracted, ExtractError>,
    /// The worker will exit after this answer (a reader of its overran the deadline and is
    /// still running on an abandoned thread).
    retire: bool,
}

/// The worker: `tenderscan __reader MEMORY_BYTES`. Limits itself, then answers requests on
/// its standard input until it closes. Returns the process exit code.
pub fn worker_main(args: &[String]) -> i32 {
    let memory: u64 = match args.first().and_then(|a| a.parse().ok()) {
        Some(m) => m,
        None => {
            eprintln!("tenderscan {WORKER_ARG}: internal command; expects MEMORY_BYTES");
            return 2;
        }
    };
    if let Err(e) =
        set_limit(libc::RLIMIT_AS, memory, memory).and_then(|()| set_limit(libc::RLIMIT_CORE, 0, 0))
    {
        eprintln!("tenderscan {WORKER_ARG}: cannot limit itself: {e}");
        return 2;
    }
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    loop {
        let (req, bytes) = match read_request(&mut input) {
            Ok(Some(r)) => r,
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("tenderscan {WORKER_ARG}: bad request: {e}");
                return 2;
            }
        };
        if let Err(e) = limit_cpu(req.cpu_secs) {
            eprintln!("tenderscan {WORKER_ARG}: cannot set its CPU budget: {e}");
            return 2;
        }
        let result = super::extract(
            &bytes,
            req.name.as_deref(),
            req.media_type.as_deref(),
            &req.limits,
        );
        drop(bytes);
        // A pdf-extract thread abandoned at its deadline may still be running.
        let retire = super::pdf::threads_running() > 0;
        let answer = match serde_json::to_vec(&Answer { result, retire }) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("tenderscan {WORKER_ARG}: cannot encode the answer: {e}");
                return 2;
            }
        };
        let written = output
            .write_all(&(answer.len() as u64).to_le_bytes())
            .and_then(|()| output.write_all(&answer))
            .and_then(|()| output.flush());
        if written.is_err() || retire {
            return 0;
        }
    }
}

fn read_request(r: &mut impl Read) -> io::Result<Option<(Request, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as u64;
    if len > 1 << 20 {
        return Err(io::Error::other("header over 1 MiB"));
    }
    let mut header = Vec::new();
    r.take(len).read_to_end(&mut header)?;
    let req: Request = serde_json::from_slice(&header).map_err(io::Error::other)?;
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > req.limits.max_input_bytes as u64 {
        return Err(io::Error::other("input over its limit"));
    }
    let mut bytes = Vec::new();
    r.take(len).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some((req, bytes)))
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct it is given and changes this process's limits.
    if unsafe { libc::setrlimit(resource, &lim) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the soft CPU limit to what this process used so far plus `secs` (never above the
/// hard limit it was started with).
fn limit_cpu(secs: u64) -> io::Result<()> {
    // SAFETY: getrusage and getrlimit fill the structs they are given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut now = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    if unsafe { libc::getrlimit(libc::RLIMIT_CPU, &mut now) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let used = (usage.ru_utime.tv_sec.max(0) + usage.ru_stime.tv_sec.max(0)) as u64 + 1;
    let hard = now.rlim_max;
    let soft = used.saturating_add(secs).min(hard);
    set_limit(libc::RLIMIT_CPU, soft, hard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_dead_worker_is_explained_by_its_signal_and_last_words() {
        let mem = ProcessLimits {
            memory_bytes: 1 << 30,
        };
        let b = Duration::from_secs(30);
        let abrt = Some(std::process::ExitStatus::from_raw(libc::SIGABRT));
        assert_eq!(
            explain(
                Kind::Pdf,
                mem,
                b,
                abrt,
                "memory allocation of 10 bytes failed\n",
                None
            ),
            "the PDF reader ran out of its 1 GiB memory limit"
        );
        let xcpu = Some(std::process::ExitStatus::from_raw(libc::SIGXCPU));
        assert_eq!(
            explain(Kind::Html, mem, b, xcpu, "", None),
            "the HTML reader used up its CPU budget of 35 s"
        );
        let segv = Some(std::process::ExitStatus::from_raw(libc::SIGSEGV));
        assert_eq!(
            explain(Kind::Docx, mem, b, segv, "x\n\u{1b}[2Jboom\n\n", None),
            "the DOCX reader crashed (signal 11): [2Jboom"
        );
        let exit = Some(std::process::ExitStatus::from_raw(3 << 8));
        assert_eq!(
            explain(Kind::Text, mem, b, exit, "", None),
            "the document reader exited with status 3"
        );
        // a panic: its message, not Rust's backtrace hint after it; a panic for memory is memory
        let panic = "thread 'pdf-extract' panicked at src/x.rs:1:2:
index out of bounds
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";
        assert_eq!(
            explain(Kind::Pdf, mem, b, abrt, panic, None),
            "the PDF reader died (signal 6): index out of bounds"
        );
        let cap = "thread 'main' panicked at library/alloc/src/raw_vec.rs:1:1:
capacity overflow
note: run with `RUST_BACKTRACE=1`
";
        assert_eq!(
            explain(Kind::Pdf, mem, b, abrt, cap, None),
            "the PDF reader ran out of its 1 GiB memory limit"
        );
    }

    #[test]
    fn an_answer_over_its_cap_is_refused_before_it_is_read() {
        let cap = AtomicU64::new(10);
        let mut big = Vec::new();
        big.extend_from_slice(&11u64.to_le_bytes());
        big.extend_from_slice(&[b'x'; 11]);
        let e = read_answer(&mut &big[..], &cap).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let mut ok = Vec::new();
        ok.extend_from_slice(&3u64.to_le_bytes());
        ok.extend_from_slice(b"abc");
        assert_eq!(read_answer(&mut &ok[..], &cap).unwrap(), b"abc");
        let short = [&5u64.to_le_bytes()[..], b"ab"].concat();
        assert!(read_answer(&mut &short[..], &cap).is_err());
    }

    #[test]
    fn a_request_round_trips_and_an_oversized_one_is_refused() {
        let req = Request {
            name: Some("spec.pdf".into()),
            media_type: None,
            limits: Limits {
                max_input_bytes: 8,
                ..Limits::default()
            },
            cpu_secs: 35,
        };
        let frame = |body: &[u8]| {
            let header = serde_json::to_vec(&req).unwrap();
            let mut f = (header.len() as u32).to_le_bytes().to_vec();
            f.extend_from_slice(&header);
            f.extend_from_slice(&(body.len() as u64).to_le_bytes());
            f.extend_from_slice(body);
            f
        };
        let (r, bytes) = read_request(&mut &frame(b"%PDF-1")[..]).unwrap().unwrap();
        assert_eq!(
            (r.name.as_deref(), r.cpu_secs, bytes.as_slice()),
            (Some("spec.pdf"), 35, &b"%PDF-1"[..])
        );
        assert!(read_request(&mut &frame(b"123456789")[..]).is_err());
        assert!(read_request(&mut &[][..]).unwrap().is_none());
    }
}
