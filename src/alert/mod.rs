//! Alerts: the outbox rows `store` queued become one digest per recipient per run, sent
//! by SMTP (or written as `.eml` files), each alert at most once.
//!
//! What this module must never do: send an alert whose digest the server may already
//! have taken (a digest caught mid-send is `unconfirmed` until a person resends it),
//! lose an alert (a failed send puts its alerts back in the queue), mail a `baseline`
//! alert, or put untrusted notice text in a header or unescaped into HTML.
//! The delivery state machine is described in `README.md` beside this file.
//!
//! The callers hold the run lock: a digest found `queued` or `sending` at the start of a
//! call is taken to be left by a run that died.

mod compose;
mod transport;

pub(crate) use compose::format_amount;

use crate::config::{Config, Language, Recipient};
use crate::store::{AlertItem, ChangeItem, DigestContent, Store, StoreError};
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::collections::HashMap;
use transport::Transport;

/// A rule's texts for digests: its title and why a match matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    pub title: String,
    pub why: String,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions {
    /// Compose the digests and return them as previews; send, write and mark nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Digests the server (or the dry-run folder) took.
    pub digests_sent: usize,
    /// Alerts in those digests.
    pub alerts_sent: usize,
    /// "recipient: error" for each digest or recipient that could not be sent; their
    /// alerts stay queued for the next run.
    pub failed: Vec<String>,
    /// Dry run: each digest's recipient, subject and text part.
    pub previews: Vec<String>,
    /// Digests found caught mid-send by an earlier run (now `unconfirmed`; see
    /// `tenderscan alert --resend ID`).
    pub unconfirmed: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} {value:?} is not an email address: {source}")]
    Address {
        what: &'static str,
        value: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("SMTP server {server}: cannot set up the connection: {source}")]
    Transport {
        server: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    #[error("[mail] names the environment variable {var:?} for the SMTP login, but it is not set")]
    MissingSecret { var: String },
    #[error("cannot build the message to {recipient}: {source}")]
    Message {
        recipient: String,
        #[source]
        source: lettre::error::Error,
    },
    #[error("[mail] ca_file {path}: {source}")]
    CaFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("there is no digest {0}")]
    NoDigest(i64),
    #[error("digest {id} cannot be resent: {reason}")]
    NotResendable { id: i64, reason: String },
    #[error("the operator message to {recipient} could not be sent: {error}")]
    Undelivered { recipient: String, error: String },
}

/// The transport the config asks for, trusting `[mail] ca_file` where set.
fn transport(cfg: &Config) -> Result<Transport, AlertError> {
    let ca = match &cfg.mail.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| AlertError::CaFile {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    Transport::from_config(&cfg.mail, ca.as_deref())
}

/// Largest number of alerts in one digest; more make more digests (whole notices each).
const MAX_ALERTS_PER_DIGEST: usize = 100;

/// Sources failing this many runs in a row are reported to the operator.
const SOURCE_FAILURES_REPORTED: i64 = 3;

fn mailbox(what: &'static str, value: &str) -> Result<Mailbox, AlertError> {
    value.parse().map_err(|source| AlertError::Address {
        what,
        value: value.to_string(),
        source,
    })
}

struct Sender {
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

enum Body {
    Alternative { text: String, html: String },
    Plain(String),
}

impl Sender {
    fn new(cfg: &Config) -> Result<Sender, AlertError> {
        Ok(Sender {
            from: mailbox("[mail] from", &cfg.mail.from)?,
            reply_to: cfg
                .mail
                .reply_to
                .as_deref()
                .map(|r| mailbox("[mail] reply_to", r))
                .transpose()?,
        })
    }

    /// `<tenderscan.{digest_id}.{random}@{domain of from}>`
    fn message_id(&self, digest_id: i64) -> String {
        format!(
            "<tenderscan.{digest_id}.{:016x}@{}>",
            rand::random::<u64>(),
            self.from.email.domain()
        )
    }

    fn envelope(&self, to: &Mailbox) -> Result<Envelope, AlertError> {
        Envelope::new(Some(self.from.email.clone()), vec![to.email.clone()]).map_err(|source| {
            AlertError::Message {
                recipient: to.to_string(),
                source,
            }
        })
    }

    fn build(
        &self,
        to: &Mailbox,
        subject: &str,
        message_id: &str,
        body: Body,
    ) -> Result<Vec<u8>, AlertError> {
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(compose::header_text(subject, 200))
            .message_id(Some(message_id.to_string()))
            .date_now();
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        let built = match body {
            Body::Alternative { text, html } => {
                b.multipart(MultiPart::alternative_plain_html(text, html))
            }
            Body::Plain(text) => b.singlepart(SinglePart::plain(text)),
        };
        let mut msg = built.map_err(|source| AlertError::Message {
            recipient: to.to_string(),
            source,
        })?;
        msg.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
        Ok(msg.formatted())
    }
}

fn recipient_config<'a>(cfg: &'a Config, email: &str) -> Option<&'a Recipient> {
    cfg.recipients
        .iter()
        .find(|r| r.email.trim().eq_ignore_ascii_case(email.trim()))
}

