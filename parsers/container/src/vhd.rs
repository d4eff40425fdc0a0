//! VHD (Virtual PC / Hyper-V v1): fixed, dynamic and differencing disks.
//!
//! A 512-byte big-endian footer (`conectix`) ends the file; dynamic and differencing
//! disks keep a copy at offset 0 and a `cxsparse` header that points to the block
//! allocation table (BAT). Each allocated block is a sector bitmap followed by the data.
//! In a differencing disk a sector whose bitmap bit is 0 is read from the parent, which
//! is found by file name through [`Siblings`] (never by the absolute path the evidence
//! names). A missing parent opens anyway: its sectors read as holes.
//!
//! This module also holds the pieces `vhdx` shares: the parent link, whole reads and
//! bitmap runs.

use std::sync::Arc;

use triage_source::{ByteSource, ChunkCache, Location, Result, Siblings, Source, SourceError};

use crate::{Container, ContainerKind};

const LAYER: &str = "vhd";
const UNUSED: u32 = u32::MAX;
/// The longest parent chain followed (Hyper-V snapshot trees are rarely deeper than a few).
pub(crate) const MAX_CHAIN: usize = 16;

/// Where sectors that a disk does not hold itself come from.
pub(crate) enum Parent {
    /// A disk without a parent: zeros.
    Zeros,
    Disk(Source),
    /// The parent could not be opened: its sectors are holes, with this reason.
    Missing(String),
}

