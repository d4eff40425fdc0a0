//! Containers: raw (holes zero-filled), 64-bit full crash dump, ELF core (QEMU-style).
use crate::phys::{PhysMem, PAGE};
use crate::truth::Truth;
use serde::{Deserialize, Serialize};
use std::io::{Seek, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    Raw,
    CrashDump64,
    ElfCore,
    /// hiberfil.sys with plain LZXPRESS compression sets.
    Hiberfil,
    /// hiberfil.sys with LZXPRESS Huffman compression sets.
    HiberfilHuffman,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Raw => "raw",
            Format::CrashDump64 => "crashdump",
            Format::ElfCore => "elf",
            Format::Hiberfil => "hiberfil",
            Format::HiberfilHuffman => "hiberfil-huffman",
        }
    }
}

/// Values the crash-dump header repeats from the kernel.
pub struct DumpInfo {
    pub ps_loaded_module_list: u64,
    pub kd_debugger_data_block: u64,
    pub processors: u32,
}

const CHUNK_PAGES: u64 = 256;

/// Stream physical pages `start..end` (page-aligned) to `out` in 1 MiB chunks.
fn stream(mem: &PhysMem, out: &mut impl Write, start: u64, end: u64) -> std::io::Result<()> {
    let mut buf = vec![0u8; (CHUNK_PAGES * PAGE) as usize];
    let mut pfn = start / PAGE;
    let last = end / PAGE;
    while pfn < last {
        let n = (last - pfn).min(CHUNK_PAGES);
        for i in 0..n {
            let at = (i * PAGE) as usize;
            mem.page_into(pfn + i, &mut buf[at..at + PAGE as usize]);
        }
        out.write_all(&buf[..(n * PAGE) as usize])?;
        pfn += n;
    }
    Ok(())
}

pub fn write_raw(mem: &PhysMem, out: &mut impl Write) -> std::io::Result<()> {
    stream(mem, out, 0, mem.size)
}

pub fn write_crashdump(
    mem: &PhysMem,
    t: &Truth,
    info: &DumpInfo,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut h = vec![0u8; 0x2000];
    // Unused header space reads "PAGE" on real dumps.
    for c in h.chunks_exact_mut(4) {
        c.copy_from_slice(b"PAGE");
    }
    let mut put = |off: usize, d: &[u8]| h[off..off + d.len()].copy_from_slice(d);
    put(0, b"PAGE");
    put(4, b"DU64");
    put(8, &0xFu32.to_le_bytes());
    put(0xC, &t.build.to_le_bytes());
    put(0x10, &t.dtb.to_le_bytes());
    put(0x18, &0u64.to_le_bytes()); // PfnDataBase (MmPfnDatabase not generated)
    put(0x20, &info.ps_loaded_module_list.to_le_bytes());
    put(0x28, &t.ps_active_process_head.to_le_bytes());
    put(0x30, &0x8664u32.to_le_bytes());
    put(0x34, &info.processors.to_le_bytes());
    put(0x38, &0xE2u32.to_le_bytes()); // MANUALLY_INITIATED_CRASH
    put(0x40, &[0u8; 32]);
    put(0x80, &info.kd_debugger_data_block.to_le_bytes());
    // PHYSICAL_MEMORY_DESCRIPTOR64: NumberOfRuns, NumberOfPages, runs of (BasePage, PageCount).
    let pages: u64 = t.runs.iter().map(|(s, e)| (e - s) / PAGE).sum();
    put(0x88, &(t.runs.len() as u32).to_le_bytes());
    put(0x8C, &0u32.to_le_bytes());
    put(0x90, &pages.to_le_bytes());
    for (i, (s, e)) in t.runs.iter().enumerate() {
        put(0x98 + 16 * i, &(s / PAGE).to_le_bytes());
        put(0xA0 + 16 * i, &((e - s) / PAGE).to_le_bytes());
    }
    put(0xF98, &1u32.to_le_bytes()); // DumpType: full
    put(0xFA0, &(0x2000 + pages * PAGE).to_le_bytes());
    put(0xFA8, &t.system_time.to_le_bytes());
    put(0xFB0, &[0u8; 128]);
    out.write_all(&h)?;
    for &(s, e) in &t.runs {
        stream(mem, out, s, e)?;
    }
    Ok(())
}

pub fn write_elf(mem: &PhysMem, t: &Truth, out: &mut impl Write) -> std::io::Result<()> {
    // QEMU dump-guest-memory splits guest RAM into PT_LOAD segments at RAM-block edges;
    // here: below the legacy hole and above it.
    let segs = [(0u64, 0xA0000u64), (0x10_0000, t.memory_size)];
    let phnum = segs.len() as u64;
    let data_start = (64 + 56 * phnum).div_ceil(PAGE) * PAGE;
    let mut h = vec![0u8; data_start as usize];
    let mut put = |off: usize, d: &[u8]| h[off..off + d.len()].copy_from_slice(d);
    put(0, b"\x7fELF");
    put(4, &[2, 1, 1, 0]); // 64-bit, little-endian, version 1, SYSV
    put(16, &4u16.to_le_bytes()); // ET_CORE
    put(18, &62u16.to_le_bytes()); // EM_X86_64
    put(20, &1u32.to_le_bytes());
    put(32, &64u64.to_le_bytes()); // e_phoff
    put(52, &64u16.to_le_bytes()); // e_ehsize
    put(54, &56u16.to_le_bytes()); // e_phentsize
    put(56, &(phnum as u16).to_le_bytes());
    put(58, &64u16.to_le_bytes()); // e_shentsize
    let mut off = data_start;
    for (i, (s, e)) in segs.iter().enumerate() {
        let p = 64 + 56 * i;
        put(p, &1u32.to_le_bytes()); // PT_LOAD
        put(p + 4, &7u32.to_le_bytes()); // RWX
        put(p + 8, &off.to_le_bytes());
        put(p + 16, &0u64.to_le_bytes()); // p_vaddr
        put(p + 24, &s.to_le_bytes()); // p_paddr
        put(p + 32, &(e - s).to_le_bytes());
        put(p + 40, &(e - s).to_le_bytes());
        put(p + 48, &PAGE.to_le_bytes());
        off += e - s;
    }
    out.write_all(&h)?;
    for &(s, e) in &segs {
        stream(mem, out, s, e)?;
    }
    Ok(())
}

/// Keep `Seek` in the public signature for containers that patch headers later.
pub fn finish(out: &mut (impl Write + Seek)) -> std::io::Result<()> {
    out.flush()
}
