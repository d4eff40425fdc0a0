//! The campaign's view of a sample: its bytes as extents over a length (a 1 GiB sparse
//! volume is a few MiB of data), and the header fields of each format, found by walking
//! the sample, that the boundary-value and splice mutants aim at.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// A file's bytes as extents over a length (zeros between): a 1 GiB sparse volume is a
/// few MiB of data, and its mutants are written sparse too.
#[derive(Clone)]
pub struct Image {
    pub len: u64,
    pub extents: Vec<(u64, Vec<u8>)>,
}

impl Image {
    pub fn whole(bytes: Vec<u8>) -> Image {
        Image {
            len: bytes.len() as u64,
            extents: vec![(0, bytes)],
        }
    }

    pub fn data_len(&self) -> u64 {
        self.extents.iter().map(|e| e.1.len() as u64).sum()
    }

    /// The file offset of the `i`-th data byte (extents in order).
    pub fn data_pos(&self, mut i: u64) -> u64 {
        for (off, d) in &self.extents {
            if i < d.len() as u64 {
                return off + i;
            }
            i -= d.len() as u64;
        }
        0
    }

    pub fn get(&self, off: u64) -> u8 {
        self.extents
            .iter()
            .rev()
            .find(|(o, d)| off >= *o && off - o < d.len() as u64)
            .map_or(0, |(o, d)| d[(off - o) as usize])
    }

    pub fn read(&self, off: u64, n: usize) -> Vec<u8> {
        (0..n as u64).map(|i| self.get(off + i)).collect()
    }

    pub fn u16(&self, off: u64) -> u64 {
        u64::from(u16::from_le_bytes(self.read(off, 2).try_into().unwrap()))
    }
    pub fn u32(&self, off: u64) -> u64 {
        u64::from(u32::from_le_bytes(self.read(off, 4).try_into().unwrap()))
    }
    pub fn u64(&self, off: u64) -> u64 {
        u64::from_le_bytes(self.read(off, 8).try_into().unwrap())
    }
    pub fn be64(&self, off: u64) -> u64 {
        u64::from_be_bytes(self.read(off, 8).try_into().unwrap())
    }

    pub fn set(&mut self, off: u64, b: u8) {
        if off >= self.len {
            return;
        }
        if let Some((o, d)) = self
            .extents
            .iter_mut()
            .rev()
            .find(|(o, d)| off >= *o && off - *o < d.len() as u64)
        {
            d[(off - *o) as usize] = b;
            return;
        }
        self.extents.push((off, vec![b]));
    }

    pub fn write(&mut self, off: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.set(off + i as u64, *b);
        }
    }

    pub fn save(&self, path: &Path) {
        let mut f = std::fs::File::create(path).unwrap();
        for (off, d) in &self.extents {
            if *off >= self.len {
                continue;
            }
            let n = (d.len() as u64).min(self.len - off) as usize;
            f.seek(SeekFrom::Start(*off)).unwrap();
            f.write_all(&d[..n]).unwrap();
        }
        f.set_len(self.len).unwrap();
    }
}

/// A header field: where, how wide, which byte order.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub off: u64,
    pub width: u8,
    pub be: bool,
}

fn le(off: u64, width: u8) -> Field {
    Field {
        off,
        width,
        be: false,
    }
}
fn be(off: u64, width: u8) -> Field {
    Field {
        off,
        width,
        be: true,
    }
}

/// Which header layout the field finder knows for a sample.
#[derive(Clone)]
pub enum Layout {
    Pe,
    Regf,
    RegLog,
    Evtx,
    Prefetch,
    /// Raw memory: the generator's truth names the page tables and the EPROCESS blocks.
    MemRaw(Vec<u64>),
    CrashDump,
    Elf,
    Lime,
    Vmss,
    Mbr,
    Ewf,
    Vmdk,
    Vhd,
    Vhdx,
    Qcow2,
    /// An NTFS volume at this offset (boot sector, `$MFT` record 0 and its attributes).
    Ntfs(u64),
    /// NTFS with a volume shadow copy: the VSS header at 0x1E00 and the catalog too.
    Vss(u64),
}

