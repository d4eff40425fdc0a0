//! Windows kernel crash dumps (`PAGEDU64`, `PAGEDUMP`): full dumps described by
//! PHYSICAL_MEMORY_DESCRIPTOR runs, and bitmap dumps (`SDMP`/`FDMP` summary header).
//!
//! Offsets follow the public DUMP_HEADER32/DUMP_HEADER64 definitions (as used by
//! Volatility's crash layers and kdmp-parser); the summary header's field order
//! (first page offset, present pages, bitmap bits) is the one Volatility 3 settled on.

use serde::Serialize;

use crate::bytes::{u32_at, u64_at};
use crate::{ContainerKind, PhysmemError, Result, Segment, SegmentedMemory, PAGE_SIZE};

/// Facts from a crash-dump header. Fields Windows did not fill keep the `PAGE` filler
/// (`0x45474150` / `0x4547415045474150`); consumers should treat that value as absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrashDumpHeader {
    /// 64 for `PAGEDU64`, 32 for `PAGEDUMP`.
    pub bits: u32,
    pub major_version: u32,
    /// The build number (e.g. 19041).
    pub minor_version: u32,
    pub directory_table_base: u64,
    pub pfn_database: u64,
    pub ps_loaded_module_list: u64,
    pub ps_active_process_head: u64,
    /// PE machine: 0x8664 (x64) or 0x14c (x86).
    pub machine_image_type: u32,
    pub number_processors: u32,
    pub bugcheck_code: u32,
    pub kd_debugger_data_block: u64,
    pub dump_type: u32,
    /// FILETIME (100 ns since 1601-01-01 UTC).
    pub system_time: u64,
    pub system_up_time: u64,
    /// Only in 32-bit headers.
    pub pae_enabled: Option<bool>,
    pub layout: CrashDumpLayout,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CrashDumpLayout {
    /// Pages stored run after run, as listed in PHYSICAL_MEMORY_DESCRIPTOR.
    Runs { runs: u32, pages: u64 },
    /// Pages stored in bitmap order after the summary header.
    Bitmap {
        signature: String,
        first_page_offset: u64,
        bitmap_pages: u64,
        present_pages: u64,
    },
}

const H64_SIZE: usize = 0x2000;
const H32_SIZE: usize = 0x1000;
/// PhysicalMemoryBlockBuffer is 700 bytes in both headers.
const MAX_RUNS_64: u64 = (700 - 16) / 16;
const MAX_RUNS_32: u64 = (700 - 8) / 8;

fn need(data: &[u8], end: usize, what: &'static str) -> Result<()> {
    if data.len() < end {
        return Err(PhysmemError::Truncated {
            offset: data.len() as u64,
            expected: (end - data.len()) as u64,
            what,
        });
    }
    Ok(())
}

fn r32(data: &[u8], off: usize) -> u32 {
    u32_at(data, off).unwrap_or(0)
}
fn r64(data: &[u8], off: usize) -> u64 {
    u64_at(data, off).unwrap_or(0)
}

/// Parses a crash dump held in `data` into a physical address space.
pub fn parse_crashdump<D: AsRef<[u8]>>(data: D) -> Result<SegmentedMemory<D>> {
    let bytes = data.as_ref();
    need(bytes, 8, "crash dump signature")?;
    let (header, segments, warnings) = match bytes.get(..8) {
        Some(b"PAGEDU64") => parse64(bytes)?,
        Some(b"PAGEDUMP") => parse32(bytes)?,
        other => {
            return Err(PhysmemError::BadSignature {
                offset: 0,
                expected: "PAGEDU64 or PAGEDUMP",
                found: other.unwrap_or_default().to_vec(),
            })
        }
    };
    let kind = if header.bits == 64 {
        ContainerKind::CrashDump64
    } else {
        ContainerKind::CrashDump32
    };
    let mem = SegmentedMemory::new(data, kind, segments, Some(header), warnings);
    if !mem.has_data() {
        return Err(PhysmemError::Empty);
    }
    Ok(mem)
}

type Parsed = (CrashDumpHeader, Vec<Segment>, Vec<String>);

