//! Files beside a source: EWF segments, split-raw parts, VMDK extents, VHD/VHDX parents,
//! qcow2 backing files, a hive's `.LOG1`/`.LOG2`. Found through the directory that holds
//! the source, on the examiner's disk or inside an image alike.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{FileSource, Result, Source};

/// The directory that holds a source.
pub trait Siblings: Send + Sync {
    /// Open the entry called `name` (compared case-insensitively, as Windows does), or
    /// `None` when there is none.
    fn open(&self, name: &str) -> Result<Option<Source>>;

    /// The names of the directory's entries (files only), for segment discovery.
    fn names(&self) -> Vec<String>;
}

/// No directory: a source that stands alone.
pub struct NoSiblings;

impl Siblings for NoSiblings {
    fn open(&self, _name: &str) -> Result<Option<Source>> {
        Ok(None)
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A directory on the examiner's disk.
pub struct LocalSiblings {
    dir: PathBuf,
}

impl LocalSiblings {
    pub fn new(dir: impl Into<PathBuf>) -> LocalSiblings {
        LocalSiblings { dir: dir.into() }
    }

    /// The directory of `file` (the current directory for a bare name).
    pub fn of(file: &std::path::Path) -> LocalSiblings {
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        LocalSiblings { dir }
    }
}

impl Siblings for LocalSiblings {
    fn open(&self, name: &str) -> Result<Option<Source>> {
        // A name from evidence (a VMDK descriptor, a VHD parent locator) must not climb
        // out of the directory.
        if name.is_empty() || name.contains('/') || name.contains('\\') || name == ".." {
            return Ok(None);
        }
        let exact = self.dir.join(name);
        let path = if exact.is_file() {
            Some(exact)
        } else {
            self.names()
                .into_iter()
                .find(|n| n.eq_ignore_ascii_case(name))
                .map(|n| self.dir.join(n))
        };
        match path {
            Some(p) => Ok(Some(Arc::new(FileSource::open(&p)?) as Source)),
            None => Ok(None),
        }
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}