fn pe_fields(img: &Image, f: &mut Vec<Field>) {
    f.push(le(0x3C, 4));
    let pe = img.u32(0x3C);
    if pe + 0x200 > img.len {
        return;
    }
    f.extend([le(pe + 6, 2), le(pe + 20, 2)]);
    let opt = pe + 24;
    let plus = img.u16(opt) == 0x20B;
    for rel in [16, 56, 60, 64] {
        f.push(le(opt + rel, 4));
    }
    let (count_at, dirs) = if plus { (108, 112) } else { (92, 96) };
    f.push(le(opt + count_at, 4));
    for d in [1u64, 2, 4, 5, 6] {
        f.extend([le(opt + dirs + 8 * d, 4), le(opt + dirs + 8 * d + 4, 4)]);
    }
    let sections = opt + img.u16(pe + 20);
    for s in 0..img.u16(pe + 6).min(6) {
        for rel in [8, 12, 16, 20] {
            f.push(le(sections + 40 * s + rel, 4));
        }
    }
}

fn regf_fields(img: &Image, f: &mut Vec<Field>) {
    for at in [0x04, 0x08, 0x24, 0x28, 0x30, 0x1FC] {
        f.push(le(at, 4));
    }
    f.extend([le(0x1004, 4), le(0x1008, 4)]);
    let root = 0x1000 + img.u32(0x24);
    for rel in [0, 0x18, 0x20, 0x28, 0x2C, 0x30] {
        f.push(le(root + rel, 4));
    }
    f.push(le(root + 0x48, 2));
    let list = 0x1000 + img.u32(root + 0x20);
    f.extend([le(list, 4), le(list + 6, 2), le(list + 8, 4)]);
}

fn reglog_fields(f: &mut Vec<Field>) {
    for at in [0x04, 0x08, 0x28, 0x1FC] {
        f.push(le(at, 4));
    }
    for rel in [4, 8, 12, 16, 20, 40, 44] {
        f.push(le(0x200 + rel, 4));
    }
}

fn evtx_fields(f: &mut Vec<Field>) {
    for at in [0x08, 0x10, 0x18] {
        f.push(le(at, 8));
    }
    f.extend([le(0x20, 4), le(0x28, 2), le(0x2A, 2), le(0x78, 4)]);
    for rel in [8, 16, 24, 32] {
        f.push(le(0x1000 + rel, 8));
    }
    for rel in [40, 44, 48, 52] {
        f.push(le(0x1000 + rel, 4));
    }
    for i in 0..8 {
        // The chunk's string and template offset tables.
        f.push(le(0x1080 + 4 * i, 4));
        f.push(le(0x1180 + 4 * i, 4));
    }
    f.extend([le(0x1204, 4), le(0x1208, 8), le(0x1220, 4)]);
}

fn prefetch_fields(img: &Image, f: &mut Vec<Field>) {
    if img.read(0, 3) == b"MAM" {
        f.extend([le(4, 4), le(8, 4)]);
        return;
    }
    f.push(le(0x0C, 4));
    for at in (0x54..=0x74).step_by(4) {
        f.push(le(at, 4));
    }
    let vol = img.u32(0x6C);
    for rel in [0, 4, 16, 20, 24, 28] {
        f.push(le(vol + rel, 4));
    }
}

fn crashdump_fields(f: &mut Vec<Field>) {
    for at in [
        0x10, 0x18, 0x20, 0x28, 0x80, 0x90, 0x98, 0xA0, 0xA8, 0xB0, 0xFA0,
    ] {
        f.push(le(at, 8));
    }
    for at in [0x30, 0x34, 0x88, 0xF98] {
        f.push(le(at, 4));
    }
}

fn elf_fields(img: &Image, f: &mut Vec<Field>) {
    f.extend([le(0x20, 8), le(0x28, 8), le(0x36, 2), le(0x38, 2)]);
    let phoff = img.u64(0x20);
    for i in 0..img.u16(0x38).min(8) {
        let p = phoff + 56 * i;
        f.push(le(p, 4));
        for rel in [8, 16, 24, 32, 40] {
            f.push(le(p + rel, 8));
        }
    }
}

fn lime_fields(img: &Image, f: &mut Vec<Field>) {
    let mut off = 0u64;
    for _ in 0..8 {
        if off + 32 > img.len {
            break;
        }
        f.extend([le(off + 4, 4), le(off + 8, 8), le(off + 16, 8)]);
        let (s, e) = (img.u64(off + 8), img.u64(off + 16));
        match e.checked_sub(s).and_then(|l| off.checked_add(33 + l)) {
            Some(n) => off = n,
            None => break,
        }
    }
}

fn vmss_fields(img: &Image, f: &mut Vec<Field>) {
    f.push(le(8, 4));
    for g in 0..img.u32(8).min(4) {
        f.push(le(12 + 80 * g + 64, 8));
    }
}

