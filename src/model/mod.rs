//! The report model: typed records with a stable column set (see `docs/schema.md`).
//!
//! Records are flat on purpose: one CSV row each, the same columns in JSONL, so a
//! merged file over hundreds of inputs can be sorted and filtered in a spreadsheet.
//! Lists are joined with `;` inside one cell.

use serde::Serialize;

mod cells;
pub use cells::{DigestCheck, FoundBy, List, MemText};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?} (expected info, low, medium, high or critical)"
            )),
        }
    }
}

/// The kinds of record; each gets its own file with `--out DIR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Inputs,
    Files,
    Processes,
    Registry,
    Findings,
    /// Disk images: one row per partition / volume.
    Volumes,
    /// Disk images (`disk ls`): one row per file-system entry.
    Entries,
    /// Execution evidence: prefetch, Amcache, ShimCache, BAM/DAM.
    Executions,
    /// Every dated fact of the other kinds as one row per time, for Timesketch.
    Timeline,
    /// Not a kind of its own: `--records all`, every kind in one JSONL stream.
    All,
}

impl RecordKind {
    /// Every real kind (not [`RecordKind::All`]), in file order.
    pub const ALL: [RecordKind; 9] = [
        RecordKind::Inputs,
        RecordKind::Files,
        RecordKind::Processes,
        RecordKind::Registry,
        RecordKind::Findings,
        RecordKind::Volumes,
        RecordKind::Entries,
        RecordKind::Executions,
        RecordKind::Timeline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Inputs => "inputs",
            RecordKind::Files => "files",
            RecordKind::Processes => "processes",
            RecordKind::Registry => "registry",
            RecordKind::Findings => "findings",
            RecordKind::Volumes => "volumes",
            RecordKind::Entries => "entries",
            RecordKind::Executions => "executions",
            RecordKind::Timeline => "timeline",
            RecordKind::All => "all",
        }
    }
}

impl FromStr for RecordKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("all") {
            return Ok(RecordKind::All);
        }
        RecordKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown record kind {s:?} (inputs, files, processes, registry, findings, volumes, entries, executions, timeline, all)")
            })
    }
}

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStatus {
    /// Analysed completely.
    Analysed,
    /// Analysed, but parts could not be read (holes, corrupt cells): see `detail`.
    Partial,
    /// Recognised or not, but no analyser handles it (yet): see `detail`.
    Skipped,
    /// The analyser failed: see `detail`. Counts towards exit code 3.
    Error,
}

/// One row per input file examined.
#[derive(Debug, Clone, Serialize, Default)]
pub struct InputRecord {
    pub input: String,
    pub sha256: String,
    pub size: u64,
    /// Detected format (by content), e.g. `pe`, `regf`, `crashdump64`, `ewf`.
    pub format: String,
    /// Which analyser ran (`pe`, `hive`, `mem`), empty when none.
    pub analyser: String,
    pub status: Option<InputStatus>,
    /// Skip reason, error text (with the byte offset) or partial-data warnings.
    pub detail: String,
    pub findings: usize,
    pub max_severity: String,
    pub elapsed_ms: u64,
}

