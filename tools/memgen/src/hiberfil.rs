//! A Windows 8+ x64 hibernation file (`hiberfil.sys`) holding the generated memory.
//!
//! Layout (facts from LeechCore's `device_hibr.c` and the unmerged Volatility 3
//! `layers/hib.py`): page 0 is `PO_MEMORY_IMAGE` (`HIBR`, `LengthSelf` at 0xC, which
//! tells the build family and so where the other fields are). Two *restore sets* follow,
//! each a chain of *compression sets* starting on a page boundary: a status dword
//! (descriptor count in bits 0-7, compressed size in bits 8-29, the algorithm in bits
//! 30-31: 0 plain LZXPRESS, 3 LZXPRESS Huffman), that many 8-byte page descriptors
//! (`pfn << 4 | (pages - 1)`), then the compressed bytes of at most 16 pages. A set
//! whose compressed size equals its page bytes is stored uncompressed, as Windows does
//! when compression does not pay (generated noise pages never compress).
//!
//! The boot restore set holds the RAM below 1 MiB (loader pages), the kernel restore set
//! the rest. Set sizes vary (16 pages mostly, some shorter) so readers meet sets made of
//! several descriptors and runs split across sets.

use crate::phys::{PhysMem, PAGE};
use crate::truth::Truth;
use std::io::Write;

/// How the compression sets are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiberCompression {
    /// Plain LZ77 LZXPRESS ([MS-XCA] 2.3).
    Xpress,
    /// LZ77+Huffman LZXPRESS ([MS-XCA] 2.1).
    XpressHuffman,
}

/// Where `PO_MEMORY_IMAGE` keeps the fields a reader needs, by build (x64).
struct Profile {
    length_self: u32,
    first_boot: usize,
    first_kernel: usize,
    kernel_pages: usize,
    highest_page: usize,
}

fn profile(build: u32) -> Profile {
    let p = |length_self, first_boot, first_kernel, kernel_pages, highest_page| Profile {
        length_self,
        first_boot,
        first_kernel,
        kernel_pages,
        highest_page,
    };
    match build {
        0..=9600 => p(0x360, 0x60, 0x68, 0x1c8, 0x330),
        9601..=10586 => p(0x3b0, 0x68, 0x70, 0x218, 0x380),
        10587..=14393 => p(0x3c8, 0x68, 0x70, 0x220, 0x388),
        14394..=17134 => p(0x3d8, 0x68, 0x70, 0x230, 0x398),
        17135..=19045 => p(0x3e0, 0x68, 0x70, 0x230, 0x398),
        19046..=22631 => p(0x448, 0x68, 0x70, 0x230, 0x400),
        _ => p(0x4d8, 0x68, 0x70, 0x238, 0x498),
    }
}

const NUM_PAGES_FOR_LOADER: usize = 0x58;
const MAX_SET_PAGES: u64 = 16;

/// What was written, for tests and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct HiberStats {
    pub sets: u64,
    pub stored_sets: u64,
    pub pages: u64,
    pub compressed_bytes: u64,
}

/// Write `mem` as a hibernation file of the build in `t`.
pub fn write_hiberfil(
    mem: &PhysMem,
    t: &Truth,
    compression: HiberCompression,
    out: &mut impl Write,
) -> std::io::Result<HiberStats> {
    let page_of = |pfn: u64, buf: &mut [u8]| mem.page_into(pfn, buf);
    write_pages(&page_of, &t.runs, t.build, t.system_time, compression, out)
}

