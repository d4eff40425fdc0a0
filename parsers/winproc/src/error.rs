use thiserror::Error;

/// What stops the process listing as a whole. Everything smaller (a broken link, an
/// unreadable token, a PEB paged out) is a warning or a field state in the result.
#[derive(Debug, Error)]
pub enum WinprocError {
    #[error(
        "physical 0x0: expected a kernel page-table root (DTB) in the image facts, found none"
    )]
    NoDtb,
    #[error("physical 0x0: expected an x64 image, found {arch}")]
    UnsupportedArch { arch: String },
    #[error("layout: expected offset of {field}, found none for this kernel")]
    MissingField { field: &'static str },
}

pub type Result<T> = std::result::Result<T, WinprocError>;