/// One row per PE file.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FileRecord {
    pub input: String,
    pub sha256: String,
    /// File name as found (last path component).
    pub file_name: String,
    /// Full path as found (on a disk image: the path inside the volume).
    pub path: String,
    pub size: u64,
    pub machine: String,
    pub subsystem: String,
    pub is_dll: bool,
    pub characteristics: String,
    pub timestamp: String,
    pub entry_point: String,
    pub sections: String,
    pub max_entropy: f64,
    pub imports: List,
    pub export_name: String,
    pub original_filename: String,
    pub internal_name: String,
    pub company_name: String,
    pub file_description: String,
    pub product_name: String,
    pub file_version: String,
    pub checksum_stored: String,
    pub checksum_computed: String,
    pub overlay_size: u64,
    pub md5: String,
    pub sha1: String,
    /// SHA-256 Authenticode hash of the image (what security catalogs list): identifies
    /// catalog-signed inbox binaries, which carry no signature of their own.
    pub authenticode_sha256: String,
    pub signed: bool,
    pub signer: String,
    pub issuer: String,
    /// The signer certificate is issued by itself.
    pub signer_self_signed: bool,
    /// A Microsoft root sits above the signer in the certificates the file carries.
    pub microsoft_root: bool,
    /// The chain the file carries ends in a self-signed certificate that is not a
    /// Microsoft root: a private or self-made signing authority.
    pub private_root: bool,
    /// Common name of the top of the chain the file carries.
    pub chain_top: String,
    pub digest_algorithm: String,
    /// `match`, `mismatch` or empty when unsigned.
    pub digest: DigestCheck,
    /// Trust chain verdict. We do not verify chains: always `not verified` when signed.
    pub chain: String,
    pub warnings: String,
    /// On a disk image: the volume the file is on (`host.E01 › p2 NTFS`), else empty.
    pub volume: String,
    /// On a disk image: the MFT record (0 elsewhere).
    pub mft_entry: u64,
    /// On a disk image: the entry is deleted (its record is not in use).
    pub deleted: bool,
    pub si_created: String,
    pub si_modified: String,
    pub si_mft_modified: String,
    pub si_accessed: String,
    pub fn_created: String,
    pub fn_modified: String,
    pub fn_mft_modified: String,
    pub fn_accessed: String,
    /// The same times as typed values, for the rules (not a column).
    #[serde(skip)]
    pub ntfs_times: Option<NtfsTimes>,
}

/// `$STANDARD_INFORMATION` and `$FILE_NAME` times of a file on NTFS, as FILETIMEs in
/// the order created, modified, MFT modified, accessed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NtfsTimes {
    pub si: [u64; 4],
    pub fn_: [u64; 4],
}

/// One row per process (memory dumps).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ProcessRecord {
    pub input: String,
    pub sha256: String,
    pub pid: u64,
    pub ppid: u64,
    pub parent_name: String,
    pub name: String,
    pub image_path: String,
    pub peb_image_path: MemText,
    pub command_line: MemText,
    pub session: String,
    pub create_time: String,
    pub exit_time: String,
    /// `create_time` typed, for the rules (not a column: the text above is).
    #[serde(skip)]
    pub created: Option<crate::time::FileTime>,
    /// `exit_time` typed; `None` while the process runs.
    #[serde(skip)]
    pub exited: Option<crate::time::FileTime>,
    pub wow64: bool,
    pub user_sid: String,
    pub user_name: String,
    pub integrity: String,
    pub logon_id: String,
    pub token_type: String,
    pub groups: List,
    pub privileges_present: List,
    pub privileges_enabled: List,
    /// `list`, `scan` or `both` (memory); `history` (event logs).
    pub found_by: FoundBy,
    pub eprocess_virtual: String,
    pub eprocess_physical: String,
    /// Where the dump was read: empty for a loose dump, the path inside a disk image
    /// (`host.E01 › p2 NTFS › \Windows\MEMORY.DMP`) otherwise.
    pub location: String,
    /// `memory` for a dump (empty in older output); `evtx:security-4688`, `evtx:sysmon-1`
    /// for history.
    pub source: String,
    /// History: when the event was written (ISO 8601).
    pub event_time: String,
    /// History: the event's record id.
    pub record_id: u64,
    /// History: the event's `Computer`.
    pub computer: String,
    /// History: which boot of the log the creation belongs to (1, 2, …).
    pub boot: u32,
    /// Host view: where the process's image is on a disk image of the same host.
    pub image_location: String,
    /// Host view: that file's sha256, signer, OriginalFilename and times.
    pub image_sha256: String,
    pub image_signer: String,
    pub image_original_filename: String,
    pub image_si_created: String,
    pub image_fn_created: String,
    /// The host the input belongs to (SYSTEM hive ComputerName, event Computer, `--host`).
    pub host: String,
}

/// One row per registry fact (a Session Manager value, an IFEO entry, a dumped value).
#[derive(Debug, Clone, Serialize, Default)]
pub struct RegistryRecord {
    pub input: String,
    pub sha256: String,
    pub hive_type: String,
    /// Control set (`ControlSet001`), empty outside SYSTEM.
    pub control_set: String,
    pub current: bool,
    pub key: String,
    pub value: String,
    pub value_type: String,
    pub data: String,
    pub last_written: String,
    pub detail: String,
    /// Where the hive was read: empty for a loose hive, the path inside a disk image
    /// (`host.E01 › p2 NTFS › \Windows\System32\config\SYSTEM`) otherwise.
    pub location: String,
}

