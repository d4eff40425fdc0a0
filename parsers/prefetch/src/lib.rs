//! Windows Prefetch files (`C:\Windows\Prefetch\*.pf`, signature `SCCA`): what ran, how
//! often, when, from where, and which files it touched in its first seconds.
//!
//! Every format version is read: 17 (XP/2003), 23 (Vista/7), 26 (8/8.1), 30 and 31
//! (10/11, both file-information sizes 0xDC and 0xD4), uncompressed or wrapped in the
//! Windows 10+ `MAM\x04` container (LZXPRESS Huffman, decoded by `triage-compress`).
//! Layouts follow libyal's libscca format documentation.
//!
//! Nothing in the file is trusted: every count, offset and size is checked against the
//! buffer before it sizes an allocation or a loop, so a hostile file yields an [`Error`]
//! naming the layer and the byte offset, never a panic or a huge allocation. Offsets in
//! errors are in the SCCA stream: the file itself, or for a MAM file the decompressed
//! data (the error says so).
//!
//! The parser is a pure function over a slice (no shared state): call it from any
//! number of threads at once.
#![forbid(unsafe_code)]

mod bytes;
mod mam;
mod scca;

pub use mam::MAX_UNCOMPRESSED;

/// A parsed prefetch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefetch {
    /// Format version: 17 (XP/2003), 23 (Vista/7), 26 (8/8.1), 30 and 31 (10/11).
    pub version: u32,
    /// The file was MAM-wrapped (compressed; Windows 10 and later).
    pub compressed: bool,
    /// The executable's name as stored: at most 29 UTF-16 characters, so a longer name
    /// is truncated (kept as it is; see [`Prefetch::executable_path`]).
    pub executable: String,
    /// The prefetch hash (the hex part of the file name) as stored in the header.
    pub hash: u32,
    /// How many times the program ran (as counted by the prefetcher).
    pub run_count: u32,
    /// Last run times as FILETIMEs (100 ns since 1601 UTC), in stored order (Windows
    /// writes the newest first), unset (zero) slots dropped. Versions 17/23 hold one,
    /// 26/30/31 hold eight.
    pub last_runs: Vec<u64>,
    /// The volumes the program touched.
    pub volumes: Vec<PrefetchVolume>,
    /// The file names the program loaded, in metrics-array order: full NT paths such as
    /// `\VOLUME{01d1217a9c4c6779-8c9f49ec}\WINDOWS\SYSTEM32\NTDLL.DLL` or
    /// `\DEVICE\HARDDISKVOLUME2\WINDOWS\SYSTEM32\CMD.EXE`.
    pub files: Vec<String>,
    /// Where the program ran from: the first entry of `files` whose last component is
    /// `executable` (case-insensitive; a prefix match when `executable` has the full 29
    /// characters and so may be truncated). `None` when no entry matches (e.g. a
    /// hosting process such as `rundll32.exe` whose image was not recorded).
    pub executable_path: Option<String>,
    /// Oddities that did not stop parsing (declared file size differs, a file-name
    /// entry outside its section, …).
    pub warnings: Vec<String>,
}

/// One volume of a prefetch file's volume information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchVolume {
    /// The NT device path: `\VOLUME{01d1217a9c4c6779-8c9f49ec}` or
    /// `\DEVICE\HARDDISKVOLUME2`.
    pub device_path: String,
    /// The volume serial number, 8 upper-case hex digits (`8C9F49EC`).
    pub serial: String,
    /// The volume's creation time as a FILETIME.
    pub created: u64,
    /// The directories the program touched on this volume (full NT paths).
    pub directories: Vec<String>,
}

