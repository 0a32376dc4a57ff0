//! Leaf helpers every layer uses and none owns: the stored form of times and the hash that
//! names contents. Imports nothing from the crate, so sources, the store, evidence and alerts
//! can all reach them without reaching each other.
//!
//! This module must never: depend on another module of the crate, or change a format (both
//! are in the database and in users' exports).

use sha2::{Digest, Sha256};

/// The current UTC time as stored ("2026-11-28T13:11:00Z").
pub fn now() -> String {
    format_time(chrono::Utc::now())
}

/// A UTC time in the stored form.
pub fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_stay_as_stored() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-28T13:11:00.734+05:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(super::format_time(t), "2026-11-28T08:11:00Z");
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
