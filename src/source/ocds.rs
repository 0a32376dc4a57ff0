//! Source kind `ocds`: any publisher of the Open Contracting Data Standard, in one of two forms.
//!
//! - **api**: a paged release-package or record-package API. Each page's next page is at
//!   `links.next`, or at the JSON pointer the config's `next_pointer` names
//!   (`/next_page/uri`); no next page, or a page without releases, ends the run. For an API
//!   whose next page is a token rather than a URL, `next_pointer = "?PARAM=/POINTER"` puts
//!   the token at POINTER into the query parameter PARAM of the page just read
//!   (`?offset=/offset`: `…/releases?offset=2026-11-20T10:00:00Z`); a token met at a URL
//!   pointer is an error that says so. A page that lists ids instead of releases (ProZorro's
//!   and MTender's `data[]`) is an error naming what to use instead (kind `prozorro`, or
//!   the publisher's bulk file).
//! - **jsonl**: a bulk JSON Lines file (one release, record or package per line), gzipped or not.
//!   It is downloaded with [`Fetcher::download`] into a temporary file (deleted when the source
//!   is dropped) under `max_download_bytes`, then read line by line through a bounded buffer:
//!   a multi-gigabyte file is never held in memory.
//!
//! Releases of one `ocid` are merged into its current state ([`map::merge_releases`]: later
//! `date` wins field by field); a record's `compiledRelease` is taken as the current state.
//! All releases of an ocid within one page are merged; a bulk-file page never ends inside a
//! run of lines of the same ocid; and the merged state of the last [`RECENT_OCIDS`] ocids is
//! kept, so releases on nearby pages merge too. Releases of one ocid further apart than that
//! are merged from that point on only (the store then holds the state of the later releases):
//! bulk files are usually grouped by ocid, or hold compiled releases.
//!
//! # Cursor
//! - api: `{"page": "<URL>"}`, the page to read next. At the end it is the last page read, so
//!   the next run reads it again and follows any next page published since.
//! - jsonl: `{"file": "<URL>", "line": 1500}`: lines already stored; a killed run downloads the
//!   file again and skips that many lines. A finished file is `{"file": …, "line": 0,
//!   "complete": "<time>", "lines": N, "etag": …, "last_modified": …}`: the next run asks for
//!   the file with `If-None-Match`/`If-Modified-Since` and reads nothing on HTTP 304; a changed
//!   file is read again from the start (bulk files are snapshots; unchanged notices are
//!   recognised by the store as unchanged).
//! - `--since` has no meaning for OCDS and starts over from the configured URL.
//!
//! Evidence: an API page is each of its records' payload; a bulk file is not kept whole, each
//! record carries the lines its releases came from, byte for byte (decompressed).
//!
//! Never: hold a bulk file in memory, or fetch outside the source's allowed hosts.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::util::{Start, bad_cursor, encode_cursor, looks_like_html};
use super::{Page, PageFuture, Source, SourceError, SourceSpec, fetch_err};
use crate::config::{OcdsFormat, OcdsSettings};
use crate::fetch::Fetcher;
use crate::model::{NoticeRecord, Payload};

pub mod map;
use map::{Item, items_of, map_release, merge_releases};

/// The largest bulk file downloaded unless `max_download_bytes` says otherwise (20 GiB).
pub const DEFAULT_MAX_DOWNLOAD: u64 = 20 * 1024 * 1024 * 1024;
/// Where the next page is, unless `next_pointer` says otherwise.
pub const DEFAULT_NEXT_POINTER: &str = "/links/next";
/// Distinct ocids per page of a bulk file.
pub const PAGE_RECORDS: usize = 500;
/// Ocids whose merged state is kept for releases on later pages (two bulk pages).
pub const RECENT_OCIDS: usize = 2 * PAGE_RECORDS;
/// Lines per page of a bulk file at most (one ocid with very many releases).
const MAX_PAGE_LINES: usize = 20_000;
/// A longer line is skipped (logged), never read whole.
pub const MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;
/// An HTML page (a bot challenge) where JSON was expected is tried this many more times.
const HTML_RETRIES: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Api,
    Jsonl,
}

