//! The `$MFT` as a table of records: one record, one merged entry, or all of them in
//! parallel batches. Works over a volume's `$MFT` stream or a bare exported `$MFT` file.

use std::sync::Arc;

use rayon::prelude::*;
use triage_source::{
    read_exact_at, read_lossy, ByteSource, Deadline, Location, Result, Source, SourceError,
};

use crate::data::{Clusters, FileData};
use crate::entry::{self, Entry, ScanStats};
use crate::paths::{Batch, Light, Node, PathIndex, Refs, F_DIR, F_FILE, F_NAME, F_USE, ROOT};
use crate::record::{self, u16_at, u64_at, Attr, Header, Kind};
use crate::runs::{self, Run};

use crate::paths::BATCH;
/// Batches parsed in parallel before their entries are handed out in order, per pool
/// thread: with the window being handed out while the next is parsed, it bounds the
/// entries alive at once to `2 × WINDOW_PER_THREAD × threads × 1,024` (about 16 Ki on
/// two cores, 10 MB or so), whatever the volume's size.
const WINDOW_PER_THREAD: u64 = 4;
/// The window never exceeds this many batches (many-core machines).
const WINDOW_MAX: u64 = 64;
/// Extension records merged into one base, at most.
const MAX_EXTENSIONS: usize = 4096;
/// An attribute list larger than this is not read.
const MAX_ATTR_LIST: u64 = 16 << 20;
const MAX_ERRORS: usize = 10_000;

/// What the MFT needs of the volume to read non-resident attributes.
#[derive(Clone)]
pub(crate) struct VolCtx {
    pub vol: Source,
    pub cluster: u64,
    pub total_clusters: u64,
    /// The `$MFT`'s own runs: another file's runs overlapping them are reported.
    pub mft_runs: Arc<[Run]>,
}

/// The largest `$MFT` whose records are kept between the two passes of an enumeration
/// (the bound on the anonymous memory this costs; a larger `$MFT` is read twice, so
/// memory does not grow with the volume).
pub const KEEP_MFT_MAX: u64 = 16 << 20;

/// The records of a `$MFT`: a volume's, or a bare `$MFT` file's
/// ([`Mft::from_source`]: every record field is there; non-resident content is not).
pub struct Mft {
    pub(crate) stream: Source,
    pub(crate) record_size: usize,
    pub(crate) count: u64,
    pub(crate) vol: Option<VolCtx>,
    /// Counts bytes taken from the memory map without a read (`Ntfs::bytes_read`).
    pub(crate) counter: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// The same stream when it is a volume's `$MFT` attribute: batches inside one run
    /// are borrowed from the memory map.
    pub(crate) data: Option<Arc<FileData>>,
}

/// Pass 1's choice of a record's primary name, fed its attributes one by one: the first
/// resident `$FILE_NAME` of the best name space (Win32, POSIX, DOS).
#[derive(Default)]
pub(crate) struct Pick<'a> {
    best: Option<(u8, &'a [u8])>,
    has_list: bool,
}

impl<'a> Pick<'a> {
    fn see(&mut self, a: &Attr<'a>) {
        if a.ty == record::AT_ATTRIBUTE_LIST {
            self.has_list = true;
        }
        if a.ty != record::AT_FILE_NAME {
            return;
        }
        let Some(v) = a.resident.filter(|v| v.len() >= 66) else {
            return;
        };
        let r = match v[65] {
            1 | 3 => 0,
            0 => 1,
            _ => 2,
        };
        if self.best.is_none_or(|(br, _)| r < br) {
            self.best = Some((r, v));
        }
    }
}

/// A record with its extension records, fixups applied.
pub(crate) struct Loaded {
    pub n: u64,
    pub header: Header,
    pub base: Vec<u8>,
    pub exts: Vec<(u64, Vec<u8>, Header)>,
    pub warnings: Vec<String>,
}

