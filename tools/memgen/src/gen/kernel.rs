//! The ntoskrnl image, KUSER_SHARED_DATA, object types, kernel globals and module list.
use super::ctx::{utf16, Ctx, TYPE_NAMES};
use super::{Era, KUSER_KERNEL};
use crate::error::MemgenError;
use crate::layout::Layout;
use crate::paging::{AddressSpace, ACCESSED, KERNEL_CODE, KERNEL_DATA, NX, P};
use crate::pe;
use crate::phys::{PhysMem, LARGE, PAGE};
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::truth::ModuleTruth;
use triage_isf::PdbId;

/// Globals below this RVA are not in the generated .data section.
const LOW_GLOBALS_END: u64 = 0x40000;
/// Bytes a low global may use (NtBuildLab's string is the longest).
const LOW_GLOBAL_ROOM: u64 = 0x100;

pub(super) struct KernelImage {
    pub base: u64,
    pub pa: u64,
    pub size: u64,
    pub entry_rva: u32,
}

/// Lay out and map the kernel PE (4 KiB pages, physically contiguous from a 2 MiB boundary)
/// so that the ISF's global RVAs fall in `.data`; write headers, exports and CodeView record.
pub(super) fn map_image(
    l: &Layout,
    era: &Era,
    mem: &mut PhysMem,
    k: &AddressSpace,
    rng: &mut Rng,
    pdb: &PdbId,
) -> Result<KernelImage, MemgenError> {
    let isf = l.isf;
    let globals = [
        "PsActiveProcessHead",
        "PsInitialSystemProcess",
        "NtBuildNumber",
        "ObTypeIndexTable",
        "KeNumberProcessors",
        "PsLoadedModuleList",
        "KdVersionBlock",
        "KdDebuggerDataBlock",
    ];
    let mut lo = u64::MAX;
    let mut hi = 0;
    // ObHeaderCookie exists from Windows 10 on.
    let optional = [
        "ObHeaderCookie",
        "NtBuildLab",
        "CmNtCSDVersion",
        "KeBootTime",
        "KdpDataBlockEncoded",
    ];
    // Globals in the image's first 256 KiB (Windows 7's NtBuildNumber/NtBuildLab at
    // 0xa14c, 8.1's NtBuildLab at 0x2620 and NtBuildNumber at 0x1b638) stay in .rdata or
    // .text, as in the real kernels; the others span .data.
    let mut low = Vec::new();
    for g in globals
        .iter()
        .chain(optional.iter().filter(|g| isf.symbol_rva(g).is_some()))
    {
        let r = l.sym(g)?;
        if r < LOW_GLOBALS_END {
            low.push((*g, r));
            continue;
        }
        lo = lo.min(r);
        hi = hi.max(r);
    }
    if hi == 0 {
        return Err(MemgenError::Scenario(
            "no kernel globals past 0x40000".into(),
        ));
    }
    let data_lo = lo & !(PAGE - 1);
    let data_hi = (hi + 0x800).div_ceil(PAGE) * PAGE;
    let text_rva = 0x10000u64;
    let poolcode_rva = data_lo - 0x2000;
    // Low globals must not overlap the headers page, the export or debug directories
    // written below, or POOLCODE.
    for &(g, r) in &low {
        let clash = r < 0x1000
            || (0x1000..0x1400).contains(&(r & !0xFF))
            || (0x3000..0x3200).contains(&(r & !0xFF))
            || r + LOW_GLOBAL_ROOM > poolcode_rva;
        if clash {
            return Err(MemgenError::Scenario(format!(
                "kernel global {g} at {r:#x} collides with the generated image headers"
            )));
        }
    }
    let size_of_image = data_hi + 0x1000; // + INIT
                                          // Windows 7 loads the kernel in the first 64 MiB of 0xFFFFF800`00000000; 8.1 and
                                          // later anywhere in the first 32 GiB.
    let slots = if era.build < 9200 { 0x20 } else { 0x4000 };
    let kernel_base = 0xFFFF_F800_0000_0000 + rng.range(0x10, slots) * LARGE;
    let kernel_pa = mem.alloc_contiguous(size_of_image)?;
    let sections = [
        pe::Section {
            name: ".rdata",
            rva: 0x1000,
            size: (text_rva - 0x1000) as u32,
            characteristics: pe::SCN_RDATA,
        },
        pe::Section {
            name: ".text",
            rva: text_rva as u32,
            size: (poolcode_rva - text_rva) as u32,
            characteristics: pe::SCN_CODE,
        },
        pe::Section {
            name: "POOLCODE",
            rva: poolcode_rva as u32,
            size: 0x2000,
            characteristics: pe::SCN_CODE,
        },
        pe::Section {
            name: ".data",
            rva: data_lo as u32,
            size: (data_hi - data_lo) as u32,
            characteristics: pe::SCN_DATA,
        },
        pe::Section {
            name: "INIT",
            rva: data_hi as u32,
            size: 0x1000,
            characteristics: pe::SCN_CODE,
        },
    ];
    let mut off = 0;
    while off < size_of_image {
        let flags = if off == 0 {
            KERNEL_DATA // headers: writable and NX on real kernels
        } else if off < text_rva {
            P | ACCESSED | NX
        } else if off < data_lo || off >= data_hi {
            KERNEL_CODE
        } else {
            KERNEL_DATA
        };
        k.map_4k(mem, kernel_base + off, kernel_pa + off, flags)?;
        off += PAGE;
    }
    mem.zero_page(kernel_pa);
    // Windows 10+ system binaries carry a build hash, not a time, in TimeDateStamp;
    // earlier kernels the link time (here: in 2019–2020, when the ISF's builds shipped).
    let timestamp = if era.is_win10() {
        rng.next_u64() as u32
    } else {
        rng.range(1_546_300_800, 1_609_459_200) as u32
    };
    let entry_rva = (text_rva + rng.range(0x100, 0x8000) * 16) as u32;
    let export_rva = 0x1000u32;
    let exports = [
        ("KeNumberProcessors", l.sym("KeNumberProcessors")? as u32),
        ("NtBuildNumber", l.sym("NtBuildNumber")? as u32),
        (
            "PsInitialSystemProcess",
            l.sym("PsInitialSystemProcess")? as u32,
        ),
        ("PsLoadedModuleList", l.sym("PsLoadedModuleList")? as u32),
    ];
    let export = pe::export_directory(export_rva, "ntoskrnl.exe", &exports, timestamp);
    let debug_rva = 0x3000u32;
    let guid = pe::guid_bytes(&pdb.guid)
        .ok_or_else(|| MemgenError::Scenario(format!("bad GUID {}", pdb.guid)))?;
    let rsds = pe::rsds(guid, pdb.age, &pdb.database);
    let debug = pe::debug_directory(debug_rva + 0x40, rsds.len() as u32, timestamp);
    let headers = pe::headers(&pe::Headers {
        image_base: kernel_base,
        size_of_image: size_of_image as u32,
        entry_rva,
        timestamp,
        sections: &sections,
        export_dir: (export_rva, export.len() as u32),
        debug_dir: (debug_rva, debug.len() as u32),
    });
    k.write(mem, kernel_base, &headers)?;
    k.write(mem, kernel_base + export_rva as u64, &export)?;
    k.write(mem, kernel_base + debug_rva as u64, &debug)?;
    k.write(mem, kernel_base + debug_rva as u64 + 0x40, &rsds)?;

    Ok(KernelImage {
        base: kernel_base,
        pa: kernel_pa,
        size: size_of_image,
        entry_rva,
    })
}

