//! Partition tables (MBR with EBR chains, GPT with its backup) and file-system
//! identification, tolerant of odd and hostile input.
//!
//! [`read_table`] finds the scheme of a disk: a GPT (behind a protective MBR, at LBA 1
//! for 512- or 4096-byte sectors, the backup at the last LBA when the primary is
//! damaged), an MBR (its extended partitions walked through the EBR chain with a loop
//! guard), or none (the disk is a bare volume: one partition covering all of it).
//! [`identify`] names the file system at an offset from its boot sector or superblock.
//!
//! Partition numbers ([`Partition::index`]) are the ones Linux, `fdisk` and `sgdisk`
//! use: MBR primary slots are 1–4 by slot, logical partitions 5, 6, … in EBR-chain
//! order; a GPT entry's number is its slot in the entry array plus one. (`mmls` prints
//! the 0-based `table:slot` pair instead: MBR `000:000` is our 1, the first logical
//! `001:000` our 5; GPT `000:004` is our 5.)
#![forbid(unsafe_code)]

mod fs;
mod gpt;
mod mbr;
mod names;

use triage_source::{read_lossy, ByteSource, Result, SourceError};

pub use fs::identify;

/// How the disk is divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Mbr,
    Gpt,
    /// A bare volume, no table.
    None,
}

impl Scheme {
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Mbr => "MBR",
            Scheme::Gpt => "GPT",
            Scheme::None => "none",
        }
    }
}

/// A file system (or volume format) recognised by its boot sector or superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileSystem {
    Ntfs,
    Fat12,
    Fat16,
    Fat32,
    ExFat,
    Ext2,
    Ext3,
    Ext4,
    Refs,
    BitLocker,
    Xfs,
    Btrfs,
    Hfs,
    Apfs,
    LinuxSwap,
    Lvm,
    Luks,
    Iso9660,
    /// The first sectors are all zeros.
    Empty,
    Unknown,
}

impl FileSystem {
    pub fn name(&self) -> &'static str {
        match self {
            FileSystem::Ntfs => "NTFS",
            FileSystem::Fat12 => "FAT12",
            FileSystem::Fat16 => "FAT16",
            FileSystem::Fat32 => "FAT32",
            FileSystem::ExFat => "exFAT",
            FileSystem::Ext2 => "ext2",
            FileSystem::Ext3 => "ext3",
            FileSystem::Ext4 => "ext4",
            FileSystem::Refs => "ReFS",
            FileSystem::BitLocker => "BitLocker",
            FileSystem::Xfs => "XFS",
            FileSystem::Btrfs => "Btrfs",
            FileSystem::Hfs => "HFS/HFS+",
            FileSystem::Apfs => "APFS",
            FileSystem::LinuxSwap => "Linux swap",
            FileSystem::Lvm => "LVM2 PV",
            FileSystem::Luks => "LUKS",
            FileSystem::Iso9660 => "ISO 9660",
            FileSystem::Empty => "empty",
            FileSystem::Unknown => "unknown",
        }
    }

    /// A real file system or volume format (not `Empty`/`Unknown`).
    pub fn is_known(&self) -> bool {
        !matches!(self, FileSystem::Empty | FileSystem::Unknown)
    }
}

/// One partition (or the whole disk, for [`Scheme::None`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// 1-based partition number as Linux/`fdisk`/`sgdisk` count (see the crate docs).
    pub index: u32,
    /// Byte offset on the disk.
    pub offset: u64,
    /// Size in bytes (as the table says; it may run past the end of a damaged disk).
    pub size: u64,
    pub scheme: Scheme,
    /// `"NTFS/exFAT (0x07)"`, `"Microsoft basic data"`, `"EFI system"`, `"Extended (0x05)"`.
    pub type_name: String,
    pub mbr_type: Option<u8>,
    /// The GPT partition type GUID, as text (`EBD0A0A2-B9E5-4433-87C0-68B6B72699C7`).
    pub gpt_type: Option<String>,
    /// The GPT unique partition GUID.
    pub gpt_guid: Option<String>,
    /// The GPT partition name (empty for MBR).
    pub name: String,
    /// MBR boot flag 0x80 (GPT: legacy-BIOS-bootable attribute bit 2).
    pub bootable: bool,
    /// Inside an extended partition.
    pub logical: bool,
    pub fs: FileSystem,
}

