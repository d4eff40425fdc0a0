//! hiberfil.sys written by triage-memgen from a generated image: every page read through
//! the hibernation reader must equal the raw image's, and the compressed sets memgen
//! writes must decode with independent decoders (PyPI `xpress-lz77`, the decoder
//! Volatility's unmerged hibernation layer uses, for plain sets; the `xpress-huffman`
//! crate for Huffman sets) to the raw image's pages.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use triage_memgen::{generate, resolve_isf, Format, Scenario, Truth};
use triage_physmem::hiberfil::{open_source, probe, CompressionSet, HiberState, SetCodec};
use triage_physmem::{open, ContainerKind, PhysicalMemory, ReadOutcome};
use triage_source::{Location, MemorySource, Source};

struct Fixture {
    _dir: tempfile::TempDir,
    raw: PathBuf,
    plain: PathBuf,
    huffman: PathBuf,
    truth: Truth,
}

/// One generated image in three containers, shared by the tests of this file.
fn fixture() -> Option<&'static Fixture> {
    static FIX: OnceLock<Option<Fixture>> = OnceLock::new();
    FIX.get_or_init(|| {
        let shared = triage_testkit::shared_dir()?;
        let dir = tempfile::tempdir().unwrap();
        let mut sc = Scenario::clean_boot(19041);
        sc.memory_size = 64 << 20;
        let isf = resolve_isf(&sc, &shared.join("symbols")).unwrap();
        let mut paths = Vec::new();
        let mut truth = None;
        for format in [Format::Raw, Format::Hiberfil, Format::HiberfilHuffman] {
            let path = dir.path().join(format.name());
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            truth = Some(generate(&sc, &isf, &mut out, format).unwrap());
            paths.push(path);
        }
        Some(Fixture {
            raw: paths[0].clone(),
            plain: paths[1].clone(),
            huffman: paths[2].clone(),
            truth: truth.unwrap(),
            _dir: dir,
        })
    })
    .as_ref()
}

fn hiber(path: &Path) -> triage_physmem::hiberfil::HiberMemory {
    let src: Source = Arc::new(triage_source::FileSource::open(path).unwrap());
    open_source(src).unwrap()
}

fn assert_same_pages(raw: &dyn PhysicalMemory, hib: &dyn PhysicalMemory, truth: &Truth) {
    // RAM is exactly the generator's runs: page 0 and the legacy hole are absent.
    let runs: Vec<(u64, u64)> = hib.ranges().iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(runs, truth.runs);
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    for &(s, e) in &truth.runs {
        for pa in (s..e).step_by(4096) {
            assert!(raw.read(pa, &mut a).is_full());
            assert_eq!(hib.read(pa, &mut b), ReadOutcome::Full, "{pa:#x}");
            assert!(a == b, "page {pa:#x} differs");
        }
    }
    assert_eq!(hib.read(0, &mut b), ReadOutcome::Absent);
    assert_eq!(hib.read(0xA0000, &mut b), ReadOutcome::Absent);
    // A large read across a run edge (the parallel path) and an unaligned one.
    let mut big_raw = vec![0u8; 0x80000];
    let mut big = vec![0u8; 0x80000];
    raw.read(0x40000, &mut big_raw);
    match hib.read(0x40000, &mut big) {
        ReadOutcome::Partial { holes } => {
            assert_eq!(holes.len(), 1);
            assert_eq!((holes[0].start, holes[0].end), (0x9F000, 0xC0000));
        }
        other => panic!("{other:?}"),
    }
    assert!(big == big_raw);
    let mut odd_raw = vec![0u8; 10_000];
    let mut odd = vec![0u8; 10_000];
    raw.read(truth.kernel_base_pa + 123, &mut odd_raw);
    assert!(hib.read(truth.kernel_base_pa + 123, &mut odd).is_full());
    assert!(odd == odd_raw);
}

