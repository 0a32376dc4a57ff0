//! Pack files: many payloads appended to one file, made durable by one `fdatasync` a page
//! (a file per payload cost an inode, a rename and a share of a `syncfs` each: 473 against
//! 3 205 notices/s in BENCHMARKS.md).
//!
//! Layout, under the evidence folder: `packs/NNNNNN.pack` (six digits, from 000001), each a
//! run of records
//!
//! ```text
//! magic "TSP1" (4) | sha256 of the uncompressed payload (32) | frame length, u64 LE (8)
//!   | one zstd frame (the same bytes a loose `.zst` file holds) | crc32 of all before it (4)
//! ```
//!
//! and `packs/index.db`, a SQLite table `records(sha256, pack, offset, length)` naming where
//! each record starts, and `packs(pack, indexed_to)`: how far each pack was indexed. The
//! packs are the truth; the index is written only after the records it names were synced,
//! and can always be brought up to date from them: a pack's bytes past `indexed_to` are
//! read again (records whose crc holds are indexed), and a torn tail (a record a crash cut
//! short) is cut off, by the one process holding the pack's lock.
//!
//! A writer holds an exclusive lock on the pack it appends to (`File::try_lock`, released
//! when the writer is dropped or its process dies), so two processes never append to one
//! pack: the second takes another, or starts a new one.
//!
//! What this module must never do: change a byte of a pack before its end (records are only
//! appended; the only cut is of a tail no index names, under the pack's lock), index a
//! record before it is synced, or return bytes whose crc does not hold.

use rusqlite::{OptionalExtension, params};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 4] = b"TSP1";
/// Magic, sha256, length.
pub const HEADER: u64 = 4 + 32 + 8;
/// The crc32 after the frame.
pub const TRAILER: u64 = 4;
/// A pack past this size is not appended to any more.
const PACK_MAX: u64 = 1 << 30;
/// A frame longer than this is not believed (a torn or foreign header).
const FRAME_MAX: u64 = 1 << 34;

/// Where a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub pack: u32,
    /// Of the record's magic.
    pub offset: u64,
    /// Of the zstd frame.
    pub length: u64,
}

