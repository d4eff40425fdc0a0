//! Processes: a bounded walk of ActiveProcessLinks, and a parallel scan of kernel
//! memory for `Proc` pool blocks (finds unlinked processes too).

use std::collections::HashSet;

use memchr::memmem;
use rayon::prelude::*;
use serde::Serialize;

use crate::layout::Layout;
use crate::vmem::VirtualMemory;

/// The longest list a real system has is a few thousand; stop well past that.
pub const MAX_PROCESSES: usize = 65_536;
const MAX_PATH_BYTES: usize = 0x1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ProcessSource {
    ActiveList,
    PoolScan,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessFacts {
    pub source: ProcessSource,
    pub eprocess_va: u64,
    pub eprocess_pa: Option<u64>,
    pub pid: u64,
    pub ppid: Option<u64>,
    /// EPROCESS.ImageFileName (15 bytes kept by Windows), lossy ASCII.
    pub image_file_name: String,
    /// FILETIME; 0 when not set.
    pub create_time: Option<u64>,
    pub exit_time: Option<u64>,
    pub exit_status: Option<u32>,
    pub signal_state: Option<u32>,
    pub dtb: Option<u64>,
    pub peb: Option<u64>,
    pub session_id: Option<u32>,
    /// Token object address (EX_FAST_REF low 4 bits masked).
    pub token: Option<u64>,
    /// SeAuditProcessCreationInfo image path (`\Device\HarddiskVolumeN\...`).
    pub audit_image_path: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessWalk {
    pub processes: Vec<ProcessFacts>,
    /// Broken links, unreadable entries, cycles, the length limit.
    pub errors: Vec<String>,
}

fn off(field: Option<u32>) -> Option<u64> {
    field.map(u64::from)
}

/// Reads a UNICODE_STRING (x64) at `va`.
pub fn read_unicode_string(vm: &VirtualMemory, va: u64) -> Option<String> {
    let us = vm.read_exact(va, 16)?;
    let len = u16::from_le_bytes([us[0], us[1]]) as usize;
    let buf = u64::from_le_bytes(us[8..16].try_into().ok()?);
    if len == 0 || buf == 0 {
        return None;
    }
    let bytes = vm.read_exact(buf, len.min(MAX_PATH_BYTES) & !1)?;
    let wide: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some(String::from_utf16_lossy(&wide))
}

/// Facts of the EPROCESS at `va`, as far as the layout knows its fields.
pub fn read_process(vm: &VirtualMemory, layout: &Layout, va: u64, source: ProcessSource) -> Option<ProcessFacts> {
    let pid = vm.read_u64(va + off(layout.eprocess_unique_process_id)?)?;
    let name = vm.read_exact(va + off(layout.eprocess_image_file_name)?, 15)?;
    let name: String = name.iter().take_while(|&&b| b != 0).map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect();
    let field64 = |f: Option<u32>| off(f).and_then(|o| vm.read_u64(va + o));
    let field32 = |f: Option<u32>| off(f).and_then(|o| vm.read_u32(va + o));
    let session_id = field64(layout.eprocess_session)
        .filter(|&s| s != 0)
        .and_then(|s| off(layout.mm_session_space_session_id).and_then(|o| vm.read_u32(s + o)));
    let audit_image_path = field64(layout.eprocess_se_audit_process_creation_info)
        .filter(|&p| p != 0)
        .and_then(|p| read_unicode_string(vm, p + off(layout.audit_info_image_file_name).unwrap_or(0)));
    Some(ProcessFacts {
        source,
        eprocess_va: va,
        eprocess_pa: vm.resolve(va),
        pid,
        ppid: field64(layout.eprocess_inherited_from_unique_process_id),
        image_file_name: name,
        create_time: field64(layout.eprocess_create_time),
        exit_time: field64(layout.eprocess_exit_time),
        exit_status: field32(layout.eprocess_exit_status),
        signal_state: field32(layout.eprocess_signal_state),
        dtb: field64(layout.eprocess_directory_table_base),
        peb: field64(layout.eprocess_peb),
        session_id,
        token: field64(layout.eprocess_token).map(|t| t & !0xF),
        audit_image_path,
    })
}

/// Walks ActiveProcessLinks from the list head at `head` (PsActiveProcessHead), with
/// cycle and length limits; keeps going past unreadable entries only while links read.
pub fn walk_active_processes(vm: &VirtualMemory, layout: &Layout, head: u64) -> ProcessWalk {
    let mut walk = ProcessWalk::default();
    let Some(links) = off(layout.eprocess_active_process_links) else {
        walk.errors.push("layout has no ActiveProcessLinks offset".into());
        return walk;
    };
    let mut seen = HashSet::new();
    let mut prev = head;
    let mut cur = match vm.read_u64(head) {
        Some(f) => f,
        None => {
            walk.errors.push(format!("virtual {head:#x}: PsActiveProcessHead unreadable"));
            return walk;
        }
    };
    while cur != head {
        if walk.processes.len() >= MAX_PROCESSES {
            walk.errors.push(format!("stopped after {MAX_PROCESSES} processes"));
            break;
        }
        if !seen.insert(cur) {
            walk.errors.push(format!("virtual {cur:#x}: list entry seen before (cycle)"));
            break;
        }
        if vm.read_u64(cur + 8) != Some(prev) {
            walk.errors.push(format!("virtual {cur:#x}: Blink does not point back to {prev:#x}"));
        }
        let eprocess = cur.wrapping_sub(links);
        match read_process(vm, layout, eprocess, ProcessSource::ActiveList) {
            Some(p) => walk.processes.push(p),
            None => walk.errors.push(format!("virtual {eprocess:#x}: EPROCESS unreadable")),
        }
        prev = cur;
        cur = match vm.read_u64(cur) {
            Some(f) => f,
            None => {
                walk.errors.push(format!("virtual {cur:#x}: Flink unreadable; list cut"));
                break;
            }
        };
    }
    walk
}

/// The process object type index, decoded from System's own object header
/// (Windows 10+: TypeIndex XOR ObHeaderCookie XOR byte 1 of the header address).
pub fn process_type_index(vm: &VirtualMemory, layout: &Layout, system: u64, cookie: Option<u8>) -> Option<u8> {
    let body = off(layout.object_header_body)?;
    let header = system.checked_sub(body)?;
    let raw = vm.read_exact(header + off(layout.object_header_type_index)?, 1)?[0];
    Some(match cookie {
        Some(c) => raw ^ c ^ ((header >> 8) as u8),
        None => raw,
    })
}

/// Sizes of the optional object headers selected by InfoMask bits (x64, Windows 10/11):
/// creator 0x20, name 0x20, handle 0x10, quota 0x20, process 0x10, audit 0x10,
/// extended 0x10, padding 0x04.
const OPTIONAL_HEADER_SIZES: [u64; 8] = [0x20, 0x20, 0x10, 0x20, 0x10, 0x10, 0x10, 0x04];

/// Scans mapped kernel memory for `Proc` pool blocks whose object header decodes to
/// the process type and whose body passes a structural EPROCESS check. `pages` are
/// (virtual, physical) 4 KiB kernel pages, e.g. from [`kernel_pages`].
pub fn scan_process_pool(
    vm: &VirtualMemory,
    layout: &Layout,
    pages: &[(u64, u64)],
    cookie: Option<u8>,
    process_type: u8,
) -> Vec<ProcessFacts> {
    let (Some(pool_header), Some(body_off), Some(ti), Some(mask)) = (
        off(layout.pool_header_size),
        off(layout.object_header_body),
        off(layout.object_header_type_index),
        off(layout.object_header_info_mask),
    ) else {
        return Vec::new();
    };
    let finder = memmem::Finder::new(b"Proc");
    let mut found: Vec<ProcessFacts> = pages
        .par_iter()
        .flat_map_iter(|&(va, pa)| {
            let mut hits = Vec::new();
            let mut page = vec![0u8; 0x1000];
            if !vm.phys.read(pa, &mut page).is_full() {
                return hits.into_iter();
            }
            for at in finder.find_iter(&page) {
                // The tag sits at +4 of a 16-byte aligned POOL_HEADER.
                if at % 16 != 4 {
                    continue;
                }
                let block = va + at as u64 - 4;
                let header_start = block + pool_header;
                // Try each possible optional-header size; the InfoMask must agree.
                for opt in (0..=0xA0u64).step_by(4) {
                    let header = header_start + opt;
                    let Some(hdr) = vm.read_exact(header, body_off as usize) else { continue };
                    let raw_type = hdr[ti as usize];
                    let decoded = match cookie {
                        Some(c) => raw_type ^ c ^ ((header >> 8) as u8),
                        None => raw_type,
                    };
                    if decoded != process_type {
                        continue;
                    }
                    let info_mask = hdr[mask as usize];
                    let expected: u64 = (0..8).filter(|b| info_mask & (1 << b) != 0).map(|b| OPTIONAL_HEADER_SIZES[b]).sum();
                    if expected != opt {
                        continue;
                    }
                    if let Some(p) = read_process(vm, layout, header + body_off, ProcessSource::PoolScan) {
                        if looks_like_eprocess(vm, &p) {
                            hits.push(p);
                            break;
                        }
                    }
                }
            }
            hits.into_iter()
        })
        .collect();
    found.sort_by_key(|p| p.eprocess_va);
    found.dedup_by_key(|p| p.eprocess_va);
    found
}

fn looks_like_eprocess(vm: &VirtualMemory, p: &ProcessFacts) -> bool {
    let pid_ok = p.pid & 3 == 0 && p.pid < 0x1_0000_0000;
    let name_ok = !p.image_file_name.is_empty() && !p.image_file_name.contains('?');
    // Low bits of the DTB may carry a PCID; the frame must be inside the image.
    let dtb_ok = p.dtb.is_some_and(|d| {
        let frame = d & 0x000F_FFFF_FFFF_F000;
        frame != 0 && frame < vm.phys.size_hint()
    });
    pid_ok && name_ok && dtb_ok
}

/// (virtual, physical) pairs of every mapped 4 KiB page in the x64 kernel half, from a
/// direct walk of the page tables (large pages split into 4 KiB pages), skipping the
/// self-map slot. Bounded by `max_pages`.
pub fn kernel_pages(vm: &VirtualMemory, max_pages: usize) -> Vec<(u64, u64)> {
    const P: u64 = 1;
    const PS: u64 = 0x80;
    const ADDR: u64 = 0x000F_FFFF_FFFF_F000;
    let read = |pa: u64| -> Option<Vec<u64>> {
        let mut b = vec![0u8; 0x1000];
        vm.phys.read(pa, &mut b).is_full().then(|| b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
    };
    let mut out = Vec::new();
    let dtb = vm.dtb & ADDR;
    let Some(pml4) = read(dtb) else { return out };
    for (i4, &e4) in pml4.iter().enumerate().skip(256) {
        if e4 & P == 0 || e4 & ADDR == dtb {
            continue;
        }
        let Some(pdpt) = read(e4 & ADDR) else { continue };
        let base4 = 0xFFFF_0000_0000_0000 | (i4 as u64) << 39;
        for (i3, &e3) in pdpt.iter().enumerate() {
            if e3 & P == 0 || e3 & PS != 0 {
                continue; // 1 GiB pages: not used for pool
            }
            let Some(pd) = read(e3 & ADDR) else { continue };
            let base3 = base4 | (i3 as u64) << 30;
            for (i2, &e2) in pd.iter().enumerate() {
                if e2 & P == 0 {
                    continue;
                }
                let base2 = base3 | (i2 as u64) << 21;
                if e2 & PS != 0 {
                    for k in 0..512u64 {
                        out.push((base2 + k * 0x1000, (e2 & ADDR & !0x1F_FFFF) + k * 0x1000));
                    }
                } else if let Some(pt) = read(e2 & ADDR) {
                    for (i1, &e1) in pt.iter().enumerate() {
                        if e1 & P != 0 {
                            out.push((base2 | (i1 as u64) << 12, e1 & ADDR));
                        }
                    }
                }
                if out.len() >= max_pages {
                    out.truncate(max_pages);
                    return out;
                }
            }
        }
    }
    out
}

/// What a process's PEB says about itself (user memory, read through its own DTB).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PebFacts {
    pub image_base: Option<u64>,
    pub image_path: Option<String>,
    pub command_line: Option<String>,
    pub session_id: Option<u32>,
    /// Why fields are missing (PEB or parameters paged out, no PEB).
    pub errors: Vec<String>,
}

/// Reads the PEB of `p` through the process's own DTB.
pub fn read_peb(phys: &dyn triage_physmem::PhysicalMemory, layout: &Layout, p: &ProcessFacts) -> PebFacts {
    let mut facts = PebFacts::default();
    let (Some(peb), Some(dtb)) = (p.peb.filter(|&v| v != 0), p.dtb) else {
        facts.errors.push("no PEB".into());
        return facts;
    };
    let vm = VirtualMemory::new(phys, crate::translate::Arch::X64, dtb);
    let field = |f: Option<u32>| off(f).map(|o| peb + o);
    facts.image_base = field(layout.peb_image_base_address).and_then(|va| vm.read_u64(va));
    facts.session_id = field(layout.peb_session_id).and_then(|va| vm.read_u32(va));
    match field(layout.peb_process_parameters).and_then(|va| vm.read_u64(va)) {
        Some(params) if params != 0 => {
            facts.image_path = off(layout.params_image_path_name).and_then(|o| read_unicode_string(&vm, params + o));
            facts.command_line = off(layout.params_command_line).and_then(|o| read_unicode_string(&vm, params + o));
            if facts.image_path.is_none() {
                facts.errors.push(format!("virtual {params:#x}: process parameters unreadable"));
            }
        }
        _ => facts.errors.push(format!("virtual {peb:#x}: PEB unreadable (paged out?)")),
    }
    facts
}