#[test]
fn plain_and_huffman_hiberfils_restore_the_raw_image_page_for_page() {
    let Some(f) = fixture() else { return };
    let raw = open(&f.raw).unwrap();
    for path in [&f.plain, &f.huffman] {
        let hib = open(path).unwrap();
        assert_eq!(hib.kind(), ContainerKind::Hiberfil);
        assert!(hib.warnings().is_empty(), "{:?}", hib.warnings());
        assert_same_pages(raw.as_ref(), hib.as_ref(), &f.truth);
        let h = hiber(path);
        assert_eq!(h.header().system_time, f.truth.system_time);
        assert_eq!(h.header().profile.length_self, 0x3e0);
        assert!(h.read_errors().is_empty());
        // Both compressed and stored sets were met.
        let codecs: Vec<SetCodec> = h.sets().iter().map(|s| s.codec).collect();
        assert!(codecs.contains(&SetCodec::Stored));
        let want = if path == &f.plain {
            SetCodec::Xpress
        } else {
            SetCodec::XpressHuffman
        };
        assert!(codecs.contains(&want), "{want:?}");
    }
}

/// The raw image's pages for one set's descriptors.
fn expected(raw: &[u8], set: &CompressionSet) -> Vec<u8> {
    let mut v = Vec::new();
    for &(pfn, n) in &set.runs {
        let at = (pfn * 4096) as usize;
        v.extend_from_slice(&raw[at..at + n as usize * 4096]);
    }
    v
}

#[test]
fn huffman_sets_decode_with_the_xpress_huffman_crate() {
    let Some(f) = fixture() else { return };
    let raw = std::fs::read(&f.raw).unwrap();
    let file = std::fs::read(&f.huffman).unwrap();
    let h = hiber(&f.huffman);
    let mut checked = 0;
    for s in h
        .sets()
        .iter()
        .filter(|s| s.codec == SetCodec::XpressHuffman)
    {
        let at = s.data_offset as usize;
        let body = &file[at..at + s.compressed_len as usize];
        let want = expected(&raw, s);
        let theirs = xpress_huffman::decompress(body, want.len()).unwrap();
        assert!(theirs == want, "set at {:#x}", s.offset);
        checked += 1;
    }
    assert!(checked > 10, "{checked}");
}

