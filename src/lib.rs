//! smss-triage as a library: the binary in `main.rs` is a thin shell over this.
//!
//! Parsers (crates under `parsers/`) read bytes and return facts; `analyse` turns facts
//! into records; `rules` turns records into findings; `output` prints. Each layer is
//! tested alone.

pub mod analyse;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod detect;
pub mod evidence;
pub mod model;
pub mod names;
pub mod output;
pub mod progress;
pub mod rules;
pub mod sanitise;
pub mod time;
