//! Bounds-checked little-endian reads from input bytes (the workspace's one copy).

pub(crate) use triage_bytes::le::{u32_at, u64_at};