/// A python with PyPI `xpress-lz77` (tools/oracle/setup.sh). Required in CI.
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("SMSS_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| triage_testkit::repo_dir().join(".venv/bin/python"));
    let ok = Command::new(&p)
        .args(["-c", "import xpress_lz77"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs a python with xpress-lz77 (tools/oracle/setup.sh, SMSS_PY)"
    );
    eprintln!("note: no python with xpress_lz77; oracle test skipped");
    None
}

#[test]
fn plain_sets_decode_with_pypi_xpress_lz77() {
    let Some(f) = fixture() else { return };
    let Some(py) = python() else { return };
    let raw = std::fs::read(&f.raw).unwrap();
    let h = hiber(&f.plain);
    let sets: Vec<&CompressionSet> = h
        .sets()
        .iter()
        .filter(|s| s.codec == SetCodec::Xpress)
        .collect();
    assert!(sets.len() > 10, "{}", sets.len());
    let dir = tempfile::tempdir().unwrap();
    let plan: String = sets
        .iter()
        .map(|s| format!("{} {}\n", s.data_offset, s.compressed_len))
        .collect();
    std::fs::write(dir.path().join("plan"), plan).unwrap();
    let script = r#"
import sys, struct, xpress_lz77
src, plan, out = sys.argv[1:4]
data = open(src, 'rb').read()
with open(out, 'wb') as o:
    for line in open(plan):
        off, n = map(int, line.split())
        d = bytes(xpress_lz77.lz77_plain_decompress_py(data[off:off + n]))
        o.write(struct.pack('<I', len(d)) + d)
"#;
    let out = dir.path().join("out");
    let st = Command::new(py)
        .args(["-c", script])
        .arg(&f.plain)
        .arg(dir.path().join("plan"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let theirs = std::fs::read(&out).unwrap();
    let mut pos = 0usize;
    for s in sets {
        let n = u32::from_le_bytes(theirs[pos..pos + 4].try_into().unwrap()) as usize;
        let got = &theirs[pos + 4..pos + 4 + n];
        pos += 4 + n;
        assert!(got == expected(&raw, s), "set at {:#x}", s.offset);
    }
    assert_eq!(pos, theirs.len());
}

fn mem_source(bytes: Vec<u8>) -> Source {
    Arc::new(MemorySource::new(Location::new("test hiberfil.sys"), bytes))
}

#[test]
fn resumed_zeroed_and_unknown_headers_say_why() {
    let mut page = vec![0u8; 4096];
    assert_eq!(probe(&page), HiberState::Zeroed);
    page[..4].copy_from_slice(b"WAKE");
    assert_eq!(probe(&page), HiberState::Resumed);
    let e = open_source(mem_source(page.clone()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("WAKE") && e.contains("resumed"), "{e}");
    page[..4].copy_from_slice(b"HIBR");
    page[0xC..0x10].copy_from_slice(&0x123u32.to_le_bytes());
    assert_eq!(
        probe(&page),
        HiberState::UnknownLayout { length_self: 0x123 }
    );
    let e = open_source(mem_source(page.clone()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("0x123"), "{e}");
    page[..4].copy_from_slice(b"MZ\0\0");
    assert_eq!(probe(&page), HiberState::NotHiberfil);
    assert_eq!(probe(b"HIB"), HiberState::NotHiberfil);
    // Through the path API: a clear error, not a panic and not a raw image.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("hiberfil.sys");
    let mut wake = vec![0u8; 8192];
    wake[..4].copy_from_slice(b"WAKE");
    std::fs::write(&p, &wake).unwrap();
    let e = open(&p).err().unwrap().to_string();
    assert!(e.contains("WAKE"), "{e}");
}

#[test]
fn damaged_hiberfils_read_as_holes_and_never_panic() {
    let Some(f) = fixture() else { return };
    let file = std::fs::read(&f.huffman).unwrap();
    let h = hiber(&f.huffman);
    let sets = h.sets().to_vec();
    let compressed = sets
        .iter()
        .find(|s| s.codec == SetCodec::XpressHuffman && s.pages() == 16)
        .unwrap()
        .clone();
    // Garbage inside one compressed set: its pages are holes, the error names its offset.
    let mut bad = file.clone();
    let at = compressed.data_offset as usize;
    for b in &mut bad[at + 256..at + compressed.compressed_len as usize] {
        *b = 0xFF;
    }
    let m = open_source(mem_source(bad)).unwrap();
    let pa = compressed.runs[0].0 * 4096;
    let mut buf = vec![0u8; 4096];
    assert_eq!(m.read(pa, &mut buf), ReadOutcome::Absent);
    let errs = m.read_errors();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("XPRESS Huffman") && errs[0].contains("test hiberfil.sys"),
        "{errs:?}"
    );
    // The other sets still read.
    let other = sets.iter().find(|s| s.offset != compressed.offset).unwrap();
    assert!(m.read(other.runs[0].0 * 4096, &mut buf).is_full());
    // A broken status dword in the middle of the kernel chain: the sets before it stay
    // readable, the walk stops with a warning naming the offset.
    let mid = &sets[sets.len() / 2];
    let mut bad = file.clone();
    bad[mid.offset as usize..mid.offset as usize + 4].copy_from_slice(&[0, 0, 0, 0]);
    let m = open_source(mem_source(bad)).unwrap();
    assert_eq!(m.sets().len(), sets.len() / 2);
    assert!(
        m.warnings()[0].contains(&format!("{:#x}", mid.offset)),
        "{:?}",
        m.warnings()
    );
    // Truncations and byte flips everywhere: open and read whatever is there, no panic.
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for round in 0..24 {
        let mut d = file.clone();
        if round % 2 == 0 {
            let cut = (next() % d.len() as u64) as usize;
            d.truncate(cut);
        }
        for _ in 0..20 {
            let i = (next() % d.len().max(1) as u64) as usize;
            if let Some(b) = d.get_mut(i) {
                *b = next() as u8;
            }
        }
        if round % 3 == 0 {
            // Hit the header and the first set headers too.
            for i in [0xC, 0x58, 0x68, 0x70, 0x230, 0x398, 0x1000, 0x1001, 0x1004] {
                if let Some(b) = d.get_mut(i) {
                    *b = next() as u8;
                }
            }
        }
        if let Ok(m) = open_source(mem_source(d)) {
            let mut buf = vec![0u8; 0x20000];
            for r in m.ranges().iter().take(64) {
                let _ = m.read(r.start, &mut buf);
                let _ = m.read(r.end.saturating_sub(100), &mut buf[..4096]);
            }
            let _ = m.read(u64::MAX - 10, &mut buf[..64]);
        }
    }
}

/// A hand-made 32-bit (x86, build 17763-19041 layout) hiberfil: 4-byte descriptors and
/// pointers, a stored set of two descriptors, a plain set, and a Huffman set whose
/// algorithm bits are 01 (plain to Volatility, Huffman to LeechCore: tried both ways).
#[test]
fn x86_layout_stored_plain_and_ambiguous_sets() {
    let page = |b: u8| -> Vec<u8> { (0..4096u32).map(|i| b ^ (i / 64) as u8).collect() };
    let mut f = vec![0u8; 4096];
    f[..4].copy_from_slice(b"HIBR");
    f[0xC..0x10].copy_from_slice(&0x340u32.to_le_bytes());
    f[0x14..0x18].copy_from_slice(&0x1000u32.to_le_bytes());
    f[0x50..0x54].copy_from_slice(&1u32.to_le_bytes()); // FirstBootRestorePage
    f[0x54..0x58].copy_from_slice(&1u32.to_le_bytes()); // FirstKernelRestorePage
    f[0x210..0x218].copy_from_slice(&5u64.to_le_bytes()); // KernelPagesProcessed
    f[0x310..0x314].copy_from_slice(&0x100u32.to_le_bytes()); // HighestPhysicalPage
    let set = |f: &mut Vec<u8>, descs: &[(u32, u32)], algo: u32, payload: &[u8]| {
        let status = descs.len() as u32 | (payload.len() as u32) << 8 | algo << 30;
        f.extend_from_slice(&status.to_le_bytes());
        for &(pfn, n) in descs {
            f.extend_from_slice(&(pfn << 4 | (n - 1)).to_le_bytes());
        }
        f.extend_from_slice(payload);
    };
    let stored = [page(1), page(2), page(3)].concat();
    set(&mut f, &[(0x10, 2), (0x50, 1)], 0, &stored);
    set(
        &mut f,
        &[(0x60, 1)],
        0,
        &triage_memgen::xpress_compress(&page(4)),
    );
    set(
        &mut f,
        &[(0x61, 1)],
        1,
        &triage_memgen::huffman_compress(&page(5)),
    );
    let m = open_source(mem_source(f)).unwrap();
    assert!(m.header().profile.is_32bit);
    let codecs: Vec<SetCodec> = m.sets().iter().map(|s| s.codec).collect();
    assert_eq!(
        codecs,
        [SetCodec::Stored, SetCodec::Xpress, SetCodec::Ambiguous]
    );
    let mut buf = vec![0u8; 4096];
    for (pfn, want) in [(0x10, 1), (0x11, 2), (0x50, 3), (0x60, 4), (0x61, 5)] {
        assert_eq!(m.read(pfn * 4096, &mut buf), ReadOutcome::Full, "{pfn:#x}");
        assert!(buf == page(want), "{pfn:#x}");
    }
    assert_eq!(m.read(0x12 * 4096, &mut buf), ReadOutcome::Absent);
    let r: Vec<(u64, u64)> = m.ranges().iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(
        r,
        [(0x10000, 0x12000), (0x50000, 0x51000), (0x60000, 0x62000)]
    );
    assert!(m.read_errors().is_empty(), "{:?}", m.read_errors());
}

/// The whole-memory pass (`for_each_page`, what the pool scan uses) decodes sets without
/// the cache: it must give every present page once, in address order, equal to the raw
/// image's, whatever the chunk edges (here 4 MiB and an odd 37 pages, cutting sets).
#[test]
fn for_each_page_gives_the_raw_image_pages_once_in_order() {
    let Some(f) = fixture() else { return };
    let raw = open(&f.raw).unwrap();
    for path in [&f.plain, &f.huffman] {
        let h = hiber(path);
        for chunk in [4u64 << 20, 37 * 4096] {
            let end = h.size_hint();
            let mut seen: Vec<u64> = Vec::new();
            let mut want = vec![0u8; 4096];
            let mut start = 0;
            while start < end {
                let stop = (start + chunk).min(end);
                h.for_each_page(start, stop, &mut |pa, page| {
                    assert!((start..stop).contains(&pa), "{pa:#x} outside the chunk");
                    assert!(raw.read(pa, &mut want).is_full());
                    assert!(
                        page == &want[..],
                        "{}: page {pa:#x} differs",
                        path.display()
                    );
                    seen.push(pa);
                });
                start = stop;
            }
            let all: Vec<u64> = f
                .truth
                .runs
                .iter()
                .flat_map(|&(s, e)| (s..e).step_by(4096))
                .collect();
            assert_eq!(seen, all, "{}: chunk {chunk:#x}", path.display());
        }
        assert!(h.read_errors().is_empty(), "{:?}", h.read_errors());
    }
}

/// Two sets whose runs interleave (A: PFN 0x10, 0x12; B: 0x11, 0x13) and a corrupt third
/// set: the pass gives the pages in PFN order, each from its own set, and skips the
/// corrupt set's page as a hole (the error is recorded).
#[test]
fn for_each_page_with_interleaved_and_corrupt_sets() {
    let page = |b: u8| -> Vec<u8> { (0..4096u32).map(|i| b ^ (i / 64) as u8).collect() };
    let mut f = vec![0u8; 4096];
    f[..4].copy_from_slice(b"HIBR");
    f[0xC..0x10].copy_from_slice(&0x340u32.to_le_bytes());
    f[0x14..0x18].copy_from_slice(&0x1000u32.to_le_bytes());
    f[0x50..0x54].copy_from_slice(&1u32.to_le_bytes());
    f[0x54..0x58].copy_from_slice(&1u32.to_le_bytes());
    f[0x210..0x218].copy_from_slice(&5u64.to_le_bytes());
    f[0x310..0x314].copy_from_slice(&0x100u32.to_le_bytes());
    let set = |f: &mut Vec<u8>, descs: &[(u32, u32)], payload: &[u8]| {
        let status = descs.len() as u32 | (payload.len() as u32) << 8;
        f.extend_from_slice(&status.to_le_bytes());
        for &(pfn, n) in descs {
            f.extend_from_slice(&(pfn << 4 | (n - 1)).to_le_bytes());
        }
        f.extend_from_slice(payload);
    };
    let a = [page(1), page(2)].concat();
    let b = [page(3), page(4)].concat();
    set(
        &mut f,
        &[(0x10, 1), (0x12, 1)],
        &triage_memgen::xpress_compress(&a),
    );
    set(
        &mut f,
        &[(0x11, 1), (0x13, 1)],
        &triage_memgen::xpress_compress(&b),
    );
    // A plain set whose stream is garbage (a match reaching before the output start).
    set(&mut f, &[(0x20, 1)], &[0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0x00]);
    let m = open_source(mem_source(f)).unwrap();
    let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
    let n = m.for_each_page(0, 0x100 * 4096, &mut |pa, p| got.push((pa, p.to_vec())));
    let want = [(0x10, 1), (0x11, 3), (0x12, 2), (0x13, 4)];
    assert_eq!(n, 4);
    assert_eq!(got.len(), want.len());
    for ((pa, bytes), (pfn, b)) in got.iter().zip(want) {
        assert_eq!(*pa, pfn * 4096);
        assert!(*bytes == page(b), "{pfn:#x}");
    }
    let errs = m.read_errors();
    assert!(
        !errs.is_empty() && errs.iter().all(|e| e.contains("XPRESS")),
        "{errs:?}"
    );
}
