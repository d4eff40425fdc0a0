//! A store's block list, turned once into a compact sorted map (original offset → where
//! the snapshot's data for that 16 KiB block is), and its allocation bitmaps.
//!
//! The merge rules for successive descriptors (forwarders, overlays, not-used entries)
//! follow the libvshadow format document, section "Successive block descriptors".

use std::collections::HashMap;

use triage_source::{ByteSource, Result};

use crate::format::{u32_at, u64_at, walk_chain, BLOCK, BLOCK_HEADER};

const FORWARDER: u32 = 0x1;
const OVERLAY: u32 = 0x2;
const NOT_USED: u32 = 0x4;
/// Sectors of 512 bytes in a 16 KiB block: the overlay bitmap has one bit per sector.
pub const SECTORS: usize = 32;

/// One 32-byte block descriptor.
#[derive(Clone, Copy)]
struct Descriptor {
    original: u64,
    relative: u64,
    store: u64,
    flags: u32,
    bitmap: u32,
}

/// Where a block's snapshot data comes from, as one store says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Main {
    /// The block is what the next newer store (or, for the newest, the live volume) holds
    /// at this volume offset: the block moved after the snapshot.
    Forward(u64),
    /// The block was copied into the store: this offset on the storage volume.
    Data(u64),
}

/// What a store says about one 16 KiB block of the volume.
pub struct Entry {
    pub main: Option<Main>,
    /// Per 512-byte sector, the storage-volume offset of an overlay copy (0: none). Only
    /// the store a snapshot is asked for applies its overlays.
    pub overlay: Option<Box<[u64; SECTORS]>>,
}

impl Entry {
    fn add_overlay(&mut self, d: &Descriptor) {
        let ov = self.overlay.get_or_insert_with(|| Box::new([0; SECTORS]));
        for (k, slot) in ov.iter_mut().enumerate() {
            if d.bitmap & (1 << k) != 0 {
                // An offset that overflows cannot be read: leave the sector un-overlaid.
                *slot = d.store.checked_add(k as u64 * 512).unwrap_or(0);
            }
        }
    }
}

fn main_of(d: &Descriptor) -> Main {
    if d.flags & FORWARDER != 0 {
        Main::Forward(d.relative)
    } else {
        Main::Data(d.store)
    }
}

/// A store's block list, sorted by original offset for binary search.
pub struct StoreMap {
    keys: Vec<u64>,
    entries: Vec<Entry>,
    /// Relative offsets of the forwarders left unmatched: blocks other blocks moved to.
    reverse: Vec<u64>,
}

impl StoreMap {
    pub fn get(&self, offset: u64) -> Option<&Entry> {
        let i = self.keys.binary_search(&offset).ok()?;
        self.entries.get(i)
    }

    pub fn has_reverse(&self, offset: u64) -> bool {
        self.reverse.binary_search(&offset).is_ok()
    }

    /// Read the block list at `offset` of `src` (the volume that holds the store).
    /// `volume_len` bounds the chain: a store cannot describe many more blocks than the
    /// volume has.
    pub fn read(src: &dyn ByteSource, offset: u64, volume_len: u64) -> Result<StoreMap> {
        let per_block = (BLOCK as usize - BLOCK_HEADER) / 32;
        let max_blocks = ((volume_len / BLOCK) as usize / per_block)
            .saturating_mul(4)
            .saturating_add(64)
            .min(1 << 22);
        let mut blocks: HashMap<u64, Entry> = HashMap::new();
        let mut reverse: HashMap<u64, Descriptor> = HashMap::new();
        walk_chain(
            src,
            offset,
            3,
            "VSS store block list",
            max_blocks,
            |_, b| {
                for e in b[BLOCK_HEADER..].chunks_exact(32) {
                    if e.iter().all(|&x| x == 0) {
                        continue;
                    }
                    let d = Descriptor {
                        original: u64_at(e, 0),
                        relative: u64_at(e, 8),
                        store: u64_at(e, 16),
                        flags: u32_at(e, 24),
                        bitmap: u32_at(e, 28),
                    };
                    merge(&mut blocks, &mut reverse, d);
                }
                Ok(())
            },
        )?;
        let mut sorted: Vec<(u64, Entry)> = blocks.into_iter().collect();
        sorted.sort_unstable_by_key(|(k, _)| *k);
        let (keys, entries) = sorted.into_iter().unzip();
        let mut reverse: Vec<u64> = reverse.into_keys().collect();
        reverse.sort_unstable();
        Ok(StoreMap {
            keys,
            entries,
            reverse,
        })
    }
}