/// The format a URL suggests: bulk-file endings mean jsonl.
fn guess_format(url: &Url) -> Format {
    let p = url.path().to_ascii_lowercase();
    if [".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".jl", ".gz"]
        .iter()
        .any(|e| p.ends_with(e))
    {
        Format::Jsonl
    } else {
        Format::Api
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    complete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lines: Option<u64>,
    /// The complete file's validators: the next run asks with `If-None-Match` /
    /// `If-Modified-Since` and reads nothing when the publisher answers 304.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
}

pub struct Ocds {
    name: String,
    notice_url: Option<String>,
    next_pointer: String,
    state: State,
    finished: bool,
    /// Merged states of recently read ocids (bounded by [`RECENT_OCIDS`]).
    recent: HashMap<String, Value>,
    recent_order: std::collections::VecDeque<String>,
}

enum State {
    Api { page: Url },
    Jsonl(Box<Bulk>),
}

/// A bulk file being read.
struct Bulk {
    url: Url,
    max_download: u64,
    /// Lines stored by earlier pages (and runs).
    line: u64,
    /// Open once downloaded; `None` also while a page is being read on the blocking pool.
    reader: Option<LineReader>,
    temp: Option<TempFile>,
    /// A line read but not yet taken (it begins the next page), with its bytes.
    pending: Option<(Vec<Item>, bytes::Bytes)>,
    /// The download being read: where from, its media type, when (for the lines' evidence).
    fetched: Option<(String, Option<String>, chrono::DateTime<chrono::Utc>)>,
    /// Lines of this run that were OCDS, and that were not.
    good_lines: u64,
    bad_lines: u64,
    /// The cursor of the last complete read of this file, if that is where this run starts
    /// (its validators make the download conditional).
    complete: Option<Cursor>,
    /// The validators of this run's download.
    etag: Option<String>,
    last_modified: Option<String>,
}

type LineReader = Box<dyn BufRead + Send>;

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Ocds {
    pub fn open(
        spec: &SourceSpec,
        settings: &OcdsSettings,
        saved_cursor: Option<&str>,
    ) -> Result<Ocds, SourceError> {
        let name = spec.config.name.clone();
        let url = &spec.config.url;
        let format = match settings.format {
            OcdsFormat::Auto => guess_format(url),
            OcdsFormat::Api => Format::Api,
            OcdsFormat::Jsonl => Format::Jsonl,
        };
        // The config checked that it is a pointer (`/…`).
        let next_pointer = settings
            .next_pointer
            .clone()
            .unwrap_or_else(|| DEFAULT_NEXT_POINTER.to_string());
        // `--since` has no meaning here: it starts over from the configured URL.
        let saved = match super::util::start::<Cursor>(
            spec,
            saved_cursor,
            chrono::Utc::now().date_naive(),
        )? {
            Start::Fresh(_) => None,
            Start::Resume(c) => Some(c),
        };
        let state = match format {
            Format::Api => {
                let page = match saved.and_then(|c| c.page) {
                    Some(p) => Url::parse(&p).map_err(|e| bad_cursor(&name, &p, e.to_string()))?,
                    None => url.clone(),
                };
                State::Api { page }
            }
            Format::Jsonl => {
                // A cursor for another file (the config changed) starts over.
                let saved = saved.filter(|c| c.file.as_deref() == Some(url.as_str()));
                let line = saved.as_ref().and_then(|c| c.line).unwrap_or(0);
                let complete = saved.filter(|c| c.complete.is_some() && line == 0);
                State::Jsonl(Box::new(Bulk {
                    url: url.clone(),
                    // The config refuses 0; a 0 set past it means the default too.
                    max_download: settings
                        .max_download_bytes
                        .filter(|&n| n > 0)
                        .unwrap_or(DEFAULT_MAX_DOWNLOAD),
                    line,
                    reader: None,
                    temp: None,
                    pending: None,
                    fetched: None,
                    good_lines: 0,
                    bad_lines: 0,
                    complete,
                    etag: None,
                    last_modified: None,
                }))
            }
        };
        Ok(Ocds {
            name,
            notice_url: settings.notice_url.clone(),
            next_pointer,
            state,
            finished: false,
            recent: HashMap::new(),
            recent_order: std::collections::VecDeque::new(),
        })
    }

    async fn fetch_page(&mut self, fetcher: &Fetcher) -> Result<Option<Page>, SourceError> {
        if self.finished {
            return Ok(None);
        }
        let page = match &self.state {
            State::Api { .. } => self.api_page(fetcher).await?,
            State::Jsonl(_) => self.bulk_page(fetcher).await?,
        };
        self.finished = page.done;
        Ok(Some(page))
    }

    async fn api_page(&mut self, fetcher: &Fetcher) -> Result<Page, SourceError> {
        let State::Api { page } = &self.state else {
            unreachable!("api_page is only called in api mode")
        };
        let page = page.clone();
        let headers = [("Accept", "application/json".to_string())];
        let mut attempt = 0;
        let resp = loop {
            let resp = fetcher
                .get(&page, &headers)
                .await
                .map_err(fetch_err(&self.name))?;
            if !looks_like_html(resp.content_type.as_deref(), &resp.body) {
                break resp;
            }
            // A bot challenge or maintenance page: wait and try again, then give up for this
            // run (the cursor stays on this page).
            if attempt >= HTML_RETRIES {
                return Err(SourceError::Api {
                    name: self.name.clone(),
                    url: resp.url.to_string(),
                    message: "an HTML page (a challenge or an error page?) where JSON was expected; the next run tries this page again".into(),
                });
            }
            attempt += 1;
            let wait = fetcher.settings().backoff_base * 2u32.pow(attempt);
            tracing::warn!(source = %self.name, url = %resp.url, attempt, "HTML where JSON was expected; waiting");
            tokio::time::sleep(wait.min(fetcher.settings().max_backoff)).await;
        };
        let changed = |what: String| SourceError::ChangedFormat {
            name: self.name.clone(),
            url: resp.url.to_string(),
            what,
        };
        let value: Value =
            serde_json::from_slice(&resp.body).map_err(|e| changed(format!("not JSON: {e}")))?;
        let next = next_page(&value, &self.next_pointer, &resp.url).map_err(changed)?;
        if let Some(what) = id_list(&value) {
            return Err(changed(what));
        }
        let items = items_of(value).ok_or_else(|| {
            changed("neither a release package, a record package nor a release".into())
        })?;
        let payload = resp.payload();
        let records = self.map_items(
            group(items)
                .into_iter()
                .map(|g| (g, vec![payload.clone()]))
                .collect(),
        );
        let (cursor, done) = match next {
            // A page without releases ends the run even where the publisher names a next page
            // (ProZorro does, at the end of its feed, even the same page): it is where the
            // next run starts.
            Some(_) if records.is_empty() => (page, true),
            Some(n) if n == page => {
                return Err(SourceError::StuckCursor {
                    name: self.name.clone(),
                    cursor: n.to_string(),
                });
            }
            Some(n) => (n, false),
            None => (page, true),
        };
        let cursor_string = encode_cursor(&Cursor {
            page: Some(cursor.to_string()),
            ..Cursor::default()
        });
        self.state = State::Api { page: cursor };
        Ok(Page {
            records,
            cursor: Some(cursor_string),
            done,
        })
    }

    async fn bulk_page(&mut self, fetcher: &Fetcher) -> Result<Page, SourceError> {
        let name = self.name.clone();
        let State::Jsonl(bulk) = &mut self.state else {
            unreachable!("bulk_page is only called in jsonl mode")
        };
        if bulk.temp.is_none() {
            remove_stale_downloads(&name);
            let path = std::env::temp_dir().join(format!(
                "tenderscan-{}-{}-{}.download",
                std::process::id(),
                sanitize(&name),
                chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
            ));
            let temp = TempFile(path);
            let mut headers = vec![("Accept", "*/*".to_string())];
            if let Some(c) = &bulk.complete {
                if let Some(e) = &c.etag {
                    headers.push(("If-None-Match", e.clone()));
                }
                if let Some(m) = &c.last_modified {
                    headers.push(("If-Modified-Since", m.clone()));
                }
            }
            let got = fetcher
                .download(&bulk.url, &headers, &temp.0, bulk.max_download)
                .await
                .map_err(fetch_err(&name))?;
            if got.not_modified
                && let Some(c) = &bulk.complete
            {
                tracing::info!(source = %name, url = %got.url, "bulk file not modified since the last complete read");
                return Ok(Page {
                    records: Vec::new(),
                    cursor: Some(encode_cursor(c)),
                    done: true,
                });
            }
            bulk.etag = got.etag.clone();
            bulk.last_modified = got.last_modified.clone();
            bulk.fetched = Some((
                got.url.to_string(),
                got.content_type.clone(),
                got.fetched_at,
            ));
            tracing::info!(source = %name, url = %got.url, bytes = got.bytes, "bulk file downloaded");
            let head = read_head(&temp.0, 1024).unwrap_or_default();
            if looks_like_html(got.content_type.as_deref(), &head) {
                return Err(SourceError::Api {
                    name: name.clone(),
                    url: got.url.to_string(),
                    message: "an HTML page (a challenge or an error page?) where a bulk file was expected; the next run tries again".into(),
                });
            }
            let path = temp.0.clone();
            let skip = bulk.line;
            let reader = tokio::task::spawn_blocking(move || open_lines(&path, skip))
                .await
                .map_err(|e| SourceError::Api {
                    name: name.clone(),
                    url: bulk.url.to_string(),
                    message: format!("reading stopped: {e}"),
                })?
                .map_err(|e| SourceError::ChangedFormat {
                    name: name.clone(),
                    url: bulk.url.to_string(),
                    what: format!("cannot read the bulk file: {e}"),
                })?;
            bulk.temp = Some(temp);
            bulk.reader = Some(reader);
        }
        let reader = bulk.reader.take().ok_or_else(|| SourceError::Api {
            name: name.clone(),
            url: bulk.url.to_string(),
            message: "the bulk file reader was lost (a page read was interrupted)".into(),
        })?;
        let pending = bulk.pending.take();
        let start = bulk.line;
        let read = tokio::task::spawn_blocking(move || read_page(reader, pending, start))
            .await
            .map_err(|e| SourceError::Api {
                name: name.clone(),
                url: bulk.url.to_string(),
                message: format!("reading stopped: {e}"),
            })?;
        let read = read.map_err(|(line, e)| SourceError::ChangedFormat {
            name: name.clone(),
            url: bulk.url.to_string(),
            what: format!("cannot read the bulk file at line {}: {e}", line + 1),
        })?;
        if read.bad_lines > 0 {
            tracing::warn!(source = %name, url = %bulk.url, lines = read.bad_lines,
                "lines that are no OCDS release, record or package were skipped");
        }
        bulk.bad_lines += read.bad_lines as u64;
        bulk.good_lines += read.line - start - read.bad_lines as u64;
        if read.eof && bulk.good_lines == 0 && bulk.bad_lines > 0 {
            // Not one line was OCDS: the file is something else, not an empty snapshot.
            return Err(SourceError::ChangedFormat {
                name: name.clone(),
                url: bulk.url.to_string(),
                what: format!(
                    "none of its {} lines is an OCDS release, record or package",
                    bulk.bad_lines
                ),
            });
        }
        bulk.line = read.line;
        bulk.pending = read.pending;
        let done = read.eof;
        let cursor = if done {
            bulk.temp = None;
            Cursor {
                file: Some(bulk.url.to_string()),
                line: Some(0),
                complete: Some(crate::stamp::now()),
                lines: Some(read.line),
                etag: bulk.etag.clone(),
                last_modified: bulk.last_modified.clone(),
                ..Cursor::default()
            }
        } else {
            bulk.reader = Some(read.reader);
            Cursor {
                file: Some(bulk.url.to_string()),
                line: Some(read.line),
                ..Cursor::default()
            }
        };
        // Each record's evidence: the lines it was read from, byte for byte (decompressed
        // when the file is gzipped; the file itself, up to gigabytes, is not kept whole).
        let (url, content_type, fetched_at) = bulk
            .fetched
            .clone()
            .unwrap_or_else(|| (bulk.url.to_string(), None, chrono::Utc::now()));
        let groups = read
            .groups
            .into_iter()
            .zip(read.lines)
            .map(|(g, lines)| {
                let payloads = lines
                    .into_iter()
                    .map(|body| Payload {
                        url: url.clone(),
                        status: 200,
                        content_type: content_type.clone(),
                        fetched_at,
                        body,
                    })
                    .collect();
                (g, payloads)
            })
            .collect();
        let records = self.map_items(groups);
        Ok(Page {
            records,
            cursor: Some(encode_cursor(&cursor)),
            done,
        })
    }

    /// Merges each ocid's releases (with its state from a recent page, if any) and maps it,
    /// with the payloads its releases came in.
    fn map_items(&mut self, groups: Vec<(Vec<Value>, Vec<Payload>)>) -> Vec<NoticeRecord> {
        let mut out = Vec::with_capacity(groups.len());
        for (mut g, payloads) in groups {
            let ocid = g
                .first()
                .and_then(|v| v.get("ocid"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(earlier) = ocid.as_ref().and_then(|o| self.recent.remove(o)) {
                g.push(earlier);
            }
            let current = merge_releases(g);
            match map_release(&current, self.notice_url.as_deref()) {
                Some(mut rec) => {
                    rec.payloads = payloads;
                    out.push(rec);
                    if let Some(o) = ocid {
                        self.remember(o, current);
                    }
                }
                None => tracing::warn!(source = %self.name, "release without an ocid skipped"),
            }
        }
        out
    }

    /// Keeps the merged state of the last [`RECENT_OCIDS`] ocids, so that releases of one ocid
    /// on nearby pages still merge into one current state.
    fn remember(&mut self, ocid: String, state: Value) {
        if self.recent.insert(ocid.clone(), state).is_none() {
            self.recent_order.push_back(ocid);
        }
        while self.recent_order.len() > RECENT_OCIDS {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent.remove(&old);
            }
        }
    }
}

impl Source for Ocds {
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a> {
        Box::pin(self.fetch_page(fetcher))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// The first `n` bytes of a file.
fn read_head(path: &std::path::Path, n: u64) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    std::fs::File::open(path)?.take(n).read_to_end(&mut head)?;
    Ok(head)
}

/// Removes downloads of this source left by a process that was killed (Linux: a process id
/// with no `/proc` entry). Elsewhere nothing is removed: a live process's file must stay.
fn remove_stale_downloads(name: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let suffix_part = format!("-{}-", sanitize(name));
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in dir.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file.strip_prefix("tenderscan-") else {
            continue;
        };
        if !file.ends_with(".download") {
            continue;
        }
        let Some((pid, after)) = rest.split_once('-') else {
            continue;
        };
        if !format!("-{after}").starts_with(&suffix_part) || pid.parse::<u32>().is_err() {
            continue;
        }
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            tracing::info!(file = %entry.path().display(), "removing a download left by a killed run");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The next page's URL: the URL (absolute or relative to `page`) at the JSON pointer
/// `next_pointer`, or, in the token form `?PARAM=/POINTER`, `page` with the token at POINTER
/// as its query parameter PARAM. `Err` names a token found where a URL was expected.
fn next_page(value: &Value, next_pointer: &str, page: &Url) -> Result<Option<Url>, String> {
    if let Some((param, pointer)) = next_pointer
        .strip_prefix('?')
        .and_then(|t| t.split_once('='))
    {
        let Some(token) = value
            .pointer(pointer)
            .cloned()
            .and_then(super::value_to_string)
        else {
            return Ok(None);
        };
        let mut next = page.clone();
        let kept: Vec<(String, String)> = page
            .query_pairs()
            .filter(|(k, _)| k != param)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair(param, &token);
        return Ok(Some(next));
    }
    let token_hint = |t: &str| {
        format!(
            "the next page at {next_pointer} is a token ({t:?}), not a URL: set next_pointer = \"?offset={next_pointer}\" (the query parameter the publisher pages by, e.g. offset) to build the next URL from it, or read the publisher's bulk file instead (format = \"jsonl\")"
        )
    };
    match value.pointer(next_pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(n)) => {
            let n = n.trim();
            if n.is_empty() {
                return Ok(None);
            }
            // A URL has a slash or a query; a bare word is a token (an offset, a time).
            if !(n.contains('/') || n.starts_with('?')) {
                return Err(token_hint(n));
            }
            page.join(n)
                .map(Some)
                .map_err(|e| format!("next page {n:?} is not a URL: {e}"))
        }
        Some(other) => Err(token_hint(&other.to_string())),
    }
}

/// Where a page is a list of ids rather than releases (ProZorro's and MTender's APIs list
/// `data[]` of ids and dates, each fetched on its own): what to do instead.
fn id_list(value: &Value) -> Option<String> {
    let data = value.get("data")?.as_array()?;
    if value.get("releases").is_some() || value.get("records").is_some() {
        return None;
    }
    let ids = !data.is_empty()
        && data.iter().all(|d| {
            d.as_object().is_some_and(|o| {
                (o.contains_key("id") || o.contains_key("ocid"))
                    && !o.contains_key("tender")
                    && o.len() <= 4
            })
        });
    ids.then(|| {
        "a list of ids (data[] of id and date), not OCDS releases: each would have to be fetched on its own; for ProZorro use kind = \"prozorro\", for MTender and others its bulk file (format = \"jsonl\")".to_string()
    })
}

/// Items grouped by ocid, in order of first appearance.
fn group(items: Vec<Item>) -> Vec<Vec<Value>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<Value>> = Vec::new();
    for item in items {
        let key = item.ocid().unwrap_or_default().to_string();
        let v = match item {
            Item::Release(v) | Item::Compiled(v) => v,
        };
        match index.get(&key) {
            Some(&i) => groups[i].push(v),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![v]);
            }
        }
    }
    groups
}

/// Opens a downloaded bulk file (gzip is recognised by its magic bytes) and skips `skip` lines.
fn open_lines(path: &std::path::Path, skip: u64) -> std::io::Result<LineReader> {
    let mut file = BufReader::with_capacity(256 * 1024, std::fs::File::open(path)?);
    let gz = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut reader: LineReader = if gz {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(file)
    };
    for _ in 0..skip {
        if reader.skip_until(b'\n')? == 0 {
            break;
        }
    }
    Ok(reader)
}

struct PageRead {
    reader: LineReader,
    groups: Vec<Vec<Value>>,
    /// Per group, the lines (bytes as read, line end included) its releases came from.
    lines: Vec<Vec<bytes::Bytes>>,
    pending: Option<(Vec<Item>, bytes::Bytes)>,
    /// Lines taken so far (this page's included).
    line: u64,
    eof: bool,
    bad_lines: usize,
}

/// Reads one line of at most [`MAX_LINE_BYTES`]: `None` at the end; `Some(None)` for a line too
/// long (skipped).
fn next_line(reader: &mut LineReader, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = (&mut *reader).take(MAX_LINE_BYTES).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if n as u64 == MAX_LINE_BYTES && !buf.ends_with(b"\n") {
        reader.skip_until(b'\n')?;
        buf.clear();
        return Ok(Some(false));
    }
    Ok(Some(true))
}

/// Reads up to [`PAGE_RECORDS`] ocids from the stream, never ending a page inside a run of
/// lines of one ocid. Errors carry the line they happened at.
fn read_page(
    mut reader: LineReader,
    mut pending: Option<(Vec<Item>, bytes::Bytes)>,
    start: u64,
) -> Result<PageRead, (u64, std::io::Error)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut lines: Vec<Vec<bytes::Bytes>> = Vec::new();
    let mut line = start;
    let mut lines_here = 0usize;
    let mut bad_lines = 0usize;
    let mut buf = Vec::new();
    let mut eof = false;
    loop {
        let (items, raw) = match pending.take() {
            Some(p) => p,
            None => match next_line(&mut reader, &mut buf).map_err(|e| (line, e))? {
                None => {
                    eof = true;
                    break;
                }
                Some(false) => {
                    bad_lines += 1;
                    line += 1;
                    continue;
                }
                Some(true) => {
                    let text = buf.trim_ascii();
                    if text.is_empty() {
                        line += 1;
                        continue;
                    }
                    match serde_json::from_slice::<Value>(text)
                        .ok()
                        .and_then(items_of)
                    {
                        Some(items) => (items, bytes::Bytes::copy_from_slice(&buf)),
                        None => {
                            bad_lines += 1;
                            line += 1;
                            continue;
                        }
                    }
                }
            },
        };
        let first = items.first().and_then(Item::ocid).unwrap_or_default();
        let starts_new = !index.contains_key(first);
        if (groups.len() >= PAGE_RECORDS && starts_new) || lines_here >= MAX_PAGE_LINES {
            pending = Some((items, raw));
            break;
        }
        for item in items {
            let key = item.ocid().unwrap_or_default().to_string();
            let v = match item {
                Item::Release(v) | Item::Compiled(v) => v,
            };
            let i = match index.get(&key) {
                Some(&i) => {
                    groups[i].push(v);
                    i
                }
                None => {
                    index.insert(key, groups.len());
                    groups.push(vec![v]);
                    lines.push(Vec::new());
                    groups.len() - 1
                }
            };
            // A package line with several releases of one ocid is its evidence once.
            if lines[i].last().is_none_or(|l| l.as_ptr() != raw.as_ptr()) {
                lines[i].push(raw.clone());
            }
        }
        line += 1;
        lines_here += 1;
    }
    Ok(PageRead {
        reader,
        groups,
        lines,
        pending,
        line,
        eof,
        bad_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(n: usize, per_ocid: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let o = i / per_ocid;
            writeln!(
                out,
                r#"{{"ocid":"ocds-x-{o}","id":"{i}","date":"2026-11-{:02}T00:00:00Z","tender":{{"title":"t{i}"}}}}"#,
                1 + (i % per_ocid)
            )
            .unwrap();
        }
        out
    }

    fn reader_of(bytes: Vec<u8>) -> LineReader {
        Box::new(std::io::Cursor::new(bytes))
    }

    #[test]
    fn pages_hold_whole_ocids_and_the_line_count_resumes() {
        // 1203 lines, 3 per ocid: 401 ocids, pages of 500 ocids: one page.
        let page = read_page(reader_of(lines(1203, 3)), None, 0).unwrap();
        assert!(page.eof);
        assert_eq!(page.groups.len(), 401);
        assert!(page.groups.iter().all(|g| g.len() == 3));
        assert_eq!(page.line, 1203);
        // 3000 lines, 2 per ocid: 1500 ocids, three pages of 500.
        let data = lines(3000, 2);
        let p1 = read_page(reader_of(data.clone()), None, 0).unwrap();
        assert_eq!((p1.groups.len(), p1.line, p1.eof), (500, 1000, false));
        let p2 = read_page(p1.reader, p1.pending, p1.line).unwrap();
        assert_eq!((p2.groups.len(), p2.line), (500, 2000));
        let first_of_p2 = merge_releases(p2.groups[0].clone());
        assert_eq!(first_of_p2["ocid"], "ocds-x-500");
        // Resuming from the saved line reads the same third page.
        let dir = std::env::temp_dir().join(format!("ocds-unit-{}", std::process::id()));
        std::fs::write(&dir, &data).unwrap();
        let reader = open_lines(&dir, p2.line).unwrap();
        let p3 = read_page(reader, None, p2.line).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!((p3.groups.len(), p3.line, p3.eof), (500, 3000, true));
        assert_eq!(merge_releases(p3.groups[0].clone())["ocid"], "ocds-x-1000");
    }

    #[test]
    fn bad_and_blank_lines_are_skipped_and_counted() {
        let data = b"{\"ocid\":\"a\"}\nnot json\n\n{\"foo\":1}\n{\"ocid\":\"b\"}".to_vec();
        let page = read_page(reader_of(data), None, 0).unwrap();
        assert_eq!(page.groups.len(), 2);
        assert_eq!(page.bad_lines, 2);
        assert_eq!(page.line, 5);
    }

    #[test]
    fn formats_are_guessed_from_the_url() {
        let g = |u: &str| guess_format(&Url::parse(u).unwrap());
        assert_eq!(g("https://p.ua/bulk/full.jsonl.gz"), Format::Jsonl);
        assert_eq!(g("https://p.ua/api/releases?offset=1"), Format::Api);
    }
}
