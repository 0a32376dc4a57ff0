//! Alerts: the outbox rows `store` queued become one digest per recipient per run, sent
//! by SMTP (or written as `.eml` files), or on the recipient's channel (Telegram messages,
//! a signed webhook POST, an Atom feed), each alert at most once.
//!
//! What this module must never do: send an alert again in a new message when the server
//! may already have taken it (a digest caught mid-send is `unconfirmed`; only its own
//! stored bytes, with its own Message-ID, are ever sent again: by a person with
//! `--resend`, or by a run once it is `[mail] resend_unconfirmed_after_hours` old), leave
//! an `unconfirmed` digest silent (every run warns about it once it is an hour old, and
//! `status` lists it), lose an alert (a failed send puts its alerts back in the queue),
//! mail a `baseline` alert, or put untrusted notice text in a header or unescaped into
//! HTML. The delivery state machine is described in `README.md` beside this file.
//!
//! The callers hold the run lock: a digest found `queued` or `sending` at the start of a
//! call is taken to be left by a run that died.

mod atom;
mod compose;
mod telegram;
mod transport;
mod webhook;

/// What the web page (`crate::serve`) shares with the digests: their words in each
/// language and the split of evidence at its matched words.
pub(crate) use compose::{Labels, digest_labels, split_evidence};

use crate::config::{Channel, Config, Language, Recipient, channel_of};
use crate::states::{AlertKind, DigestKind, DigestStatus};
use crate::store::{AlertItem, ChangeItem, DigestContent, Store, StoreError, WatchItem};
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use std::collections::HashMap;
use transport::{Mail, Outgoing, Transport};

/// A rule's texts for digests: its title and why a match matters, in English (the
/// fallback) and in the translations its rule file gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleText {
    pub title: String,
    pub why: String,
    pub translations: crate::rules::Translations,
}

impl RuleText {
    /// The title in `lang`, English where the rule file has no translation.
    pub fn title_in(&self, lang: Language) -> &str {
        let t = &self.translations;
        match lang {
            Language::Ru => t.title_ru.as_deref(),
            Language::Kk => t.title_kk.as_deref(),
            Language::En => None,
        }
        .unwrap_or(&self.title)
    }

    /// The why line in `lang`, English where the rule file has no translation.
    pub fn why_in(&self, lang: Language) -> &str {
        let t = &self.translations;
        match lang {
            Language::Ru => t.why_ru.as_deref(),
            Language::Kk => t.why_kk.as_deref(),
            Language::En => None,
        }
        .unwrap_or(&self.why)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions {
    /// Compose the digests and return them as previews; send, write and mark nothing.
    pub dry_run: bool,
    /// The time recipients' `schedule`s are checked against (`None`: the system clock; a
    /// caller on a [`crate::clock::Clock`] passes its time).
    pub now: Option<chrono::DateTime<chrono::Utc>>,
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
    /// `unconfirmed` digests this run sent again (same Message-ID, same bytes) because
    /// they were `[mail] resend_unconfirmed_after_hours` old; counted in `digests_sent`.
    pub resent: Vec<i64>,
    /// One sentence per `unconfirmed` digest still waiting that was just found or is over
    /// an hour old: a warning, not a failure (each is also logged at warn level).
    pub warnings: Vec<String>,
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
    #[error("digest {id} cannot be marked delivered: {reason}")]
    NotConfirmable { id: i64, reason: String },
    #[error("the operator message to {recipient} could not be sent: {error}")]
    Undelivered { recipient: String, error: String },
}

/// Who gets an alert for a new match: the recipients whose severity floor and
/// rule/source filters it passes.
pub fn route(
    cfg: &Config,
    rule_id: &str,
    severity: crate::model::Severity,
    source: &str,
) -> Vec<String> {
    cfg.recipients
        .iter()
        .filter(|r| severity >= r.min_severity)
        .filter(|r| {
            r.rules
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| i == rule_id))
        })
        .filter(|r| {
            r.sources
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| n == source))
        })
        .map(|r| r.key())
        .collect()
}

