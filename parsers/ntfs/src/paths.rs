//! Full paths from the `$FILE_NAME` parent references of every record, built in one
//! pass without recursion.
//!
//! Only records that can be a parent go into the compact index (parent, sequences, and
//! an offset into one string arena: about 24 bytes a node plus its name): the
//! directories, the root, and the few deleted non-directory records some record names
//! as its parent (a deleted parent is accepted by the rule below; pass 1 marks every
//! referenced entry in a bitmap, allocated by batch, to find them). So the index grows
//! with the directories, not with the files: a file's own name and parent are read from
//! its record when its entry is built (`PathIndex::file_path`). Every node is then
//! classified once, iteratively, by following parents until a node already classified:
//! - the root (entry 5): paths start at `\`;
//! - an **orphan**: its parent is out of range, not a `FILE` record, has no name, is a
//!   file, or was reused (sequence mismatch; a deleted parent whose sequence is one more
//!   than the reference is accepted, as NTFS bumps the sequence on delete). Shown as
//!   `\$Orphan\name\…`;
//! - a **cycle** member (parents loop): shown as `\$Cycle\name\…`;
//! - otherwise its path is its parent's path plus its name.
//!
//! A path of more than [`MAX_DEPTH`] components keeps the innermost ones after
//! `\$Truncated\`. A record with no name has an empty path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::mft::Mft;

/// Components kept in one path.
pub const MAX_DEPTH: usize = 1024;
pub(crate) const ROOT: u64 = 5;

/// What pass 1 keeps of a record.
#[derive(Debug, Default, Clone)]
pub(crate) struct Light {
    pub file: bool,
    pub in_use: bool,
    pub is_dir: bool,
    pub seq: u16,
    pub base: u64,
    pub parent: u64,
    pub pseq: u16,
    pub name: Option<String>,
}

pub(crate) const F_FILE: u8 = 1;
pub(crate) const F_USE: u8 = 2;
pub(crate) const F_DIR: u8 = 4;
pub(crate) const F_NAME: u8 = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Unknown,
    Visiting,
    Root,
    Orphan,
    Cycle,
    Normal,
    NoName,
}

/// One record in the index: `name_off` points into the arena (of its batch while
/// pass 1 runs, of the whole index after [`PathIndex::build`]).
#[derive(Clone, Copy, Default)]
pub(crate) struct Node {
    pub parent: u64,
    pub name_off: u32,
    pub name_len: u16,
    /// The record's position in its batch (entry = batch * BATCH + slot).
    pub slot: u16,
    pub seq: u16,
    pub pseq: u16,
    /// F_FILE (a base FILE record), F_USE, F_DIR, F_NAME.
    pub flags: u8,
}

/// Pass 1's result for one batch of records: nodes (sorted by slot) for its records
/// that can be parents only (directories and the root; see [`Batch::insert`] for the
/// rest), so neither files nor a huge mostly-empty `$MFT`'s empty records cost anything.
#[derive(Default)]
pub(crate) struct Batch {
    pub nodes: Vec<Node>,
    pub arena: String,
    /// Records that are not all zeros (pass 2 skips a batch without any).
    pub present: u32,
}

impl Batch {
    /// Whether the node of `slot` is here.
    pub fn has(&self, slot: u16) -> bool {
        self.nodes.binary_search_by_key(&slot, |nd| nd.slot).is_ok()
    }

    /// Add a node found after pass 1 (a non-directory record named as a parent), with
    /// its name, keeping the nodes in slot order.
    pub fn insert(&mut self, mut nd: Node, name: &str) {
        let Err(at) = self.nodes.binary_search_by_key(&nd.slot, |x| x.slot) else {
            return;
        };
        if nd.flags & F_NAME != 0 {
            nd.name_off = self.arena.len() as u32;
            self.arena.push_str(name);
            nd.name_len = name.len().min(u16::MAX as usize) as u16;
        }
        self.nodes.insert(at, nd);
    }
}

/// One bit a record: some base record with a name says this entry is its parent.
/// Filled from every batch of pass 1 at once (atomic words, no lock). The bits of a batch
/// of records are allocated when one of them is first marked: a huge `$MFT` costs a
/// pointer a batch, like the index, and 128 bytes for each batch that holds a parent.
pub(crate) struct Refs {
    batches: Vec<OnceLock<Box<[AtomicU64; WORDS]>>>,
}

const WORDS: usize = (BATCH / 64) as usize;

