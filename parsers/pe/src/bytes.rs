//! Bounds-checked little-endian reads: every read from input goes through
//! these so that a short or hostile file yields `None`, never a panic. They are the
//! workspace's one copy, in `triage-bytes`.

pub use triage_bytes::hex::encode as hex;
pub use triage_bytes::le::{slice, u16_at, u32_at, u64_at};