/// Apply one descriptor, scanned front to back.
fn merge(
    blocks: &mut HashMap<u64, Entry>,
    reverse: &mut HashMap<u64, Descriptor>,
    mut d: Descriptor,
) {
    if d.flags & NOT_USED != 0 {
        return;
    }
    if d.flags & OVERLAY == 0 {
        // The data this descriptor copied had moved here from elsewhere: it belongs to the
        // block the forwarder came from.
        if let Some(r) = reverse.remove(&d.original) {
            d.original = r.original;
            if d.flags & FORWARDER != 0 && d.original == d.relative {
                return;
            }
        }
    }
    match blocks.get_mut(&d.original) {
        None => {
            let mut e = Entry {
                main: None,
                overlay: None,
            };
            if d.flags & OVERLAY != 0 {
                e.add_overlay(&d);
            } else {
                e.main = Some(main_of(&d));
            }
            blocks.insert(d.original, e);
        }
        Some(e) => {
            if d.flags & OVERLAY != 0 {
                e.add_overlay(&d);
            } else {
                // A later copy replaces the earlier one; its overlays still apply.
                e.main = Some(main_of(&d));
            }
        }
    }
    if d.flags & FORWARDER != 0 {
        reverse.insert(d.relative, d);
    }
}

/// A store bitmap: one bit per 16 KiB block of the volume, set when the block was not in
/// use when the snapshot was taken.
pub struct Bitmap {
    bits: Vec<u8>,
}

impl Bitmap {
    pub fn read(src: &dyn ByteSource, offset: u64, volume_len: u64) -> Result<Bitmap> {
        let need = (volume_len / BLOCK).div_ceil(8) as usize;
        let per_block = BLOCK as usize - BLOCK_HEADER;
        let max_blocks = need.div_ceil(per_block) + 1;
        let mut bits = Vec::with_capacity(need.min(1 << 24));
        walk_chain(src, offset, 6, "VSS store bitmap", max_blocks, |_, b| {
            let take = need.saturating_sub(bits.len()).min(per_block);
            bits.extend_from_slice(&b[BLOCK_HEADER..BLOCK_HEADER + take]);
            Ok(())
        })?;
        Ok(Bitmap { bits })
    }

    /// Whether the block at volume offset `offset` is marked not in use. Past the end of
    /// the bitmap: no (read the volume rather than invent zeros).
    pub fn is_free(&self, offset: u64) -> bool {
        let block = offset / BLOCK;
        let Ok(byte) = usize::try_from(block / 8) else {
            return false;
        };
        self.bits
            .get(byte)
            .is_some_and(|b| b & (1 << (block % 8)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(original: u64, relative: u64, store: u64, flags: u32, bitmap: u32) -> Descriptor {
        Descriptor {
            original,
            relative,
            store,
            flags,
            bitmap,
        }
    }

    #[test]
    fn forwarder_then_copy_moves_the_copy_to_the_forwarded_block() {
        let (mut b, mut r) = (HashMap::new(), HashMap::new());
        merge(&mut b, &mut r, d(0x8000, 0xc000, 0, FORWARDER, 0));
        merge(&mut b, &mut r, d(0xc000, 0x4000, 0x10_0000, 0, 0));
        assert_eq!(b[&0x8000].main, Some(Main::Data(0x10_0000)));
        assert!(!b.contains_key(&0xc000));
        assert!(r.is_empty(), "the forwarder was consumed");
    }

    #[test]
    fn not_used_is_ignored_and_overlays_stack() {
        let (mut b, mut r) = (HashMap::new(), HashMap::new());
        merge(&mut b, &mut r, d(0x4000, 0, 0x20_0000, NOT_USED, 0));
        assert!(b.is_empty());
        merge(&mut b, &mut r, d(0x4000, 1, 0x30_0000, OVERLAY, 0b01));
        merge(&mut b, &mut r, d(0x4000, 1, 0x40_0000, OVERLAY, 0b10));
        merge(&mut b, &mut r, d(0x4000, 0x4000, 0x50_0000, 0, 0));
        let e = &b[&0x4000];
        assert_eq!(e.main, Some(Main::Data(0x50_0000)));
        let ov = e.overlay.as_ref().unwrap();
        assert_eq!((ov[0], ov[1], ov[2]), (0x30_0000, 0x40_0000 + 512, 0));
    }
}