/// One row per partition (or bare volume) of a disk image.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VolumeRecord {
    pub input: String,
    pub sha256: String,
    /// Where the volume is: `host.E01 › p2 NTFS`.
    pub location: String,
    pub container: String,
    pub container_variant: String,
    pub virtual_size: u64,
    /// `mbr`, `gpt` or `none` (a bare volume).
    pub scheme: String,
    pub sector_size: u32,
    pub partition: u32,
    pub offset: u64,
    pub size: u64,
    pub partition_type: String,
    pub gpt_type: String,
    pub gpt_guid: String,
    pub partition_name: String,
    pub file_system: String,
    pub cluster_size: u64,
    pub mft_record_size: u64,
    pub mft_offset: u64,
    pub mft_bytes: u64,
    pub mft_records: u64,
    pub serial: String,
    pub label: String,
    /// Shadow copies of the volume: `count` (`;`-joined creation times in `detail`).
    pub snapshots: u64,
    /// Bytes read from the volume to produce this row.
    pub bytes_read: u64,
    pub detail: String,
}

/// One row per file-system entry (`disk ls`): in use and deleted, with both time sets.
#[derive(Debug, Clone, Serialize, Default)]
pub struct EntryRecord {
    pub input: String,
    pub sha256: String,
    /// The volume the entry is on: `host.E01 › p2 NTFS`.
    pub volume: String,
    pub path: String,
    pub mft_entry: u64,
    pub sequence: u16,
    pub parent_entry: u64,
    pub parent_sequence: u16,
    pub deleted: bool,
    pub directory: bool,
    pub si_created: String,
    pub si_modified: String,
    pub si_mft_modified: String,
    pub si_accessed: String,
    pub fn_created: String,
    pub fn_modified: String,
    pub fn_mft_modified: String,
    pub fn_accessed: String,
    pub size: u64,
    pub allocated: u64,
    pub flags: String,
    /// Every `$FILE_NAME` other than the one in `path` (DOS 8.3 names, hard links).
    pub other_names: String,
    pub streams: String,
    pub reparse_tag: String,
    pub hard_links: u16,
    pub detail: String,
}

/// One row per piece of execution evidence (a prefetch file, an Amcache entry, a
/// ShimCache entry, a BAM/DAM value).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ExecutionRecord {
    pub input: String,
    pub sha256: String,
    /// Inside a disk image: where the evidence file is (`host.E01 › p2 NTFS ›
    /// \Windows\Prefetch\SMSS.EXE-xxxx.pf`); empty for a loose file.
    pub location: String,
    /// `prefetch`, `amcache:file`, `amcache:file-old`, `shimcache`, `bam`, `dam`.
    pub source: String,
    /// The program's file name.
    pub program: String,
    /// Its full path as recorded (prefetch: the file-list entry that is the program).
    pub path: String,
    /// The most recent time the evidence records (last run, last executed, last modified).
    pub last_time: String,
    /// Every time the evidence records, `meaning=ISO;…` (prefetch: `run=` for each of the
    /// last eight runs).
    pub times: String,
    /// Prefetch: how often it ran.
    pub run_count: String,
    /// Amcache: SHA-1 of the file.
    pub sha1: String,
    pub original_file_name: String,
    pub product_name: String,
    pub publisher: String,
    pub version: String,
    pub size: String,
    /// ShimCache: the executed flag where the format has it (`true`/`false`), else empty.
    pub executed: String,
    /// BAM/DAM: the user's SID.
    pub user_sid: String,
    /// ShimCache, BAM: the control set.
    pub control_set: String,
    /// Prefetch: the prefetch hash; registry sources: the key.
    pub key: String,
    pub detail: String,
}

/// One row per dated fact, derived from the other records of an input (no analysis of
/// its own): the columns Timesketch imports (`message`, `datetime`, `timestamp_desc`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct TimelineRecord {
    /// What happened, in one line.
    pub message: String,
    /// ISO 8601 UTC, exactly as the source record carries it.
    pub datetime: String,
    /// What the time means (`Process created`, `$SI modified`, `prefetch run`, ...).
    pub timestamp_desc: String,
    pub input: String,
    /// The `Computer` of an event log; empty elsewhere.
    pub host: String,
    /// Where the fact comes from: `memory`, `evtx:security-4688`, `ntfs`, `registry`,
    /// `prefetch`, ...
    pub source: String,
    /// The record kind the row was derived from (`processes`, `files`, ...); not
    /// `record`, which `--records all` puts first on every line.
    pub derived_from: String,
    /// Where inside the input (`host.E01 › p2 NTFS › ...`), empty for loose evidence.
    pub location: String,
}

