//! EPROCESS.ExitTime discovery on disguised images (no table or ISF matches) of every
//! Windows 10/11 ISF in shared/symbols: with an exited process on the list it must be
//! found at the ISF's offset; without one it must stay empty (no relation to another
//! field holds on every ISF, see `NO_EXITED` in discover/eprocess.rs), never a guess.
//! Oracle: the ISF each image was generated from.

mod common;

use serde_json::Value;
use triage_isf::Isf;
use triage_memgen::{write_disguised_image, Format, Scenario};
use triage_winmem::{mem_info_path, Layout, LayoutSource};

/// Every x64 ntkrnlmp ISF memgen can generate from (Windows 10 and later), with its build.
fn isfs() -> Vec<(u32, Isf)> {
    match common::symbols_dir() {
        Some(symbols) => triage_memgen::kernel_isfs(&symbols, 10240).expect("every ISF loads"),
        None => Vec::new(),
    }
}

#[test]
fn exit_time_is_found_from_an_exited_process_and_never_guessed_without_one() {
    let isfs = isfs();
    if isfs.is_empty() {
        return;
    }
    assert!(
        isfs.len() >= 6,
        "expected the Windows 10/11 ISFs, got {}",
        isfs.len()
    );
    let tmp = tempfile::tempdir().unwrap();
    for (i, (build, isf)) in isfs.iter().enumerate() {
        let real = serde_json::to_value(Layout::from_isf(isf)).unwrap();
        let want = real["eprocess_exit_time"]
            .as_u64()
            .expect("ISF has ExitTime");
        for exited in [true, false] {
            let ctx = format!("ISF {i} (build {build}), exited: {exited}");
            let mut sc = Scenario::clean_boot(*build);
            sc.memory_size = 64 << 20;
            if !exited {
                for p in &mut sc.processes {
                    p.exit_time = None;
                    p.threads = p.threads.max(1);
                }
            }
            let path = tmp.path().join("img.raw");
            let truth = write_disguised_image(&sc, isf, &path, Format::Raw).unwrap();
            let listed_exited = truth
                .processes
                .iter()
                .filter(|p| p.exit_time.is_some() && p.linked_in_active_list)
                .count();
            assert_eq!(listed_exited > 0, exited, "{ctx}: scenario");
            let info = mem_info_path(&path, None).unwrap();
            assert_eq!(
                info.layout_source,
                Some(LayoutSource::Discovered),
                "{ctx}: disguised"
            );
            let disc = info.discovery.as_ref().expect("discovery ran");
            // Nothing discovered may differ from the ISF, ExitTime included.
            for p in &disc.proofs {
                assert_eq!(
                    real[p.field],
                    Value::from(p.offset),
                    "{ctx}: {} at {:#x} ({})",
                    p.field,
                    p.offset,
                    p.how
                );
            }
            let got = disc.layout.eprocess_exit_time.map(u64::from);
            let why = disc
                .not_found
                .iter()
                .find(|(f, _)| *f == "eprocess_exit_time")
                .map(|(_, w)| w.as_str());
            if exited {
                assert_eq!(got, Some(want), "{ctx}: {why:?}");
            } else {
                assert_eq!(got, None, "{ctx}");
                let why = why.unwrap_or_else(|| panic!("{ctx}: no reason given"));
                assert!(why.contains("no exited process"), "{ctx}: {why}");
            }
            std::fs::remove_file(&path).ok();
        }
    }
}