impl Loaded {
    pub fn attrs(&self) -> (Vec<Attr<'_>>, Vec<String>) {
        let mut w = Vec::new();
        let mut v = Vec::new();
        record::attributes(&self.base, &self.header, self.n, &mut v, &mut w);
        for (en, b, h) in &self.exts {
            record::attributes(b, h, *en, &mut v, &mut w);
        }
        (v, w)
    }
}

impl Mft {
    /// A bare `$MFT` file (exported by a tool) with records of `record_size` bytes (1024
    /// on most volumes, 4096 on 4Kn disks).
    pub fn from_source(src: Source, record_size: u32) -> Result<Mft> {
        if !(256..=65536).contains(&record_size) || !record_size.is_power_of_two() {
            return Err(SourceError::corrupt(
                src.location(),
                "$MFT",
                0,
                format!("record size {record_size} is not a power of two in 256..=65536"),
            ));
        }
        let count = src.len() / record_size as u64;
        Ok(Mft {
            stream: src,
            record_size: record_size as usize,
            count,
            vol: None,
            counter: None,
            data: None,
        })
    }

    /// Records in the table.
    pub fn record_count(&self) -> u64 {
        self.count
    }

    pub(crate) fn location(&self) -> &Location {
        self.stream.location()
    }

    pub(crate) fn read_raw(&self, n: u64) -> Result<Vec<u8>> {
        if n >= self.count {
            return Err(SourceError::OutOfRange {
                location: self.location().clone(),
                offset: n.saturating_mul(self.record_size as u64),
                len: self.record_size as u64,
                size: self.stream.len(),
            });
        }
        let mut b = vec![0u8; self.record_size];
        read_exact_at(&*self.stream, n * self.record_size as u64, &mut b)?;
        Ok(b)
    }

    /// Read record `n` with its extension records merged.
    pub(crate) fn load(&self, n: u64) -> Result<Loaded> {
        let mut base = self.read_raw(n)?;
        let off = n * self.record_size as u64;
        let mut fw = None;
        match record::parse_header(&mut base, &mut fw) {
            Kind::Empty => Err(SourceError::corrupt(
                self.location(),
                "$MFT record",
                off,
                format!("$MFT entry {n} is empty (never used)"),
            )),
            Kind::Bad(why) => Err(SourceError::corrupt(
                self.location(),
                "$MFT record",
                off,
                format!("$MFT entry {n}: {why}"),
            )),
            Kind::File(h) => Ok(self.load_parsed(n, h, base, fw)),
        }
    }

    fn load_parsed(&self, n: u64, h: Header, base: Vec<u8>, fixup: Option<String>) -> Loaded {
        let mut warnings = Vec::new();
        if let Some(f) = fixup {
            warnings.push(format!("$MFT entry {n}: {f}"));
        }
        let exts = if record::split_ref(h.base).0 == 0 {
            self.extensions(n, &h, &base, &mut warnings)
        } else {
            Vec::new()
        };
        Loaded {
            n,
            header: h,
            base,
            exts,
            warnings,
        }
    }

