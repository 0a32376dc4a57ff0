//! Evidence: every response a source read from a portal (an API page, a listing or notice
//! page, a GraphQL answer) and every attachment, kept byte for byte as it came, so a reporter
//! can show what the portal said and when, after the agency edits or withdraws the tender.
//!
//! New payloads go to append-only pack files, `<db stem>.evidence/packs/NNNNNN.pack`, one
//! `fdatasync` a page, indexed in `packs/index.db` after the sync (see [`pack`] for the
//! layout; `[evidence] store = "files"` keeps the file per payload below). Loose files,
//! `ab/<sha256>.zst`, kept before packs (or with `store = "files"`) are read as before, and
//! moved into packs only by `evidence repack` (copied, synced, indexed, then deleted).
//! Retention deletes loose files no row names; packs are kept whole.
//!
//! Loose files live in a folder beside the database, `<db stem>.evidence/ab/<sha256>.zst`:
//! zstd-compressed, named by the sha256 of the uncompressed bytes (so the same payload is
//! kept once, however often it is fetched), written atomically (temporary file, rename) and
//! made durable (fsync, or one `syncfs` for a page's files) before any row names them. The
//! `evidence` table records, per notice, where each payload came from, when, and with what
//! HTTP status; a page's rows are committed in the page's own transaction
//! ([`Store::store_page_kept`]), so a crash leaves at worst files no row names, never a
//! notice without the rows of what was kept of it.
//!
//! A payload that cannot be kept (disk full, permissions, a folder that cannot be created)
//! is never silent: [`Evidence::keep_page`] says which, the pipeline fails the page (the
//! run is `partial`, exit 1, the source's error names it), does not move the cursor past it
//! (the next run fetches the page again and keeps it), and the notice or document is marked
//! `evidence_missing_at` until a later run keeps it; `verify` and the operator check report
//! what lacks evidence ([`Store::evidence_gaps`]). An attachment whose bytes cannot be kept
//! is still read and scanned (a broken evidence disk does not hold the alerts back), but it
//! stays pending and marked, so each later run fetches it again until they are kept. A
//! folder deleted between runs is created again with a warning ([`Evidence::prepare`]).
//!
//! What this module must never do: overwrite or change a kept file or pack record (a file with the right
//! name is trusted until `verify` says otherwise), keep anything but the bytes as received
//! (no re-serialisation), let a row name a file not yet durable, or delete the evidence of
//! a notice that was ever flagged.

pub mod pack;

use crate::model::{NoticeRecord, Payload};
use crate::stamp::sha256_hex;
use crate::store::{EvidenceGap, NewEvidence, RecordEvidence, Store, StoreError};
use pack::{Loc, PackWriter, Packs};
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
fn hash_zst(f: impl std::io::Read) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut decoder = zstd::stream::read::Decoder::new(f)?;
    std::io::copy(&mut decoder, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

fn hash_zst_bytes(frame: &[u8]) -> std::io::Result<String> {
    hash_zst(frame)
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
    /// Pack records no row names (left by a crash before the page was committed, or by
    /// retention: packs are kept whole): harmless, counted for information.
    pub packed_unreferenced: usize,
    /// Notices and documents that should have evidence and have none (at most
    /// [`GAPS_LISTED`], oldest first; see [`Store::evidence_gaps`]).
    pub without_evidence: Vec<EvidenceGap>,
    /// How many notices, and documents, lack evidence in all.
    pub notices_without_evidence: i64,
    pub documents_without_evidence: i64,
}

/// Items without evidence `verify` lists by name (it counts them all).
pub const GAPS_LISTED: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub sha256: String,
    pub path: PathBuf,
    pub detail: String,
}

impl VerifyReport {
    pub fn failed(&self) -> bool {
        !self.corrupt.is_empty()
            || !self.missing.is_empty()
            || self.notices_without_evidence > 0
            || self.documents_without_evidence > 0
    }
}

/// What retention removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub rows: usize,
    pub files: usize,
    pub bytes: u64,
    /// Payloads no row names any more that stay in their pack (packs are kept whole: a
    /// record is never cut out of one).
    pub packed_kept: usize,
}

pub use crate::config::StoreKind;

/// Where a payload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A loose `.zst` file.
    Loose(PathBuf),
    /// A record of a pack file.
    Packed(PathBuf, Loc),
    /// Nowhere: the path a loose file of it would have.
    Missing(PathBuf),
}

