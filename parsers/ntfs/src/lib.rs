//! NTFS read straight from a volume source: every MFT record in parallel with full
//! paths and both time sets, directory lookups through the `$I30` indexes, and file
//! content (resident, runlists with sparse runs, LZNT1, WOF/CompactOS) as a
//! [`ByteSource`].
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use triage_source::{FileSource, Source};
//! # fn main() -> Result<(), triage_source::SourceError> {
//! let vol: Source = Arc::new(FileSource::open("vol.img".as_ref())?);
//! let ntfs = triage_ntfs::Ntfs::open(vol)?;
//! let smss = ntfs.lookup(r"\Windows\System32\smss.exe")?;
//! ntfs.for_each_entry(|batch| for e in batch { println!("{} {}", e.entry, e.path) })?;
//! # Ok(()) }
//! ```
//!
//! # Paths
//! [`Entry::path`] is built from the `$FILE_NAME` parent references of all records
//! (see [`paths`] for the rules). Markers a path can start with:
//! - `\$Orphan\` — the parent is missing, not a directory, or was reused (sequence
//!   mismatch): typical of deleted files;
//! - `\$Cycle\` — the parent references loop (a damaged or crafted volume);
//! - `\$Truncated\` — more than [`paths::MAX_DEPTH`] components: the innermost are kept.
//!
//! A record without a name has an empty path; an extension record carries its base's.
//!
//! # Enumeration, memory
//! [`Ntfs::for_each_entry`] makes two passes over the `$MFT`, each in parallel batches
//! of 1,024 records (borrowed from the memory map when the volume is mapped and the
//! `$MFT` is one run; positioned reads otherwise). Pass 1 builds the path index of the
//! records that can be parents, the directories (about 25 bytes each plus the names in
//! one arena; nothing for files or never-used records; [`ScanStats::index_nodes`]), and
//! a bitmap of the records named as parents. Pass 2 parses every record into an
//! [`Entry`] (a file's path from its own name and its directory's indexed path) and
//! hands batches to the callback in MFT order while the next window (4 batches a pool
//! thread, at most 64) is parsed: at most two windows of entries are alive at once,
//! whatever the volume size.
//!
//! A bare `$MFT` exported by another tool is read with [`Mft::from_source`] (records
//! and paths; no file content).
//!
//! # Errors
//! Record-level problems never stop an enumeration: they go into [`Entry::warnings`] or
//! [`ScanStats::errors`], each naming the entry and the offset. Content that cannot be
//! decoded (a corrupt WOF chunk, an encrypted file) is an error, never zeros.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use triage_source::{read_exact_at, ByteSource, Location, Result, Siblings, Source, SourceError};

mod boot;
mod data;
mod entry;
mod index;
mod mft;
pub mod paths;
mod record;
mod runs;

pub use data::FileData;
pub use entry::{Entry, FileName, Flags, ScanStats, StandardInfo};
pub use index::DirEntry;
pub use mft::Mft;
pub use runs::Run;

use data::Clusters;
use record::Attr;

/// The root directory's MFT entry.
pub const ROOT_ENTRY: u64 = 5;

/// What `disk info` shows about a volume.
#[derive(Debug, Clone, Default)]
pub struct VolumeInfo {
    pub sector_size: u32,
    pub cluster_size: u32,
    pub record_size: u32,
    pub index_block_size: u32,
    /// Byte offset of the `$MFT`'s first cluster in the volume.
    pub mft_offset: u64,
    /// Size of the `$MFT`'s `$DATA`.
    pub mft_bytes: u64,
    pub record_count: u64,
    pub total_clusters: u64,
    /// Volume serial number, hex.
    pub serial: String,
    pub label: Option<String>,
    /// NTFS version (3.1 for every Windows since XP).
    pub version: Option<(u8, u8)>,
    /// Problems found opening the volume (a clamped record count, …).
    pub warnings: Vec<String>,
}

/// Counts every byte read from the volume.
struct Counting {
    inner: Source,
    n: Arc<AtomicU64>,
}