fn parse64(d: &[u8]) -> Result<Parsed> {
    need(d, H64_SIZE, "64-bit crash dump header")?;
    let dump_type = r32(d, 0xF98);
    let mut header = CrashDumpHeader {
        bits: 64,
        major_version: r32(d, 0x08),
        minor_version: r32(d, 0x0C),
        directory_table_base: r64(d, 0x10),
        pfn_database: r64(d, 0x18),
        ps_loaded_module_list: r64(d, 0x20),
        ps_active_process_head: r64(d, 0x28),
        machine_image_type: r32(d, 0x30),
        number_processors: r32(d, 0x34),
        bugcheck_code: r32(d, 0x38),
        kd_debugger_data_block: r64(d, 0x80),
        dump_type,
        system_time: r64(d, 0xFA8),
        system_up_time: r64(d, 0x1030),
        pae_enabled: None,
        layout: CrashDumpLayout::Runs { runs: 0, pages: 0 },
    };
    let mut warnings = Vec::new();
    let segments = if is_summary(d, H64_SIZE) {
        bitmap_segments(d, H64_SIZE, &mut header, &mut warnings)?
    } else if dump_type == 1 {
        let runs = r32(d, 0x88);
        let pages = r64(d, 0x90);
        header.layout = CrashDumpLayout::Runs { runs, pages };
        run_segments(
            d,
            0x98,
            runs,
            MAX_RUNS_64,
            16,
            pages,
            H64_SIZE as u64,
            &mut warnings,
        )?
    } else {
        return Err(PhysmemError::Unsupported {
            offset: 0xF98,
            what: "crash dump type (expected 1 = full, or a bitmap summary at 0x2000)",
            value: dump_type as u64,
        });
    };
    Ok((header, segments, warnings))
}

fn parse32(d: &[u8]) -> Result<Parsed> {
    need(d, H32_SIZE, "32-bit crash dump header")?;
    let dump_type = r32(d, 0xF88);
    let mut header = CrashDumpHeader {
        bits: 32,
        major_version: r32(d, 0x08),
        minor_version: r32(d, 0x0C),
        directory_table_base: r32(d, 0x10) as u64,
        pfn_database: r32(d, 0x14) as u64,
        ps_loaded_module_list: r32(d, 0x18) as u64,
        ps_active_process_head: r32(d, 0x1C) as u64,
        machine_image_type: r32(d, 0x20),
        number_processors: r32(d, 0x24),
        bugcheck_code: r32(d, 0x28),
        kd_debugger_data_block: r32(d, 0x60) as u64,
        dump_type,
        system_time: r64(d, 0xFC0),
        system_up_time: r64(d, 0xFB8),
        pae_enabled: d.get(0x5C).map(|&b| b != 0),
        layout: CrashDumpLayout::Runs { runs: 0, pages: 0 },
    };
    let mut warnings = Vec::new();
    let segments = if is_summary(d, H32_SIZE) {
        warnings
            .push("32-bit bitmap dump: summary header read with the 64-bit field layout".into());
        bitmap_segments(d, H32_SIZE, &mut header, &mut warnings)?
    } else if dump_type == 1 {
        let runs = r32(d, 0x64);
        let pages = r32(d, 0x68) as u64;
        header.layout = CrashDumpLayout::Runs { runs, pages };
        run_segments(
            d,
            0x6C,
            runs,
            MAX_RUNS_32,
            8,
            pages,
            H32_SIZE as u64,
            &mut warnings,
        )?
    } else {
        return Err(PhysmemError::Unsupported {
            offset: 0xF88,
            what: "crash dump type (expected 1 = full, or a bitmap summary at 0x1000)",
            value: dump_type as u64,
        });
    };
    Ok((header, segments, warnings))
}

fn is_summary(d: &[u8], at: usize) -> bool {
    matches!(d.get(at..at + 4), Some(b"SDMP") | Some(b"FDMP"))
        && d.get(at + 4..at + 8) == Some(b"DUMP")
}

#[allow(clippy::too_many_arguments)]
fn run_segments(
    d: &[u8],
    table: usize,
    runs: u32,
    max_runs: u64,
    entry_size: usize,
    declared_pages: u64,
    data_start: u64,
    warnings: &mut Vec<String>,
) -> Result<Vec<Segment>> {
    if runs as u64 > max_runs {
        return Err(PhysmemError::CountTooLarge {
            offset: table as u64 - if entry_size == 16 { 0x10 } else { 0x8 },
            what: "NumberOfRuns",
            value: runs as u64,
            bound: max_runs,
        });
    }
    let file_pages = (d.len() as u64).saturating_sub(data_start) / PAGE_SIZE;
    let mut segments = Vec::with_capacity(runs as usize);
    let mut file_offset = data_start;
    let mut total_pages = 0u64;
    for i in 0..runs as usize {
        let at = table + i * entry_size;
        let (base, count) = if entry_size == 16 {
            (r64(d, at), r64(d, at + 8))
        } else {
            (r32(d, at) as u64, r32(d, at + 4) as u64)
        };
        // A run can't hold more pages than the file: bounds the multiplication below.
        if count > file_pages.saturating_add(1) {
            return Err(PhysmemError::CountTooLarge {
                offset: at as u64 + entry_size as u64 / 2,
                what: "PageCount of a physical memory run",
                value: count,
                bound: file_pages,
            });
        }
        let paddr = base
            .checked_mul(PAGE_SIZE)
            .ok_or(PhysmemError::CountTooLarge {
                offset: at as u64,
                what: "BasePage of a physical memory run",
                value: base,
                bound: u64::MAX / PAGE_SIZE,
            })?;
        segments.push(Segment {
            paddr,
            file_offset,
            len: count * PAGE_SIZE,
        });
        file_offset = file_offset.saturating_add(count * PAGE_SIZE);
        total_pages = total_pages.saturating_add(count);
    }
    if total_pages != declared_pages {
        warnings.push(format!(
            "NumberOfPages says {declared_pages} but the runs add up to {total_pages}"
        ));
    }
    Ok(segments)
}

