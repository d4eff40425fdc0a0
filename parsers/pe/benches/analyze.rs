//! criterion: `analyze` with and without whole-file hashes on a few shared
//! samples of different sizes. `cargo bench -p triage-pe --bench analyze`

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use triage_pe::{analyze, Options};

fn shared_pe_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("samples/pe");
    dir.is_dir().then_some(dir)
}

fn bench(c: &mut Criterion) {
    let Some(dir) = shared_pe_dir() else {
        eprintln!("shared/samples/pe not found: nothing to benchmark");
        return;
    };
    let mut group = c.benchmark_group("analyze");
    for name in [
        "signify__pciide.sys",
        "saferwall__kernel32.dll",
        "saferwall__putty.exe",
        "signify__7z1900-x64_signed.exe",
    ] {
        let Ok(data) = std::fs::read(dir.join(name)) else {
            continue;
        };
        group.throughput(Throughput::Bytes(data.len() as u64));
        for hashes in [false, true] {
            let id = BenchmarkId::new(if hashes { "with_hashes" } else { "no_hashes" }, name);
            group.bench_with_input(id, &data, |b, d| {
                b.iter(|| analyze(d, &Options { hashes }).map(|f| f.sections.len()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
