//! Integration tests: one binary, a module per area.

#![recursion_limit = "256"]

mod commands;
mod crawl;
mod extract;
mod foundation;
mod pipeline;
mod util;
