//! VHDX (Hyper-V v2): fixed, dynamic and differencing disks, little-endian.
//!
//! `vhdxfile` at 0; two headers at 64 KiB and 128 KiB (the valid one with the higher
//! sequence number wins; CRC-32C); two region tables at 192/256 KiB naming the BAT and
//! the metadata region; metadata items for the block size, disk size, sector size and
//! the parent locator; a BAT whose payload entries are interleaved with one sector-bitmap
//! entry per chunk. A non-empty log is not replayed: that is a warning, because the
//! log may hold newer data than the blocks.

use std::sync::Arc;

use triage_source::{ByteSource, ChunkCache, Location, Result, Siblings, Source, SourceError};

use crate::vhd::{bit_run, file_name, find_parent, read_data, utf16, Parent, MAX_CHAIN};
use crate::{Container, ContainerKind};

const LAYER: &str = "vhdx";
const MIB: u64 = 1 << 20;

const BAT_REGION: Guid = guid(
    0x2DC27766,
    0xF623,
    0x4200,
    [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08],
);
const METADATA_REGION: Guid = guid(
    0x8B7CA206,
    0x4790,
    0x4B9A,
    [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
);
const FILE_PARAMETERS: Guid = guid(
    0xCAA16737,
    0xFA36,
    0x4D43,
    [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B],
);
const VIRTUAL_DISK_SIZE: Guid = guid(
    0x2FA54224,
    0xCD1B,
    0x4876,
    [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8],
);
const VIRTUAL_DISK_ID: Guid = guid(
    0xBECA12AB,
    0xB2E6,
    0x4523,
    [0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46],
);
const LOGICAL_SECTOR: Guid = guid(
    0x8141BF1D,
    0xA96F,
    0x4709,
    [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F],
);
const PARENT_LOCATOR: Guid = guid(
    0xA8D35F2D,
    0xB30B,
    0x454D,
    [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C],
);

/// A GUID in its on-disk (mixed-endian) byte order.
type Guid = [u8; 16];

const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> Guid {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6],
        d[7],
    ]
}

use triage_bytes::guid::{at as guid_at, lower as guid_text};

use triage_bytes::le::{u16_or_zero as le16, u32_or_zero as le32, u64_or_zero as le64};

