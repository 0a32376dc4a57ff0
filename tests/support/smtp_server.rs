//! A real SMTP server for tenderscan's tests, in Rust (no Python, no Docker): it listens on
//! 127.0.0.1 in a thread of the test process, speaks SMTP on the wire (EHLO/HELO,
//! STARTTLS and implicit TLS over rustls with the test certificates in `tests/support/tls`,
//! AUTH PLAIN/LOGIN over TLS, MAIL/RCPT/DATA with dot-unstuffing, RSET, NOOP, QUIT), and
//! stores every message it accepts, byte for byte, as a file in a Maildir (`tmp/`, then
//! renamed into `new/`), prefixed with `X-Envelope-From` / `X-Envelope-To` lines.
//!
//! Faults it can inject ([`Faults`]):
//! - `delay_secs`: store the message, then wait before answering 250 (a client killed during
//!   the wait leaves a message the server took); `delay_only` limits that to messages to
//!   some addresses;
//! - `reject`: answer 550 to RCPT TO for these addresses.
//!
//! Dropping an [`SmtpServer`] stops it: the listener and every open connection are closed
//! (connections waiting in a delay included) before `drop` returns, so the same port can be
//! taken again at once. The tenderscan binary, run as a child process, delivers to it over
//! TCP like to any server.
//!
//! Used by the integration tests (`tests/it/smtp.rs`) and by the unit tests of
//! `src/alert/transport.rs` (included with `#[path]`), so it uses nothing but std, tokio,
//! tokio-rustls and rustls.

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A test TLS file (`tests/support/tls/NAME`).
pub fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/tls")
        .join(name)
}

/// A rustls acceptor with the test leaf certificate (`server.pem`, signed by `ca.pem`) for
/// `localhost` and `127.0.0.1`.
pub fn tls_acceptor() -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls_file("server.pem"))
        .expect("tests/support/tls/server.pem")
        .collect::<Result<_, _>>()
        .expect("tests/support/tls/server.pem is PEM");
    let key = PrivateKeyDer::from_pem_file(tls_file("server.key")).expect("server.key is PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the test certificate and key match");
    TlsAcceptor::from(Arc::new(config))
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How the server protects the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    /// Plain text only.
    #[default]
    None,
    /// STARTTLS offered and required before AUTH, MAIL, RCPT and DATA.
    StartTls,
    /// TLS from the first byte (SMTPS); no STARTTLS.
    ImplicitTls,
}

/// Fault injection.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Store the message, then wait this long before answering 250.
    pub delay_secs: f64,
    /// Only messages to these addresses wait `delay_secs` (empty: every message).
    pub delay_only: Vec<String>,
    /// Answer 550 to RCPT TO for these addresses.
    pub reject: Vec<String>,
}

/// Everything a server can be started with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub security: Security,
    /// Require AUTH (PLAIN or LOGIN, offered over TLS only) with this user and password.
    pub auth: Option<(String, String)>,
    pub faults: Faults,
}

pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The largest message taken (larger ones get 552).
const MAX_MESSAGE: usize = 32 << 20;
/// The longest command line (RFC 5321 says 512; AUTH responses may be longer).
const MAX_COMMAND: usize = 4096;
/// The longest line inside DATA.
const MAX_DATA_LINE: usize = 1 << 20;
const NAME: &str = "127.0.0.1";

impl SmtpServer {
    /// Plain SMTP on a free port.
    pub fn start(maildir: &Path) -> SmtpServer {
        SmtpServer::start_on(free_port(), maildir, Faults::default())
    }

    /// Plain SMTP on `port`, keeping messages in `maildir` (created if missing).
    pub fn start_on(port: u16, maildir: &Path, faults: Faults) -> SmtpServer {
        SmtpServer::start_with(
            port,
            maildir,
            Options {
                faults,
                ..Options::default()
            },
        )
    }

