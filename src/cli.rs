//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::{RecordKind, Severity};
use crate::output::OutputFormat;

#[derive(Debug, Parser)]
#[command(
    name = "smss-triage",
    version,
    about = "Find smss.exe and its boot-chain relatives in Windows evidence, and flag what only pretends to be them",
    after_help = "Exit codes: 0 done; 1 a finding at or above --fail-on; 2 usage error; 3 at least one input could not be analysed (the others are still reported)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse any mix of inputs (files and directories, recursively), recognised by content.
    Scan {
        #[arg(required_unless_present = "input_list")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        mem: MemOptions,
        /// Every input belongs to this host: link memory dumps to the disk image (the host
        /// view) even when the evidence does not name the computer.
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
    /// Analyse PE files only (other inputs are listed as skipped).
    Pe {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Analyse registry hives: the Session Manager configuration, IFEO, SilentProcessExit.
    Hive {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the subtree under this key (keys, values, types, times) instead.
        #[arg(long, value_name = "KEY\\PATH")]
        dump: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Memory dumps.
    Mem {
        #[command(subcommand)]
        command: MemCommand,
    },
    /// Disk images (raw, split raw, E01, VMDK, VHD, VHDX, qcow2) and bare NTFS volumes.
    Disk {
        #[command(subcommand)]
        command: DiskCommand,
    },
    /// List every rule: id, severity, ATT&CK technique, what it means.
    Rules {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Merge the `--out` directories of `--shard K/N` runs into one, as one run would
    /// have written it; checks from the journals that the shards are complete and
    /// disjoint.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged files go.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// No list of written files on stderr.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print a shell completion script on stdout (`smss-triage completions bash >
    /// /etc/bash_completion.d/smss-triage`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout (`smss-triage man | man -l -`).
    Man,
}

#[derive(Debug, Subcommand)]
pub enum MemCommand {
    /// Container, architecture, DTB, kernel base, PDB, build, layout source, dump time.
    Info {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        mem: MemOptions,
    },
    /// Every process, found by the list walk and by a scan of physical memory.
    Ps {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Show the process tree.
        #[arg(long)]
        tree: bool,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        mem: MemOptions,
    },
    /// The smss.exe instances and their relatives, with the findings.
    Smss {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        mem: MemOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum DiskCommand {
    /// Container, virtual size, partitions (offset, size, type, GUIDs), file systems,
    /// cluster size, MFT size and record count, bytes read.
    Info {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Every file-system entry, in use and deleted, with both NTFS time sets (`entries`).
    Ls {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only this partition (its number in `disk info`).
        #[arg(long, value_name = "N")]
        partition: Option<u32>,
        #[command(flatten)]
        common: Common,
    },
    /// Write one file's content to stdout, decompressed (LZNT1, WOF). Only to stdout:
    /// redirect it where you keep extracted files.
    Cat {
        image: PathBuf,
        /// Path inside the volume (`\Windows\System32\smss.exe`, `/` also accepted);
        /// `PATH:STREAM` for an alternate data stream.
        #[arg(required_unless_present = "entry")]
        path: Option<String>,
        /// The partition to read (default: the only NTFS volume, or the first that has
        /// the path).
        #[arg(long, value_name = "N")]
        partition: Option<u32>,
        /// Read MFT entry N instead of a path.
        #[arg(long, value_name = "N", conflicts_with = "path")]
        entry: Option<u64>,
        /// With --entry: this alternate data stream.
        #[arg(long, value_name = "NAME")]
        stream: Option<String>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct MemOptions {
    /// Volatility 3 ISF symbol directory (windows/ntkrnlmp.pdb/GUID-AGE.json.xz).
    #[arg(long, value_name = "DIR")]
    pub symbols: Option<PathBuf>,
    /// Walk the process list only; skip the scan of physical memory.
    #[arg(long)]
    pub no_scan: bool,
    /// The host's pagefile.sys (paging file 0): pages paged out to it (PEBs, process
    /// parameters) are read from it.
    #[arg(long, value_name = "FILE")]
    pub pagefile: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Output format; a table on a terminal by default, CSV otherwise.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Write one file per record kind (inputs, files, processes, registry, findings) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Which record kind to print on stdout (default: the command's main one); `all`
    /// prints every kind in one JSONL stream (needs `--format jsonl`).
    #[arg(long, value_name = "KIND", value_enum, ignore_case = true)]
    pub records: Option<RecordKind>,
    /// Also write a self-contained HTML report (no network access) to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true)]
    pub fail_on: Option<Severity>,
    /// Compute the sha256 of every input.
    #[arg(long)]
    pub hash: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress, no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Say more on stderr (per-input timing and warnings).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// With --out DIR: go on from the journal in DIR after a kill, analysing only the
    /// inputs it does not list.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Analyse only part K of N of the sorted input list (parts balanced by bytes).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::batch::shard::Shard>,
    /// Read input paths from FILE, one per line (`-`: stdin), besides those given.
    #[arg(long, value_name = "FILE")]
    pub input_list: Option<PathBuf>,
    /// Time budget of one input, in seconds (fractions allowed): the long loops (MFT
    /// enumeration, memory scan and list walk, event logs) stop at it and the input is
    /// reported `partial` with what was found; the batch goes on.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub max_seconds_per_input: Option<f64>,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?}: not a number of seconds (0 or more)")),
    }
}

// `--fail-on` and `--records` list their values in `--help` and in the completions.
impl clap::ValueEnum for Severity {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for RecordKind {
    fn value_variants<'a>() -> &'a [Self] {
        // Every kind, then `all`.
        const KINDS: [RecordKind; 10] = {
            let k = RecordKind::ALL;
            [
                k[0],
                k[1],
                k[2],
                k[3],
                k[4],
                k[5],
                k[6],
                k[7],
                k[8],
                RecordKind::All,
            ]
        };
        &KINDS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}
