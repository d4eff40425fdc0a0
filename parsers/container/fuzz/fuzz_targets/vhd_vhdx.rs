#![no_main]
//! Any bytes as a VHD or a VHDX image: open must return Ok or Err and reads must return
//! data or holes, never panic, loop or allocate by what the input claims. The siblings
//! hand back the same bytes for every name, so parent chains (and their cycles) are
//! exercised too.

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use triage_source::{read_lossy, Location, MemorySource, Result, Siblings, Source};

struct Same(Source);

impl Siblings for Same {
    fn open(&self, _name: &str) -> Result<Option<Source>> {
        Ok(Some(self.0.clone()))
    }
    fn names(&self) -> Vec<String> {
        vec!["parent.vhd".into(), "parent.vhdx".into()]
    }
}

fuzz_target!(|data: &[u8]| {
    let file: Source = Arc::new(MemorySource::new(Location::new("fuzz"), data.to_vec()));
    let sib = Same(file.clone());
    let mut buf = vec![0u8; 1 << 16];
    for c in [
        triage_container::vhd::open(file.clone(), &sib),
        triage_container::vhdx::open(file.clone(), &sib),
    ]
    .into_iter()
    .flatten()
    {
        let len = c.disk.len();
        for off in [0, len / 2, len.saturating_sub(100)] {
            let _ = read_lossy(c.disk.as_ref(), off, &mut buf);
        }
    }
});
