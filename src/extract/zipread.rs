//! ZIP access with limits, shared by the archive reader and the ZIP-based formats (DOCX, ODF,
//! XLSX). Declared sizes are checked before inflating and actual sizes while inflating (the
//! reader stops at the cap). A ZIP whose central directory is missing (a cut download) is read
//! from its local headers as far as it goes.

use super::{Ctx, ExtractError, Input, Kind, human, sniff};
use std::io::{Cursor, Read};
use zip::ZipArchive;

/// One entry read into memory.
pub(crate) struct Entry {
    pub data: Vec<u8>,
    /// Why `data` is only a prefix of the entry, if it is.
    pub partial: Option<String>,
}

struct Info {
    index: usize,
    name: String,
    size: u64,
    encrypted: bool,
    is_dir: bool,
}

pub(crate) struct ZipView<'a> {
    kind: Kind,
    archive: Option<ZipArchive<Cursor<&'a [u8]>>>,
    infos: Vec<Info>,
    /// Entries already read (stream mode), by position in `infos`.
    loaded: Vec<Option<Entry>>,
    /// Set when the central directory could not be read.
    pub broken: Option<String>,
}

fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        // ZIPs made on Russian Windows carry names in cp866 without the UTF-8 flag
        Err(_) => encoding_rs::IBM866
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    }
}

/// Reads at most `cap` bytes from `r`; returns what was read and why it stopped short.
pub(crate) fn read_capped(ctx: &Ctx, r: &mut dyn Read, cap: u64) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if ctx.out_of_time() {
            return (out, Some("time budget exhausted while unpacking".into()));
        }
        match r.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(n) => {
                if out.len() as u64 + n as u64 > cap {
                    let keep = (cap - out.len() as u64) as usize;
                    out.extend_from_slice(&buf[..keep]);
                    return (
                        out,
                        Some(format!("unpacks to more than the {} limit", human(cap))),
                    );
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return (out, Some(format!("damaged data: {e}"))),
        }
    }
}

impl<'a> ZipView<'a> {
    /// Opens `bytes` as a ZIP. In stream mode (no central directory) the entries for which
    /// `want` is true are read at once.
    pub fn open(
        ctx: &mut Ctx,
        bytes: &'a [u8],
        kind: Kind,
        want: &dyn Fn(&str) -> bool,
    ) -> Result<Self, ExtractError> {
        match ZipArchive::new(Cursor::new(bytes)) {
            Ok(mut archive) => {
                let mut infos = Vec::new();
                for index in 0..archive.len() {
                    if infos.len() >= ctx.limits.max_entries {
                        ctx.note(format!(
                            "only the first {} entries of a {}-entry {} looked at",
                            ctx.limits.max_entries,
                            archive.len(),
                            kind
                        ));
                        break;
                    }
                    if let Ok(f) = archive.by_index_raw(index) {
                        infos.push(Info {
                            index,
                            name: decode_name(f.name_raw()),
                            size: f.size(),
                            encrypted: f.encrypted(),
                            is_dir: f.is_dir(),
                        });
                    }
                }
                let n = infos.len();
                Ok(ZipView {
                    kind,
                    archive: Some(archive),
                    infos,
                    loaded: (0..n).map(|_| None).collect(),
                    broken: None,
                })
            }
            Err(e) => Self::stream(ctx, bytes, kind, want, e.to_string()),
        }
    }

