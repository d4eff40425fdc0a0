//! Full walk of regipy__SYSTEM: every key and value decoded.
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use triage_regf::Hive;

fn shared_hive(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("SMSS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    std::fs::read(dir.join("samples/hives").join(name)).ok()
}

fn bench_walk(c: &mut Criterion) {
    let Some(bytes) = shared_hive("regipy__SYSTEM") else {
        eprintln!("shared samples not found: skipping the walk bench");
        return;
    };
    let hive = Hive::from_bytes(&bytes).expect("regipy__SYSTEM parses");
    c.bench_function("walk regipy__SYSTEM", |b| b.iter(|| hive.walk()));
}

criterion_group!(benches, bench_walk);
criterion_main!(benches);
