#![allow(dead_code, unused_imports)]
pub use triage_testkit::{hives_dir, shared_dir};

pub fn read_hive(name: &str) -> Option<Vec<u8>> {
    hives_dir().map(|d| std::fs::read(d.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}

pub fn expected() -> Option<serde_json::Value> {
    let p = hives_dir()?.join("EXPECTED.python-registry.json");
    Some(
        serde_json::from_slice(&std::fs::read(p).expect("EXPECTED json readable"))
            .expect("EXPECTED json parses"),
    )
}