fn bad(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// The packs of one evidence folder (and, shared by its clones, the index connection
/// reads use, and whether it was brought up to date once).
#[derive(Debug, Clone)]
pub struct Packs {
    dir: PathBuf,
    read: std::sync::Arc<std::sync::Mutex<ReadState>>,
}

#[derive(Debug, Default)]
struct ReadState {
    conn: Option<rusqlite::Connection>,
    caught_up: bool,
}

impl Packs {
    pub fn new(evidence_dir: &Path) -> Packs {
        Packs {
            dir: evidence_dir.join("packs"),
            read: Default::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn pack_path(&self, pack: u32) -> PathBuf {
        self.dir.join(format!("{pack:06}.pack"))
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("index.db")
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> std::io::Error + '_ {
        move |e| std::io::Error::other(format!("{}: {e}", self.index_path().display()))
    }

    /// Pack numbers on disk, ascending.
    pub fn list(&self) -> std::io::Result<Vec<u32>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        let mut v: Vec<u32> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".pack")?;
                (stem.len() == 6).then(|| stem.parse().ok()).flatten()
            })
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    /// The index (created, with the folder, when missing).
    fn index(&self) -> std::io::Result<rusqlite::Connection> {
        let path = self.index_path();
        std::fs::create_dir_all(&self.dir)?;
        let sql = self.sql();
        let conn = rusqlite::Connection::open(&path).map_err(&sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(&sql)?;
        // NORMAL: a commit lost to a power cut is found again from the packs (catch-up).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS records (sha256 TEXT PRIMARY KEY, pack INTEGER NOT NULL,
                offset INTEGER NOT NULL, length INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS packs (pack INTEGER PRIMARY KEY, indexed_to INTEGER NOT NULL);",
        )
        .map_err(&sql)?;
        Ok(conn)
    }

    /// Run `f` on the read connection (opened on first use; None when there are no packs),
    /// after one catch-up per [`Packs`] when `catch_up`.
    fn with_index<T>(
        &self,
        catch_up: bool,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> std::io::Result<Option<T>> {
        let mut st = self.read.lock().unwrap_or_else(|p| p.into_inner());
        if st.conn.is_none() {
            if !self.index_path().is_file() && self.list()?.is_empty() {
                return Ok(None);
            }
            st.conn = Some(self.index()?);
        }
        let st = &mut *st;
        let conn = st.conn.as_ref().expect("opened");
        if catch_up && !st.caught_up {
            self.catch_up(conn)?;
            st.caught_up = true;
        }
        f(conn).map(Some).map_err(self.sql())
    }

    fn lookup_in(conn: &rusqlite::Connection, sha256: &str) -> rusqlite::Result<Option<Loc>> {
        conn.prepare_cached("SELECT pack, offset, length FROM records WHERE sha256 = ?1")?
            .query_row([sha256], |r| {
                Ok(Loc {
                    pack: r.get(0)?,
                    offset: r.get::<_, i64>(1)? as u64,
                    length: r.get::<_, i64>(2)? as u64,
                })
            })
            .optional()
    }

    /// Where the record of this payload is, if any: the index; when it does not know the
    /// hash, once per [`Packs`], after bringing it up to date from packs no writer holds.
    pub fn lookup(&self, sha256: &str) -> std::io::Result<Option<Loc>> {
        if let Some(Some(l)) = self.with_index(false, |c| Self::lookup_in(c, sha256))? {
            return Ok(Some(l));
        }
        Ok(self
            .with_index(true, |c| Self::lookup_in(c, sha256))?
            .flatten())
    }

    /// Every indexed record (after a catch-up), by hash.
    pub fn all(&self) -> std::io::Result<Vec<(String, Loc)>> {
        Ok(self
            .with_index(true, |conn| {
                let mut stmt = conn
                    .prepare("SELECT sha256, pack, offset, length FROM records ORDER BY sha256")?;
                stmt.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        Loc {
                            pack: r.get(1)?,
                            offset: r.get::<_, i64>(2)? as u64,
                            length: r.get::<_, i64>(3)? as u64,
                        },
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })?
            .unwrap_or_default())
    }

    /// Index what packs no writer holds have past their `indexed_to` (records a crash
    /// left synced but unindexed), cutting off a torn tail. Returns records added.
    fn catch_up(&self, conn: &rusqlite::Connection) -> std::io::Result<usize> {
        let mut added = 0;
        for pack in self.list()? {
            let path = self.pack_path(pack);
            let Ok(mut f) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
            else {
                continue;
            };
            let len = f.metadata()?.len();
            let to = indexed_to(conn, pack).map_err(std::io::Error::other)?;
            if len <= to {
                continue;
            }
            // Held by a writer: its tail is its own (not yet synced, or being written).
            if f.try_lock().is_err() {
                continue;
            }
            added += recover(conn, &mut f, pack, to, len)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        Ok(added)
    }

    /// The zstd frame of a record, its header and crc checked against `sha256`.
    pub fn read_frame(&self, sha256: &str, loc: Loc) -> std::io::Result<Vec<u8>> {
        let path = self.pack_path(loc.pack);
        let mut f = File::open(&path)?;
        f.seek(SeekFrom::Start(loc.offset))?;
        let (sha, frame) = read_record(&mut f)?
            .ok_or_else(|| bad(format!("no whole record at offset {}", loc.offset)))?;
        if sha != sha256 {
            return Err(bad(format!(
                "the record at offset {} is of {sha}, not {sha256}",
                loc.offset
            )));
        }
        Ok(frame)
    }
}

fn indexed_to(conn: &rusqlite::Connection, pack: u32) -> rusqlite::Result<u64> {
    Ok(conn
        .prepare_cached("SELECT indexed_to FROM packs WHERE pack = ?1")?
        .query_row([pack], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64)
}

/// Read one record at the file's position: None at a clean end, or where the rest is no
/// whole record with a good crc (a torn tail).
fn read_record(f: &mut File) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = [0u8; HEADER as usize];
    if !read_full(f, &mut head)? {
        return Ok(None);
    }
    if &head[..4] != MAGIC {
        return Ok(None);
    }
    let length = u64::from_le_bytes(head[36..44].try_into().expect("8 bytes"));
    if length > FRAME_MAX {
        return Ok(None);
    }
    let mut frame = vec![0u8; length as usize];
    let mut crc = [0u8; 4];
    if !read_full(f, &mut frame)? || !read_full(f, &mut crc)? {
        return Ok(None);
    }
    let mut h = crc32fast::Hasher::new();
    h.update(&head);
    h.update(&frame);
    if h.finalize() != u32::from_le_bytes(crc) {
        return Ok(None);
    }
    Ok(Some((hex::encode(&head[4..36]), frame)))
}

/// Fill `buf`; false when the file ends first.
fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Under the pack's lock: index its records from `from` on, and cut what is no whole
/// record off its end (synced). Returns records indexed.
fn recover(
    conn: &rusqlite::Connection,
    f: &mut File,
    pack: u32,
    from: u64,
    len: u64,
) -> std::io::Result<usize> {
    f.seek(SeekFrom::Start(from))?;
    let mut at = from;
    let mut found = Vec::new();
    while let Some((sha, frame)) = read_record(f)? {
        let length = frame.len() as u64;
        found.push((
            sha,
            Loc {
                pack,
                offset: at,
                length,
            },
        ));
        at += HEADER + length + TRAILER;
    }
    if at < len {
        tracing::warn!(
            pack,
            offset = at,
            bytes = len - at,
            "evidence pack: a torn tail (a write a crash cut short) is cut off"
        );
        f.set_len(at)?;
        f.sync_data()?;
    }
    // Nothing new: no write (a reader never waits on the index's lock for nothing).
    if !found.is_empty() || at != from {
        index_records(conn, pack, &found, at).map_err(std::io::Error::other)?;
    }
    Ok(found.len())
}

fn index_records(
    conn: &rusqlite::Connection,
    pack: u32,
    recs: &[(String, Loc)],
    indexed_to: u64,
) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut ins = tx.prepare_cached(
            "INSERT OR IGNORE INTO records (sha256, pack, offset, length) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (sha, l) in recs {
            ins.execute(params![sha, l.pack, l.offset as i64, l.length as i64])?;
        }
    }
    tx.execute(
        "INSERT INTO packs (pack, indexed_to) VALUES (?1, ?2)
         ON CONFLICT(pack) DO UPDATE SET indexed_to = max(indexed_to, excluded.indexed_to)",
        params![pack, indexed_to as i64],
    )?;
    tx.commit()
}

