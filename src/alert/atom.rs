//! The `atom` channel: an Atom 1.0 feed file (RFC 4287) at the recipient's `path`, written
//! each run that has something for it. Each digest stores its entries (JSON); the feed is
//! built from the newest [`MAX_ENTRIES`] entries of the recipient's delivered (and
//! unconfirmed) digests plus the one being written, newest first, and replaces the file
//! atomically (a temporary file beside it, then a rename).
//!
//! What this module must never do: leave a half-written feed (readers see the old file
//! or the new one), change an entry's id between runs (feed readers dedupe by it), put
//! unescaped notice text into the XML, or let a feed grow without bound.

use super::transport::{Outgoing, Transport};
use std::path::{Path, PathBuf};

/// Entries kept in a feed.
pub(crate) const MAX_ENTRIES: usize = 200;

/// One feed entry as a digest stores it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `urn:tenderscan:alert:{first alert id}`: stable, unique.
    pub id: String,
    pub title: String,
    /// RFC 3339, UTC.
    pub updated: String,
    /// An absolute http(s) link to the notice, when there is one.
    pub link: Option<String>,
    /// HTML (already escaped where it holds notice text), sent as `type="html"`.
    pub content: String,
}

/// XML text and attribute escaping; control characters XML 1.0 cannot carry are dropped.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

/// The feed for `recipient` (its `atom:PATH` name) from entries already newest first.
pub(crate) fn feed(recipient: &str, entries: &[Entry]) -> String {
    let entries = &entries[..entries.len().min(MAX_ENTRIES)];
    let updated = entries
        .iter()
        .map(|e| e.updated.as_str())
        .max()
        .unwrap_or("1970-01-01T00:00:00Z");
    let feed_id = format!(
        "urn:tenderscan:feed:{}",
        hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(recipient.as_bytes())[..16])
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!("  <id>{feed_id}</id>\n"));
    out.push_str("  <title>tenderscan alerts</title>\n");
    out.push_str(&format!("  <updated>{}</updated>\n", xml_escape(updated)));
    out.push_str("  <author><name>tenderscan</name></author>\n");
    out.push_str(&format!(
        "  <generator version=\"{}\">tenderscan</generator>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for e in entries {
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <id>{}</id>\n", xml_escape(&e.id)));
        out.push_str(&format!("    <title>{}</title>\n", xml_escape(&e.title)));
        out.push_str(&format!(
            "    <updated>{}</updated>\n",
            xml_escape(&e.updated)
        ));
        if let Some(l) = &e.link {
            out.push_str(&format!(
                "    <link rel=\"alternate\" href=\"{}\"/>\n",
                xml_escape(l)
            ));
        }
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            xml_escape(&e.content)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// Writes feeds: the path is the recipient's name after `atom:`.
pub(crate) struct Atom;

fn path_of(recipient: &str) -> PathBuf {
    PathBuf::from(recipient.strip_prefix("atom:").unwrap_or(recipient))
}

/// Write `bytes` to `path` atomically.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::atomic::write_atomic(path, bytes).map_err(|e| format!("the feed: {e}"))
}

impl Transport for Atom {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
    async fn send(&self, msg: &Outgoing<'_>) -> Result<(), String> {
        write_atomic(&path_of(msg.recipient), msg.raw)
    }
    async fn shutdown(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_text_is_escaped_and_the_feed_is_capped() {
        let e = |i: usize| Entry {
            id: format!("urn:tenderscan:alert:{i}"),
            title: "<script>&\u{1}".into(),
            updated: "2026-12-01T10:00:00Z".into(),
            link: Some("https://x.example/?a=1&b=\"2\"".into()),
            content: "<p>a &amp; b</p>".into(),
        };
        let entries: Vec<Entry> = (0..MAX_ENTRIES + 5).map(e).collect();
        let f = feed("atom:/tmp/x.xml", &entries);
        assert!(!f.contains("<script>"));
        assert!(f.contains("&lt;script&gt;&amp;</title>"));
        assert!(f.contains("href=\"https://x.example/?a=1&amp;b=&quot;2&quot;\""));
        assert!(f.contains("&lt;p&gt;a &amp;amp; b&lt;/p&gt;"));
        assert_eq!(f.matches("<entry>").count(), MAX_ENTRIES);
    }
}
