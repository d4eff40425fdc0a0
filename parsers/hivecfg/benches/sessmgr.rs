//! Session Manager extraction (all control sets) on regipy__SYSTEM; budget < 5 ms.
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use triage_regf::Hive;

fn bench_sessmgr(c: &mut Criterion) {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let Ok(bytes) = std::fs::read(dir.join("samples/hives/regipy__SYSTEM")) else {
        eprintln!("shared samples not found: skipping the Session Manager bench");
        return;
    };
    let hive = Hive::from_bytes(&bytes).expect("regipy__SYSTEM parses");
    c.bench_function("system_config regipy__SYSTEM", |b| {
        b.iter(|| triage_hivecfg::system_config(&hive))
    });
}

criterion_group!(benches, bench_sessmgr);
criterion_main!(benches);
