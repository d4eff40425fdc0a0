//! VMware saved state (`.vmss`/`.vmsn`): just enough of the group/tag format to read the
//! `memory` group's region table, which maps `.vmem` file pages to guest-physical pages
//! (guests with memory above the PCI hole have two or more regions).
//!
//! Layout (as read by Volatility): magic u32, unknown u32, group count u32; 80-byte
//! groups (name[64], tags offset u64, u64); tags: flags u8, name length u8, name,
//! `flags >> 6` u32 indices, then data of `flags & 0x3f` bytes (62/63: a long blob with
//! two size fields and 2 padding bytes). A tag with flags 0 and name length 0 ends a group.

use serde::Serialize;

use crate::bytes::{u32_at, u64_at};
use crate::detect::VMSS_MAGICS;
use crate::{ContainerKind, PhysmemError, Result, Segment, SegmentedMemory, PAGE_SIZE};

/// One region: `size` pages at guest page `ppn`, stored from `.vmem` page `page_num`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VmwareRegion {
    pub ppn: u64,
    pub page_num: u64,
    pub size: u64,
}

const GROUP_LEN: usize = 80;
const HEADER_LEN: usize = 12;
const MAX_TAGS: usize = 1 << 20;
const MAX_REGIONS: u64 = 4096;

/// Reads the region table. An empty vector means the state has no regions (the `.vmem`
/// is then a raw image from address 0).
pub fn parse_vmss_regions(meta: &[u8]) -> Result<Vec<VmwareRegion>> {
    let magic = u32_at(meta, 0).ok_or(PhysmemError::Truncated {
        offset: 0,
        expected: 12,
        what: "VMware state header",
    })?;
    if !VMSS_MAGICS.contains(&magic) {
        return Err(PhysmemError::BadSignature {
            offset: 0,
            expected: "VMware state magic",
            found: magic.to_le_bytes().to_vec(),
        });
    }
    let version = (magic & 0xF) as u8;
    let group_count = u32_at(meta, 8).ok_or(PhysmemError::Truncated {
        offset: 8,
        expected: 4,
        what: "VMware group count",
    })? as u64;
    let max_groups = (meta.len().saturating_sub(HEADER_LEN) / GROUP_LEN) as u64;
    if group_count > max_groups {
        return Err(PhysmemError::CountTooLarge {
            offset: 8,
            what: "VMware group count",
            value: group_count,
            bound: max_groups,
        });
    }
    let mut memory_tags = None;
    for g in 0..group_count as usize {
        let at = HEADER_LEN + g * GROUP_LEN;
        let name = meta.get(at..at + 64).unwrap_or_default();
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        if name == b"memory" {
            memory_tags = u64_at(meta, at + 64);
        }
    }
    let Some(tags_offset) = memory_tags else {
        return Err(PhysmemError::Vmware {
            offset: HEADER_LEN as u64,
            expected: "a group named memory",
        });
    };
    let tags = read_tags(meta, tags_offset, version)?;
    let lookup = |name: &str, index: Option<u32>| -> Option<u64> {
        tags.iter()
            .find(|t| t.name == name.as_bytes() && t.index == index)
            .map(|t| t.value)
    };
    let count = lookup("regionsCount", None).unwrap_or(0);
    if count > MAX_REGIONS {
        return Err(PhysmemError::CountTooLarge {
            offset: tags_offset,
            what: "VMware regionsCount",
            value: count,
            bound: MAX_REGIONS,
        });
    }
    let mut regions = Vec::with_capacity(count as usize);
    for i in 0..count as u32 {
        match (
            lookup("regionPPN", Some(i)),
            lookup("regionPageNum", Some(i)),
            lookup("regionSize", Some(i)),
        ) {
            (Some(ppn), Some(page_num), Some(size)) => regions.push(VmwareRegion {
                ppn,
                page_num,
                size,
            }),
            _ => {
                return Err(PhysmemError::Vmware {
                    offset: tags_offset,
                    expected: "regionPPN, regionPageNum and regionSize for every region",
                })
            }
        }
    }
    Ok(regions)
}