impl Located {
    /// The loose file or the pack file.
    pub fn path(&self) -> &Path {
        match self {
            Located::Loose(p) | Located::Packed(p, _) | Located::Missing(p) => p,
        }
    }
}

/// The evidence folder of one database.
#[derive(Debug, Clone)]
pub struct Evidence {
    dir: PathBuf,
    kind: StoreKind,
    packs: Packs,
    /// The pack this value appends to (opened on first write, its lock held until dropped).
    writer: std::sync::Arc<std::sync::Mutex<Option<PackWriter>>>,
}

/// What `evidence repack` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepackReport {
    pub folder: PathBuf,
    /// Loose files copied into packs (then deleted).
    pub moved: usize,
    /// Loose files whose payload a pack already held (deleted).
    pub already_packed: usize,
    /// Bytes of the loose files moved.
    pub bytes: u64,
    /// Loose files left alone because they do not hash to their name (`verify` lists them).
    pub skipped: Vec<Problem>,
}

/// Loose files moved per durable write (and index commit) of `evidence repack`.
const REPACK_BATCH: usize = 64;

/// Threads writing a page's payloads at once (fsync latency overlaps).
const PUT_THREADS: usize = 8;

/// What keeping a page's payloads gave.
#[derive(Debug, Clone, Default)]
pub struct PageKept {
    /// Per record, in order: the rows of its payloads kept, and whether all were.
    pub records: Vec<RecordEvidence>,
    /// One line per payload that could not be kept, naming it and its notices.
    pub errors: Vec<String>,
}

