//! The parts of an in-memory PE image the kernel work needs: identity (CodeView RSDS),
//! exports by name. Read through virtual memory with every RVA and count bounded by
//! SizeOfImage.

use serde::Serialize;

use crate::vmem::VirtualMemory;
use crate::{Result, WinmemError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeView {
    pub pdb_name: String,
    /// Upper-case hex, no dashes, Data1-3 little-endian as Volatility prints it.
    pub guid: String,
    pub age: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeImage {
    pub base: u64,
    pub size_of_image: u32,
    pub machine: u16,
    pub export_dir: Option<(u32, u32)>,
    pub debug_dir: Option<(u32, u32)>,
    pub section_names: Vec<String>,
}

const MAX_NAMES: u32 = 0x10000;

/// Parses the PE header at `base`.
pub fn pe_header(vm: &VirtualMemory, base: u64) -> Result<PeImage> {
    let head = vm.read_exact(base, 0x1000).ok_or(WinmemError::Unreadable {
        vaddr: base,
        expected: "a PE header page",
    })?;
    if head.get(..2) != Some(b"MZ") {
        return Err(WinmemError::BadPe {
            vaddr: base,
            expected: "MZ",
            found: head.get(..2).unwrap_or_default().to_vec(),
        });
    }
    let lfanew = u32::from_le_bytes(head[0x3C..0x40].try_into().unwrap_or([0; 4])) as usize;
    if lfanew > 0x1000 - 0x108 || head.get(lfanew..lfanew + 4) != Some(b"PE\0\0") {
        return Err(WinmemError::BadPe {
            vaddr: base + 0x3C,
            expected: "e_lfanew pointing to PE\\0\\0",
            found: head
                .get(lfanew.min(0xFFC)..lfanew.min(0xFFC) + 4)
                .unwrap_or_default()
                .to_vec(),
        });
    }
    let u16_at = |o: usize| {
        head.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .unwrap_or(0)
    };
    let u32_at = |o: usize| {
        head.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0)
    };
    let machine = u16_at(lfanew + 4);
    let sections = u16_at(lfanew + 6) as usize;
    let opt = lfanew + 24;
    let opt_size = u16_at(lfanew + 20) as usize;
    let magic = u16_at(opt);
    let (dirs_at, ndirs_at) = match magic {
        0x20B => (opt + 112, opt + 108),
        0x10B => (opt + 96, opt + 92),
        m => {
            return Err(WinmemError::BadPe {
                vaddr: base + opt as u64,
                expected: "optional header magic 0x10b or 0x20b",
                found: m.to_le_bytes().to_vec(),
            })
        }
    };
    let size_of_image = u32_at(opt + 56);
    let ndirs = u32_at(ndirs_at).min(16) as usize;
    let dir = |i: usize| -> Option<(u32, u32)> {
        if i >= ndirs {
            return None;
        }
        let (rva, size) = (u32_at(dirs_at + i * 8), u32_at(dirs_at + i * 8 + 4));
        (rva != 0 && size != 0 && rva < size_of_image).then_some((rva, size))
    };
    let sec_at = opt + opt_size;
    let section_names = (0..sections.min(96))
        .filter_map(|i| head.get(sec_at + i * 40..sec_at + i * 40 + 8))
        .map(|n| {
            String::from_utf8_lossy(n.split(|&b| b == 0).next().unwrap_or_default()).into_owned()
        })
        .collect();
    Ok(PeImage {
        base,
        size_of_image,
        machine,
        export_dir: dir(0),
        debug_dir: dir(6),
        section_names,
    })
}

/// The CodeView RSDS record of the image's debug directory.
pub fn codeview(vm: &VirtualMemory, pe: &PeImage) -> Option<CodeView> {
    let (rva, size) = pe.debug_dir?;
    let count = (size / 28).min(32);
    for i in 0..count {
        let e = vm.read_exact(pe.base + rva as u64 + i as u64 * 28, 28)?;
        let ty = u32::from_le_bytes(e[12..16].try_into().ok()?);
        let data_size = u32::from_le_bytes(e[16..20].try_into().ok()?);
        let data_rva = u32::from_le_bytes(e[20..24].try_into().ok()?);
        if ty != 2 || data_size < 25 || data_rva >= pe.size_of_image {
            continue;
        }
        let rec = vm.read_exact(pe.base + data_rva as u64, data_size.min(0x200) as usize)?;
        if let Some(cv) = parse_rsds(&rec) {
            return Some(cv);
        }
    }
    None
}

/// Parses an `RSDS` CodeView record.
pub fn parse_rsds(rec: &[u8]) -> Option<CodeView> {
    if rec.get(..4)? != b"RSDS" {
        return None;
    }
    let g = rec.get(4..20)?;
    let d1 = u32::from_le_bytes(g[0..4].try_into().ok()?);
    let d2 = u16::from_le_bytes(g[4..6].try_into().ok()?);
    let d3 = u16::from_le_bytes(g[6..8].try_into().ok()?);
    let mut guid = format!("{d1:08X}{d2:04X}{d3:04X}");
    for b in &g[8..16] {
        guid.push_str(&format!("{b:02X}"));
    }
    let age = u32::from_le_bytes(rec.get(20..24)?.try_into().ok()?);
    let name = rec.get(24..)?;
    let name = name.split(|&b| b == 0).next()?;
    Some(CodeView {
        pdb_name: String::from_utf8_lossy(name).into_owned(),
        guid,
        age,
    })
}

fn read_cstr(vm: &VirtualMemory, va: u64, max: usize) -> Option<Vec<u8>> {
    // Names rarely cross a page; read up to the page end first.
    let first = (0x1000 - (va & 0xFFF) as usize).min(max);
    let mut s = vm.read_exact(va, first)?;
    if let Some(n) = s.iter().position(|&b| b == 0) {
        s.truncate(n);
        return Some(s);
    }
    let rest = vm.read_exact(va + first as u64, max - first)?;
    s.extend_from_slice(&rest);
    let n = s.iter().position(|&b| b == 0)?;
    s.truncate(n);
    Some(s)
}

/// The export directory's own name (e.g. `ntoskrnl.exe`).
pub fn export_name(vm: &VirtualMemory, pe: &PeImage) -> Option<String> {
    let (rva, _) = pe.export_dir?;
    let name_rva = vm.read_u32(pe.base + rva as u64 + 12)?;
    (name_rva < pe.size_of_image).then_some(())?;
    read_cstr(vm, pe.base + name_rva as u64, 64).map(|s| String::from_utf8_lossy(&s).into_owned())
}

/// Virtual address of the export `name` (binary search: export names are sorted).
/// Forwarded exports are not resolved.
pub fn export_address(vm: &VirtualMemory, pe: &PeImage, name: &str) -> Option<u64> {
    let (rva, _) = pe.export_dir?;
    let d = vm.read_exact(pe.base + rva as u64, 40)?;
    let rd = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap_or([0; 4]));
    let (nfuncs, nnames, funcs, names, ords) = (rd(20), rd(24), rd(28), rd(32), rd(36));
    if nnames > MAX_NAMES
        || nfuncs > MAX_NAMES
        || names >= pe.size_of_image
        || ords >= pe.size_of_image
        || funcs >= pe.size_of_image
    {
        return None;
    }
    let (mut lo, mut hi) = (0u32, nnames);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let name_rva = vm.read_u32(pe.base + names as u64 + mid as u64 * 4)?;
        if name_rva >= pe.size_of_image {
            return None;
        }
        let cand = read_cstr(vm, pe.base + name_rva as u64, 256)?;
        match cand.as_slice().cmp(name.as_bytes()) {
            std::cmp::Ordering::Equal => {
                let ord = vm.read_u16(pe.base + ords as u64 + mid as u64 * 2)? as u32;
                if ord >= nfuncs {
                    return None;
                }
                let f = vm.read_u32(pe.base + funcs as u64 + ord as u64 * 4)?;
                return (f != 0 && f < pe.size_of_image).then_some(pe.base + f as u64);
            }
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsds_guid_is_formatted_like_volatility() {
        // GUID {BBED7C29-55FB-E452-2AAA-23F4B8677AD9} as stored (Data1..3 little-endian).
        let mut rec = b"RSDS".to_vec();
        rec.extend_from_slice(&0xBBED7C29u32.to_le_bytes());
        rec.extend_from_slice(&0x55FBu16.to_le_bytes());
        rec.extend_from_slice(&0xE452u16.to_le_bytes());
        rec.extend_from_slice(&[0x2A, 0xAA, 0x23, 0xF4, 0xB8, 0x67, 0x7A, 0xD9]);
        rec.extend_from_slice(&1u32.to_le_bytes());
        rec.extend_from_slice(b"ntkrnlmp.pdb\0");
        let cv = parse_rsds(&rec).unwrap();
        // The same string names the shipped ISF file BBED7C2955FBE4522AAA23F4B8677AD9-1.json.xz.
        assert_eq!(cv.guid, "BBED7C2955FBE4522AAA23F4B8677AD9");
        assert_eq!((cv.age, cv.pdb_name.as_str()), (1, "ntkrnlmp.pdb"));
        assert!(parse_rsds(&rec[..10]).is_none());
    }
}