impl Refs {
    pub fn new(count: u64) -> Refs {
        let n = usize::try_from(count.div_ceil(BATCH)).unwrap_or(0);
        Refs {
            batches: (0..n).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Mark `n` (ignored past the table: such a parent is an orphan's anyway).
    pub fn mark(&self, n: u64) {
        let Some(b) = usize::try_from(n / BATCH)
            .ok()
            .and_then(|b| self.batches.get(b))
        else {
            return;
        };
        let words = b.get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        let slot = (n % BATCH) as usize;
        words[slot / 64].fetch_or(1 << (slot % 64), Ordering::Relaxed);
    }

    /// The marked entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.batches.iter().enumerate().flat_map(|(b, words)| {
            words.get().into_iter().flat_map(move |words| {
                words.iter().enumerate().flat_map(move |(i, w)| {
                    let mut v = w.load(Ordering::Relaxed);
                    let first = b as u64 * BATCH + i as u64 * 64;
                    std::iter::from_fn(move || {
                        (v != 0).then(|| {
                            let bit = v.trailing_zeros() as u64;
                            v &= v - 1;
                            first + bit
                        })
                    })
                })
            })
        })
    }
}

/// Records per batch (the index addresses a node by batch and slot).
pub(crate) const BATCH: u64 = 1024;

/// The primary name and parent of every record that can be a parent, classified.
pub(crate) struct PathIndex {
    nodes: Vec<Node>,
    /// `starts[b]..starts[b + 1]`: the nodes of batch `b`.
    starts: Vec<usize>,
    /// Batches with any non-zero record.
    present: Vec<bool>,
    status: Vec<St>,
    arena: String,
}

impl PathIndex {
    pub fn build(parts: Vec<Batch>, _count: u64) -> PathIndex {
        let mut nodes = Vec::with_capacity(parts.iter().map(|b| b.nodes.len()).sum());
        let mut starts = Vec::with_capacity(parts.len() + 1);
        let mut present = Vec::with_capacity(parts.len());
        let total: usize = parts.iter().map(|b| b.arena.len()).sum();
        let mut arena = String::with_capacity(total.min(u32::MAX as usize));
        for part in parts {
            starts.push(nodes.len());
            present.push(part.present > 0);
            let base = arena.len();
            let fits = base + part.arena.len() < u32::MAX as usize;
            if fits {
                arena.push_str(&part.arena);
            }
            for mut nd in part.nodes {
                if fits {
                    nd.name_off += base as u32;
                } else {
                    // More than 4 GiB of names: the rest are nameless (orphans).
                    nd.flags &= !F_NAME;
                    nd.name_len = 0;
                }
                nodes.push(nd);
            }
        }
        starts.push(nodes.len());
        let mut idx = PathIndex {
            status: vec![St::Unknown; nodes.len()],
            nodes,
            starts,
            present,
            arena,
        };
        idx.classify();
        idx
    }

    /// Nodes in the index (the memory it costs is about 25 bytes plus the name each).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Whether entry `n` has a node (else its path is [`PathIndex::file_path`]'s).
    pub fn contains(&self, n: u64) -> bool {
        self.find(n).is_some()
    }

    /// The node of entry `n`, if it can be a parent.
    fn find(&self, n: u64) -> Option<usize> {
        let b = usize::try_from(n / BATCH).ok()?;
        let (lo, hi) = (*self.starts.get(b)?, *self.starts.get(b + 1)?);
        let slot = (n % BATCH) as u16;
        if hi - lo == BATCH as usize {
            return Some(lo + slot as usize);
        }
        let nodes = self.nodes.get(lo..hi)?;
        nodes
            .binary_search_by_key(&slot, |nd| nd.slot)
            .ok()
            .map(|i| lo + i)
    }

    /// Whether batch `b` has any non-zero record.
    pub fn batch_present(&self, b: u64) -> bool {
        usize::try_from(b)
            .ok()
            .and_then(|b| self.present.get(b))
            .copied()
            .unwrap_or(true)
    }

    fn valid_parent(&self, child: usize, p: u64) -> Option<usize> {
        self.valid_parent_of(&self.nodes[child], p)
    }

    fn valid_parent_of(&self, c: &Node, p: u64) -> Option<usize> {
        let pi = self.find(p)?;
        let pn = &self.nodes[pi];
        let ok = self.valid_parent_node(c, pn, p);
        ok.then_some(pi)
    }

    fn valid_parent_node(&self, c: &Node, pn: &Node, p: u64) -> bool {
        if pn.flags & F_FILE == 0 || (pn.flags & F_NAME == 0 && p != ROOT) {
            return false;
        }
        if pn.flags & F_USE != 0 && pn.flags & F_DIR == 0 {
            return false;
        }
        pn.seq == c.pseq || (pn.flags & F_USE == 0 && pn.seq == c.pseq.wrapping_add(1))
    }

