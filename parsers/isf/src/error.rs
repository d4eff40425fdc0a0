use std::path::PathBuf;

/// Everything that can go wrong while reading an ISF file or a symbol directory.
#[derive(Debug, thiserror::Error)]
pub enum IsfError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: xz decompression failed: {message}")]
    Xz { path: PathBuf, message: String },
    #[error("{file}: not valid JSON: {source}")]
    Json {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    /// A JSON value had the wrong shape; `json_path` is a JSON-pointer-like path to it.
    #[error("{file}: at {json_path}: expected {expected}")]
    Shape {
        file: String,
        json_path: String,
        expected: &'static str,
    },
    #[error("{file}: type nesting deeper than {limit} at {json_path}")]
    TooDeep {
        file: String,
        json_path: String,
        limit: usize,
    },
    #[error("no ISF file for {pdb_name} {guid}-{age} under {dir}")]
    NotFound {
        dir: PathBuf,
        pdb_name: String,
        guid: String,
        age: u32,
    },
    #[error("{path}: decompressed size exceeds the {limit}-byte limit")]
    TooLarge { path: PathBuf, limit: u64 },
}
