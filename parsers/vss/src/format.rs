//! On-disk records of the Volume Shadow Snapshot format (after the libvshadow format
//! document): the volume header at 0x1e00, the catalog, and the 128-byte header every
//! 16 KiB store block starts with.

use std::collections::HashSet;

use triage_source::{read_exact_at, ByteSource, Result, SourceError};

/// Every VSS structure is laid out in blocks of this size, and so is the copied data.
pub const BLOCK: u64 = 0x4000;
/// The VSS identifier `3808876b-c176-4e48-b7ae-04046e6cc752` as stored (GUID, little-endian).
pub const VSS_ID: [u8; 16] = [
    0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e, 0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52,
];
/// Where the volume header sits in the NTFS volume (inside `$Boot`).
pub const HEADER_OFFSET: u64 = 0x1e00;
/// A block header is 128 bytes; the rest of the 16 KiB block is its payload.
pub const BLOCK_HEADER: usize = 128;

/// Catalog blocks walked at most: a real catalog has 4 (127 entries each).
const MAX_CATALOG_BLOCKS: usize = 1024;
/// Catalog entries of type 2 kept at most (Windows keeps at most 512 shadow copies).
const MAX_STORES: usize = 2048;

pub use triage_bytes::le::{u32_or_zero as u32_at, u64_or_zero as u64_at};

pub use triage_bytes::guid::{at as guid_at, lower as guid_string};

/// A FILETIME as `YYYY-MM-DD hh:mm:ss UTC` (for locations a person reads).
pub fn filetime_string(ft: u64) -> String {
    triage_bytes::FileTime(ft).human()
}

/// Read one 16 KiB block and check its header: the VSS identifier and the record type.
pub fn read_block(
    src: &dyn ByteSource,
    offset: u64,
    record_type: u32,
    layer: &'static str,
) -> Result<Vec<u8>> {
    let loc = src.location();
    if !offset.is_multiple_of(512) || offset.checked_add(BLOCK).is_none_or(|e| e > src.len()) {
        return Err(SourceError::corrupt(
            loc,
            layer,
            offset,
            format!(
                "block offset is unaligned or past the end ({} bytes)",
                src.len()
            ),
        ));
    }
    let mut b = vec![0u8; BLOCK as usize];
    read_exact_at(src, offset, &mut b)?;
    if guid_at(&b, 0) != VSS_ID {
        return Err(SourceError::corrupt(
            loc,
            layer,
            offset,
            "block has no VSS identifier",
        ));
    }
    let t = u32_at(&b, 20);
    if t != record_type {
        return Err(SourceError::corrupt(
            loc,
            layer,
            offset,
            format!("record type {t}, expected {record_type}"),
        ));
    }
    Ok(b)
}

/// A chain of 16 KiB blocks linked by the "next" offset of their headers, walked with a
/// cycle check and a length limit. Returns each block's bytes in order.
pub fn walk_chain(
    src: &dyn ByteSource,
    first: u64,
    record_type: u32,
    layer: &'static str,
    max_blocks: usize,
    mut each: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut seen = HashSet::new();
    let mut at = first;
    while at != 0 {
        if !seen.insert(at) {
            return Err(SourceError::corrupt(
                src.location(),
                layer,
                at,
                "block chain loops back on itself",
            ));
        }
        if seen.len() > max_blocks {
            return Err(SourceError::corrupt(
                src.location(),
                layer,
                at,
                format!("block chain longer than {max_blocks} blocks"),
            ));
        }
        let b = read_block(src, at, record_type, layer)?;
        each(at, &b)?;
        at = u64_at(&b, 40);
    }
    Ok(())
}

/// The volume header: where the catalog is.
pub struct VolumeHeader {
    pub catalog_offset: u64,
}

/// `None` when the volume has no VSS header (not NTFS, or never had shadow copies).
pub fn read_header(src: &dyn ByteSource) -> Result<Option<VolumeHeader>> {
    let mut h = [0u8; 128];
    if src.len() < HEADER_OFFSET + h.len() as u64 {
        return Ok(None);
    }
    read_exact_at(src, HEADER_OFFSET, &mut h)?;
    if guid_at(&h, 0) != VSS_ID || u32_at(&h, 20) != 1 {
        return Ok(None);
    }
    Ok(Some(VolumeHeader {
        catalog_offset: u64_at(&h, 48),
    }))
}

/// A catalog entry of type 2: what the store is.
#[derive(Clone, Debug)]
pub struct StoreEntry {
    pub volume_size: u64,
    pub store_id: [u8; 16],
    pub sequence: u64,
    pub creation_time: u64,
}

/// A catalog entry of type 3: where the store's structures are (on the volume that holds
/// the catalog entry).
#[derive(Clone, Debug)]
pub struct StoreLocation {
    pub store_id: [u8; 16],
    pub block_list: u64,
    pub header: u64,
    pub range_list: u64,
    pub bitmap: u64,
    pub previous_bitmap: u64,
}

/// The catalog's entries of types 2 and 3, in catalog order.
#[derive(Default)]
pub struct Catalog {
    pub entries: Vec<StoreEntry>,
    pub locations: Vec<StoreLocation>,
}

pub fn read_catalog(src: &dyn ByteSource, offset: u64) -> Result<Catalog> {
    let mut cat = Catalog::default();
    walk_chain(
        src,
        offset,
        2,
        "VSS catalog",
        MAX_CATALOG_BLOCKS,
        |at, b| {
            for e in b.chunks_exact(128).skip(1) {
                match u64_at(e, 0) {
                    2 => cat.entries.push(StoreEntry {
                        volume_size: u64_at(e, 8),
                        store_id: guid_at(e, 16),
                        sequence: u64_at(e, 32),
                        creation_time: u64_at(e, 48),
                    }),
                    3 => cat.locations.push(StoreLocation {
                        block_list: u64_at(e, 8),
                        store_id: guid_at(e, 16),
                        header: u64_at(e, 32),
                        range_list: u64_at(e, 40),
                        bitmap: u64_at(e, 48),
                        previous_bitmap: u64_at(e, 72),
                    }),
                    _ => {} // 0 and 1: unused entries
                }
            }
            if cat.entries.len() > MAX_STORES || cat.locations.len() > MAX_STORES {
                return Err(SourceError::corrupt(
                    src.location(),
                    "VSS catalog",
                    at,
                    format!("more than {MAX_STORES} stores"),
                ));
            }
            Ok(())
        },
    )?;
    Ok(cat)
}

/// The identifiers in a store's header block (type 4), after the 128-byte block header.
#[derive(Default, Clone)]
pub struct StoreHeader {
    pub shadow_copy_id: [u8; 16],
    pub shadow_copy_set_id: [u8; 16],
    pub attribute_flags: u32,
}

pub fn read_store_header(src: &dyn ByteSource, offset: u64) -> Result<StoreHeader> {
    let b = read_block(src, offset, 4, "VSS store header")?;
    let info = BLOCK_HEADER;
    Ok(StoreHeader {
        shadow_copy_id: guid_at(&b, info + 16),
        shadow_copy_set_id: guid_at(&b, info + 32),
        attribute_flags: u32_at(&b, info + 56),
    })
}

/// The bytes of diff-area data a store occupies: the sum of its block range list.
pub fn read_range_list_size(src: &dyn ByteSource, offset: u64) -> Result<u64> {
    let mut total = 0u64;
    walk_chain(src, offset, 5, "VSS store range list", 4096, |_, b| {
        for e in b[BLOCK_HEADER..].chunks_exact(24) {
            total = total.saturating_add(u64_at(e, 16));
        }
        Ok(())
    })?;
    Ok(total)
}
