//! Evidence: every payload fetched from a portal (a source's API JSON or HTML page for a
//! notice, an attachment's bytes) kept as it came, so a reporter can show what the portal
//! said and when, after the agency edits or withdraws the tender.
//!
//! Files live in a folder beside the database, `<db stem>.evidence/ab/<sha256>.zst`:
//! zstd-compressed, named by the sha256 of the uncompressed bytes (so the same payload is
//! kept once, however often it is fetched), written atomically (temporary file, fsync,
//! rename, fsync of the folder). The `evidence` table records, per notice, where each
//! payload came from, when, and with what HTTP status.
//!
//! What this module must never do: overwrite or change a kept file (a file with the right
//! name is trusted until `verify` says otherwise), or delete the evidence of a notice that
//! was ever flagged.

use crate::model::NoticeRecord;
use crate::store::{NewEvidence, Store, StoreError, sha256_hex};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// zstd level: 3 is zstd's default, fast and about 4-8x on JSON and HTML.
const LEVEL: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A payload in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub sha256: String,
    /// Uncompressed bytes.
    pub size: i64,
    /// Bytes of the .zst file.
    pub stored_size: i64,
    /// Whether this call wrote the file (false: it was there already).
    pub written: bool,
}

/// The sha256 of a zstd stream's decompressed content, read in pieces.
fn hash_zst(f: std::fs::File) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut decoder = zstd::stream::read::Decoder::new(f)?;
    std::io::copy(&mut decoder, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub folder: PathBuf,
    /// Payloads the table names that were checked.
    pub checked: usize,
    pub ok: usize,
    /// Files whose content no longer hashes to their name (or cannot be decompressed).
    pub corrupt: Vec<Problem>,
    /// Files the table names that are not there.
    pub missing: Vec<Problem>,
    /// Files no row names (left by a run killed between writing and recording, or by
    /// retention killed midway): harmless, listed for information.
    pub unreferenced: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub sha256: String,
    pub path: PathBuf,
    pub detail: String,
}

impl VerifyReport {
    pub fn failed(&self) -> bool {
        !self.corrupt.is_empty() || !self.missing.is_empty()
    }
}

/// What retention removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub rows: usize,
    pub files: usize,
    pub bytes: u64,
}

/// The evidence folder of one database.
#[derive(Debug, Clone)]
pub struct Evidence {
    dir: PathBuf,
}

/// Threads writing a page's payloads at once (fsync latency overlaps).
const PUT_THREADS: usize = 8;

