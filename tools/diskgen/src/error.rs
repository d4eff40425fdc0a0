//! One error type: a generator either ran a tool that failed, could not read or write a
//! file, or found the image it made not shaped as expected.

use std::path::PathBuf;

/// What went wrong while building or wrapping an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An external program is not installed (Debian package named).
    #[error("`{tool}` not found on PATH (Debian package {package})")]
    MissingTool { tool: String, package: &'static str },
    /// An external program ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Tool {
        command: String,
        status: String,
        stderr: String,
    },
    /// An input the plan needs is missing (a shared sample, a project sample, symbols).
    #[error("missing input {path}: {why}")]
    MissingInput { path: PathBuf, why: String },
    /// The image the tools wrote is not shaped as this crate expects (MFT patching).
    #[error("unexpected image layout: {0}")]
    Layout(String),
    /// The memory generator failed.
    #[error("memgen: {0}")]
    Memgen(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
