//! Opening a file (memory-mapped, read-only) and dispatching on its content.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::vmware::vmem_with_regions;
use crate::{
    detect, parse_crashdump, parse_elf_core, parse_lime, parse_vmss_regions, ContainerKind,
    PhysicalMemory, PhysmemError, Result, Segment, SegmentedMemory,
};

/// A read-only memory map of an evidence file.
pub type MappedFile = Mmap;

fn map(path: &Path) -> Result<Mmap> {
    let io = |source| PhysmemError::Io {
        path: path.display().to_string(),
        source,
    };
    // O_NOATIME where permitted: reading evidence must not change its access time.
    let file = triage_source::open_readonly(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() == 0 {
        return Err(PhysmemError::Empty);
    }
    // SAFETY: the map is read-only; evidence files are not expected to change while
    // read. If one is truncated underneath us the process may fault, as with any reader.
    #[allow(unsafe_code)] // the one unsafe of this crate: a read-only map, see SAFETY above
    unsafe { Mmap::map(&file) }.map_err(io)
}

/// Parses bytes already in memory (or a map) as whatever container they hold; bytes
/// that match no signature are a raw image from physical address 0.
pub fn parse<D: AsRef<[u8]> + Send + Sync + 'static>(data: D) -> Result<Box<dyn PhysicalMemory>> {
    let bytes = data.as_ref();
    let kind = detect(bytes.get(..64).unwrap_or(bytes), bytes.len() as u64);
    Ok(match kind {
        Some(ContainerKind::CrashDump64) | Some(ContainerKind::CrashDump32) => {
            Box::new(parse_crashdump(data)?)
        }
        Some(ContainerKind::ElfCore) => Box::new(parse_elf_core(data)?),
        Some(ContainerKind::Lime) => Box::new(parse_lime(data)?),
        Some(ContainerKind::Hiberfil) => {
            let src = crate::hiberfil::BytesSource::new(data, "hiberfil.sys");
            Box::new(crate::hiberfil::open_source(Arc::new(src)).map_err(source_error)?)
        }
        Some(ContainerKind::VmwareState) => {
            return Err(PhysmemError::Vmware {
                offset: 0,
                expected: "memory, found VMware saved-state metadata (open the .vmem)",
            })
        }
        Some(ContainerKind::Raw) | Some(ContainerKind::VmwareVmem) | None => {
            Box::new(raw(data, None))
        }
    })
}

fn raw<D: AsRef<[u8]>>(data: D, warning: Option<String>) -> SegmentedMemory<D> {
    let len = data.as_ref().len() as u64;
    SegmentedMemory::new(
        data,
        ContainerKind::Raw,
        vec![Segment {
            paddr: 0,
            file_offset: 0,
            len,
        }],
        None,
        warning.into_iter().collect(),
    )
}

fn sibling_state(vmem: &Path) -> Option<PathBuf> {
    ["vmss", "vmsn"]
        .iter()
        .map(|ext| vmem.with_extension(ext))
        .find(|p| p.is_file())
}

/// Opens an evidence file read-only and returns its physical address space.
/// A `.vmem` with a `.vmss`/`.vmsn` beside it is mapped through the state's region
/// table; a `.vmss`/`.vmsn` given directly opens the `.vmem` beside it.
pub fn open(path: &Path) -> Result<Box<dyn PhysicalMemory>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("vmem") => {
            if let Some(state) = sibling_state(path) {
                return open_vmware(path, &state);
            }
        }
        Some("vmss") | Some("vmsn") => {
            let vmem = path.with_extension("vmem");
            if vmem.is_file() {
                return open_vmware(&vmem, path);
            }
        }
        _ => {}
    }
    let data = map(path)?;
    if detect(data.get(..64).unwrap_or(&data), data.len() as u64) == Some(ContainerKind::Hiberfil) {
        // Read in place through a source (as inside a disk image), never copied whole.
        drop(data);
        let src = triage_source::FileSource::open(path).map_err(source_error)?;
        let mem = crate::hiberfil::open_source(Arc::new(src)).map_err(source_error)?;
        return Ok(Box::new(mem));
    }
    let unaligned = data.len() as u64 & (crate::PAGE_SIZE - 1) != 0;
    let mem = parse(data)?;
    if mem.kind() == ContainerKind::Raw && unaligned {
        let data = map(path)?;
        return Ok(Box::new(raw(
            data,
            Some("file length is not a multiple of 4096; read as raw anyway".into()),
        )));
    }
    Ok(mem)
}

/// A source-layer error as this crate's error: the location stands in for the path.
fn source_error(e: triage_source::SourceError) -> PhysmemError {
    use triage_source::SourceError as S;
    let (path, what) = match &e {
        S::Unsupported { location, what, .. } => (location.to_string(), what.clone()),
        S::Corrupt {
            location,
            layer,
            offset,
            what,
        } => (
            location.to_string(),
            format!("{layer} at offset {offset:#x}: {what}"),
        ),
        S::Hole { location, .. } | S::Io { location, .. } | S::OutOfRange { location, .. } => {
            (location.to_string(), e.to_string())
        }
    };
    PhysmemError::Io {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    }
}

/// Opens a VMware `.vmem` with the region table from `state` (`.vmss` or `.vmsn`).
pub fn open_vmware(vmem: &Path, state: &Path) -> Result<Box<dyn PhysicalMemory>> {
    let meta = map(state)?;
    let regions = parse_vmss_regions(&meta)?;
    drop(meta);
    Ok(Box::new(vmem_with_regions(map(vmem)?, &regions)?))
}
