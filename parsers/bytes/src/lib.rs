//! The small pieces every parser of the workspace needs, once each (issue #14 §6):
//! bounds-checked little-endian reads ([`le`]) and big-endian ones ([`be`]), UTF-16 text ([`utf16`]), lowercase hex
//! ([`hex`]), GUID text ([`guid`]) and the FILETIME type with its one calendar conversion ([`FileTime`]).
//!
//! Everything here takes bytes from evidence, so nothing panics on short or odd input:
//! reads return `Option`, decoders replace what does not decode.
#![forbid(unsafe_code)]

pub mod be;
mod filetime;
pub mod guid;
pub mod hex;
pub mod le;
pub mod utf16;

pub use filetime::{Civil, FileTime, TICKS_PER_SECOND, UNIX_EPOCH_TICKS};
