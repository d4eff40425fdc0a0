//! The one error type of the crate. Only problems that leave no PE to talk
//! about are errors; damage in optional parts becomes a warning in `PeFacts`.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PeError {
    #[error("offset {offset:#x}: expected {needed} bytes for {what}, file has {len}")]
    Truncated {
        offset: usize,
        needed: usize,
        len: usize,
        what: &'static str,
    },
    #[error("offset 0x0: expected MZ signature, found {found:02x?}")]
    NotMz { found: [u8; 2] },
    #[error("offset 0x3c: e_lfanew {e_lfanew:#x} points outside the file of {len} bytes")]
    LfanewOutOfRange { e_lfanew: u32, len: usize },
    #[error("offset {offset:#x}: expected PE\\0\\0 signature, found {found:02x?}")]
    NotPe { offset: usize, found: [u8; 4] },
    #[error("offset {offset:#x}: expected optional header magic 0x10b or 0x20b, found {found:#x}")]
    BadOptionalMagic { offset: usize, found: u16 },
    #[error("offset {offset:#x}: section table of {count} entries ends at {end:#x}, beyond the file of {len} bytes")]
    SectionTableBeyondFile {
        offset: usize,
        count: u16,
        end: usize,
        len: usize,
    },
    #[error("offset {offset:#x}: goblin could not read the headers: {message}")]
    Headers { offset: usize, message: String },
}
