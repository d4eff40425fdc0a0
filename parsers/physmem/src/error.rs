use thiserror::Error;

/// Everything that can go wrong while turning a container into a physical address space.
/// Each variant names the file offset and what was expected there.
#[derive(Debug, Error)]
pub enum PhysmemError {
    #[error("cannot open {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("offset {offset:#x}: file too short, expected {expected} more bytes for {what}")]
    Truncated {
        offset: u64,
        expected: u64,
        what: &'static str,
    },
    #[error("offset {offset:#x}: expected {expected}, found {found:?}")]
    BadSignature {
        offset: u64,
        expected: &'static str,
        found: Vec<u8>,
    },
    #[error(
        "offset {offset:#x}: {what} = {value} exceeds the bound {bound} derived from the file size"
    )]
    CountTooLarge {
        offset: u64,
        what: &'static str,
        value: u64,
        bound: u64,
    },
    #[error("offset {offset:#x}: unsupported {what} {value:#x}")]
    Unsupported {
        offset: u64,
        what: &'static str,
        value: u64,
    },
    #[error("offset {offset:#x}: ELF: {message}")]
    Elf { offset: u64, message: String },
    #[error("offset {offset:#x}: VMware state: expected {expected}")]
    Vmware { offset: u64, expected: &'static str },
    #[error("offset 0x0: no physical memory found in the container")]
    Empty,
}

pub type Result<T> = std::result::Result<T, PhysmemError>;