    /// The extension records a base record's `$ATTRIBUTE_LIST` names (not itself, each
    /// once, only those that say they belong to this base).
    fn extensions(
        &self,
        n: u64,
        h: &Header,
        base: &[u8],
        warn: &mut Vec<String>,
    ) -> Vec<(u64, Vec<u8>, Header)> {
        let mut w = Vec::new();
        let mut found = None;
        record::walk(base, h, n, &mut w, |a| {
            if a.ty == record::AT_ATTRIBUTE_LIST && found.is_none() {
                found = Some(a);
            }
        });
        let Some(al) = found.as_ref() else {
            return Vec::new();
        };
        let list: Vec<u8> = match (al.resident, al.nonres) {
            (Some(v), _) => v.to_vec(),
            (_, Some(nr)) => match self.read_nonresident(n, al, &nr) {
                Ok(v) => v,
                Err(e) => {
                    warn.push(format!(
                        "$MFT entry {n}: attribute list at {:#x}: {e}",
                        al.offset
                    ));
                    return Vec::new();
                }
            },
            _ => return Vec::new(),
        };
        let mut refs: Vec<(u64, u16)> = Vec::new();
        let mut pos = 0usize;
        while pos + 0x1A <= list.len() {
            let len = u16_at(&list, pos + 4) as usize;
            if len < 0x1A {
                warn.push(format!(
                    "$MFT entry {n}: attribute list entry at byte {pos} claims length {len}"
                ));
                break;
            }
            let (r, s) = record::split_ref(u64_at(&list, pos + 0x10));
            if r != n && !refs.iter().any(|x| x.0 == r) {
                if refs.len() >= MAX_EXTENSIONS {
                    warn.push(format!(
                        "$MFT entry {n}: attribute list names more than {MAX_EXTENSIONS} records"
                    ));
                    break;
                }
                refs.push((r, s));
            }
            pos += len;
        }
        let mut out = Vec::new();
        for (r, s) in refs {
            let mut b = match self.read_raw(r) {
                Ok(b) => b,
                Err(e) => {
                    warn.push(format!("$MFT entry {n}: extension record {r}: {e}"));
                    continue;
                }
            };
            let mut fw = None;
            match record::parse_header(&mut b, &mut fw) {
                Kind::File(eh) if record::split_ref(eh.base).0 == n && (eh.sequence == s || s == 0) => {
                    if let Some(f) = fw {
                        warn.push(format!("$MFT entry {r} (extension of {n}): {f}"));
                    }
                    out.push((r, b, eh));
                }
                Kind::File(eh) => warn.push(format!(
                    "$MFT entry {n}: attribute list names record {r} (sequence {s}), which belongs to {} (sequence {})",
                    record::split_ref(eh.base).0,
                    eh.sequence
                )),
                _ => warn.push(format!("$MFT entry {n}: attribute list names record {r}, which is not a FILE record")),
            }
        }
        out
    }

    /// Read a (small) non-resident attribute value: attribute lists, reparse data.
    pub(crate) fn read_nonresident(
        &self,
        n: u64,
        a: &Attr<'_>,
        nr: &record::NonRes<'_>,
    ) -> Result<Vec<u8>> {
        let loc = self
            .location()
            .child(format!("entry {n} attribute {:#x}", a.ty));
        let Some(v) = &self.vol else {
            return Err(SourceError::Unsupported {
                location: loc,
                layer: "$MFT",
                what: "non-resident attribute in a bare $MFT file".into(),
            });
        };
        if nr.size > MAX_ATTR_LIST {
            return Err(SourceError::corrupt(
                &loc,
                "attribute",
                a.offset as u64,
                format!("{} bytes is too large", nr.size),
            ));
        }
        let mut rl = Vec::new();
        runs::decode(nr.runs, nr.start_vcn, v.total_clusters, &mut rl)
            .map_err(|e| SourceError::corrupt(&loc, "runlist", a.offset as u64, e))?;
        let fd = FileData::plain(
            Clusters {
                vol: v.vol.clone(),
                runs: rl.into(),
                cluster: v.cluster,
                init: nr.init.min(nr.size),
            },
            nr.size,
            loc,
        );
        let mut out = vec![0u8; nr.size as usize];
        read_exact_at(&fd, 0, &mut out)?;
        Ok(out)
    }

    /// Record `n` as an entry, extension records merged. The path is left empty (the
    /// volume fills it).
    pub(crate) fn entry_nopath(&self, n: u64) -> Result<Entry> {
        let l = self.load(n)?;
        let (attrs, w) = l.attrs();
        let mut warnings = l.warnings.clone();
        warnings.extend(w);
        Ok(entry::build(n, &l.header, &attrs, warnings))
    }

    /// Record `n` with its path, found by walking the parents record by record.
    pub fn entry(&self, n: u64) -> Result<Entry> {
        let mut e = self.entry_nopath(n)?;
        e.path = crate::paths::walk_path(self, n);
        Ok(e)
    }

