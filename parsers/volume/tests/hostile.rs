//! Random damage to real partition tables: read_table and identify return, whatever the
//! bytes say.

use std::sync::Arc;

use triage_source::{Location, MemorySource, Source};
use triage_volume::{identify, read_table};

#[test]
fn mutated_tables_never_panic() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    let orig = std::fs::read(dir.join("tsk_volume_system.raw")).unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // The table sectors: the MBR and the EBR at sector 351.
    let hot = [0usize..512, 351 * 512..352 * 512];
    for _ in 0..3000 {
        let mut m = orig.clone();
        for _ in 0..1 + rnd() % 6 {
            let r = &hot[(rnd() % 2) as usize];
            let i = r.start + (rnd() % 66) as usize + 446;
            if i < r.end {
                m[i] = rnd() as u8;
            }
        }
        let d: Source = Arc::new(MemorySource::new(Location::new("m"), m));
        if let Ok(t) = read_table(&*d) {
            assert!(t.partitions.len() <= 4 + 1024);
            for p in &t.partitions {
                let _ = identify(&*d, p.offset);
            }
        }
    }
}