/// Write the RAM in `runs` (page-aligned, half-open physical ranges) as a hibernation
/// file; `page_of(pfn, buf)` fills one page. Usable for any page source (benchmarks
/// build compressible memory this way).
pub fn write_pages(
    page_of: &dyn Fn(u64, &mut [u8]),
    runs: &[(u64, u64)],
    build: u32,
    system_time: u64,
    compression: HiberCompression,
    out: &mut impl Write,
) -> std::io::Result<HiberStats> {
    let prof = profile(build);
    let boot: Vec<(u64, u64)> = split_runs(runs, 0, 0x10_0000);
    let kernel: Vec<(u64, u64)> = split_runs(runs, 0x10_0000, u64::MAX);
    let mut stats = HiberStats::default();
    let mut body = Vec::new();
    let mut sets = Vec::new();
    // Restore sets start on page boundaries after the header page.
    let boot_page = 1u64;
    let boot_pages = write_restore_set(page_of, &boot, compression, &mut sets, &mut stats);
    append_sets(&mut body, &sets);
    sets.clear();
    pad_to_page(&mut body);
    let kernel_page = 1 + body.len() as u64 / PAGE;
    let kernel_pages = write_restore_set(page_of, &kernel, compression, &mut sets, &mut stats);
    let mut h = vec![0u8; PAGE as usize];
    let mut put = |off: usize, d: &[u8]| h[off..off + d.len()].copy_from_slice(d);
    put(0, b"HIBR");
    put(0xC, &prof.length_self.to_le_bytes());
    put(0x18, &(PAGE as u32).to_le_bytes()); // PageSize
    put(0x20, &system_time.to_le_bytes());
    put(NUM_PAGES_FOR_LOADER, &boot_pages.to_le_bytes());
    put(prof.first_boot, &boot_page.to_le_bytes());
    put(prof.first_kernel, &kernel_page.to_le_bytes());
    put(prof.kernel_pages, &kernel_pages.to_le_bytes());
    let highest = runs.iter().map(|r| r.1 / PAGE).max().unwrap_or(1) - 1;
    put(prof.highest_page, &highest.to_le_bytes());
    out.write_all(&h)?;
    out.write_all(&body)?;
    drop(body);
    for s in &sets {
        out.write_all(s)?;
    }
    // Windows sizes hiberfil.sys ahead of time: the tail is slack.
    out.write_all(&vec![0u8; PAGE as usize])?;
    Ok(stats)
}

fn split_runs(runs: &[(u64, u64)], lo: u64, hi: u64) -> Vec<(u64, u64)> {
    runs.iter()
        .filter_map(|&(s, e)| {
            let (s, e) = (s.max(lo), e.min(hi));
            (s < e).then_some((s, e))
        })
        .collect()
}

fn append_sets(body: &mut Vec<u8>, sets: &[Vec<u8>]) {
    for s in sets {
        body.extend_from_slice(s);
    }
}

fn pad_to_page(body: &mut Vec<u8>) {
    let len = (body.len() as u64).div_ceil(PAGE) * PAGE;
    body.resize(len as usize, 0);
}

/// Group the pages of `runs` into compression sets; returns the page count.
fn write_restore_set(
    page_of: &dyn Fn(u64, &mut [u8]),
    runs: &[(u64, u64)],
    compression: HiberCompression,
    sets: &mut Vec<Vec<u8>>,
    stats: &mut HiberStats,
) -> u64 {
    let pfns = runs.iter().flat_map(|&(s, e)| s / PAGE..e / PAGE);
    let mut total = 0u64;
    let mut group: Vec<u64> = Vec::with_capacity(MAX_SET_PAGES as usize);
    let mut n = 0u64;
    // Mostly full sets; every seventh one shorter, so runs straddle sets.
    let want = |n: u64| if n % 7 == 3 { 5 } else { MAX_SET_PAGES } as usize;
    for pfn in pfns {
        group.push(pfn);
        if group.len() == want(n) {
            sets.push(encode_set(page_of, &group, compression, stats));
            total += group.len() as u64;
            group.clear();
            n += 1;
        }
    }
    if !group.is_empty() {
        sets.push(encode_set(page_of, &group, compression, stats));
        total += group.len() as u64;
    }
    total
}