    /// The light facts of record `n` (for path walks of single entries).
    pub(crate) fn light(&self, n: u64) -> Option<Light> {
        let mut b = self.read_raw(n).ok()?;
        let mut arena = String::new();
        let nd = self.light_into(n, &mut b, &mut arena);
        Some(Light {
            file: nd.flags & F_FILE != 0,
            in_use: nd.flags & F_USE != 0,
            is_dir: nd.flags & F_DIR != 0,
            seq: nd.seq,
            base: self.base_of(&b),
            parent: nd.parent,
            pseq: nd.pseq,
            name: (nd.flags & F_NAME != 0).then_some(arena),
        })
    }

    fn base_of(&self, b: &[u8]) -> u64 {
        if b.get(0..4) == Some(b"FILE") {
            record::split_ref(u64_at(b, 0x20)).0
        } else {
            0
        }
    }

    /// Pass 1 for one record: its primary name (appended to `arena`) and parent. No
    /// allocation but the arena's growth.
    pub(crate) fn light_into(&self, n: u64, b: &mut [u8], arena: &mut String) -> Node {
        let mut fw = None;
        match record::parse_header(b, &mut fw) {
            Kind::File(h) => self.light_parsed(n, b, &h, arena),
            _ => Node::default(),
        }
    }

    /// [`Mft::light_into`] of a record whose header is parsed (fixups applied): pass 2
    /// asks it of the records that have no node in the path index.
    pub(crate) fn light_parsed(&self, n: u64, b: &[u8], h: &Header, arena: &mut String) -> Node {
        let mut pick = Pick::default();
        let mut w = Vec::new();
        record::walk(b, h, n, &mut w, |a| pick.see(&a));
        self.light_picked(n, h, pick, arena)
    }

    /// The node from the primary name [`Pick`] chose among a record's attributes.
    fn light_picked(&self, n: u64, h: &Header, pick: Pick<'_>, arena: &mut String) -> Node {
        let Pick { best, has_list } = pick;
        let base = record::split_ref(h.base).0;
        let mut nd = Node {
            seq: h.sequence,
            ..Node::default()
        };
        if base == 0 {
            nd.flags |= F_FILE;
        }
        if h.in_use() {
            nd.flags |= F_USE;
        }
        if h.is_dir() {
            nd.flags |= F_DIR;
        }
        let mut set_name = |nd: &mut Node, parent: u64, pseq: u16, push: &dyn Fn(&mut String)| {
            let off = arena.len();
            push(arena);
            nd.parent = parent;
            nd.pseq = pseq;
            nd.name_off = off as u32;
            nd.name_len = (arena.len() - off).min(u16::MAX as usize) as u16;
            nd.flags |= F_NAME;
        };
        if let Some((_, v)) = best {
            let len = v[64] as usize;
            if let Some(name) = v.get(66..66 + len * 2) {
                let (p, ps) = record::split_ref(u64_at(v, 0));
                set_name(&mut nd, p, ps, &|a: &mut String| {
                    record::push_utf16(a, name)
                });
            }
        } else if has_list && base == 0 {
            // The names live in extension records: merge (rare: many hard links).
            if let Ok(e) = self.entry_nopath(n) {
                if let Some(p) = entry::primary(&e.names) {
                    let f = &e.names[p];
                    set_name(&mut nd, f.parent.0, f.parent.1, &|a: &mut String| {
                        a.push_str(&f.name)
                    });
                }
            }
        }
        nd
    }

