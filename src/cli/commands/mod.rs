//! The commands, one family a file: `run` (run, crawl, scan, daemon; the run lock and the
//! signals), `alert` (send, resend, confirm), `rules` (list, check, eval), `match_files`
//! (`match`), `inspect` (status, show, verify, search, export, the report list), `watch`
//! (add, list, remove), `review` (a verdict on a flag, the list), `serve` (the web page) and
//! `init`.
//!
//! Each turns what `args` parsed into calls of the library and prints through `output`;
//! none holds business logic. What these modules must never do: print untrusted text other
//! than through [`crate::safe_text`], or end with an exit code that is not one of
//! [`super::exit`]'s.

pub(super) mod alert;
pub(super) mod init;
pub(super) mod inspect;
pub(super) mod match_files;
pub(super) mod review;
pub(super) mod rules;
pub(super) mod run;
pub(super) mod serve;
pub(super) mod watch;