fn encode_set(
    page_of: &dyn Fn(u64, &mut [u8]),
    pfns: &[u64],
    compression: HiberCompression,
    stats: &mut HiberStats,
) -> Vec<u8> {
    let mut data = vec![0u8; pfns.len() * PAGE as usize];
    for (i, &pfn) in pfns.iter().enumerate() {
        page_of(pfn, &mut data[i * PAGE as usize..(i + 1) * PAGE as usize]);
    }
    // Descriptors: runs of consecutive PFNs, at most 16 pages each.
    let mut descs: Vec<(u64, u64)> = Vec::new();
    for &pfn in pfns {
        match descs.last_mut() {
            Some((start, count)) if *start + *count == pfn && *count < 16 => *count += 1,
            _ => descs.push((pfn, 1)),
        }
    }
    let packed = match compression {
        HiberCompression::Xpress => xpress_compress(&data),
        HiberCompression::XpressHuffman => huffman_compress(&data),
    };
    let (payload, stored) = if packed.len() < data.len() {
        (packed, false)
    } else {
        (data, true)
    };
    let algo: u32 = match compression {
        HiberCompression::Xpress => 0,
        HiberCompression::XpressHuffman => 3,
    };
    let status = descs.len() as u32 | (payload.len() as u32) << 8 | algo << 30;
    let mut set = Vec::with_capacity(4 + 8 * descs.len() + payload.len());
    set.extend_from_slice(&status.to_le_bytes());
    for (pfn, count) in &descs {
        set.extend_from_slice(&(pfn << 4 | (count - 1)).to_le_bytes());
    }
    set.extend_from_slice(&payload);
    stats.sets += 1;
    stats.stored_sets += u64::from(stored);
    stats.pages += pfns.len() as u64;
    stats.compressed_bytes += payload.len() as u64;
    set
}

/// An LZ77 item: a literal byte or a match (`len` bytes from `dist` back).
#[derive(Clone, Copy)]
enum Item {
    Literal(u8),
    Match { len: usize, dist: usize },
}

const HASH_BITS: u32 = 13;
const WINDOW: usize = 8192;
const CHAIN: usize = 8;

/// Greedy LZ77 parse with hash chains (3-byte hashes, a few candidates per position).
fn parse(data: &[u8], max_len: usize) -> Vec<Item> {
    let mut head = vec![u32::MAX; 1 << HASH_BITS];
    let mut prev = vec![u32::MAX; data.len()];
    let hash = |i: usize| {
        let v = u32::from(data[i]) | u32::from(data[i + 1]) << 8 | u32::from(data[i + 2]) << 16;
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    };
    let mut items = Vec::new();
    let mut i = 0;
    let insert = |i: usize, head: &mut Vec<u32>, prev: &mut Vec<u32>| {
        if i + 3 <= data.len() {
            let h = hash(i);
            prev[i] = head[h];
            head[h] = i as u32;
        }
    };
    while i < data.len() {
        let mut best = (0usize, 0usize);
        if i + 3 <= data.len() {
            let mut cand = head[hash(i)];
            let limit = max_len.min(data.len() - i);
            for _ in 0..CHAIN {
                if cand == u32::MAX {
                    break;
                }
                let c = cand as usize;
                let dist = i - c;
                if dist > WINDOW {
                    break;
                }
                let mut l = 0;
                while l < limit && data[c + l] == data[i + l] {
                    l += 1;
                }
                if l > best.0 {
                    best = (l, dist);
                    if l == limit {
                        break;
                    }
                }
                cand = prev[c];
            }
        }
        if best.0 >= 3 {
            items.push(Item::Match {
                len: best.0,
                dist: best.1,
            });
            for k in i..i + best.0 {
                insert(k, &mut head, &mut prev);
            }
            i += best.0;
        } else {
            items.push(Item::Literal(data[i]));
            insert(i, &mut head, &mut prev);
            i += 1;
        }
    }
    items
}