    /// The bytes of `count` records from `first`: borrowed from the memory map when the
    /// `$MFT` is one run of a mapped volume, read otherwise.
    fn batch_bytes(
        &self,
        first: u64,
        count: u64,
        errors: &mut Vec<String>,
    ) -> std::borrow::Cow<'_, [u8]> {
        let rs = self.record_size as u64;
        let direct = match &self.data {
            Some(d) => d.contiguous(first * rs, count * rs),
            None => self
                .stream
                .as_slice()
                .and_then(|s| s.get((first * rs) as usize..((first + count) * rs) as usize)),
        };
        if let Some(b) = direct {
            if let Some(c) = &self.counter {
                c.fetch_add(b.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            return std::borrow::Cow::Borrowed(b);
        }
        std::borrow::Cow::Owned(self.read_batch(first, count, errors))
    }

    fn read_batch(&self, first: u64, count: u64, errors: &mut Vec<String>) -> Vec<u8> {
        let rs = self.record_size as u64;
        let mut buf = vec![0u8; (count * rs) as usize];
        for h in read_lossy(&*self.stream, first * rs, &mut buf) {
            errors.push(format!(
                "$MFT records at offset {:#x} ({} bytes) unreadable: {}",
                h.offset, h.len, h.why
            ));
        }
        buf
    }

    /// Pass 1, in parallel: the primary name and parent of every record that can be a
    /// parent (directories, the root, then [`Mft::add_referenced`]). Optionally keeps the
    /// records it read (when they are not memory-mapped already) so that pass 2 does not
    /// read a small `$MFT` again: on EWF, VMDK or qcow2 that halves the bytes decoded.
    /// Kept only up to [`KEEP_MFT_MAX`] bytes.
    #[allow(clippy::type_complexity)]
    fn path_index_keeping(
        &self,
        keep: bool,
        deadline: &Deadline,
    ) -> (PathIndex, Vec<Option<(Vec<u8>, Vec<String>)>>) {
        let batches = self.count.div_ceil(BATCH);
        let keep = keep && self.count.saturating_mul(self.record_size as u64) <= KEEP_MFT_MAX;
        let refs = Refs::new(self.count);
        let (mut parts, kept): (Vec<Batch>, Vec<Option<(Vec<u8>, Vec<String>)>>) = (0..batches)
            .into_par_iter()
            .map(|b| {
                // Past the deadline the rest of pass 1 is skipped (the caller checks the
                // deadline again before pass 2 and hands out nothing).
                if deadline.expired() {
                    return (Batch::default(), None);
                }
                let first = b * BATCH;
                let cnt = BATCH.min(self.count - first);
                let mut errs = Vec::new();
                let buf = self.batch_bytes(first, cnt, &mut errs);
                let mut rec = vec![0u8; self.record_size];
                // Sized as they fill: a huge, mostly empty $MFT must not reserve
                // per-batch room for records that are not there.
                let mut arena = String::new();
                let mut present = 0;
                let mut nodes = Vec::new();
                for (i, r) in buf.chunks_exact(self.record_size).enumerate() {
                    match r.get(0..4) {
                        Some(b"FILE") => {}
                        Some([0, 0, 0, 0]) => continue,
                        _ => {
                            present += 1;
                            continue;
                        }
                    }
                    present += 1;
                    record::copy_used(r, &mut rec);
                    let n = first + i as u64;
                    let mark = arena.len();
                    let mut nd = self.light_into(n, &mut rec, &mut arena);
                    if nd.flags & (F_FILE | F_NAME) == F_FILE | F_NAME {
                        refs.mark(nd.parent);
                    }
                    // Only a directory (or the root) is a parent on a sound volume: a
                    // file's name is read again from its record in pass 2.
                    if nd.flags & (F_FILE | F_DIR) != F_FILE | F_DIR && n != ROOT {
                        arena.truncate(mark);
                        continue;
                    }
                    nd.slot = i as u16;
                    nodes.push(nd);
                }
                nodes.shrink_to_fit();
                arena.shrink_to_fit();
                let kept = match buf {
                    std::borrow::Cow::Owned(v) if keep => Some((v, errs)),
                    _ => None,
                };
                (
                    Batch {
                        nodes,
                        arena,
                        present,
                    },
                    kept,
                )
            })
            .unzip();
        if !deadline.expired() {
            self.add_referenced(&mut parts, &refs);
        }
        (PathIndex::build(parts, self.count), kept)
    }

    /// The records named as a parent that pass 1 left out of the index and that can be
    /// parents all the same: deleted non-directory base records with a name (the
    /// deleted-parent rule accepts them; an in-use file is never a valid parent, so it
    /// needs no node). Read one by one: on a sound volume there are none. Each added
    /// record's own parent is followed too, each record at most once.
    fn add_referenced(&self, parts: &mut [Batch], refs: &Refs) {
        let has = |parts: &[Batch], p: u64| {
            usize::try_from(p / BATCH)
                .ok()
                .and_then(|b| parts.get(b))
                .is_none_or(|b| b.has((p % BATCH) as u16))
        };
        let mut todo: Vec<u64> = refs.iter().filter(|&p| !has(parts, p)).collect();
        let mut seen: std::collections::HashSet<u64> = todo.iter().copied().collect();
        let mut name = String::new();
        while let Some(p) = todo.pop() {
            let Ok(mut b) = self.read_raw(p) else {
                continue;
            };
            name.clear();
            let mut nd = self.light_into(p, &mut b, &mut name);
            if nd.flags & (F_FILE | F_USE | F_NAME) != F_FILE | F_NAME {
                continue;
            }
            nd.slot = (p % BATCH) as u16;
            let Some(batch) = usize::try_from(p / BATCH)
                .ok()
                .and_then(|b| parts.get_mut(b))
            else {
                continue;
            };
            batch.insert(nd, &name);
            if !has(parts, nd.parent) && seen.insert(nd.parent) {
                todo.push(nd.parent);
            }
        }
    }

    /// Every record, parsed in parallel; `f` gets batches in MFT order. Paths come from
    /// the path index.
    pub fn for_each_entry(&self, f: impl FnMut(&[Entry])) -> Result<ScanStats> {
        self.for_each_entry_until(Deadline::none(), f)
    }

    /// [`Mft::for_each_entry`] that stops at `deadline`: checked once per batch of
    /// 1,024 records in pass 1 and before each window of 64 batches in pass 2. Entries
    /// already parsed are still handed out; [`ScanStats::timed_out`] says it stopped.
    /// A deadline met in pass 1 (the path index) hands out nothing: paths would be wrong.
    pub fn for_each_entry_until(
        &self,
        deadline: Deadline,
        mut f: impl FnMut(&[Entry]),
    ) -> Result<ScanStats> {
        let (idx, kept) = self.path_index_keeping(true, &deadline);
        let mut stats = ScanStats {
            records: self.count,
            ..ScanStats::default()
        };
        if deadline.expired() {
            stats.timed_out = true;
            return Ok(stats);
        }
        stats.index_nodes = idx.node_count() as u64;
        let batches = self.count.div_ceil(BATCH);
        let window = (WINDOW_PER_THREAD * rayon::current_num_threads() as u64).clamp(1, WINDOW_MAX);
        // Window k+1 is parsed on the pool while the caller consumes window k here.
        let mut pending: Option<Vec<(Vec<Entry>, ScanStats)>> = None;
        let mut w = 0;
        loop {
            let mut range = (w < batches).then(|| w..(w + window).min(batches));
            if range.is_some() && deadline.expired() {
                stats.timed_out = true;
                range = None;
                w = batches;
            }
            if range.is_none() && pending.is_none() {
                break;
            }
            let mut next = None;
            let idx = &idx;
            let kept = &kept;
            rayon::in_place_scope(|s| {
                if let Some(r) = range.clone() {
                    let next = &mut next;
                    s.spawn(move |_| {
                        *next = Some(
                            r.into_par_iter()
                                .map(|b| {
                                    let k = kept.get(b as usize).and_then(|k| k.as_ref());
                                    self.parse_batch(b, idx, k)
                                })
                                .collect::<Vec<_>>(),
                        );
                    });
                }
                for (entries, s) in pending.take().into_iter().flatten() {
                    stats.in_use += s.in_use;
                    stats.deleted += s.deleted;
                    stats.empty += s.empty;
                    stats.bad += s.bad;
                    stats.extension += s.extension;
                    for e in s.errors {
                        if stats.errors.len() < MAX_ERRORS {
                            stats.errors.push(e);
                        }
                    }
                    f(&entries);
                }
            });
            pending = next;
            if let Some(r) = range {
                w = r.end;
            }
        }
        Ok(stats)
    }

    fn parse_batch(
        &self,
        b: u64,
        idx: &PathIndex,
        kept: Option<&(Vec<u8>, Vec<String>)>,
    ) -> (Vec<Entry>, ScanStats) {
        let first = b * BATCH;
        let cnt = BATCH.min(self.count - first);
        let mut s = ScanStats::default();
        if !idx.batch_present(b) {
            // All zeros in pass 1: nothing to parse (a huge, mostly unused $MFT).
            s.empty = cnt;
            return (Vec::new(), s);
        }
        let buf = match kept {
            Some((bytes, errs)) => {
                s.errors.extend(errs.iter().cloned());
                std::borrow::Cow::Borrowed(bytes.as_slice())
            }
            None => self.batch_bytes(first, cnt, &mut s.errors),
        };
        let mut out = Vec::with_capacity(cnt as usize);
        let mut rec = Vec::with_capacity(self.record_size);
        let mut name = String::new();
        for (i, raw) in buf.chunks_exact(self.record_size).enumerate() {
            let n = first + i as u64;
            if raw.get(0..4) == Some(&[0, 0, 0, 0]) {
                s.empty += 1;
                continue;
            }
            record::copy_used(raw, &mut rec);
            let mut fw = None;
            match record::parse_header(&mut rec, &mut fw) {
                Kind::Empty => s.empty += 1,
                Kind::Bad(why) => {
                    s.bad += 1;
                    s.errors.push(format!(
                        "$MFT entry {n} at offset {:#x}: {why}",
                        n * self.record_size as u64
                    ));
                }
                Kind::File(h) => {
                    // Most records stand alone: parse them in the reused buffer; only a
                    // base record with an attribute list is loaded with its extensions.
                    let mut attrs = Vec::with_capacity(8);
                    let mut warnings = Vec::new();
                    if let Some(f) = &fw {
                        warnings.push(format!("$MFT entry {n}: {f}"));
                    }
                    record::attributes(&rec, &h, n, &mut attrs, &mut warnings);
                    let base = record::split_ref(h.base).0;
                    let path = if base != 0 {
                        self.path_of(idx, base)
                    } else if idx.contains(n) {
                        idx.path(n)
                    } else {
                        // A file: its own name and parent are here, not in the index;
                        // chosen as pass 1 chooses them.
                        let mut pick = Pick::default();
                        attrs.iter().for_each(|a| pick.see(a));
                        name.clear();
                        let nd = self.light_picked(n, &h, pick, &mut name);
                        idx.file_path(&nd, &name)
                    };
                    let listed = record::split_ref(h.base).0 == 0
                        && attrs.iter().any(|a| a.ty == record::AT_ATTRIBUTE_LIST);
                    let mut e = if listed {
                        drop(attrs);
                        let l = self.load_parsed(n, h, rec.clone(), fw);
                        let (attrs, w) = l.attrs();
                        let mut warnings = l.warnings.clone();
                        warnings.extend(w);
                        entry::build(n, &l.header, &attrs, warnings)
                    } else {
                        entry::build(n, &h, &attrs, warnings)
                    };
                    if e.base_record != 0 {
                        s.extension += 1;
                    }
                    e.path = path;
                    if e.in_use {
                        s.in_use += 1;
                    } else {
                        s.deleted += 1;
                    }
                    out.push(e);
                }
            }
        }
        (out, s)
    }

    /// The path of record `n` given the index: its node's, or read from its record (the
    /// base of an extension record, rare).
    fn path_of(&self, idx: &PathIndex, n: u64) -> String {
        if idx.contains(n) {
            return idx.path(n);
        }
        let Ok(mut b) = self.read_raw(n) else {
            return String::new();
        };
        let mut name = String::new();
        let nd = self.light_into(n, &mut b, &mut name);
        idx.file_path(&nd, &name)
    }
}
