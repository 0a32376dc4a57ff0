//! Watchlists: `[[watch]]` entries, in config.toml and in the watch file beside the
//! database (`watches.toml`, edited by `tenderscan watch add|list|remove`). A watch has a
//! name, one thing to watch (an agency BIN, a supplier BIN, a region, an ENSTRU/KTRU code
//! prefix, or a full-text query in the syntax of `tenderscan search`) and, optionally, the
//! recipients it goes to (all recipients when absent).
//!
//! What this module must never do: accept a watch that names no recipient it can resolve,
//! two watches of one name (across both files), or an entry with two things to watch;
//! write the watch file in place (it is replaced atomically, synced); or report an error
//! without the file and the line.

use super::{Channel, Config, ConfigError, Locate, Recipient};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The watch file's name, in the database's folder.
pub const WATCH_FILE: &str = "watches.toml";

/// Longest watch name.
const MAX_NAME_CHARS: usize = 100;
/// Longest value watched (a region's name, a query).
const MAX_VALUE_CHARS: usize = 500;

/// One `[[watch]]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEntry {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_bin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_bin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Recipients by the name `status` shows: an address, `telegram:CHAT`, `webhook:URL`,
    /// `atom:PATH` (or the bare chat id or URL). All recipients when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<String>>,
}

/// What a watch looks for in a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchOn {
    /// The notice's agency (customer or organiser), by BIN.
    AgencyBin(String),
    /// A supplier of one of the notice's awards or contracts, by BIN.
    SupplierBin(String),
    /// The notice's region, compared without case.
    Region(String),
    /// A prefix of an ENSTRU/KTRU code, compared with the codes of the notice's lots.
    Code(String),
    /// A full-text query (every word, stemmed, as `tenderscan search` reads it) in the
    /// notice's text, a lot's or a document's.
    Query(String),
}

impl WatchOn {
    /// The key it is written with.
    pub fn key(&self) -> &'static str {
        match self {
            WatchOn::AgencyBin(_) => "agency_bin",
            WatchOn::SupplierBin(_) => "supplier_bin",
            WatchOn::Region(_) => "region",
            WatchOn::Code(_) => "code",
            WatchOn::Query(_) => "query",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            WatchOn::AgencyBin(v)
            | WatchOn::SupplierBin(v)
            | WatchOn::Region(v)
            | WatchOn::Code(v)
            | WatchOn::Query(v) => v,
        }
    }
}

/// A checked watch and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub name: String,
    pub on: WatchOn,
    /// Indexes into the config's `recipients`; `None`: all of them.
    pub recipients: Option<Vec<usize>>,
    /// The file it is written in (config.toml or the watch file) and its line.
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Written in the watch file (else in config.toml).
    pub in_watch_file: bool,
}

impl Watch {
    /// The outbox names of its recipients (see [`Recipient::key`]).
    pub fn recipient_keys(&self, cfg: &Config) -> Vec<String> {
        match &self.recipients {
            None => cfg.recipients.iter().map(Recipient::key).collect(),
            Some(ix) => ix
                .iter()
                .filter_map(|&i| cfg.recipients.get(i))
                .map(Recipient::key)
                .collect(),
        }
    }
}

/// The watch file of the database at `db`.
pub fn file_beside(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(WATCH_FILE)
}

/// Whether `name` (as a watch writes it) is recipient `r`. `dir` is the config's folder,
/// against which a relative `atom:PATH` resolves.
fn names(r: &Recipient, name: &str, dir: &Path) -> bool {
    let name = name.trim();
    if r.is(name) {
        return true;
    }
    match r.channel {
        Channel::Email => false,
        Channel::Telegram => r.chat_id.as_ref().is_some_and(|c| c.to_string() == name),
        Channel::Webhook => r.url.as_deref() == Some(name),
        Channel::Atom => {
            let p = Path::new(name.strip_prefix("atom:").unwrap_or(name));
            r.path
                .as_deref()
                .is_some_and(|mine| mine == p || mine == dir.join(p))
        }
    }
}

fn bin(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(format!("{v:?} is not a BIN (12 digits)"))
    }
}

fn text(v: &str, what: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if v.chars().count() > MAX_VALUE_CHARS || v.chars().any(char::is_control) {
        return Err(format!(
            "{what} must be one line of at most {MAX_VALUE_CHARS} characters"
        ));
    }
    Ok(v.to_string())
}

