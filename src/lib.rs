//! tenderscan: finds public-procurement tenders that order fake online opinion.

pub mod extract;
pub mod model;
