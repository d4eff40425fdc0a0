//! Opening evidence: read-only, memory-mapped, never written.

use anyhow::{Context, Result};
use memmap2::Mmap;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::detect::{self, Format};

/// One opened input. The map is shared read-only; nothing here can write the file.
pub struct Evidence {
    pub path: PathBuf,
    map: Option<Mmap>,
    pub format: Format,
}

impl Evidence {
    pub fn open(path: &Path) -> Result<Evidence> {
        // File::open is read-only: evidence is never opened for writing.
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot stat", path.display()))?
            .len();
        let map = if len == 0 {
            None // mapping an empty file fails on some platforms; it has no content anyway
        } else {
            // SAFETY: the map is read-only. If another process truncates the file while we
            // read it we may fault; evidence should be on read-only media or a copy.
            Some(
                unsafe { Mmap::map(&file) }
                    .with_context(|| format!("{}: cannot map", path.display()))?,
            )
        };
        let bytes: &[u8] = map.as_deref().unwrap_or(&[]);
        let head = &bytes[..bytes.len().min(8192)];
        let tail = &bytes[bytes.len().saturating_sub(512)..];
        let format = detect::detect(head, tail, Some(bytes));
        Ok(Evidence {
            path: path.to_path_buf(),
            map,
            format,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(self.bytes()))
    }

    pub fn display(&self) -> String {
        self.path.display().to_string()
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
