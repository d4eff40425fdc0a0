use thiserror::Error;

/// Errors that stop a step of the Windows memory analysis. Most problems are reported
/// as warnings in the result instead; these are the ones with nothing to return.
#[derive(Debug, Error)]
pub enum WinmemError {
    #[error(transparent)]
    Physmem(#[from] triage_physmem::PhysmemError),
    #[error("physical 0x0: no kernel page-table root found (crash header, low stub and self-map scan all failed)")]
    NoDtb,
    #[error("virtual {vaddr:#x}: expected {expected}")]
    Unreadable { vaddr: u64, expected: &'static str },
    #[error("virtual {vaddr:#x}: expected {expected}, found {found:?}")]
    BadPe {
        vaddr: u64,
        expected: &'static str,
        found: Vec<u8>,
    },
}

pub type Result<T> = std::result::Result<T, WinmemError>;