const CRC32C_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32C of `b` with the 4-byte checksum at `field` taken as zero.
fn crc32c(b: &[u8], field: usize) -> u32 {
    let mut c = !0u32;
    for (i, &x) in b.iter().enumerate() {
        let x = if (field..field + 4).contains(&i) {
            0
        } else {
            x
        };
        c = CRC32C_TABLE[((c ^ u32::from(x)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// One parsed VHDX file, before its parent is attached.
struct Parsed {
    file: Source,
    size: u64,
    block_size: u64,
    sector_size: u64,
    chunk_ratio: u64,
    has_parent: bool,
    fixed: bool,
    bat: Vec<u64>,
    data_write: Guid,
    disk_id: Guid,
    locator: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl Parsed {
    fn locator(&self, key: &str) -> Option<&str> {
        self.locator
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn parent_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for key in ["relative_path", "absolute_win32_path", "volume_path"] {
            if let Some(n) = self.locator(key).and_then(file_name) {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
                    out.push(n);
                }
            }
        }
        out
    }
}

fn read_vec(file: &Source, off: u64, len: u64, what: &'static str) -> Result<Vec<u8>> {
    let loc = file.location();
    if off.checked_add(len).is_none_or(|e| e > file.len()) {
        return Err(SourceError::corrupt(
            loc,
            what,
            off,
            format!("{len} bytes run past the end of the file"),
        ));
    }
    let mut v = vec![0u8; len as usize];
    triage_source::read_exact_at(&**file, off, &mut v)?;
    Ok(v)
}

struct Header {
    seq: u64,
    data_write: Guid,
    log: Guid,
}

fn header(file: &Source, off: u64) -> Option<Header> {
    let h = read_vec(file, off, 4096, "vhdx header").ok()?;
    (&h[..4] == b"head" && crc32c(&h, 4) == le32(&h, 4) && le16(&h, 66) == 1).then(|| Header {
        seq: le64(&h, 8),
        data_write: guid_at(&h, 32),
        log: guid_at(&h, 48),
    })
}

/// The region table's BAT and metadata regions `(offset, length)`.
fn regions(file: &Source, warnings: &mut Vec<String>) -> Result<((u64, u64), (u64, u64))> {
    let loc = file.location();
    let mut last_err = String::new();
    for (i, off) in [3 * 64 * 1024u64, 4 * 64 * 1024].into_iter().enumerate() {
        let r = match read_vec(file, off, 64 * 1024, "vhdx region table") {
            Ok(r) => r,
            Err(e) => {
                last_err = e.to_string();
                continue;
            }
        };
        if &r[..4] != b"regi" || crc32c(&r, 4) != le32(&r, 4) {
            last_err = format!("region table at {off:#x}: bad signature or CRC-32C");
            continue;
        }
        if i == 1 {
            warnings.push("first VHDX region table is damaged; the second was used".into());
        }
        let count = (le32(&r, 8) as usize).min(2047);
        let (mut bat, mut meta) = (None, None);
        for e in r[16..].chunks_exact(32).take(count) {
            let id = guid_at(e, 0);
            let region = (le64(e, 16), u64::from(le32(e, 24)));
            if id == BAT_REGION {
                bat = Some(region);
            } else if id == METADATA_REGION {
                meta = Some(region);
            } else if le32(e, 28) & 1 != 0 {
                warnings.push(format!("unknown required VHDX region {}", guid_text(&id)));
            }
        }
        return match (bat, meta) {
            (Some(b), Some(m)) => Ok((b, m)),
            _ => Err(SourceError::corrupt(
                loc,
                "vhdx region table",
                off,
                "no BAT or metadata region",
            )),
        };
    }
    Err(SourceError::corrupt(
        loc,
        "vhdx region table",
        3 * 64 * 1024,
        last_err,
    ))
}

/// The metadata items `(id, bytes)`.
fn metadata(file: &Source, (off, len): (u64, u64)) -> Result<Vec<(Guid, Vec<u8>)>> {
    let loc = file.location();
    if len < 64 * 1024 {
        return Err(SourceError::corrupt(
            loc,
            "vhdx metadata",
            off,
            "region smaller than its table",
        ));
    }
    let table = read_vec(file, off, 64 * 1024, "vhdx metadata")?;
    if &table[..8] != b"metadata" {
        return Err(SourceError::corrupt(
            loc,
            "vhdx metadata",
            off,
            "no metadata signature",
        ));
    }
    let count = usize::from(le16(&table, 10)).min(2047);
    let mut items = Vec::new();
    for e in table[32..].chunks_exact(32).take(count) {
        let (item_off, item_len) = (u64::from(le32(e, 16)), u64::from(le32(e, 20)));
        if item_len > MIB || item_off.saturating_add(item_len) > len {
            return Err(SourceError::corrupt(
                loc,
                "vhdx metadata",
                off,
                "item runs past its region",
            ));
        }
        items.push((
            guid_at(e, 0),
            read_vec(file, off + item_off, item_len, "vhdx metadata item")?,
        ));
    }
    Ok(items)
}

/// The parent locator's key/value pairs.
fn locator(item: &[u8]) -> Vec<(String, String)> {
    let count = usize::from(le16(item, 18));
    let text = |off: u32, len: u16| -> String {
        let (o, l) = (off as usize, usize::from(len));
        item.get(o..o.saturating_add(l))
            .map(|b| utf16(b, false))
            .unwrap_or_default()
    };
    item.get(20..)
        .unwrap_or(&[])
        .chunks_exact(12)
        .take(count)
        .map(|e| (text(le32(e, 0), le16(e, 8)), text(le32(e, 4), le16(e, 10))))
        .collect()
}

fn parse(file: Source) -> Result<Parsed> {
    let loc = file.location().clone();
    let mut warnings = Vec::new();
    let mut ident = [0u8; 8];
    triage_source::read_exact_at(&*file, 0, &mut ident)
        .map_err(|_| SourceError::corrupt(&loc, LAYER, 0, "too short for a VHDX"))?;
    if &ident != b"vhdxfile" {
        return Err(SourceError::corrupt(
            &loc,
            LAYER,
            0,
            "no vhdxfile identifier",
        ));
    }
    let (h1, h2) = (header(&file, 64 * 1024), header(&file, 128 * 1024));
    let hdr = match (h1, h2) {
        (Some(a), Some(b)) => {
            if a.seq >= b.seq {
                a
            } else {
                b
            }
        }
        (Some(a), None) | (None, Some(a)) => {
            warnings.push("one VHDX header is damaged; the other was used".into());
            a
        }
        (None, None) => {
            return Err(SourceError::corrupt(
                &loc,
                "vhdx header",
                64 * 1024,
                "both headers are invalid",
            ))
        }
    };
    if hdr.log != [0; 16] {
        warnings.push(format!(
            "VHDX log {} was not replayed (dirty image): its entries may hold newer data than the blocks read",
            guid_text(&hdr.log)
        ));
    }
    let (bat_region, meta_region) = regions(&file, &mut warnings)?;
    let items = metadata(&file, meta_region)?;
    let item = |id: Guid| {
        items
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, b)| b.as_slice())
    };
    let missing = |what: &str| {
        SourceError::corrupt(
            &loc,
            "vhdx metadata",
            meta_region.0,
            format!("no {what} item"),
        )
    };
    let params = item(FILE_PARAMETERS).ok_or_else(|| missing("file parameters"))?;
    let block_size = u64::from(le32(params, 0));
    let flags = le32(params, 4);
    let has_parent = flags & 2 != 0;
    let size = item(VIRTUAL_DISK_SIZE)
        .map(|b| le64(b, 0))
        .ok_or_else(|| missing("virtual disk size"))?;
    let sector_size = item(LOGICAL_SECTOR)
        .map(|b| u64::from(le32(b, 0)))
        .ok_or_else(|| missing("logical sector size"))?;
    let disk_id = item(VIRTUAL_DISK_ID)
        .map(|b| guid_at(b, 0))
        .unwrap_or([0; 16]);
    let locator = item(PARENT_LOCATOR).map(locator).unwrap_or_default();
    let bad = |what: String| SourceError::corrupt(&loc, "vhdx metadata", meta_region.0, what);
    if !block_size.is_power_of_two() || !(MIB..=256 * MIB).contains(&block_size) {
        return Err(bad(format!("block size {block_size}")));
    }
    if sector_size != 512 && sector_size != 4096 {
        return Err(bad(format!("logical sector size {sector_size}")));
    }
    if size > 64 << 40 {
        return Err(bad(format!("virtual size {size} is over 64 TiB")));
    }
    let chunk_ratio = (1u64 << 23) * sector_size / block_size;
    let blocks = size.div_ceil(block_size);
    let entries = if has_parent {
        blocks.div_ceil(chunk_ratio) * (chunk_ratio + 1)
    } else if blocks == 0 {
        0
    } else {
        blocks + (blocks - 1) / chunk_ratio
    };
    // Bounded by the file: a BAT larger than the file is refused before it is allocated.
    let bat_bytes = entries * 8;
    if bat_bytes > bat_region.1 {
        return Err(SourceError::corrupt(
            &loc,
            "vhdx BAT",
            bat_region.0,
            format!(
                "{entries} entries do not fit the {}-byte BAT region",
                bat_region.1
            ),
        ));
    }
    let raw = read_vec(&file, bat_region.0, bat_bytes, "vhdx BAT")?;
    let bat: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    Ok(Parsed {
        fixed: flags & 1 != 0 && !has_parent,
        file,
        size,
        block_size,
        sector_size,
        chunk_ratio,
        has_parent,
        bat,
        data_write: hdr.data_write,
        disk_id,
        locator,
        warnings,
    })
}

/// A VHDX's virtual disk.
struct VhdxDisk {
    p: Parsed,
    location: Location,
    parent: Parent,
    bitmaps: ChunkCache,
}

impl VhdxDisk {
    fn entry(&self, idx: u64) -> u64 {
        usize::try_from(idx)
            .ok()
            .and_then(|i| self.p.bat.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The sector bits of payload block `block`.
    fn bitmap(&self, block: u64) -> Result<Arc<[u8]>> {
        let p = &self.p;
        let cr = p.chunk_ratio;
        let e = self.entry((block / cr) * (cr + 1) + cr);
        let bits = p.block_size / p.sector_size;
        // Saturating: an entry near 2^64 reads past the end (a hole), not an overflow.
        let at = (e & !(MIB - 1)).saturating_add((block % cr) * bits / 8);
        if e & 7 != 6 {
            return Err(SourceError::corrupt(
                &self.location,
                "vhdx BAT",
                0,
                "sector bitmap block not present",
            ));
        }
        self.bitmaps.get_or_load(block, || {
            let mut b = vec![0u8; (bits / 8) as usize];
            triage_source::read_exact_at(&*p.file, at, &mut b)?;
            Ok(Arc::from(b))
        })
    }
}

impl ByteSource for VhdxDisk {
    fn len(&self) -> u64 {
        self.p.size
    }
    fn location(&self) -> &Location {
        &self.location
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let p = &self.p;
        if offset >= p.size || buf.is_empty() {
            return Ok(0);
        }
        let bs = p.block_size;
        let (block, within) = (offset / bs, offset % bs);
        let n = (buf.len() as u64).min(p.size - offset).min(bs - within) as usize;
        let buf = &mut buf[..n];
        let e = self.entry(block + block / p.chunk_ratio);
        let data = (e & !(MIB - 1)).saturating_add(within);
        let file = &*p.file;
        match e & 7 {
            // FULLY_PRESENT
            6 => read_data(file, &self.location, data, offset, buf, LAYER),
            // ZERO
            2 => {
                buf.fill(0);
                Ok(n)
            }
            // NOT_PRESENT, UNDEFINED, UNMAPPED: the parent's (zeros without one).
            0 | 1 | 3 => self.parent.read(&self.location, offset, buf),
            // PARTIALLY_PRESENT: the sector bitmap says child or parent.
            7 => {
                let bitmap = self.bitmap(block).map_err(|err| SourceError::Hole {
                    location: self.location.clone(),
                    offset,
                    len: n as u64,
                    why: format!("sector bitmap of block {block}: {err}"),
                })?;
                let ss = p.sector_size;
                let sector = within / ss;
                let last = (within + n as u64).div_ceil(ss);
                let (mine, run) = bit_run(&bitmap, sector, last - sector, false);
                let m = ((sector + run) * ss - within).min(n as u64) as usize;
                if mine {
                    read_data(file, &self.location, data, offset, &mut buf[..m], LAYER)
                } else {
                    self.parent.read(&self.location, offset, &mut buf[..m])
                }
            }
            s => Err(SourceError::Hole {
                location: self.location.clone(),
                offset,
                len: n as u64,
                why: format!("VHDX BAT entry for block {block} has unknown state {s}"),
            }),
        }
    }
}

/// Open a VHDX (fixed, dynamic or differencing) as its virtual disk.
///
/// Parents are opened by the file name of their locator's `relative_path` (then
/// `absolute_win32_path`, `volume_path`) through `siblings`, up to 16 deep;
/// a parent whose data-write GUID is not the child's `parent_linkage` is a warning; a
/// missing, unreadable or looping parent is a warning and its sectors read as holes.
///
/// `variant` is `fixed` (blocks left allocated), `dynamic` or `differencing`; `facts`
/// are `block_size`, `virtual_size`, `logical_sector_size`, `disk_id` (the virtual disk
/// id metadata item), `data_write_guid` (what vhdiinfo calls the identifier, and what a
/// child's `parent_linkage` names) and, for a differencing disk, `parent` and
/// `parent_id`. A payload block in state ZERO reads as zeros even in a differencing
/// disk (the state exists so that a child can zero what its parent holds).
pub fn open(file: Source, siblings: &dyn Siblings) -> Result<Container> {
    let first = parse(file)?;
    let mut warnings = first.warnings.clone();
    let mut facts: Vec<(&'static str, String)> = vec![
        ("block_size", first.block_size.to_string()),
        ("virtual_size", first.size.to_string()),
        ("logical_sector_size", first.sector_size.to_string()),
        ("disk_id", guid_text(&first.disk_id)),
        ("data_write_guid", guid_text(&first.data_write)),
    ];
    let variant = match (first.has_parent, first.fixed) {
        (true, _) => "differencing",
        (false, true) => "fixed",
        (false, false) => "dynamic",
    }
    .to_string();
    if let Some(n) = first.parent_names().first() {
        facts.push(("parent", n.clone()));
    }
    if let Some(l) = first.locator("parent_linkage") {
        facts.push(("parent_id", l.trim_matches(['{', '}']).to_ascii_lowercase()));
    }
    let mut chain = vec![first];
    let mut missing: Option<String> = None;
    while let Some(last) = chain.last() {
        if !last.has_parent {
            break;
        }
        let who = last.file.location().last().to_string();
        if chain.len() >= MAX_CHAIN {
            missing = Some(format!("parent chain deeper than {MAX_CHAIN} at {who}"));
            break;
        }
        let names = last.parent_names();
        let Some((name, src)) = find_parent(&names, siblings) else {
            let name = names.first().cloned().unwrap_or_else(|| "(unnamed)".into());
            missing = Some(format!("parent {name} not found"));
            break;
        };
        let looped = chain.iter().any(|p| {
            file_name(p.file.location().last()).is_some_and(|n| n.eq_ignore_ascii_case(&name))
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
        if chain.iter().any(|p| p.data_write == parent.data_write) {
            missing = Some(format!(
                "parent chain loops back to {name} (same data-write GUID)"
            ));
            break;
        }
        let linkage: Vec<String> = ["parent_linkage", "parent_linkage2"]
            .iter()
            .filter_map(|k| last.locator(k))
            .map(|l| l.trim_matches(['{', '}']).to_ascii_lowercase())
            .collect();
        let have = guid_text(&parent.data_write);
        if !linkage.contains(&have) {
            warnings.push(format!(
                "parent {name} has data-write GUID {have} but {who} expects {}",
                linkage.first().map_or("(none)", String::as_str)
            ));
        }
        if parent.size < last.size {
            warnings.push(format!(
                "parent {name} is smaller than its child; past its end reads zeros"
            ));
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
    let mut parent = match missing {
        Some(m) => Parent::Missing(m),
        None => Parent::Zeros,
    };
    let mut disk: Option<Source> = None;
    for p in chain.into_iter().rev() {
        let has_parent = p.has_parent;
        let d: Source = Arc::new(VhdxDisk {
            location: p.file.location().clone(),
            p,
            parent: if has_parent { parent } else { Parent::Zeros },
            bitmaps: ChunkCache::new(1 << 20),
        });
        parent = Parent::Disk(d.clone());
        disk = Some(d);
    }
    let disk =
        disk.ok_or_else(|| SourceError::corrupt(&Location::new("vhdx"), LAYER, 0, "empty chain"))?;
    Ok(Container {
        kind: ContainerKind::Vhdx,
        disk,
        variant,
        files,
        facts,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C over "123456789".
        assert_eq!(crc32c(b"123456789", 100), 0xE306_9283);
        // The checksum field reads as zeros.
        assert_eq!(
            crc32c(b"12345\xff\xff\xff\xff", 5),
            crc32c(b"12345\0\0\0\0", 100)
        );
        assert_eq!(
            guid_text(&BAT_REGION),
            "2dc27766-f623-4200-9d64-115e9bfd4a08"
        );
    }
}
