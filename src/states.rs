//! The closed sets of values the database keeps as text: alert and digest states and kinds,
//! run states, what a match was found in, quota kinds and periods, and the events a
//! `changed` alert carries. Each is a Rust enum with its text form (`as_str`, `Display`,
//! `FromStr`, serde) and its SQL form (rusqlite `ToSql`/`FromSql`, the same text), so the
//! store binds and reads them typed and callers compare variants, never strings.
//!
//! Must never: change a text form. They are in the database (and its CHECK triggers,
//! the `states` migration), the JSON output, the CSV exports, the views and the README: users'
//! queries and scripts rely on them. A new value is added here and to the database's
//! check in a new migration, together. Must never panic on a value it does not know:
//! text outside a set is an [`UnknownValue`] error (from SQL, a conversion error that
//! names the column's index).
//!
//! A leaf module: it imports nothing from the crate but `model`.

use crate::model::Severity;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A text that is none of a closed set's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected {expected})")]
pub struct UnknownValue {
    /// What the set is ("alert status").
    pub what: &'static str,
    pub value: String,
    /// The set's values, for people ("pending, queued, sent or baseline").
    pub expected: String,
}

impl UnknownValue {
    fn new(what: &'static str, value: &str, texts: &[&str]) -> UnknownValue {
        let expected = match texts {
            [] => String::new(),
            [one] => (*one).to_string(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        };
        UnknownValue {
            what,
            // Kept short: the value may be anything a hand-edited database holds.
            value: value.chars().take(100).collect(),
            expected,
        }
    }
}

/// The text of an SQL value, or the reason it is not one.
fn sql_text(value: ValueRef<'_>) -> FromSqlResult<&str> {
    match value {
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|e| FromSqlError::Other(Box::new(e))),
        _ => Err(FromSqlError::InvalidType),
    }
}

