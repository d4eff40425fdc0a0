//! ELF core dumps (QEMU `dump-guest-memory`, VirtualBox `dumpvmcore`): each PT_LOAD
//! maps `p_filesz` bytes at file offset `p_offset` to guest-physical `p_paddr`.

use goblin::container::Ctx;
use goblin::elf::program_header::{ProgramHeader, PT_LOAD};
use goblin::elf::Elf;

use crate::{ContainerKind, PhysmemError, Result, Segment, SegmentedMemory};

const ET_CORE: u16 = 4;

pub fn parse_elf_core<D: AsRef<[u8]>>(data: D) -> Result<SegmentedMemory<D>> {
    let bytes = data.as_ref();
    let elf_err = |offset: u64, e: goblin::error::Error| PhysmemError::Elf {
        offset,
        message: e.to_string(),
    };
    let header = Elf::parse_header(bytes).map_err(|e| elf_err(0, e))?;
    if header.e_type != ET_CORE {
        return Err(PhysmemError::Unsupported {
            offset: 0x10,
            what: "ELF e_type (expected 4 = ET_CORE)",
            value: header.e_type as u64,
        });
    }
    let ctx = Ctx::new(
        header.container().map_err(|e| elf_err(4, e))?,
        header.endianness().map_err(|e| elf_err(5, e))?,
    );
    let phoff = usize::try_from(header.e_phoff).map_err(|_| PhysmemError::Truncated {
        offset: header.e_phoff,
        expected: 1,
        what: "ELF program header table",
    })?;
    // goblin bounds the count by the buffer length before allocating.
    let phdrs = ProgramHeader::parse(bytes, phoff, header.e_phnum as usize, ctx)
        .map_err(|e| elf_err(header.e_phoff, e))?;
    let loads: Vec<&ProgramHeader> = phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD && p.p_filesz > 0)
        .collect();
    let mut warnings = Vec::new();
    // Some writers leave p_paddr zero and put the guest-physical address in p_vaddr.
    let use_vaddr = loads.len() > 1 && loads.iter().all(|p| p.p_paddr == 0);
    if use_vaddr {
        warnings
            .push("every PT_LOAD has p_paddr 0; using p_vaddr as the physical address".to_string());
    }
    if header.e_phnum == 0xFFFF {
        warnings.push("e_phnum is PN_XNUM; program headers beyond 65535 are not read".to_string());
    }
    let segments = loads
        .iter()
        .map(|p| Segment {
            paddr: if use_vaddr { p.p_vaddr } else { p.p_paddr },
            file_offset: p.p_offset,
            len: p.p_filesz,
        })
        .collect();
    let mem = SegmentedMemory::new(data, ContainerKind::ElfCore, segments, None, warnings);
    if !mem.has_data() {
        return Err(PhysmemError::Empty);
    }
    Ok(mem)
}
