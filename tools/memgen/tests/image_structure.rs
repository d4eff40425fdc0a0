//! Reads generated raw images back with a small walker written here (independent of the
//! generator's own page-table code) and checks what Volatility and MemProcFS rely on.
mod common;

use std::io::Cursor;
use triage_isf::Isf;
use triage_memgen::{generate, Format, Scenario, Truth};

const MASK: u64 = 0x000F_FFFF_FFFF_F000;

struct Img<'a>(&'a [u8]);

impl Img<'_> {
    fn q(&self, pa: u64) -> u64 {
        let a = pa as usize;
        u64::from_le_bytes(self.0[a..a + 8].try_into().unwrap())
    }
    fn bytes(&self, pa: u64, n: usize) -> &[u8] {
        &self.0[pa as usize..pa as usize + n]
    }
    /// Returns (physical address or None, the last entry read).
    fn walk(&self, cr3: u64, va: u64) -> (Option<u64>, u64) {
        let mut table = cr3 & MASK;
        for level in [39u32, 30, 21, 12] {
            let e = self.q(table + ((va >> level) & 0x1FF) * 8);
            if e & 1 == 0 {
                return (None, e);
            }
            let page_bits = level;
            if level != 12 && level != 39 && e & 0x80 != 0 {
                let base = e & MASK & !((1u64 << page_bits) - 1);
                return (Some(base | (va & ((1u64 << page_bits) - 1))), e);
            }
            if level == 12 {
                return (Some((e & MASK) | (va & 0xFFF)), e);
            }
            table = e & MASK;
        }
        unreachable!()
    }
    fn v(&self, cr3: u64, va: u64, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n as u64 {
            let pa = self.walk(cr3, va + i).0.expect("mapped");
            out.push(self.0[pa as usize]);
        }
        out
    }
    fn vq(&self, cr3: u64, va: u64) -> u64 {
        u64::from_le_bytes(self.v(cr3, va, 8).try_into().unwrap())
    }
}

fn utf16(b: &[u8]) -> String {
    let w: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&w)
}

fn image(build: u32, seed: u64, format: Format) -> Option<(Vec<u8>, Truth, Isf)> {
    let isf = common::symbols_isf(build)?;
    let mut sc = Scenario::clean_boot(build);
    sc.memory_size = 64 << 20;
    sc.seed = seed;
    let mut out = Cursor::new(Vec::new());
    let truth = generate(&sc, &isf, &mut out, format).unwrap();
    Some((out.into_inner(), truth, isf))
}

