//! RTF, with the input behind a {\rtf1 header.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"{\\rtf") {
        common::check(data, "a.rtf");
    } else {
        let mut v = b"{\\rtf1\\ansi\\ansicpg1251 ".to_vec();
        v.extend_from_slice(data);
        common::check(&v, "a.rtf");
    }
});