pub(super) fn write_kuser(cx: &mut Ctx, sc: &Scenario, build: u32) -> Result<(), MemgenError> {
    let (major, minor) = cx.era.nt_version();
    let k = KUSER_KERNEL;
    let s = "_KUSER_SHARED_DATA";
    cx.field32(k, s, "TickCountMultiplier", 0x0FA0_0000)?;
    let st = sc.system_time;
    let mut t = [0u8; 12];
    t[0..4].copy_from_slice(&(st as u32).to_le_bytes());
    t[4..8].copy_from_slice(&((st >> 32) as u32).to_le_bytes());
    t[8..12].copy_from_slice(&((st >> 32) as u32).to_le_bytes());
    cx.field(k, s, "SystemTime", &t)?;
    let root = cx.l.off(s, "NtSystemRoot")?;
    let mut w = utf16("C:\\Windows");
    w.extend_from_slice(&[0, 0]);
    cx.kw(k + root, &w)?;
    cx.field(k, s, "ImageNumberLow", &0x8664u16.to_le_bytes())?;
    cx.field(k, s, "ImageNumberHigh", &0x8664u16.to_le_bytes())?;
    // NtProductWinNt, except the server-only build (Server 2022): NtProductServer.
    cx.field32(k, s, "NtProductType", if build == 20348 { 3 } else { 1 })?;
    cx.field(k, s, "ProductTypeIsValid", &[1])?;
    cx.field32(k, s, "NtMajorVersion", major)?;
    cx.field32(k, s, "NtMinorVersion", minor)?;
    if cx.l.opt(s, "NtBuildNumber").is_some() {
        cx.field32(k, s, "NtBuildNumber", build)?;
    }
    cx.field32(
        k,
        s,
        "NumberOfPhysicalPages",
        (sc.memory_size / PAGE) as u32,
    )?;
    cx.field32(k, s, "ActiveProcessorCount", sc.processors)?;
    Ok(())
}