#[test]
fn raw_image_has_what_volatility_and_memprocfs_need() {
    for build in [14393u32, 19041, 22000] {
        let Some((raw, t, isf)) = image(build, 9, Format::Raw) else {
            return;
        };
        let img = Img(&raw);
        assert_eq!(raw.len() as u64, 64 << 20);

        // Low stub in the first MiB: signature, CR3 and a kernel entry hint.
        let stub = (1..0x100u64)
            .map(|p| p * 0x1000)
            .find(|&pa| img.q(pa) & 0xFFFF_FFFF_FFFF_00FF == 0x0000_0001_0006_00E9)
            .expect("low stub");
        assert_eq!(img.q(stub + 0xA0), t.dtb);
        let hint = img.q(stub + 0x70);
        assert!(hint > t.kernel_base && hint < t.kernel_base + t.kernel_size);

        // PML4: exactly one self-reference, in the randomised range; ≥ 6 good kernel entries.
        let entries: Vec<u64> = (0..512).map(|i| img.q(t.dtb + 8 * i)).collect();
        let selfs: Vec<usize> = (0..512)
            .filter(|&i| entries[i] & 1 == 1 && entries[i] & MASK == t.dtb)
            .collect();
        assert_eq!(selfs, vec![t.self_ref_index as usize]);
        assert!((0x100..0x1FF).contains(&t.self_ref_index));
        let good = entries[256..]
            .iter()
            .filter(|&&e| e & 1 == 1 && e & 2 == 2 && e & 4 == 0 && e & 0x80 == 0 && e >> 63 == 0)
            .count();
        assert!(good >= 6, "{build}: {good} kernel PML4 entries");
        assert!(
            entries[..256].iter().all(|&e| e & 1 == 0),
            "System has no user space"
        );

        // Some kernel memory is mapped with 2 MiB pages.
        let mut large = 0;
        for &e in entries[256..].iter().filter(|&&e| e & 1 == 1) {
            if e & MASK == t.dtb {
                continue;
            }
            for i in 0..512 {
                let pdpte = img.q((e & MASK) + 8 * i);
                if pdpte & 1 == 1 && pdpte & 0x80 == 0 {
                    large += (0..512)
                        .filter(|j| img.q((pdpte & MASK) + 8 * j) & 0x81 == 0x81)
                        .count();
                }
            }
        }
        assert!(large >= 1, "{build}: no large pages");

        // Kernel PE image with POOLCODE, ntoskrnl.exe exports and the ISF's CodeView record.
        let (kpa, hdr_pte) = img.walk(t.dtb, t.kernel_base);
        assert_eq!(kpa, Some(t.kernel_base_pa));
        assert!(
            hdr_pte & 2 != 0 && hdr_pte >> 63 == 1,
            "header page writable + NX"
        );
        assert_eq!(t.kernel_base_pa % 0x20_0000, 0);
        assert_eq!(img.v(t.dtb, t.kernel_base, 2), b"MZ");
        let lfanew =
            u32::from_le_bytes(img.v(t.dtb, t.kernel_base + 0x3C, 4).try_into().unwrap()) as u64;
        let nt = t.kernel_base + lfanew;
        assert_eq!(img.v(t.dtb, nt, 4), b"PE\0\0");
        let nsec = u16::from_le_bytes(img.v(t.dtb, nt + 6, 2).try_into().unwrap()) as u64;
        let names: Vec<String> = (0..nsec)
            .map(|i| {
                String::from_utf8_lossy(&img.v(t.dtb, nt + 24 + 0xF0 + 40 * i, 8))
                    .trim_end_matches('\0')
                    .to_string()
            })
            .collect();
        assert!(
            names.contains(&"POOLCODE".to_string()) && names.contains(&".text".to_string()),
            "{names:?}"
        );
        let dd = nt + 24 + 112;
        let exp_rva = u32::from_le_bytes(img.v(t.dtb, dd, 4).try_into().unwrap()) as u64;
        let name_rva = u32::from_le_bytes(
            img.v(t.dtb, t.kernel_base + exp_rva + 12, 4)
                .try_into()
                .unwrap(),
        ) as u64;
        assert_eq!(
            img.v(t.dtb, t.kernel_base + name_rva, 13),
            b"ntoskrnl.exe\0"
        );
        let dbg_rva = u32::from_le_bytes(img.v(t.dtb, dd + 48, 4).try_into().unwrap()) as u64;
        let cv_rva = u32::from_le_bytes(
            img.v(t.dtb, t.kernel_base + dbg_rva + 20, 4)
                .try_into()
                .unwrap(),
        ) as u64;
        let cv = img.v(t.dtb, t.kernel_base + cv_rva, 24 + 13);
        assert_eq!(&cv[..4], b"RSDS");
        let g = &isf.pdb().unwrap().guid;
        let d1 = u32::from_str_radix(&g[0..8], 16).unwrap().to_le_bytes();
        let d2 = u16::from_str_radix(&g[8..12], 16).unwrap().to_le_bytes();
        let d3 = u16::from_str_radix(&g[12..16], 16).unwrap().to_le_bytes();
        assert_eq!(&cv[4..8], &d1);
        assert_eq!(&cv[8..10], &d2);
        assert_eq!(&cv[10..12], &d3);
        assert_eq!(cv[12], u8::from_str_radix(&g[16..18], 16).unwrap());
        assert_eq!(&cv[24..], b"ntkrnlmp.pdb\0");

        // Globals at the ISF's RVAs.
        let sym = |n: &str| t.kernel_base + isf.symbol_rva(n).unwrap();
        assert_eq!(
            img.vq(t.dtb, sym("NtBuildNumber")) as u32,
            0xF000_0000 | build
        );
        assert_eq!(
            img.vq(t.dtb, sym("PsInitialSystemProcess")),
            t.ps_initial_system_process
        );
        assert_eq!(
            img.v(t.dtb, sym("ObHeaderCookie"), 1)[0],
            t.ob_header_cookie
        );
        // KUSER_SHARED_DATA.SystemTime
        let st = img.v(t.dtb, 0xFFFF_F780_0000_0014, 8);
        assert_eq!(u64::from_le_bytes(st.try_into().unwrap()), t.system_time);

        // Process objects: pool tag, decoded TypeIndex → "Process", fields at ISF offsets.
        let off = |f: &str| isf.field_offset("_EPROCESS", f).unwrap();
        let body_off = isf.field_offset("_OBJECT_HEADER", "Body").unwrap();
        for p in &t.processes {
            assert_eq!(img.walk(t.dtb, p.eprocess_va).0, Some(p.eprocess_pa));
            assert_eq!(img.v(t.dtb, p.pool_header_va + 4, 4), b"Proc");
            let header = p.eprocess_va - body_off;
            let enc = img.v(t.dtb, header + 0x18, 1)[0];
            let idx = enc ^ t.ob_header_cookie ^ ((header >> 8) & 0xFF) as u8;
            let otype = img.vq(t.dtb, sym("ObTypeIndexTable") + 8 * idx as u64);
            let name_off = isf.field_offset("_OBJECT_TYPE", "Name").unwrap();
            let len =
                u16::from_le_bytes(img.v(t.dtb, otype + name_off, 2).try_into().unwrap()) as usize;
            let buf = img.vq(t.dtb, otype + name_off + 8);
            assert_eq!(
                utf16(&img.v(t.dtb, buf, len)),
                "Process",
                "{build} pid {}",
                p.pid
            );
            assert_eq!(img.vq(t.dtb, p.eprocess_va + off("UniqueProcessId")), p.pid);
            assert_eq!(
                img.vq(
                    t.dtb,
                    p.eprocess_va
                        + off("Pcb")
                        + isf.field_offset("_KPROCESS", "DirectoryTableBase").unwrap()
                ),
                p.dtb
            );
            let token = img.vq(t.dtb, p.eprocess_va + off("Token"));
            assert_ne!(
                token & 0xF,
                0,
                "EX_FAST_REF keeps a reference count in the low bits"
            );
            assert_eq!(token & !0xF, p.token_va);
            let signal = img.v(t.dtb, p.eprocess_va + 4, 4)[0];
            assert_eq!(signal != 0, p.exit_time.is_some());
            let ht = img.vq(t.dtb, p.eprocess_va + off("ObjectTable"));
            if p.exit_time.is_none() {
                assert_eq!(img.v(t.dtb, ht - 16 + 4, 4), b"Obtb");
            }
            assert_eq!(
                img.v(t.dtb, p.token_va - body_off - 0x20 - 16 + 4, 4),
                b"Toke"
            );
            // User space: own PML4 sharing the kernel half; PEB and parameters readable.
            if p.dtb != t.dtb {
                for i in 256..512u64 {
                    let e = img.q(p.dtb + 8 * i);
                    if i == t.self_ref_index {
                        assert_eq!(e & MASK, p.dtb);
                    } else {
                        assert_eq!(e, img.q(t.dtb + 8 * i));
                    }
                }
            }
            if p.peb_va != 0 {
                let (pa, pte) = img.walk(p.dtb, p.peb_va);
                if p.peb_paged_out {
                    assert!(
                        pa.is_none() && pte != 0,
                        "paged-out PEB keeps a software PTE"
                    );
                } else {
                    let params = img.vq(p.dtb, p.peb_va + 0x20);
                    let cl = params
                        + isf
                            .field_offset("_RTL_USER_PROCESS_PARAMETERS", "CommandLine")
                            .unwrap();
                    let len = u16::from_le_bytes(img.v(p.dtb, cl, 2).try_into().unwrap()) as usize;
                    let buf = img.vq(p.dtb, cl + 8);
                    assert_eq!(utf16(&img.v(p.dtb, buf, len)), p.command_line);
                }
            }
        }

        // System's handle table: level-0 page; entry i decodes (bits 20..63 << 4, sign-extended)
        // to the OBJECT_HEADER of every other process, in scenario order.
        let system = t.processes.iter().find(|p| p.pid == 4).unwrap();
        let ht = img.vq(t.dtb, system.eprocess_va + off("ObjectTable"));
        let code = img.vq(
            t.dtb,
            ht + isf.field_offset("_HANDLE_TABLE", "TableCode").unwrap(),
        );
        assert_eq!(code & 3, 0, "single-level table");
        let others: Vec<_> = t.processes.iter().filter(|p| p.pid != 4).collect();
        for (i, p) in others.iter().enumerate() {
            let e = img.vq(t.dtb, code + 16 * (i as u64 + 1));
            let header = ((e >> 20) << 4) | 0xFFFF_0000_0000_0000;
            assert_eq!(header + body_off, p.eprocess_va, "handle {}", 4 * (i + 1));
        }
        assert_eq!(img.vq(t.dtb, code), 0, "handle 0 stays empty");

        // Active process list: a ring through PsActiveProcessHead in scenario order.
        let head = sym("PsActiveProcessHead");
        let mut pids = Vec::new();
        let mut cur = img.vq(t.dtb, head);
        while cur != head && pids.len() < 1000 {
            pids.push(img.vq(
                t.dtb,
                cur - off("ActiveProcessLinks") + off("UniqueProcessId"),
            ));
            cur = img.vq(t.dtb, cur);
        }
        let want: Vec<u64> = t
            .processes
            .iter()
            .filter(|p| p.linked_in_active_list)
            .map(|p| p.pid)
            .collect();
        assert_eq!(pids, want);
        for p in t.processes.iter().filter(|p| !p.linked_in_active_list) {
            let links = p.eprocess_va + off("ActiveProcessLinks");
            assert_eq!(
                img.vq(t.dtb, links),
                links,
                "unlinked entries point to themselves"
            );
        }

        // Noise between structures, with decoy tags beyond the real objects.
        let zero_pages = raw
            .chunks(0x1000)
            .skip(0x100)
            .filter(|p| p.iter().all(|&b| b == 0))
            .count();
        assert!(zero_pages < 0x100, "{zero_pages} zero pages");
        let procs = raw
            .windows(4)
            .enumerate()
            .filter(|(i, w)| i % 16 == 4 && *w == b"Proc")
            .count();
        assert!(procs > t.processes.len() + 5, "{procs} Proc tags");
    }
}

