//! Bad input never panics: every prefix of real files, random byte damage,
//! and hand-made corruptions each give Ok (with warnings) or a PeError that
//! names the offset.

mod common;

use triage_pe::{analyze, Options, PeError};

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn check_prefixes(data: &[u8], step: usize) {
    let opts = Options { hashes: false };
    for len in (0..=data.len()).step_by(step) {
        let _ = analyze(&data[..len], &opts);
    }
}

#[test]
fn every_prefix_of_small_real_files() {
    check_prefixes(&common::repo_sample("good/smss.exe"), 1);
    check_prefixes(&common::repo_sample("signed/tool_signed.exe"), 1);
    if let Some(d) = common::shared_pe("signify__pciide.sys") {
        check_prefixes(&d, 1);
    }
    if let Some(d) = common::shared_pe("saferwall__shimeng.dll") {
        check_prefixes(&d, 1);
    }
}

#[test]
fn prefixes_of_large_signed_files() {
    // Every 7th length keeps the run short while still cutting inside every
    // structure of a file this size (certificate table, resources, imports).
    for name in ["saferwall__kernel32.dll", "saferwall__putty.exe"] {
        if let Some(d) = common::shared_pe(name) {
            let head = &d[..d.len().min(8192)];
            check_prefixes(head, 1);
            check_prefixes(&d, 7919);
            // The last bytes hold the certificate table: cut through it more
            // densely (every prefix of a small signed file is tested above).
            for cut in (d.len().saturating_sub(12_000)..d.len()).step_by(61) {
                let _ = analyze(&d[..cut], &Options::default());
            }
        }
    }
}

