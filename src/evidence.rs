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
        // Never open what is not a regular file: a FIFO would block the open itself.
        let meta =
            std::fs::metadata(path).with_context(|| format!("{}: cannot open", path.display()))?;
        if !meta.is_file() {
            anyhow::bail!(
                "{}: {}",
                path.display(),
                special_reason(&meta.file_type()).unwrap_or("not a regular file: not read")
            );
        }
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

pub use triage_bytes::hex::encode as hex;

/// What the walk of the command line's paths found, in walk order within each list.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Regular files (directly or through a link): analysed.
    pub files: Vec<PathBuf>,
    /// Paths that could not be read (missing, unreadable directory, dangling link):
    /// reported as errors.
    pub errors: Vec<(PathBuf, String)>,
    /// Paths that are not regular files: FIFOs, sockets, devices, link loops, links to
    /// directories met during a walk. Reported as skipped with the reason, and never
    /// opened: opening a FIFO blocks until a writer comes, a device may never end.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Expand the command line's paths: files as given, directories recursively (sorted, so
/// two runs list inputs in the same order). Symbolic links to directories are not
/// followed during a walk, so a link loop cannot make the walk endless. Unreadable
/// directories are errors; FIFOs, sockets and devices are skipped (see [`Inputs`]).
pub fn collect(paths: &[PathBuf]) -> Inputs {
    let mut found = Inputs::default();
    for p in paths {
        walk(p, &mut found, 0);
    }
    found
}

/// Why a path that is neither a regular file nor a directory is not read.
fn special_reason(ft: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        Some("fifo: not read")
    } else if ft.is_socket() {
        Some("socket: not read")
    } else if ft.is_char_device() {
        Some("character device: not read")
    } else if ft.is_block_device() {
        Some("block device: not read (image it, then give the image)")
    } else {
        None
    }
}

/// Is `p` a symbolic link that never reaches anything but links (a loop)? Followed by
/// hand, at most 40 hops as the kernel does, so the answer never depends on the error
/// text of the platform.
fn is_link_loop(p: &Path) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut cur = p.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&cur) else {
            return false;
        };
        let next = match cur.parent() {
            Some(dir) if target.is_relative() => dir.join(&target),
            _ => target,
        };
        if !seen.insert(next.clone()) {
            return true;
        }
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => cur = next,
            _ => return false,
        }
    }
    true
}

fn walk(p: &Path, found: &mut Inputs, depth: usize) {
    const MAX_DEPTH: usize = 64;
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) => {
            found
                .errors
                .push((p.to_path_buf(), format!("cannot open: {e}")));
            return;
        }
    };
    if meta.is_dir() {
        if depth >= MAX_DEPTH {
            found.errors.push((
                p.to_path_buf(),
                format!("directory nesting deeper than {MAX_DEPTH}: not entered"),
            ));
            return;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                found
                    .errors
                    .push((p.to_path_buf(), format!("cannot read directory: {e}")));
                return;
            }
        };
        entries.sort();
        for e in entries {
            walk(&e, found, depth + 1);
        }
    } else if meta.file_type().is_symlink() {
        // A link given on the command line, or to a file, is followed; a link to a
        // directory met during a walk is not.
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() => found.files.push(p.to_path_buf()),
            Ok(m) if m.is_dir() && depth == 0 => {
                let target = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
                walk(&target, found, depth + 1)
            }
            Ok(m) if m.is_dir() => found
                .skipped
                .push((p.to_path_buf(), "link to a directory: not followed".into())),
            Ok(m) => {
                let why = special_reason(&m.file_type()).unwrap_or("not a regular file: not read");
                found
                    .skipped
                    .push((p.to_path_buf(), format!("link to a {why}")));
            }
            Err(_) if is_link_loop(p) => found
                .skipped
                .push((p.to_path_buf(), "symbolic link loop: not followed".into())),
            Err(e) => found
                .errors
                .push((p.to_path_buf(), format!("dangling link: {e}"))),
        }
    } else if meta.is_file() {
        found.files.push(p.to_path_buf());
    } else {
        let why = special_reason(&meta.file_type()).unwrap_or("not a regular file: not read");
        found.skipped.push((p.to_path_buf(), why.into()));
    }
}