/// The retention cut-off for `keep_days` (None: nothing is ever pruned).
pub fn prunable_before(keep_days: u32) -> Option<String> {
    (keep_days > 0).then(|| {
        crate::stamp::format_time(
            chrono::Utc::now()
                .checked_sub_signed(chrono::Duration::days(i64::from(keep_days)))
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        )
    })
}

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
        Evidence::in_folder(dir)
    }

    fn in_folder(dir: PathBuf) -> Evidence {
        Evidence {
            packs: Packs::new(&dir),
            dir,
            kind: StoreKind::default(),
            writer: Default::default(),
        }
    }

    /// New payloads kept as `kind` says (reading finds both).
    pub fn with_store(mut self, kind: StoreKind) -> Evidence {
        self.kind = kind;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn packs(&self) -> &Packs {
        &self.packs
    }

    /// Where the payload with this hash is: a loose file (looked for first: files kept
    /// before packs stay where they are), a pack record, or nowhere.
    pub fn locate(&self, sha256: &str) -> Result<Located, EvidenceError> {
        let path = self.path_of(sha256);
        if path.is_file() {
            return Ok(Located::Loose(path));
        }
        match self.packs.lookup(sha256).map_err(io(self.packs.dir()))? {
            Some(loc) => Ok(Located::Packed(self.packs.pack_path(loc.pack), loc)),
            None => Ok(Located::Missing(path)),
        }
    }

    /// Before a run keeps anything: the folder is created when missing, silently on first
    /// use, and with a warning (returned) when the database names payloads that were in it
    /// (the folder was deleted, or a disk is not mounted). A path that is there but is no
    /// folder is an error (every payload of the run will fail to be kept, loudly).
    pub fn prepare(&self, store: &Store) -> Result<Option<String>, EvidenceError> {
        match std::fs::metadata(&self.dir) {
            Ok(m) if m.is_dir() => return Ok(None),
            Ok(_) => {
                return Err(io(&self.dir)(std::io::Error::other(
                    "is not a folder; no payload can be kept",
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&self.dir)(e)),
        }
        let (rows, payloads, _, _) = store.evidence_totals()?;
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        Ok((rows > 0).then(|| {
            format!(
                "the evidence folder {} was missing (deleted, or its disk not mounted?) and was created again; \
                 the {payloads} payloads the database names in it are gone unless restored from a backup \
                 (`tenderscan verify` lists them)",
                self.dir.display()
            )
        }))
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
        if self.kind == StoreKind::Packs {
            let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(writer) = w.as_mut()
                && let Err(e) = writer.sync()
            {
                let path = writer.path();
                // The next writer starts from what the pack holds (a torn tail is cut).
                *w = None;
                return Err(io(&path)(e));
            }
            return Ok(());
        }
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
        if self.kind == StoreKind::Packs {
            return self.write_packed(bytes, durable);
        }
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
            if std::fs::symlink_metadata(&self.dir).is_err() {
                tracing::warn!(folder = %self.dir.display(), "the evidence folder disappeared during the run; created again");
            }
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

    /// Append `bytes` to a pack unless a loose file or a pack record holds them; durable
    /// now if `durable`, else at the next [`Evidence::sync`] (before which no row may name it).
    fn write_packed(&self, bytes: &[u8], durable: bool) -> Result<Kept, EvidenceError> {
        let sha256 = sha256_hex(bytes);
        let kept = |stored: u64, written: bool| Kept {
            sha256: sha256.clone(),
            size: bytes.len() as i64,
            stored_size: stored as i64,
            written,
        };
        let compressed = zstd::bulk::compress(bytes, LEVEL).map_err(io(self.packs.dir()))?;
        let loose = self.path_of(&sha256);
        if let Ok(meta) = std::fs::metadata(&loose)
            && meta.len() == compressed.len() as u64
        {
            return Ok(kept(meta.len(), false));
        }
        if let Some(loc) = self.packs.lookup(&sha256).map_err(io(self.packs.dir()))? {
            return Ok(kept(loc.length, false));
        }
        let loc = self.append(&sha256, &compressed, durable)?;
        Ok(kept(loc.length, true))
    }

    /// Append one zstd frame to this value's pack (opening one on first use).
    fn append(&self, sha256: &str, frame: &[u8], durable: bool) -> Result<Loc, EvidenceError> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(loc) = w.as_ref().and_then(|w| w.pending(sha256)) {
            return Ok(loc);
        }
        if w.as_ref().is_some_and(|w| w.full()) {
            let mut old = w.take().expect("some");
            old.sync().map_err(io(&old.path()))?;
        }
        if w.is_none() {
            if !self.dir.is_dir() {
                if std::fs::symlink_metadata(&self.dir).is_err() {
                    tracing::warn!(folder = %self.dir.display(), "the evidence folder disappeared during the run; created again");
                }
                std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
            }
            *w = Some(PackWriter::open(&self.packs).map_err(io(self.packs.dir()))?);
        }
        let writer = w.as_mut().expect("opened");
        let path = writer.path();
        let loc = writer.append(sha256, frame).map_err(io(&path))?;
        if durable && let Err(e) = writer.sync() {
            *w = None;
            return Err(io(&path)(e));
        }
        Ok(loc)
    }

    /// The payload with this hash, decompressed (not checked against its hash: see
    /// [`Evidence::verify`]; a pack record's crc is).
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, EvidenceError> {
        match self.locate(sha256)? {
            Located::Loose(path) => {
                let f = std::fs::File::open(&path).map_err(io(&path))?;
                zstd::stream::decode_all(f).map_err(io(&path))
            }
            Located::Packed(path, loc) => {
                let frame = self.packs.read_frame(sha256, loc).map_err(io(&path))?;
                zstd::stream::decode_all(&frame[..]).map_err(io(&path))
            }
            Located::Missing(path) => Err(io(&path)(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file, and no pack holds it",
            ))),
        }
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

    /// Keep the payloads of a page's records (each distinct response once), durably: the
    /// files are written by a few threads at once and made durable together by one sync,
    /// before any row names them. Returns, per record, the rows to record in the page's
    /// transaction ([`Store::store_page_kept`]) and whether all its payloads were kept; a
    /// record that carries no payload counts as not kept.
    pub fn keep_page(&self, records: &[NoticeRecord]) -> PageKept {
        // Records of one listing share its bytes: each distinct response is written once.
        let mut unique: Vec<&Payload> = Vec::new();
        let mut index: std::collections::HashMap<(usize, usize), usize> =
            std::collections::HashMap::new();
        let per_record: Vec<Vec<usize>> = records
            .iter()
            .map(|rec| {
                rec.payloads
                    .iter()
                    .map(|p| {
                        *index
                            .entry((p.body.as_ptr() as usize, p.body.len()))
                            .or_insert_with(|| {
                                unique.push(p);
                                unique.len() - 1
                            })
                    })
                    .collect()
            })
            .collect();
        let mut kept = self.put_all(&unique.iter().map(|p| &p.body[..]).collect::<Vec<_>>());
        // The files are on disk before any row names them.
        let synced = if unique.is_empty() {
            Ok(())
        } else {
            self.sync()
        };
        if let Err(e) = synced {
            for k in kept.iter_mut().filter(|k| k.is_ok()) {
                *k = Err(EvidenceError::Io {
                    path: self.dir.clone(),
                    source: std::io::Error::other(format!("not made durable: {e}")),
                });
            }
        }
        let mut out = PageKept::default();
        for (i, k) in kept.iter().enumerate() {
            if let Err(e) = k {
                let of: Vec<&str> = records
                    .iter()
                    .zip(&per_record)
                    .filter(|(_, ps)| ps.contains(&i))
                    .map(|(r, _)| r.external_id.as_str())
                    .collect();
                let msg = format!(
                    "payload {} (evidence of notice {}) not kept: {e}",
                    unique[i].url,
                    of.join(", ")
                );
                tracing::error!("{msg}");
                out.errors.push(msg);
            }
        }
        for (rec, ps) in records.iter().zip(&per_record) {
            let mut ev = RecordEvidence {
                rows: Vec::new(),
                complete: !ps.is_empty(),
            };
            if ps.is_empty() {
                let msg = format!(
                    "notice {}: the source handed over no payload to keep as its evidence",
                    rec.external_id
                );
                tracing::error!("{msg}");
                out.errors.push(msg);
            }
            for &i in ps {
                let p = unique[i];
                match &kept[i] {
                    Ok(k) if ev.rows.iter().any(|r| r.sha256 == k.sha256) => {}
                    Ok(k) => ev.rows.push(NewEvidence {
                        notice_id: 0,
                        document_id: None,
                        kind: "notice",
                        url: rec.url.clone().unwrap_or_else(|| p.url.clone()),
                        http_status: Some(p.status),
                        media_type: Some(p.content_type.clone().unwrap_or_else(|| {
                            if crate::source::util::looks_like_html(None, &p.body) {
                                "text/html".into()
                            } else {
                                "application/json".into()
                            }
                        })),
                        sha256: k.sha256.clone(),
                        size: k.size,
                        stored_size: k.stored_size,
                        fetched_at: crate::stamp::format_time(p.fetched_at),
                        fetched_url: Some(p.url.clone()),
                    }),
                    Err(_) => ev.complete = false,
                }
            }
            out.records.push(ev);
        }
        out
    }

    /// [`Evidence::put_unsynced`] for each of `bodies`, by a few threads at once (one at a
    /// time, a page of 50 payloads waited on 100 fsyncs in a row). Call [`Evidence::sync`]
    /// before recording any of them.
    fn put_all(&self, bodies: &[&[u8]]) -> Vec<Result<Kept, EvidenceError>> {
        if bodies.is_empty() {
            return Vec::new();
        }
        std::thread::scope(|scope| {
            let chunk = bodies.len().div_ceil(PUT_THREADS).max(1);
            let handles: Vec<_> = bodies
                .chunks(chunk)
                .map(|part| {
                    (
                        part.len(),
                        scope.spawn(move || {
                            part.iter()
                                .map(|b| self.put_unsynced(b))
                                .collect::<Vec<_>>()
                        }),
                    )
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|(n, h)| {
                    h.join().unwrap_or_else(|_| {
                        (0..n)
                            .map(|_| {
                                Err(EvidenceError::Io {
                                    path: self.dir.clone(),
                                    source: std::io::Error::other("a writer thread panicked"),
                                })
                            })
                            .collect()
                    })
                })
                .collect()
        })
    }

    /// Re-hash every payload the table names; list files missing, corrupt, or unnamed, and
    /// the notices and documents that should have evidence and have none (what retention
    /// with `keep_days` may have removed left out).
    pub fn verify(&self, store: &Store, keep_days: u32) -> Result<VerifyReport, EvidenceError> {
        let (gaps, notices, documents) =
            store.evidence_gaps(prunable_before(keep_days).as_deref(), GAPS_LISTED)?;
        let mut r = VerifyReport {
            folder: self.dir.clone(),
            without_evidence: gaps,
            notices_without_evidence: notices,
            documents_without_evidence: documents,
            ..Default::default()
        };
        let hashes = store.evidence_hashes()?;
        for sha in &hashes {
            r.checked += 1;
            let located = match self.locate(sha) {
                Ok(l) => l,
                Err(e) => {
                    r.corrupt.push(Problem {
                        sha256: sha.clone(),
                        path: self.packs.dir().to_path_buf(),
                        detail: format!("the pack index cannot be read: {e}"),
                    });
                    continue;
                }
            };
            let problem = |detail: String| Problem {
                sha256: sha.clone(),
                path: located.path().to_path_buf(),
                detail,
            };
            let found = match &located {
                Located::Missing(path) => {
                    r.missing.push(problem(match std::fs::metadata(path) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                            format!("no such file (a folder on its path is not one: {e}), and no pack holds it")
                        }
                        _ => "no such file, and no pack holds it".into(),
                    }));
                    continue;
                }
                Located::Loose(path) => match std::fs::File::open(path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        r.missing.push(problem("no such file".into()));
                        continue;
                    }
                    Err(e) => Err(format!("cannot read: {e}")),
                    Ok(f) => hash_zst(f).map_err(|e| format!("not a readable zstd file: {e}")),
                },
                Located::Packed(_, loc) => match self.packs.read_frame(sha, *loc) {
                    Err(e) => Err(format!("pack record at offset {}: {e}", loc.offset)),
                    Ok(frame) => hash_zst_bytes(&frame).map_err(|e| {
                        format!(
                            "pack record at offset {}: not a readable zstd frame: {e}",
                            loc.offset
                        )
                    }),
                },
            };
            match found {
                Err(detail) => r.corrupt.push(problem(detail)),
                Ok(found) if &found == sha => r.ok += 1,
                Ok(found) => r
                    .corrupt
                    .push(problem(format!("content hashes to {found}"))),
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
        r.packed_unreferenced = self
            .packs
            .all()
            .map_err(io(self.packs.dir()))?
            .iter()
            .filter(|(sha, _)| !named.contains(sha.as_str()))
            .count();
        Ok(r)
    }

    /// Every `.zst` file under the folder (one level of sub-folders, and the second level
    /// of the layout before 2026-11-30), sorted.
    fn files(&self) -> Result<Vec<PathBuf>, EvidenceError> {
        let mut out = Vec::new();
        let list = |p: &Path| -> Result<Vec<PathBuf>, EvidenceError> {
            match std::fs::read_dir(p) {
                Ok(rd) => Ok(rd.filter_map(|e| e.ok().map(|e| e.path())).collect()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    Ok(Vec::new())
                }
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
        let Some(before) = prunable_before(keep_days) else {
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
            if let Ok(Some(_)) = self.packs.lookup(&sha) {
                r.packed_kept += 1;
            }
        }
        Ok(r)
    }

    /// `evidence repack`: move the loose files into packs. Per batch, the files are read and
    /// checked (a file that does not hash to its name is left alone), appended, synced and
    /// indexed, and only then deleted: a crash at any point loses nothing (at worst a file
    /// is both loose and packed, and the next repack deletes the loose copy).
    pub fn repack(&self) -> Result<RepackReport, EvidenceError> {
        let mut r = RepackReport {
            folder: self.dir.clone(),
            ..Default::default()
        };
        let packer = self.clone().with_store(StoreKind::Packs);
        let files = self.files()?;
        for batch in files.chunks(REPACK_BATCH) {
            let mut done: Vec<(&PathBuf, u64)> = Vec::new();
            for file in batch {
                let Some(sha) = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".zst"))
                else {
                    continue;
                };
                let frame = std::fs::read(file).map_err(io(file))?;
                match hash_zst_bytes(&frame) {
                    Ok(found) if found == sha => {}
                    Ok(found) => {
                        r.skipped.push(Problem {
                            sha256: sha.into(),
                            path: file.clone(),
                            detail: format!("content hashes to {found}"),
                        });
                        continue;
                    }
                    Err(e) => {
                        r.skipped.push(Problem {
                            sha256: sha.into(),
                            path: file.clone(),
                            detail: format!("not a readable zstd file: {e}"),
                        });
                        continue;
                    }
                }
                if self
                    .packs
                    .lookup(sha)
                    .map_err(io(self.packs.dir()))?
                    .is_some()
                {
                    r.already_packed += 1;
                } else {
                    packer.append(sha, &frame, false)?;
                    r.moved += 1;
                    r.bytes += frame.len() as u64;
                }
                done.push((file, frame.len() as u64));
            }
            // Synced and indexed before any loose copy goes.
            packer.sync()?;
            for (file, _) in done {
                match std::fs::remove_file(file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(file)(e)),
                }
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

    fn payload(body: &str) -> Payload {
        Payload {
            url: "https://portal/api?page=1".into(),
            status: 200,
            content_type: Some("application/json".into()),
            fetched_at: chrono::Utc::now(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// An attachment listed by two notices is fetched once; the second notice gets its own
    /// evidence row, so retention of the first never takes the file from the second.
    #[test]
    fn a_reused_attachment_is_evidence_of_both_notices() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let ev = Evidence::beside(store.path()).with_store(StoreKind::Files);
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
            payloads: vec![payload(&format!("{{\"id\": {id}}}"))],
            ..Default::default()
        };
        let kept = ev.keep_page(&[rec("1")]);
        assert!(kept.errors.is_empty(), "{:?}", kept.errors);
        let a = store
            .store_page_kept(src, &[rec("1")], &kept.records, None)
            .unwrap()
            .touched[0];
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
            fetched_at: crate::stamp::now(),
            fetched_url: None,
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
        let kept_b = ev.keep_page(&[rec("2")]);
        let b = store
            .store_page_kept(src, &[rec("2")], &kept_b.records, None)
            .unwrap()
            .touched[0];
        let doc_b = store.pending_documents(b).unwrap().remove(0);
        assert!(store.reuse_document(&doc_b).unwrap());
        assert!(store.copy_document_evidence(doc_b.id).unwrap());
        let rows: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM evidence WHERE kind = 'document' AND sha256 = ?1",
                [&kept.sha256],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 2);
        // Retention of never-flagged notices (last seen, and fetched, long ago) removes
        // both rows, then the file.
        store
            .conn()
            .execute_batch(
                "UPDATE evidence SET last_fetched_at = '2000-01-01T00:00:00Z';
                 UPDATE notices SET first_seen_at = '2000-01-01T00:00:00Z', last_seen_at = '2000-01-01T00:00:00Z';
                 UPDATE documents SET fetched_at = '2000-01-01T00:00:00Z';",
            )
            .unwrap();
        let r = ev.prune(&mut store, 30).unwrap();
        assert_eq!((r.rows, r.files), (4, 3), "{r:?}");
        assert!(!ev.path_of(&kept.sha256).exists());
        // What retention removed is not reported as missing.
        let v = ev.verify(&store, 30).unwrap();
        assert!(
            !v.failed() && v.checked == 0 && v.unreferenced.is_empty(),
            "{v:?}"
        );
        // Kept for ever, the same notices lack their evidence.
        let v = ev.verify(&store, 0).unwrap();
        assert!(v.failed(), "{v:?}");
        assert_eq!(
            (v.notices_without_evidence, v.documents_without_evidence),
            (2, 2)
        );
    }

    /// A listing's bytes are written once for all its records, each record gets a row; a
    /// folder that cannot be made fails every payload, names the notices, and the store
    /// marks them until a later page keeps them.
    #[test]
    fn a_page_is_kept_once_and_a_page_that_cannot_be_kept_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let ev = Evidence::beside(store.path()).with_store(StoreKind::Files);
        let src = store.ensure_source("g", "goszakup", "https://x").unwrap();
        let listing = payload("{\"b\": 1,  \"a\": [2, 1]}\n");
        let rec = |id: &str, payloads: Vec<Payload>| NoticeRecord {
            external_id: id.into(),
            title: "Услуги".into(),
            url: Some(format!("https://portal/{id}")),
            payloads,
            ..Default::default()
        };
        let page = [
            rec("1", vec![listing.clone()]),
            rec("2", vec![listing.clone(), payload("<html>2</html>")]),
        ];
        // The folder path is taken by a file: nothing can be kept.
        std::fs::write(ev.dir(), b"not a folder").unwrap();
        assert!(ev.prepare(&store).is_err());
        let kept = ev.keep_page(&page);
        assert_eq!(kept.errors.len(), 2, "{:?}", kept.errors);
        assert!(
            kept.errors[0].contains("evidence of notice 1, 2"),
            "{:?}",
            kept.errors
        );
        assert!(
            kept.records
                .iter()
                .all(|r| !r.complete && r.rows.is_empty())
        );
        store
            .store_page_kept(src, &page, &kept.records, Some("c1"))
            .unwrap();
        let marked = "SELECT count(*) FROM notices WHERE evidence_missing_at IS NOT NULL";
        let n = |store: &Store, sql: &str| -> i64 {
            store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
        };
        assert_eq!(n(&store, marked), 2);
        let (gaps, notices, documents) = store.evidence_gaps(None, 10).unwrap();
        assert_eq!((gaps.len(), notices, documents), (2, 2, 0));
        assert!(
            gaps.iter()
                .all(|g| g.kind == "notice" && g.missing_since.is_some())
        );
        // The disk is back.
        std::fs::remove_file(ev.dir()).unwrap();
        assert_eq!(ev.prepare(&store).unwrap(), None, "first use: no warning");
        let kept = ev.keep_page(&page);
        assert!(kept.errors.is_empty(), "{:?}", kept.errors);
        assert_eq!(kept.records[0].rows.len(), 1);
        assert_eq!(kept.records[1].rows.len(), 2);
        assert_eq!(
            kept.records[0].rows[0].sha256,
            kept.records[1].rows[0].sha256
        );
        assert_eq!(
            ev.files().unwrap().len(),
            2,
            "the shared listing is one file"
        );
        let sha = &kept.records[0].rows[0].sha256;
        assert_eq!(
            ev.read(sha).unwrap(),
            listing.body.to_vec(),
            "byte for byte"
        );
        store
            .store_page_kept(src, &page, &kept.records, None)
            .unwrap();
        assert_eq!(n(&store, marked), 0);
        assert_eq!(
            n(
                &store,
                "SELECT count(*) FROM evidence WHERE kind = 'notice'"
            ),
            3
        );
        assert_eq!(
            n(
                &store,
                "SELECT count(*) FROM evidence WHERE fetched_url = 'https://portal/api?page=1' AND url = 'https://portal/2'"
            ),
            2
        );
        assert!(!ev.verify(&store, 0).unwrap().failed());
        // A record with nothing to keep is not complete.
        let bare = ev.keep_page(&[rec("3", vec![])]);
        assert!(!bare.records[0].complete && bare.errors.len() == 1);
        // A folder deleted between runs is created again, with a warning.
        std::fs::remove_dir_all(ev.dir()).unwrap();
        let warning = ev.prepare(&store).unwrap().expect("a warning");
        assert!(warning.contains("was missing"), "{warning}");
        assert!(ev.dir().is_dir());
        let v = ev.verify(&store, 0).unwrap();
        assert_eq!(v.missing.len(), 2, "{v:?}");
    }

    #[test]
    fn the_same_bytes_are_kept_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let ev = Evidence::beside(&dir.path().join("t.db")).with_store(StoreKind::Files);
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
        let ev = Evidence::beside(&dir.path().join("t.db")).with_store(StoreKind::Files);
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

    fn pack_len(ev: &Evidence) -> u64 {
        std::fs::metadata(ev.packs().pack_path(1)).unwrap().len()
    }

    /// Packs: a page's payloads in one pack, kept once, read back, found by a new value
    /// (the index), and the rows of the page name only synced records.
    #[test]
    fn payloads_are_appended_to_a_pack_kept_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let ev = Evidence::beside(store.path());
        let src = store.ensure_source("g", "goszakup", "https://x").unwrap();
        let rec = |id: &str| NoticeRecord {
            external_id: id.into(),
            title: "Услуги".into(),
            payloads: vec![payload(&format!("{{\"id\": {id}}}").repeat(40))],
            ..Default::default()
        };
        let page: Vec<NoticeRecord> = (1..=20).map(|i| rec(&i.to_string())).collect();
        let kept = ev.keep_page(&page);
        assert!(kept.errors.is_empty(), "{:?}", kept.errors);
        store
            .store_page_kept(src, &page, &kept.records, None)
            .unwrap();
        drop(ev);
        let ev = Evidence::beside(store.path());
        assert_eq!(ev.files().unwrap(), Vec::<PathBuf>::new(), "no loose file");
        assert_eq!(ev.packs().list().unwrap(), vec![1]);
        let sha = &kept.records[3].rows[0].sha256;
        match ev.locate(sha).unwrap() {
            Located::Packed(p, loc) => {
                assert_eq!(p, ev.dir().join("packs").join("000001.pack"));
                assert_eq!(loc.length as i64, kept.records[3].rows[0].stored_size);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ev.read(sha).unwrap(), page[3].payloads[0].body.to_vec());
        let len = pack_len(&ev);
        let again = ev.put(&page[3].payloads[0].body).unwrap();
        assert!(!again.written);
        assert_eq!(pack_len(&ev), len, "not appended twice");
        let v = ev.verify(&store, 0).unwrap();
        assert!(!v.failed(), "{v:?}");
        assert_eq!((v.checked, v.ok, v.packed_unreferenced), (20, 20, 0));
        // A flipped byte inside a record: verify names the pack.
        let loc = match ev.locate(sha).unwrap() {
            Located::Packed(_, loc) => loc,
            other => panic!("{other:?}"),
        };
        let path = ev.packs().pack_path(1);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[(loc.offset + pack::HEADER + 3) as usize] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let v = Evidence::beside(store.path()).verify(&store, 0).unwrap();
        assert!(v.failed());
        assert_eq!(v.corrupt.len(), 1, "{v:?}");
        assert_eq!(&v.corrupt[0].sha256, sha);
        assert_eq!(v.corrupt[0].path, path);
    }

    /// A torn tail (a record a crash cut short) is cut off when a writer opens the pack;
    /// records a crash left synced but not indexed are indexed again.
    #[test]
    fn a_torn_tail_is_cut_off_and_unindexed_records_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let ev = Evidence::beside(&dir.path().join("t.db"));
        let a = ev.put(b"first payload").unwrap();
        let b = ev.put(b"second payload").unwrap();
        drop(ev);
        let path = dir.path().join("t.evidence/packs/000001.pack");
        let whole = std::fs::metadata(&path).unwrap().len();
        // The index forgets b (a commit lost to a power cut), and half a record follows.
        let idx = rusqlite::Connection::open(dir.path().join("t.evidence/packs/index.db")).unwrap();
        idx.execute("DELETE FROM records WHERE sha256 = ?1", [&b.sha256])
            .unwrap();
        let a_end: i64 = idx
            .query_row(
                "SELECT offset + length + 48 FROM records WHERE sha256 = ?1",
                [&a.sha256],
                |r| r.get(0),
            )
            .unwrap();
        idx.execute("UPDATE packs SET indexed_to = ?1", [a_end])
            .unwrap();
        drop(idx);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"TSP1 half a record").unwrap();
        drop(f);
        let ev = Evidence::beside(&dir.path().join("t.db"));
        assert_eq!(ev.read(&b.sha256).unwrap(), b"second payload");
        let c = ev.put(b"third payload").unwrap();
        assert!(c.written);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            whole + pack::HEADER + pack::TRAILER + c.stored_size as u64,
            "the torn tail was cut before the new record"
        );
        drop(ev);
        let ev = Evidence::beside(&dir.path().join("t.db"));
        for (k, want) in [
            (&a, &b"first payload"[..]),
            (&b, b"second payload"),
            (&c, b"third payload"),
        ] {
            assert_eq!(ev.read(&k.sha256).unwrap(), want);
        }
    }

    /// Repack moves loose files into a pack (then deletes them), leaves a corrupt file
    /// alone, and verify finds every payload; retention keeps packs whole.
    #[test]
    fn repack_moves_loose_files_into_packs() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let files = Evidence::beside(store.path()).with_store(StoreKind::Files);
        let src = store.ensure_source("g", "goszakup", "https://x").unwrap();
        let page: Vec<NoticeRecord> = (1..=150)
            .map(|i| NoticeRecord {
                external_id: i.to_string(),
                title: "Услуги".into(),
                payloads: vec![payload(&format!("<html>{i}</html>"))],
                ..Default::default()
            })
            .collect();
        let kept = files.keep_page(&page);
        store
            .store_page_kept(src, &page, &kept.records, None)
            .unwrap();
        let loose = files.files().unwrap();
        assert_eq!(loose.len(), 150);
        // One file no longer hashes to its name.
        let bad = &loose[7];
        std::fs::write(bad, zstd::bulk::compress(b"edited", 3).unwrap()).unwrap();
        let r = Evidence::beside(store.path()).repack().unwrap();
        assert_eq!(
            (r.moved, r.already_packed, r.skipped.len()),
            (149, 0, 1),
            "{r:?}"
        );
        assert_eq!(files.files().unwrap(), vec![bad.clone()]);
        let v = Evidence::beside(store.path()).verify(&store, 0).unwrap();
        assert_eq!((v.checked, v.ok, v.corrupt.len()), (150, 149, 1), "{v:?}");
        assert!(v.missing.is_empty());
        // Retention: the rows go, the records stay in their pack.
        store
            .conn()
            .execute_batch(
                "UPDATE evidence SET last_fetched_at = '2000-01-01T00:00:00Z';
                 UPDATE notices SET first_seen_at = '2000-01-01T00:00:00Z', last_seen_at = '2000-01-01T00:00:00Z';",
            )
            .unwrap();
        let ev = Evidence::beside(store.path());
        let p = ev.prune(&mut store, 30).unwrap();
        assert_eq!((p.rows, p.files, p.packed_kept), (150, 1, 149), "{p:?}");
        let v = Evidence::beside(store.path()).verify(&store, 30).unwrap();
        assert!(!v.failed(), "{v:?}");
        assert_eq!(v.packed_unreferenced, 149);
    }
}