/// A closed set of values with one text form each.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $var:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $var, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; <[&str]>::len(&[$($text),+])] = [$($name::$var),+];

            /// The text form (as stored, serialized and shown).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$var => $text, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $( $text => Ok($name::$var), )+
                    other => Err(UnknownValue::new($what, other, &[$($text),+])),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            /// The error is serde's own for an unknown variant, as a derived enum gives it
            /// (rule files and config errors keep their wording).
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse()
                    .map_err(|_| serde::de::Error::unknown_variant(&s, &[$($text),+]))
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.as_str().as_bytes())))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                sql_text(value)?
                    .parse()
                    .map_err(|e: UnknownValue| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

text_enum! {
    /// Where an alert is in its delivery (`alerts.status`; see `src/alert/README.md`).
    pub enum AlertStatus ("alert status") {
        /// Waiting for the next digest (`digest_id` NULL).
        Pending = "pending",
        /// Attached to a digest being sent, or to an unconfirmed one.
        Queued = "queued",
        Sent = "sent",
        /// Recorded by a `--baseline` run: never mailed.
        Baseline = "baseline",
    }
}

text_enum! {
    /// What an alert is about (`alerts.kind`).
    pub enum AlertKind ("alert kind") {
        /// A new match.
        Match = "match",
        /// A flagged notice changed, lost the matched words, was cancelled or disappeared.
        Changed = "changed",
        /// A problem for the operator (`[mail] admin`).
        Operator = "operator",
        /// A new or changed notice on a `[[watch]]` list (whether or not a rule fired).
        Watch = "watch",
    }
}

text_enum! {
    /// Where a digest is in its delivery (`digests.status`).
    pub enum DigestStatus ("digest status") {
        /// Composed, alerts attached, not yet handed to the server.
        Queued = "queued",
        /// Being handed to the server.
        Sending = "sending",
        Sent = "sent",
        /// The server did not take it; its alerts went back to pending.
        Failed = "failed",
        /// A run died while sending: the server may have it.
        Unconfirmed = "unconfirmed",
    }
}

text_enum! {
    /// Whose digest it is (`digests.kind`).
    pub enum DigestKind ("digest kind") {
        /// A recipient's.
        Digest = "digest",
        /// The operator's (`[mail] admin`).
        Operator = "operator",
    }
}

text_enum! {
    /// How a run ended (`runs.status`).
    pub enum RunStatus ("run status") {
        /// Under way (or died without closing its record: the next run makes it `killed`).
        Running = "running",
        Ok = "ok",
        /// Some source or the mail failed; the rest was done.
        Partial = "partial",
        /// Allowed by the schema since migration 002; no build writes it.
        Failed = "failed",
        /// Stopped by a signal.
        Interrupted = "interrupted",
        /// Found `running` by the next run: the process died.
        Killed = "killed",
    }
}

text_enum! {
    /// What a quota counts (`matches.quota_kind`, the `quotas` JSON's `kind`).
    pub enum QuotaKind ("quota kind") {
        Comments = "comments",
        Posts = "posts",
        Accounts = "accounts",
        Followers = "followers",
        Likes = "likes",
    }
}

text_enum! {
    /// The period a quota is counted over (`matches.quota_period`, the `quotas` JSON's `per`).
    pub enum Period ("quota period") {
        Day = "day",
        Week = "week",
        Month = "month",
        /// A quarter ("в квартал", "ежеквартально", "тоқсан сайын").
        Quarter = "quarter",
        /// The whole contract or service period ("за весь период оказания услуг", "в рамках
        /// договора", "шарт мерзімі ішінде").
        Term = "term",
    }
}

text_enum! {
    /// What a reviewer made of a flag (`verdicts.verdict`; `tenderscan review`).
    pub enum Verdict ("verdict") {
        /// The tender does order fake opinion.
        Confirmed = "confirmed",
        /// The rule was wrong: no further alerts about the flag, unless the notice changes
        /// in a way that matters (new matches, the amount).
        FalsePositive = "false-positive",
        /// A story ran on it: watched for quiet edits (its documents are fetched again on
        /// every change, even after the matched words are gone).
        Published = "published",
        /// Being looked into.
        Watching = "watching",
    }
}

text_enum! {
    /// How one field of a notice changed between two versions.
    pub enum Change ("change") {
        Changed = "changed",
        Added = "added",
        Removed = "removed",
    }
}

text_enum! {
    /// Where words a match found were removed from (a `phrase_removed` event's `place`).
    pub enum Place ("place") {
        TechnicalSpecification = "technical_specification",
        Document = "document",
        Lot = "lot",
        Notice = "notice",
    }
}

impl ToSql for Severity {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(
            self.as_str().as_bytes(),
        )))
    }
}

impl FromSql for Severity {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match sql_text(value)? {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            other => Err(FromSqlError::Other(Box::new(UnknownValue::new(
                "severity",
                other,
                &["low", "medium", "high"],
            )))),
        }
    }
}

/// What a match was found in (`matches.target`): the notice's own text, a lot's, or a
/// document's. Its text form is `notice:ID`, `lot:ID` or `document:ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Notice(i64),
    Lot(i64),
    Document(i64),
}

impl Target {
    /// The id of the notice, lot or document.
    pub fn id(self) -> i64 {
        match self {
            Target::Notice(id) | Target::Lot(id) | Target::Document(id) => id,
        }
    }

    /// `notice`, `lot` or `document`.
    pub fn kind(self) -> &'static str {
        match self {
            Target::Notice(_) => "notice",
            Target::Lot(_) => "lot",
            Target::Document(_) => "document",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{}:{}", self.kind(), self.id()))
    }
}

