//! Full paths from the `$FILE_NAME` parent references of every record, built in one
//! pass without recursion.
//!
//! Each record's primary name and parent go into a compact index (parent, sequences,
//! and an offset into one string arena: about 24 bytes a record plus the names). Every
//! record is then classified once, iteratively, by following parents until a record
//! already classified:
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

use crate::mft::Mft;

/// Components kept in one path.
pub const MAX_DEPTH: usize = 1024;
const ROOT: u64 = 5;

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

/// Pass 1's result for one batch of records: nodes for its `FILE` records only, so a
/// huge mostly-empty `$MFT` costs nothing for its empty records.
pub(crate) struct Batch {
    pub nodes: Vec<Node>,
    pub arena: String,
    /// Records that are not all zeros (pass 2 skips a batch without any).
    pub present: u32,
}

/// Records per batch (the index addresses a node by batch and slot).
pub(crate) const BATCH: u64 = 1024;

/// Every record's primary name and parent, classified.
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

    /// The node of entry `n`, if it is a `FILE` record.
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
        let c = &self.nodes[child];
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

    /// The full path of entry `n` (see the module docs for markers).
    pub fn path(&self, n: u64) -> String {
        let Some(mut cur) = self.find(n) else {
            return String::new();
        };
        let mut comps: Vec<&str> = Vec::with_capacity(16);
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
