//! `tenderscan serve`: the newsroom's own web page over the database (issue #19).
//!
//! Must never: write to the database except through a reviewer's CSRF-checked verdict form;
//! put notice text into a page unescaped; open a file whose path came from a request (documents
//! are read only through an evidence hash that the database names).

pub mod auth;
pub mod charts;