impl FromStr for Target {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        let unknown =
            || UnknownValue::new("match target", s, &["notice:ID", "lot:ID", "document:ID"]);
        let (kind, id) = s.split_once(':').ok_or_else(unknown)?;
        // Digits only (no sign, no spaces), as the database's check has it.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unknown());
        }
        let id: i64 = id.parse().map_err(|_| unknown())?;
        match kind {
            "notice" => Ok(Target::Notice(id)),
            "lot" => Ok(Target::Lot(id)),
            "document" => Ok(Target::Document(id)),
            _ => Err(unknown()),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl ToSql for Target {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Target {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        sql_text(value)?
            .parse()
            .map_err(|e: UnknownValue| FromSqlError::Other(Box::new(e)))
    }
}

/// One difference between two versions of a notice (an entry of `notice_versions.changes`
/// and of a `changed` event's `changes`). `store::history` works them out; `show` and the
/// digests describe them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `title`, `amount`, `status`, ..., `lot`, `document`, `award` or `record`: a field
    /// of the notice as mapped, an open set as records grow; `match` (name: the rule, new:
    /// the matched words) for a new match of a rule whose flags were dismissed.
    pub field: String,
    pub change: Change,
    /// For a lot's field: the lot's number (or id); for a document: its file name; for an
    /// award: its suppliers' names; for a match: its rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For a lot or an award: which of its fields changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

impl FieldChange {
    /// One line for people: `title: "A" -> "B"`, `document removed techspec.docx`,
    /// `lot 7-ЗЦП1 amount: 1300000 -> 900000`.
    pub fn describe(&self) -> String {
        let v = |x: &Option<Value>| match x {
            None | Some(Value::Null) => "(none)".to_string(),
            Some(Value::String(s)) => format!("\"{s}\""),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                _ => n.to_string(),
            },
            Some(other) => other.to_string(),
        };
        let name = self.name.as_deref().unwrap_or("");
        let change = self.change;
        match (self.field.as_str(), change, &self.detail) {
            ("lot", Change::Changed, Some(d)) => {
                format!("lot {name} {d}: {} -> {}", v(&self.old), v(&self.new))
            }
            ("award", Change::Changed, Some(d)) => {
                format!("award to {name} {d}: {} -> {}", v(&self.old), v(&self.new))
            }
            ("award", change, _) => match self.new.clone().or_else(|| self.old.clone()) {
                Some(amount) => format!("award to {name} {change} ({})", v(&Some(amount))),
                None => format!("award to {name} {change}"),
            },
            ("lot" | "document" | "match", change, _) => match (&self.old, &self.new) {
                (_, Some(Value::String(t))) | (Some(Value::String(t)), None) => {
                    format!("{} {change} {name} \"{t}\"", self.field)
                }
                _ => format!("{} {change} {name}", self.field),
            },
            (field, _, _) if self.old.is_some() || self.new.is_some() => {
                format!("{field}: {} -> {}", v(&self.old), v(&self.new))
            }
            (field, change, _) => format!("{field} {change}"),
        }
    }
}

/// What changed from a notice's version before (`notice_versions.changes`), in one of the
/// two forms builds wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VersionChanges {
    /// Each difference, with old and new values where short (since the evidence migration).
    Fields(Vec<FieldChange>),
    /// The names of the fields that changed, as the first builds wrote them.
    Named(Vec<String>),
}

impl VersionChanges {
    /// One line for people: the differences described, `; ` between them; the old form as
    /// its JSON list of names.
    pub fn describe(&self) -> String {
        match self {
            VersionChanges::Fields(cs) => cs
                .iter()
                .map(FieldChange::describe)
                .collect::<Vec<_>>()
                .join("; "),
            VersionChanges::Named(names) => Value::from(names.clone()).to_string(),
        }
    }
}

