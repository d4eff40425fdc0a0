//! The EWF v1 segment layout: the section chain of one segment file, its chunk tables,
//! and where each table's chunks sit in the image once segments may be missing.

use std::borrow::Cow;

use ewf::{EwfVolume, SectionDescriptor, FILE_HEADER_SIZE, SECTION_DESCRIPTOR_SIZE};
use triage_source::{read_exact_at, ByteSource, Source};

/// Sections walked per segment at most: a real segment has a few dozen; the cap stops a
/// forged chain that only ever moves forward by 76 bytes.
const MAX_SECTIONS: usize = 1 << 16;
/// A table section holds at most this many entries (EnCase writes 16375 or 65534).
const MAX_TABLE_ENTRIES: u64 = 1 << 22;
/// Error/header sections larger than this are ignored.
const MAX_SMALL_SECTION: u64 = 1 << 20;
pub(super) const OFFSET_MASK: u32 = 0x7FFF_FFFF;

/// The EWF v1 signatures: `EVF` (E01, S01) and `LVF` (L01, logical evidence).
pub(super) const EVF1: [u8; 8] = *b"EVF\x09\x0d\x0a\xff\x00";
pub(super) const LVF1: [u8; 8] = *b"LVF\x09\x0d\x0a\xff\x00";
pub(super) const EVF2: [u8; 8] = *b"EVF2\x0d\x0a\x81\x00";
pub(super) const LEF2: [u8; 8] = *b"LEF2\x0d\x0a\x81\x00";

/// One chunk table section: chunk `i` of it starts at `base + (entries[i] & OFFSET_MASK)`
/// in its segment, compressed when the top bit is set; the last compressed chunk runs to
/// `end`.
pub(super) struct Table {
    pub base: u64,
    pub entries: Vec<u32>,
    pub end: u64,
    /// The entries' own adler32 matched (or there was none to check).
    pub ok: bool,
}

/// The media geometry from a `volume`/`disk`/`data` section.
#[derive(Clone, Copy)]
pub(super) struct Geometry {
    pub chunk_count: u32,
    pub sectors_per_chunk: u32,
    pub bytes_per_sector: u32,
    pub sector_count: u64,
}

/// What one segment file holds.
pub(super) struct Segment {
    pub number: u32,
    pub name: String,
    pub src: Source,
    pub tables: Vec<Table>,
    /// The chain reached `next` or `done`: the segment is whole.
    pub complete: bool,
    /// The chain ended with `done`: this is the image's last segment.
    pub last: bool,
    pub geometry: Option<Geometry>,
    pub md5: Option<[u8; 16]>,
    pub sha1: Option<[u8; 20]>,
    pub error2: Option<Vec<u8>>,
    pub notes: Vec<String>,
}

/// The segment number of an EWF v1 or v2 segment file, from its file header.
pub(super) fn segment_number(src: &dyn ByteSource) -> Option<(u32, bool)> {
    let mut h = [0u8; 32];
    let n = src.read_at(0, &mut h).ok()?;
    let h = h.get(..n)?;
    let sig = h.get(..8)?;
    if sig == EVF1 || sig == LVF1 {
        let b = h.get(9..11)?;
        return Some((u32::from(u16::from_le_bytes([b[0], b[1]])), false));
    }
    if sig == EVF2 || sig == LEF2 {
        // signature, major, minor, compression method (u16), segment number (u32)
        let b = h.get(12..16)?;
        return Some((u32::from_le_bytes([b[0], b[1], b[2], b[3]]), true));
    }
    None
}

fn read_vec(src: &dyn ByteSource, off: u64, len: u64) -> Option<Vec<u8>> {
    let mut v = vec![0u8; usize::try_from(len).ok()?];
    read_exact_at(src, off, &mut v).ok()?;
    Some(v)
}

use triage_bytes::le::{u32_or_zero as le32, u64_or_zero as le64};

