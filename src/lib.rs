//! tenderscan: finds public-procurement tenders that order fake online opinion.

pub mod fetch;
pub mod model;
pub mod source;