struct Tag<'a> {
    name: &'a [u8],
    /// First index only: the region tags have one.
    index: Option<u32>,
    /// Small (4 or 8 byte) values only; blobs are skipped.
    value: u64,
}

fn read_tags(meta: &[u8], start: u64, version: u8) -> Result<Vec<Tag<'_>>> {
    let mut tags = Vec::new();
    let mut off = usize::try_from(start).map_err(|_| PhysmemError::Vmware {
        offset: start,
        expected: "a tag list inside the file",
    })?;
    let trunc = |off: usize| PhysmemError::Truncated {
        offset: off as u64,
        expected: 2,
        what: "VMware tag",
    };
    for _ in 0..MAX_TAGS {
        let flags = *meta.get(off).ok_or_else(|| trunc(off))?;
        let name_len = *meta.get(off + 1).ok_or_else(|| trunc(off))? as usize;
        if flags == 0 && name_len == 0 {
            return Ok(tags);
        }
        let name = meta
            .get(off + 2..off + 2 + name_len)
            .ok_or_else(|| trunc(off))?;
        let index_count = ((flags >> 6) & 3) as usize;
        let idx_at = off + 2 + name_len;
        let index = if index_count > 0 {
            Some(u32_at(meta, idx_at).ok_or_else(|| trunc(idx_at))?)
        } else {
            None
        };
        let data_at = idx_at + 4 * index_count;
        let data_len = (flags & 0x3F) as usize;
        if data_len == 62 || data_len == 63 {
            let size_len = if version == 0 { 4 } else { 8 };
            let blob_len = if size_len == 4 {
                u32_at(meta, data_at).map(u64::from)
            } else {
                u64_at(meta, data_at)
            }
            .ok_or_else(|| trunc(data_at))?;
            let blob_len = usize::try_from(blob_len)
                .ok()
                .filter(|&l| l <= meta.len())
                .ok_or(PhysmemError::CountTooLarge {
                    offset: data_at as u64,
                    what: "VMware tag blob length",
                    value: blob_len,
                    bound: meta.len() as u64,
                })?;
            off = data_at + 2 * size_len + 2 + blob_len;
        } else {
            let value = match data_len {
                4 => u32_at(meta, data_at).map(u64::from),
                8 => u64_at(meta, data_at),
                _ => Some(0),
            }
            .ok_or_else(|| trunc(data_at))?;
            tags.push(Tag { name, index, value });
            off = data_at + data_len;
        }
    }
    Err(PhysmemError::CountTooLarge {
        offset: start,
        what: "VMware tags in the memory group",
        value: MAX_TAGS as u64,
        bound: MAX_TAGS as u64,
    })
}