/// One event of a `changed` alert (an entry of its payload's `events`), as `store` queues
/// it and the digest tells it. Its JSON has `type` (one of [`ChangeEvent::TYPES`]) and
/// `at` (UTC), and the fields of its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeEvent {
    /// A new version of the notice, and what changed from the one before.
    Changed {
        at: String,
        version: i64,
        changes: Vec<FieldChange>,
    },
    /// A match was retracted: the words it found are no longer in the text.
    PhraseRemoved {
        at: String,
        rule_id: String,
        /// The matched words.
        phrase: String,
        /// The sentence around them.
        evidence: String,
        place: Place,
        /// The document's file name or title, where the words were in a document.
        document: Option<String>,
    },
    /// The notice's status now says the procurement was called off.
    Cancelled {
        at: String,
        status: Option<String>,
        status_code: Option<String>,
    },
    /// The portal no longer has the notice.
    Gone {
        at: String,
        /// How the re-check found out.
        how: String,
    },
}

impl ChangeEvent {
    /// The `type` of each kind of event, as stored (and checked by the database).
    pub const TYPES: [&'static str; 4] = ["changed", "phrase_removed", "cancelled", "gone"];

    /// When it happened (UTC, as stored).
    pub fn at(&self) -> &str {
        match self {
            ChangeEvent::Changed { at, .. }
            | ChangeEvent::PhraseRemoved { at, .. }
            | ChangeEvent::Cancelled { at, .. }
            | ChangeEvent::Gone { at, .. } => at,
        }
    }

    /// Its `type`.
    pub fn type_str(&self) -> &'static str {
        match self {
            ChangeEvent::Changed { .. } => Self::TYPES[0],
            ChangeEvent::PhraseRemoved { .. } => Self::TYPES[1],
            ChangeEvent::Cancelled { .. } => Self::TYPES[2],
            ChangeEvent::Gone { .. } => Self::TYPES[3],
        }
    }

