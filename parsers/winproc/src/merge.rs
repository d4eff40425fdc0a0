//! Merging list entries and scan hits by EPROCESS physical address (virtual address for
//! list entries whose frame is unknown), and the scan's virtual-address inference.

use std::collections::HashMap;

use crate::eprocess::EprocessCore;
use crate::facts::{gather, FoundBy, ProcessFacts};
use crate::reader::Ctx;
use crate::scan::ScanHit;
use crate::walk::ListEntry;

/// Known-good process objects consulted to learn the type key.
const KEY_SAMPLES: usize = 5;

struct Found {
    pa: Option<u64>,
    va: Option<u64>,
    core: EprocessCore,
    by: FoundBy,
}

impl Found {
    /// The scan met this process again (a second hit on a page shared by two ranges
    /// leaves a scan-only process scan-only).
    fn by_scan(&mut self) {
        if self.by == FoundBy::List {
            self.by = FoundBy::Both;
        }
    }
}

#[derive(Default)]
pub(crate) struct Merged {
    found: Vec<Found>,
    by_pa: HashMap<u64, usize>,
    by_va: HashMap<u64, usize>,
}

/// `TypeIndex ^ header-address byte` (or the plain TypeIndex before Windows 10) of the
/// object header before `eprocess_va`.
fn key_at(ctx: &Ctx, eprocess_va: u64) -> Option<u8> {
    let header = eprocess_va.checked_sub(u64::from(ctx.l.object_header_size))?;
    let mut b = [0u8; 1];
    if !ctx
        .kernel
        .read(header + u64::from(ctx.l.object_type_index), &mut b)
        .is_full()
    {
        return None;
    }
    Some(if ctx.l.type_index_encoded {
        b[0] ^ (header >> 8) as u8
    } else {
        b[0]
    })
}

/// The key most of System and the first list entries agree on.
pub(crate) fn type_key(ctx: &Ctx, system: Option<u64>, list: Vec<u64>) -> Option<u8> {
    let mut votes: HashMap<u8, usize> = HashMap::new();
    for va in system.into_iter().chain(list.into_iter().take(KEY_SAMPLES)) {
        if let Some(k) = key_at(ctx, va) {
            *votes.entry(k).or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by_key(|&(k, n)| (n, std::cmp::Reverse(k)))
        .map(|(k, _)| k)
}

/// The EPROCESS virtual address of a scan hit: a list pointer that leads back to its
/// ActiveProcessLinks (itself when unlinked, the neighbours' back/forward links when not).
fn infer_va(ctx: &Ctx, core: &EprocessCore, pa: u64) -> Option<u64> {
    let links = u64::from(ctx.l.links);
    let links_pa = pa + links;
    let mut candidates = vec![core.flink, core.blink];
    if let Some(back) = ctx.kernel.read_u64(core.flink.wrapping_add(8)) {
        candidates.push(back);
    }
    if let Some(fwd) = ctx.kernel.read_u64(core.blink) {
        candidates.push(fwd);
    }
    candidates
        .into_iter()
        .filter(|&c| c >= links)
        .find(|&c| ctx.kernel.resolve(c) == Some(links_pa))
        .map(|c| c - links)
}

impl Merged {
    pub fn list_vas(&self) -> Vec<u64> {
        self.found.iter().filter_map(|f| f.va).collect()
    }

    pub fn add_list(&mut self, _ctx: &Ctx, e: ListEntry) {
        let i = self.found.len();
        if let Some(pa) = e.pa {
            self.by_pa.insert(pa, i);
        }
        self.by_va.insert(e.va, i);
        self.found.push(Found {
            pa: e.pa,
            va: Some(e.va),
            core: e.core,
            by: FoundBy::List,
        });
    }

    /// Adds a scan hit; `false` when its virtual address disproves the type.
    pub fn add_scan(&mut self, ctx: &Ctx, h: ScanHit, key: Option<u8>) -> bool {
        if let Some(&i) = self.by_pa.get(&h.pa) {
            self.found[i].by_scan();
            return true;
        }
        let va = infer_va(ctx, &h.core, h.pa);
        if let (Some(va), Some(k), true) = (va, key, ctx.l.type_index_encoded) {
            let header_va = va.wrapping_sub(u64::from(ctx.l.object_header_size));
            if h.type_index_raw ^ (header_va >> 8) as u8 != k {
                return false;
            }
        }
        if let Some(&i) = va.and_then(|v| self.by_va.get(&v)) {
            self.found[i].by_scan();
            self.found[i].pa.get_or_insert(h.pa);
            return true;
        }
        let i = self.found.len();
        self.by_pa.insert(h.pa, i);
        if let Some(v) = va {
            self.by_va.insert(v, i);
        }
        self.found.push(Found {
            pa: Some(h.pa),
            va,
            core: h.core,
            by: FoundBy::Scan,
        });
        true
    }

    pub fn finish(self, ctx: &Ctx) -> Vec<ProcessFacts> {
        self.found
            .into_iter()
            .map(|f| gather(ctx, f.core, f.pa, f.va, f.by))
            .collect()
    }
}