#[test]
fn random_byte_damage() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut originals = vec![
        common::repo_sample("good/smss.exe"),
        common::repo_sample("signed/fake_microsoft.exe"),
    ];
    if let Some(d) = common::shared_pe("signify__pciide.sys") {
        originals.push(d);
    }
    for original in &originals {
        for _ in 0..1500 {
            let mut d = original.clone();
            for _ in 0..1 + xorshift(&mut seed) % 8 {
                let at = (xorshift(&mut seed) as usize) % d.len();
                d[at] = xorshift(&mut seed) as u8;
            }
            let _ = analyze(&d, &Options { hashes: true });
        }
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(matches!(
        analyze(b"", &Options::default()),
        Err(PeError::Truncated { offset: 0, .. })
    ));
    assert!(matches!(
        analyze(&[0u8; 4096], &Options::default()),
        Err(PeError::NotMz { found: [0, 0] })
    ));
    let mut mz = vec![0u8; 128];
    mz[0..2].copy_from_slice(b"MZ");
    mz[0x3c..0x40].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert!(matches!(
        analyze(&mz, &Options::default()),
        Err(PeError::LfanewOutOfRange {
            e_lfanew: 0xffff_fff0,
            ..
        })
    ));
    mz[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    mz[0x40..0x44].copy_from_slice(b"NE\0\0");
    let err = analyze(&mz, &Options::default()).unwrap_err();
    assert!(matches!(err, PeError::NotPe { offset: 0x40, .. }));
    assert!(err.to_string().contains("offset 0x40"), "{err}");
}

fn lfanew(d: &[u8]) -> usize {
    u32::from_le_bytes(d[0x3c..0x40].try_into().unwrap()) as usize
}

#[test]
fn section_table_beyond_the_file_is_reported_with_its_offset() {
    let mut d = common::repo_sample("good/smss.exe");
    let coff = lfanew(&d) + 4;
    d[coff + 2..coff + 4].copy_from_slice(&0xffffu16.to_le_bytes());
    let err = analyze(&d, &Options::default()).unwrap_err();
    assert!(
        matches!(err, PeError::SectionTableBeyondFile { count: 0xffff, .. }),
        "{err}"
    );
}

/// Offset of the resource directory in good/smss.exe, found through the
/// section table like any reader would.
fn resource_dir_offset(d: &[u8]) -> usize {
    let opt = lfanew(d) + 24;
    let rsrc_rva = u32::from_le_bytes(d[opt + 112 + 16..opt + 112 + 20].try_into().unwrap());
    let n = u16::from_le_bytes(d[lfanew(d) + 6..lfanew(d) + 8].try_into().unwrap()) as usize;
    let size_opt =
        u16::from_le_bytes(d[lfanew(d) + 20..lfanew(d) + 22].try_into().unwrap()) as usize;
    let table = opt + size_opt;
    for i in 0..n {
        let s = table + 40 * i;
        let va = u32::from_le_bytes(d[s + 12..s + 16].try_into().unwrap());
        let raw = u32::from_le_bytes(d[s + 20..s + 24].try_into().unwrap());
        let vsize = u32::from_le_bytes(d[s + 8..s + 12].try_into().unwrap());
        if rsrc_rva >= va && rsrc_rva < va + vsize {
            return (raw + (rsrc_rva - va)) as usize;
        }
    }
    panic!("no section holds the resource directory");
}

#[test]
fn a_resource_directory_loop_is_a_warning() {
    let mut d = common::repo_sample("good/smss.exe");
    let root = resource_dir_offset(&d);
    // The root has one id entry (RT_VERSION); point it back at the root.
    assert_eq!(
        u32::from_le_bytes(d[root + 16..root + 20].try_into().unwrap()),
        16
    );
    d[root + 20..root + 24].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    let f = analyze(&d, &Options::default()).expect("a damaged resource tree is not fatal");
    assert!(f.version_info.is_none());
    assert!(
        f.warnings
            .iter()
            .any(|w| w.contains("loop") && w.contains(&format!("{root:#x}"))),
        "{:?}",
        f.warnings
    );
    assert_eq!(f.subsystem, "native", "the rest is still read");
}

#[test]
fn a_broken_signature_is_a_warning() {
    let mut d = common::repo_sample("signed/tool_signed.exe");
    let opt = lfanew(&d) + 24;
    let table = u32::from_le_bytes(d[opt + 144..opt + 148].try_into().unwrap()) as usize;
    // Overwrite the start of the PKCS#7 blob.
    d[table + 8..table + 40].fill(0x41);
    let f = analyze(&d, &Options::default()).unwrap();
    assert!(f.authenticode.is_none());
    assert!(
        f.warnings
            .iter()
            .any(|w| w.contains(&format!("{:#x}", table + 8))),
        "{:?}",
        f.warnings
    );

    // A security directory pointing past the end of the file.
    let mut d = common::repo_sample("signed/tool_signed.exe");
    d[opt + 148..opt + 152].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let f = analyze(&d, &Options::default()).unwrap();
    assert!(f.authenticode.is_none());
    assert!(
        f.warnings.iter().any(|w| w.contains("certificate table")),
        "{:?}",
        f.warnings
    );
}

#[test]
fn overlapping_sections_do_not_multiply_the_work() {
    // 1000 sections that all cover the same 2 MB: a hostile table.
    let good = common::repo_sample("good/smss.exe");
    let mut d = vec![0u8; 2 << 20];
    d[..1024].copy_from_slice(&good[..1024]);
    let coff = lfanew(&d) + 4;
    d[coff + 2..coff + 4].copy_from_slice(&1000u16.to_le_bytes());
    let size_opt = u16::from_le_bytes(d[coff + 16..coff + 18].try_into().unwrap()) as usize;
    let table = coff + 20 + size_opt;
    for i in 0..1000 {
        let s = table + 40 * i;
        d[s..s + 8].copy_from_slice(b".evil\0\0\0");
        d[s + 8..s + 12].copy_from_slice(&(2u32 << 20).to_le_bytes());
        d[s + 12..s + 16].copy_from_slice(&0x1000u32.to_le_bytes());
        d[s + 16..s + 20].copy_from_slice(&(2u32 << 20).to_le_bytes());
        d[s + 20..s + 24].copy_from_slice(&0u32.to_le_bytes());
    }
    let f = analyze(&d, &Options::default()).unwrap();
    assert_eq!(f.sections.len(), 1000);
    let measured = f.sections.iter().filter(|s| s.entropy.is_some()).count();
    assert!(measured <= 5, "{measured} sections histogrammed");
    assert!(
        f.warnings.iter().any(|w| w.contains("entropy")),
        "{:?}",
        f.warnings
    );
}
