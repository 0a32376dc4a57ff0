//! DOCX: raw packages (seeds), or the input as word/document.xml of a valid package.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK") {
        common::check(data, "a.docx");
    } else {
        let z = common::zip_with(&[("word/document.xml", data), ("word/footnotes.xml", data)]);
        common::check(&z, "a.docx");
    }
});
