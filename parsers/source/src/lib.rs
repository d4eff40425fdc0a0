//! Evidence is a byte source with a location, not a path.
//!
//! Every analyser reads through [`ByteSource`]: a positioned read through `&self`
//! (`Send + Sync`, so rayon can read one big image from many threads), a length, and a
//! [`Location`] a person can read (`host.E01 › p2 NTFS › \Windows\System32\config\SYSTEM`).
//! A loose file is memory-mapped ([`FileSource`]); a partition is a [`SliceSource`] of its
//! disk; a container, a file inside a volume or a snapshot implements the trait itself.
//!
//! # The read contract (the same as `pread`)
//! - `read_at` may return fewer bytes than asked; `Ok(0)` means the end of the source.
//! - A read that *starts* inside a region that cannot be read (a corrupt or missing chunk,
//!   an absent segment) returns [`SourceError::Hole`] with the hole's start and length, so
//!   a tolerant caller can zero-fill it and go on ([`read_lossy`]). Regions that are
//!   simply unallocated in a sparse container are zeros, not holes: that is their content.
//! - A read that runs *into* a hole after some good bytes returns the good bytes (short).
// Unsafe only where a file is memory-mapped (marked `allow(unsafe_code)` there).
#![deny(unsafe_code)]

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod cache;
mod deadline;
mod siblings;

pub use cache::ChunkCache;
pub use deadline::Deadline;
pub use siblings::{LocalSiblings, NoSiblings, Siblings};

/// Where a source is, as a chain from the outermost evidence file inwards.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Location {
    parts: Arc<[String]>,
}

impl Location {
    /// The location of a file on the examiner's disk.
    pub fn file(path: &Path) -> Location {
        Location::new(path.display().to_string())
    }

    pub fn new(part: impl Into<String>) -> Location {
        Location {
            parts: Arc::from(vec![part.into()]),
        }
    }

    /// A source inside this one: `self › part`.
    pub fn child(&self, part: impl Into<String>) -> Location {
        let mut v: Vec<String> = self.parts.to_vec();
        v.push(part.into());
        Location {
            parts: Arc::from(v),
        }
    }

    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// The innermost part (a file name, a partition, …).
    pub fn last(&self) -> &str {
        self.parts.last().map(String::as_str).unwrap_or("")
    }

    /// The outermost part: the evidence file given on the command line.
    pub fn root(&self) -> &str {
        self.parts.first().map(String::as_str).unwrap_or("")
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join(" › "))
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// An error reading a source. Every variant names the location and the byte offset.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A region that cannot be read: a corrupt or missing chunk, a segment that is absent.
    #[error("{location}: unreadable region at offset {offset:#x} ({len} bytes): {why}")]
    Hole {
        location: Location,
        offset: u64,
        len: u64,
        why: String,
    },
    /// A structure of the format (a header, a table) is not what the format says.
    #[error("{location}: {layer} at offset {offset:#x}: {what}")]
    Corrupt {
        location: Location,
        layer: &'static str,
        offset: u64,
        what: String,
    },
    /// Something the format allows but this reader does not do (yet).
    #[error("{location}: {layer}: unsupported: {what}")]
    Unsupported {
        location: Location,
        layer: &'static str,
        what: String,
    },
    #[error("{location}: read at offset {offset:#x}: {source}")]
    Io {
        location: Location,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {len} bytes at offset {offset:#x} run past the end ({size} bytes)")]
    OutOfRange {
        location: Location,
        offset: u64,
        len: u64,
        size: u64,
    },
}

impl SourceError {
    /// The byte offset the error is about.
    pub fn offset(&self) -> Option<u64> {
        match self {
            SourceError::Hole { offset, .. }
            | SourceError::Corrupt { offset, .. }
            | SourceError::Io { offset, .. }
            | SourceError::OutOfRange { offset, .. } => Some(*offset),
            SourceError::Unsupported { .. } => None,
        }
    }

    pub fn is_hole(&self) -> bool {
        matches!(self, SourceError::Hole { .. })
    }

    pub fn corrupt(
        location: &Location,
        layer: &'static str,
        offset: u64,
        what: impl Into<String>,
    ) -> SourceError {
        SourceError::Corrupt {
            location: location.clone(),
            layer,
            offset,
            what: what.into(),
        }
    }
}

pub type Result<T, E = SourceError> = std::result::Result<T, E>;

/// A readable region of a source that could not be read, as reported by [`read_lossy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    pub offset: u64,
    pub len: u64,
    pub why: String,
}

/// Positioned, read-only access to evidence bytes. See the crate docs for the contract.
pub trait ByteSource: Send + Sync {
    /// Length in bytes (the virtual size for a container).
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where this source is.
    fn location(&self) -> &Location;

