//! HTML, with the input behind an <html> start so it is sniffed as HTML.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut v = b"<html>".to_vec();
    v.extend_from_slice(data);
    common::check(&v, "a.html");
});