fn mbr_fields(img: &Image, f: &mut Vec<Field>) {
    for i in 0..4 {
        let e = 446 + 16 * i;
        f.extend([le(e + 4, 1), le(e + 8, 4), le(e + 12, 4)]);
        if matches!(img.get(e + 4), 0x05 | 0x0F | 0x85) {
            let ebr = img.u32(e + 8) * 512 + 446;
            for rel in [4, 8, 12, 20, 24, 28] {
                f.push(le(ebr + rel, 4));
            }
        }
    }
}

fn ewf_fields(img: &Image, f: &mut Vec<Field>) {
    let mut off = 13u64;
    for _ in 0..32 {
        if off + 76 > img.len {
            break;
        }
        let kind = img.read(off, 16);
        f.extend([le(off + 16, 8), le(off + 24, 8)]);
        let data = off + 76;
        if kind.starts_with(b"volume") || kind.starts_with(b"disk") {
            for rel in [4, 8, 12] {
                f.push(le(data + rel, 4));
            }
            f.push(le(data + 16, 8));
        } else if kind.starts_with(b"table") || kind.starts_with(b"sectors") {
            f.extend([le(data, 4), le(data + 8, 8)]);
            for i in 0..8 {
                f.push(le(data + 24 + 4 * i, 4));
            }
        }
        let next = img.u64(off + 16);
        if next <= off {
            break;
        }
        off = next;
    }
}

fn vmdk_fields(img: &Image, f: &mut Vec<Field>) {
    f.extend([le(4, 4), le(8, 4), le(44, 4)]);
    for at in [12, 20, 28, 36, 48, 56, 64] {
        f.push(le(at, 8));
    }
    let mut gd = img.u64(56);
    if gd == u64::MAX && img.len >= 1024 {
        // Stream-optimised: the grain directory is named by the footer.
        let footer = img.len - 1024 + 512;
        f.extend([le(footer + 56, 8), le(footer + 12, 8)]);
        gd = img.u64(footer + 56);
    }
    let gd = gd.saturating_mul(512);
    for i in 0..8 {
        f.push(le(gd + 4 * i, 4));
    }
    let gt = img.u32(gd).saturating_mul(512);
    for i in 0..16 {
        f.push(le(gt + 4 * i, 4));
    }
    let over = img.u64(64).saturating_mul(512);
    f.extend([le(over, 8), le(over + 8, 4)]);
}

fn vhd_fields(img: &Image, f: &mut Vec<Field>) {
    let foot = img.len.saturating_sub(512);
    for base in [0, foot] {
        f.extend([be(base + 16, 8), be(base + 40, 8), be(base + 48, 8)]);
        f.extend([be(base + 56, 4), be(base + 60, 4), be(base + 64, 4)]);
    }
    let dynh = img.be64(16);
    if dynh < img.len {
        f.extend([be(dynh + 16, 8), be(dynh + 28, 4), be(dynh + 32, 4)]);
        let bat = img.be64(dynh + 16);
        for i in 0..8 {
            f.push(be(bat + 4 * i, 4));
        }
    }
}

fn vhdx_fields(img: &Image, f: &mut Vec<Field>) {
    for h in [0x10000u64, 0x20000] {
        f.extend([le(h + 8, 8), le(h + 64, 2), le(h + 66, 2), le(h + 68, 4)]);
        f.extend([le(h + 72, 8)]);
    }
    for r in [0x30000u64, 0x40000] {
        f.push(le(r + 8, 4));
        for e in 0..img.u32(r + 8).min(4) {
            let at = r + 16 + 32 * e;
            f.extend([le(at + 16, 8), le(at + 24, 4)]);
        }
    }
    for e in 0..img.u32(0x30000 + 8).min(4) {
        let region = img.u64(0x30000 + 16 + 32 * e + 16);
        if img.read(region, 8) == b"metadata" {
            f.push(le(region + 10, 2));
            for m in 0..6 {
                let at = region + 32 + 32 * m;
                f.extend([le(at + 16, 4), le(at + 20, 4)]);
                let item = region + img.u32(at + 16);
                f.extend([le(item, 4), le(item + 4, 4)]);
            }
        } else {
            for i in 0..8 {
                f.push(le(region + 8 * i, 8));
            }
        }
    }
}