/// Split a recipient's alerts (ordered by notice) into digests of whole notices.
fn chunks(items: Vec<AlertItem>) -> Vec<Vec<AlertItem>> {
    let mut out: Vec<Vec<AlertItem>> = Vec::new();
    let mut cur: Vec<AlertItem> = Vec::new();
    for it in items {
        let new_notice = cur.last().is_none_or(|l| l.notice_id != it.notice_id);
        if new_notice && cur.len() >= MAX_ALERTS_PER_DIGEST {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(it);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The content of one digest: match alerts and `changed` alerts.
type DigestItems = (Vec<AlertItem>, Vec<ChangeItem>);

/// A recipient's digests: the match alerts in chunks of whole notices, the `changed`
/// alerts with the first chunk (or alone).
fn with_changes(store: &Store, email: &str) -> Result<Vec<DigestItems>, AlertError> {
    let mut changes = store.pending_changes(email)?;
    let mut out: Vec<DigestItems> = chunks(store.pending_alerts(email)?)
        .into_iter()
        .map(|c| (c, Vec::new()))
        .collect();
    if changes.is_empty() {
        return Ok(out);
    }
    match out.first_mut() {
        Some(first) => first.1.append(&mut changes),
        None => out.push((Vec::new(), changes)),
    }
    Ok(out)
}

/// Turn what a dead run left into `failed` (never handed over) or `unconfirmed`
/// (maybe delivered), warning about the latter.
fn recover(store: &mut Store) -> Result<Vec<i64>, AlertError> {
    let r = store.recover_interrupted_digests()?;
    for id in &r.released {
        tracing::info!(
            digest = id,
            "digest {id} was composed by a run that stopped before sending it; its alerts are queued again"
        );
    }
    if !r.unconfirmed.is_empty() {
        for d in store.unconfirmed_digests()? {
            if r.unconfirmed.contains(&d.id) {
                tracing::warn!(
                    digest = d.id,
                    "digest {} to {} ({} alerts, Message-ID {}) was being handed to the mail server when a run stopped: \
                     it may have been delivered, so it is not sent again automatically. \
                     Ask the recipient, then run `tenderscan alert --resend {}` if it did not arrive",
                    d.id,
                    d.recipient,
                    d.alerts,
                    d.message_id,
                    d.id
                );
            }
        }
    }
    Ok(r.unconfirmed)
}

/// Hand a queued digest over: check the connection (connect, greet, secure, log in),
/// mark it `sending`, send, then mark it `sent` or `failed`.
/// Returns the number of alerts sent, or the error.
async fn deliver(
    store: &mut Store,
    transport: &Transport,
    digest_id: i64,
    recipient: &str,
    envelope: &Envelope,
    raw: &[u8],
) -> Result<Result<usize, String>, AlertError> {
    if let Err(e) = transport.check().await {
        store.mark_digest_failed(digest_id, &e)?;
        return Ok(Err(e));
    }
    store.mark_digest_sending(digest_id)?;
    match transport.send(envelope, raw, digest_id, recipient).await {
        Ok(()) => {
            let n = store.mark_digest_sent(digest_id)?;
            tracing::info!(digest = digest_id, alerts = n, "digest sent to {recipient}");
            Ok(Ok(n))
        }
        Err(e) => {
            tracing::warn!(digest = digest_id, "digest to {recipient} not sent: {e}");
            store.mark_digest_failed(digest_id, &e)?;
            Ok(Err(e))
        }
    }
}

/// Send every pending match alert: one digest per recipient (more only past
/// `MAX_ALERTS_PER_DIGEST` alerts). With `dry_run`, compose and return previews only.
pub async fn send_pending(
    store: &mut Store,
    cfg: &Config,
    rules: &HashMap<String, RuleText>,
    opts: &SendOptions,
) -> Result<SendReport, AlertError> {
    let sender = Sender::new(cfg)?;
    let mut report = SendReport::default();
    if !opts.dry_run {
        report.unconfirmed = recover(store)?;
    }
    let mut work: Vec<(String, Mailbox, Language)> = Vec::new();
    for email in store.pending_alert_recipients()? {
        match recipient_config(cfg, &email) {
            Some(r) => work.push((email.clone(), mailbox("recipient", &email)?, r.language)),
            None => tracing::warn!(
                "alerts are queued for {email}, who is no longer among the config's [[recipients]]: kept, not sent"
            ),
        }
    }
    if opts.dry_run {
        for (email, _, lang) in &work {
            for (chunk, changes) in with_changes(store, email)? {
                let d = compose::digest(&chunk, &changes, rules, *lang);
                report
                    .previews
                    .push(format!("To: {email}\nSubject: {}\n\n{}", d.subject, d.text));
            }
        }
        return Ok(report);
    }
    if work.is_empty() {
        return Ok(report);
    }
    let transport = transport(cfg)?;
    if let Err(e) = transport.check().await {
        // Nothing was composed: the alerts stay pending and record the attempt.
        tracing::warn!("alerts not sent: {e}");
        for (email, _, _) in &work {
            store.record_alert_failure(email, "match", &e)?;
            store.record_alert_failure(email, "changed", &e)?;
            report.failed.push(format!("{email}: {e}"));
        }
        return Ok(report);
    }
    for (email, to, lang) in &work {
        let envelope = sender.envelope(to)?;
        for (chunk, changes) in with_changes(store, email)? {
            let ids: Vec<i64> = chunk
                .iter()
                .map(|i| i.alert_id)
                .chain(changes.iter().map(|c| c.alert_id))
                .collect();
            let mut raw = Vec::new();
            let digest_id = store.queue_digest(email, "digest", &ids, |id| {
                let d = compose::digest(&chunk, &changes, rules, *lang);
                let message_id = sender.message_id(id);
                raw = sender.build(
                    to,
                    &d.subject,
                    &message_id,
                    Body::Alternative {
                        text: d.text,
                        html: d.html,
                    },
                )?;
                Ok::<_, AlertError>(DigestContent {
                    message_id,
                    subject: d.subject,
                    raw: raw.clone(),
                })
            })?;
            match deliver(store, &transport, digest_id, email, &envelope, &raw).await? {
                Ok(n) => {
                    report.digests_sent += 1;
                    report.alerts_sent += n;
                }
                Err(e) => report.failed.push(format!("{email}: {e}")),
            }
        }
    }
    transport.shutdown().await;
    Ok(report)
}

/// Send digest `digest_id` again, byte for byte, with the same Message-ID (mail clients
/// collapse the copies), and mark it and its alerts sent. For `unconfirmed` digests
/// (after checking with the recipient) and `sent` ones a reporter lost. A `failed`
/// digest is refused: its alerts went back to the queue. `_rules` is unused: the stored
/// message is resent as it was.
pub async fn resend(
    store: &mut Store,
    cfg: &Config,
    _rules: &HashMap<String, RuleText>,
    digest_id: i64,
) -> Result<SendReport, AlertError> {
    let sender = Sender::new(cfg)?;
    let mut report = SendReport {
        unconfirmed: recover(store)?,
        ..SendReport::default()
    };
    let d = store
        .digest(digest_id)?
        .ok_or(AlertError::NoDigest(digest_id))?;
    let refuse = |reason: &str| AlertError::NotResendable {
        id: digest_id,
        reason: reason.to_string(),
    };
    match d.status.as_str() {
        "sent" | "unconfirmed" => {}
        "failed" => {
            return Err(refuse(
                "its send failed and its alerts went back to the queue (they go out with the next digest)",
            ));
        }
        other => return Err(refuse(&format!("it is {other}"))),
    }
    let raw = d.raw.ok_or_else(|| refuse("its message was not stored"))?;
    let to = mailbox("recipient", &d.recipient)?;
    let envelope = sender.envelope(&to)?;
    let transport = transport(cfg)?;
    let outcome = match transport.check().await {
        Err(e) => Err(e),
        Ok(()) => transport.send(&envelope, &raw, d.id, &d.recipient).await,
    };
    transport.shutdown().await;
    match outcome {
        Ok(()) => {
            report.alerts_sent = store.mark_digest_resent(d.id)?;
            report.digests_sent = 1;
            tracing::info!(
                digest = d.id,
                "digest resent to {} as {}",
                d.recipient,
                d.message_id
            );
        }
        Err(e) => {
            store.record_resend_failure(d.id, &e)?;
            report.failed.push(format!("{}: {e}", d.recipient));
        }
    }
    Ok(report)
}

/// Tell the operator (`[mail] admin`) about each new problem, one message per problem
/// and once per ongoing problem: a source failing `SOURCE_FAILURES_REPORTED` runs in a
/// row (until it succeeds again), alerts that could not be mailed for over a day,
/// evidence that could not be kept (until it is), a digest left `unconfirmed`. Returns the messages sent. Without `admin`, does nothing.
/// If the messages cannot be sent they stay queued and [`AlertError::Undelivered`] says so.
pub async fn operator_check(store: &mut Store, cfg: &Config) -> Result<usize, AlertError> {
    let Some(admin) = cfg.mail.admin.as_deref() else {
        return Ok(0);
    };
    let to = mailbox("[mail] admin", admin)?;
    let sender = Sender::new(cfg)?;
    recover(store)?;
    for s in store.failing_sources(SOURCE_FAILURES_REPORTED)? {
        let since = s.last_success_at.as_deref().unwrap_or("never");
        let key = format!("source:{}:{since}", s.name);
        let payload = serde_json::json!({
            "problem": "source",
            "summary": format!("source {} failed {} runs in a row", s.name, s.consecutive_failures),
            "detail": format!(
                "Source: {}\nLast error ({}): {}\nLast success: {}",
                s.name,
                s.last_error_at.as_deref().unwrap_or("time unknown"),
                s.last_error.as_deref().unwrap_or("(none recorded)"),
                s.last_success_at.as_deref().unwrap_or("never"),
            ),
            "action": "check the portal and the source's settings; `tenderscan status` shows each source's health. You are told again only after it has worked once and fails again.",
        });
        store.queue_operator_alert(admin, &key, &payload)?;
    }
    let day_ago = crate::store::format_time(chrono::Utc::now() - chrono::Duration::hours(24));
    if let Some(st) = store.stale_failed_alerts(&day_ago)? {
        let key = format!("mail:{}", st.oldest_failure);
        let payload = serde_json::json!({
            "problem": "mail",
            "summary": format!("{} alerts could not be mailed for over a day", st.alerts),
            "detail": format!(
                "Alerts waiting: {} for {} recipients\nFirst failure: {}\nLast error: {}",
                st.alerts,
                st.recipients,
                st.oldest_failure,
                st.last_error.as_deref().unwrap_or("(none recorded)"),
            ),
            "action": "check the [mail] settings and the SMTP server; the alerts are kept and go out on the next run that can send.",
        });
        store.queue_operator_alert(admin, &key, &payload)?;
    }
    // Evidence that could not be kept (a full or broken evidence disk): told once per
    // ongoing problem, that is until every mark is cleared by a run that keeps them.
    let (notices, documents, oldest) = store.evidence_missing_marks()?;
    if let Some(oldest) = oldest.filter(|_| notices + documents > 0) {
        let folder = crate::evidence::Evidence::beside(store.path());
        let payload = serde_json::json!({
            "problem": "evidence",
            "summary": format!("evidence not kept for {notices} notices and {documents} documents"),
            "detail": format!(
                "Evidence folder: {}\nSince: {oldest}\nThe portal's pages and attachments could not be written there (a full disk, permissions, a folder that cannot be created); the run's log and `tenderscan status` name the error.\nThe notices were stored and scanned and their alerts sent; their pages are fetched again by the next runs (the cursor did not pass them, documents stay pending) until they are kept.",
                folder.dir().display()
            ),
            "action": "free space on the evidence folder's disk or fix its permissions; `tenderscan verify` lists what lacks evidence and is clean once a run has kept it.",
        });
        store.queue_operator_alert(admin, &format!("evidence:{oldest}"), &payload)?;
    }
    for d in store.unconfirmed_digests()? {
        let key = format!("unconfirmed:{}", d.id);
        let payload = serde_json::json!({
            "problem": "unconfirmed",
            "summary": format!("digest {} to {} may not have been delivered", d.id, d.recipient),
            "detail": format!(
                "A run stopped while handing digest {} ({} alerts, Message-ID {}) to the mail server at {}.\n\
                 The server may have taken it, so tenderscan does not send it again by itself.",
                d.id,
                d.alerts,
                d.message_id,
                d.attempted_at.as_deref().unwrap_or("an unknown time"),
            ),
            "action": format!(
                "ask {} whether it arrived; if not, run `tenderscan alert --resend {}` (same Message-ID, so a duplicate collapses).",
                d.recipient, d.id
            ),
        });
        store.queue_operator_alert(admin, &key, &payload)?;
    }
    let pending = store.pending_operator_alerts(admin)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let transport = transport(cfg)?;
    if let Err(e) = transport.check().await {
        store.record_alert_failure(admin, "operator", &e)?;
        return Err(AlertError::Undelivered {
            recipient: admin.to_string(),
            error: e,
        });
    }
    let envelope = sender.envelope(&to)?;
    let mut sent = 0;
    let mut last_error = None;
    for (alert_id, payload) in pending {
        let (subject, text) = compose::operator(&payload);
        let mut raw = Vec::new();
        let id = store.queue_digest(admin, "operator", &[alert_id], |id| {
            let message_id = sender.message_id(id);
            raw = sender.build(&to, &subject, &message_id, Body::Plain(text))?;
            Ok::<_, AlertError>(DigestContent {
                message_id,
                subject: subject.clone(),
                raw: raw.clone(),
            })
        })?;
        match deliver(store, &transport, id, admin, &envelope, &raw).await? {
            Ok(_) => sent += 1,
            Err(e) => last_error = Some(e),
        }
    }
    transport.shutdown().await;
    match last_error {
        Some(error) => Err(AlertError::Undelivered {
            recipient: admin.to_string(),
            error,
        }),
        None => Ok(sent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(alert_id: i64, notice_id: i64) -> AlertItem {
        AlertItem {
            alert_id,
            notice_id,
            notice_number: None,
            title: "t".into(),
            lot_number: None,
            lot_title: None,
            agency_name: None,
            agency_bin: None,
            notice_amount: None,
            amount: None,
            currency: None,
            deadline_at: None,
            deadline_local: None,
            url: None,
            source: "s".into(),
            document: None,
            rule_id: "r".into(),
            severity: crate::model::Severity::High,
            evidence: String::new(),
            evidence_start: 0,
            match_start: 0,
            match_end: 0,
            quota_kind: None,
            quota_count: None,
            quota_period: None,
            retracted: false,
        }
    }

    #[test]
    fn large_outboxes_split_between_notices() {
        let mut items = Vec::new();
        for n in 0..150 {
            items.push(item(2 * n, n));
            items.push(item(2 * n + 1, n));
        }
        let c = chunks(items);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].len(), 100);
        assert_eq!(c[0].last().unwrap().notice_id, 49);
        let total: usize = c.iter().map(Vec::len).sum();
        assert_eq!(total, 300);
        // A notice is never split.
        for w in c.windows(2) {
            assert_ne!(w[0].last().unwrap().notice_id, w[1][0].notice_id);
        }
    }
}
