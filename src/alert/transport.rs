//! Where composed messages go, behind one trait, [`Transport`]: an SMTP server through
//! lettre's tokio transport ([`Smtp`]: security none / STARTTLS / implicit TLS with rustls,
//! auth from the environment, timeouts), or, without `smtp_host`, `.eml` files in
//! `dry_run_dir` ([`Folder`]). [`Mail`] is the one the config picks; tests of the delivery
//! logic use a stub. The other channels (`telegram.rs`, `webhook.rs`, `atom.rs` beside this
//! file) implement the same trait.
//!
//! This module hands over bytes and reports errors as text; it never touches the store.

use super::AlertError;
use crate::config::{MailConfig, Security};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One message to hand over: its envelope, its bytes as stored, and which digest it is.
pub(crate) struct Outgoing<'a> {
    /// The SMTP envelope (mail only).
    pub envelope: Option<&'a Envelope>,
    pub raw: &'a [u8],
    pub digest_id: i64,
    pub recipient: &'a str,
}

/// A channel messages are handed to. Errors are one line of text naming the channel.
pub(crate) trait Transport {
    /// Connect, greet, secure and authenticate (or make the folder): what can fail before
    /// anything is handed over.
    fn check(&self) -> impl Future<Output = Result<(), String>> + Send;
    /// Hand one message over.
    fn send(&self, msg: &Outgoing<'_>) -> impl Future<Output = Result<(), String>> + Send;
    /// Close what is open (a pooled connection).
    fn shutdown(&self) -> impl Future<Output = ()> + Send;
    /// Where a message handed over is written, for a transport that writes files (the
    /// outbox): the log says "written to", not "sent".
    fn written_to(&self, _msg: &Outgoing<'_>) -> Option<PathBuf> {
        None
    }
}

/// An SMTP server.
pub(crate) struct Smtp {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

/// `.eml` files in a folder, written atomically.
pub(crate) struct Folder(pub PathBuf);

/// The transport the config asks for.
pub(crate) enum Mail {
    Smtp(Smtp),
    Folder(Folder),
}

/// An error and its causes on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

impl Mail {
    /// The transport the config asks for. `extra_ca` (PEM, `[mail] ca_file`) is trusted
    /// besides the web roots.
    pub(crate) fn from_config(
        mail: &MailConfig,
        extra_ca: Option<&[u8]>,
    ) -> Result<Mail, AlertError> {
        match mail.smtp_host.as_deref() {
            None => Ok(Mail::Folder(Folder(mail.dry_run_dir.clone()))),
            Some(host) => Smtp::new(mail, host, extra_ca).map(Mail::Smtp),
        }
    }
}

impl Transport for Mail {
    async fn check(&self) -> Result<(), String> {
        match self {
            Mail::Smtp(t) => t.check().await,
            Mail::Folder(t) => t.check().await,
        }
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        match self {
            Mail::Smtp(t) => t.send(msg).await,
            Mail::Folder(t) => t.send(msg).await,
        }
    }
    async fn shutdown(&self) {
        match self {
            Mail::Smtp(t) => t.shutdown().await,
            Mail::Folder(t) => t.shutdown().await,
        }
    }
    fn written_to(&self, msg: &Outgoing<'_>) -> Option<PathBuf> {
        match self {
            Mail::Smtp(_) => None,
            Mail::Folder(t) => t.written_to(msg),
        }
    }
}

impl Smtp {
    fn new(mail: &MailConfig, host: &str, extra_ca: Option<&[u8]>) -> Result<Smtp, AlertError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let setup = |source| AlertError::Transport {
            server: host.to_string(),
            source,
        };
        let tls_params = || -> Result<TlsParameters, AlertError> {
            let mut b = TlsParameters::builder(host.to_string());
            if let Some(pem) = extra_ca {
                b = b.add_root_certificate(Certificate::from_pem(pem).map_err(setup)?);
            }
            b.build_rustls().map_err(setup)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(mail.smtp_port)
            .timeout(Some(Duration::from_secs(mail.timeout_secs.max(1))));
        builder = match mail.security {
            Security::None => builder.tls(Tls::None),
            Security::Starttls => builder.tls(Tls::Required(tls_params()?)),
            Security::Tls => builder.tls(Tls::Wrapper(tls_params()?)),
        };
        match (&mail.username_env, &mail.password_env) {
            (None, None) => {}
            (user_env, pass_env) => {
                let missing = |var: &Option<String>| AlertError::MissingSecret {
                    var: var.clone().unwrap_or_default(),
                };
                let user = mail.username().ok_or_else(|| missing(user_env))?;
                let pass = mail.password().ok_or_else(|| missing(pass_env))?;
                builder = builder.credentials(Credentials::new(user, pass));
            }
        }
        Ok(Smtp {
            inner: builder.build(),
            server: format!("{host}:{}", mail.smtp_port),
        })
    }
}

impl Transport for Smtp {
    async fn check(&self) -> Result<(), String> {
        match self.inner.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "SMTP server {}: connection not usable",
                self.server
            )),
            Err(e) => Err(format!("SMTP server {}: {}", self.server, chain(&e))),
        }
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        let Some(envelope) = msg.envelope else {
            return Err(format!(
                "SMTP server {}: no envelope for {}",
                self.server, msg.recipient
            ));
        };
        self.inner
            .send_raw(envelope, msg.raw)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP server {}: {}", self.server, chain(&e)))
    }
    async fn shutdown(&self) {
        self.inner.shutdown().await;
    }
}