fn qcow2_fields(img: &Image, f: &mut Vec<Field>) {
    for at in [4, 16, 20, 32, 36, 56, 60, 96, 100] {
        f.push(be(at, 4));
    }
    for at in [8, 24, 40, 48, 64, 72, 80, 88] {
        f.push(be(at, 8));
    }
    let l1 = img.be64(40);
    for i in 0..4 {
        f.push(be(l1 + 8 * i, 8));
    }
    let l2 = img.be64(l1) & 0x00ff_ffff_ffff_fe00;
    for i in 0..8 {
        f.push(be(l2 + 8 * i, 8));
    }
    let rt = img.be64(48);
    f.extend([be(rt, 8), be(rt + 8, 8)]);
}

fn ntfs_fields(img: &Image, base: u64, f: &mut Vec<Field>) {
    f.extend([le(base + 0x0B, 2), le(base + 0x0D, 1), le(base + 0x40, 4)]);
    f.extend([le(base + 0x28, 8), le(base + 0x30, 8), le(base + 0x38, 8)]);
    let cluster = img.u16(base + 0x0B) * img.get(base + 0x0D) as u64;
    let mft = base + img.u64(base + 0x30).saturating_mul(cluster);
    for rec in [0u64, 5] {
        let r = mft + 1024 * rec;
        f.extend([le(r + 4, 2), le(r + 6, 2), le(r + 0x14, 2)]);
        f.extend([le(r + 0x18, 4), le(r + 0x1C, 4)]);
        let mut a = r + img.u16(r + 0x14);
        for _ in 0..8 {
            let (ty, len) = (img.u32(a), img.u32(a + 4));
            if ty == 0xFFFF_FFFF || !(16..=1024).contains(&len) {
                break;
            }
            f.push(le(a + 4, 4));
            if img.get(a + 8) == 0 {
                f.extend([le(a + 0x10, 4), le(a + 0x14, 2)]);
            } else {
                f.extend([le(a + 0x10, 8), le(a + 0x18, 8), le(a + 0x20, 2)]);
                f.extend([le(a + 0x28, 8), le(a + 0x30, 8)]);
                let runs = a + img.u16(a + 0x20);
                f.extend([le(runs, 4), le(runs + 4, 4)]);
            }
            a += len;
        }
    }
}

fn vss_fields(img: &Image, base: u64, f: &mut Vec<Field>) {
    ntfs_fields(img, base, f);
    let h = base + 0x1E00;
    for rel in [16, 20] {
        f.push(le(h + rel, 4));
    }
    for rel in [24, 32, 40, 48, 56, 64] {
        f.push(le(h + rel, 8));
    }
    let cat = base + img.u64(h + 48);
    for i in 0..4 {
        for k in 0..8 {
            f.push(le(cat + 128 + 128 * i + 8 * k, 8));
        }
    }
}

/// The header fields of a sample, in file offsets; those outside the file are dropped.
/// A layout that finds none falls back to the first 512 bytes, four at a time.
pub fn fields(layout: &Layout, img: &Image) -> Vec<Field> {
    let mut f = Vec::new();
    match layout {
        Layout::Pe => pe_fields(img, &mut f),
        Layout::Regf => regf_fields(img, &mut f),
        Layout::RegLog => reglog_fields(&mut f),
        Layout::Evtx => evtx_fields(&mut f),
        Layout::Prefetch => prefetch_fields(img, &mut f),
        Layout::MemRaw(offs) => f.extend(offs.iter().map(|&o| le(o, 8))),
        Layout::CrashDump => crashdump_fields(&mut f),
        Layout::Elf => elf_fields(img, &mut f),
        Layout::Lime => lime_fields(img, &mut f),
        Layout::Vmss => vmss_fields(img, &mut f),
        Layout::Mbr => mbr_fields(img, &mut f),
        Layout::Ewf => ewf_fields(img, &mut f),
        Layout::Vmdk => vmdk_fields(img, &mut f),
        Layout::Vhd => vhd_fields(img, &mut f),
        Layout::Vhdx => vhdx_fields(img, &mut f),
        Layout::Qcow2 => qcow2_fields(img, &mut f),
        Layout::Ntfs(base) => ntfs_fields(img, *base, &mut f),
        Layout::Vss(base) => vss_fields(img, *base, &mut f),
    }
    f.retain(|x| x.off + u64::from(x.width) <= img.len);
    if f.is_empty() {
        f = (0..img.len.min(512) / 4).map(|i| le(4 * i, 4)).collect();
    }
    f
}
