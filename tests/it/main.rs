//! Integration tests: one binary, a module per area.

mod crawl;
mod extract;
mod foundation;
