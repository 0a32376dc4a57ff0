//! Shared by the fuzz targets: small limits, a panic hook that lets third-party parser panics
//! be caught by the extractor (as in production) but aborts on a panic in our own code.
#![allow(dead_code)]

use std::io::Write;
use std::sync::Once;
use std::time::Duration;
use tenderscan::extract::{Limits, OcrLimits, extract};

pub fn limits() -> Limits {
    Limits {
        max_input_bytes: 4 << 20,
        max_unpacked_bytes: 32 << 20,
        max_entry_bytes: 16 << 20,
        max_depth: 8,
        max_entries: 1000,
        max_text_bytes: 4 << 20,
        time_budget: Duration::from_secs(5),
        // No tools: the fuzz targets check our own parsers.
        ocr: OcrLimits::off(),
    }
}

pub fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: set once before this process starts any thread of its own
        unsafe { std::env::set_var("TENDERSCAN_PDFTOTEXT", "off") };
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info
                .location()
                .is_some_and(|l| l.file().contains("/registry/") || l.file().contains("/rustc/"));
            if !third_party {
                default(info);
                std::process::abort();
            }
        }));
    });
}

/// Runs the public entry point and checks the result's invariants.
pub fn check(bytes: &[u8], name: &str) {
    setup();
    let limits = limits();
    if let Ok(out) = extract(bytes, Some(name), None, &limits) {
        assert!(out.text.len() <= limits.max_text_bytes);
        assert!(!out.text.contains('\r'));
        assert!(out.notes.len() <= 200);
    }
}

pub fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored);
    for (n, d) in entries {
        w.start_file(*n, opts).unwrap();
        w.write_all(d).unwrap();
    }
    w.finish().unwrap().into_inner()
}
