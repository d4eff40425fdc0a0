//! Windows memory analysis over a [`triage_physmem::PhysicalMemory`]: address
//! translation (x64, x86 PAE, x86), kernel DTB and ntoskrnl discovery, structure layouts
//! (ISF, built-in table, discovery), and the `mem info` facts.
#![forbid(unsafe_code)]

mod builtin_layouts;
mod discover;
mod dtb;
mod error;
mod info;
mod kernel;
mod layout;
mod pagefile;
mod pe;
mod translate;
mod vmem;

pub use discover::{discover, discover_x64, Discovery, Proof};
pub use dtb::{
    find_dtb, find_low_stub, is_kernel_pml4, is_low_stub, scan_self_map, DtbFound, DtbSource,
};
pub use error::{Result, WinmemError};
pub use info::{mem_info, mem_info_path, MemInfo};
pub use kernel::{
    from_crash_header, from_hint, identify_kernel, scan_page_tables, Kernel, KernelSource,
};
pub use layout::{
    builtin_for, builtin_layouts, BuiltinLayout, BuiltinMatch, KernelSymbols, Layout, LayoutSource,
};
pub use pagefile::{
    from_isf as pte_format_from_isf, kernel_pte_format, swap_slot, PageFiles, PteFormat, SwapMiss,
    SwapSlot, MAX_PAGEFILES,
};
pub use pe::{codeview, export_address, export_name, parse_rsds, pe_header, CodeView, PeImage};
pub use translate::{transition_paddr, translate, Arch, InvalidReason, PagedOutKind, Translation};
pub use vmem::VirtualMemory;
