#![no_main]
//! Any bytes as an EWF segment set or a split raw image: open must return Ok or Err and
//! reads must return data or holes, never panic, loop or allocate by what the input
//! claims. The input is cut in two at a point its first byte chooses: `x.E01`/`x.001`
//! and `x.E02`/`x.002`, so the segment walk, placement and the split source all run.

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use triage_source::{read_lossy, Location, MemorySource, Result, Siblings, Source};

struct Two(Vec<(String, Source)>);

impl Siblings for Two {
    fn open(&self, name: &str) -> Result<Option<Source>> {
        Ok(self
            .0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s.clone()))
    }
    fn names(&self) -> Vec<String> {
        self.0.iter().map(|(n, _)| n.clone()).collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let cut = data
        .first()
        .map_or(0, |&b| data.len() * usize::from(b) / 256);
    let (a, b) = data.split_at(cut.max(data.len() / 2).min(data.len()));
    let mut buf = vec![0u8; 1 << 16];
    for (e1, e2) in [("x.E01", "x.E02"), ("x.001", "x.002")] {
        let s1: Source = Arc::new(MemorySource::new(Location::new(e1), a.to_vec()));
        let s2: Source = Arc::new(MemorySource::new(Location::new(e2), b.to_vec()));
        let sib = Two(vec![(e1.into(), s1.clone()), (e2.into(), s2.clone())]);
        let _ = triage_container::ewf::secondary_of(&s2, e2, &sib);
        let _ = triage_container::raw::secondary_of(&s2, e2, &sib);
        for c in [
            triage_container::ewf::open(s1.clone(), &sib),
            triage_container::raw::open(s1.clone(), &sib),
        ]
        .into_iter()
        .flatten()
        {
            let len = c.disk.len();
            for off in [0, 100, len / 2, len.saturating_sub(100)] {
                let _ = read_lossy(c.disk.as_ref(), off, &mut buf);
            }
        }
    }
});
