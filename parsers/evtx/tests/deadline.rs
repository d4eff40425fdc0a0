//! The time budget (`--max-seconds-per-input`): a scan asks the thread's
//! [`Deadline::current`] before every chunk. Spent before the scan, nothing is read and
//! the result says so; without one, every record is read (the count is libevtx
//! `evtxexport`'s, an independent reader).

use std::path::PathBuf;
use std::process::Command;
use triage_evtx::{scan, scan_until, EvtxFile, CHUNK_SIZE, FILE_HEADER_SIZE};
use triage_source::{Deadline, Location};

/// The plaso System log (33 chunks, 5009 records) and the Security log of the evtx crate.
fn samples() -> Option<Vec<PathBuf>> {
    let dir = triage_testkit::sample_dir("evtx")?;
    Some(
        [
            "log2timeline__plaso__System.evtx",
            "omerbenamram__evtx__security.evtx",
        ]
        .iter()
        .map(|n| dir.join(n))
        .collect(),
    )
}

fn open(path: &PathBuf) -> EvtxFile<'static> {
    let bytes = std::fs::read(path).expect("read sample");
    EvtxFile::from_bytes(Location::file(path), bytes).expect("EVTX file")
}

/// Records as `evtxexport -f xml` prints them.
fn oracle_records(path: &PathBuf) -> Option<u64> {
    let tool = triage_testkit::tool("evtxexport")?;
    let out = Command::new(tool)
        .args(["-f", "xml"])
        .arg(path)
        .output()
        .expect("run evtxexport");
    let xml = String::from_utf8_lossy(&out.stdout);
    Some(xml.matches("<Event xmlns").count() as u64)
}

#[test]
fn spent_budget_stops_before_the_first_chunk_and_says_so() {
    let Some(files) = samples() else {
        return;
    };
    for path in &files {
        let file = open(path);
        let positions = file.bytes().len().saturating_sub(FILE_HEADER_SIZE) / CHUNK_SIZE;
        assert!(positions > 10, "{}: a log of many chunks", path.display());
        let spent = Deadline::after_secs(Some(0.0));
        // Through the thread's scope, as the batch driver sets it.
        let got = spent.scope(|| scan(&file));
        assert!(got.stopped, "{}: stopped", path.display());
        assert_eq!(got.chunks_skipped, got.chunks, "{}", path.display());
        assert!(got.chunks >= positions as u64);
        assert_eq!(got.records, 0);
        assert!(got.processes.is_empty() && got.boots.is_empty());
        assert!(
            spent.stopped(),
            "the deadline records the stop for the driver"
        );
        // And passed explicitly.
        let got = scan_until(&file, &Deadline::after_secs(Some(0.0)));
        assert!(got.stopped && got.records == 0);
    }
}

#[test]
fn without_a_budget_every_record_is_read() {
    let Some(files) = samples() else {
        return;
    };
    for path in &files {
        let file = open(path);
        let Some(want) = oracle_records(path) else {
            return;
        };
        assert!(want > 1000, "{}: {want} records", path.display());
        // No scope: `Deadline::current()` is none.
        let got = scan(&file);
        assert!(
            !got.stopped && got.chunks_skipped == 0,
            "{}",
            path.display()
        );
        assert_eq!(got.records, want, "{}: records", path.display());
        // A budget far away changes nothing.
        let far = Deadline::after_secs(Some(3600.0));
        let got = far.scope(|| scan(&file));
        assert!(!got.stopped && !far.stopped());
        assert_eq!(got.records, want, "{}: records", path.display());
    }
}