/// Appends records to one pack, held locked. Records are durable and indexed only after
/// [`PackWriter::sync`].
#[derive(Debug)]
pub struct PackWriter {
    packs: Packs,
    file: File,
    pack: u32,
    end: u64,
    conn: rusqlite::Connection,
    pending: Vec<(String, Loc)>,
}

impl PackWriter {
    /// The last pack, if it is not full and no other writer holds it (its torn tail cut
    /// off), else a new one.
    pub fn open(packs: &Packs) -> std::io::Result<PackWriter> {
        let conn = packs.index()?;
        let list = packs.list()?;
        if let Some(&last) = list.last() {
            let path = packs.pack_path(last);
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)?;
            let len = f.metadata()?.len();
            if len < PACK_MAX && f.try_lock().is_ok() {
                let from = indexed_to(&conn, last)
                    .map_err(std::io::Error::other)?
                    .min(len);
                recover(&conn, &mut f, last, from, len).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
                })?;
                let end = f.seek(SeekFrom::End(0))?;
                return Ok(PackWriter {
                    packs: packs.clone(),
                    file: f,
                    pack: last,
                    end,
                    conn,
                    pending: Vec::new(),
                });
            }
        }
        let mut next = list.last().copied().unwrap_or(0) + 1;
        loop {
            let path = packs.pack_path(next);
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => {
                    f.try_lock()
                        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
                    // The new name is durable before any record in it is.
                    File::open(&packs.dir)?.sync_all()?;
                    return Ok(PackWriter {
                        packs: packs.clone(),
                        file: f,
                        pack: next,
                        end: 0,
                        conn,
                        pending: Vec::new(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => next += 1,
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("{}: {e}", path.display()),
                    ));
                }
            }
        }
    }

    pub fn path(&self) -> PathBuf {
        self.packs.pack_path(self.pack)
    }

    /// Whether this payload waits in this writer for its sync.
    pub fn pending(&self, sha256: &str) -> Option<Loc> {
        self.pending
            .iter()
            .find(|(s, _)| s == sha256)
            .map(|(_, l)| *l)
    }

    /// Append one record (not yet durable).
    pub fn append(&mut self, sha256: &str, frame: &[u8]) -> std::io::Result<Loc> {
        let raw = hex::decode(sha256).map_err(|e| bad(format!("sha256 {sha256}: {e}")))?;
        if raw.len() != 32 {
            return Err(bad(format!("sha256 {sha256}: not 32 bytes")));
        }
        let mut rec = Vec::with_capacity(frame.len() + (HEADER + TRAILER) as usize);
        rec.extend_from_slice(MAGIC);
        rec.extend_from_slice(&raw);
        rec.extend_from_slice(&(frame.len() as u64).to_le_bytes());
        rec.extend_from_slice(frame);
        let crc = crc32fast::hash(&rec);
        rec.extend_from_slice(&crc.to_le_bytes());
        if let Err(e) = self.file.write_all(&rec) {
            // What was written of it is a torn tail: cut it now, so the next record starts clean.
            let _ = self.file.set_len(self.end);
            let _ = self.file.seek(SeekFrom::Start(self.end));
            return Err(e);
        }
        let loc = Loc {
            pack: self.pack,
            offset: self.end,
            length: frame.len() as u64,
        };
        self.end += rec.len() as u64;
        self.pending.push((sha256.to_string(), loc));
        Ok(loc)
    }

    /// One `fdatasync` for every record appended since the last, then their index rows.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.sync_data()?;
        index_records(&self.conn, self.pack, &self.pending, self.end).map_err(|e| {
            std::io::Error::other(format!("{}: {e}", self.packs.index_path().display()))
        })?;
        self.pending.clear();
        Ok(())
    }

    /// Whether this pack is full (the next writer starts a new one).
    pub fn full(&self) -> bool {
        self.end >= PACK_MAX
    }
}
