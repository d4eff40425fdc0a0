//! File systems by their boot sector or superblock.

use triage_source::{read_lossy, ByteSource};

use crate::{le16, le32, FileSystem};

/// The file system a first sector's boot record names (NTFS, FAT, exFAT, ReFS,
/// BitLocker): the ones whose boot sector ends in 0x55AA like an MBR does, so that a
/// bare volume is not read as a partition table.
pub(crate) fn boot_sector_fs(s: &[u8]) -> Option<FileSystem> {
    let oem = s.get(3..11)?;
    match oem {
        b"NTFS    " => return Some(FileSystem::Ntfs),
        b"EXFAT   " => return Some(FileSystem::ExFat),
        b"-FVE-FS-" => return Some(FileSystem::BitLocker),
        _ => {}
    }
    if s.get(3..7) == Some(b"ReFS") && s.get(7..11) == Some(&[0, 0, 0, 0]) {
        return Some(FileSystem::Refs);
    }
    fat(s)
}

/// A FAT BPB, typed by its cluster count as the Microsoft specification does.
fn fat(s: &[u8]) -> Option<FileSystem> {
    if s.len() < 512 || !(s[0] == 0xEB || s[0] == 0xE9) {
        return None;
    }
    let bps = u32::from(le16(s, 11));
    let spc = u32::from(s[13]);
    let reserved = u32::from(le16(s, 14));
    let fats = u32::from(s[16]);
    let root_entries = u32::from(le16(s, 17));
    let total16 = u32::from(le16(s, 19));
    let media = s[21];
    let fat16 = u32::from(le16(s, 22));
    let total32 = le32(s, 32);
    let fat32 = le32(s, 36);
    if ![512, 1024, 2048, 4096].contains(&bps)
        || spc == 0
        || !spc.is_power_of_two()
        || reserved == 0
        || !(1..=4).contains(&fats)
        || !(media == 0xF0 || media >= 0xF8)
    {
        return None;
    }
    let fat_size = if fat16 != 0 { fat16 } else { fat32 };
    let total = if total16 != 0 { total16 } else { total32 };
    if fat_size == 0 || total == 0 {
        return None;
    }
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let meta =
        u64::from(reserved) + u64::from(fats) * u64::from(fat_size) + u64::from(root_sectors);
    let data = u64::from(total).checked_sub(meta)?;
    let clusters = data / u64::from(spc);
    Some(if fat16 == 0 {
        FileSystem::Fat32
    } else if clusters < 4085 {
        FileSystem::Fat12
    } else if clusters < 65525 {
        FileSystem::Fat16
    } else {
        FileSystem::Fat32
    })
}

fn ext(sb: &[u8]) -> FileSystem {
    // compat: HAS_JOURNAL; incompat and ro_compat beyond what ext3 knew mean ext4.
    let compat = le32(sb, 92);
    let incompat = le32(sb, 96);
    let ro_compat = le32(sb, 100);
    const EXT3_INCOMPAT: u32 = 0x0002 | 0x0004 | 0x0010; // filetype, recover, meta_bg
    const EXT3_RO: u32 = 0x0001 | 0x0002 | 0x0004; // sparse_super, large_file, btree_dir
    if incompat & !EXT3_INCOMPAT != 0 || ro_compat & !EXT3_RO != 0 {
        FileSystem::Ext4
    } else if compat & 0x0004 != 0 {
        FileSystem::Ext3
    } else {
        FileSystem::Ext2
    }
}

/// The file system at `offset` of `src`, from its boot sector or superblock.
/// Unreadable bytes read as zeros; an all-zero start that was not fully readable is
/// `Unknown`, not `Empty`.
pub fn identify(src: &dyn ByteSource, offset: u64) -> FileSystem {
    let mut b = vec![0u8; 8192];
    let holes = read_lossy(src, offset, &mut b);
    if let Some(fs) = boot_sector_fs(&b) {
        return fs;
    }
    if b.starts_with(b"LUKS\xba\xbe") {
        return FileSystem::Luks;
    }
    if b.starts_with(b"XFSB") {
        return FileSystem::Xfs;
    }
    if b.get(32..36) == Some(b"NXSB") {
        return FileSystem::Apfs;
    }
    if le16(&b, 1024 + 56) == 0xEF53 {
        return ext(&b[1024..2048]);
    }
    if matches!(b.get(1024..1026), Some(b"H+") | Some(b"HX") | Some(b"BD")) {
        return FileSystem::Hfs;
    }
    // LVM2: "LABELONE" in one of the first four sectors, "LVM2 001" 24 bytes on.
    if (0..4).any(|s| {
        let o = s * 512;
        b.get(o..o + 8) == Some(b"LABELONE") && b.get(o + 24..o + 32) == Some(b"LVM2 001")
    }) {
        return FileSystem::Lvm;
    }
    // Swap: the signature ends the first page (4 KiB or 8 KiB pages).
    if [4096usize, 8192]
        .iter()
        .any(|&p| matches!(b.get(p - 10..p), Some(b"SWAPSPACE2") | Some(b"SWAP-SPACE")))
    {
        return FileSystem::LinuxSwap;
    }
    let mut far = [0u8; 8];
    if read_lossy(src, offset.saturating_add(0x8001), &mut far[..5]).is_empty()
        && &far[..5] == b"CD001"
    {
        return FileSystem::Iso9660;
    }
    if read_lossy(src, offset.saturating_add(0x10040), &mut far).is_empty() && &far == b"_BHRfS_M" {
        return FileSystem::Btrfs;
    }
    if b.iter().all(|&x| x == 0) {
        return if holes.is_empty() && offset.saturating_add(512) <= src.len() {
            FileSystem::Empty
        } else {
            FileSystem::Unknown
        };
    }
    FileSystem::Unknown
}
