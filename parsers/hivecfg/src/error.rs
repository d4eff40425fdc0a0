use serde::Serialize;
use thiserror::Error;
use triage_regf::RegfError;

#[derive(Debug, Error, Clone, PartialEq, Eq, Serialize)]
pub enum HiveCfgError {
    /// A registry read failed at `path` (the inner error carries the file offset).
    #[error("{path}: {source}")]
    Regf { path: String, source: RegfError },

    #[error("{path}: expected {expected}, found {found}")]
    UnexpectedValue {
        path: String,
        expected: &'static str,
        found: String,
    },
}

impl HiveCfgError {
    pub(crate) fn regf(path: impl Into<String>, source: RegfError) -> HiveCfgError {
        HiveCfgError::Regf {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, HiveCfgError>;
