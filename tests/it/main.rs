//! Integration tests: one binary, a module per area.

mod alert;
mod foundation;
mod smtp;