    /// Read into `buf` at `offset`; see the crate docs for short reads and holes.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;

    /// The whole content as one slice when it is already in memory (a memory map): the
    /// zero-copy path for analysers that want a slice.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

impl<T: ByteSource + ?Sized> ByteSource for Arc<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn location(&self) -> &Location {
        (**self).location()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        (**self).read_at(offset, buf)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        (**self).as_slice()
    }
}

impl<T: ByteSource + ?Sized> ByteSource for Box<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn location(&self) -> &Location {
        (**self).location()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        (**self).read_at(offset, buf)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        (**self).as_slice()
    }
}

/// A shared, type-erased source: what analysers pass around.
pub type Source = Arc<dyn ByteSource>;

/// Read exactly `buf.len()` bytes at `offset`: a short source or a hole is an error.
pub fn read_exact_at(src: &dyn ByteSource, offset: u64, buf: &mut [u8]) -> Result<()> {
    let mut done = 0usize;
    while done < buf.len() {
        let n = src.read_at(offset + done as u64, &mut buf[done..])?;
        if n == 0 {
            return Err(SourceError::OutOfRange {
                location: src.location().clone(),
                offset,
                len: buf.len() as u64,
                size: src.len(),
            });
        }
        done += n;
    }
    Ok(())
}

/// Read `buf.len()` bytes at `offset`, zero-filling holes and the part past the end, and
/// say which regions were holes. For callers that must go on past damage (an MFT with
/// one bad chunk still has every other record).
pub fn read_lossy(src: &dyn ByteSource, offset: u64, buf: &mut [u8]) -> Vec<Hole> {
    let mut holes = Vec::new();
    let mut done = 0usize;
    // Each pass either reads bytes or skips at least one byte of a hole, so this ends;
    // the cap guards against a source that reports zero-length holes.
    let mut passes = 0usize;
    while done < buf.len() && passes < 1 << 20 {
        passes += 1;
        let at = offset + done as u64;
        match src.read_at(at, &mut buf[done..]) {
            Ok(0) => {
                buf[done..].fill(0);
                break;
            }
            Ok(n) => done += n,
            Err(e) => {
                let (skip, why) = match &e {
                    SourceError::Hole {
                        offset: h,
                        len,
                        why,
                        ..
                    } => {
                        let end = h.saturating_add(*len);
                        (end.saturating_sub(at).max(1), why.clone())
                    }
                    // Any other error: treat the rest of this 4 KiB as unreadable.
                    other => (4096 - (at % 4096), other.to_string()),
                };
                let skip = (skip.min((buf.len() - done) as u64)) as usize;
                buf[done..done + skip].fill(0);
                match holes.last_mut() {
                    Some(Hole { offset: o, len, .. }) if *o + *len == at => *len += skip as u64,
                    _ => holes.push(Hole {
                        offset: at,
                        len: skip as u64,
                        why,
                    }),
                }
                done += skip;
            }
        }
    }
    holes
}

