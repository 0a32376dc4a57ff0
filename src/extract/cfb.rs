//! A small reader for OLE compound files (CFB), the container of legacy DOC and XLS: enough
//! to list streams and read one, with every sector chain checked for loops and bounds.

use super::Kind;

pub(crate) const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

const FREE: u32 = 0xFFFF_FFFF;
const END: u32 = 0xFFFF_FFFE;

pub(crate) struct Cfb<'a> {
    data: &'a [u8],
    ssize: usize,
    fat: Vec<u32>,
    minifat: Vec<u32>,
    ministream: Vec<u8>,
    cutoff: u64,
    pub entries: Vec<DirEntry>,
}

#[derive(Debug, Clone)]
pub(crate) struct DirEntry {
    pub name: String,
    pub kind: u8,
    start: u32,
    pub size: u64,
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(o..o + 2)?.try_into().ok()?))
}
pub(crate) fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(o..o + 4)?.try_into().ok()?))
}

impl<'a> Cfb<'a> {
    pub fn open(data: &'a [u8]) -> Result<Self, String> {
        if !data.starts_with(&MAGIC) || data.len() < 512 {
            return Err("not an OLE compound file".into());
        }
        let shift = u16_at(data, 0x1E).ok_or("short header")?;
        if shift != 9 && shift != 12 {
            return Err(format!("bad sector size 2^{shift}"));
        }
        let ssize = 1usize << shift;
        let n_fat = u32_at(data, 0x2C).ok_or("short header")? as usize;
        let dir_start = u32_at(data, 0x30).ok_or("short header")?;
        let cutoff = u32_at(data, 0x38).ok_or("short header")? as u64;
        let minifat_start = u32_at(data, 0x3C).ok_or("short header")?;
        let mut difat_sec = u32_at(data, 0x44).ok_or("short header")?;
        let max_sectors = data.len() / ssize + 1;
        if n_fat > max_sectors {
            return Err("FAT larger than the file".into());
        }
        // FAT sector numbers: 109 in the header, the rest in DIFAT sectors
        let mut fat_secs: Vec<u32> = (0..109)
            .filter_map(|i| u32_at(data, 0x4C + 4 * i))
            .filter(|&s| s != FREE && s != END)
            .collect();
        let mut guard = 0;
        while difat_sec != END && difat_sec != FREE && fat_secs.len() < n_fat {
            guard += 1;
            if guard > max_sectors {
                return Err("DIFAT chain loops".into());
            }
            let off = (difat_sec as usize + 1) * ssize;
            let sec = data
                .get(off..off + ssize)
                .ok_or("DIFAT sector out of file")?;
            let per = ssize / 4 - 1;
            for i in 0..per {
                let s = u32_at(sec, 4 * i).unwrap_or(FREE);
                if s != FREE && s != END {
                    fat_secs.push(s);
                }
            }
            difat_sec = u32_at(sec, 4 * per).unwrap_or(END);
        }
        fat_secs.truncate(n_fat.max(1));
        let mut fat = Vec::with_capacity(fat_secs.len() * ssize / 4);
        for s in fat_secs {
            let off = (s as usize + 1) * ssize;
            let sec = data.get(off..off + ssize).ok_or("FAT sector out of file")?;
            fat.extend(
                sec.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        let mut cfb = Cfb {
            data,
            ssize,
            fat,
            minifat: Vec::new(),
            ministream: Vec::new(),
            cutoff,
            entries: Vec::new(),
        };
        let dir = cfb.chain(dir_start, u64::MAX)?;
        for e in dir.chunks_exact(128) {
            let len = u16_at(e, 0x40).unwrap_or(0) as usize;
            let len = len.min(64).saturating_sub(2);
            let units: Vec<u16> = e[..len]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let kind = e[0x42];
            let start = u32_at(e, 0x74).unwrap_or(END);
            let size = u32_at(e, 0x78).unwrap_or(0) as u64;
            cfb.entries.push(DirEntry {
                name: String::from_utf16_lossy(&units),
                kind,
                start,
                size,
            });
        }
        if let Some(root) = cfb.entries.first().cloned()
            && root.kind == 5
        {
            cfb.ministream = cfb.chain(root.start, root.size)?;
            let mf = cfb.chain(minifat_start, u64::MAX).unwrap_or_default();
            cfb.minifat = mf
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
        }
        Ok(cfb)
    }

    /// Bytes of the regular-sector chain from `start`, at most `size` bytes.
    fn chain(&self, start: u32, size: u64) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut s = start;
        let mut steps = 0usize;
        while s != END && s != FREE {
            steps += 1;
            if steps > self.data.len() / self.ssize + 1 {
                return Err("sector chain loops".into());
            }
            let off = (s as usize + 1)
                .checked_mul(self.ssize)
                .ok_or("sector number overflows")?;
            let sec = self
                .data
                .get(off..off + self.ssize)
                .ok_or("sector out of file")?;
            out.extend_from_slice(sec);
            if out.len() as u64 >= size {
                break;
            }
            s = *self.fat.get(s as usize).ok_or("sector outside the FAT")?;
        }
        if size != u64::MAX && (out.len() as u64) > size {
            out.truncate(size as usize);
        }
        Ok(out)
    }

    fn mini_chain(&self, start: u32, size: u64) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut s = start;
        let mut steps = 0usize;
        while s != END && s != FREE && (out.len() as u64) < size {
            steps += 1;
            if steps > self.ministream.len() / 64 + 1 {
                return Err("mini sector chain loops".into());
            }
            let off = s as usize * 64;
            let sec = self
                .ministream
                .get(off..off + 64)
                .ok_or("mini sector out of stream")?;
            out.extend_from_slice(sec);
            s = *self
                .minifat
                .get(s as usize)
                .ok_or("mini sector outside the mini FAT")?;
        }
        out.truncate(size.min(out.len() as u64) as usize);
        Ok(out)
    }

    pub fn find(&self, name: &str) -> Option<&DirEntry> {
        self.entries
            .iter()
            .find(|e| e.kind == 2 && e.name.eq_ignore_ascii_case(name))
    }

    /// Reads a stream by name; streams larger than `cap` are an error.
    pub fn read(&self, name: &str, cap: u64) -> Result<Vec<u8>, String> {
        let e = self.find(name).ok_or_else(|| format!("no {name} stream"))?;
        if e.size > cap {
            return Err(format!("stream {name} is over the size limit"));
        }
        if e.size < self.cutoff {
            self.mini_chain(e.start, e.size)
        } else {
            self.chain(e.start, e.size)
        }
    }
}

/// DOC, XLS, or an encrypted OOXML file, by the streams inside.
pub(crate) fn sniff_ole(bytes: &[u8]) -> Option<Kind> {
    let cfb = Cfb::open(bytes).ok()?;
    if cfb.find("WordDocument").is_some() {
        Some(Kind::Doc)
    } else if cfb.find("Workbook").is_some() || cfb.find("Book").is_some() {
        Some(Kind::Xls)
    } else if cfb.find("EncryptedPackage").is_some() {
        // a password-protected DOCX/XLSX: let the DOCX path report it as encrypted
        Some(Kind::Docx)
    } else {
        None
    }
}