/// A checked entry: what it watches and its recipients' indexes (`None`: all).
type Checked = (WatchOn, Option<Vec<usize>>);

/// Check one entry: (the key at fault, the message) on error.
fn check_entry(
    e: &WatchEntry,
    recipients: &[Recipient],
    dir: &Path,
) -> Result<Checked, (&'static str, String)> {
    let name = e.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err((
            "name",
            format!("a watch needs a name of one line, at most {MAX_NAME_CHARS} characters"),
        ));
    }
    let mut found: Vec<(&'static str, WatchOn)> = Vec::new();
    let mut push =
        |key: &'static str, on: Result<WatchOn, String>| -> Result<(), (&'static str, String)> {
            found.push((key, on.map_err(|m| (key, m))?));
            Ok(())
        };
    if let Some(v) = &e.agency_bin {
        push("agency_bin", bin(v).map(WatchOn::AgencyBin))?;
    }
    if let Some(v) = &e.supplier_bin {
        push("supplier_bin", bin(v).map(WatchOn::SupplierBin))?;
    }
    if let Some(v) = &e.region {
        push("region", text(v, "region").map(WatchOn::Region))?;
    }
    if let Some(v) = &e.code {
        let c = text(v, "code").and_then(|c| {
            if c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.') {
                Ok(c)
            } else {
                Err(format!(
                    "{c:?} is not an ENSTRU/KTRU code prefix (digits and dots, like \"731112\")"
                ))
            }
        });
        push("code", c.map(WatchOn::Code))?;
    }
    if let Some(v) = &e.query {
        let q = text(v, "query").and_then(|q| {
            if q.chars().any(char::is_alphanumeric) {
                Ok(q)
            } else {
                Err(format!("{q:?} has no words to search for"))
            }
        });
        push("query", q.map(WatchOn::Query))?;
    }
    let on = match found.len() {
        0 => {
            return Err((
                "name",
                format!(
                    "watch {name:?} watches nothing: give one of agency_bin, supplier_bin, region, code, query"
                ),
            ));
        }
        1 => found.remove(0).1,
        _ => {
            return Err((
                found[1].0,
                format!(
                    "watch {name:?} has both {} and {}: one thing to watch per [[watch]] (write two watches)",
                    found[0].0, found[1].0
                ),
            ));
        }
    };
    let recipients = match &e.recipients {
        None => None,
        Some(list) if list.is_empty() => {
            return Err((
                "recipients",
                "is empty: leave it out to send the watch to every recipient".into(),
            ));
        }
        Some(list) => {
            let mut ix = Vec::new();
            for n in list {
                match recipients.iter().position(|r| names(r, n, dir)) {
                    Some(i) if !ix.contains(&i) => ix.push(i),
                    Some(_) => {}
                    None => {
                        return Err((
                            "recipients",
                            format!(
                                "{n:?} is none of the config's [[recipients]] (name them as `tenderscan status` does: an address, telegram:CHAT, webhook:URL, atom:PATH)"
                            ),
                        ));
                    }
                }
            }
            Some(ix)
        }
    };
    Ok((on, recipients))
}

/// Check the `[[watch]]` entries of one file (`at`), given the watches already known
/// (whose names they must not take).
fn check_all(
    at: &Locate<'_>,
    entries: &[WatchEntry],
    recipients: &[Recipient],
    dir: &Path,
    known: &[Watch],
    in_watch_file: bool,
) -> Result<Vec<Watch>, ConfigError> {
    let mut out: Vec<Watch> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let (on, rcpt) =
            check_entry(e, recipients, dir).map_err(|(k, m)| at.key("watch", Some(i), k, m))?;
        let name = e.name.trim().to_string();
        if let Some(w) = known.iter().chain(&out).find(|w| w.name == name) {
            return Err(at.key(
                "watch",
                Some(i),
                "name",
                format!(
                    "watch {name:?} is already written in {}{}",
                    w.file.display(),
                    w.line.map(|l| format!(":{l}")).unwrap_or_default()
                ),
            ));
        }
        let line = at.key("watch", Some(i), "name", String::new()).line;
        out.push(Watch {
            name,
            on,
            recipients: rcpt,
            file: at.file.to_path_buf(),
            line,
            in_watch_file,
        });
    }
    Ok(out)
}

/// The config's own `[[watch]]` entries, checked against its recipients (after its
/// paths are resolved against `dir`).
pub(super) fn from_config(
    at: &Locate<'_>,
    entries: &[WatchEntry],
    recipients: &[Recipient],
    dir: &Path,
) -> Result<Vec<Watch>, ConfigError> {
    check_all(at, entries, recipients, dir, &[], false)
}