/// ObTypeIndexTable and the OBJECT_TYPEs it points to.
pub(super) fn write_object_types(cx: &mut Ctx) -> Result<(), MemgenError> {
    let kernel_base = cx.kernel_base;
    let table = kernel_base + cx.l.sym("ObTypeIndexTable")?;
    cx.kw64(table, 0)?;
    cx.kw64(table + 8, 0xBAD0_B0B0)?;
    let otype_size = cx.l.size("_OBJECT_TYPE")?;
    for (idx, name, key) in TYPE_NAMES {
        let (_, body) = cx.object(b"ObjT", 2, 0, otype_size + 64)?;
        cx.empty_list(body, "_OBJECT_TYPE", "TypeList")?;
        let name_at = body + cx.l.off("_OBJECT_TYPE", "Name")?;
        let k = cx.k;
        cx.unicode(k, name_at, body + otype_size, name)?;
        cx.field(body, "_OBJECT_TYPE", "Index", &[idx])?;
        cx.field32(body, "_OBJECT_TYPE", "Key", u32::from_le_bytes(*key))?;
        cx.field32(body, "_OBJECT_TYPE", "TotalNumberOfObjects", 40)?;
        cx.kw64(table + 8 * idx as u64, body)?;
    }
    Ok(())
}

/// (DllBase, SizeOfImage, EntryPoint, FullDllName) of one loaded module.
pub(super) type Module = (u64, u64, u64, String);

pub(super) fn module_truth(modules: &[Module]) -> Vec<ModuleTruth> {
    modules
        .iter()
        .map(|(base, size, _, full)| ModuleTruth {
            name: full.rsplit('\\').next().unwrap_or(full).to_string(),
            path: full.clone(),
            base: *base,
            size: *size,
        })
        .collect()
}