    /// Listening on 127.0.0.1:`port` when this returns.
    pub fn start_with(port: u16, maildir: &Path, options: Options) -> SmtpServer {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub))
                .unwrap_or_else(|e| panic!("{}: {e}", maildir.display()));
        }
        let shared = Arc::new(Shared {
            maildir: maildir.to_path_buf(),
            acceptor: (options.security != Security::None).then(tls_acceptor),
            reject: lower(&options.faults.reject),
            delay_only: lower(&options.faults.delay_only),
            delay: Duration::from_secs_f64(options.faults.delay_secs.max(0.0)),
            options,
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("smtp-test-server-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the SMTP server");
                rt.block_on(async move {
                    let listener = match bind(port).await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept_loop(listener, shared) => {}
                    }
                });
                // Dropping the runtime drops every connection task: their sockets close.
                drop(rt);
            })
            .expect("a thread for the SMTP server");
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the SMTP server cannot listen on 127.0.0.1:{port}: {e}"),
            Err(_) => panic!("the SMTP server thread died at start"),
        }
        SmtpServer {
            port,
            maildir: maildir.to_path_buf(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The message files the server stored, oldest first.
    pub fn messages(&self) -> Vec<PathBuf> {
        maildir_messages(&self.maildir)
    }

    /// Wait until at least `n` messages are stored (or `timeout` passed); what is there.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() >= deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Message files in a Maildir (`new` and `cur`), sorted by modification time then name
/// (names start with the time of delivery and a sequence number).
pub fn maildir_messages(maildir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(maildir.join(sub)) {
            for e in rd.flatten() {
                let t = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                files.push((t, e.path()));
            }
        }
    }
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

fn lower(v: &[String]) -> Vec<String> {
    v.iter().map(|a| a.to_ascii_lowercase()).collect()
}

struct Shared {
    maildir: PathBuf,
    acceptor: Option<TlsAcceptor>,
    reject: Vec<String>,
    delay_only: Vec<String>,
    delay: Duration,
    options: Options,
}

/// 127.0.0.1:`port` with SO_REUSEADDR (a port a stopped server left in TIME_WAIT is
/// taken at once); a port another process still holds is retried for a few seconds.
async fn bind(port: u16) -> io::Result<TcpListener> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut tries = 0;
    loop {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(128)) {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(stream, shared.clone()));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// One connection. A failed TLS handshake (a client that does not trust the test CA) or a
/// client that hangs up just ends it.
async fn serve(tcp: TcpStream, shared: Arc<Shared>) {
    let acceptor = shared.acceptor.clone();
    match (shared.options.security, acceptor) {
        (Security::ImplicitTls, Some(acceptor)) => {
            if let Ok(tls) = acceptor.accept(tcp).await {
                let _ = Session::new(tls, &shared, true).run(true).await;
            }
        }
        (_, acceptor) => {
            let mut plain = Session::new(tcp, &shared, false);
            if let (Ok(Step::StartTls), Some(acceptor)) = (plain.run(true).await, acceptor)
                && let Ok(tls) = acceptor.accept(plain.stream).await
            {
                // RFC 3207: after the handshake the client starts over with EHLO.
                let _ = Session::new(tls, &shared, true).run(false).await;
            }
        }
    }
}

enum Step {
    Quit,
    StartTls,
}

struct Session<'a, S> {
    stream: S,
    buf: Vec<u8>,
    shared: &'a Shared,
    tls: bool,
    greeted: bool,
    authed: bool,
    from: Option<String>,
    rcpts: Vec<String>,
}

/// One read line: its bytes with the line ending, or why there is none.
enum Line {
    Got(Vec<u8>),
    TooLong,
    Eof,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Session<'a, S> {
    fn new(stream: S, shared: &'a Shared, tls: bool) -> Self {
        Session {
            stream,
            buf: Vec::new(),
            shared,
            tls,
            greeted: false,
            authed: false,
            from: None,
            rcpts: Vec::new(),
        }
    }

    async fn reply(&mut self, text: &str) -> io::Result<()> {
        self.stream.write_all(text.as_bytes()).await?;
        self.stream.write_all(b"\r\n").await?;
        self.stream.flush().await
    }

    /// The next line ending in LF (CRLF on the wire from any sane client); a line longer
    /// than `max` is read to its end and dropped.
    async fn read_line(&mut self, max: usize) -> io::Result<Line> {
        let mut too_long = false;
        let mut scanned = 0;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i + 1;
                let line: Vec<u8> = self.buf.drain(..end).collect();
                return Ok(if too_long || line.len() > max + 2 {
                    Line::TooLong
                } else {
                    Line::Got(line)
                });
            }
            if self.buf.len() > max + 2 {
                too_long = true;
                self.buf.clear();
            }
            scanned = self.buf.len();
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(Line::Eof);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn reset(&mut self) {
        self.from = None;
        self.rcpts.clear();
    }

    fn needs_tls(&self) -> bool {
        self.shared.options.security == Security::StartTls && !self.tls
    }

    async fn run(&mut self, greet: bool) -> io::Result<Step> {
        if greet {
            self.reply(&format!("220 {NAME} ESMTP tenderscan test server"))
                .await?;
        }
        loop {
            let line = match self.read_line(MAX_COMMAND).await? {
                Line::Got(l) => l,
                Line::TooLong => {
                    self.reply("500 5.5.2 Line too long").await?;
                    continue;
                }
                Line::Eof => return Ok(Step::Quit),
            };
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match text.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
                None => (text.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    if arg.is_empty() {
                        self.reply(&format!("501 5.5.4 Syntax: {verb} hostname"))
                            .await?;
                        continue;
                    }
                    self.reset();
                    self.greeted = true;
                    if verb == "HELO" {
                        self.reply(&format!("250 {NAME}")).await?;
                        continue;
                    }
                    let mut lines = vec![
                        format!("{NAME} Hello {arg}"),
                        format!("SIZE {MAX_MESSAGE}"),
                        "8BITMIME".to_string(),
                        "SMTPUTF8".to_string(),
                    ];
                    if self.needs_tls() {
                        lines.push("STARTTLS".into());
                    }
                    if self.shared.options.auth.is_some() && self.tls && !self.authed {
                        lines.push("AUTH PLAIN LOGIN".into());
                    }
                    lines.push("HELP".into());
                    let last = lines.len() - 1;
                    let mut out = String::new();
                    for (i, l) in lines.iter().enumerate() {
                        let sep = if i == last { ' ' } else { '-' };
                        out.push_str(&format!("250{sep}{l}"));
                        if i != last {
                            out.push_str("\r\n");
                        }
                    }
                    self.reply(&out).await?;
                }
                "STARTTLS" => {
                    if !self.needs_tls() {
                        self.reply("502 5.5.1 STARTTLS not offered").await?;
                    } else if !arg.is_empty() {
                        self.reply("501 5.5.4 Syntax: STARTTLS").await?;
                    } else {
                        // Anything the client sent after STARTTLS in the same packet is
                        // discarded (plain-text command injection, RFC 3207 section 5).
                        self.buf.clear();
                        self.reply("220 2.0.0 Ready to start TLS").await?;
                        return Ok(Step::StartTls);
                    }
                }
                "AUTH" => self.auth(arg).await?,
                "MAIL" => {
                    if let Some(refusal) = self.refuse_transaction() {
                        self.reply(refusal).await?;
                    } else if self.from.is_some() {
                        self.reply("503 5.5.1 Error: nested MAIL command").await?;
                    } else {
                        match path_arg(arg, "FROM:") {
                            Some(addr) => {
                                self.from = Some(addr);
                                self.reply("250 2.1.0 OK").await?;
                            }
                            None => self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?,
                        }
                    }
                }
                "RCPT" => {
                    if let Some(refusal) = self.refuse_transaction() {
                        self.reply(refusal).await?;
                    } else if self.from.is_none() {
                        self.reply("503 5.5.1 Error: need MAIL command").await?;
                    } else {
                        match path_arg(arg, "TO:") {
                            Some(addr) if addr.is_empty() => {
                                self.reply("501 5.1.3 Bad recipient address syntax").await?
                            }
                            Some(addr) => {
                                if self.shared.reject.contains(&addr.to_ascii_lowercase()) {
                                    self.reply(&format!("550 5.1.1 <{addr}>: mailbox unavailable"))
                                        .await?;
                                } else {
                                    self.rcpts.push(addr);
                                    self.reply("250 2.1.5 OK").await?;
                                }
                            }
                            None => self.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
                        }
                    }
                }
                "DATA" => {
                    if let Some(refusal) = self.refuse_transaction() {
                        self.reply(refusal).await?;
                    } else if self.from.is_none() {
                        self.reply("503 5.5.1 Error: need MAIL command").await?;
                    } else if self.rcpts.is_empty() {
                        self.reply("554 5.5.1 Error: no valid recipients").await?;
                    } else if !arg.is_empty() {
                        self.reply("501 5.5.4 Syntax: DATA").await?;
                    } else {
                        self.data().await?;
                    }
                }
                "RSET" => {
                    self.reset();
                    self.reply("250 2.0.0 OK").await?;
                }
                "NOOP" => self.reply("250 2.0.0 OK").await?,
                "VRFY" => {
                    self.reply("252 2.1.5 Cannot VRFY user, but will accept message")
                        .await?
                }
                "QUIT" => {
                    self.reply("221 2.0.0 Bye").await?;
                    let _ = self.stream.shutdown().await;
                    return Ok(Step::Quit);
                }
                _ => {
                    self.reply("500 5.5.2 Error: command not recognized")
                        .await?
                }
            }
        }
    }

    /// Why MAIL, RCPT or DATA cannot be taken now, if it cannot.
    fn refuse_transaction(&self) -> Option<&'static str> {
        if self.needs_tls() {
            Some("530 5.7.0 Must issue a STARTTLS command first")
        } else if !self.greeted {
            Some("503 5.5.1 Error: send HELO first")
        } else if self.shared.options.auth.is_some() && !self.authed {
            Some("530 5.7.0 Authentication required")
        } else {
            None
        }
    }

    async fn auth(&mut self, arg: &str) -> io::Result<()> {
        let Some((user, password)) = self.shared.options.auth.clone() else {
            return self.reply("502 5.5.1 AUTH not offered").await;
        };
        if self.needs_tls() || !self.tls {
            return self.reply("538 5.7.11 Encryption required").await;
        }
        if !self.greeted {
            return self.reply("503 5.5.1 Error: send EHLO first").await;
        }
        if self.authed {
            return self.reply("503 5.5.1 Already authenticated").await;
        }
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_string())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let given: Option<(Vec<u8>, Vec<u8>)> = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(i) => Some(i),
                    None => self.challenge("334 ").await?,
                };
                response.and_then(|r| base64_decode(&r)).and_then(|raw| {
                    // authzid NUL authcid NUL password
                    let mut it = raw.split(|&b| b == 0);
                    let (_authz, u, p) = (it.next()?, it.next()?, it.next()?);
                    it.next().is_none().then(|| (u.to_vec(), p.to_vec()))
                })
            }
            "LOGIN" => {
                let u = match initial {
                    Some(i) => Some(i),
                    None => self.challenge("334 VXNlcm5hbWU6").await?,
                };
                match u.and_then(|u| base64_decode(&u)) {
                    Some(u) => self
                        .challenge("334 UGFzc3dvcmQ6")
                        .await?
                        .and_then(|p| base64_decode(&p))
                        .map(|p| (u, p)),
                    None => None,
                }
            }
            _ => {
                return self
                    .reply("504 5.5.4 Unrecognized authentication type")
                    .await;
            }
        };
        match given {
            Some((u, p)) if u == user.as_bytes() && p == password.as_bytes() => {
                self.authed = true;
                self.reply("235 2.7.0 Authentication successful").await
            }
            Some(_) => {
                self.reply("535 5.7.8 Authentication credentials invalid")
                    .await
            }
            None => self.reply("501 5.5.2 Cannot decode response").await,
        }
    }

    /// Send a 334 challenge and read the answer; `None` when the client cancels ("*") or
    /// hangs up.
    async fn challenge(&mut self, prompt: &str) -> io::Result<Option<String>> {
        self.reply(prompt).await?;
        match self.read_line(MAX_COMMAND).await? {
            Line::Got(l) => {
                let s = String::from_utf8_lossy(&l).trim().to_string();
                Ok((s != "*").then_some(s))
            }
            Line::TooLong | Line::Eof => Ok(None),
        }
    }

    /// After DATA: read up to the lone dot, unstuff, store, maybe wait, answer.
    async fn data(&mut self) -> io::Result<()> {
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let mut message = Vec::new();
        let mut too_big = false;
        loop {
            let line = match self.read_line(MAX_DATA_LINE).await? {
                Line::Got(l) => l,
                Line::TooLong => {
                    too_big = true;
                    continue;
                }
                // The client hung up inside DATA: nothing is stored.
                Line::Eof => return Ok(()),
            };
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if message.len() + line.len() > MAX_MESSAGE {
                too_big = true;
            }
            if !too_big {
                message.extend_from_slice(line);
            }
        }
        if too_big {
            self.reset();
            return self
                .reply("552 5.3.4 Message too big or a line too long")
                .await;
        }
        let from = self.from.take().unwrap_or_default();
        let rcpts = std::mem::take(&mut self.rcpts);
        let mut stored = format!(
            "X-Envelope-From: {from}\r\nX-Envelope-To: {}\r\n",
            rcpts.join(", ")
        )
        .into_bytes();
        stored.extend_from_slice(&message);
        if let Err(e) = deliver(&self.shared.maildir, &stored) {
            return self
                .reply(&format!("451 4.3.0 Cannot store the message: {e}"))
                .await;
        }
        let slow = self.shared.delay_only.is_empty()
            || rcpts
                .iter()
                .any(|r| self.shared.delay_only.contains(&r.to_ascii_lowercase()));
        if slow && !self.shared.delay.is_zero() {
            tokio::time::sleep(self.shared.delay).await;
        }
        self.reply("250 2.0.0 stored").await
    }
}

/// The address in `FROM:<a@b> PARAMS` / `TO:<a@b>` (keyword case-insensitive).
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_string())
}

/// Maildir delivery: written in `tmp/`, renamed into `new/`.
fn deliver(maildir: &Path, bytes: &[u8]) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let name = format!("{nanos:020}.Q{seq:06}.P{}.smtp-test", std::process::id());
    let tmp = maildir.join("tmp").join(&name);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, maildir.join("new").join(&name))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim().as_bytes();
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, q) in s.chunks(4).enumerate() {
        let last = i == s.len() / 4 - 1;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}