/// Plain LZ77 LZXPRESS ([MS-XCA] 2.3): 32-bit flag words (bit 31 first, 1 = match),
/// 16-bit match tokens `(dist - 1) << 3 | min(len - 3, 7)`, longer lengths in a shared
/// half byte, a byte, then 16 bits. The last flag word is padded with ones.
pub fn xpress_compress(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    let mut flag_at = 0usize;
    let mut flags = 0u32;
    let mut nflags = 0u32;
    let mut nibble_at: Option<usize> = None;
    let push_flag =
        |out: &mut Vec<u8>, flags: &mut u32, nflags: &mut u32, flag_at: &mut usize, bit: u32| {
            *flags = *flags << 1 | bit;
            *nflags += 1;
            if *nflags == 32 {
                out[*flag_at..*flag_at + 4].copy_from_slice(&flags.to_le_bytes());
                *flag_at = out.len();
                out.extend_from_slice(&[0; 4]);
                *flags = 0;
                *nflags = 0;
            }
        };
    // u16 holds len - 3, so matches are at most 65538 bytes.
    for item in parse(data, 0xFFFF + 3) {
        match item {
            Item::Literal(b) => {
                out.push(b);
                push_flag(&mut out, &mut flags, &mut nflags, &mut flag_at, 0);
            }
            Item::Match { len, dist } => {
                let l = len - 3;
                let token = ((dist - 1) << 3) as u16 | l.min(7) as u16;
                out.extend_from_slice(&token.to_le_bytes());
                if l >= 7 {
                    let l = l - 7;
                    let nib = l.min(15) as u8;
                    match nibble_at.take() {
                        Some(at) => out[at] |= nib << 4,
                        None => {
                            nibble_at = Some(out.len());
                            out.push(nib);
                        }
                    }
                    if l >= 15 {
                        let l = l - 15;
                        if l < 255 {
                            out.push(l as u8);
                        } else {
                            out.push(255);
                            out.extend_from_slice(&((len - 3) as u16).to_le_bytes());
                        }
                    }
                }
                push_flag(&mut out, &mut flags, &mut nflags, &mut flag_at, 1);
            }
        }
    }
    let pad = 32 - nflags;
    let last = if pad == 32 {
        u32::MAX
    } else {
        flags << pad | ((1u32 << pad) - 1)
    };
    out[flag_at..flag_at + 4].copy_from_slice(&last.to_le_bytes());
    out
}

/// The bit writer of [MS-XCA] 2.2: 16-bit words written MSB first into slots reserved
/// ahead of the byte stream (extra match-length bytes go after the two pending slots,
/// where the decoder's `CurrentPosition` is when it reads them).
struct BitWriter {
    out: Vec<u8>,
    buf: u64,
    count: u32,
    next_bits: usize,
    next_bits2: usize,
}

impl BitWriter {
    fn new(start: Vec<u8>) -> BitWriter {
        let at = start.len();
        let mut out = start;
        out.extend_from_slice(&[0; 4]);
        BitWriter {
            out,
            buf: 0,
            count: 0,
            next_bits: at,
            next_bits2: at + 2,
        }
    }

    fn bits(&mut self, value: u32, n: u32) {
        if n == 0 {
            return;
        }
        self.buf = self.buf << n | u64::from(value & ((1u32 << n) - 1));
        self.count += n;
        while self.count > 16 {
            self.count -= 16;
            let word = (self.buf >> self.count) as u16;
            self.out[self.next_bits..self.next_bits + 2].copy_from_slice(&word.to_le_bytes());
            self.next_bits = self.next_bits2;
            self.next_bits2 = self.out.len();
            self.out.extend_from_slice(&[0; 2]);
        }
    }

    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    fn finish(mut self) -> Vec<u8> {
        let word = ((self.buf << (16 - self.count)) & 0xFFFF) as u16;
        self.out[self.next_bits..self.next_bits + 2].copy_from_slice(&word.to_le_bytes());
        self.out[self.next_bits2..self.next_bits2 + 2].copy_from_slice(&[0, 0]);
        self.out
    }
}