impl Evidence {
    /// The folder beside `db`: `tenderscan.db` -> `tenderscan.evidence/` (an absolute
    /// path where the current folder can be read, so that `show` prints usable paths).
    pub fn beside(db: &Path) -> Evidence {
        let db = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
        let db = db.as_path();
        let stem = db
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tenderscan".into());
        let dir = db
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{stem}.evidence"));
        Evidence { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the payload with this hash lives: `ab/<sha256>.zst` (256 folders, so a new
    /// file seldom needs a new folder), or `ab/cd/<sha256>.zst` for a file kept before
    /// 2026-11-30, when there were two levels; files already kept never move.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        let a = sha256.get(0..2).unwrap_or("xx");
        let name = format!("{sha256}.zst");
        let path = self.dir.join(a).join(&name);
        if !path.exists() {
            let b = sha256.get(2..4).unwrap_or("xx");
            let legacy = self.dir.join(a).join(b).join(&name);
            if legacy.exists() {
                return legacy;
            }
        }
        path
    }

    /// Keep `bytes` (compressed, named by their hash), durably (fsync), unless a complete
    /// file of that name exists.
    pub fn put(&self, bytes: &[u8]) -> Result<Kept, EvidenceError> {
        self.write(bytes, true)
    }

    /// Keep `bytes` like [`Evidence::put`] but without waiting for the disk: the file is
    /// durable after the next [`Evidence::sync`]. Rows naming it must be committed after
    /// that sync (a file that a crash left short is written again the next time).
    pub fn put_unsynced(&self, bytes: &[u8]) -> Result<Kept, EvidenceError> {
        // Without syncfs, each file is made durable on its own.
        self.write(bytes, !cfg!(target_os = "linux"))
    }

    /// Make every file written with [`Evidence::put_unsynced`] durable: one `syncfs` of
    /// the evidence folder's file system on Linux (one journal commit for a whole page of
    /// files, where a fsync per file and folder cost 2.5 ms each here), else a full sync.
    pub fn sync(&self) -> Result<(), EvidenceError> {
        if !self.dir.exists() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let dir = std::fs::File::open(&self.dir).map_err(io(&self.dir))?;
            // SAFETY: syncfs takes a file descriptor we own for the duration of the call.
            let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
            if rc != 0 {
                return Err(io(&self.dir)(std::io::Error::last_os_error()));
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        {
            // put_unsynced already synced each file.
            Ok(())
        }
    }

    fn write(&self, bytes: &[u8], durable: bool) -> Result<Kept, EvidenceError> {
        let sha256 = sha256_hex(bytes);
        let path = self.path_of(&sha256);
        let compressed = zstd::bulk::compress(bytes, LEVEL).map_err(io(&path))?;
        // zstd at a fixed level is deterministic: a file of another length is one a crash
        // cut short before its sync, and is written again.
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.len() == compressed.len() as u64
        {
            return Ok(Kept {
                sha256,
                size: bytes.len() as i64,
                stored_size: meta.len() as i64,
                written: false,
            });
        }
        let folder = path.parent().unwrap_or(&self.dir).to_path_buf();
        if !folder.is_dir() {
            std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        }
        let tmp = folder.join(format!(
            ".{sha256}.{}.{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&compressed)?;
            if durable {
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &path)?;
            if durable {
                // The rename itself is durable once the folder is synced.
                std::fs::File::open(&folder)?.sync_all()?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&path)(e));
        }
        Ok(Kept {
            sha256,
            size: bytes.len() as i64,
            stored_size: compressed.len() as i64,
            written: true,
        })
    }

    /// The payload with this hash, decompressed (not checked: see [`Evidence::verify`]).
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, EvidenceError> {
        let path = self.path_of(sha256);
        let f = std::fs::File::open(&path).map_err(io(&path))?;
        zstd::stream::decode_all(f).map_err(io(&path))
    }

    /// Keep a payload and record where it came from, for `notice_id` (and `document_id`).
    pub fn keep(
        &self,
        store: &Store,
        bytes: &[u8],
        mut row: NewEvidence,
    ) -> Result<Kept, EvidenceError> {
        let kept = self.put(bytes)?;
        row.sha256 = kept.sha256.clone();
        row.size = kept.size;
        row.stored_size = kept.stored_size;
        store.record_evidence(&row)?;
        Ok(kept)
    }

    /// Keep each record's payload (the API JSON or HTML row it was mapped from) for its
    /// stored notice. A payload that cannot be written is logged and skipped; returns how
    /// many were. Database errors stop the caller.
    pub fn keep_payloads(
        &self,
        store: &Store,
        source_id: i64,
        records: &[NoticeRecord],
    ) -> Result<usize, StoreError> {
        let at = crate::store::now();
        let mut failed = 0;
        let mut rows = Vec::new();
        for rec in records {
            let (Some(raw), Some(notice_id)) =
                (&rec.raw, store.notice_id(source_id, &rec.external_id)?)
            else {
                continue;
            };
            let html = crate::source::looks_like_html(None, raw);
            let row = NewEvidence {
                notice_id,
                document_id: None,
                kind: "notice",
                url: rec.url.clone().unwrap_or_default(),
                http_status: None,
                media_type: Some(
                    if html {
                        "text/html"
                    } else {
                        "application/json"
                    }
                    .into(),
                ),
                sha256: String::new(),
                size: 0,
                stored_size: 0,
                fetched_at: at.clone(),
            };
            rows.push((rec, raw, row));
        }
        // The files are written by a few threads at once, then made durable together by
        // one sync: one at a time, a page of 50 payloads waited on 100 fsyncs in a row.
        let kept: Vec<Result<Kept, EvidenceError>> = std::thread::scope(|scope| {
            let chunk = rows.len().div_ceil(PUT_THREADS).max(1);
            let handles: Vec<_> = rows
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(_, raw, _)| self.put_unsynced(raw))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![Err(EvidenceError::Io {
                            path: self.dir.clone(),
                            source: std::io::Error::other("a writer thread panicked"),
                        })]
                    })
                })
                .collect()
        });
        // The files are on disk before any row names them.
        let synced = self.sync();
        for ((rec, _, mut row), k) in rows.into_iter().zip(kept) {
            let k = match (&synced, k) {
                (Err(e), Ok(_)) => Err(EvidenceError::Io {
                    path: self.dir.clone(),
                    source: std::io::Error::other(e.to_string()),
                }),
                (_, k) => k,
            };
            match k {
                Ok(k) => {
                    row.sha256 = k.sha256;
                    row.size = k.size;
                    row.stored_size = k.stored_size;
                    store.record_evidence(&row)?;
                }
                Err(EvidenceError::Store(e)) => return Err(e),
                Err(e) => {
                    tracing::error!(notice = %rec.external_id, "payload not kept: {e}");
                    failed += 1;
                }
            }
        }
        Ok(failed)
    }

    /// Re-hash every payload the table names; list files missing, corrupt, or unnamed.
    pub fn verify(&self, store: &Store) -> Result<VerifyReport, EvidenceError> {
        let mut r = VerifyReport {
            folder: self.dir.clone(),
            ..Default::default()
        };
        let hashes = store.evidence_hashes()?;
        for sha in &hashes {
            r.checked += 1;
            let path = self.path_of(sha);
            let problem = |detail: String| Problem {
                sha256: sha.clone(),
                path: path.clone(),
                detail,
            };
            match std::fs::File::open(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    r.missing.push(problem("no such file".into()))
                }
                Err(e) => r.corrupt.push(problem(format!("cannot read: {e}"))),
                Ok(f) => match hash_zst(f) {
                    Err(e) => r
                        .corrupt
                        .push(problem(format!("not a readable zstd file: {e}"))),
                    Ok(found) => {
                        if &found == sha {
                            r.ok += 1;
                        } else {
                            r.corrupt
                                .push(problem(format!("content hashes to {found}")));
                        }
                    }
                },
            }
        }
        let named: std::collections::HashSet<&str> = hashes.iter().map(String::as_str).collect();
        for file in self.files()? {
            let stem = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".zst"))
                .unwrap_or("");
            if !named.contains(stem) {
                r.unreferenced.push(file);
            }
        }
        Ok(r)
    }

    /// Every `.zst` file under the folder (one level of sub-folders, and the second level
    /// of the layout before 2026-11-30), sorted.
    fn files(&self) -> Result<Vec<PathBuf>, EvidenceError> {
        let mut out = Vec::new();
        let list = |p: &Path| -> Result<Vec<PathBuf>, EvidenceError> {
            match std::fs::read_dir(p) {
                Ok(rd) => Ok(rd.filter_map(|e| e.ok().map(|e| e.path())).collect()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(io(p)(e)),
            }
        };
        let zst = |p: &PathBuf| p.extension().is_some_and(|e| e == "zst");
        for a in list(&self.dir)?.into_iter().filter(|p| p.is_dir()) {
            for entry in list(&a)? {
                if entry.is_dir() {
                    out.extend(list(&entry)?.into_iter().filter(zst));
                } else if zst(&entry) {
                    out.push(entry);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Retention: payloads of never-flagged notices last fetched more than `keep_days`
    /// ago are forgotten, and their files removed where no other row names them.
    /// `keep_days = 0` keeps everything. Evidence of flagged notices is never removed.
    pub fn prune(&self, store: &mut Store, keep_days: u32) -> Result<PruneReport, EvidenceError> {
        let mut r = PruneReport::default();
        if keep_days == 0 {
            return Ok(r);
        }
        // Checked: a number of days past chrono's calendar means nothing is old enough.
        let Some(before) = chrono::Duration::try_days(i64::from(keep_days))
            .and_then(|d| chrono::Utc::now().checked_sub_signed(d))
            .map(crate::store::format_time)
        else {
            return Ok(r);
        };
        let (rows, unused) = store.prune_evidence(&before)?;
        r.rows = rows;
        for sha in unused {
            let path = self.path_of(&sha);
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    r.files += 1;
                    r.bytes += len;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DocumentRef;
    use crate::store::DocumentContent;

    /// An attachment listed by two notices is fetched once; the second notice gets its own
    /// evidence row, so retention of the first never takes the file from the second.
    #[test]
    fn a_reused_attachment_is_evidence_of_both_notices() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let ev = Evidence::beside(store.path());
        let src = store.ensure_source("g", "goszakup", "https://x").unwrap();
        let rec = |id: &str| NoticeRecord {
            external_id: id.into(),
            title: "Услуги".into(),
            url: Some(format!("https://portal/{id}")),
            documents: vec![DocumentRef {
                url: "https://files/1".into(),
                file_name: Some("techspec.docx".into()),
                ..Default::default()
            }],
            raw: Some(format!("{{\"id\": {id}}}").into_bytes()),
            ..Default::default()
        };
        let a = store.store_page(src, &[rec("1")], None).unwrap().touched[0];
        assert_eq!(ev.keep_payloads(&store, src, &[rec("1")]).unwrap(), 0);
        let doc = store.pending_documents(a).unwrap().remove(0);
        let bytes = b"the specification".to_vec();
        let row = NewEvidence {
            notice_id: a,
            document_id: Some(doc.id),
            kind: "document",
            url: doc.url.clone(),
            http_status: Some(200),
            media_type: None,
            sha256: String::new(),
            size: 0,
            stored_size: 0,
            fetched_at: crate::store::now(),
        };
        let kept = ev.keep(&store, &bytes, row).unwrap();
        store
            .save_document(
                doc.id,
                &DocumentContent {
                    sha256: Some(kept.sha256.clone()),
                    text: Some("text".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let b = store.store_page(src, &[rec("2")], None).unwrap().touched[0];
        let doc_b = store.pending_documents(b).unwrap().remove(0);
        assert!(store.reuse_document(&doc_b).unwrap());
        store.copy_document_evidence(doc_b.id).unwrap();
        let rows: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM evidence WHERE kind = 'document' AND sha256 = ?1",
                [&kept.sha256],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 2);
        // Retention of never-flagged notices removes both rows, then the file.
        store
            .conn()
            .execute(
                "UPDATE evidence SET last_fetched_at = '2000-01-01T00:00:00Z'",
                [],
            )
            .unwrap();
        let r = ev.prune(&mut store, 30).unwrap();
        assert_eq!((r.rows, r.files), (3, 2), "{r:?}");
        assert!(!ev.path_of(&kept.sha256).exists());
        let v = ev.verify(&store).unwrap();
        assert!(
            !v.failed() && v.checked == 0 && v.unreferenced.is_empty(),
            "{v:?}"
        );
    }

    #[test]
    fn the_same_bytes_are_kept_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let ev = Evidence::beside(&dir.path().join("t.db"));
        assert_eq!(ev.dir(), dir.path().join("t.evidence"));
        let body = "{\"nameRu\": \"Услуги SMM\"}".repeat(50);
        let a = ev.put(body.as_bytes()).unwrap();
        assert!(a.written);
        assert!(a.stored_size < a.size, "compressed: {a:?}");
        let b = ev.put(body.as_bytes()).unwrap();
        assert!(!b.written);
        assert_eq!(a.sha256, b.sha256);
        let path = ev.path_of(&a.sha256);
        assert_eq!(
            path,
            dir.path()
                .join("t.evidence")
                .join(&a.sha256[..2])
                .join(format!("{}.zst", a.sha256))
        );
        assert_eq!(ev.read(&a.sha256).unwrap(), body.as_bytes());
        assert_eq!(ev.files().unwrap(), vec![path]);
    }

    #[test]
    fn files_of_the_two_level_layout_are_still_found_and_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let ev = Evidence::beside(&dir.path().join("t.db"));
        let body = b"kept before the layout changed".repeat(20);
        let kept = ev.put(&body).unwrap();
        let sha = &kept.sha256;
        // Move the file where the old layout put it: ab/cd/<sha>.zst.
        let legacy = ev.dir().join(&sha[..2]).join(&sha[2..4]);
        std::fs::create_dir_all(&legacy).unwrap();
        let legacy = legacy.join(format!("{sha}.zst"));
        std::fs::rename(ev.path_of(sha), &legacy).unwrap();
        assert_eq!(ev.path_of(sha), legacy);
        assert_eq!(ev.read(sha).unwrap(), body);
        let again = ev.put(&body).unwrap();
        assert!(
            !again.written,
            "a complete legacy file is not written again"
        );
        assert_eq!(ev.files().unwrap(), vec![legacy.clone()]);
        // A new payload goes to the one-level layout, beside the old one.
        let new = ev.put(b"new").unwrap();
        let mut files = ev.files().unwrap();
        files.sort();
        let mut want = vec![
            legacy,
            ev.dir()
                .join(&new.sha256[..2])
                .join(format!("{}.zst", new.sha256)),
        ];
        want.sort();
        assert_eq!(files, want);
    }
}