impl Transport for Folder {
    async fn check(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.0)
            .map_err(|e| format!("cannot create {}: {e}", self.0.display()))
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        write_eml(&self.0, msg.digest_id, msg.recipient, msg.raw).map(|_| ())
    }
    async fn shutdown(&self) {}
    fn written_to(&self, msg: &Outgoing<'_>) -> Option<PathBuf> {
        Some(self.0.join(eml_name(msg.digest_id, msg.recipient)))
    }
}

/// For unit tests of the delivery logic: records what it is handed, and fails on demand.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Stub {
    pub sent: std::sync::Mutex<Vec<(i64, String, Vec<u8>)>>,
    /// `check` fails with this.
    pub down: Option<String>,
    /// `send` fails with this.
    pub refuse: Option<String>,
}

#[cfg(test)]
impl Transport for Stub {
    async fn check(&self) -> Result<(), String> {
        self.down.clone().map_or(Ok(()), Err)
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        if let Some(e) = &self.refuse {
            return Err(e.clone());
        }
        self.sent.lock().unwrap().push((
            msg.digest_id,
            msg.recipient.to_string(),
            msg.raw.to_vec(),
        ));
        Ok(())
    }
    async fn shutdown(&self) {}
}

/// The file name of a digest in the dry-run folder: built from the digest id and the
/// recipient only, never from notice text.
pub(crate) fn eml_name(digest_id: i64, recipient: &str) -> String {
    let mut who: String = recipient
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    while who.starts_with('.') {
        who.replace_range(..1, "_");
    }
    format!("digest-{digest_id:06}-{who}.eml")
}

/// Write a message atomically (temporary file, then rename) into `dir`.
fn write_eml(dir: &Path, digest_id: i64, recipient: &str, raw: &[u8]) -> Result<PathBuf, String> {
    let path = dir.join(eml_name(digest_id, recipient));
    crate::atomic::write_atomic(&path, raw)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_names_come_from_id_and_address_only() {
        assert_eq!(
            eml_name(7, "desk@newsroom.example"),
            "digest-000007-desk@newsroom.example.eml"
        );
        let n = eml_name(1, "../../etc/passwd\r\n<x>@y");
        assert!(
            !n.contains('/') && !n.contains('\n') && !n.contains('<'),
            "{n}"
        );
        assert!(n.starts_with("digest-000001-"));
        assert_eq!(eml_name(2, ".hidden@x"), "digest-000002-_hidden@x.eml");
    }
}

/// The SMTP server of the integration tests (`tests/support/smtp_server.rs`, in Rust, in a
/// thread of the test process), shared with these unit tests.
#[cfg(test)]
#[path = "../../tests/support/smtp_server.rs"]
mod test_smtp_server;

/// STARTTLS and implicit TLS against the local test SMTP server with a test CA
/// (`tests/support/tls`): delivered when the CA is trusted, refused when it is not.
#[cfg(test)]
mod tls_tests {
    use super::test_smtp_server::{self as server, Options, SmtpServer, free_port, tls_file};
    use super::*;

    fn start(maildir: &Path, implicit: bool) -> (SmtpServer, u16) {
        start_with(maildir, implicit, None)
    }

    fn start_with(maildir: &Path, implicit: bool, auth: Option<(&str, &str)>) -> (SmtpServer, u16) {
        let security = if implicit {
            server::Security::ImplicitTls
        } else {
            server::Security::StartTls
        };
        let s = SmtpServer::start_with(
            free_port(),
            maildir,
            Options {
                security,
                auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
                ..Options::default()
            },
        );
        let port = s.port;
        (s, port)
    }

