//! One MFT record: header, fixups (update sequence array) and the attribute walk. The
//! parsed attributes borrow from the record buffer: enumeration allocates only what an
//! [`crate::Entry`] keeps.

/// Little-endian reads that return 0 past the end: callers bound every value they use,
/// so a short buffer reads as "absent", never as a panic.
pub(crate) use triage_bytes::le::{
    u16_or_zero as u16_at, u32_or_zero as u32_at, u64_or_zero as u64_at,
};

/// Attribute type codes.
pub(crate) const AT_STANDARD_INFORMATION: u32 = 0x10;
pub(crate) const AT_ATTRIBUTE_LIST: u32 = 0x20;
pub(crate) const AT_FILE_NAME: u32 = 0x30;
pub(crate) const AT_VOLUME_NAME: u32 = 0x60;
pub(crate) const AT_VOLUME_INFORMATION: u32 = 0x70;
pub(crate) const AT_DATA: u32 = 0x80;
pub(crate) const AT_INDEX_ROOT: u32 = 0x90;
pub(crate) const AT_INDEX_ALLOCATION: u32 = 0xA0;
pub(crate) const AT_REPARSE_POINT: u32 = 0xC0;
pub(crate) const AT_LOGGED_UTILITY_STREAM: u32 = 0x100;
pub(crate) const AT_END: u32 = 0xFFFF_FFFF;

/// An MFT file reference: 48-bit record number, 16-bit sequence.
pub(crate) fn split_ref(r: u64) -> (u64, u16) {
    (r & 0x0000_FFFF_FFFF_FFFF, (r >> 48) as u16)
}

/// Apply the update sequence array of a multi-sector structure (`FILE` or `INDX`) in
/// place. Stride 512 bytes, as NTFS uses whatever the sector size. A torn sector (its
/// last two bytes differ from the sequence number) is restored anyway and reported.
pub(crate) fn apply_fixups(buf: &mut [u8]) -> Result<(), String> {
    let usa_off = u16_at(buf, 4) as usize;
    let usa_count = u16_at(buf, 6) as usize;
    if usa_count == 0 {
        return Err("update sequence array is empty".into());
    }
    let sectors = usa_count - 1;
    if sectors * 512 > buf.len() || usa_off + usa_count * 2 > buf.len() || usa_off < 8 {
        return Err(format!(
            "update sequence array at {usa_off:#x} with {usa_count} entries does not fit {} bytes",
            buf.len()
        ));
    }
    let usn = u16_at(buf, usa_off);
    let mut torn = Vec::new();
    for i in 0..sectors {
        let end = (i + 1) * 512 - 2;
        if u16_at(buf, end) != usn {
            torn.push(i);
        }
        let fix = usa_off + 2 + i * 2;
        let (a, b) = (buf[fix], buf[fix + 1]);
        buf[end] = a;
        buf[end + 1] = b;
    }
    if torn.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "torn write: sector(s) {torn:?} do not end with the update sequence number {usn:#06x}"
        ))
    }
}

/// Copy a record into `out` (resized to the record size), reading only what the
/// header says is used: the rest of the buffer is left as it was (zeros or an earlier
/// record's tail, never looked at: the attribute walk stops at the used size). The
/// update sequence slots of the sectors past the used size are copied too, so the
/// torn-write check still sees every sector.
pub(crate) fn copy_used(raw: &[u8], out: &mut Vec<u8>) {
    out.resize(raw.len(), 0);
    let usa_end = u16_at(raw, 4) as usize + u16_at(raw, 6) as usize * 2;
    let used = (u32_at(raw, 0x18) as usize)
        .max(usa_end)
        .clamp(0x30, raw.len());
    let used = (used + 7).min(raw.len()) & !7;
    out[..used].copy_from_slice(&raw[..used]);
    let mut end = 510;
    while end + 2 <= raw.len() {
        if end >= used {
            out[end..end + 2].copy_from_slice(&raw[end..end + 2]);
        }
        end += 512;
    }
}

/// The fixed part of a `FILE` record.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Header {
    pub sequence: u16,
    pub hard_links: u16,
    pub first_attr: u16,
    pub flags: u16,
    pub used: u32,
    pub base: u64,
}

impl Header {
    pub fn in_use(&self) -> bool {
        self.flags & 1 != 0
    }
    pub fn is_dir(&self) -> bool {
        self.flags & 2 != 0
    }
}

/// What a record buffer holds.
pub(crate) enum Kind {
    /// All zeros or no `FILE` magic: never used (or wiped).
    Empty,
    /// A `BAAD` record (chkdsk marked it) or a header that does not hold together.
    Bad(String),
    File(Header),
}

/// Check the magic, apply the fixups and read the header. Fixup failures still return
/// the header (a torn record is mostly readable) with the problem in `warn`.
pub(crate) fn parse_header(buf: &mut [u8], warn: &mut Option<String>) -> Kind {
    match buf.get(0..4) {
        Some(b"FILE") => {}
        Some(b"BAAD") => return Kind::Bad("record marked BAAD".into()),
        Some(m) if m == [0, 0, 0, 0] => return Kind::Empty,
        Some(m) => return Kind::Bad(format!("no FILE signature (found {m:02x?})")),
        None => return Kind::Empty,
    }
    if let Err(e) = apply_fixups(buf) {
        *warn = Some(e);
    }
    let h = Header {
        sequence: u16_at(buf, 0x10),
        hard_links: u16_at(buf, 0x12),
        first_attr: u16_at(buf, 0x14),
        flags: u16_at(buf, 0x16),
        used: u32_at(buf, 0x18),
        base: u64_at(buf, 0x20),
    };
    if (h.first_attr as usize) < 0x18 || h.first_attr as usize >= buf.len() {
        return Kind::Bad(format!(
            "first attribute offset {:#x} is outside the record",
            h.first_attr
        ));
    }
    Kind::File(h)
}