/// Walk one segment's section chain. Never fails: what cannot be read is left out and
/// the segment marked incomplete.
pub(super) fn walk(number: u32, name: String, src: Source) -> Segment {
    let len = src.len();
    let mut seg = Segment {
        number,
        name,
        src: src.clone(),
        tables: Vec::new(),
        complete: false,
        last: false,
        geometry: None,
        md5: None,
        sha1: None,
        error2: None,
        notes: Vec::new(),
    };
    let mut tables = Vec::new();
    let mut tables2 = Vec::new();
    let mut sectors_end: Option<u64> = None;
    let mut off = FILE_HEADER_SIZE as u64;
    let ds = SECTION_DESCRIPTOR_SIZE as u64;
    for _ in 0..MAX_SECTIONS {
        let Some(end) = off.checked_add(ds) else {
            break;
        };
        if end > len {
            seg.notes.push(format!(
                "section chain runs past the end at offset {off:#x}"
            ));
            break;
        }
        let Some(raw) = read_vec(&*src, off, ds) else {
            break;
        };
        let Ok(desc) = SectionDescriptor::parse(&raw, off) else {
            break;
        };
        let data = end;
        let data_len = desc.section_size.saturating_sub(ds);
        match desc.section_type.as_str() {
            "volume" | "disk" | "data" if seg.geometry.is_none() => {
                let n = data_len.clamp(24, 1052).min(len - data);
                if let Some(b) = read_vec(&*src, data, n) {
                    if let Ok(v) = EwfVolume::parse(&b) {
                        seg.geometry = Some(geometry(&v));
                    }
                }
            }
            "sectors" => sectors_end = Some(off.saturating_add(desc.section_size)),
            t @ ("table" | "table2") => match read_table(
                &*src,
                data,
                data_len,
                (off, section_end(&desc)),
                sectors_end,
            ) {
                Some(t2) if t == "table" => tables.push(t2),
                Some(t2) => tables2.push(t2),
                None => seg
                    .notes
                    .push(format!("{t} section at {off:#x} is cut short")),
            },
            "hash" => {
                if let Some(b) = read_vec(&*src, data, 16) {
                    let mut m = [0u8; 16];
                    m.copy_from_slice(&b);
                    seg.md5 = seg.md5.or(Some(m));
                }
            }
            "digest" => {
                if let Some(b) = read_vec(&*src, data, 36) {
                    let (mut m, mut s) = ([0u8; 16], [0u8; 20]);
                    m.copy_from_slice(&b[..16]);
                    s.copy_from_slice(&b[16..36]);
                    seg.md5 = Some(m);
                    seg.sha1 = Some(s);
                }
            }
            "error2" if data_len > 0 && data_len <= MAX_SMALL_SECTION => {
                seg.error2 = read_vec(&*src, data, data_len.min(len - data));
            }
            "done" => {
                seg.complete = true;
                seg.last = true;
                break;
            }
            "next" => {
                seg.complete = true;
                break;
            }
            _ => {}
        }
        if desc.next <= off {
            seg.notes
                .push(format!("section chain loops back at offset {off:#x}"));
            break;
        }
        off = desc.next;
    }
    seg.tables = choose_tables(tables, tables2, &mut seg.notes);
    seg
}

/// Where a section ends: its size, or the next section when the size is not filled in.
fn section_end(d: &SectionDescriptor) -> u64 {
    if d.section_size > 0 {
        d.offset.saturating_add(d.section_size)
    } else {
        d.next
    }
}

fn geometry(v: &EwfVolume) -> Geometry {
    Geometry {
        chunk_count: v.chunk_count,
        sectors_per_chunk: v.sectors_per_chunk,
        bytes_per_sector: v.bytes_per_sector,
        sector_count: v.sector_count,
    }
}

/// A table section: a 24-byte header (entry count, base offset, adler32), the entries,
/// then the entries' adler32 (EnCase 3+).
fn read_table(
    src: &dyn ByteSource,
    data: u64,
    data_len: u64,
    (desc_off, section_end): (u64, u64),
    sectors_end: Option<u64>,
) -> Option<Table> {
    let hdr = read_vec(src, data, 24)?;
    let claimed = u64::from(le32(&hdr, 0));
    let base = le64(&hdr, 8);
    let first = data.checked_add(24)?;
    let room = src.len().saturating_sub(first) / 4;
    let mut count = claimed.min(MAX_TABLE_ENTRIES).min(room);
    if data_len >= 24 {
        count = count.min((data_len - 24) / 4);
    }
    let bytes = read_vec(src, first, count * 4)?;
    let entries: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let ok = match read_vec(src, first + count * 4, 4) {
        Some(c) if count == claimed => le32(&c, 0) == adler2::adler32_slice(&bytes),
        Some(_) => false,
        None => true,
    };
    // The last compressed chunk of a table runs to the end of the chunk data: the end of
    // the `sectors` section before the table, or the table itself; in the early formats
    // (EWF, SMART) the chunks follow the entries inside the table section, to its end.
    let last_at = entries
        .last()
        .map(|e| base.saturating_add(u64::from(e & OFFSET_MASK)));
    let end = match (last_at, sectors_end) {
        (Some(a), _) if a >= desc_off => section_end.max(a),
        (_, Some(e)) if e <= desc_off => e,
        _ => desc_off,
    };
    Some(Table {
        base,
        entries,
        end,
        ok: ok && count == claimed,
    })
}

/// `table2` mirrors `table`: take the mirror of a table whose entries are damaged.
fn choose_tables(tables: Vec<Table>, tables2: Vec<Table>, notes: &mut Vec<String>) -> Vec<Table> {
    if tables.is_empty() {
        return tables2;
    }
    let mut mirrors: Vec<Option<Table>> = tables2.into_iter().map(Some).collect();
    tables
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            if t.ok {
                return t;
            }
            // Early formats (EWF, SMART) have no checksum after the entries and no
            // mirror: a mismatch there means nothing.
            match mirrors.get_mut(i).and_then(Option::take) {
                Some(m) if m.ok => {
                    notes.push(format!("table {i} damaged: its table2 mirror used"));
                    m
                }
                Some(_) => {
                    notes.push(format!(
                        "table {i} and its mirror both fail their checksums: used as is"
                    ));
                    t
                }
                None => t,
            }
        })
        .collect()
}

/// Bytes `[off, off+len)` of a segment: borrowed when it is memory-mapped.
pub(super) fn bytes(src: &dyn ByteSource, off: u64, len: u64) -> Option<Cow<'_, [u8]>> {
    if let Some(s) = src.as_slice() {
        let a = usize::try_from(off).ok()?;
        let b = a.checked_add(usize::try_from(len).ok()?)?;
        return s.get(a..b).map(Cow::Borrowed);
    }
    read_vec(src, off, len).map(Cow::Owned)
}