/// The transport the config asks for, trusting `[mail] ca_file` where set.
fn transport(cfg: &Config) -> Result<Mail, AlertError> {
    let ca = match &cfg.mail.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| AlertError::CaFile {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    Mail::from_config(&cfg.mail, ca.as_deref())
}

/// The transport of one channel.
enum Link {
    Mail(Mail),
    Telegram(telegram::Telegram),
    Webhook(webhook::Webhook),
    Atom(atom::Atom),
}

impl Transport for Link {
    async fn check(&self) -> Result<(), String> {
        match self {
            Link::Mail(t) => t.check().await,
            Link::Telegram(t) => t.check().await,
            Link::Webhook(t) => t.check().await,
            Link::Atom(t) => t.check().await,
        }
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        match self {
            Link::Mail(t) => t.send(msg).await,
            Link::Telegram(t) => t.send(msg).await,
            Link::Webhook(t) => t.send(msg).await,
            Link::Atom(t) => t.send(msg).await,
        }
    }
    async fn shutdown(&self) {
        match self {
            Link::Mail(t) => t.shutdown().await,
            Link::Telegram(t) => t.shutdown().await,
            Link::Webhook(t) => t.shutdown().await,
            Link::Atom(t) => t.shutdown().await,
        }
    }
    fn written_to(&self, msg: &Outgoing<'_>) -> Option<std::path::PathBuf> {
        match self {
            Link::Mail(t) => t.written_to(msg),
            _ => None,
        }
    }
}

/// The transport for `channel`. Mail as before (a setup error stops the call); for the
/// other channels a missing token or secret is the channel's failure (its alerts wait,
/// the others go out).
fn link(cfg: &Config, channel: Channel) -> Result<Result<Link, String>, AlertError> {
    let timeout = cfg.mail.timeout_secs;
    Ok(match channel {
        Channel::Email => Ok(Link::Mail(transport(cfg)?)),
        Channel::Telegram => match cfg.telegram.token() {
            None => Err(format!(
                "[telegram] token_env names {:?}, which is not set: no Telegram message can be sent",
                cfg.telegram.token_env
            )),
            Some(t) => {
                telegram::Telegram::new(&cfg.telegram.api_url, t, timeout).map(Link::Telegram)
            }
        },
        Channel::Webhook => match cfg.webhook.secret() {
            None => Err(format!(
                "[webhook] secret_env names {:?}, which is not set: webhooks are never sent unsigned",
                cfg.webhook.secret_env.as_deref().unwrap_or("")
            )),
            Some(s) => webhook::Webhook::new(s, timeout).map(Link::Webhook),
        },
        Channel::Atom => Ok(Link::Atom(atom::Atom)),
    })
}

/// The channels, in the order a run delivers them.
const CHANNELS: [Channel; 4] = [
    Channel::Email,
    Channel::Telegram,
    Channel::Webhook,
    Channel::Atom,
];

/// The outbox id of a message on a channel without Message-IDs (the webhook body's `id`).
fn channel_message_id(digest_id: i64, channel: Channel) -> String {
    format!(
        "tenderscan.{digest_id}.{:016x}@{}",
        rand::random::<u64>(),
        channel.as_str()
    )
}

/// The bytes handed over for a stored digest: as stored, except for a feed, which is
/// rebuilt from this digest's entries and the recipient's delivered ones.
fn handover(
    store: &Store,
    digest_id: i64,
    recipient: &str,
    stored: &[u8],
) -> Result<Vec<u8>, AlertError> {
    if channel_of(recipient) != Channel::Atom {
        return Ok(stored.to_vec());
    }
    let mut entries: Vec<atom::Entry> = serde_json::from_slice(stored).unwrap_or_default();
    for raw in store.delivered_contents(recipient, digest_id, atom::MAX_ENTRIES)? {
        match serde_json::from_slice::<Vec<atom::Entry>>(&raw) {
            Ok(mut e) => entries.append(&mut e),
            Err(e) => tracing::warn!("a stored feed digest of {recipient} cannot be read: {e}"),
        }
        if entries.len() >= atom::MAX_ENTRIES {
            break;
        }
    }
    entries.sort_by(|a, b| b.updated.cmp(&a.updated));
    let mut seen = std::collections::HashSet::new();
    entries.retain(|e| seen.insert(e.id.clone()));
    Ok(atom::feed(recipient, &entries).into_bytes())
}

/// Largest number of alerts in one digest; more make more digests (whole notices each).
const MAX_ALERTS_PER_DIGEST: usize = 100;

/// Sources failing this many runs in a row are reported to the operator.
const SOURCE_FAILURES_REPORTED: i64 = 3;

/// Every run warns about an `unconfirmed` digest once it is this old (and the run that
/// finds it, whatever its age).
const UNCONFIRMED_WARN_AFTER_HOURS: i64 = 1;

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
    Alternative {
        text: String,
        html: String,
        /// A file attached beside the two parts: (file name, CSV text).
        csv: Option<(String, String)>,
    },
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
            Body::Alternative {
                text,
                html,
                csv: None,
            } => b.multipart(MultiPart::alternative_plain_html(text, html)),
            Body::Alternative {
                text,
                html,
                csv: Some((name, csv)),
            } => b.multipart(
                MultiPart::mixed()
                    .multipart(MultiPart::alternative_plain_html(text, html))
                    .singlepart(
                        lettre::message::Attachment::new(name).body(
                            csv,
                            lettre::message::header::ContentType::parse("text/csv; charset=utf-8")
                                .expect("a valid content type"),
                        ),
                    ),
            ),
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
    cfg.recipients.iter().find(|r| r.is(email))
}