/// The whole source as one slice: borrowed when it is memory-mapped, read into memory
/// otherwise. `limit` bounds what is read: a larger source is an error, never an
/// allocation sized by the evidence.
pub fn read_all(src: &dyn ByteSource, limit: u64) -> Result<Cow<'_, [u8]>> {
    if let Some(s) = src.as_slice() {
        return Ok(Cow::Borrowed(s));
    }
    let len = src.len();
    if len > limit {
        return Err(SourceError::Unsupported {
            location: src.location().clone(),
            layer: "read",
            what: format!("{len} bytes is more than the {limit} bytes read into memory at once"),
        });
    }
    let mut v = vec![0u8; len as usize];
    read_exact_at(src, 0, &mut v)?;
    Ok(Cow::Owned(v))
}

/// A loose file on the examiner's disk, memory-mapped read-only.
pub struct FileSource {
    map: Option<memmap2::Mmap>,
    location: Location,
    path: PathBuf,
}

impl FileSource {
    /// Open read-only (never for writing) and map it.
    pub fn open(path: &Path) -> Result<FileSource> {
        let location = Location::file(path);
        let io = |source| SourceError::Io {
            location: location.clone(),
            offset: 0,
            source,
        };
        let file = open_readonly(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let map = if len == 0 {
            None // mapping an empty file fails on some platforms; it has no content anyway
        } else {
            // SAFETY: the map is read-only and private to us. If another process truncates
            // the file while we read it we may fault; evidence should be on read-only media
            // or a working copy.
            #[allow(unsafe_code)] // the one unsafe of this crate: a read-only map, see SAFETY above
            Some(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?)
        };
        Ok(FileSource {
            map,
            location,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

/// Open a file for reading only, with `O_NOATIME` where the kernel permits it (it does
/// for the file's owner and root), so reading evidence does not even change its atime.
pub fn open_readonly(path: &Path) -> std::io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NOATIME: i32 = 0o1000000;
        if let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NOATIME)
            .open(path)
        {
            return Ok(f);
        }
    }
    File::open(path)
}

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.bytes().len() as u64
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        Ok(copy_from(self.bytes(), offset, buf))
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.bytes())
    }
}

/// Bytes already in memory (a decompressed file, a test fixture).
pub struct MemorySource {
    bytes: Vec<u8>,
    location: Location,
}

impl MemorySource {
    pub fn new(location: Location, bytes: Vec<u8>) -> MemorySource {
        MemorySource { bytes, location }
    }
}

impl ByteSource for MemorySource {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        Ok(copy_from(&self.bytes, offset, buf))
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(&self.bytes)
    }
}

fn copy_from(bytes: &[u8], offset: u64, buf: &mut [u8]) -> usize {
    if offset >= bytes.len() as u64 {
        return 0;
    }
    let start = offset as usize;
    let n = buf.len().min(bytes.len() - start);
    buf[..n].copy_from_slice(&bytes[start..start + n]);
    n
}

/// A window of another source: a partition of a disk, a volume inside a container.
pub struct SliceSource {
    inner: Source,
    start: u64,
    len: u64,
    location: Location,
}

impl SliceSource {
    /// `len` is clipped to what the inner source holds past `start`: a partition table
    /// that claims more than the disk has cannot make reads run off the end.
    pub fn new(inner: Source, start: u64, len: u64, location: Location) -> SliceSource {
        let avail = inner.len().saturating_sub(start);
        SliceSource {
            inner,
            start,
            len: len.min(avail),
            location,
        }
    }

    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn inner(&self) -> &Source {
        &self.inner
    }
}

impl ByteSource for SliceSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        match self.inner.read_at(self.start + offset, &mut buf[..n]) {
            // Holes are reported in this source's own offsets.
            Err(SourceError::Hole {
                offset: o,
                len,
                why,
                ..
            }) => Err(SourceError::Hole {
                location: self.location.clone(),
                offset: o.saturating_sub(self.start),
                len,
                why,
            }),
            other => other,
        }
    }
    fn as_slice(&self) -> Option<&[u8]> {
        let whole = self.inner.as_slice()?;
        whole.get(self.start as usize..(self.start + self.len) as usize)
    }
}

