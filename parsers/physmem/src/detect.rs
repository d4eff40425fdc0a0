//! Container detection by content.

use serde::Serialize;

use crate::bytes::u32_at;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ContainerKind {
    /// The whole file is physical memory from address 0 (dd, WinPmem/DumpIt raw, `.vmem` alone).
    Raw,
    /// Windows crash dump, `PAGEDU64`.
    CrashDump64,
    /// Windows crash dump, `PAGEDUMP`.
    CrashDump32,
    /// ELF core (QEMU `dump-guest-memory`, VirtualBox `dumpvmcore`).
    ElfCore,
    /// LiME (`EMiL` range headers).
    Lime,
    /// VMware `.vmem` mapped through the region table of its `.vmss`/`.vmsn`.
    VmwareVmem,
    /// A VMware saved-state file (`.vmss`/`.vmsn`): metadata, not the memory itself.
    VmwareState,
    /// A Windows 8+ hibernation file (`hiberfil.sys`, `HIBR`; `WAKE` once resumed).
    Hiberfil,
}

pub(crate) const LIME_MAGIC: u32 = 0x4C69_4D45;
pub(crate) const VMSS_MAGICS: [u32; 4] = [0xbed2_bed0, 0xbad1_bad1, 0xbed2_bed2, 0xbed3_bed3];

/// Identifies a container from its first bytes (at least 64 are useful) and its length.
/// Returns `None` when nothing is recognised and the length is not page-aligned, so the
/// caller decides whether to treat the file as raw anyway.
pub fn detect(first_bytes: &[u8], file_len: u64) -> Option<ContainerKind> {
    let head = |n: usize| first_bytes.get(..n);
    if head(8) == Some(b"PAGEDU64") {
        return Some(ContainerKind::CrashDump64);
    }
    if head(8) == Some(b"PAGEDUMP") {
        return Some(ContainerKind::CrashDump32);
    }
    // ELF, and e_type == ET_CORE (4): an executable is not a memory dump.
    if head(4) == Some(b"\x7fELF") && first_bytes.get(16..18) == Some(&[4, 0]) {
        return Some(ContainerKind::ElfCore);
    }
    if matches!(head(4), Some(b"HIBR" | b"hibr" | b"WAKE" | b"wake")) {
        return Some(ContainerKind::Hiberfil);
    }
    if let Some(magic) = u32_at(first_bytes, 0) {
        if magic == LIME_MAGIC && u32_at(first_bytes, 4) == Some(1) {
            return Some(ContainerKind::Lime);
        }
        if VMSS_MAGICS.contains(&magic) {
            return Some(ContainerKind::VmwareState);
        }
    }
    if file_len > 0 && file_len & (crate::PAGE_SIZE - 1) == 0 {
        return Some(ContainerKind::Raw);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_signature() {
        assert_eq!(
            detect(b"PAGEDU64xxxx", 0x3000),
            Some(ContainerKind::CrashDump64)
        );
        assert_eq!(
            detect(b"PAGEDUMPxxxx", 0x3000),
            Some(ContainerKind::CrashDump32)
        );
        let mut elf = [0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[16] = 4;
        assert_eq!(detect(&elf, 4096), Some(ContainerKind::ElfCore));
        elf[16] = 2; // ET_EXEC
        assert_eq!(detect(&elf, 4096), Some(ContainerKind::Raw));
        let mut lime = Vec::from(LIME_MAGIC.to_le_bytes());
        lime.extend_from_slice(&1u32.to_le_bytes());
        assert_eq!(&lime[..4], b"EMiL");
        assert_eq!(detect(&lime, 100), Some(ContainerKind::Lime));
        assert_eq!(
            detect(&0xbed2_bed2u32.to_le_bytes(), 100),
            Some(ContainerKind::VmwareState)
        );
        assert_eq!(detect(b"HIBRxxxx", 8192), Some(ContainerKind::Hiberfil));
        assert_eq!(detect(b"WAKExxxx", 8192), Some(ContainerKind::Hiberfil));
        assert_eq!(detect(&[0u8; 16], 8192), Some(ContainerKind::Raw));
        assert_eq!(detect(&[0u8; 16], 8191), None);
        assert_eq!(detect(&[], 0), None);
    }
}
