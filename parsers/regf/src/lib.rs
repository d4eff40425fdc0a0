//! Zero-copy reader for Windows registry hives (regf).
//!
//! [`Hive::from_bytes`] borrows the caller's bytes (typically a read-only memory map); keys,
//! values and data are decoded lazily. [`Hive::walk`] reads everything in parallel and collects
//! errors with their file offsets instead of stopping. [`replay`] applies `.LOG1`/`.LOG2`
//! transaction logs to an in-memory copy of a dirty hive.
//!
//! All offsets in errors are absolute file offsets; `cell_offset()` accessors are relative to
//! the hive bins data (file offset 0x1000), as stored in the hive.
#![forbid(unsafe_code)]
// `u32::is_multiple_of` needs Rust 1.87; the workspace supports 1.80.
#![allow(clippy::manual_is_multiple_of)]

mod base_block;
mod cells;
mod error;
mod filetime;
mod hive;
mod key;
mod marvin;
mod names;
mod replay;
mod value;
mod walk;

pub use base_block::{base_block_checksum, BaseBlock, BASE_BLOCK_SIZE};
pub use cells::{file_offset, CellInfo, Cells, Hbin, HbinIter, NO_CELL};
pub use error::{RegfError, Result};
pub use filetime::{filetime_to_iso8601, filetime_to_unix_micros};
pub use hive::{DirtyState, Hive, HiveBuf};
pub use key::{Key, SubkeyIter};
pub use names::names_equal;
pub use replay::{replay, LogFormat, ReplayReport};
pub use value::*;
pub use walk::{key_path, WalkError, WalkReport, MAX_DEPTH};