/// Why a prefetch file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Neither `SCCA` at offset 4 nor a `MAM` header at 0.
    #[error("not a prefetch file: {0}")]
    NotPrefetch(String),
    /// A structure breaks the format or points outside the data.
    #[error("{layer}: {what} (offset {offset:#x}{})", stream_note(*.decompressed))]
    Corrupt {
        /// "MAM header", "file header", "file information", "file metrics",
        /// "trace chains", "filename strings", "volume info".
        layer: &'static str,
        /// Byte offset of the offending structure or value.
        offset: u64,
        /// What is wrong, e.g. `volume 2 at 0x1f8 claims 4294967295 directory strings`.
        what: String,
        /// `offset` is in the decompressed data of a MAM file.
        decompressed: bool,
    },
    /// A well-formed file of a kind this crate does not read (an unknown format version,
    /// a MAM type other than Huffman, an uncompressed size above [`MAX_UNCOMPRESSED`]).
    #[error("{layer}: unsupported {what} (offset {offset:#x}{})", stream_note(*.decompressed))]
    Unsupported {
        /// "MAM header" or "file header".
        layer: &'static str,
        /// Byte offset of the value that is not supported.
        offset: u64,
        /// What it is, e.g. `format version 99 (known: 17, 23, 26, 30, 31)`.
        what: String,
        /// `offset` is in the decompressed data of a MAM file.
        decompressed: bool,
    },
}

fn stream_note(decompressed: bool) -> &'static str {
    if decompressed {
        " in the decompressed data"
    } else {
        ""
    }
}

/// Does `head` (the first bytes of a file; 8 are enough) look like a prefetch file:
/// `SCCA` at offset 4 (uncompressed) or `MAM\x04` at 0 (Windows 10+ compressed)?
pub fn is_prefetch(head: &[u8]) -> bool {
    head.get(4..8) == Some(b"SCCA") || head.get(..4) == Some(b"MAM\x04")
}

/// Parse a whole prefetch file, compressed or not.
///
/// Errors name the layer and the byte offset; see [`Error`].
pub fn parse(data: &[u8]) -> Result<Prefetch, Error> {
    if data.get(..3) == Some(b"MAM") {
        let scca = mam::decompress(data)?;
        let mut pf = scca::parse(&scca, true)?;
        pf.compressed = true;
        Ok(pf)
    } else if data.get(4..8) == Some(b"SCCA") {
        scca::parse(data, false)
    } else {
        let head: Vec<String> = data.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Err(Error::NotPrefetch(format!(
            "no SCCA signature at offset 4 nor MAM header at 0 ({} bytes, starting {})",
            data.len(),
            head.join(" ")
        )))
    }
}

/// The entry of `files` the program ran from (see [`Prefetch::executable_path`]).
pub(crate) fn find_executable(executable: &str, files: &[String]) -> Option<String> {
    if executable.is_empty() {
        return None;
    }
    let exe = executable.to_uppercase();
    let last = |f: &String| f.rsplit('\\').next().unwrap_or(f).to_uppercase();
    if let Some(f) = files.iter().find(|f| last(f) == exe) {
        return Some(f.clone());
    }
    // The header keeps 29 characters: a name that fills them may be cut short.
    if executable.chars().count() >= 29 {
        return files.iter().find(|f| last(f).starts_with(&exe)).cloned();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_match_is_case_insensitive_and_prefix_only_when_truncated() {
        let files = vec![
            r"\VOLUME{1}\WINDOWS\SYSTEM32\NTDLL.DLL".to_string(),
            r"\VOLUME{1}\USERS\PUBLIC\smss.exe".to_string(),
            r"\VOLUME{1}\TEMP\DCODEDCODEDCODEDCODEDCODEDCODE.EXE".to_string(),
        ];
        assert_eq!(
            find_executable("SMSS.EXE", &files).as_deref(),
            Some(r"\VOLUME{1}\USERS\PUBLIC\smss.exe")
        );
        assert_eq!(find_executable("SMSS", &files), None);
        assert_eq!(
            find_executable("DCODEDCODEDCODEDCODEDCODEDCOD", &files).as_deref(),
            Some(r"\VOLUME{1}\TEMP\DCODEDCODEDCODEDCODEDCODEDCODE.EXE")
        );
        assert_eq!(find_executable("", &files), None);
    }

    #[test]
    fn signatures() {
        assert!(is_prefetch(b"\x11\0\0\0SCCA"));
        assert!(is_prefetch(b"MAM\x04\0\0\0\0"));
        assert!(!is_prefetch(b"MAM\x03\0\0\0\0"));
        assert!(!is_prefetch(b"SCC"));
        assert!(matches!(parse(b"hello"), Err(Error::NotPrefetch(_))));
    }
}