impl Partition {
    /// An MBR extended partition (0x05, 0x0F, 0x85): a container of logical
    /// partitions, not a volume of its own.
    pub fn is_extended(&self) -> bool {
        self.mbr_type.is_some_and(mbr::is_extended)
    }
}

/// What [`read_table`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionTable {
    pub scheme: Scheme,
    /// 512 or 4096, detected: where the GPT header is; for an MBR, 4096 only when the
    /// partitions hold file systems at 4096-byte LBAs and none at 512-byte ones; 512 for
    /// a bare volume.
    pub sector_size: u32,
    /// GPT disk GUID.
    pub disk_guid: Option<String>,
    /// In table order: MBR primaries by slot, then logicals in chain order; GPT by slot.
    pub partitions: Vec<Partition>,
    /// Damage that did not stop the reading ("primary GPT header CRC bad: backup used",
    /// "EBR chain loops at sector N: stopped").
    pub warnings: Vec<String>,
}

/// Read the partition table of `disk`. Fails only when the first sector cannot be read;
/// everything else odd is a warning.
pub fn read_table(disk: &dyn ByteSource) -> Result<PartitionTable> {
    let mut s0 = [0u8; 512];
    let n = disk.read_at(0, &mut s0)?;
    if n < s0.len() && (n as u64) < disk.len() {
        // a short read: fill the rest the tolerant way
        let holes = read_lossy(disk, 0, &mut s0);
        if holes.first().is_some_and(|h| h.offset == 0) {
            return Err(SourceError::corrupt(
                disk.location(),
                "partition table",
                0,
                "first sector unreadable",
            ));
        }
    }
    // A bare volume's boot sector ends in 0x55AA too: its code bytes are no table.
    // FAT's signature is weak (a BPB that adds up): when sector 0 is also a plausible
    // MBR whose first partition holds a file system, the MBR wins.
    match fs::boot_sector_fs(&s0) {
        Some(FileSystem::Fat12 | FileSystem::Fat16 | FileSystem::Fat32)
            if mbr::looks_like_mbr(&s0) =>
        {
            if let Some(t) = mbr::read(disk, &s0) {
                if t.partitions.iter().any(|p| p.fs.is_known()) {
                    return Ok(t);
                }
            }
            return Ok(whole_disk(disk, Vec::new()));
        }
        Some(_) => return Ok(whole_disk(disk, Vec::new())),
        None => {}
    }
    // A GPT header with an MBR that does not protect it (no 0xEE entry) is a leftover
    // of an earlier partitioning: the MBR is what the disk uses.
    let plain_mbr = mbr::looks_like_mbr(&s0) && !mbr::is_protective(&s0);
    if !plain_mbr {
        if let Some(t) = gpt::read(disk, &s0) {
            return Ok(t);
        }
    }
    if let Some(mut t) = mbr::read(disk, &s0) {
        if t.partitions.is_empty() {
            // e.g. an isohybrid MBR, whose one entry starts at sector 0: the disk is
            // read as one volume.
            return Ok(whole_disk(disk, t.warnings));
        }
        if gpt::has_header(disk) {
            t.warnings.push(
                "a GPT header is present but the MBR has no protective entry: MBR used".into(),
            );
        }
        return Ok(t);
    }
    Ok(whole_disk(disk, Vec::new()))
}

/// No table: the disk is one volume.
fn whole_disk(disk: &dyn ByteSource, warnings: Vec<String>) -> PartitionTable {
    let len = disk.len();
    let partitions = if len == 0 {
        Vec::new()
    } else {
        vec![Partition {
            index: 1,
            offset: 0,
            size: len,
            scheme: Scheme::None,
            type_name: "whole disk (no partition table)".into(),
            mbr_type: None,
            gpt_type: None,
            gpt_guid: None,
            name: String::new(),
            bootable: false,
            logical: false,
            fs: identify(disk, 0),
        }]
    };
    PartitionTable {
        scheme: Scheme::None,
        sector_size: 512,
        disk_guid: None,
        partitions,
        warnings,
    }
}

/// Read `buf.len()` bytes at `off`; holes and the part past the end read as zeros.
/// Returns whether everything was really read.
fn read_zeroed(src: &dyn ByteSource, off: u64, buf: &mut [u8]) -> bool {
    let holes = read_lossy(src, off, buf);
    holes.is_empty() && off.saturating_add(buf.len() as u64) <= src.len()
}

use triage_bytes::le::{u16_or_zero as le16, u32_or_zero as le32, u64_or_zero as le64};
