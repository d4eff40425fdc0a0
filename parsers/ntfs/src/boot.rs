//! The NTFS boot sector: geometry and where the `$MFT` starts.

use crate::record::{u16_at, u64_at};

/// Geometry read from the boot sector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Boot {
    pub sector_size: u32,
    pub cluster_size: u32,
    pub total_sectors: u64,
    pub mft_lcn: u64,
    pub record_size: u32,
    pub index_block_size: u32,
    pub serial: u64,
}

/// A size field of the boot sector: positive = clusters, negative = 2^-v bytes.
fn clusters_or_log(v: u8, cluster: u32) -> Option<u32> {
    let s = v as i8;
    if s > 0 {
        (s as u32).checked_mul(cluster)
    } else if (-31..0).contains(&(s as i32)) {
        Some(1u32 << (-(s as i32)))
    } else {
        None
    }
}

pub(crate) fn parse(b: &[u8]) -> Result<Boot, String> {
    if b.get(3..11) != Some(b"NTFS    ") {
        return Err("no NTFS OEM id at offset 3".into());
    }
    let sector_size = u16_at(b, 0x0B) as u32;
    if !(256..=4096).contains(&sector_size) || !sector_size.is_power_of_two() {
        return Err(format!("bytes per sector {sector_size} at offset 0xb"));
    }
    let spc = b.get(0x0D).copied().unwrap_or(0);
    // Values above 0x80 are a negative power of two (clusters larger than 64 KiB).
    let spc = if spc > 0x80 {
        1u32.checked_shl(256 - spc as u32).unwrap_or(0)
    } else {
        spc as u32
    };
    if spc == 0 || !spc.is_power_of_two() {
        return Err("sectors per cluster at offset 0xd is not a power of two".into());
    }
    let cluster_size = sector_size
        .checked_mul(spc)
        .filter(|c| *c <= 1 << 21)
        .ok_or("cluster size over 2 MiB")?;
    let record_size = clusters_or_log(b.get(0x40).copied().unwrap_or(0), cluster_size)
        .filter(|r| (256..=65536).contains(r) && r.is_power_of_two())
        .ok_or("MFT record size at offset 0x40 is not 256 B..64 KiB")?;
    let index_block_size = clusters_or_log(b.get(0x44).copied().unwrap_or(0), cluster_size)
        .filter(|r| (256..=65536).contains(r) && r.is_power_of_two())
        .unwrap_or(4096);
    Ok(Boot {
        sector_size,
        cluster_size,
        total_sectors: u64_at(b, 0x28),
        mft_lcn: u64_at(b, 0x30),
        record_size,
        index_block_size,
        serial: u64_at(b, 0x48),
    })
}
