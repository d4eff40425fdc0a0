#[derive(Debug, thiserror::Error)]
pub enum MemgenError {
    #[error("ISF {isf}: missing {what}")]
    MissingLayout { isf: String, what: String },
    #[error(transparent)]
    Isf(#[from] triage_isf::IsfError),
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("image of {size:#x} bytes too small: needed physical page {needed:#x}")]
    OutOfMemory { size: u64, needed: u64 },
    #[error("virtual address {va:#x} written before it was mapped")]
    Unmapped { va: u64 },
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
    #[error("scenario JSON: {0}")]
    Json(#[from] serde_json::Error),
}
