//! OLE compound files: legacy DOC (our CFB and piece-table reader) and XLS (calamine).
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fuzz_target!(|data: &[u8]| {
    if data.starts_with(&MAGIC) {
        common::check(data, "a.doc");
    } else {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(data);
        common::check(&v, "a.doc");
    }
});
