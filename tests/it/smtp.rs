//! The real SMTP server the alert tests deliver to (`tests/support/smtp_server.rs`, in a
//! thread of this process, on 127.0.0.1), the MIME reader (`mime.rs`), and tests of the
//! server itself on the wire: what the alert tests prove holds only if it speaks SMTP.

#[path = "../support/smtp_server.rs"]
mod server;

pub use crate::mime::parse_mime;
pub use server::{
    Faults, Options, Security, SmtpServer, free_port, maildir_messages, tls_acceptor, tls_file,
};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// A hand-written SMTP client: one command, one (possibly multi-line) reply.
struct Wire {
    s: Box<dyn Stream>,
}

impl Wire {
    fn connect(port: u16) -> (Wire, String) {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut w = Wire { s: Box::new(s) };
        let greeting = w.reply();
        (w, greeting)
    }

    /// One line, or `None` at the end of the stream (or a reset).
    fn line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let mut b = [0u8];
        loop {
            match self.s.read(&mut b) {
                Ok(1) => {
                    line.push(b[0]);
                    if b[0] == b'\n' {
                        return Some(String::from_utf8(line).unwrap());
                    }
                }
                _ => return None,
            }
        }
    }

    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let line = self
                .line()
                .unwrap_or_else(|| panic!("closed after {all:?}"));
            assert!(line.ends_with("\r\n"), "{line:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    fn send(&mut self, raw: &str) -> String {
        self.s.write_all(raw.as_bytes()).unwrap();
        self.reply()
    }
}

/// A TLS client session over `tcp` that trusts the test CA only.
fn tls_client(tcp: TcpStream) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(tls_file("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "127.0.0.1".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn the_server_speaks_smtp_unstuffs_dots_resets_and_refuses_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let server = SmtpServer::start_on(
        free_port(),
        &maildir,
        Faults {
            reject: vec!["Gone@Newsroom.example".into()],
            ..Faults::default()
        },
    );
    let (mut c, greeting) = Wire::connect(server.port);
    assert!(greeting.starts_with("220 "), "{greeting}");
    // Order matters: no MAIL before EHLO, no RCPT before MAIL, no DATA without RCPT.
    assert!(c.send("MAIL FROM:<a@x.example>\r\n").starts_with("503 "));
    let ehlo = c.send("EHLO client.example\r\n");
    assert!(
        ehlo.starts_with("250-") && ehlo.contains("250-8BITMIME\r\n"),
        "{ehlo}"
    );
    assert!(
        !ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert!(c.send("RCPT TO:<b@x.example>\r\n").starts_with("503 "));
    assert!(c.send("MAIL FROM:<a@x.example>\r\n").starts_with("250 "));
    assert!(c.send("DATA\r\n").starts_with("554 "));
    let refused = c.send("RCPT TO:<gone@newsroom.example>\r\n");
    assert!(
        refused.starts_with("550 5.1.1 <gone@newsroom.example>"),
        "{refused}"
    );
    assert!(c.send("RCPT TO:<b@x.example>\r\n").starts_with("250 "));
    // RSET forgets the transaction: this message is never stored.
    assert!(c.send("RSET\r\n").starts_with("250 "));
    assert!(c.send("DATA\r\n").starts_with("503 "));
    assert!(
        c.send("MAIL FROM:<a@x.example> BODY=8BITMIME\r\n")
            .starts_with("250 ")
    );
    assert!(c.send("rcpt to:<b@x.example>\r\n").starts_with("250 "));
    assert!(c.send("RCPT TO:<c@x.example>\r\n").starts_with("250 "));
    assert!(c.send("DATA\r\n").starts_with("354 "));
    let done = c.send("Subject: dots\r\n\r\n..leading dot\r\n...\r\n.\r\n");
    assert!(done.starts_with("250 "), "{done}");
    assert!(c.send("NOOP\r\n").starts_with("250 "));
    assert!(c.send("BOGUS\r\n").starts_with("500 "));
    assert!(c.send("QUIT\r\n").starts_with("221 "));
    let files = server.messages();
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        "X-Envelope-From: a@x.example\r\nX-Envelope-To: b@x.example, c@x.example\r\n\
         Subject: dots\r\n\r\n.leading dot\r\n..\r\n"
    );
    assert!(maildir.join("tmp").read_dir().unwrap().next().is_none());
}

#[test]
fn starttls_is_required_before_mail_and_auth_only_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start_with(
        free_port(),
        &dir.path().join("maildir"),
        Options {
            security: Security::StartTls,
            auth: Some(("desk".into(), "s3cret".into())),
            ..Options::default()
        },
    );
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut c = Wire {
        s: Box::new(tcp.try_clone().unwrap()),
    };
    assert!(c.reply().starts_with("220 "));
    let ehlo = c.send("EHLO client.example\r\n");
    assert!(
        ehlo.contains("250-STARTTLS\r\n") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert!(c.send("MAIL FROM:<a@x.example>\r\n").starts_with("530 "));
    assert!(
        c.send("AUTH PLAIN AGRlc2sAczNjcmV0\r\n")
            .starts_with("538 ")
    );
    assert!(c.send("STARTTLS\r\n").starts_with("220 "));
    // The same connection, now TLS (verified against the test CA): AUTH is offered.
    let mut c = Wire {
        s: Box::new(tls_client(tcp)),
    };
    let ehlo = c.send("EHLO client.example\r\n");
    assert!(
        ehlo.contains("250-AUTH PLAIN LOGIN\r\n") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    assert!(
        c.send("MAIL FROM:<a@x.example>\r\n")
            .starts_with("530 5.7.0 Authentication")
    );
    // "\0desk\0wrong", then LOGIN with the right password in two steps.
    assert!(
        c.send("AUTH PLAIN AGRlc2sAd3Jvbmc=\r\n")
            .starts_with("535 ")
    );
    assert!(c.send("AUTH LOGIN\r\n").starts_with("334 VXNlcm5hbWU6"));
    assert!(c.send("ZGVzaw==\r\n").starts_with("334 UGFzc3dvcmQ6"));
    assert!(c.send("czNjcmV0\r\n").starts_with("235 "));
    assert!(c.send("MAIL FROM:<a@x.example>\r\n").starts_with("250 "));
    assert!(c.send("RCPT TO:<b@x.example>\r\n").starts_with("250 "));
    assert!(c.send("DATA\r\n").starts_with("354 "));
    assert!(c.send("Subject: tls\r\n\r\nx\r\n.\r\n").starts_with("250 "));
    assert!(c.send("QUIT\r\n").starts_with("221 "));
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_dropped_server_closes_its_connections_and_frees_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let server = SmtpServer::start_on(
        port,
        &maildir,
        Faults {
            delay_secs: 600.0,
            ..Faults::default()
        },
    );
    let (mut c, _) = Wire::connect(port);
    c.send("EHLO client.example\r\n");
    c.send("MAIL FROM:<a@x.example>\r\n");
    c.send("RCPT TO:<b@x.example>\r\n");
    c.send("DATA\r\n");
    c.s.write_all(b"Subject: slow\r\n\r\nbody\r\n.\r\n")
        .unwrap();
    // Stored before the answer, which the delay holds back.
    assert_eq!(server.wait_for(1, Duration::from_secs(60)).len(), 1);
    drop(server);
    assert_eq!(c.line(), None, "the connection is closed, unanswered");
    let again = SmtpServer::start_on(port, &maildir, Faults::default());
    let (_, greeting) = Wire::connect(again.port);
    assert!(greeting.starts_with("220 "));
    assert_eq!(again.messages().len(), 1);
}