impl Parent {
    /// Read the parent's bytes at `offset` (the same virtual offsets as the child). Past
    /// the parent's end (a parent smaller than its child) reads zeros.
    pub(crate) fn read(&self, loc: &Location, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match self {
            Parent::Zeros => {
                buf.fill(0);
                Ok(buf.len())
            }
            Parent::Missing(why) => Err(SourceError::Hole {
                location: loc.clone(),
                offset,
                len: buf.len() as u64,
                why: why.clone(),
            }),
            Parent::Disk(src) => {
                if offset >= src.len() {
                    buf.fill(0);
                    return Ok(buf.len());
                }
                let n = (buf.len() as u64).min(src.len() - offset) as usize;
                match src.read_at(offset, &mut buf[..n]) {
                    Ok(0) => {
                        buf[..n].fill(0);
                        Ok(n)
                    }
                    Ok(k) => Ok(k),
                    Err(SourceError::Hole {
                        offset, len, why, ..
                    }) => Err(SourceError::Hole {
                        location: loc.clone(),
                        offset,
                        len,
                        why,
                    }),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// Read as much of `buf` as the source holds at `offset` (looping over short reads);
/// the count is short only at the end or at a hole after some good bytes.
pub(crate) fn read_full(src: &dyn ByteSource, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match src.read_at(offset + done as u64, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Read `buf` from the container file at `file_off` for the virtual offset `disk_off`:
/// bytes missing from the file (a truncated image, an entry past the end) are a hole.
pub(crate) fn read_data(
    file: &dyn ByteSource,
    loc: &Location,
    file_off: u64,
    disk_off: u64,
    buf: &mut [u8],
    layer: &str,
) -> Result<usize> {
    let want = buf.len() as u64;
    let hole = |why: String| SourceError::Hole {
        location: loc.clone(),
        offset: disk_off,
        len: want,
        why,
    };
    match read_full(file, file_off, buf) {
        Ok(0) if !buf.is_empty() => Err(hole(format!(
            "{layer} data at file offset {file_off:#x} lies past the end of the file"
        ))),
        Ok(n) => Ok(n),
        Err(e) => Err(hole(format!(
            "{layer} data at file offset {file_off:#x}: {e}"
        ))),
    }
}

/// The value of bit `first` of `bitmap` and how many bits from there (at most `max`)
/// share it. VHD numbers bits from the most significant, VHDX from the least. Bits
/// past the bitmap's end read as 0.
pub(crate) fn bit_run(bitmap: &[u8], first: u64, max: u64, msb_first: bool) -> (bool, u64) {
    let bit = |i: u64| -> bool {
        let byte = bitmap.get((i / 8) as usize).copied().unwrap_or(0);
        let shift = if msb_first { 7 - (i % 8) } else { i % 8 };
        (byte >> shift) & 1 == 1
    };
    let v = bit(first);
    let mut n = 1;
    while n < max {
        let i = first + n;
        // Whole bytes at a time where they agree, bit by bit at the edges.
        if i.is_multiple_of(8) && n + 8 <= max {
            let byte = bitmap.get((i / 8) as usize).copied().unwrap_or(0);
            if byte == if v { 0xFF } else { 0 } {
                n += 8;
                continue;
            }
        }
        if bit(i) != v {
            break;
        }
        n += 1;
    }
    (v, n)
}

/// The last path component of a name from evidence (`C:\VMs\base.vhd` → `base.vhd`), so
/// only the directory that holds the child is ever searched.
pub(crate) fn file_name(path: &str) -> Option<String> {
    let name = path
        .trim_end_matches('\0')
        .rsplit(['\\', '/'])
        .find(|s| !s.is_empty())?
        .trim();
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

use triage_bytes::be::{u32_or_zero as be32, u64_or_zero as be64};

/// The footer/header checksum: the one's complement of the byte sum without the field.
fn checksum(b: &[u8], field: usize) -> u32 {
    let sum = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !(field..field + 4).contains(i))
        .fold(0u32, |s, (_, &x)| s.wrapping_add(u32::from(x)));
    !sum
}

fn hex_id(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if h.len() != 32 {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DiskType {
    Fixed,
    Dynamic,
    Differencing,
}

/// One parsed VHD file, before its parent is attached.
struct Parsed {
    file: Source,
    ty: DiskType,
    size: u64,
    unique_id: [u8; 16],
    /// For dynamic and differencing disks.
    sparse: Option<Sparse>,
    warnings: Vec<String>,
}

struct Sparse {
    bat: Vec<u32>,
    block_size: u64,
    bitmap_len: u64,
    parent_id: [u8; 16],
    /// Parent file names, most trusted first (relative locator first).
    parent_names: Vec<String>,
}

fn parse(file: Source) -> Result<Parsed> {
    let loc = file.location().clone();
    let len = file.len();
    if len < 512 {
        return Err(SourceError::corrupt(
            &loc,
            LAYER,
            0,
            "smaller than a VHD footer",
        ));
    }
    let mut warnings = Vec::new();
    let mut footer = [0u8; 512];
    triage_source::read_exact_at(&*file, len - 512, &mut footer)?;
    if &footer[..8] != b"conectix" {
        // A dynamic disk keeps a copy at the start: use it when the end is damaged.
        triage_source::read_exact_at(&*file, 0, &mut footer)?;
        if &footer[..8] != b"conectix" {
            return Err(SourceError::corrupt(
                &loc,
                LAYER,
                len - 512,
                "no conectix footer",
            ));
        }
        warnings.push("VHD footer at the end is damaged; the copy at offset 0 was used".into());
    }
    if checksum(&footer, 64) != be32(&footer, 64) {
        warnings.push("VHD footer checksum does not match".into());
    }
    let size = be64(&footer, 48);
    let ty = match be32(&footer, 60) {
        2 => DiskType::Fixed,
        3 => DiskType::Dynamic,
        4 => DiskType::Differencing,
        t => {
            return Err(crate::unsupported(&file, LAYER, &format!("disk type {t}")));
        }
    };
    let mut unique_id = [0u8; 16];
    unique_id.copy_from_slice(&footer[68..84]);
    let sparse = match ty {
        DiskType::Fixed => None,
        _ => Some(parse_sparse(&file, be64(&footer, 16), size, &mut warnings)?),
    };
    Ok(Parsed {
        file,
        ty,
        size,
        unique_id,
        sparse,
        warnings,
    })
}

fn parse_sparse(
    file: &Source,
    hdr_off: u64,
    size: u64,
    warnings: &mut Vec<String>,
) -> Result<Sparse> {
    let loc = file.location();
    let len = file.len();
    let mut h = [0u8; 1024];
    triage_source::read_exact_at(&**file, hdr_off, &mut h).map_err(|_| {
        SourceError::corrupt(loc, LAYER, hdr_off, "dynamic header lies past the end")
    })?;
    if &h[..8] != b"cxsparse" {
        return Err(SourceError::corrupt(
            loc,
            LAYER,
            hdr_off,
            "no cxsparse dynamic header",
        ));
    }
    if checksum(&h, 36) != be32(&h, 36) {
        warnings.push("VHD dynamic header checksum does not match".into());
    }
    let bat_off = be64(&h, 16);
    let max_entries = u64::from(be32(&h, 28));
    let block_size = u64::from(be32(&h, 32));
    if !block_size.is_power_of_two() || !(512..=1 << 28).contains(&block_size) {
        return Err(SourceError::corrupt(
            loc,
            LAYER,
            hdr_off + 32,
            format!("block size {block_size}"),
        ));
    }
    let needed = size.div_ceil(block_size);
    if max_entries < needed {
        warnings.push(format!(
            "VHD BAT has {max_entries} entries for {needed} blocks; the rest read as unallocated"
        ));
    }
    let entries = max_entries.min(needed);
    let bat_bytes = entries * 4;
    if bat_off.checked_add(bat_bytes).is_none_or(|end| end > len) {
        return Err(SourceError::corrupt(
            loc,
            "vhd BAT",
            bat_off,
            format!("{entries} entries run past the end of the file ({len} bytes)"),
        ));
    }
    let mut raw = vec![0u8; bat_bytes as usize];
    triage_source::read_exact_at(&**file, bat_off, &mut raw)?;
    let bat = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let bitmap_len = (block_size / 512).div_ceil(8).next_multiple_of(512);
    let mut parent_id = [0u8; 16];
    parent_id.copy_from_slice(&h[40..56]);
    let parent_names = parent_names(file, &h);
    Ok(Sparse {
        bat,
        block_size,
        bitmap_len,
        parent_id,
        parent_names,
    })
}

/// The parent's file name from each locator, then from the header's Unicode name.
fn parent_names(file: &Source, h: &[u8]) -> Vec<String> {
    let mut found: Vec<(u8, String)> = Vec::new();
    for i in 0..8 {
        let e = 576 + 24 * i;
        let code = h.get(e..e + 4).unwrap_or(&[0; 4]);
        let data_len = u64::from(be32(h, e + 8)).min(4096) as usize;
        let data_off = be64(h, e + 16);
        let rank = match code {
            b"W2ru" => 0,
            b"W2ku" => 1,
            b"MacX" => 2,
            b"Wi2r" => 3,
            b"Wi2k" => 4,
            _ => continue,
        };
        let mut data = vec![0u8; data_len];
        if triage_source::read_exact_at(&**file, data_off, &mut data).is_err() {
            continue;
        }
        let text = match rank {
            0 | 1 => utf16(&data, false),
            2 => percent_decode(&String::from_utf8_lossy(&data)),
            _ => String::from_utf8_lossy(&data).into_owned(),
        };
        if let Some(n) = file_name(&text) {
            found.push((rank, n));
        }
    }
    found.sort_by_key(|(r, _)| *r);
    let mut names: Vec<String> = found.into_iter().map(|(_, n)| n).collect();
    if let Some(n) = file_name(&utf16(&h[64..576], true)) {
        names.push(n);
    }
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
            out.push(n);
        }
    }
    out
}

/// UTF-16 text up to the first NUL.
pub(crate) fn utf16(b: &[u8], big_endian: bool) -> String {
    if big_endian {
        triage_bytes::utf16::be_until_nul(b)
    } else {
        triage_bytes::utf16::until_nul(b)
    }
}

/// `%20` and friends in a Mac `file://` URL.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A VHD's virtual disk.
struct VhdDisk {
    file: Source,
    location: Location,
    size: u64,
    sparse: Option<Sparse>,
    differencing: bool,
    parent: Parent,
    bitmaps: ChunkCache,
}

impl VhdDisk {
    fn bitmap(&self, block: u64, start: u64) -> Result<Arc<[u8]>> {
        let len = self.sparse.as_ref().map_or(0, |s| s.bitmap_len) as usize;
        self.bitmaps.get_or_load(block, || {
            let mut b = vec![0u8; len];
            triage_source::read_exact_at(&*self.file, start, &mut b)?;
            Ok(Arc::from(b))
        })
    }
}

impl ByteSource for VhdDisk {
    fn len(&self) -> u64 {
        self.size
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.size - offset) as usize;
        let Some(sp) = &self.sparse else {
            // Fixed: the data, then the footer.
            let data_end = self.file.len().saturating_sub(512);
            let n = (n as u64).min(data_end.saturating_sub(offset)) as usize;
            if n == 0 {
                return Err(SourceError::Hole {
                    location: self.location.clone(),
                    offset,
                    len: self.size - offset,
                    why: format!("fixed VHD truncated: its data ends at {data_end:#x}"),
                });
            }
            return read_data(
                &*self.file,
                &self.location,
                offset,
                offset,
                &mut buf[..n],
                LAYER,
            );
        };
        let bs = sp.block_size;
        let block = offset / bs;
        let within = offset % bs;
        let n = (n as u64).min(bs - within) as usize;
        let buf = &mut buf[..n];
        let entry = usize::try_from(block)
            .ok()
            .and_then(|b| sp.bat.get(b))
            .copied()
            .unwrap_or(UNUSED);
        if entry == UNUSED {
            return self.parent.read(&self.location, offset, buf);
        }
        let start = u64::from(entry) * 512;
        let data = start + sp.bitmap_len;
        if !self.differencing {
            // Dynamic disks: an allocated block's data is its content, bitmap or not
            // (what qemu and Hyper-V read).
            return read_data(
                &*self.file,
                &self.location,
                data + within,
                offset,
                buf,
                LAYER,
            );
        }
        let bitmap = self.bitmap(block, start).map_err(|e| SourceError::Hole {
            location: self.location.clone(),
            offset,
            len: n as u64,
            why: format!("sector bitmap of block {block} at {start:#x}: {e}"),
        })?;
        let sector = within / 512;
        let last = (within + n as u64).div_ceil(512);
        let (mine, run) = bit_run(&bitmap, sector, last - sector, true);
        let m = ((sector + run) * 512 - within).min(n as u64) as usize;
        if mine {
            read_data(
                &*self.file,
                &self.location,
                data + within,
                offset,
                &mut buf[..m],
                LAYER,
            )
        } else {
            self.parent.read(&self.location, offset, &mut buf[..m])
        }
    }
}

fn type_name(ty: DiskType) -> &'static str {
    match ty {
        DiskType::Fixed => "fixed",
        DiskType::Dynamic => "dynamic",
        DiskType::Differencing => "differencing",
    }
}

/// Open a VHD (fixed, dynamic or differencing) as its virtual disk.
///
/// A differencing disk's parents are opened by file name through `siblings`, up to
/// 16 deep; a parent that is missing, unreadable or loops back into the chain
/// is a warning, and the sectors it would have supplied read as
/// [`SourceError::Hole`]s.
///
/// `variant` is `fixed`, `dynamic` or `differencing`; `files` lists the child, then its
/// parents; `facts` are `block_size` (not for fixed disks), `virtual_size`,
/// `logical_sector_size`, `disk_id` (the footer's unique id, as vhdiinfo prints it) and,
/// for a differencing disk, `parent` (the file name looked for) and `parent_id`.
pub fn open(file: Source, siblings: &dyn Siblings) -> Result<Container> {
    let first = parse(file)?;
    let mut warnings = first.warnings.clone();
    let mut facts: Vec<(&'static str, String)> = vec![
        ("virtual_size", first.size.to_string()),
        ("logical_sector_size", "512".into()),
        ("disk_id", hex_id(&first.unique_id)),
    ];
    if let Some(sp) = &first.sparse {
        facts.insert(0, ("block_size", sp.block_size.to_string()));
    }
    let variant = type_name(first.ty).to_string();
    let mut chain = vec![first];
    let mut missing: Option<String> = None;
    while let Some(last) = chain.last() {
        if last.ty != DiskType::Differencing {
            break;
        }
        let Some(sp) = &last.sparse else { break };
        if chain.len() == 1 {
            if let Some(n) = sp.parent_names.first() {
                facts.push(("parent", n.clone()));
            }
            facts.push(("parent_id", hex_id(&sp.parent_id)));
        }
        let who = last.file.location().last().to_string();
        if chain.len() >= MAX_CHAIN {
            missing = Some(format!("parent chain deeper than {MAX_CHAIN} at {who}"));
            break;
        }
        let Some((name, src)) = find_parent(&sp.parent_names, siblings) else {
            let name = sp
                .parent_names
                .first()
                .cloned()
                .unwrap_or_else(|| "(unnamed)".into());
            missing = Some(format!("parent {name} not found"));
            break;
        };
        let looped = chain.iter().any(|p| {
            p.file.location().last().eq_ignore_ascii_case(&name)
                || file_name(p.file.location().last())
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        if looped {
            missing = Some(format!("parent chain loops back to {name}"));
            break;
        }
        let parent = match parse(src) {
            Ok(p) => p,
            Err(e) => {
                missing = Some(format!("parent {name} unreadable: {e}"));
                break;
            }
        };
        if parent.unique_id != sp.parent_id {
            warnings.push(format!(
                "parent {name} has id {} but {who} expects {}",
                hex_id(&parent.unique_id),
                hex_id(&sp.parent_id)
            ));
        }
        if chain
            .iter()
            .any(|p| p.unique_id == parent.unique_id && parent.unique_id != [0; 16])
        {
            missing = Some(format!("parent chain loops back to {name} (same disk id)"));
            break;
        }
        warnings.extend(parent.warnings.iter().map(|w| format!("{name}: {w}")));
        chain.push(parent);
    }
    if let Some(m) = &missing {
        warnings.push(format!("{m}: its sectors read as holes"));
    }
    let files: Vec<String> = chain
        .iter()
        .map(|p| p.file.location().to_string())
        .collect();
    // Build from the deepest parent up, each disk reading through the one below.
    let mut parent = match missing {
        Some(m) => Parent::Missing(m),
        None => Parent::Zeros,
    };
    let mut disk: Option<Source> = None;
    for p in chain.into_iter().rev() {
        let differencing = p.ty == DiskType::Differencing;
        let d: Source = Arc::new(VhdDisk {
            location: p.file.location().clone(),
            file: p.file,
            size: p.size,
            sparse: p.sparse,
            differencing,
            parent: if differencing { parent } else { Parent::Zeros },
            bitmaps: ChunkCache::new(1 << 20),
        });
        parent = Parent::Disk(d.clone());
        disk = Some(d);
    }
    let disk =
        disk.ok_or_else(|| SourceError::corrupt(&Location::new("vhd"), LAYER, 0, "empty chain"))?;
    Ok(Container {
        kind: ContainerKind::Vhd,
        disk,
        variant,
        files,
        facts,
        warnings,
    })
}

/// The first of `names` that the child's directory holds.
pub(crate) fn find_parent(names: &[String], siblings: &dyn Siblings) -> Option<(String, Source)> {
    names
        .iter()
        .find_map(|n| siblings.open(n).ok().flatten().map(|s| (n.clone(), s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_runs_cross_bytes_both_orders() {
        let b = [0xFF, 0xFF, 0x0F];
        assert_eq!(bit_run(&b, 0, 24, true), (true, 16));
        assert_eq!(bit_run(&b, 16, 8, true), (false, 4));
        assert_eq!(bit_run(&b, 20, 4, true), (true, 4));
        assert_eq!(bit_run(&b, 0, 24, false), (true, 20));
        assert_eq!(bit_run(&b, 3, 5, true), (true, 5));
        assert_eq!(bit_run(&b, 100, 3, true), (false, 3));
        assert_eq!(bit_run(&[0, 0, 0x80], 0, 24, true), (false, 16));
        assert_eq!(bit_run(&[0, 0, 0x80], 0, 24, false), (false, 23));
    }

    #[test]
    fn names_keep_only_the_last_component() {
        assert_eq!(file_name(r"C:\VMs\base.vhd").as_deref(), Some("base.vhd"));
        assert_eq!(file_name(r".\base.vhd").as_deref(), Some("base.vhd"));
        assert_eq!(
            file_name("file://localhost/Users/a/b c.vhd").as_deref(),
            Some("b c.vhd")
        );
        assert_eq!(file_name(r"C:\..\"), None);
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
    }
}
