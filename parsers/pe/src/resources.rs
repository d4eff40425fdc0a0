//! Finds the RT_VERSION resource: type 16 -> first name -> first language.
//! Only the path to one leaf is walked, with a depth limit and a record of
//! visited directories so that a looping tree is reported, not followed.

use crate::bytes::{u16_at, u32_at};
use crate::layout::Layout;

pub const RT_VERSION: u32 = 16;
const MAX_DEPTH: usize = 8;
/// Root directories of real files have a few dozen types; a bound keeps a
/// forged entry count from turning into a long scan.
const MAX_ENTRIES_SCANNED: usize = 4096;

/// Where the leaf's bytes are in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLeaf {
    pub offset: usize,
    pub size: usize,
}

/// `Ok(None)` when there is no resource directory or no RT_VERSION entry;
/// `Err(message)` (naming the offset) when the tree is damaged.
pub fn find_version_resource(data: &[u8], layout: &Layout) -> Result<Option<ResourceLeaf>, String> {
    let Some(dir) = layout.directory(crate::layout::DIR_RESOURCE) else {
        return Ok(None);
    };
    let base = layout.rva_to_offset(dir.virtual_address).ok_or_else(|| {
        format!(
            "resource directory RVA {:#x} maps to no file offset",
            dir.virtual_address
        )
    })?;

    let mut visited: Vec<u32> = Vec::new();
    let mut dir_rel: u32 = 0;
    let mut want_id = Some(RT_VERSION);
    for _depth in 0..MAX_DEPTH {
        if visited.contains(&dir_rel) {
            return Err(format!(
                "offset {:#x}: resource directory loop",
                base + dir_rel as usize
            ));
        }
        visited.push(dir_rel);
        let dir_off = base
            .checked_add(dir_rel as usize)
            .ok_or_else(|| "resource directory offset overflows".to_string())?;
        let named = u16_at(data, dir_off + 12).ok_or_else(|| {
            format!("offset {dir_off:#x}: expected a resource directory, file ends")
        })?;
        let ids = u16_at(data, dir_off + 14).unwrap_or(0);
        let count = (usize::from(named) + usize::from(ids)).min(MAX_ENTRIES_SCANNED);
        let mut chosen = None;
        for i in 0..count {
            let entry = dir_off + 16 + 8 * i;
            let (Some(name), Some(target)) = (u32_at(data, entry), u32_at(data, entry + 4)) else {
                return Err(format!(
                    "offset {entry:#x}: expected a resource directory entry, file ends"
                ));
            };
            let matches = match want_id {
                // Named entries (high bit) can never be the numeric type 16.
                Some(id) => name & 0x8000_0000 == 0 && name == id,
                None => true,
            };
            if matches {
                chosen = Some(target);
                break;
            }
        }
        let Some(target) = chosen else {
            return Ok(None);
        };
        want_id = None;
        if target & 0x8000_0000 != 0 {
            dir_rel = target & 0x7fff_ffff;
            continue;
        }
        let leaf = base.saturating_add(target as usize);
        let (Some(rva), Some(size)) = (u32_at(data, leaf), u32_at(data, leaf + 4)) else {
            return Err(format!(
                "offset {leaf:#x}: expected a resource data entry, file ends"
            ));
        };
        let offset = layout.rva_to_offset(rva).ok_or_else(|| {
            format!("offset {leaf:#x}: version resource RVA {rva:#x} maps to no file offset")
        })?;
        return Ok(Some(ResourceLeaf {
            offset,
            size: size as usize,
        }));
    }
    Err(format!(
        "offset {base:#x}: resource tree deeper than {MAX_DEPTH} levels"
    ))
}
