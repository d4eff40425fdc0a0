//! Opening evidence: read-only, never written. Evidence is a byte source with a location
//! (a loose file, or a file inside a disk image) and the directory that holds it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use triage_source::{
    ByteSource, FileSource, LocalSiblings, Location, MemorySource, Siblings, Source,
};

use crate::detect::{self, Format};

/// The most bytes read into memory for an analyser that wants one slice (a PE file or a
/// hive inside a disk image). Larger files are reported, never allocated.
pub const MAX_IN_MEMORY: u64 = 1 << 30;

/// One opened input.
pub struct Evidence {
    /// The content. Loose files are memory-mapped; files inside an image are read through
    /// the image, and read into memory (bounded) when an analyser wants one slice.
    pub source: Source,
    /// The directory that holds it: hive logs, crash-dump companions, EWF segments.
    pub siblings: Arc<dyn Siblings>,
    /// The last component of its name, as found.
    pub name: String,
    /// The path on the examiner's disk, for a loose file.
    pub path: Option<PathBuf>,
    pub format: Format,
}

impl Evidence {
    /// A loose file on the examiner's disk.
    pub fn open(path: &Path) -> Result<Evidence> {
        let src =
            FileSource::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut ev = Evidence::from_source(Arc::new(src), Arc::new(LocalSiblings::of(path)), name);
        ev.path = Some(path.to_path_buf());
        Ok(ev)
    }

    /// A source found elsewhere (inside a disk image). Detected by content like any input.
    pub fn from_source(source: Source, siblings: Arc<dyn Siblings>, name: String) -> Evidence {
        let format = detect::detect_source(source.as_ref());
        Evidence {
            source,
            siblings,
            name,
            path: None,
            format,
        }
    }

    /// Make the content one slice in memory when it is not already (a file inside an
    /// image), so the slice-based analysers (PE, hive) can read it.
    pub fn materialise(&mut self) -> Result<()> {
        if self.source.as_slice().is_some() {
            return Ok(());
        }
        let bytes = triage_source::read_all(self.source.as_ref(), MAX_IN_MEMORY)?.into_owned();
        let loc = self.source.location().clone();
        self.source = Arc::new(MemorySource::new(loc, bytes));
        Ok(())
    }

    /// The content as one slice: empty until [`Evidence::materialise`] for a source that
    /// is not in memory.
    pub fn bytes(&self) -> &[u8] {
        self.source.as_slice().unwrap_or(&[])
    }

    pub fn len(&self) -> u64 {
        self.source.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    pub fn location(&self) -> &Location {
        self.source.location()
    }

    pub fn sha256(&self) -> String {
        if let Some(b) = self.source.as_slice() {
            return hex(&Sha256::digest(b));
        }
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0u64;
        while off < self.len() {
            let n = (self.len() - off).min(buf.len() as u64) as usize;
            let _holes = triage_source::read_lossy(self.source.as_ref(), off, &mut buf[..n]);
            h.update(&buf[..n]);
            off += n as u64;
        }
        hex(&h.finalize())
    }

    /// What records and errors call this input.
    pub fn display(&self) -> String {
        self.location().to_string()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Expand the command line's paths: files as given, directories recursively (sorted, so
/// two runs list inputs in the same order). Symbolic links to directories are not
/// followed, so a link loop cannot make the walk endless. Unreadable directories are
/// returned as errors beside the files found.
pub fn collect_inputs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        walk(p, &mut files, &mut errors, 0);
    }
    (files, errors)
}

fn walk(p: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>, depth: usize) {
    const MAX_DEPTH: usize = 64;
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) => {
            errors.push((p.to_path_buf(), format!("cannot open: {e}")));
            return;
        }
    };
    if meta.is_dir() {
        if depth >= MAX_DEPTH {
            errors.push((
                p.to_path_buf(),
                format!("directory nesting deeper than {MAX_DEPTH}: not entered"),
            ));
            return;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                errors.push((p.to_path_buf(), format!("cannot read directory: {e}")));
                return;
            }
        };
        entries.sort();
        for e in entries {
            walk(&e, files, errors, depth + 1);
        }
    } else if meta.file_type().is_symlink() {
        // A link given on the command line, or to a file, is followed; a link to a
        // directory met during a walk is not.
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() => files.push(p.to_path_buf()),
            Ok(m) if m.is_dir() && depth == 0 => {
                let target = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
                walk(&target, files, errors, depth + 1)
            }
            Ok(_) => {}
            Err(e) => errors.push((p.to_path_buf(), format!("dangling link: {e}"))),
        }
    } else if meta.is_file() {
        files.push(p.to_path_buf());
    }
}
