//! Decide what an input is from its content, never its extension.

use std::fmt;

/// Formats we recognise. Some have analysers, some are only named (skipped with a reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pe,
    Regf,
    /// A registry transaction log (`.LOG1`/`.LOG2`), used beside its hive.
    RegfLog,
    CrashDump32,
    CrashDump64,
    /// An ELF core file (QEMU `dump-guest-memory`, VirtualBox `dumpvmcore`).
    Elf,
    /// Any other ELF (executable, shared object, relocatable): not memory, skipped.
    ElfNotCore,
    Lime,
    /// Raw physical memory: recognised by the processor start block in the first MiB.
    RawMemory,
    VmwareState,
    Hibernation,
    Ewf,
    Vmdk,
    Vhdx,
    Vhd,
    Qcow2,
    Ntfs,
    Mbr,
    Gpt,
    Evtx,
    /// A Windows prefetch file (`SCCA`, or MAM-compressed).
    Prefetch,
    Zip,
    Unknown,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pe => "pe",
            Format::Regf => "regf",
            Format::RegfLog => "regf-log",
            Format::CrashDump32 => "crashdump32",
            Format::CrashDump64 => "crashdump64",
            Format::Elf => "elf",
            Format::ElfNotCore => "elf-not-core",
            Format::Lime => "lime",
            Format::RawMemory => "raw-memory",
            Format::VmwareState => "vmware-state",
            Format::Hibernation => "hiberfil",
            Format::Ewf => "ewf",
            Format::Vmdk => "vmdk",
            Format::Vhdx => "vhdx",
            Format::Vhd => "vhd",
            Format::Qcow2 => "qcow2",
            Format::Ntfs => "ntfs",
            Format::Mbr => "mbr",
            Format::Gpt => "gpt",
            Format::Evtx => "evtx",
            Format::Prefetch => "prefetch",
            Format::Zip => "zip",
            Format::Unknown => "unknown",
        }
    }

    /// A disk image or a volume: routed to the disk analyser.
    pub fn is_disk(self) -> bool {
        matches!(
            self,
            Format::Ewf
                | Format::Vmdk
                | Format::Vhdx
                | Format::Vhd
                | Format::Qcow2
                | Format::Ntfs
                | Format::Mbr
                | Format::Gpt
        )
    }

    pub fn is_memory(self) -> bool {
        matches!(
            self,
            Format::CrashDump32
                | Format::CrashDump64
                | Format::Elf
                | Format::Lime
                | Format::RawMemory
                | Format::Hibernation
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The processor start block ("low stub") that every x64 Windows keeps below 1 MiB:
/// its first qword masked with `0xFFFFFFFFFFFF00FF` is `0x00000001000600E9`.
pub fn has_low_stub(data: &[u8]) -> bool {
    let limit = data.len().min(0x10_0000);
    (0..limit)
        .step_by(0x1000)
        .filter_map(|off| data.get(off..off + 8))
        .any(|q| triage_winmem::is_low_stub(u64::from_le_bytes(q.try_into().unwrap_or([0; 8]))))
}

/// Detect the format of a source: its first 8 KiB and last 512 bytes, and for raw memory
/// the processor start block in its first MiB.
pub fn detect_source(src: &dyn triage_source::ByteSource) -> Format {
    let len = src.len();
    if let Some(whole) = src.as_slice() {
        let head = &whole[..whole.len().min(8192)];
        let tail = &whole[whole.len().saturating_sub(512)..];
        return detect(head, tail, Some(whole));
    }
    let mut head = vec![0u8; len.min(8192) as usize];
    let _ = triage_source::read_lossy(src, 0, &mut head);
    let mut tail = vec![0u8; len.min(512) as usize];
    let _ = triage_source::read_lossy(src, len - tail.len() as u64, &mut tail);
    let f = detect(&head, &tail, None);
    if f == Format::Unknown && len >= 16 * 1024 * 1024 {
        let mut first = vec![0u8; 0x10_0000];
        let _ = triage_source::read_lossy(src, 0, &mut first);
        if has_low_stub(&first) {
            return Format::RawMemory;
        }
    }
    f
}

/// Detect a format. `head` is the start of the file (at least 4 KiB when the file is
/// that long), `tail` its last 512 bytes, `whole` the full map when cheaply available
/// (used for the raw-memory check, which looks at the first MiB).
pub fn detect(head: &[u8], tail: &[u8], whole: Option<&[u8]>) -> Format {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"MZ") {
        if let Some(e_lfanew) = le32(head, 0x3c) {
            let e = e_lfanew as usize;
            if head.get(e..e + 4) == Some(b"PE\0\0") {
                return Format::Pe;
            }
        }
        // MZ without a reachable PE header inside the head: still hand it to the PE
        // analyser, which reports the exact offset that is wrong.
        return Format::Pe;
    }
    if starts(b"regf") {
        // Transaction logs share the base block; their type field (offset 0x1C) is 1 or 2
        // (old logs) or 6 (new format).
        return match le32(head, 0x1c) {
            Some(1) | Some(2) | Some(6) => Format::RegfLog,
            _ => Format::Regf,
        };
    }
    // Memory containers: one detector, the memory crate's (crash dumps, ELF cores — an
    // ELF executable is not memory —, LiME, hibernation files, VMware saved state).
    // Length 0: "raw" is decided below from the processor start block, not by size.
    if let Some(kind) = triage_physmem::detect(head, 0) {
        use triage_physmem::ContainerKind as K;
        match kind {
            K::CrashDump64 => return Format::CrashDump64,
            K::CrashDump32 => return Format::CrashDump32,
            K::ElfCore => return Format::Elf,
            K::Lime => return Format::Lime,
            K::Hiberfil => return Format::Hibernation,
            K::VmwareState => return Format::VmwareState,
            K::Raw | K::VmwareVmem => {}
        }
    }
    if starts(b"\x7fELF") {
        return Format::ElfNotCore;
    }
    if starts(b"EVF\x09\x0d\x0a\xff\x00") || starts(b"EVF2\r\n\x81\x00") {
        return Format::Ewf;
    }
    if starts(b"KDMV") || starts(b"# Disk DescriptorFile") {
        return Format::Vmdk;
    }
    // A dynamic or differencing VHD keeps a copy of its footer at the start.
    if starts(b"conectix") {
        return Format::Vhd;
    }
    if starts(b"vhdxfile") {
        return Format::Vhdx;
    }
    if starts(b"QFI\xfb") {
        return Format::Qcow2;
    }
    if starts(b"ElfFile\0") {
        return Format::Evtx;
    }
    if triage_prefetch::is_prefetch(head) {
        return Format::Prefetch;
    }
    if starts(b"PK\x03\x04") {
        return Format::Zip;
    }
    if tail.len() >= 512 && tail[tail.len() - 512..].starts_with(b"conectix") {
        return Format::Vhd;
    }
    if head.get(3..11) == Some(b"NTFS    ") {
        return Format::Ntfs;
    }
    if head.get(510..512) == Some(&[0x55, 0xaa]) {
        if head.get(512..520) == Some(b"EFI PART") {
            return Format::Gpt;
        }
        return Format::Mbr;
    }
    if let Some(w) = whole {
        if w.len() >= 16 * 1024 * 1024 && has_low_stub(w) {
            return Format::RawMemory;
        }
    }
    Format::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_elf_cores_are_memory() {
        let mut core = vec![0u8; 64];
        core[..4].copy_from_slice(b"\x7fELF");
        core[4] = 2;
        core[5] = 1;
        core[16] = 4; // ET_CORE
        assert_eq!(detect(&core, &[], None), Format::Elf);
        core[16] = 2; // ET_EXEC
        assert_eq!(detect(&core, &[], None), Format::ElfNotCore);
        assert!(!Format::ElfNotCore.is_memory());
        // A real executable of this machine.
        if let Ok(ls) = std::fs::read("/bin/ls") {
            assert_eq!(detect(&ls[..64], &[], None), Format::ElfNotCore);
        }
    }

    fn pe_head() -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[0..2].copy_from_slice(b"MZ");
        h[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        h[0x80..0x84].copy_from_slice(b"PE\0\0");
        h
    }

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(&pe_head(), &[], None), Format::Pe);
        let mut regf = vec![0u8; 4096];
        regf[..4].copy_from_slice(b"regf");
        assert_eq!(detect(&regf, &[], None), Format::Regf);
        regf[0x1c] = 6;
        assert_eq!(detect(&regf, &[], None), Format::RegfLog);
        assert_eq!(detect(b"PAGEDU64xxxx", &[], None), Format::CrashDump64);
        assert_eq!(detect(b"QFI\xfb\0\0\0\x03", &[], None), Format::Qcow2);
        assert_eq!(detect(b"hello world", &[], None), Format::Unknown);
    }

    #[test]
    fn vhd_by_footer() {
        let mut tail = vec![0u8; 512];
        tail[..8].copy_from_slice(b"conectix");
        assert_eq!(detect(&[0u8; 4096], &tail, None), Format::Vhd);
    }

    #[test]
    fn low_stub() {
        let mut w = vec![0x11u8; 16 * 1024 * 1024];
        assert_eq!(detect(&w[..4096], &[], Some(&w)), Format::Unknown);
        w[0x3000..0x3008].copy_from_slice(&0x0000_0001_0006_10E9u64.to_le_bytes());
        assert_eq!(detect(&w[..4096], &[], Some(&w)), Format::RawMemory);
    }
}
