//! tenderscan: finds public-procurement tenders that order fake online opinion.
//!
//! Data flows one way: `source` -> `extract` -> `store` -> `rules` -> `store` -> `alert`,
//! driven by `pipeline`; `cli` turns arguments into settings and calls the rest.

pub mod alert;
pub mod atomic;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod evidence;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod money;
pub mod par;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod safe_text;
pub mod scans;
pub mod serve;
pub mod show;
pub mod source;
pub mod stamp;
pub mod states;
pub mod store;
