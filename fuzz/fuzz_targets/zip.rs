//! ZIP archives (and anything else the bytes turn out to be).
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::check(data, "a.zip"));
