//! mem_info and translation over a triage-memgen image (raw, 512 MiB by default;
//! MEMINFO_BENCH_MIB=4096 for the 4 GiB budget check). Needs ../shared/symbols.

use std::io::BufWriter;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use triage_memgen::{generate, resolve_isf, Format, Scenario};
use triage_winmem::{mem_info, translate, Arch};

fn shared_symbols() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let s = dir.join("symbols");
    s.is_dir().then_some(s)
}

fn bench(c: &mut Criterion) {
    let Some(symbols) = shared_symbols() else {
        eprintln!("shared/symbols not found; nothing to bench");
        return;
    };
    let mib: u64 = std::env::var("MEMINFO_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bench.raw");
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = mib << 20;
    let isf = resolve_isf(&sc, &symbols).unwrap();
    let truth = generate(
        &sc,
        &isf,
        &mut BufWriter::new(std::fs::File::create(&path).unwrap()),
        Format::Raw,
    )
    .unwrap();
    let phys = triage_physmem::open(&path).unwrap();

    c.bench_function(&format!("mem_info raw {mib} MiB"), |b| {
        b.iter(|| mem_info(phys.as_ref(), None))
    });
    // The fallbacks when neither a crash header nor the low stub answers.
    c.bench_function(&format!("scan_self_map raw {mib} MiB"), |b| {
        b.iter(|| triage_winmem::scan_self_map(phys.as_ref(), 1))
    });
    let vm = triage_winmem::VirtualMemory::new(phys.as_ref(), Arch::X64, truth.dtb);
    c.bench_function("scan_page_tables for ntoskrnl", |b| {
        b.iter(|| triage_winmem::scan_page_tables(&vm).map(|k| k.base))
    });
    c.bench_function("translate 4096 kernel addresses", |b| {
        b.iter(|| {
            (0..4096u64)
                .filter_map(|i| {
                    translate(
                        phys.as_ref(),
                        Arch::X64,
                        truth.dtb,
                        truth.kernel_base + i * 0x1000,
                    )
                    .paddr()
                })
                .count()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
