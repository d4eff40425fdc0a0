use serde::Serialize;
use thiserror::Error;

/// Every failure names the absolute file offset where it was detected and what was expected there.
#[derive(Debug, Error, Clone, PartialEq, Eq, Serialize)]
pub enum RegfError {
    #[error("offset {offset:#x}: expected {wanted} bytes, only {available} available")]
    Truncated {
        offset: u64,
        wanted: u64,
        available: u64,
    },

    #[error("offset {offset:#x}: expected {expected} signature, found {found:02x?}")]
    Signature {
        offset: u64,
        expected: &'static str,
        found: Vec<u8>,
    },

    #[error("offset {offset:#x}: cell offset {cell_offset:#x} lies outside the hive bins data")]
    CellOutOfBounds { offset: u64, cell_offset: u32 },

    #[error("offset {offset:#x}: expected a cell size of at least {min} bytes fitting in the file, found {size}")]
    BadCellSize { offset: u64, size: i64, min: u32 },

    #[error("offset {offset:#x}: {what} count {count} exceeds the limit {limit}")]
    TooMany {
        offset: u64,
        what: &'static str,
        count: u64,
        limit: u64,
    },

    #[error("offset {offset:#x}: {what} already visited (cycle or shared cell)")]
    Cycle { offset: u64, what: &'static str },

    #[error("offset {offset:#x}: nesting depth {depth} exceeds the limit")]
    TooDeep { offset: u64, depth: u32 },

    #[error(
        "offset {offset:#x}: value of type {data_type:#x} expected {expected}, found {len} bytes"
    )]
    BadValueData {
        offset: u64,
        data_type: u32,
        len: u64,
        expected: &'static str,
    },

    #[error("key not found: {path} (missing component {component:?})")]
    KeyNotFound { path: String, component: String },

    #[error(
        "offset {offset:#x}: checksum expected {stored:#010x} (stored), computed {computed:#010x}"
    )]
    Checksum {
        offset: u64,
        stored: u32,
        computed: u32,
    },

    #[error("log {log}: offset {offset:#x}: expected {expected}")]
    Log {
        log: String,
        offset: u64,
        expected: String,
    },

    #[error("no transaction log continues the primary's sequence number {sequence}")]
    NoUsableLog { sequence: u32 },
}

pub type Result<T> = std::result::Result<T, RegfError>;