/// A non-resident attribute's header fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NonRes<'a> {
    pub start_vcn: u64,
    pub last_vcn: u64,
    pub runs: &'a [u8],
    /// log2 of the compression unit in clusters (0 = not compressed).
    pub cu_shift: u8,
    pub alloc: u64,
    pub size: u64,
    pub init: u64,
}

/// One attribute, borrowing from its record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr<'a> {
    pub ty: u32,
    /// UTF-16LE name bytes.
    pub name: &'a [u8],
    pub flags: u16,
    pub resident: Option<&'a [u8]>,
    pub nonres: Option<NonRes<'a>>,
    /// The record that holds it and the offset inside, for messages.
    pub record: u64,
    pub offset: usize,
}

impl Attr<'_> {
    pub fn name_is(&self, ascii: &str) -> bool {
        self.name.len() == ascii.len() * 2
            && ascii
                .bytes()
                .enumerate()
                .all(|(i, c)| u16_at(self.name, i * 2) == c as u16)
    }
    pub fn name_string(&self) -> String {
        utf16(self.name)
    }
    pub fn is_encrypted(&self) -> bool {
        self.flags & 0x4000 != 0
    }
    /// Logical size of the value.
    pub fn size(&self) -> u64 {
        match (self.resident, self.nonres) {
            (Some(v), _) => v.len() as u64,
            (_, Some(n)) => n.size,
            _ => 0,
        }
    }
}

pub(crate) use triage_bytes::utf16::{lossy as utf16, push_lossy as push_utf16};

/// Walk the attributes of a record whose header was parsed. Stops at the end marker, at
/// the used size, or at the first attribute that does not hold together (reported in
/// `warn` with its offset; the attributes before it are kept).
pub(crate) fn attributes<'a>(
    buf: &'a [u8],
    h: &Header,
    record: u64,
    out: &mut Vec<Attr<'a>>,
    warn: &mut Vec<String>,
) {
    walk(buf, h, record, warn, |a| out.push(a));
}

/// [`attributes`] with a callback: no allocation (the enumeration's first pass).
pub(crate) fn walk<'a>(
    buf: &'a [u8],
    h: &Header,
    record: u64,
    warn: &mut Vec<String>,
    mut out: impl FnMut(Attr<'a>),
) {
    let end = (h.used as usize).min(buf.len());
    let mut off = h.first_attr as usize;
    // Each attribute is at least 16 bytes: this bounds the walk by the record size.
    while off + 8 <= end {
        let ty = u32_at(buf, off);
        if ty == AT_END {
            return;
        }
        let len = u32_at(buf, off + 4) as usize;
        if len < 0x18 || off + len > end {
            warn.push(format!(
                "$MFT entry {record}: attribute {ty:#x} at {off:#x} claims length {len}"
            ));
            return;
        }
        let a = &buf[off..off + len];
        let non_resident = a[8] != 0;
        let name_len = a[9] as usize * 2;
        let name_off = u16_at(a, 10) as usize;
        let name = if name_len == 0 {
            &a[0..0]
        } else {
            match a.get(name_off..name_off + name_len) {
                Some(n) => n,
                None => {
                    warn.push(format!(
                        "$MFT entry {record}: attribute {ty:#x} at {off:#x}: name runs past the attribute"
                    ));
                    off += len;
                    continue;
                }
            }
        };
        let flags = u16_at(a, 12);
        let mut attr = Attr {
            ty,
            name,
            flags,
            resident: None,
            nonres: None,
            record,
            offset: off,
        };
        if non_resident {
            let runs_off = u16_at(a, 0x20) as usize;
            if len < 0x40 || runs_off > len || runs_off < 0x40 {
                warn.push(format!(
                    "$MFT entry {record}: non-resident attribute {ty:#x} at {off:#x}: runlist offset {runs_off:#x} outside its {len} bytes"
                ));
                off += len;
                continue;
            }
            let cu = u16_at(a, 0x22);
            attr.nonres = Some(NonRes {
                start_vcn: u64_at(a, 0x10),
                last_vcn: u64_at(a, 0x18),
                runs: &a[runs_off..],
                cu_shift: cu.min(16) as u8,
                alloc: u64_at(a, 0x28),
                size: u64_at(a, 0x30),
                init: u64_at(a, 0x38),
            });
        } else {
            let vlen = u32_at(a, 0x10) as usize;
            let voff = u16_at(a, 0x14) as usize;
            match a.get(voff..voff.saturating_add(vlen)) {
                Some(v) => attr.resident = Some(v),
                None => {
                    warn.push(format!(
                        "$MFT entry {record}: resident attribute {ty:#x} at {off:#x}: value of {vlen} bytes at {voff:#x} runs past the attribute"
                    ));
                    off += len;
                    continue;
                }
            }
        }
        out(attr);
        off += len;
    }
}
