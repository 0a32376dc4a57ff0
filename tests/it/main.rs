//! Integration tests: one binary, a module per area.

#![recursion_limit = "256"]

mod alert;
mod backfill;
mod bounds;
mod channels;
mod commands;
mod contracts;
mod crawl;
mod evidence;
mod extract;
mod foundation;
mod hostile;
mod mime;
mod ocr;
mod pipeline;
mod plans;
mod portals;
mod reports;
mod review;
mod rules;
mod serve;
mod smtp;
mod sources;
mod terminal;
mod threads;
mod util;
mod watch;
