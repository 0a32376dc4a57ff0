#!/usr/bin/env python3
"""Evidence write strategies, the crawl bench's shape: pages of 50 notices, each page one
listing payload (~15 KB stored) and 50 attachments (~12 KB stored each), 40 pages = 2 000
notices. Bytes are random (zstd output does not compress further), named by sha256.
A: one file per payload in <dir>/ab/ (temporary file + rename), one syncfs per page (today).
B: SQLite blobs in a separate database file (WAL, synchronous=FULL), one transaction per page.
C: one append-only pack file, records appended, one fdatasync per page (the index would be
   rows in the main database, committed after; not counted here).
Usage: evwrite.py DIR ROUNDS"""
import ctypes, hashlib, os, sqlite3, sys, time, shutil

libc = ctypes.CDLL("libc.so.6", use_errno=True)
PAGES, PER_PAGE = 40, 50

def payloads(seed):
    r = __import__("random").Random(seed)
    for p in range(PAGES):
        page = [r.randbytes(15000)] + [r.randbytes(r.randint(8000, 16000)) for _ in range(PER_PAGE)]
        yield page

def files(d, seed):
    os.makedirs(d)
    for page in payloads(seed):
        for b in page:
            h = hashlib.sha256(b).hexdigest()
            sub = os.path.join(d, h[:2]); os.makedirs(sub, exist_ok=True)
            tmp = os.path.join(sub, "." + h + ".tmp")
            with open(tmp, "wb") as f: f.write(b)
            os.rename(tmp, os.path.join(sub, h + ".zst"))
        fd = os.open(d, os.O_RDONLY); libc.syncfs(fd); os.close(fd)

def blobs(d, seed):
    os.makedirs(d)
    c = sqlite3.connect(os.path.join(d, "blobs.sqlite"), isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size INTEGER, data BLOB) WITHOUT ROWID")
    for page in payloads(seed):
        c.execute("BEGIN")
        for b in page:
            c.execute("INSERT OR IGNORE INTO blobs VALUES (?,?,?)", (hashlib.sha256(b).hexdigest(), len(b), b))
        c.execute("COMMIT")
    c.close()

def pack(d, seed):
    os.makedirs(d)
    with open(os.path.join(d, "pack-0001.pack"), "ab") as f:
        for page in payloads(seed):
            for b in page:
                f.write(hashlib.sha256(b).digest() + len(b).to_bytes(8, "little") + b)
            f.flush(); os.fdatasync(f.fileno())

d0, rounds = sys.argv[1], int(sys.argv[2])
res = {"A files+syncfs": [], "B sqlite blobs": [], "C pack+fdatasync": []}
for r in range(rounds):
    for name, fn in (("A files+syncfs", files), ("B sqlite blobs", blobs), ("C pack+fdatasync", pack)):
        d = os.path.join(d0, f"{name[0]}{r}")
        shutil.rmtree(d, ignore_errors=True)
        t = time.perf_counter(); fn(d, r); s = time.perf_counter() - t
        res[name].append(s)
        shutil.rmtree(d, ignore_errors=True)
for name, v in res.items():
    print(f"{name}: {PAGES*PER_PAGE/min(v):.0f} notices/s best, {PAGES*PER_PAGE/sorted(v)[len(v)//2]:.0f} median ({', '.join(f'{x:.2f}' for x in v)} s for {PAGES} pages)")
