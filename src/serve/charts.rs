//! The web page's charts, drawn on the server as SVG, each with its data as CSV.
//!
//! Must never: put a label into the SVG unescaped; draw a figure the CSV does not carry.