/// The watch file as written.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WatchFile {
    #[serde(default)]
    watch: Vec<WatchEntry>,
}

fn config_dir(cfg: &Config) -> PathBuf {
    cfg.file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Read the watch file: its entries, as written, and checked. A missing file has none.
fn read_file(cfg: &Config) -> Result<(Vec<WatchEntry>, Vec<Watch>), ConfigError> {
    let path = file_beside(&cfg.database.path);
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => {
            return Err(ConfigError {
                file: path,
                line: None,
                key: None,
                message: format!("cannot read the watch file: {e}"),
            });
        }
    };
    let at = Locate {
        src: &src,
        file: &path,
    };
    let parsed: WatchFile = toml::from_str(&src).map_err(|e| at.toml(e))?;
    let checked = check_all(
        &at,
        &parsed.watch,
        &cfg.recipients,
        &config_dir(cfg),
        &cfg.watches,
        true,
    )?;
    Ok((parsed.watch, checked))
}

/// Every watch: the config's, then the watch file's. A watch file that cannot be read
/// or checked is an error naming its file and line (the config's watches still hold).
pub fn load_all(cfg: &Config) -> Result<Vec<Watch>, ConfigError> {
    let (_, from_file) = read_file(cfg)?;
    Ok(cfg.watches.iter().cloned().chain(from_file).collect())
}

/// Add `entry` to the watch file (creating it), checked as a run would check it.
/// Returns the watch as added.
pub fn add(cfg: &Config, entry: WatchEntry) -> Result<Watch, ConfigError> {
    let (mut entries, checked) = read_file(cfg)?;
    // The new entry's own faults, named without a line (it is not written yet).
    let refuse = |key: &str, message: String| ConfigError {
        file: file_beside(&cfg.database.path),
        line: None,
        key: Some(key.to_string()),
        message,
    };
    check_entry(&entry, &cfg.recipients, &config_dir(cfg)).map_err(|(k, m)| refuse(k, m))?;
    if let Some(w) = cfg
        .watches
        .iter()
        .chain(&checked)
        .find(|w| w.name == entry.name.trim())
    {
        return Err(refuse(
            "name",
            format!(
                "watch {:?} is already written in {}{}",
                w.name,
                w.file.display(),
                w.line.map(|l| format!(":{l}")).unwrap_or_default()
            ),
        ));
    }
    entries.push(entry);
    let written = write_file(cfg, &entries)?;
    Ok(written
        .into_iter()
        .last()
        .expect("the watch just written is the last"))
}

/// Remove the watch `name` from the watch file. A watch of config.toml is not removed
/// here (the error says where it is written).
pub fn remove(cfg: &Config, name: &str) -> Result<Watch, ConfigError> {
    let path = file_beside(&cfg.database.path);
    let (mut entries, checked) = read_file(cfg)?;
    let Some(i) = checked.iter().position(|w| w.name == name.trim()) else {
        let message = match cfg.watches.iter().find(|w| w.name == name.trim()) {
            Some(w) => format!(
                "watch {name:?} is written in {}{}, not in the watch file: remove it there",
                w.file.display(),
                w.line.map(|l| format!(":{l}")).unwrap_or_default()
            ),
            None => format!("there is no watch {name:?}"),
        };
        return Err(ConfigError {
            file: path,
            line: None,
            key: None,
            message,
        });
    };
    entries.remove(i);
    write_file(cfg, &entries)?;
    Ok(checked[i].clone())
}

/// What the watch file starts with.
const HEADER: &str = "# tenderscan watchlist: written by `tenderscan watch add|remove` (comments are not kept).\n\
# Each [[watch]] has a name, one of agency_bin, supplier_bin, region, code, query, and\n\
# optionally recipients (all recipients when absent). See README, \"Watchlists\".\n\n";