/// LZ77+Huffman LZXPRESS ([MS-XCA] 2.1) of at most 64 KiB (one block: one table).
/// Symbols 0-255 are literals, `256 + min(len - 3, 15) + 16 * log2(dist)` matches; the
/// stream ends with symbol 256 as Windows' compressor ends it.
pub fn huffman_compress(data: &[u8]) -> Vec<u8> {
    assert!(data.len() <= 65536, "one Huffman block at most");
    let items = parse(data, 0xFFFF + 3);
    let sym = |it: &Item| match *it {
        Item::Literal(b) => usize::from(b),
        Item::Match { len, dist } => {
            256 + (len - 3).min(15) + 16 * (usize::BITS - 1 - dist.leading_zeros()) as usize
        }
    };
    let mut freq = [0u32; 512];
    for it in &items {
        freq[sym(it)] += 1;
    }
    freq[256] += 1; // the end-of-stream symbol
    if freq.iter().filter(|&&f| f > 0).count() < 2 {
        freq[if freq[0] == 0 { 0 } else { 1 }] += 1; // a complete code needs two symbols
    }
    let lens = code_lengths(&freq, 15);
    let codes = canonical_codes(&lens);
    let mut table = vec![0u8; 256];
    for (i, b) in table.iter_mut().enumerate() {
        *b = lens[2 * i] | lens[2 * i + 1] << 4;
    }
    let mut w = BitWriter::new(table);
    for it in &items {
        let s = sym(it);
        w.bits(codes[s], u32::from(lens[s]));
        if let Item::Match { len, dist } = *it {
            let l = len - 3;
            if l >= 15 {
                if l - 15 < 255 {
                    w.byte((l - 15) as u8);
                } else {
                    w.byte(255);
                    w.byte(l as u8);
                    w.byte((l >> 8) as u8);
                }
            }
            let nbits = usize::BITS - 1 - dist.leading_zeros();
            w.bits((dist - (1 << nbits)) as u32, nbits);
        }
    }
    w.bits(codes[256], u32::from(lens[256]));
    w.finish()
}

/// Huffman code lengths limited to `max` bits: plain Huffman, and while the longest code
/// is too long, flatten the frequencies and try again.
fn code_lengths(freq: &[u32; 512], max: u8) -> [u8; 512] {
    let mut f: Vec<u64> = freq.iter().map(|&x| u64::from(x)).collect();
    loop {
        let lens = huffman_lengths(&f);
        if lens.iter().all(|&l| l <= max) {
            return lens;
        }
        for x in f.iter_mut().filter(|x| **x > 0) {
            *x = (*x >> 1) | 1;
        }
    }
}

fn huffman_lengths(freq: &[u64]) -> [u8; 512] {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // Nodes: leaves 0..512, then internal nodes; parent links give depths.
    let mut parent = vec![usize::MAX; 1024];
    let mut heap = BinaryHeap::new();
    for (s, &f) in freq.iter().enumerate() {
        if f > 0 {
            heap.push(Reverse((f, s)));
        }
    }
    let mut next = 512;
    while heap.len() > 1 {
        let (Some(Reverse((fa, a))), Some(Reverse((fb, b)))) = (heap.pop(), heap.pop()) else {
            break;
        };
        parent[a] = next;
        parent[b] = next;
        heap.push(Reverse((fa + fb, next)));
        next += 1;
    }
    let mut lens = [0u8; 512];
    for s in 0..512 {
        if freq[s] == 0 {
            continue;
        }
        let mut d = 0u8;
        let mut n = s;
        while parent[n] != usize::MAX {
            n = parent[n];
            d = d.saturating_add(1);
        }
        lens[s] = d;
    }
    lens
}

/// Canonical codes: by length, then symbol ([MS-XCA] 2.1.4.1).
fn canonical_codes(lens: &[u8; 512]) -> [u32; 512] {
    let mut codes = [0u32; 512];
    let mut code = 0u32;
    for len in 1..=15u8 {
        for s in 0..512 {
            if lens[s] == len {
                codes[s] = code;
                code += 1;
            }
        }
        code <<= 1;
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_limited_and_complete() {
        let mut freq = [0u32; 512];
        // Fibonacci frequencies force deep trees.
        let (mut a, mut b) = (1u32, 1u32);
        for f in freq.iter_mut().take(30) {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        let lens = code_lengths(&freq, 15);
        assert!(lens.iter().all(|&l| l <= 15));
        let kraft: f64 = lens
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 0.5f64.powi(i32::from(l)))
            .sum();
        assert!((kraft - 1.0).abs() < 1e-9, "{kraft}");
    }
}