    fn classify(&mut self) {
        let n = self.nodes.len();
        let root = self.find(ROOT);
        let mut stack: Vec<usize> = Vec::new();
        for s in 0..n {
            if self.status[s] != St::Unknown {
                continue;
            }
            stack.clear();
            let mut cur = s;
            loop {
                match self.status[cur] {
                    St::Unknown => {}
                    St::Visiting => {
                        let at = stack.iter().rposition(|&x| x == cur).unwrap_or(0);
                        for &x in &stack[at..] {
                            self.status[x] = St::Cycle;
                        }
                        stack.truncate(at);
                        break;
                    }
                    _ => break,
                }
                if Some(cur) == root {
                    self.status[cur] = St::Root;
                    break;
                }
                if self.nodes[cur].flags & F_NAME == 0 {
                    self.status[cur] = St::NoName;
                    break;
                }
                let p = self.nodes[cur].parent;
                let Some(pi) = self.valid_parent(cur, p) else {
                    self.status[cur] = St::Orphan;
                    break;
                };
                self.status[cur] = St::Visiting;
                stack.push(cur);
                cur = pi;
            }
            for &x in &stack {
                if self.status[x] == St::Visiting {
                    self.status[x] = St::Normal;
                }
            }
        }
    }

    fn name(&self, i: usize) -> &str {
        let nd = &self.nodes[i];
        self.arena
            .get(nd.name_off as usize..nd.name_off as usize + nd.name_len as usize)
            .unwrap_or("")
    }

    /// The full path of entry `n`, which has a node (see the module docs for markers).
    pub fn path(&self, n: u64) -> String {
        match self.find(n) {
            Some(i) => self.path_from(i, None),
            None => String::new(),
        }
    }

    /// The full path of a record without a node (no record names it as its parent, so it
    /// is on no cycle): `nd` and `name` are what pass 1 would have kept of it
    /// ([`crate::mft::Mft::light_into`] of its record). The same as [`PathIndex::path`]
    /// would give if it had a node.
    pub fn file_path(&self, nd: &Node, name: &str) -> String {
        if nd.flags & F_NAME == 0 {
            return String::new();
        }
        match self.valid_parent_of(nd, nd.parent) {
            Some(p) => self.path_from(p, Some(name)),
            None => join("\\$Orphan", std::iter::once(name)),
        }
    }

    /// The path through node `cur`, with `leaf` (a record without a node) below it.
    fn path_from(&self, mut cur: usize, leaf: Option<&str>) -> String {
        let mut comps: Vec<&str> = Vec::with_capacity(16);
        comps.extend(leaf);
        let prefix = loop {
            if comps.len() >= MAX_DEPTH {
                break "\\$Truncated";
            }
            match self.status[cur] {
                St::Root => break "",
                St::NoName => return String::new(),
                St::Orphan => {
                    comps.push(self.name(cur));
                    break "\\$Orphan";
                }
                St::Cycle => {
                    comps.push(self.name(cur));
                    break "\\$Cycle";
                }
                _ => {
                    comps.push(self.name(cur));
                    match self.find(self.nodes[cur].parent) {
                        Some(p) => cur = p,
                        None => break "\\$Orphan",
                    }
                }
            }
        };
        join(prefix, comps.iter().rev().copied())
    }
}

fn join<'a>(prefix: &str, comps: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::with_capacity(96);
    s.push_str(prefix);
    for c in comps {
        s.push('\\');
        s.push_str(c);
    }
    if s.is_empty() {
        s.push('\\');
    }
    s
}

/// The path of one entry by reading its ancestors one record at a time (for
/// [`crate::Ntfs::entry`]), with the same markers and limits as the index.
pub(crate) fn walk_path(mft: &Mft, n: u64) -> String {
    let Some(first) = mft.light(n) else {
        return String::new();
    };
    let mut names: Vec<String> = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    let (mut cur, mut l) = (n, first);
    let prefix = loop {
        if cur == ROOT {
            break "";
        }
        let Some(name) = l.name.take() else {
            if names.is_empty() {
                return String::new();
            }
            break "\\$Orphan";
        };
        if seen.contains(&cur) {
            break "\\$Cycle";
        }
        if names.len() >= MAX_DEPTH {
            break "\\$Truncated";
        }
        seen.push(cur);
        names.push(name);
        let (p, ps) = (l.parent, l.pseq);
        match mft.light(p) {
            Some(pl)
                if pl.file
                    && pl.base == 0
                    && (pl.name.is_some() || p == ROOT)
                    && (!pl.in_use || pl.is_dir)
                    && (pl.seq == ps || (!pl.in_use && pl.seq == ps.wrapping_add(1))) =>
            {
                cur = p;
                l = pl;
            }
            _ => break "\\$Orphan",
        }
    };
    join(prefix, names.iter().rev().map(String::as_str))
}