    fn mail(port: u16, security: Security) -> MailConfig {
        MailConfig {
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: port,
            security,
            timeout_secs: 10,
            ..MailConfig::default()
        }
    }

    fn delivered(maildir: &Path) -> usize {
        std::fs::read_dir(maildir.join("new"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    #[test]
    fn starttls_and_implicit_tls_verify_the_server() {
        let ca = std::fs::read(tls_file("ca.pem")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let envelope = Envelope::new(
            Some("a@newsroom.example".parse().unwrap()),
            vec!["b@newsroom.example".parse().unwrap()],
        )
        .unwrap();
        let raw =
            b"From: a@newsroom.example\r\nTo: b@newsroom.example\r\nSubject: tls\r\n\r\nhello\r\n";
        for (security, implicit) in [(Security::Starttls, false), (Security::Tls, true)] {
            let dir = tempfile::tempdir().unwrap();
            let maildir = dir.path().join("maildir");
            let (_server, port) = start(&maildir, implicit);
            rt.block_on(async {
                let trusted = Mail::from_config(&mail(port, security), Some(&ca)).unwrap();
                trusted.check().await.unwrap();
                trusted
                    .send(&Outgoing {
                        envelope: Some(&envelope),
                        raw,
                        digest_id: 1,
                        recipient: "b@newsroom.example",
                    })
                    .await
                    .unwrap();
                trusted.shutdown().await;
                // Only the web's roots: the test CA is not trusted, nothing is sent.
                let strict = Mail::from_config(&mail(port, security), None).unwrap();
                let err = strict.check().await.unwrap_err();
                assert!(err.contains("127.0.0.1"), "{err}");
                // Without TLS the STARTTLS server refuses to take mail.
                if !implicit {
                    let plain = Mail::from_config(&mail(port, Security::None), None).unwrap();
                    let e = plain
                        .send(&Outgoing {
                            envelope: Some(&envelope),
                            raw,
                            digest_id: 2,
                            recipient: "b@newsroom.example",
                        })
                        .await;
                    assert!(e.is_err(), "{security:?}: plain text accepted");
                }
            });
            assert_eq!(delivered(&maildir), 1, "{security:?}");
        }
    }

    #[test]
    fn login_comes_from_the_environment() {
        let ca = std::fs::read(tls_file("ca.pem")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let (_server, port) = start_with(&maildir, false, Some(("desk", "s3cret")));
        // SAFETY: these variable names are used by this test only; nothing else in the
        // process reads or writes them.
        unsafe {
            std::env::set_var("TENDERSCAN_TEST_LOGIN_USER", "desk");
            std::env::set_var("TENDERSCAN_TEST_LOGIN_GOOD", "s3cret");
            std::env::set_var("TENDERSCAN_TEST_LOGIN_BAD", "wrong");
        }
        let with = |pass_env: &str| MailConfig {
            username_env: Some("TENDERSCAN_TEST_LOGIN_USER".into()),
            password_env: Some(pass_env.into()),
            ..mail(port, Security::Starttls)
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let good = Mail::from_config(&with("TENDERSCAN_TEST_LOGIN_GOOD"), Some(&ca)).unwrap();
            good.check().await.unwrap();
            let envelope = Envelope::new(
                Some("a@newsroom.example".parse().unwrap()),
                vec!["b@newsroom.example".parse().unwrap()],
            )
            .unwrap();
            good.send(&Outgoing {
                envelope: Some(&envelope),
                raw: b"Subject: x\r\n\r\nx\r\n",
                digest_id: 1,
                recipient: "b",
            })
            .await
            .unwrap();
            let bad = Mail::from_config(&with("TENDERSCAN_TEST_LOGIN_BAD"), Some(&ca)).unwrap();
            let err = bad.check().await.unwrap_err();
            assert!(err.contains("535"), "{err}");
            // No login at all: the server refuses the mail.
            let anon = Mail::from_config(&mail(port, Security::Starttls), Some(&ca)).unwrap();
            assert!(
                anon.send(&Outgoing {
                    envelope: Some(&envelope),
                    raw: b"Subject: x\r\n\r\nx\r\n",
                    digest_id: 1,
                    recipient: "b"
                })
                .await
                .is_err()
            );
        });
        assert_eq!(delivered(&maildir), 1);
        // A named variable that is not set is a clear error before any connection.
        let missing = Mail::from_config(&with("TENDERSCAN_TEST_LOGIN_UNSET"), Some(&ca));
        match missing {
            Err(AlertError::MissingSecret { var }) => {
                assert_eq!(var, "TENDERSCAN_TEST_LOGIN_UNSET")
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("an unset password variable must be an error"),
        }
    }
}