/// Maps a `.vmem` through the regions of its saved state. No regions: raw from 0.
pub fn vmem_with_regions<D: AsRef<[u8]>>(
    vmem: D,
    regions: &[VmwareRegion],
) -> Result<SegmentedMemory<D>> {
    let mut warnings = Vec::new();
    let segments: Vec<Segment> = if regions.is_empty() {
        warnings.push("VMware state has no region table; .vmem read as raw".to_string());
        vec![Segment {
            paddr: 0,
            file_offset: 0,
            len: vmem.as_ref().len() as u64,
        }]
    } else {
        regions
            .iter()
            .filter_map(|r| {
                Some(Segment {
                    paddr: r.ppn.checked_mul(PAGE_SIZE)?,
                    file_offset: r.page_num.checked_mul(PAGE_SIZE)?,
                    len: r.size.checked_mul(PAGE_SIZE)?,
                })
            })
            .collect()
    };
    let mem = SegmentedMemory::new(vmem, ContainerKind::VmwareVmem, segments, None, warnings);
    if !mem.has_data() {
        return Err(PhysmemError::Empty);
    }
    Ok(mem)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{PhysicalMemory, Range};

    fn tag(out: &mut Vec<u8>, name: &str, index: Option<u32>, value: u32) {
        let flags = 4u8 | if index.is_some() { 1 << 6 } else { 0 };
        out.push(flags);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        if let Some(i) = index {
            out.extend_from_slice(&i.to_le_bytes());
        }
        out.extend_from_slice(&value.to_le_bytes());
    }

    /// A minimal `.vmss`: a `cpu` group with a blob tag, then `memory` with `regions`.
    pub(crate) fn build_vmss(regions: &[(u32, u32, u32)]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&0xbed2_bed2u32.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&2u32.to_le_bytes());
        let groups_at = f.len();
        f.resize(groups_at + 2 * GROUP_LEN, 0);
        let cpu_tags = f.len() as u64;
        // A long blob tag (flags & 0x3f == 62), version 2 => 8-byte sizes.
        f.push(62);
        f.push(4);
        f.extend_from_slice(b"blob");
        f.extend_from_slice(&5u64.to_le_bytes());
        f.extend_from_slice(&5u64.to_le_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(b"hello");
        f.extend_from_slice(&[0, 0]);
        let mem_tags = f.len() as u64;
        tag(&mut f, "regionsCount", None, regions.len() as u32);
        for (i, (ppn, page, size)) in regions.iter().enumerate() {
            tag(&mut f, "regionPPN", Some(i as u32), *ppn);
            tag(&mut f, "regionPageNum", Some(i as u32), *page);
            tag(&mut f, "regionSize", Some(i as u32), *size);
        }
        f.extend_from_slice(&[0, 0]);
        for (g, (name, off)) in [("cpu", cpu_tags), ("memory", mem_tags)].iter().enumerate() {
            let at = groups_at + g * GROUP_LEN;
            f[at..at + name.len()].copy_from_slice(name.as_bytes());
            f[at + 64..at + 72].copy_from_slice(&off.to_le_bytes());
        }
        f
    }

    #[test]
    fn regions_above_the_pci_hole() {
        let vmss = build_vmss(&[(0, 0, 2), (0x100000, 2, 1)]);
        let regions = parse_vmss_regions(&vmss).unwrap();
        assert_eq!(
            regions[1],
            VmwareRegion {
                ppn: 0x100000,
                page_num: 2,
                size: 1
            }
        );
        let mut vmem = vec![0u8; 3 * 4096];
        vmem[2 * 4096] = 0x42;
        let m = vmem_with_regions(vmem, &regions).unwrap();
        assert_eq!(
            m.ranges(),
            &[
                Range {
                    start: 0,
                    end: 0x2000
                },
                Range {
                    start: 0x1_0000_0000,
                    end: 0x1_0000_1000
                }
            ]
        );
        assert_eq!(m.page(0x1_0000_0000).unwrap()[0], 0x42);
    }

    #[test]
    fn huge_group_count_is_an_error() {
        let mut vmss = build_vmss(&[]);
        vmss[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_vmss_regions(&vmss),
            Err(PhysmemError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn no_regions_means_raw() {
        let vmss = build_vmss(&[]);
        let regions = parse_vmss_regions(&vmss).unwrap();
        assert!(regions.is_empty());
        let m = vmem_with_regions(vec![0u8; 4096], &regions).unwrap();
        assert_eq!(
            m.ranges(),
            &[Range {
                start: 0,
                end: 0x1000
            }]
        );
    }

    #[test]
    fn truncated_tag_list_is_an_error() {
        let vmss = build_vmss(&[(0, 0, 2)]);
        let cut = vmss.len() - 10;
        assert!(matches!(
            parse_vmss_regions(&vmss[..cut]),
            Err(PhysmemError::Truncated { .. })
        ));
    }
}