/// A rule's verdict about one record.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Finding {
    pub input: String,
    pub sha256: String,
    pub rule: &'static str,
    pub severity: Severity,
    /// MITRE ATT&CK technique id, e.g. `T1036.005`.
    pub attack: &'static str,
    /// `file`, `process` or `registry`.
    pub subject_kind: &'static str,
    /// What the finding is about: a path, `pid 123 smss.exe`, a registry key\value.
    pub subject: String,
    /// The facts that triggered the rule, `name=value; ...`.
    pub evidence: String,
    /// One line a responder can paste into a report.
    pub explanation: String,
    /// Where the subject was found inside a disk image (`host.E01 › p2 NTFS ›
    /// \Users\Public\smss.exe`); empty for loose evidence.
    pub location: String,
}

impl Finding {
    /// A finding about `subject` with the input columns left for the caller to fill.
    pub fn new(
        rule: &'static str,
        severity: Severity,
        attack: &'static str,
        subject_kind: &'static str,
        subject: impl Into<String>,
        evidence: impl Into<String>,
        explanation: impl Into<String>,
    ) -> Self {
        Finding {
            input: String::new(),
            sha256: String::new(),
            rule,
            severity,
            attack,
            subject_kind,
            subject: subject.into(),
            evidence: evidence.into(),
            explanation: explanation.into(),
            location: String::new(),
        }
    }
}

/// Everything learned from one input.
#[derive(Debug, Clone, Default)]
pub struct InputReport {
    pub input: InputRecord,
    pub files: Vec<FileRecord>,
    pub processes: Vec<ProcessRecord>,
    pub registry: Vec<RegistryRecord>,
    pub findings: Vec<Finding>,
    pub volumes: Vec<VolumeRecord>,
    pub entries: Vec<EntryRecord>,
    pub executions: Vec<ExecutionRecord>,
    /// A memory dump: when it was taken, as the image says (the timeline's "dump time"
    /// row, the end of the HTML boot-chain bars).
    pub dump_time: Option<crate::time::FileTime>,
}

impl InputReport {
    /// Stamp every record with the input's path and hash, and summarise findings.
    pub fn finish(&mut self) {
        let input = self.input.input.clone();
        let sha = self.input.sha256.clone();
        // A file record's sha256 is the PE file's own (inside a disk image it differs
        // from the image's), so only the input path is stamped on it.
        for r in &mut self.files {
            r.input.clone_from(&input);
        }
        // Every other kind carries the input's path and hash.
        macro_rules! stamp {
            ($($records:expr),*) => {$(
                for r in &mut $records {
                    r.input.clone_from(&input);
                    r.sha256.clone_from(&sha);
                }
            )*};
        }
        stamp!(
            self.processes,
            self.registry,
            self.findings,
            self.volumes,
            self.entries,
            self.executions
        );
        self.input.findings = self.findings.len();
        self.input.max_severity = self
            .findings
            .iter()
            .map(|f| f.severity)
            .max()
            .map(|s| s.to_string())
            .unwrap_or_default();
    }
}

/// Join a list into one CSV cell.
pub fn join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(s.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn finish_stamps_every_record() {
        let mut r = InputReport::default();
        r.input.input = "/ev/a.exe".into();
        r.input.sha256 = "ab".into();
        r.files.push(FileRecord::default());
        r.findings.push(Finding::new(
            "X",
            Severity::Low,
            "T0",
            "file",
            "s",
            "e",
            "x",
        ));
        r.findings.push(Finding::new(
            "Y",
            Severity::High,
            "T0",
            "file",
            "s",
            "e",
            "x",
        ));
        r.finish();
        assert_eq!(r.files[0].input, "/ev/a.exe");
        assert_eq!(r.findings[1].sha256, "ab");
        assert_eq!(r.input.findings, 2);
        assert_eq!(r.input.max_severity, "high");
    }
}
