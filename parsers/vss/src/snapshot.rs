//! One shadow copy as a volume source: each 16 KiB block is looked up in the store asked
//! for, then in each newer store, and finally on the live volume (the "Reading snapshot
//! data" rules of the libvshadow format document). A read costs a binary search per
//! store per block; nothing is copied ahead.

use std::sync::Arc;

use triage_source::{ByteSource, Location, Result, Source, SourceError};

use crate::blocklist::{Bitmap, Main, StoreMap};
use crate::format::BLOCK;

/// The stores a snapshot reads through, oldest (the one asked for) first.
pub(crate) struct Chain {
    /// Index into `Snapshot::sources` of the volume holding each store's data, and its map.
    pub stores: Vec<(usize, Arc<StoreMap>)>,
    /// The current and previous bitmaps of the newest store, when the snapshot asked for
    /// is the newest: only then are blocks that were not in use read as zeros.
    pub bitmaps: Option<(Arc<Bitmap>, Option<Arc<Bitmap>>)>,
}

/// A shadow copy of the volume, as of its creation time. Same length as the volume.
pub(crate) struct Snapshot {
    /// `sources[0]` is the live volume; the others hold diff areas.
    pub sources: Vec<Source>,
    pub chain: Chain,
    pub len: u64,
    pub location: Location,
}

/// Where the bytes of a block (or of one overlaid sector) are.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Zero,
    /// In `sources[i]`; the byte at offset `w` of the block is at `base + w`.
    At(usize, u64),
}

impl Snapshot {
    /// Resolve the block at volume offset `block` for the byte at `within` of it. The
    /// second value says the answer holds only to the end of that 512-byte sector (an
    /// overlay applies to some sectors of the block).
    fn resolve(&self, block: u64, within: u64) -> (Target, bool) {
        let mut target = block;
        let n = self.chain.stores.len();
        let mut sector_only = false;
        // Each store is visited once, oldest to newest: a forwarder chain cannot loop.
        for (j, (vol, map)) in self.chain.stores.iter().enumerate() {
            let newest = j + 1 == n;
            if let Some(e) = map.get(target) {
                if j == 0 {
                    if let Some(ov) = &e.overlay {
                        sector_only = true;
                        let k = (within / 512) as usize;
                        if let Some(&at) = ov.get(k).filter(|&&a| a != 0) {
                            let base = at.wrapping_sub(k as u64 * 512);
                            return (Target::At(*vol, base), true);
                        }
                    }
                }
                match e.main {
                    Some(Main::Data(at)) => return (Target::At(*vol, at), sector_only),
                    Some(Main::Forward(to)) => {
                        if newest {
                            return (Target::At(0, to), sector_only);
                        }
                        target = to;
                        continue;
                    }
                    None => {}
                }
            }
            if !newest {
                continue;
            }
            if map.has_reverse(target) {
                return (Target::At(0, target), sector_only);
            }
            if let Some((cur, prev)) = &self.chain.bitmaps {
                if cur.is_free(target) && prev.as_ref().is_none_or(|p| p.is_free(target)) {
                    return (Target::Zero, sector_only);
                }
            }
            return (Target::At(0, target), sector_only);
        }
        // No store at all (cannot happen: a snapshot has at least its own store).
        (Target::At(0, target), sector_only)
    }

    fn hole(&self, offset: u64, len: usize, why: String) -> SourceError {
        SourceError::Hole {
            location: self.location.clone(),
            offset,
            len: len as u64,
            why,
        }
    }
}

impl ByteSource for Snapshot {
    fn len(&self) -> u64 {
        self.len
    }

    fn location(&self) -> &Location {
        &self.location
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.len - offset) as usize;
        let mut done = 0usize;
        while done < want {
            let at = offset + done as u64;
            let block = at & !(BLOCK - 1);
            let within = at - block;
            let (target, sector_only) = self.resolve(block, within);
            let mut n = ((want - done) as u64).min(BLOCK - within);
            if sector_only {
                n = n.min(512 - within % 512);
            }
            let piece = &mut buf[done..done + n as usize];
            let got = match target {
                Target::Zero => {
                    piece.fill(0);
                    Ok(piece.len())
                }
                Target::At(src, base) => match (self.sources.get(src), base.checked_add(within)) {
                    (Some(s), Some(from)) => s.read_at(from, piece),
                    _ => Ok(0),
                },
            };
            match got {
                Ok(k) if k > 0 => {
                    done += k;
                    if k < piece.len() {
                        break; // a short read underneath: return what we have
                    }
                }
                _ if done > 0 => break,
                Ok(_) => {
                    return Err(self.hole(
                        at,
                        piece.len(),
                        "shadow copy block points past the end of its volume".into(),
                    ))
                }
                Err(e) => return Err(self.hole(at, piece.len(), e.to_string())),
            }
        }
        Ok(done)
    }
}