#[test]
fn generation_is_deterministic_from_the_seed() {
    let Some((a, ta, _)) = image(19041, 5, Format::Raw) else {
        return;
    };
    let (b, _, _) = image(19041, 5, Format::Raw).unwrap();
    assert!(a == b, "same seed, same bytes");
    let (c, tc, _) = image(19041, 6, Format::Raw).unwrap();
    assert!(a != c);
    assert!(ta.kernel_base != tc.kernel_base || ta.self_ref_index != tc.self_ref_index);
}

#[test]
fn crash_dump_and_elf_hold_the_same_pages_as_raw() {
    let Some((raw, t, _)) = image(17763, 4, Format::Raw) else {
        return;
    };
    let (dmp, _, _) = image(17763, 4, Format::CrashDump64).unwrap();
    let (elf, _, _) = image(17763, 4, Format::ElfCore).unwrap();
    // DUMP_HEADER64
    assert_eq!(&dmp[..8], b"PAGEDU64");
    let d = Img(&dmp);
    assert_eq!(d.q(0x10), t.dtb);
    assert_eq!(d.q(0x28), t.ps_active_process_head);
    assert_eq!(
        u32::from_le_bytes(dmp[0x30..0x34].try_into().unwrap()),
        0x8664
    );
    assert_eq!(
        u32::from_le_bytes(dmp[0xF98..0xF9C].try_into().unwrap()),
        1,
        "full dump"
    );
    let runs = u32::from_le_bytes(dmp[0x88..0x8C].try_into().unwrap()) as u64;
    assert!(runs >= 2, "memory has a hole");
    let mut file_off = 0x2000u64;
    let mut prev_end = 0;
    for r in 0..runs {
        let base = d.q(0x98 + 16 * r) * 0x1000;
        let count = d.q(0xA0 + 16 * r) * 0x1000;
        assert!(base >= prev_end);
        if r > 0 {
            assert!(base > prev_end, "runs are separated by a hole");
        }
        assert_eq!(
            d.bytes(file_off, 0x1000),
            &raw[base as usize..base as usize + 0x1000]
        );
        let last = base + count - 0x1000;
        assert_eq!(
            d.bytes(file_off + count - 0x1000, 0x1000),
            &raw[last as usize..last as usize + 0x1000]
        );
        file_off += count;
        prev_end = base + count;
    }
    assert_eq!(dmp.len() as u64, file_off);
    // ELF core: PT_LOAD segments with physical addresses and a gap.
    assert_eq!(&elf[..4], b"\x7fELF");
    let e = Img(&elf);
    let phoff = e.q(32);
    let phnum = u16::from_le_bytes(elf[56..58].try_into().unwrap()) as u64;
    assert_eq!(phnum, 2);
    let mut ends = Vec::new();
    for i in 0..phnum {
        let ph = phoff + 56 * i;
        assert_eq!(
            u32::from_le_bytes(elf[ph as usize..ph as usize + 4].try_into().unwrap()),
            1
        );
        let (off, paddr, size) = (e.q(ph + 8), e.q(ph + 24), e.q(ph + 32));
        assert_eq!(
            e.bytes(off + 0x13000.min(size - 0x1000), 0x1000),
            &raw[(paddr + 0x13000.min(size - 0x1000)) as usize..][..0x1000]
        );
        ends.push((paddr, paddr + size));
    }
    assert!(ends[1].0 > ends[0].1, "hole between segments");
}