/// Split a recipient's alerts (ordered by notice) into digests of whole notices.
fn chunks(items: Vec<AlertItem>) -> Vec<Vec<AlertItem>> {
    chunks_by_notice(items, |i| i.notice_id)
}

/// Split alerts ordered by notice into chunks of whole notices, a chunk closed once it
/// holds [`MAX_ALERTS_PER_DIGEST`].
fn chunks_by_notice<T>(items: Vec<T>, notice: impl Fn(&T) -> i64) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut cur: Vec<T> = Vec::new();
    for it in items {
        let new_notice = cur.last().is_none_or(|l| notice(l) != notice(&it));
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

/// The content of one digest: match alerts, `changed` alerts and `watch` alerts.
#[derive(Default)]
struct DigestItems {
    matches: Vec<AlertItem>,
    changes: Vec<ChangeItem>,
    watches: Vec<WatchItem>,
}

/// A recipient's digests: the match alerts in chunks of whole notices, the `changed`
/// alerts with the first chunk (or alone), the `watch` alerts in chunks of whole notices
/// beside them (their own digests past the match chunks).
fn with_changes(store: &Store, email: &str) -> Result<Vec<DigestItems>, AlertError> {
    let mut changes = store.pending_changes(email)?;
    let mut out: Vec<DigestItems> = chunks(store.pending_alerts(email)?)
        .into_iter()
        .map(|c| DigestItems {
            matches: c,
            ..DigestItems::default()
        })
        .collect();
    if !changes.is_empty() {
        match out.first_mut() {
            Some(first) => first.changes.append(&mut changes),
            None => out.push(DigestItems {
                changes,
                ..DigestItems::default()
            }),
        }
    }
    for (i, w) in chunks_by_notice(store.pending_watches(email)?, |w| w.notice_id)
        .into_iter()
        .enumerate()
    {
        match out.get_mut(i) {
            Some(d) => d.watches = w,
            None => out.push(DigestItems {
                watches: w,
                ..DigestItems::default()
            }),
        }
    }
    Ok(out)
}

/// Turn what a dead run left into `failed` (never handed over) or `unconfirmed`
/// (maybe delivered). Returns the digests that just became `unconfirmed`.
fn recover(store: &mut Store) -> Result<Vec<i64>, AlertError> {
    let r = store.recover_interrupted_digests()?;
    for id in &r.released {
        tracing::info!(
            digest = id,
            "digest {id} was composed by a run that stopped before sending it; its alerts are queued again"
        );
    }
    Ok(r.unconfirmed)
}

/// When an `unconfirmed` digest handed over at `since` is resent automatically: `None`
/// when `[mail] resend_unconfirmed_after_hours` is 0 (never). A time that cannot be read
/// counts as long past (a lost digest is worse than a duplicate one).
fn resend_due(cfg: &Config, since: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let hours = cfg.mail.resend_unconfirmed_after_hours;
    if hours == 0 {
        return None;
    }
    let at = parse_time(since).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let hours = i64::try_from(hours).unwrap_or(i64::MAX);
    Some(
        chrono::Duration::try_hours(hours)
            .and_then(|d| at.checked_add_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
    )
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Whether a run may resend digest `d` to its recipient: still a configured recipient
/// (or the admin, for operator messages).
fn still_addressed(cfg: &Config, d: &crate::store::UnconfirmedDigest) -> bool {
    if d.kind == DigestKind::Operator {
        cfg.mail
            .admin
            .as_deref()
            .is_some_and(|a| a.trim().eq_ignore_ascii_case(d.recipient.trim()))
    } else {
        recipient_config(cfg, &d.recipient).is_some()
    }
}

/// Who a digest to `recipient` is handed to, in words.
fn handed_to(recipient: &str) -> &'static str {
    match channel_of(recipient) {
        Channel::Email => "the mail server",
        Channel::Telegram => "the Telegram Bot API",
        Channel::Webhook => "the webhook",
        Channel::Atom => "the feed file",
    }
}

/// What becomes of an `unconfirmed` digest, in words, for warnings, `status` and the
/// operator message.
pub fn unconfirmed_outlook(cfg: &Config, d: &crate::store::UnconfirmedDigest) -> String {
    if !still_addressed(cfg, d) {
        return format!(
            "{} is no longer in the config, so it is not resent automatically; `tenderscan alert --resend {}` sends it anyway",
            d.recipient, d.id
        );
    }
    match resend_due(cfg, &d.since) {
        None => format!(
            "it is not resent automatically ([mail] resend_unconfirmed_after_hours = 0): ask {0}, then run `tenderscan alert --resend {1}` if it did not arrive, or `tenderscan alert --confirm {1}` if it did",
            d.recipient, d.id
        ),
        Some(due) => format!(
            "the first run after {0} resends it ({2}); `tenderscan alert --confirm {1}` if it did arrive, `tenderscan alert --resend {1}` to send it now",
            crate::stamp::format_time(due),
            d.id,
            match channel_of(&d.recipient) {
                Channel::Email => "same Message-ID, so a copy the server did take collapses",
                Channel::Telegram =>
                    "the same message: if the first did arrive, the chat shows it twice",
                Channel::Webhook => "the same body with the same id, so a receiver can drop a copy",
                Channel::Atom => "the same entries with the same ids: feed readers show them once",
            }
        ),
    }
}

/// Warn about each `unconfirmed` digest still waiting that `fresh` names (just found) or
/// that is over [`UNCONFIRMED_WARN_AFTER_HOURS`] old, except those in `skip` (already
/// reported as failures this run).
fn warn_unconfirmed(
    store: &Store,
    cfg: &Config,
    fresh: &[i64],
    skip: &[i64],
    report: &mut SendReport,
) -> Result<(), AlertError> {
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(UNCONFIRMED_WARN_AFTER_HOURS);
    for d in store.unconfirmed_digests()? {
        if skip.contains(&d.id) {
            continue;
        }
        let old = parse_time(&d.since).is_none_or(|t| t <= hour_ago);
        if !old && !fresh.contains(&d.id) {
            continue;
        }
        let w = format!(
            "digest {} to {} ({} alerts, Message-ID {}) is unconfirmed: a run stopped while handing it to {} at {}, so it may not have arrived; {}",
            d.id,
            d.recipient,
            d.alerts,
            d.message_id,
            handed_to(&d.recipient),
            d.since,
            unconfirmed_outlook(cfg, &d)
        );
        tracing::warn!(digest = d.id, "{w}");
        report.warnings.push(w);
    }
    Ok(())
}

/// Send the stored bytes of an `unconfirmed` digest again and mark it and its alerts
/// sent, or keep it `unconfirmed` with the error. Returns the alerts sent, or the error.
async fn resend_stored(
    store: &mut Store,
    transport: &impl Transport,
    sender: &Sender,
    d: &crate::store::UnconfirmedDigest,
) -> Result<Result<usize, String>, AlertError> {
    let stored = store.digest(d.id)?.ok_or(AlertError::NoDigest(d.id))?;
    let Some(raw) = stored.raw else {
        let e = "its message was not stored".to_string();
        store.record_resend_failure(d.id, &e)?;
        return Ok(Err(e));
    };
    let envelope = match channel_of(&d.recipient) {
        Channel::Email => Some(sender.envelope(&mailbox("recipient", &d.recipient)?)?),
        _ => None,
    };
    let raw = handover(store, d.id, &d.recipient, &raw)?;
    let msg = Outgoing {
        envelope: envelope.as_ref(),
        raw: &raw,
        digest_id: d.id,
        recipient: &d.recipient,
    };
    match transport.send(&msg).await {
        Ok(()) => {
            let n = store.mark_digest_resent(d.id)?;
            tracing::warn!(
                digest = d.id,
                "unconfirmed digest {} resent to {} with its Message-ID {} (handed over at {}; the recipient may see it twice)",
                d.id,
                d.recipient,
                d.message_id,
                d.since
            );
            Ok(Ok(n))
        }
        Err(e) => {
            store.record_resend_failure(d.id, &e)?;
            Ok(Err(e))
        }
    }
}

/// Hand a queued digest over: check the connection (connect, greet, secure, log in),
/// mark it `sending`, send, then mark it `sent` or `failed`.
/// Returns the number of alerts sent, or the error.
async fn deliver(
    store: &mut Store,
    transport: &impl Transport,
    digest_id: i64,
    recipient: &str,
    envelope: Option<&Envelope>,
    raw: &[u8],
) -> Result<Result<usize, String>, AlertError> {
    if let Err(e) = transport.check().await {
        store.mark_digest_failed(digest_id, &e)?;
        return Ok(Err(e));
    }
    store.mark_digest_sending(digest_id)?;
    let msg = Outgoing {
        envelope,
        raw,
        digest_id,
        recipient,
    };
    match transport.send(&msg).await {
        Ok(()) => {
            let n = store.mark_digest_sent(digest_id)?;
            match transport.written_to(&msg) {
                Some(file) => tracing::info!(
                    digest = digest_id,
                    alerts = n,
                    "digest to {recipient} written to {} (no [mail] smtp_host: not sent)",
                    file.display()
                ),
                None => {
                    tracing::info!(digest = digest_id, alerts = n, "digest sent to {recipient}")
                }
            }
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
///
/// First, `unconfirmed` digests that are `[mail] resend_unconfirmed_after_hours` old are
/// sent again, as stored; the others still waiting are warned about (see
/// [`SendReport::warnings`]).
pub async fn send_pending(
    store: &mut Store,
    cfg: &Config,
    rules: &HashMap<String, RuleText>,
    opts: &SendOptions,
) -> Result<SendReport, AlertError> {
    let sender = Sender::new(cfg)?;
    let mut report = SendReport::default();
    let at = opts.now.unwrap_or_else(chrono::Utc::now);
    if opts.dry_run {
        for w in &recipients_with_work(store, cfg, at)? {
            let (email, lang) = (&w.key, w.lang);
            for items in with_changes(store, email)? {
                if w.channel == Channel::Email {
                    let d = compose::digest(
                        &items.matches,
                        &items.changes,
                        &items.watches,
                        rules,
                        lang,
                    );
                    report
                        .previews
                        .push(format!("To: {email}\nSubject: {}\n\n{}", d.subject, d.text));
                    continue;
                }
                // The other channels: what would be handed over (a Telegram message's
                // JSON, a webhook body, a feed's entries), as text.
                for unit in units(w, &sender, rules, &items)? {
                    let (_, bytes) = (unit.build)(0)?;
                    report.previews.push(format!(
                        "To: {email}\nSubject: {}\n\n{}",
                        unit.subject,
                        String::from_utf8_lossy(&bytes)
                    ));
                }
            }
        }
        return Ok(report);
    }
    report.unconfirmed = recover(store)?;
    let now = chrono::Utc::now();
    let due: Vec<crate::store::UnconfirmedDigest> = store
        .unconfirmed_digests()?
        .into_iter()
        .filter(|d| still_addressed(cfg, d) && resend_due(cfg, &d.since).is_some_and(|t| t <= now))
        .collect();
    let work = recipients_with_work(store, cfg, at)?;
    let mut resend_failed = Vec::new();
    for channel in CHANNELS {
        let due: Vec<&crate::store::UnconfirmedDigest> = due
            .iter()
            .filter(|d| channel_of(&d.recipient) == channel)
            .collect();
        let work: Vec<&Work> = work.iter().filter(|w| w.channel == channel).collect();
        if work.is_empty() && due.is_empty() {
            continue;
        }
        let transport = link(cfg, channel)?;
        let ready = match &transport {
            Ok(t) => t.check().await.map(|()| t),
            Err(e) => Err(e.clone()),
        };
        match ready {
            Ok(transport) => {
                for d in &due {
                    match resend_stored(store, transport, &sender, d).await? {
                        Ok(n) => {
                            report.resent.push(d.id);
                            report.digests_sent += 1;
                            report.alerts_sent += n;
                        }
                        Err(e) => {
                            tracing::warn!(
                                digest = d.id,
                                "unconfirmed digest {} to {} not resent: {e}",
                                d.id,
                                d.recipient
                            );
                            report.failed.push(format!(
                                "{}: unconfirmed digest {} could not be resent: {e}",
                                d.recipient, d.id
                            ));
                            resend_failed.push(d.id);
                        }
                    }
                }
                send_new(store, transport, &sender, rules, &work, &mut report).await?;
            }
            Err(e) => {
                // Nothing was composed: the alerts stay pending and record the attempt.
                tracing::warn!("alerts not sent: {e}");
                for d in &due {
                    store.record_resend_failure(d.id, &e)?;
                    report.failed.push(format!(
                        "{}: unconfirmed digest {} is due to be resent but was not: {e}",
                        d.recipient, d.id
                    ));
                    resend_failed.push(d.id);
                }
                for w in &work {
                    store.record_alert_failure(&w.key, AlertKind::Match, &e)?;
                    store.record_alert_failure(&w.key, AlertKind::Changed, &e)?;
                    store.record_alert_failure(&w.key, AlertKind::Watch, &e)?;
                    report.failed.push(format!("{}: {e}", w.key));
                }
            }
        }
        if let Ok(t) = &transport {
            t.shutdown().await;
        }
    }
    let fresh = report.unconfirmed.clone();
    warn_unconfirmed(store, cfg, &fresh, &resend_failed, &mut report)?;
    Ok(report)
}

/// A recipient with pending alerts.
struct Work {
    /// The outbox name ([`Recipient::key`]).
    key: String,
    channel: Channel,
    lang: Language,
    /// Telegram: pack notices into digests.
    digest: bool,
    /// Mail only.
    mailbox: Option<Mailbox>,
    /// `[alerts]`: the newsroom's page of each notice.
    alerts: crate::config::AlertsConfig,
    /// The slot of the recipient's `schedule` these digests are for (none for `each-run`):
    /// recorded once they are handed over.
    slot: Option<String>,
    /// `[serve]`: the web page the email digests' cards link to.
    serve: crate::config::ServeConfig,
}

/// Recipients with pending alerts who are still configured and due by their `schedule`
/// at `now` (a scheduled recipient whose latest slot already had its digests waits).
/// Alerts for addresses no longer configured are kept, with a warning.
fn recipients_with_work(
    store: &Store,
    cfg: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Work>, AlertError> {
    let mut work = Vec::new();
    for email in store.pending_alert_recipients()? {
        let r = recipient_config(cfg, &email);
        let slot = r
            .and_then(|r| r.schedule.last_slot(now))
            .map(crate::stamp::format_time);
        if let (Some(r), Some(slot)) = (r, &slot) {
            let done = store.digest_slot(&email)?;
            if done.as_deref().is_some_and(|d| d >= slot.as_str()) {
                tracing::debug!(
                    "alerts for {email} wait for the next slot of its schedule ({}; the one at {slot} was sent)",
                    r.schedule
                );
                continue;
            }
        }
        match r {
            Some(r) => work.push(Work {
                slot: slot.clone(),
                key: email.clone(),
                channel: r.channel,
                lang: r.language,
                digest: r.digest,
                mailbox: match r.channel {
                    Channel::Email => Some(mailbox("recipient", &email)?),
                    _ => None,
                },
                alerts: cfg.alerts.clone(),
                serve: cfg.serve.clone(),
            }),
            None => tracing::warn!(
                "alerts are queued for {email}, who is no longer among the config's [[recipients]]: kept, not sent"
            ),
        }
    }
    Ok(work)
}

/// Compose and hand over each recipient's digests, one at a time: a digest is queued
/// only after the one before it has its answer, so at most one is ever `sending`.
/// A Telegram message is one digest (one notice, or notices packed under the limit).
async fn send_new(
    store: &mut Store,
    transport: &impl Transport,
    sender: &Sender,
    rules: &HashMap<String, RuleText>,
    work: &[&Work],
    report: &mut SendReport,
) -> Result<(), AlertError> {
    for w in work {
        let email = w.key.as_str();
        let envelope = w
            .mailbox
            .as_ref()
            .map(|to| sender.envelope(to))
            .transpose()?;
        let mut all_taken = true;
        for items in with_changes(store, email)? {
            for unit in units(w, sender, rules, &items)? {
                let mut raw = Vec::new();
                let digest_id = store.queue_digest(email, DigestKind::Digest, &unit.ids, |id| {
                    let (message_id, bytes) = (unit.build)(id)?;
                    raw = bytes.clone();
                    Ok::<_, AlertError>(DigestContent {
                        message_id,
                        subject: unit.subject,
                        raw: bytes,
                    })
                })?;
                let bytes = handover(store, digest_id, email, &raw)?;
                match deliver(
                    store,
                    transport,
                    digest_id,
                    email,
                    envelope.as_ref(),
                    &bytes,
                )
                .await?
                {
                    Ok(n) => {
                        report.digests_sent += 1;
                        report.alerts_sent += n;
                    }
                    Err(e) => {
                        all_taken = false;
                        report.failed.push(format!("{email}: {e}"));
                    }
                }
            }
        }
        // A scheduled recipient's slot is done once its digests were all taken; a failed
        // one is tried again by the next run.
        if let (Some(slot), true) = (&w.slot, all_taken) {
            store.record_digest_slot(email, slot)?;
        }
    }
    Ok(())
}

/// The content of one outbox message given its digest id: (Message-ID or channel id, bytes).
type Build<'a> = Box<dyn FnOnce(i64) -> Result<(String, Vec<u8>), AlertError> + 'a>;

/// One message to queue: its alerts, its subject, how to build it.
struct Unit<'a> {
    ids: Vec<i64>,
    subject: String,
    build: Build<'a>,
}

/// The messages one chunk of a recipient's alerts becomes on its channel: one mail
/// digest, one webhook body or one set of feed entries; Telegram, one message a notice
/// or (with `digest`) notices packed under the length limit.
fn units<'a>(
    w: &Work,
    sender: &'a Sender,
    rules: &HashMap<String, RuleText>,
    items: &DigestItems,
) -> Result<Vec<Unit<'a>>, AlertError> {
    let DigestItems {
        matches: chunk,
        changes,
        watches,
    } = items;
    let all_ids: Vec<i64> = chunk
        .iter()
        .map(|i| i.alert_id)
        .chain(changes.iter().map(|c| c.alert_id))
        .chain(watches.iter().map(|c| c.alert_id))
        .collect();
    let mut units: Vec<Unit<'a>> = Vec::new();
    if w.channel == Channel::Email {
        let card_page = |id: i64| w.serve.notice_page(id);
        let d = compose::digest_linked(chunk, changes, watches, rules, w.lang, &card_page);
        let Some(to) = w.mailbox.clone() else {
            return Ok(units);
        };
        let subject = d.subject.clone();
        units.push(Unit {
            ids: all_ids,
            subject: d.subject,
            build: Box::new(move |id| {
                let message_id = sender.message_id(id);
                let raw = sender.build(
                    &to,
                    &subject,
                    &message_id,
                    Body::Alternative {
                        text: d.text,
                        html: d.html,
                        csv: d.csv,
                    },
                )?;
                Ok((message_id, raw))
            }),
        });
        return Ok(units);
    }
    let page = |id: i64| w.alerts.notice_page(id);
    let pieces = compose::pieces(chunk, changes, watches, rules, w.lang, &page);
    match w.channel {
        Channel::Email => {}
        Channel::Telegram => {
            let chat = w.key.strip_prefix("telegram:").unwrap_or(&w.key);
            let chat: serde_json::Value = match chat.parse::<i64>() {
                Ok(n) => n.into(),
                Err(_) => chat.into(),
            };
            for (ids, html) in compose::telegram_messages(&pieces, w.digest) {
                let subject = subject_of(&pieces, &ids);
                let chat = chat.clone();
                units.push(Unit {
                    ids,
                    subject,
                    build: Box::new(move |id| {
                        let body = serde_json::json!({
                            "chat_id": chat,
                            "text": html,
                            "parse_mode": "HTML",
                            "link_preview_options": {"is_disabled": true},
                        });
                        Ok((
                            channel_message_id(id, Channel::Telegram),
                            body.to_string().into_bytes(),
                        ))
                    }),
                });
            }
        }
        Channel::Webhook => {
            let subject = subject_of(&pieces, &all_ids);
            let lang = match w.lang {
                Language::En => "en",
                Language::Ru => "ru",
                Language::Kk => "kk",
            };
            units.push(Unit {
                ids: all_ids,
                subject,
                build: Box::new(move |id| {
                    let message_id = channel_message_id(id, Channel::Webhook);
                    let pick = |kind: &str| -> Vec<serde_json::Value> {
                        pieces
                            .iter()
                            .filter(|p| p.kind == kind)
                            .map(|p| p.json.clone())
                            .collect()
                    };
                    let body = serde_json::json!({
                        "id": message_id,
                        "digest_id": id,
                        "created_at": crate::stamp::format_time(chrono::Utc::now()),
                        "language": lang,
                        "notices": pick("match"),
                        "changes": pick("changed"),
                        "watchlist": pick("watch"),
                    });
                    Ok((message_id, body.to_string().into_bytes()))
                }),
            });
        }
        Channel::Atom => {
            let subject = subject_of(&pieces, &all_ids);
            units.push(Unit {
                ids: all_ids,
                subject,
                build: Box::new(move |id| {
                    let now = crate::stamp::format_time(chrono::Utc::now());
                    let entries: Vec<atom::Entry> = pieces
                        .iter()
                        .map(|p| atom::Entry {
                            id: format!(
                                "urn:tenderscan:alert:{}",
                                p.alert_ids.iter().min().copied().unwrap_or(id)
                            ),
                            title: p.title.clone(),
                            updated: now.clone(),
                            link: p.link.clone(),
                            content: p.html.replace('\n', "<br>\n"),
                        })
                        .collect();
                    let raw = serde_json::to_vec(&entries).unwrap_or_default();
                    Ok((channel_message_id(id, Channel::Atom), raw))
                }),
            });
        }
    }
    Ok(units)
}

/// A short subject for a channel's message (for `status` and the outbox): its first
/// notice's title and how many more.
fn subject_of(pieces: &[compose::Piece], ids: &[i64]) -> String {
    let mine: Vec<&compose::Piece> = pieces
        .iter()
        .filter(|p| p.alert_ids.iter().any(|a| ids.contains(a)))
        .collect();
    let first = mine
        .first()
        .map(|p| p.title.as_str())
        .unwrap_or("tenderscan");
    let more = match mine.len() {
        0 | 1 => String::new(),
        n => format!(" (+{})", n - 1),
    };
    compose::header_text(&format!("tenderscan: {first}{more}"), 160)
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
    let fresh = report.unconfirmed.clone();
    warn_unconfirmed(store, cfg, &fresh, &[digest_id], &mut report)?;
    let d = store
        .digest(digest_id)?
        .ok_or(AlertError::NoDigest(digest_id))?;
    let refuse = |reason: &str| AlertError::NotResendable {
        id: digest_id,
        reason: reason.to_string(),
    };
    match d.status {
        DigestStatus::Sent | DigestStatus::Unconfirmed => {}
        DigestStatus::Failed => {
            return Err(refuse(
                "its send failed and its alerts went back to the queue (they go out with the next digest)",
            ));
        }
        other => return Err(refuse(&format!("it is {other}"))),
    }
    let raw = d.raw.ok_or_else(|| refuse("its message was not stored"))?;
    let channel = channel_of(&d.recipient);
    let envelope = match channel {
        Channel::Email => Some(sender.envelope(&mailbox("recipient", &d.recipient)?)?),
        _ => None,
    };
    let raw = handover(store, d.id, &d.recipient, &raw)?;
    let outcome = match link(cfg, channel)? {
        Err(e) => Err(e),
        Ok(transport) => {
            let outcome = match transport.check().await {
                Err(e) => Err(e),
                Ok(()) => {
                    let msg = Outgoing {
                        envelope: envelope.as_ref(),
                        raw: &raw,
                        digest_id: d.id,
                        recipient: &d.recipient,
                    };
                    transport.send(&msg).await
                }
            };
            transport.shutdown().await;
            outcome
        }
    };
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

/// A person checked that `unconfirmed` digest `digest_id` arrived (`alert --confirm`):
/// it and its alerts are marked sent, as of when it was handed over; nothing is sent and
/// it is not resent. Returns the alerts marked.
pub fn confirm(store: &mut Store, digest_id: i64) -> Result<usize, AlertError> {
    recover(store)?;
    let d = store
        .digest(digest_id)?
        .ok_or(AlertError::NoDigest(digest_id))?;
    if d.status != DigestStatus::Unconfirmed {
        return Err(AlertError::NotConfirmable {
            id: digest_id,
            reason: format!("it is {}, not unconfirmed", d.status),
        });
    }
    let n = store.mark_digest_confirmed(digest_id)?;
    tracing::info!(
        digest = digest_id,
        "digest {digest_id} to {} marked delivered by hand",
        d.recipient
    );
    Ok(n)
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
    let day_ago = crate::stamp::format_time(chrono::Utc::now() - chrono::Duration::hours(24));
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
                "A run stopped while handing digest {} ({} alerts, Message-ID {}) to {} at {}.\n\
                 It may have been taken, or not.",
                d.id,
                d.alerts,
                d.message_id,
                handed_to(&d.recipient),
                d.attempted_at.as_deref().unwrap_or("an unknown time"),
            ),
            "action": format!(
                "ask {} whether it arrived; {}.",
                d.recipient,
                unconfirmed_outlook(cfg, &d)
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
        store.record_alert_failure(admin, AlertKind::Operator, &e)?;
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
        let id = store.queue_digest(admin, DigestKind::Operator, &[alert_id], |id| {
            let message_id = sender.message_id(id);
            raw = sender.build(&to, &subject, &message_id, Body::Plain(text))?;
            Ok::<_, AlertError>(DigestContent {
                message_id,
                subject: subject.clone(),
                raw: raw.clone(),
            })
        })?;
        match deliver(store, &transport, id, admin, Some(&envelope), &raw).await? {
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

    /// The delivery steps against a stub transport and a real SQLite file: `sent` when the
    /// server takes it, `failed` when it is down or refuses, never `sending` afterwards.
    #[tokio::test]
    async fn deliver_marks_the_digest_by_what_the_transport_answers() {
        use transport::Stub;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let envelope = Envelope::new(
            Some("a@example.org".parse().unwrap()),
            vec!["desk@example.org".parse().unwrap()],
        )
        .unwrap();
        let queue = |store: &mut Store| {
            store
                .queue_digest("desk@example.org", DigestKind::Digest, &[], |id| {
                    Ok::<_, AlertError>(DigestContent {
                        message_id: format!("<{id}@t>"),
                        subject: "s".into(),
                        raw: format!("Message-ID: <{id}@t>\r\n\r\nbody").into_bytes(),
                    })
                })
                .unwrap()
        };
        let status = |store: &Store, id: i64| -> String {
            store
                .conn()
                .query_row("SELECT status FROM digests WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        let ok = Stub::default();
        let id = queue(&mut store);
        let raw = store.digest(id).unwrap().unwrap().raw.unwrap();
        let r = deliver(
            &mut store,
            &ok,
            id,
            "desk@example.org",
            Some(&envelope),
            &raw,
        )
        .await
        .unwrap();
        assert_eq!(r, Ok(0));
        assert_eq!(status(&store, id), "sent");
        assert_eq!(
            ok.sent.lock().unwrap().as_slice(),
            &[(id, "desk@example.org".to_string(), raw)]
        );

        let down = Stub {
            down: Some("SMTP server x:25: connection refused".into()),
            ..Stub::default()
        };
        let id = queue(&mut store);
        let r = deliver(
            &mut store,
            &down,
            id,
            "desk@example.org",
            Some(&envelope),
            b"x",
        )
        .await
        .unwrap();
        assert_eq!(r, Err("SMTP server x:25: connection refused".to_string()));
        assert_eq!(status(&store, id), "failed");
        assert!(down.sent.lock().unwrap().is_empty());

        let refuse = Stub {
            refuse: Some("SMTP server x:25: 550 no such user".into()),
            ..Stub::default()
        };
        let id = queue(&mut store);
        let r = deliver(
            &mut store,
            &refuse,
            id,
            "desk@example.org",
            Some(&envelope),
            b"x",
        )
        .await
        .unwrap();
        assert!(r.is_err());
        assert_eq!(status(&store, id), "failed");
    }

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
            by_ocr: false,
            method: None,
            suppliers: Vec::new(),
            planned: false,
            plan_links: Vec::new(),
            reasons: Vec::new(),
            document_sha256: None,
            quota_source: Some("text".into()),
            quota_label: None,
            quota_sure: true,
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