/// Write `entries` as the watch file, atomically, after checking them as they will be
/// read (the file is not touched when they do not check).
fn write_file(cfg: &Config, entries: &[WatchEntry]) -> Result<Vec<Watch>, ConfigError> {
    let path = file_beside(&cfg.database.path);
    let body = toml::to_string(&WatchFile {
        watch: entries.to_vec(),
    })
    .map_err(|e| ConfigError {
        file: path.clone(),
        line: None,
        key: None,
        message: format!("cannot write the watch file: {e}"),
    })?;
    let src = format!("{HEADER}{body}");
    let at = Locate {
        src: &src,
        file: &path,
    };
    let checked = check_all(
        &at,
        entries,
        &cfg.recipients,
        &config_dir(cfg),
        &cfg.watches,
        true,
    )?;
    crate::atomic::write_atomic(&path, src.as_bytes()).map_err(|e| ConfigError {
        file: path.clone(),
        line: None,
        key: None,
        message: format!("the watch file: {e}"),
    })?;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path, extra: &str) -> Config {
        let src = format!(
            "[database]\npath = \"t.db\"\n\n[[recipients]]\nemail = \"desk@x.kz\"\n\n\
             [[recipients]]\nchannel = \"telegram\"\nchat_id = -100123\n\n{extra}"
        );
        let p = dir.join("config.toml");
        std::fs::write(&p, src).unwrap();
        Config::load(&p).unwrap()
    }

    #[test]
    fn entries_name_one_thing_and_known_recipients() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(
            dir.path(),
            "[[watch]]\nname = \"akimat\"\nagency_bin = \"990240001234\"\nrecipients = [\"telegram:-100123\"]\n",
        );
        assert_eq!(c.watches.len(), 1);
        assert_eq!(c.watches[0].on, WatchOn::AgencyBin("990240001234".into()));
        assert_eq!(c.watches[0].recipient_keys(&c), ["telegram:-100123"]);
        assert_eq!(c.watches[0].line, Some(12));
        let bad = |extra: &str| {
            let src = format!(
                "[database]\npath = \"t.db\"\n\n[[recipients]]\nemail = \"desk@x.kz\"\n\n{extra}"
            );
            Config::parse(&src, Path::new("c.toml"), dir.path())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            bad("[[watch]]\nname = \"a\"\nagency_bin = \"99024\"\n"),
            "c.toml:9: key `watch[0].agency_bin`: \"99024\" is not a BIN (12 digits)"
        );
        let two = bad("[[watch]]\nname = \"a\"\nregion = \"Алматы\"\nquery = \"SMM\"\n");
        assert!(two.starts_with("c.toml:10: key `watch[0].query`"), "{two}");
        let none = bad("[[watch]]\nname = \"a\"\n");
        assert!(none.contains("watches nothing"), "{none}");
        let who = bad("[[watch]]\nname = \"a\"\nregion = \"x\"\nrecipients = [\"x@y.kz\"]\n");
        assert!(
            who.starts_with("c.toml:10: key `watch[0].recipients`"),
            "{who}"
        );
        let twice = bad(
            "[[watch]]\nname = \"a\"\nregion = \"x\"\n\n[[watch]]\nname = \"a\"\ncode = \"73\"\n",
        );
        assert!(
            twice.starts_with("c.toml:12: key `watch[1].name`"),
            "{twice}"
        );
        assert!(twice.contains("already written in c.toml:8"), "{twice}");
    }

    #[test]
    fn the_watch_file_is_added_to_listed_and_removed_from() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(
            dir.path(),
            "[[watch]]\nname = \"cfg\"\nregion = \"Алматы\"\n",
        );
        let w = add(
            &c,
            WatchEntry {
                name: "smm".into(),
                query: Some("SMM \"продвижение\" = [x]".into()),
                recipients: Some(vec!["desk@x.kz".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(w.in_watch_file);
        assert_eq!(w.recipients, Some(vec![0]));
        let all = load_all(&c).unwrap();
        let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["cfg", "smm"]);
        assert_eq!(
            all[1].on,
            WatchOn::Query("SMM \"продвижение\" = [x]".into())
        );
        // A name of config.toml is taken; the file is left as it was.
        let before = std::fs::read(file_beside(&c.database.path)).unwrap();
        let e = add(
            &c,
            WatchEntry {
                name: "cfg".into(),
                code: Some("73".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("already written in"), "{e}");
        assert_eq!(
            std::fs::read(file_beside(&c.database.path)).unwrap(),
            before
        );
        assert!(
            remove(&c, "cfg")
                .unwrap_err()
                .to_string()
                .contains("remove it there")
        );
        remove(&c, "smm").unwrap();
        assert_eq!(load_all(&c).unwrap().len(), 1);
        assert!(
            remove(&c, "smm")
                .unwrap_err()
                .to_string()
                .contains("there is no watch")
        );
    }
}