fn bitmap_segments(
    d: &[u8],
    at: usize,
    header: &mut CrashDumpHeader,
    warnings: &mut Vec<String>,
) -> Result<Vec<Segment>> {
    need(d, at + 0x38, "crash dump summary header")?;
    let first_page_offset = r64(d, at + 0x20);
    let present_pages = r64(d, at + 0x28);
    let bitmap_pages = r64(d, at + 0x30);
    let bitmap_start = at + 0x38;
    let available_bits = ((d.len() - bitmap_start) as u64).saturating_mul(8);
    if bitmap_pages > available_bits {
        return Err(PhysmemError::CountTooLarge {
            offset: at as u64 + 0x30,
            what: "bitmap size in pages",
            value: bitmap_pages,
            bound: available_bits,
        });
    }
    let signature = String::from_utf8_lossy(d.get(at..at + 4).unwrap_or_default()).into_owned();
    header.layout = CrashDumpLayout::Bitmap {
        signature,
        first_page_offset,
        bitmap_pages,
        present_pages,
    };
    let bitmap_len = bitmap_pages.div_ceil(8) as usize;
    let bitmap = d
        .get(bitmap_start..bitmap_start + bitmap_len)
        .unwrap_or_default();

    let mut segments = Vec::new();
    let mut file_offset = first_page_offset;
    let mut run_start: Option<u64> = None;
    let mut seen = 0u64;
    let close = |start: u64, end: u64, file_offset: &mut u64, segments: &mut Vec<Segment>| {
        let len = (end - start) * PAGE_SIZE;
        segments.push(Segment {
            paddr: start * PAGE_SIZE,
            file_offset: *file_offset,
            len,
        });
        *file_offset = file_offset.saturating_add(len);
    };
    for (byte_index, &byte) in bitmap.iter().enumerate() {
        let base = byte_index as u64 * 8;
        // Whole bytes first: most of a bitmap is runs of 0x00 or 0xFF.
        if byte == 0xFF && base + 8 <= bitmap_pages {
            run_start.get_or_insert(base);
            seen += 8;
            continue;
        }
        if byte == 0 {
            if let Some(s) = run_start.take() {
                close(s, base, &mut file_offset, &mut segments);
            }
            continue;
        }
        for bit in 0..8u64 {
            let page = base + bit;
            if page >= bitmap_pages {
                break;
            }
            if byte & (1 << bit) != 0 {
                run_start.get_or_insert(page);
                seen += 1;
            } else if let Some(s) = run_start.take() {
                close(s, page, &mut file_offset, &mut segments);
            }
        }
    }
    if let Some(s) = run_start.take() {
        close(s, bitmap_pages, &mut file_offset, &mut segments);
    }
    if seen != present_pages {
        warnings.push(format!(
            "summary header says {present_pages} present pages, the bitmap has {seen}"
        ));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PhysicalMemory, Range, ReadOutcome};

    fn put32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put64(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    fn header64() -> Vec<u8> {
        let mut h = b"PAGE".repeat(H64_SIZE / 4);
        h[..8].copy_from_slice(b"PAGEDU64");
        put32(&mut h, 0x08, 15);
        put32(&mut h, 0x0C, 19041);
        put64(&mut h, 0x10, 0x1ad000);
        put32(&mut h, 0x30, 0x8664);
        put32(&mut h, 0x34, 2);
        put64(&mut h, 0xFA8, 0x01DA_0000_0000_0000);
        h
    }

    #[test]
    fn full_dump_runs_map_with_a_hole() {
        let mut h = header64();
        put32(&mut h, 0xF98, 1);
        put32(&mut h, 0x88, 2);
        put64(&mut h, 0x90, 3);
        put64(&mut h, 0x98, 0); // run 0: page 0, 1 page
        put64(&mut h, 0xA0, 1);
        put64(&mut h, 0xA8, 0x10); // run 1: pages 0x10..0x12
        put64(&mut h, 0xB0, 2);
        for (i, fill) in [0x11u8, 0x22, 0x33].iter().enumerate() {
            h.extend(std::iter::repeat_n(*fill, 4096));
            let _ = i;
        }
        let m = parse_crashdump(h).unwrap();
        let hdr = m.crash_header().unwrap();
        assert_eq!(hdr.minor_version, 19041);
        assert_eq!(hdr.directory_table_base, 0x1ad000);
        assert_eq!(hdr.system_time, 0x01DA_0000_0000_0000);
        assert_eq!(
            m.ranges(),
            &[
                Range {
                    start: 0,
                    end: 0x1000
                },
                Range {
                    start: 0x10000,
                    end: 0x12000
                }
            ]
        );
        let mut b = [0u8; 1];
        assert_eq!(m.read(0x11000, &mut b), ReadOutcome::Full);
        assert_eq!(b[0], 0x33);
        assert_eq!(m.read(0x5000, &mut b), ReadOutcome::Absent);
        assert!(m.warnings().is_empty(), "{:?}", m.warnings());
    }

    #[test]
    fn bitmap_dump_maps_pages_in_bit_order() {
        let mut h = header64();
        put32(&mut h, 0xF98, 5);
        let mut s = vec![0u8; 0x1000];
        s[..8].copy_from_slice(b"FDMPDUMP");
        put64(&mut s, 0x20, 0x3000); // pages start after the summary page
        put64(&mut s, 0x28, 3);
        put64(&mut s, 0x30, 12);
        s[0x38] = 0b1000_0101; // pages 0, 2, 7
        s[0x39] = 0;
        h.extend(s);
        for fill in [0xA0u8, 0xA2, 0xA7] {
            h.extend(std::iter::repeat_n(fill, 4096));
        }
        let m = parse_crashdump(h).unwrap();
        assert_eq!(
            m.ranges(),
            &[
                Range {
                    start: 0,
                    end: 0x1000
                },
                Range {
                    start: 0x2000,
                    end: 0x3000
                },
                Range {
                    start: 0x7000,
                    end: 0x8000
                }
            ]
        );
        assert_eq!(m.page(0x7000).unwrap()[5], 0xA7);
        assert_eq!(m.page(0x2000).unwrap()[0], 0xA2);
        assert!(matches!(
            m.crash_header().unwrap().layout,
            CrashDumpLayout::Bitmap { .. }
        ));
    }

    #[test]
    fn huge_run_count_is_an_error() {
        let mut h = header64();
        put32(&mut h, 0xF98, 1);
        put32(&mut h, 0x88, 0xFFFF_FFFF);
        assert!(matches!(
            parse_crashdump(h),
            Err(PhysmemError::CountTooLarge {
                what: "NumberOfRuns",
                ..
            })
        ));
    }

    #[test]
    fn huge_page_count_is_an_error() {
        let mut h = header64();
        put32(&mut h, 0xF98, 1);
        put32(&mut h, 0x88, 1);
        put64(&mut h, 0x98, 0);
        put64(&mut h, 0xA0, u64::MAX);
        assert!(matches!(
            parse_crashdump(h),
            Err(PhysmemError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn huge_bitmap_is_an_error() {
        let mut h = header64();
        put32(&mut h, 0xF98, 5);
        let mut s = vec![0u8; 0x40];
        s[..8].copy_from_slice(b"SDMPDUMP");
        put64(&mut s, 0x30, u64::MAX);
        h.extend(s);
        assert!(matches!(
            parse_crashdump(h),
            Err(PhysmemError::CountTooLarge { .. })
        ));
    }

    #[test]
    fn truncated_header_is_an_error() {
        let h = header64();
        assert!(matches!(
            parse_crashdump(&h[..0x100]),
            Err(PhysmemError::Truncated { .. })
        ));
    }

    #[test]
    fn dump32_runs() {
        let mut h = b"PAGE".repeat(H32_SIZE / 4);
        h[..8].copy_from_slice(b"PAGEDUMP");
        put32(&mut h, 0x0C, 2600);
        put32(&mut h, 0x10, 0x39000);
        h[0x5C] = 1;
        put32(&mut h, 0xF88, 1);
        put32(&mut h, 0x64, 1);
        put32(&mut h, 0x68, 2);
        put32(&mut h, 0x6C, 1);
        put32(&mut h, 0x70, 2);
        h.extend(vec![0x5Au8; 0x2000]);
        let m = parse_crashdump(h).unwrap();
        let hdr = m.crash_header().unwrap();
        assert_eq!(
            (hdr.bits, hdr.minor_version, hdr.directory_table_base),
            (32, 2600, 0x39000)
        );
        assert_eq!(hdr.pae_enabled, Some(true));
        assert_eq!(
            m.ranges(),
            &[Range {
                start: 0x1000,
                end: 0x3000
            }]
        );
    }
}
