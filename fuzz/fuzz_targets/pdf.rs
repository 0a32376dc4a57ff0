//! PDF through the in-process parser (pdftotext is turned off here).
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"%PDF-") {
        common::check(data, "a.pdf");
    } else {
        let mut v = b"%PDF-1.4\n".to_vec();
        v.extend_from_slice(data);
        common::check(&v, "a.pdf");
    }
});
