//! Process history from Windows event logs (EVTX).
//!
//! [`scan`] reads every chunk of an EVTX file in parallel with the `evtx` crate, keeps only
//! the records that say a process started or ended (Security 4688/4689, Sysmon 1/5) or that
//! the machine booted (Kernel-General 12, EventLog 6005/6009), and turns them into typed
//! [`ProcessEvent`]s and [`BootEvent`]s. Everything else is counted and dropped before it
//! is rendered: most records of a Security log are not 4688.
//!
//! Damaged input (bad chunk checksums, broken records, template loops, truncation) is
//! reported in [`Scan::errors`] with the byte offset of the chunk, and the rest of the file
//! is still read. A panic inside the `evtx` crate is caught per chunk and reported the same
//! way.
//!
//! The time budget (`--max-seconds-per-input`, a [`triage_source::Deadline`]) is asked
//! before every chunk: past it the scan returns what it read with [`Scan::stopped`] set.
#![forbid(unsafe_code)]

mod events;
mod scan;

use std::borrow::Cow;
use triage_source::{ByteSource, Location, SourceError};

pub use scan::{scan, scan_until};

/// The magic at the start of an EVTX file header.
pub const EVTX_MAGIC: &[u8; 8] = b"ElfFile\0";
/// Size of the file header block; the chunks follow it.
pub const FILE_HEADER_SIZE: usize = 4096;
/// Size of one chunk.
pub const CHUNK_SIZE: usize = 65536;
/// Record errors kept per chunk; past it, one more error says how many were left out
/// (a chunk of garbage behind valid checksums could otherwise yield thousands).
pub const MAX_CHUNK_ERRORS: usize = 32;

/// Whether `head` (the first bytes of a file, at least 8) starts like an EVTX file.
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(EVTX_MAGIC)
}

/// An EVTX file held in memory: borrowed (a memory map, a slice of a disk image) or owned.
pub struct EvtxFile<'a> {
    data: Cow<'a, [u8]>,
    location: Location,
}

