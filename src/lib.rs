//! tenderscan: finds public-procurement tenders that order fake online opinion.

pub mod model;
pub mod rules;