    fn stream(
        ctx: &mut Ctx,
        bytes: &'a [u8],
        kind: Kind,
        want: &dyn Fn(&str) -> bool,
        why: String,
    ) -> Result<Self, ExtractError> {
        let mut cur = Cursor::new(bytes);
        let mut infos = Vec::new();
        let mut loaded = Vec::new();
        let mut stop = None;
        loop {
            if infos.len() >= ctx.limits.max_entries || ctx.out_of_time() {
                stop = Some("entry or time limit reached".to_string());
                break;
            }
            let mut f = match zip::read::read_zipfile_from_stream(&mut cur) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    stop = Some(e.to_string());
                    break;
                }
            };
            let name = decode_name(f.name_raw());
            let info = Info {
                index: infos.len(),
                size: f.size(),
                encrypted: f.encrypted(),
                is_dir: f.is_dir(),
                name,
            };
            let entry = if !info.is_dir && !info.encrypted && want(&info.name) {
                let cap = ctx.entry_budget();
                let (data, partial) = read_capped(ctx, &mut f, cap);
                ctx.unpacked += data.len() as u64;
                ctx.entries += 1;
                Some(Entry { data, partial })
            } else {
                None
            };
            infos.push(info);
            loaded.push(entry);
        }
        if infos.is_empty() {
            return Err(ExtractError::corrupt(
                kind,
                format!("not a readable ZIP: {why}"),
            ));
        }
        let mut note = format!("ZIP directory unreadable ({why}); read from local headers");
        if let Some(s) = stop {
            note.push_str(&format!(", stopped at: {s}"));
        }
        Ok(ZipView {
            kind,
            archive: None,
            infos,
            loaded,
            broken: Some(note),
        })
    }

    /// Names of the file entries (not folders), in archive order.
    pub fn names(&self) -> Vec<String> {
        self.infos
            .iter()
            .filter(|i| !i.is_dir)
            .map(|i| i.name.clone())
            .collect()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.infos.iter().any(|i| i.name == name)
    }

    /// Reads entry `name`. With `partial_ok`, an entry over the size cap is read up to the cap;
    /// otherwise its declared size alone makes it an error.
    pub fn read(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        partial_ok: bool,
    ) -> Result<Entry, ExtractError> {
        let pos = self
            .infos
            .iter()
            .position(|i| i.name == name)
            .ok_or_else(|| ExtractError::corrupt(self.kind, format!("no entry {name}")))?;
        let info = &self.infos[pos];
        if info.encrypted {
            return Err(ExtractError::Encrypted { kind: self.kind });
        }
        let Some(archive) = self.archive.as_mut() else {
            return self.loaded[pos].take().ok_or_else(|| {
                ExtractError::corrupt(self.kind, format!("entry {name} could not be read"))
            });
        };
        if ctx.entries >= ctx.limits.max_entries {
            return Err(ExtractError::LimitExceeded(format!(
                "more than {} archive entries",
                ctx.limits.max_entries
            )));
        }
        ctx.entries += 1;
        let cap = ctx.entry_budget();
        if !partial_ok && info.size > cap {
            return Err(ExtractError::LimitExceeded(format!(
                "{} declares {} unpacked, over the {} left",
                super::clean_name(name),
                human(info.size),
                human(cap)
            )));
        }
        let mut f = archive
            .by_index(info.index)
            .map_err(|e| ExtractError::corrupt(self.kind, format!("entry {name}: {e}")))?;
        let (data, partial) = read_capped(ctx, &mut f, cap);
        ctx.unpacked += data.len() as u64;
        if !partial_ok
            && let Some(p) = &partial
            && data.len() as u64 >= cap
        {
            return Err(ExtractError::LimitExceeded(format!(
                "{} {p}",
                super::clean_name(name)
            )));
        }
        Ok(Entry { data, partial })
    }
}

/// A plain ZIP archive: every entry is sniffed and read as what it is.
pub(crate) fn extract_archive(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    if input.depth >= ctx.limits.max_depth {
        return Err(ExtractError::LimitExceeded(format!(
            "{}: containers nested more than {} levels deep",
            input.own_path(),
            ctx.limits.max_depth
        )));
    }
    let mut view = ZipView::open(ctx, input.bytes, Kind::Zip, &|_| true)?;
    if let Some(b) = view.broken.take() {
        ctx.note(format!("{}: {b}", input.own_path()));
    }
    let parts_before = ctx.parts.len();
    let pdfs_before = ctx.pdfs;
    let images_before = ctx.ocr.wanted;
    let mut errors: Vec<(String, ExtractError)> = Vec::new();
    let names = view.names();
    for (i, name) in names.iter().enumerate() {
        let path = input.sub_path(name);
        if ctx.out_of_time() {
            ctx.note(format!(
                "{}: time budget exhausted, {} entries not read",
                input.own_path(),
                names.len() - i
            ));
            break;
        }
        if ctx.is_full() {
            break;
        }
        let entry = match view.read(ctx, name, false) {
            Ok(e) => e,
            Err(e) => {
                errors.push((path, e));
                continue;
            }
        };
        if let Some(p) = &entry.partial {
            ctx.note(format!("entry {path}: read partly, {p}"));
        }
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let kind = sniff(&entry.data, Some(base));
        if kind == Kind::Unknown {
            ctx.note(format!("entry {path} skipped: unsupported format"));
            continue;
        }
        let child = Input {
            bytes: &entry.data,
            name: Some(base),
            media_type: None,
            path,
            depth: input.depth + 1,
        };
        if let Err(e) = ctx.run(&child, kind) {
            errors.push((child.path, e));
        }
    }
    let got =
        ctx.parts.len() > parts_before || ctx.pdfs > pdfs_before || ctx.ocr.wanted > images_before;
    if !got && !errors.is_empty() {
        let (_, first) = errors.remove(0);
        for (p, e) in errors {
            ctx.note(format!("entry {p} skipped: {e}"));
        }
        return Err(first);
    }
    for (p, e) in errors {
        ctx.note(format!("entry {p} skipped: {e}"));
    }
    Ok(())
}
