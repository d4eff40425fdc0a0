//! Pool-tag scan over a generated 512 MiB image versus a bare `memmem` pass over the
//! same pages. `cargo bench -p triage-winproc --bench scan`; throughput is in bytes/s.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use triage_memgen::{generate, resolve_isf, Format, Scenario};
use triage_winproc::{count_tag, scan_processes, ProcLayout, ScanKey};

const SIZE: u64 = 512 << 20;

fn symbols() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.is_dir().then(|| dir.join("symbols"))
}

fn bench(c: &mut Criterion) {
    let Some(symbols) = symbols() else {
        eprintln!("note: shared/ absent; bench skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = SIZE;
    let isf = resolve_isf(&sc, &symbols).unwrap();
    let path = tmp.path().join("bench.raw");
    let truth = {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).unwrap());
        generate(&sc, &isf, &mut out, Format::Raw).unwrap()
    };
    let phys = triage_physmem::open(&path).unwrap();
    let info = triage_winmem::mem_info(phys.as_ref(), None);
    let layout = ProcLayout::from_layout(info.layout.as_ref().unwrap(), info.build).unwrap();
    let key = ScanKey {
        type_key: Some(truth.process_type_index ^ truth.ob_header_cookie),
        phys_end: phys.size_hint(),
    };
    let (hits, _) = scan_processes(phys.as_ref(), &layout, key);
    assert_eq!(hits.len(), truth.processes.len());

    let mut g = c.benchmark_group("scan_512MiB");
    g.throughput(Throughput::Bytes(SIZE));
    g.sample_size(20);
    g.bench_function("scan_processes", |b| {
        b.iter(|| scan_processes(phys.as_ref(), &layout, key).0.len())
    });
    g.bench_function("bare_memmem_pages", |b| {
        b.iter(|| count_tag(phys.as_ref(), b"Proc"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