impl ByteSource for Counting {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn location(&self) -> &Location {
        self.inner.location()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let r = self.inner.read_at(offset, buf)?;
        self.n.fetch_add(r as u64, Ordering::Relaxed);
        Ok(r)
    }
    /// The zero-copy path: whoever takes bytes from the slice counts them.
    fn as_slice(&self) -> Option<&[u8]> {
        self.inner.as_slice()
    }
}

struct Inner {
    vol: Source,
    read: Arc<AtomicU64>,
    mft: Mft,
    info: VolumeInfo,
    upcase: Option<Vec<u16>>,
}

/// An NTFS volume, opened once and read from many threads (`Send + Sync`, cheap to
/// clone).
#[derive(Clone)]
pub struct Ntfs {
    inner: Arc<Inner>,
}

const MAX_UPCASE: usize = 65536;

/// The unnamed `$DATA` extents, or a named one's, merged into one runlist.
pub(crate) fn assemble(
    attrs: &[Attr<'_>],
    ty: u32,
    name: &[u8],
    total_clusters: u64,
    cluster: u64,
    warn: &mut Vec<String>,
) -> std::result::Result<(Vec<Run>, record::NonRes<'static>, u16), String> {
    let mut ext: Vec<&Attr<'_>> = attrs
        .iter()
        .filter(|a| a.ty == ty && a.name == name && a.nonres.is_some())
        .collect();
    ext.sort_by_key(|a| a.nonres.map(|n| n.start_vcn).unwrap_or(0));
    let first = ext
        .first()
        .and_then(|a| a.nonres)
        .filter(|n| n.start_vcn == 0)
        .ok_or("no extent starts at VCN 0")?;
    let flags = ext.first().map(|a| a.flags).unwrap_or(0);
    let mut runs = Vec::new();
    let mut next_vcn = 0u64;
    for a in &ext {
        let Some(nr) = a.nonres else { continue };
        if nr.start_vcn != next_vcn {
            warn.push(format!("$MFT entry {}: attribute {:#x} at {:#x}: extent starts at VCN {:#x}, expected {next_vcn:#x}", a.record, a.ty, a.offset, nr.start_vcn));
            if nr.start_vcn < next_vcn {
                continue; // overlapping extent: keep the first
            }
        }
        runs::decode(nr.runs, nr.start_vcn, total_clusters, &mut runs).map_err(|e| {
            format!(
                "$MFT entry {}: attribute {:#x} at {:#x}: {e}",
                a.record, a.ty, a.offset
            )
        })?;
        next_vcn = runs.last().map(|r| r.vcn + r.len).unwrap_or(next_vcn);
    }
    let alloc_clusters = first.alloc.div_ceil(cluster.max(1));
    if next_vcn > alloc_clusters && alloc_clusters != 0 {
        warn.push(format!(
            "runlist maps {next_vcn} clusters, more than the {alloc_clusters} allocated"
        ));
    }
    let nr = record::NonRes {
        start_vcn: 0,
        last_vcn: first.last_vcn,
        runs: &[],
        cu_shift: first.cu_shift,
        alloc: first.alloc,
        size: first.size,
        init: first.init,
    };
    Ok((runs, nr, flags))
}

impl Ntfs {
    /// Open a volume: boot sector, `$MFT` record 0 with its runlist (and attribute list
    /// / extension records), `$Volume` name and version, `$UpCase`.
    pub fn open(volume: Source) -> Result<Ntfs> {
        let read = Arc::new(AtomicU64::new(0));
        let vol: Source = Arc::new(Counting {
            inner: volume,
            n: read.clone(),
        });
        let loc = vol.location().clone();
        let mut bs = [0u8; 512];
        read_exact_at(&*vol, 0, &mut bs)?;
        let b =
            boot::parse(&bs).map_err(|e| SourceError::corrupt(&loc, "NTFS boot sector", 0, e))?;
        let cs = b.cluster_size as u64;
        let total_clusters = (vol.len() / cs)
            .max(b.total_sectors.saturating_mul(b.sector_size as u64) / cs)
            .min(vol.len() / cs + 1);
        let mft_offset = b
            .mft_lcn
            .checked_mul(cs)
            .filter(|o| o.saturating_add(b.record_size as u64) <= vol.len())
            .ok_or_else(|| {
                SourceError::corrupt(
                    &loc,
                    "NTFS boot sector",
                    0x30,
                    format!("$MFT cluster {:#x} is outside the volume", b.mft_lcn),
                )
            })?;
        let mut warnings = Vec::new();
        // Record 0 alone first: its own runs map (at least) the start of the $MFT, which
        // holds any extension records of record 0.
        let rs = b.record_size as u64;
        let boot_runs: Arc<[Run]> = Arc::from(vec![Run {
            vcn: 0,
            len: rs.div_ceil(cs).max(1),
            lcn: Some(b.mft_lcn),
        }]);
        let ctx = mft::VolCtx {
            vol: vol.clone(),
            cluster: cs,
            total_clusters,
            mft_runs: boot_runs.clone(),
        };
        let mk = |runs: Arc<[Run]>, size: u64, init: u64| -> Arc<FileData> {
            Arc::new(FileData::plain(
                Clusters {
                    vol: vol.clone(),
                    runs,
                    cluster: cs,
                    init,
                },
                size,
                loc.child("$MFT"),
            ))
        };
        let m0 = Mft {
            stream: mk(boot_runs, rs, rs),
            record_size: b.record_size as usize,
            count: 1,
            vol: Some(ctx.clone()),
            counter: None,
            data: None,
        };
        let r0 = m0.load(0)?;
        let (attrs, _) = r0.attrs();
        let (first_runs, nr0, _) = assemble(
            &attrs
                .iter()
                .filter(|a| a.record == 0)
                .copied()
                .collect::<Vec<_>>(),
            record::AT_DATA,
            &[],
            total_clusters,
            cs,
            &mut warnings,
        )
        .map_err(|e| SourceError::corrupt(&loc, "$MFT record 0", mft_offset, e))?;
        // Now with the runs of record 0: extension records (a fragmented $MFT) become
        // readable; an extension record may itself lie in a later extent, so repeat
        // until the runlist stops growing.
        let mut runs = first_runs;
        let mut nr = nr0;
        let mut load_warnings = Vec::new();
        for _ in 0..16 {
            let mapped_records = runs.iter().map(|r| r.len).sum::<u64>().saturating_mul(cs) / rs;
            let m = Mft {
                stream: mk(runs.clone().into(), nr0.size, nr0.init.min(nr0.size)),
                record_size: b.record_size as usize,
                count: mapped_records.min(nr0.size / rs),
                vol: Some(ctx.clone()),
                counter: None,
                data: None,
            };
            let r0 = m.load(0)?;
            let (attrs, _) = r0.attrs();
            let mut w = Vec::new();
            let (more, nr_more, _) =
                assemble(&attrs, record::AT_DATA, &[], total_clusters, cs, &mut w)
                    .map_err(|e| SourceError::corrupt(&loc, "$MFT record 0", mft_offset, e))?;
            load_warnings = r0.warnings.clone();
            load_warnings.extend(w);
            let grew = more.len() > runs.len();
            runs = more;
            nr = nr_more;
            if !grew {
                break;
            }
        }
        warnings.extend(load_warnings);
        let mapped = runs
            .iter()
            .filter(|r| r.lcn.is_some())
            .map(|r| r.len)
            .sum::<u64>()
            .saturating_mul(cs);
        let mut count = nr.size / rs;
        let bound = mapped.min(vol.len()) / rs;
        if count > bound {
            warnings.push(format!(
                "$MFT $DATA claims {count} records but its runs map only {bound}: reading {bound}"
            ));
            count = bound;
        }
        let mft_runs: Arc<[Run]> = runs.into();
        let ctx = mft::VolCtx {
            mft_runs: mft_runs.clone(),
            ..ctx
        };
        let data = mk(mft_runs, nr.size, nr.init.min(nr.size));
        let mft = Mft {
            stream: data.clone(),
            record_size: b.record_size as usize,
            count,
            vol: Some(ctx),
            counter: Some(read.clone()),
            data: Some(data),
        };
        let mut info = VolumeInfo {
            sector_size: b.sector_size,
            cluster_size: b.cluster_size,
            record_size: b.record_size,
            index_block_size: b.index_block_size,
            mft_offset,
            mft_bytes: nr.size,
            record_count: count,
            total_clusters,
            serial: format!("{:016X}", b.serial),
            label: None,
            version: None,
            warnings,
        };
        let mut ntfs = Inner {
            vol,
            read,
            mft,
            info: info.clone(),
            upcase: None,
        };
        if let Ok(l) = ntfs.mft.load(3) {
            let (attrs, _) = l.attrs();
            for a in &attrs {
                match (a.ty, a.resident) {
                    (record::AT_VOLUME_NAME, Some(v)) => info.label = Some(record::utf16(v)),
                    (record::AT_VOLUME_INFORMATION, Some(v)) if v.len() >= 10 => {
                        info.version = Some((v[8], v[9]))
                    }
                    _ => {}
                }
            }
        }
        ntfs.info = info;
        let mut n = Ntfs {
            inner: Arc::new(ntfs),
        };
        // $UpCase (entry 10): the collation table for case-insensitive lookups.
        let up = n.open_stream(10, "").ok().and_then(|fd| {
            let len = (fd.len() as usize).min(MAX_UPCASE * 2);
            let mut b = vec![0u8; len];
            read_exact_at(&fd, 0, &mut b).ok()?;
            Some(
                b.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<u16>>(),
            )
        });
        if let Some(inner) = Arc::get_mut(&mut n.inner) {
            inner.upcase = up.filter(|u| u.len() == MAX_UPCASE);
        }
        Ok(n)
    }

    pub fn info(&self) -> &VolumeInfo {
        &self.inner.info
    }

    /// The `$MFT` as a record table.
    pub fn mft(&self) -> &Mft {
        &self.inner.mft
    }

    /// Bytes this reader has read from the volume so far.
    pub fn bytes_read(&self) -> u64 {
        self.inner.read.load(Ordering::Relaxed)
    }

    /// One record with its extension records merged and its path.
    pub fn entry(&self, n: u64) -> Result<Entry> {
        self.inner.mft.entry(n)
    }

    /// Every record (in use and deleted), parsed in parallel in batches; `f` gets the
    /// batches in MFT order, paths filled in. Memory stays bounded: only a window of
    /// batches is alive at once, plus the compact path index.
    pub fn for_each_entry(&self, f: impl FnMut(&[Entry])) -> Result<ScanStats> {
        self.inner.mft.for_each_entry(f)
    }

    /// [`Ntfs::for_each_entry`] with a time budget: stops at `deadline` (checked every
    /// batch), hands out what was parsed, and sets [`ScanStats::timed_out`].
    pub fn for_each_entry_until(
        &self,
        deadline: triage_source::Deadline,
        f: impl FnMut(&[Entry]),
    ) -> Result<ScanStats> {
        self.inner.mft.for_each_entry_until(deadline, f)
    }

    fn upcase(&self) -> impl Fn(u16) -> u16 + '_ {
        move |c: u16| match &self.inner.upcase {
            Some(t) => t.get(c as usize).copied().unwrap_or(c),
            None => simple_upcase(c),
        }
    }

    fn dir(&self, n: u64) -> Result<index::Dir> {
        let l = self.inner.mft.load(n)?;
        let (attrs, _) = l.attrs();
        let i30 = |a: &&Attr<'_>| a.name_is("$I30");
        let root = attrs
            .iter()
            .filter(i30)
            .find(|a| a.ty == record::AT_INDEX_ROOT)
            .and_then(|a| a.resident)
            .ok_or_else(|| {
                SourceError::corrupt(
                    self.inner.mft.location(),
                    "directory",
                    n * self.inner.info.record_size as u64,
                    format!("$MFT entry {n} has no $I30 index root (not a directory?)"),
                )
            })?;
        let block_size = record::u32_at(root, 8);
        let block_size = if (512..=65536).contains(&block_size) && block_size.is_power_of_two() {
            block_size
        } else {
            self.inner.info.index_block_size
        };
        let mut warn = Vec::new();
        let alloc = if attrs
            .iter()
            .any(|a| a.ty == record::AT_INDEX_ALLOCATION && a.name_is("$I30"))
        {
            Some(self.data_of(
                n,
                &attrs,
                record::AT_INDEX_ALLOCATION,
                "$I30",
                &mut warn,
                self.inner.mft.location().child(format!("entry {n} $I30")),
            )?)
        } else {
            None
        };
        let bitmap = attrs
            .iter()
            .filter(i30)
            .find(|a| a.ty == 0xB0)
            .and_then(|a| match (a.resident, a.nonres) {
                (Some(v), _) => Some(v.to_vec()),
                (_, Some(nr)) => self.inner.mft.read_nonresident(n, a, &nr).ok(),
                _ => None,
            });
        let loc = self.inner.mft.location().child(format!("entry {n} $I30"));
        Ok(index::Dir {
            root: root.to_vec(),
            alloc,
            bitmap,
            block_size,
            cluster: self.inner.info.cluster_size,
            loc,
        })
    }

    /// Find a path (`\Windows\System32\smss.exe`, `/` also accepted) through the
    /// directory indexes, case-insensitively. `Ok(None)` when a component is missing.
    pub fn lookup(&self, path: &str) -> Result<Option<u64>> {
        let mut cur = ROOT_ENTRY;
        let up = self.upcase();
        for comp in path.split(['\\', '/']).filter(|c| !c.is_empty()) {
            let d = self.dir(cur)?;
            match d.find(comp, &up)? {
                Some((n, _)) => cur = n,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// The entries of a directory's index (every name space; deduplicated).
    pub fn list_dir(&self, dir_entry: u64) -> Result<Vec<DirEntry>> {
        let d = self.dir(dir_entry)?;
        let mut w = Vec::new();
        let mut v = d.list(&mut w);
        v.sort_by(|a, b| (a.file, &a.name).cmp(&(b.file, &b.name)));
        v.dedup_by(|a, b| a.file == b.file && a.name == b.name);
        Ok(v)
    }

    /// A [`Siblings`] over a directory: how a hive's `.LOG1`/`.LOG2` are found.
    pub fn siblings(&self, dir_entry: u64) -> DirSiblings {
        DirSiblings {
            ntfs: self.clone(),
            dir: dir_entry,
        }
    }

    /// A non-resident attribute's content.
    fn data_of(
        &self,
        n: u64,
        attrs: &[Attr<'_>],
        ty: u32,
        name: &str,
        warn: &mut Vec<String>,
        loc: Location,
    ) -> Result<FileData> {
        let name16: Vec<u8> = name.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let i = &self.inner;
        let cs = i.info.cluster_size as u64;
        let (runs, nr, flags) = assemble(attrs, ty, &name16, i.info.total_clusters, cs, warn)
            .map_err(|e| SourceError::corrupt(&loc, "runlist", n * i.info.record_size as u64, e))?;
        if n != 0 {
            if let Some(v) = &i.mft.vol {
                if let Some((a, _)) = runs::overlaps(&runs, &v.mft_runs) {
                    warn.push(format!(
                        "$MFT entry {n}: run {a} (LCN {:#x}) overlaps the $MFT",
                        runs[a].lcn.unwrap_or(0)
                    ));
                }
            }
        }
        if runs.len() > 1 {
            let mut s: Vec<Run> = runs.iter().filter(|r| r.lcn.is_some()).copied().collect();
            s.sort_by_key(|r| r.lcn);
            if s.windows(2)
                .any(|w| w[0].lcn.unwrap_or(0).saturating_add(w[0].len) > w[1].lcn.unwrap_or(0))
            {
                warn.push(format!(
                    "$MFT entry {n}: two runs of the same attribute map the same clusters"
                ));
            }
        }
        let c = Clusters {
            vol: i.vol.clone(),
            runs: runs.into(),
            cluster: cs,
            init: nr.init.min(nr.size),
        };
        if flags & 0x0001 != 0 && nr.cu_shift != 0 {
            let unit = cs << nr.cu_shift;
            if cs > 4096 || unit > 1 << 20 {
                return Err(SourceError::Unsupported {
                    location: loc,
                    layer: "NTFS compression",
                    what: format!("compression unit of {unit} bytes ({cs}-byte clusters)"),
                });
            }
            // Compressed clusters are not "initialised" in the plain sense: the unit
            // decoder reads raw clusters; zeros past init apply to the output.
            let c = Clusters {
                init: u64::MAX,
                ..c
            };
            return Ok(FileData::lznt1(c, unit, nr.size, loc));
        }
        Ok(FileData::plain(c, nr.size, loc))
    }

    /// A file's content: `stream` = "" for the unnamed `$DATA`, else an ADS name
    /// (case-insensitive). WOF-compressed files (CompactOS) decode their
    /// `WofCompressedData`; LZNT1-compressed files decode their compression units;
    /// EFS-encrypted files are an error.
    pub fn open_stream(&self, entry: u64, stream: &str) -> Result<FileData> {
        let path = if entry < 16 {
            format!("\\{}", sys_name(entry))
        } else {
            paths::walk_path(&self.inner.mft, entry)
        };
        self.open_stream_at(entry, stream, &path)
    }

    /// [`Ntfs::open_stream`] for a caller that already knows the entry's path (from an
    /// enumeration): the path only names the content's location, and walking it again
    /// from the parents would read one record per directory level.
    pub fn open_stream_at(&self, entry: u64, stream: &str, path: &str) -> Result<FileData> {
        let path = path.to_string();
        let i = &self.inner;
        let l = i.mft.load(entry)?;
        let (attrs, mut warn) = l.attrs();
        let loc = i.vol.location().child(if stream.is_empty() {
            path
        } else {
            format!("{path}:{stream}")
        });
        let si_encrypted = attrs
            .iter()
            .find(|a| a.ty == record::AT_STANDARD_INFORMATION)
            .and_then(|a| a.resident)
            .is_some_and(|v| record::u32_at(v, 32) & 0x4000 != 0);
        let datas: Vec<&Attr<'_>> = attrs.iter().filter(|a| a.ty == record::AT_DATA).collect();
        let named = |want: &str| -> Option<String> {
            datas
                .iter()
                .map(|a| a.name_string())
                .find(|n| n == want)
                .or_else(|| {
                    datas.iter().map(|a| a.name_string()).find(|n| {
                        n.eq_ignore_ascii_case(want) || n.to_lowercase() == want.to_lowercase()
                    })
                })
        };
        let sname = if stream.is_empty() {
            String::new()
        } else {
            named(stream).ok_or_else(|| SourceError::Unsupported {
                location: loc.clone(),
                layer: "NTFS",
                what: format!("no stream named {stream:?}"),
            })?
        };
        let s16: Vec<u8> = sname.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let attr = datas.iter().find(|a| {
            a.name == s16.as_slice()
                && (a.resident.is_some() || a.nonres.is_some_and(|n| n.start_vcn == 0))
        });
        let encrypted = si_encrypted
            || attr.is_some_and(|a| a.is_encrypted())
            || attrs
                .iter()
                .any(|a| a.ty == record::AT_LOGGED_UTILITY_STREAM && a.name_is("$EFS"));
        if encrypted && stream.is_empty() {
            return Err(SourceError::Unsupported {
                location: loc,
                layer: "NTFS",
                what:
                    "the file is EFS-encrypted: its content cannot be read without the user's key"
                        .into(),
            });
        }
        if stream.is_empty() {
            if let Some(w) = self.wof(
                entry,
                &attrs,
                attr.map(|a| a.size()).unwrap_or(0),
                &loc,
                &mut warn,
            )? {
                return Ok(w.with_warnings(warn));
            }
        }
        let attr = attr.ok_or_else(|| SourceError::Unsupported {
            location: loc.clone(),
            layer: "NTFS",
            what: format!(
                "$MFT entry {entry} has no {} $DATA",
                if stream.is_empty() { "unnamed" } else { "such" }
            ),
        })?;
        if let Some(v) = attr.resident {
            return Ok(FileData::resident(v, loc).with_warnings(warn));
        }
        let fd = self.data_of(entry, &attrs, record::AT_DATA, &sname, &mut warn, loc)?;
        Ok(fd.with_warnings(warn))
    }

    /// The decompressed content of a WOF-compressed file, if it is one.
    fn wof(
        &self,
        entry: u64,
        attrs: &[Attr<'_>],
        size: u64,
        loc: &Location,
        warn: &mut Vec<String>,
    ) -> Result<Option<FileData>> {
        let Some(rp) = attrs.iter().find(|a| a.ty == record::AT_REPARSE_POINT) else {
            return Ok(None);
        };
        let rd: Vec<u8> = match (rp.resident, rp.nonres) {
            (Some(v), _) => v.to_vec(),
            (_, Some(nr)) => self.inner.mft.read_nonresident(entry, rp, &nr)?,
            _ => return Ok(None),
        };
        if record::u32_at(&rd, 0) != entry::TAG_WOF {
            return Ok(None);
        }
        let provider = record::u32_at(&rd, 12);
        if provider != 2 {
            return Err(SourceError::Unsupported {
                location: loc.clone(),
                layer: "WOF",
                what: format!(
                    "provider {provider} (only the file provider, 2, is read; 1 = WIM-backed)"
                ),
            });
        }
        let alg = record::u32_at(&rd, 20);
        let wname = "WofCompressedData";
        let w16: Vec<u8> = wname.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let sloc = loc.child(format!(":{wname}"));
        let stream = match attrs.iter().find(|a| {
            a.ty == record::AT_DATA
                && a.name == w16.as_slice()
                && (a.resident.is_some() || a.nonres.is_some_and(|n| n.start_vcn == 0))
        }) {
            Some(a) => match a.resident {
                Some(v) => FileData::resident(v, sloc),
                None => self.data_of(entry, attrs, record::AT_DATA, wname, warn, sloc)?,
            },
            None => {
                return Err(SourceError::corrupt(
                    loc,
                    "WOF",
                    0,
                    "WOF reparse point but no WofCompressedData stream",
                ))
            }
        };
        Ok(Some(FileData::wof(stream, alg, size, loc.clone())?))
    }
}

fn sys_name(n: u64) -> &'static str {
    [
        "$MFT", "$MFTMirr", "$LogFile", "$Volume", "$AttrDef", ".", "$Bitmap", "$Boot", "$BadClus",
        "$Secure", "$UpCase", "$Extend",
    ]
    .get(n as usize)
    .copied()
    .unwrap_or("")
}

/// Upper-casing without the volume's table: one-to-one BMP mappings only.
fn simple_upcase(c: u16) -> u16 {
    char::from_u32(c as u32)
        .map(|ch| {
            let mut u = ch.to_uppercase();
            match (u.next(), u.next()) {
                (Some(x), None) if (x as u32) < 0x10000 => x as u16,
                _ => c,
            }
        })
        .unwrap_or(c)
}

/// The files of one directory of a volume, as [`Siblings`].
pub struct DirSiblings {
    ntfs: Ntfs,
    dir: u64,
}

impl Siblings for DirSiblings {
    fn open(&self, name: &str) -> Result<Option<Source>> {
        if name.is_empty() || name.contains(['\\', '/']) {
            return Ok(None);
        }
        let d = self.ntfs.dir(self.dir)?;
        match d.find(name, &self.ntfs.upcase())? {
            Some((n, _)) => Ok(Some(Arc::new(self.ntfs.open_stream(n, "")?) as Source)),
            None => Ok(None),
        }
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ntfs
            .list_dir(self.dir)
            .map(|es| {
                es.into_iter()
                    .filter(|e| !e.is_dir && e.namespace != 2)
                    .map(|e| e.name)
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }
}

/// A FILETIME (100 ns since 1601-01-01 UTC) as `YYYY-MM-DD HH:MM:SS.fffffff`, the form
/// sleuthkit's `istat` prints (the calendar is `triage_bytes::FileTime`'s).
pub fn format_filetime(ft: u64) -> String {
    let c = triage_bytes::FileTime(ft).civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:07}",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.ticks
    )
}

/// The readers are shared across threads: a compile-time check.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Ntfs>();
    shared::<Mft>();
    shared::<FileData>();
    shared::<DirSiblings>();
};
