//! smss-triage as a library: the binary in `main.rs` is a thin shell over this.
//!
//! Parsers (crates under `parsers/`) read bytes and return facts; `analyse` turns facts
//! into records; `rules` turns records into findings; `output` prints. Each layer is
//! tested alone.

//! Public are the modules the binary (`main.rs`) and the integration tests use; the
//! rest are the crate's own.

pub mod analyse;
pub mod batch;
pub mod cli;
pub mod commands;
mod detect;
mod evidence;
pub mod model;
mod names;
pub mod output;
mod progress;
pub mod rules;
pub mod sanitise;
pub mod time;