/// Scalar globals, PsLoadedModuleList, KdVersionBlock, NtBuildLab/KeBootTime and, for crash
/// dumps, a decoded KDBG. Returns PsLoadedModuleList's address and the modules placed.
pub(super) fn write_globals(
    cx: &mut Ctx,
    sc: &Scenario,
    build_no: u32,
    image: &KernelImage,
    plain_kdbg: bool,
) -> Result<(u64, Vec<Module>), MemgenError> {
    let isf = cx.l.isf;
    let (kernel_base, size_of_image, entry_rva, cookie) =
        (image.base, image.size, image.entry_rva, cx.cookie);
    let ks = cx.kernel_base;
    if let Some(r) = isf.symbol_rva("ObHeaderCookie") {
        cx.kw(ks + r, &[cookie])?;
    }
    cx.kw32(ks + cx.l.sym("NtBuildNumber")?, 0xF000_0000 | build_no)?;
    cx.kw32(ks + cx.l.sym("KeNumberProcessors")?, sc.processors)?;
    // PsLoadedModuleList: the kernel first, then a few boot drivers as on real systems (each
    // with a one-page PE header; module walkers check for MZ at DllBase).
    let loaded = ks + cx.l.sym("PsLoadedModuleList")?;
    let mut modules = vec![(
        kernel_base,
        size_of_image,
        kernel_base + entry_rva as u64,
        "\\SystemRoot\\system32\\ntoskrnl.exe".to_string(),
    )];
    let mut next_base = (kernel_base + size_of_image).div_ceil(LARGE) * LARGE + LARGE;
    for (name, pages) in [
        ("hal.dll", 0x10u64),
        ("kd.dll", 0x8),
        ("mcupdate_GenuineIntel.dll", 0x40),
        ("CI.dll", 0xD0),
    ] {
        let base = next_base;
        let pa = cx.mem.alloc_page(true)?;
        cx.k.map_4k(&mut cx.mem, base, pa, KERNEL_DATA)?;
        let secs = [pe::Section {
            name: ".text",
            rva: 0x1000,
            size: ((pages - 1) * PAGE) as u32,
            characteristics: pe::SCN_CODE,
        }];
        let hdr = pe::headers(&pe::Headers {
            image_base: base,
            size_of_image: (pages * PAGE) as u32,
            entry_rva: 0x1010,
            timestamp: cx.rng.next_u64() as u32,
            sections: &secs,
            export_dir: (0, 0),
            debug_dir: (0, 0),
        });
        cx.kw(base, &hdr)?;
        modules.push((
            base,
            pages * PAGE,
            base + 0x1010,
            format!("\\SystemRoot\\system32\\{name}"),
        ));
        next_base += (pages * PAGE).div_ceil(0x10000) * 0x10000 + 0x10000;
    }
    // Before Windows 10 the loader list entries are the user-mode _LDR_DATA_TABLE_ENTRY.
    let ldr_t = if isf.struct_size("_KLDR_DATA_TABLE_ENTRY").is_some() {
        "_KLDR_DATA_TABLE_ENTRY"
    } else {
        "_LDR_DATA_TABLE_ENTRY"
    };
    let ldr_size = cx.l.size(ldr_t)?;
    let links_off = cx.l.off(ldr_t, "InLoadOrderLinks")?;
    let mut ring = vec![loaded];
    for (base, size, entry, full) in &modules {
        let ldr = cx
            .pool
            .alloc(&cx.k, &mut cx.mem, b"MmLd", ldr_size + 0x100)?
            + 16;
        cx.field64(ldr, ldr_t, "DllBase", *base)?;
        cx.field64(ldr, ldr_t, "EntryPoint", *entry)?;
        cx.field32(ldr, ldr_t, "SizeOfImage", *size as u32)?;
        let k = cx.k;
        let at = ldr + cx.l.off(ldr_t, "FullDllName")?;
        cx.unicode(k, at, ldr + ldr_size, full)?;
        // BaseDllName points into the FullDllName buffer, as the loader does.
        let file = full.rsplit('\\').next().unwrap_or(full);
        let at = ldr + cx.l.off(ldr_t, "BaseDllName")?;
        cx.unicode(
            k,
            at,
            ldr + ldr_size + 2 * (full.len() - file.len()) as u64,
            file,
        )?;
        ring.push(ldr + links_off);
    }
    for i in 0..ring.len() {
        let next = ring[(i + 1) % ring.len()];
        let prev = ring[(i + ring.len() - 1) % ring.len()];
        cx.kw64(ring[i], next)?;
        cx.kw64(ring[i] + 8, prev)?;
    }
    let kdv = ks + cx.l.sym("KdVersionBlock")?;
    let v = "_DBGKD_GET_VERSION64";
    cx.field(kdv, v, "MajorVersion", &0xFu16.to_le_bytes())?;
    cx.field(kdv, v, "MinorVersion", &(build_no as u16).to_le_bytes())?;
    cx.field(kdv, v, "ProtocolVersion", &[6])?;
    cx.field(kdv, v, "MachineType", &0x8664u16.to_le_bytes())?;
    cx.field64(kdv, v, "KernBase", kernel_base)?;
    cx.field64(kdv, v, "PsLoadedModuleList", loaded)?;

    let boot = sc
        .processes
        .iter()
        .find(|p| p.pid == 4)
        .map(|p| p.create_time)
        .unwrap_or(sc.system_time);
    if let Some(r) = isf.symbol_rva("KeBootTime") {
        cx.kw64(ks + r, boot)?;
    }
    let lab = cx.era.build_lab();
    if let Some(r) = isf.symbol_rva("NtBuildLab") {
        let mut b = lab.clone().into_bytes();
        b.push(0);
        cx.kw(ks + r, &b)?;
    }
    if let Some(r) = isf.symbol_rva("CmNtCSDVersion") {
        let csd = cx.era.csd_version();
        cx.kw32(ks + r, csd)?;
    }
    if let Some(r) = isf.symbol_rva("KdpDataBlockEncoded") {
        cx.kw(ks + r, &[u8::from(!plain_kdbg)])?;
    }
    if plain_kdbg {
        let kd = ks + cx.l.sym("KdDebuggerDataBlock")?;
        cx.kw(kd, &[0u8; 0x368])?;
        cx.kw64(kd, kd)?;
        cx.kw64(kd + 8, kd)?;
        cx.kw32(kd + 0x10, u32::from_le_bytes(*b"KDBG"))?;
        cx.kw32(kd + 0x14, 0x368)?;
        cx.kw64(kd + 0x18, kernel_base)?;
        cx.kw64(kd + 0x48, loaded)?;
        cx.kw64(kd + 0x50, ks + cx.l.sym("PsActiveProcessHead")?)?;
        if let Some(r) = isf.symbol_rva("NtBuildLab") {
            cx.kw64(kd + 0x208, ks + r)?;
        }
        if let Some(r) = isf.symbol_rva("CmNtCSDVersion") {
            cx.kw64(kd + 0x268, ks + r)?;
        }
    }

    Ok((loaded, modules))
}