impl<'a> EvtxFile<'a> {
    /// Opens the file over borrowed bytes. Fails only when they don't start with the EVTX
    /// magic; a damaged header or chunk is reported by [`scan`], not here.
    pub fn from_slice(location: Location, data: &'a [u8]) -> Result<EvtxFile<'a>, SourceError> {
        Self::new(location, Cow::Borrowed(data))
    }

    /// Opens a whole [`ByteSource`]: borrowed when it is memory-mapped, read into memory
    /// (at most `limit` bytes) otherwise.
    pub fn from_source(src: &'a dyn ByteSource, limit: u64) -> Result<EvtxFile<'a>, SourceError> {
        let data = triage_source::read_all(src, limit)?;
        Self::new(src.location().clone(), data)
    }

    fn new(location: Location, data: Cow<'a, [u8]>) -> Result<EvtxFile<'a>, SourceError> {
        if !is_evtx(&data) {
            return Err(SourceError::corrupt(
                &location,
                "evtx file header",
                0,
                "no ElfFile signature",
            ));
        }
        Ok(EvtxFile { data, location })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Where the file is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// How many whole chunks follow the file header (the header's own count is not
    /// trusted: a dirty log can have more). [`scan`] also reads a chunk cut off by the
    /// end of the file.
    pub fn chunk_count(&self) -> usize {
        self.data.len().saturating_sub(FILE_HEADER_SIZE) / CHUNK_SIZE
    }
}

impl EvtxFile<'static> {
    /// Opens the file over owned bytes (read from a disk image, say).
    pub fn from_bytes(location: Location, data: Vec<u8>) -> Result<EvtxFile<'static>, SourceError> {
        Self::new(location, Cow::Owned(data))
    }
}

/// Whether a process started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessEventKind {
    Create,
    Exit,
}

/// One process creation or exit, as a Security or Sysmon record tells it.
///
/// Optional fields are `None` when the record doesn't carry them (the event version or the
/// audit policy didn't record them) or carries an empty value; other values are kept as
/// written, `-` included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEvent {
    /// `"evtx:security-4688"`, `"evtx:security-4689"`, `"evtx:sysmon-1"` or `"evtx:sysmon-5"`.
    pub source: &'static str,
    pub kind: ProcessEventKind,
    /// The event's `System/EventRecordID` (an exported log renumbers its record headers but
    /// keeps these); the record header's number when the event has none.
    pub record_id: u64,
    /// The event's `TimeCreated/@SystemTime` as FILETIME ticks (100 ns since 1601); the
    /// record header's time when that is missing.
    pub event_time: u64,
    pub computer: String,
    /// The process: 4688 `NewProcessId`, 4689 `ProcessId`, Sysmon `ProcessId` (hex strings
    /// such as `0x1f4` are parsed).
    pub pid: u64,
    /// The creator: 4688 `ProcessId`, Sysmon 1 `ParentProcessId`.
    pub ppid: Option<u64>,
    /// 4688 `NewProcessName`, 4689 `ProcessName`, Sysmon `Image`.
    pub image: String,
    /// 4688 `ParentProcessName` (Windows 10 / Server 2016 and later), Sysmon `ParentImage`.
    pub parent_image: Option<String>,
    /// Only when process command-line auditing (or Sysmon) recorded it.
    pub command_line: Option<String>,
    /// 4688/4689 `SubjectUserSid`: the account of the creator (or of the exiting process).
    pub subject_user_sid: Option<String>,
    /// 4688 `TargetUserSid` (Windows 10+): the account the new process runs as.
    pub target_user_sid: Option<String>,
    /// Sysmon `User` (`DOMAIN\name`); for 4688/4689 `SubjectDomainName\SubjectUserName`.
    pub user_name: Option<String>,
    /// 4688 `TokenElevationType` (`%%1936` …).
    pub token_elevation_type: Option<String>,
    /// 4688 `MandatoryLabel` (a SID such as `S-1-16-16384`).
    pub mandatory_label: Option<String>,
    /// Sysmon 1 `IntegrityLevel`.
    pub integrity_level: Option<String>,
    /// Sysmon `LogonId`; 4688/4689 `SubjectLogonId`.
    pub logon_id: Option<String>,
    /// Sysmon 1 `TerminalSessionId`.
    pub terminal_session_id: Option<u32>,
    pub process_guid: Option<String>,
    pub parent_process_guid: Option<String>,
    /// Sysmon 1 `Hashes` (`SHA1=…,MD5=…`).
    pub hashes: Option<String>,
    /// Sysmon's own `UtcTime` (when the process was created or ended, a little before the
    /// event was written), as FILETIME ticks.
    pub utc_time: Option<u64>,
}

/// A record that marks a boot (or the event log service starting with one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootEvent {
    pub record_id: u64,
    /// FILETIME ticks of the record (see [`ProcessEvent::event_time`]).
    pub event_time: u64,
    pub computer: String,
    /// `"kernel-general-12 (OS start)"`, `"eventlog-6005 (event log started)"` or
    /// `"eventlog-6009 (OS version at boot)"`.
    pub what: &'static str,
    /// Kernel-General 12 `StartTime` (when the kernel started) as FILETIME ticks.
    pub start_time: Option<u64>,
}

/// What [`scan`] found in one file.
#[derive(Debug, Default)]
pub struct Scan {
    /// Process events in record-ID order.
    pub processes: Vec<ProcessEvent>,
    /// Boot markers in record-ID order.
    pub boots: Vec<BootEvent>,
    /// Records read (every record of every readable chunk, not only the kept ones).
    pub records: u64,
    /// Records that failed to parse (or, among the kept kinds, to render) in chunks that
    /// were read: each is also in `errors`, up to [`MAX_CHUNK_ERRORS`] a chunk.
    pub broken_records: u64,
    /// The log's channel (`Security`, `System`, `Microsoft-Windows-Sysmon/Operational`).
    pub channel: Option<String>,
    /// Broken chunks and records, each with the file offset of its chunk: reported and
    /// skipped.
    pub errors: Vec<SourceError>,
    /// The scan stopped at its deadline ([`scan_until`]): the chunks counted in
    /// [`Scan::chunks_skipped`] were not read, so the events are partial.
    pub stopped: bool,
    /// Chunk positions in the file (every 65,536 bytes after the header, a cut-off last
    /// one included; unused and slack positions too).
    pub chunks: u64,
    /// Of [`Scan::chunks`], those not read because the deadline had passed.
    pub chunks_skipped: u64,
}