/// `std::io::Read + Seek` over a source, for crates that want a stream. Holes read as an
/// `io::Error` carrying the source error's text.
pub struct SourceReader<S: ByteSource> {
    src: S,
    pos: u64,
}

impl<S: ByteSource> SourceReader<S> {
    pub fn new(src: S) -> Self {
        SourceReader { src, pos: 0 }
    }
}

impl<S: ByteSource> std::io::Read for SourceReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .src
            .read_at(self.pos, buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<S: ByteSource> std::io::Seek for SourceReader<S> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let new = match pos {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.src.len().checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source with a hole at [100, 200).
    struct Holey(MemorySource);
    impl ByteSource for Holey {
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn location(&self) -> &Location {
            self.0.location()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
            if (100..200).contains(&offset) {
                return Err(SourceError::Hole {
                    location: self.location().clone(),
                    offset: 100,
                    len: 100,
                    why: "bad chunk".into(),
                });
            }
            let max = if offset < 100 {
                (100 - offset) as usize
            } else {
                buf.len()
            };
            let n = buf.len().min(max);
            self.0.read_at(offset, &mut buf[..n])
        }
    }

    #[test]
    fn location_chain_reads_like_a_path() {
        let l = Location::new("host.E01")
            .child("p2 NTFS")
            .child(r"\Windows\System32\config\SYSTEM");
        assert_eq!(
            l.to_string(),
            r"host.E01 › p2 NTFS › \Windows\System32\config\SYSTEM"
        );
        assert_eq!(l.root(), "host.E01");
        assert_eq!(l.last(), r"\Windows\System32\config\SYSTEM");
    }

    #[test]
    fn lossy_read_zero_fills_holes_and_names_them() {
        let src = Holey(MemorySource::new(Location::new("t"), vec![7u8; 300]));
        let mut buf = vec![1u8; 300];
        let holes = read_lossy(&src, 0, &mut buf);
        assert_eq!(holes.len(), 1);
        assert_eq!((holes[0].offset, holes[0].len), (100, 100));
        assert!(buf[..100].iter().all(|&b| b == 7));
        assert!(buf[100..200].iter().all(|&b| b == 0));
        assert!(buf[200..].iter().all(|&b| b == 7));
        // exact reads refuse the hole
        let mut b2 = vec![0u8; 50];
        assert!(read_exact_at(&src, 120, &mut b2).unwrap_err().is_hole());
    }

    #[test]
    fn slice_clips_and_translates_holes() {
        let inner: Source = Arc::new(Holey(MemorySource::new(Location::new("d"), vec![7u8; 300])));
        let s = SliceSource::new(inner, 50, 10_000, Location::new("d").child("p1"));
        assert_eq!(s.len(), 250);
        let mut b = [0u8; 10];
        match s.read_at(60, &mut b) {
            Err(SourceError::Hole { offset, .. }) => assert_eq!(offset, 50),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.read_at(250, &mut b).unwrap(), 0);
    }

    #[test]
    fn read_all_is_bounded() {
        let src = Holey(MemorySource::new(Location::new("t"), vec![0u8; 300]));
        // Holey has no slice: read_all must read, and refuse past the limit.
        struct NoSlice(MemorySource);
        impl ByteSource for NoSlice {
            fn len(&self) -> u64 {
                self.0.len()
            }
            fn location(&self) -> &Location {
                self.0.location()
            }
            fn read_at(&self, o: u64, b: &mut [u8]) -> Result<usize> {
                self.0.read_at(o, b)
            }
        }
        let ns = NoSlice(MemorySource::new(Location::new("n"), vec![3u8; 64]));
        assert_eq!(read_all(&ns, 64).unwrap().len(), 64);
        assert!(read_all(&ns, 63).is_err());
        assert!(read_all(&src, 1000).is_err(), "a hole fails a whole read");
    }
}
