//! A real SMTP server for tests: `tests/support/smtp_server.py` (aiosmtpd) on 127.0.0.1,
//! started as a child process and stopped by its process id when dropped; and a MIME
//! parser (`tests/support/parse_mime.py`, Python's `email` package, as a mail client reads).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn support(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name)
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Fault injection for the server.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Store the message, then wait this long before answering 250.
    pub delay_secs: f64,
    /// Only messages to these addresses wait `delay_secs` (empty: every message).
    pub delay_only: Vec<String>,
    /// Answer 550 to RCPT TO for these addresses.
    pub reject: Vec<String>,
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl SmtpServer {
    pub fn start(maildir: &Path) -> SmtpServer {
        SmtpServer::start_on(free_port(), maildir, Faults::default())
    }

    /// Start on `port`, keeping messages in `maildir` (created by the server if missing).
    pub fn start_on(port: u16, maildir: &Path, faults: Faults) -> SmtpServer {
        let mut cmd = Command::new("python3");
        cmd.arg(support("smtp_server.py"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--maildir")
            .arg(maildir)
            .arg("--delay")
            .arg(faults.delay_secs.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        for r in &faults.reject {
            cmd.arg("--reject-rcpt").arg(r);
        }
        for r in &faults.delay_only {
            cmd.arg("--delay-rcpt").arg(r);
        }
        let child = cmd
            .spawn()
            .expect("python3 with aiosmtpd is needed: python3 -m pip install aiosmtpd");
        let mut server = SmtpServer {
            child,
            port,
            maildir: maildir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the SMTP server exited at start ({status}); is aiosmtpd installed?");
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The message files the server stored, oldest first.
    pub fn messages(&self) -> Vec<PathBuf> {
        maildir_messages(&self.maildir)
    }

    /// Wait until at least `n` messages are stored.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() >= deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this process id only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Message files in a Maildir (`new` and `cur`), sorted by modification time then name.
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

/// A message as a mail client reads it.
#[derive(Debug)]
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub defects: Vec<String>,
    /// (content type, decoded body) of each leaf part.
    pub parts: Vec<(String, String)>,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn part(&self, content_type: &str) -> &str {
        self.parts
            .iter()
            .find(|(t, _)| t == content_type)
            .map(|(_, b)| b.as_str())
            .unwrap_or_else(|| panic!("no {content_type} part in {:?}", self.content_type))
    }
}

pub fn parse_mime(path: &Path) -> Parsed {
    let out = Command::new("python3")
        .arg(support("parse_mime.py"))
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "parse_mime failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Parsed {
        headers: v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (s(&h[0]), s(&h[1])))
            .collect(),
        content_type: s(&v["content_type"]),
        defects: v["defects"].as_array().unwrap().iter().map(s).collect(),
        parts: v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (s(&p["type"]), s(&p["body"]).replace("\r\n", "\n")))
            .collect(),
    }
}
