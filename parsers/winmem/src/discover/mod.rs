//! Layout discovery when no table or ISF knows the kernel (x64): EPROCESS fields from
//! System (PsInitialSystemProcess) and the processes on its list, TOKEN fields from
//! System's token (whose SIDs and privileges are known) confirmed on every other token,
//! and the PEB's process-parameter strings. The relations used are MemProcFS's and
//! Volatility's facts about these structures, not their code.
//!
//! Every field found says how it was confirmed ([`Proof`]); a field that no relation
//! confirms is left `None` and named in [`Discovery::not_found`]: a wrong offset would
//! produce wrong SIDs, and an empty one only a gap.

mod eprocess;
mod peb;
mod token;

use serde::Serialize;

use crate::layout::Layout;
use crate::vmem::VirtualMemory;

/// Bytes of each EPROCESS read (every x64 EPROCESS so far is smaller).
const SPAN: usize = 0x1000;
/// Most list entries sampled: enough for every relation, bounded for a damaged list.
const MAX_SAMPLES: usize = 4096;

/// How one field was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proof {
    /// The [`Layout`] field name.
    pub field: &'static str,
    pub offset: u32,
    /// The relation that confirmed it, and on how many structures.
    pub how: String,
}

/// What discovery found and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The seed layout with the discovered fields filled in.
    pub layout: Layout,
    /// One entry per discovered field (seed fields are not repeated).
    pub proofs: Vec<Proof>,
    /// Fields searched for and not confirmed, with why.
    pub not_found: Vec<(&'static str, String)>,
    /// PsActiveProcessHead: System's ActiveProcessLinks.Blink (System is the first entry).
    pub ps_active_process_head: Option<u64>,
    /// Processes on the list that the relations were checked on (System included).
    pub processes_sampled: usize,
}

impl Discovery {
    fn found(&mut self, field: &'static str, offset: u32, how: impl Into<String>) {
        self.proofs.push(Proof {
            field,
            offset,
            how: how.into(),
        });
    }

    fn missing(&mut self, field: &'static str, why: impl Into<String>) {
        self.not_found.push((field, why.into()));
    }

    /// Names of the fields not found.
    pub fn not_found_names(&self) -> Vec<&'static str> {
        self.not_found.iter().map(|(f, _)| *f).collect()
    }
}

pub(crate) fn q(b: &[u8], o: usize) -> u64 {
    b.get(o..o.saturating_add(8))
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

pub(crate) fn d(b: &[u8], o: usize) -> u32 {
    b.get(o..o.saturating_add(4))
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

pub(crate) fn is_kernel_ptr(v: u64) -> bool {
    v >= 0xFFFF_8000_0000_0000 && v & 0x7 == 0
}

pub(crate) fn is_user_ptr(v: u64) -> bool {
    v != 0 && v < 0x0000_8000_0000_0000
}

/// FILETIME between 1990 and 2100: a time a running system can hold.
pub(crate) fn plausible_time(t: u64) -> bool {
    (122_756_256_000_000_000..157_469_184_000_000_000).contains(&t)
}

/// Bytes at `va`, zeros where unreadable.
pub(crate) fn read_lossy(vm: &VirtualMemory, va: u64, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    vm.read(va, &mut b);
    b
}

/// Does a pool block tagged with a tag starting `tag` hold `body`? The tag sits in the
/// 16-byte POOL_HEADER; object bodies follow an OBJECT_HEADER and optional headers, so
/// the header is searched for in the `reach` bytes before the body.
pub(crate) fn pool_tag_before(vm: &VirtualMemory, body: u64, tag: &[u8], reach: u64) -> bool {
    let Some(start) = body.checked_sub(reach) else {
        return false;
    };
    let Some(before) = vm.read_exact(start, reach as usize) else {
        return false;
    };
    before
        .chunks_exact(16)
        .any(|h| h.get(4..4 + tag.len()) == Some(tag))
}

/// Finds what it can of an x64 layout given System's EPROCESS address, keeping every
/// field `seed` already has (a partial table entry: only the rest is discovered).
/// `None` when not even System's process list can be located.
pub fn discover(vm: &VirtualMemory, system: u64, seed: &Layout) -> Option<Discovery> {
    let mut disc = Discovery {
        layout: seed.clone(),
        ..Discovery::default()
    };
    let procs = eprocess::discover(vm, system, &mut disc)?;
    let tokens = token::discover(vm, &procs, &mut disc);
    eprocess::discover_session(vm, &procs, &tokens, &mut disc);
    peb::discover(vm, &procs, &mut disc);
    disc.processes_sampled = procs.all.len();
    // Report each field once, and only those still unknown.
    let missing = disc.layout.missing_fields();
    disc.not_found.retain(|(f, _)| missing.contains(f));
    disc.not_found.sort_by_key(|(f, _)| *f);
    disc.not_found.dedup_by_key(|(f, _)| *f);
    Some(disc)
}

/// [`discover`] from nothing: the layout alone.
pub fn discover_x64(vm: &VirtualMemory, system: u64) -> Option<Layout> {
    discover(vm, system, &Layout::default()).map(|d| d.layout)
}