    /// As JSON, the way the outbox stores it (the keys in order, as a `json!` object has them).
    pub fn to_json(&self) -> Value {
        // Serializing plain strings, integers and JSON values cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use serde_json::json;

    /// Text -> enum -> text, SQL -> enum -> SQL, JSON -> enum -> JSON, and an unknown
    /// value an error from each, for one closed set.
    fn round_trips<T>(all: &[T], what: &str)
    where
        T: Copy
            + PartialEq
            + fmt::Debug
            + fmt::Display
            + FromStr<Err = UnknownValue>
            + ToSql
            + FromSql
            + Serialize
            + for<'de> Deserialize<'de>,
    {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v)").unwrap();
        let mut texts = Vec::new();
        for &v in all {
            let text = v.to_string();
            assert!(!texts.contains(&text), "{what}: {text} twice");
            texts.push(text.clone());
            assert_eq!(text.parse::<T>().unwrap(), v);
            // Bound as a parameter, the database holds the text form.
            conn.execute("DELETE FROM t", []).unwrap();
            conn.execute("INSERT INTO t VALUES (?1)", [&v]).unwrap();
            let (stored, back): (String, T) = conn
                .query_row("SELECT v, v FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap();
            assert_eq!((stored.as_str(), back), (text.as_str(), v));
            let j = serde_json::to_value(v).unwrap();
            assert_eq!(j, json!(text));
            assert_eq!(serde_json::from_value::<T>(j).unwrap(), v);
        }
        // Unknown text: an error naming the set and the value, never a panic.
        for bad in [
            "",
            "Pending ",
            "PENDING",
            "nope",
            "notice:",
            "notice:-1",
            "lot:1x",
        ] {
            if texts.iter().any(|t| t == bad) {
                continue;
            }
            let e = bad.parse::<T>().unwrap_err();
            assert_eq!(e.what, what);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
            assert!(serde_json::from_value::<T>(json!(bad)).is_err());
            let got = conn.query_row("SELECT ?1", [bad], |r| r.get::<_, T>(0));
            match got {
                Err(rusqlite::Error::FromSqlConversionFailure(0, _, e)) => {
                    assert!(e.to_string().contains(what), "{e}")
                }
                other => panic!("{what} {bad:?}: {other:?}"),
            }
        }
        // Not text at all: a type error, not a guess.
        let got = conn.query_row("SELECT 1", [], |r| r.get::<_, T>(0));
        assert!(
            matches!(got, Err(rusqlite::Error::InvalidColumnType(..))),
            "{got:?}"
        );
        assert!(
            conn.query_row("SELECT NULL", [], |r| r.get::<_, Option<T>>(0))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn every_closed_set_round_trips_and_refuses_unknown_values() {
        round_trips(&AlertStatus::ALL, "alert status");
        round_trips(&AlertKind::ALL, "alert kind");
        round_trips(&DigestStatus::ALL, "digest status");
        round_trips(&DigestKind::ALL, "digest kind");
        round_trips(&RunStatus::ALL, "run status");
        round_trips(&QuotaKind::ALL, "quota kind");
        round_trips(&Period::ALL, "quota period");
        round_trips(&Change::ALL, "change");
        round_trips(&Place::ALL, "place");
        round_trips(&Verdict::ALL, "verdict");
        round_trips(
            &[
                Target::Notice(1),
                Target::Lot(7),
                Target::Document(i64::MAX),
                Target::Notice(0),
            ],
            "match target",
        );
    }

    /// The text forms are contracts (database, JSON, CSV, views, README): spelled out here
    /// once more so that a rename fails a test.
    #[test]
    fn the_text_forms_are_the_documented_ones() {
        let texts = |v: &[&'static str]| v.join(" ");
        assert_eq!(
            texts(&AlertStatus::ALL.map(AlertStatus::as_str)),
            "pending queued sent baseline"
        );
        assert_eq!(
            texts(&AlertKind::ALL.map(AlertKind::as_str)),
            "match changed operator watch"
        );
        assert_eq!(
            texts(&DigestStatus::ALL.map(DigestStatus::as_str)),
            "queued sending sent failed unconfirmed"
        );
        assert_eq!(
            texts(&DigestKind::ALL.map(DigestKind::as_str)),
            "digest operator"
        );
        assert_eq!(
            texts(&RunStatus::ALL.map(RunStatus::as_str)),
            "running ok partial failed interrupted killed"
        );
        assert_eq!(
            texts(&QuotaKind::ALL.map(QuotaKind::as_str)),
            "comments posts accounts followers likes"
        );
        assert_eq!(
            texts(&Period::ALL.map(Period::as_str)),
            "day week month quarter term"
        );
        assert_eq!(
            texts(&Place::ALL.map(Place::as_str)),
            "technical_specification document lot notice"
        );
        assert_eq!(Target::Document(42).to_string(), "document:42");
        assert_eq!("lot:7".parse::<Target>().unwrap(), Target::Lot(7));
        assert_eq!(format!("{:<10}|", Target::Lot(7)), "lot:7     |");
        // Too large for an id: an error, not a wrap.
        assert!("notice:99999999999999999999".parse::<Target>().is_err());
        assert!("notice:+1".parse::<Target>().is_err());
        assert!("notice: 1".parse::<Target>().is_err());
        assert!("page:1".parse::<Target>().is_err());
    }

    #[test]
    fn severity_reads_and_binds_as_its_text() {
        let conn = Connection::open_in_memory().unwrap();
        for s in Severity::ALL {
            let back: Severity = conn.query_row("SELECT ?1", [s], |r| r.get(0)).unwrap();
            assert_eq!(back, s);
            let text: String = conn.query_row("SELECT ?1", [s], |r| r.get(0)).unwrap();
            assert_eq!(text, s.as_str());
        }
        let got = conn.query_row("SELECT 'urgent'", [], |r| r.get::<_, Severity>(0));
        match got {
            Err(rusqlite::Error::FromSqlConversionFailure(0, _, e)) => {
                assert_eq!(
                    e.to_string(),
                    "unknown severity \"urgent\" (expected low, medium or high)"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    /// The events keep the JSON they had as `json!` objects: same keys, same values, same
    /// order; and they read back, or fail with the unknown value named.
    #[test]
    fn change_events_keep_their_json() {
        let changes = vec![FieldChange {
            field: "amount".into(),
            change: Change::Changed,
            name: None,
            detail: None,
            old: Some(json!(1300000.0)),
            new: Some(json!(900000.0)),
        }];
        let cases = [
            (
                ChangeEvent::Changed {
                    at: "2026-11-28T10:00:00Z".into(),
                    version: 2,
                    changes: changes.clone(),
                },
                json!({"type": "changed", "at": "2026-11-28T10:00:00Z", "version": 2, "changes": changes}),
            ),
            (
                ChangeEvent::PhraseRemoved {
                    at: "t".into(),
                    rule_id: "fake-accounts".into(),
                    phrase: "фейковых аккаунтов".into(),
                    evidence: "создание фейковых аккаунтов".into(),
                    place: Place::TechnicalSpecification,
                    document: None,
                },
                json!({"type": "phrase_removed", "at": "t", "rule_id": "fake-accounts",
                       "phrase": "фейковых аккаунтов", "evidence": "создание фейковых аккаунтов",
                       "place": "technical_specification", "document": null}),
            ),
            (
                ChangeEvent::Cancelled {
                    at: "t".into(),
                    status: Some("Отменено".into()),
                    status_code: None,
                },
                json!({"type": "cancelled", "at": "t", "status": "Отменено", "status_code": null}),
            ),
            (
                ChangeEvent::Gone {
                    at: "t".into(),
                    how: "HTTP 404".into(),
                },
                json!({"type": "gone", "at": "t", "how": "HTTP 404"}),
            ),
        ];
        for (ev, want) in cases {
            assert_eq!(ev.to_json(), want);
            assert_eq!(ev.to_json().to_string(), want.to_string());
            assert_eq!(ev.to_json()["type"], ev.type_str());
            assert!(ChangeEvent::TYPES.contains(&ev.type_str()));
            assert_eq!(ev.at(), want["at"]);
            assert_eq!(serde_json::from_value::<ChangeEvent>(want).unwrap(), ev);
        }
        let e =
            serde_json::from_value::<ChangeEvent>(json!({"type": "moved", "at": "t"})).unwrap_err();
        assert!(e.to_string().contains("moved"), "{e}");
        let e = serde_json::from_value::<ChangeEvent>(json!({"type": "phrase_removed",
            "at": "t", "rule_id": "r", "phrase": "p", "evidence": "e", "place": "footnote"}))
        .unwrap_err();
        assert!(e.to_string().contains("unknown variant `footnote`"), "{e}");
        let e =
            serde_json::from_value::<FieldChange>(json!({"field": "title", "change": "edited"}))
                .unwrap_err();
        assert!(e.to_string().contains("unknown variant `edited`"), "{e}");

        // Version changes: both forms builds wrote read back and serialize as they were.
        for stored in [
            r#"[{"change":"changed","field":"amount","new":900000.0,"old":1300000.0}]"#,
            r#"["amount","title"]"#,
            "[]",
        ] {
            let v: VersionChanges = serde_json::from_str(stored).unwrap();
            let back = serde_json::to_value(&v).unwrap().to_string();
            assert_eq!(back, stored);
        }
        let v: VersionChanges = serde_json::from_str(r#"["amount","title"]"#).unwrap();
        assert_eq!(v.describe(), r#"["amount","title"]"#);
        let v: VersionChanges = serde_json::from_str(
            r#"[{"field":"amount","change":"changed","old":1300000.0,"new":900000.0},
                {"field":"document","change":"removed","name":"ts.docx"}]"#,
        )
        .unwrap();
        assert_eq!(
            v.describe(),
            "amount: 1300000 -> 900000; document removed ts.docx"
        );
        let bad = r#"[{"field": "x", "change": "moved"}]"#;
        assert!(serde_json::from_str::<VersionChanges>(bad).is_err());
        assert!(serde_json::from_str::<VersionChanges>(r#"{"amount": 1}"#).is_err());
    }
}
