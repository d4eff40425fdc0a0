//! Paged-out PEBs and process parameters read back through pagefile.sys (`--pagefile`),
//! against Volatility 3 given the same file with `--single-swap-locations`: without the
//! paging file both must miss the command lines, with it both must show the same ones.
//! The other cases (another paging file number, swizzled PTEs, a paging file read from
//! inside a larger container) are checked against the generator's truth.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command as Std;
use std::sync::Arc;

use assert_cmd::Command;
use common::{parse_csv, shared_dir};
use serde_json::Value;
use triage_memgen::{write_image_paged, Format, Scenario, Truth};

use triage_testkit::volatility_python as python;

/// Volatility 3 (2.28) drops the offset within the page when it reads a swapped page
/// (`WindowsMixin._translate_swap` returns the slot's start for every address in it, see
/// volatility3 issue #991 and the unmerged PR #778), so any field past a page's first
/// bytes reads wrong. This runs `vol` with only that added back; the PTE decoding (file
/// number from bits 1–4, slot from bits 32–63) and the swap layers stay Volatility's.
const VOL_WITH_IN_PAGE_OFFSET: &str = r#"
import sys
from volatility3.framework.layers import intel
_orig = intel.WindowsMixin._translate_swap
def _in_page(self, layer, offset, bit_offset):
    addr, size, name = _orig(self, layer, offset, bit_offset)
    if name != self._base_layer:
        addr |= offset & (size - 1)
    return addr, size, name
intel.WindowsMixin._translate_swap = _in_page
from volatility3 import cli
sys.argv = ["vol"] + sys.argv[1:]
cli.main()
"#;

/// `vol windows.cmdline` offline, with the paging file as swap layer 0 when given:
/// pid → Args (`None` when Volatility could not read it).
fn vol_cmdline(
    py: &Path,
    img: &Path,
    symbols: &Path,
    pagefile: Option<&Path>,
) -> HashMap<u64, Option<String>> {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = Std::new(py);
    cmd.args(["-c", VOL_WITH_IN_PAGE_OFFSET, "--offline", "-q", "-s"])
        .arg(symbols)
        .arg("--cache-path")
        .arg(cache.path())
        .args(["-r", "json", "-f"])
        .arg(img)
        .env("HOME", cache.path())
        .env("XDG_CACHE_HOME", cache.path());
    if let Some(p) = pagefile {
        // Volatility takes locations as URIs; the option takes any number of values,
        // so `=` keeps it from swallowing the plugin name.
        cmd.arg(format!("--single-swap-locations=file://{}", p.display()));
    }
    let out = cmd.arg("windows.cmdline").output().unwrap();
    assert!(
        out.status.success(),
        "vol failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| {
            let pid = r["PID"].as_u64().unwrap();
            let args = r["Args"].as_str().map(String::from);
            // Unreadable parameters come back as an explanation, not the command line.
            let args = args.filter(|a| !a.starts_with("Required memory at"));
            (pid, args)
        })
        .collect()
}

/// Our `mem ps` CSV: pid → (peb_image_path, command_line), and stderr.
fn ours(img: &Path, extra: &[&std::ffi::OsStr]) -> (HashMap<u64, (String, String)>, String) {
    let out = Command::cargo_bin("smss-triage")
        .unwrap()
        .args(["mem", "ps", "-v", "--format", "csv"])
        .args(extra)
        .arg(img)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, rows) = parse_csv(&String::from_utf8(out.stdout).unwrap());
    let map = rows
        .iter()
        .map(|r| {
            (
                r["pid"].parse().unwrap(),
                (r["peb_image_path"].clone(), r["command_line"].clone()),
            )
        })
        .collect();
    (map, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A clean boot with the PEB and process parameters of `pids` paged out to file `number`.
fn scenario(pids: &[u64], number: u8, mask: u64) -> Scenario {
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    sc.invalid_pte_mask = mask;
    for p in &mut sc.processes {
        // The generator's own example (a RuntimeBroker with only its PEB paged out) stays.
        if pids.contains(&p.pid) {
            p.peb_paged_out = true;
            p.params_paged_out = true;
            p.pagefile_number = number;
        }
    }
    sc
}

/// Processes with user space, by the name given in the scenario.
fn pids_named(sc: &Scenario, names: &[&str]) -> Vec<u64> {
    sc.processes
        .iter()
        .filter(|p| names.contains(&p.name.as_str()))
        .map(|p| p.pid)
        .collect()
}

fn generate(dir: &Path, sc: &Scenario, symbols: &Path) -> (PathBuf, PathBuf, Truth) {
    let isf = triage_memgen::resolve_isf(sc, symbols).unwrap();
    let img = dir.join("mem.raw");
    let pf = dir.join("pagefile.sys");
    let truth = write_image_paged(sc, &isf, &img, Format::Raw, Some(&pf)).unwrap();
    (img, pf, truth)
}

#[test]
fn command_lines_come_back_through_the_pagefile_as_in_volatility() {
    let Some(shared) = shared_dir() else { return };
    let Some(py) = python() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    let base = Scenario::clean_boot(19041);
    let paged = pids_named(&base, &["winlogon.exe", "lsass.exe", "explorer.exe"]);
    assert_eq!(paged.len(), 3);
    let sc = scenario(&paged, 0, 0);
    let (img, pf, truth) = generate(dir.path(), &sc, &symbols);
    // Three processes × (PEB + two parameter pages), plus the generator's RuntimeBroker PEB.
    assert_eq!(truth.paged_out.len(), 3 * 3 + 1, "{:?}", truth.paged_out);

    let vol_without = vol_cmdline(&py, &img, &symbols, None);
    let vol_with = vol_cmdline(&py, &img, &symbols, Some(&pf));
    let (ours_without, warn) = ours(&img, &[]);
    let (ours_with, _) = ours(&img, &["--pagefile".as_ref(), pf.as_os_str()]);
    assert!(
        warn.contains("paging file 0 = pagefile.sys") && warn.contains("--pagefile"),
        "{warn}"
    );

    for t in truth.processes.iter().filter(|t| t.peb_va != 0) {
        let pid = t.pid;
        let fully_paged = paged.contains(&pid);
        let peb_paged = fully_paged || t.peb_paged_out;
        // windows.cmdline lists the ActiveProcessLinks walk only.
        if !vol_without.contains_key(&pid) {
            assert!(
                !fully_paged && !t.linked_in_active_list,
                "pid {pid} not in vol"
            );
            continue;
        }
        // Without the paging file: both miss exactly the paged-out ones.
        assert_eq!(
            vol_without[&pid].is_none(),
            peb_paged,
            "pid {pid}: vol without pagefile {:?}",
            vol_without[&pid]
        );
        let (img_path, cmd) = &ours_without[&pid];
        if peb_paged {
            assert_eq!(
                (img_path.as_str(), cmd.as_str()),
                ("paged out", "paged out")
            );
        } else {
            assert_eq!(Some(cmd), vol_without[&pid].as_ref(), "pid {pid}");
        }
        // With it: Volatility reads every one, and ours equals it.
        let (img_path, cmd) = &ours_with[&pid];
        assert_eq!(
            Some(cmd),
            vol_with[&pid].as_ref(),
            "pid {pid}: ours with pagefile vs vol"
        );
        assert_eq!(cmd, &t.command_line, "pid {pid}");
        assert_eq!(img_path, &t.peb_image_path, "pid {pid}");
    }
}

/// PEB strings of every process through the library, with these paging files.
fn library_strings(
    img: &Path,
    pagefiles: impl FnOnce(
        &triage_winmem::MemInfo,
        &dyn triage_physmem::PhysicalMemory,
    ) -> Option<triage_winmem::PageFiles>,
    symbols: Option<&Path>,
) -> Vec<triage_winproc::ProcessFacts> {
    let phys = triage_physmem::open(img).unwrap();
    let info = triage_winmem::mem_info(phys.as_ref(), symbols);
    let pf = pagefiles(&info, phys.as_ref());
    let opts = triage_winproc::ProcOptions::default();
    triage_winproc::processes_paged(phys.as_ref(), &info, &opts, pf.as_ref())
        .unwrap()
        .processes
}

fn file_source(p: &Path) -> triage_source::Source {
    Arc::new(triage_source::FileSource::open(p).unwrap())
}

#[test]
fn another_paging_file_stays_paged_out_with_its_number() {
    let Some(shared) = shared_dir() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    let base = Scenario::clean_boot(19041);
    let paged = pids_named(&base, &["explorer.exe"]);
    let (img, pf, truth) = generate(dir.path(), &scenario(&paged, 2, 0), &symbols);
    assert!(truth.paged_out.iter().any(|p| p.pagefile == 2));
    let procs = library_strings(
        &img,
        |info, phys| {
            Some(triage_winmem::PageFiles::with_pagefile_sys(
                triage_winmem::kernel_pte_format(phys, info),
                file_source(&pf),
            ))
        },
        None,
    );
    let explorer = procs.iter().find(|p| p.pid == paged[0]).unwrap();
    assert!(
        matches!(
            explorer.command_line,
            triage_winproc::MemString::Unavailable {
                reason: triage_winproc::Unavailable::InPagefile { number: 2 },
                ..
            }
        ),
        "{:?}",
        explorer.command_line
    );
    // The CLI says which file it would need.
    let (rows, warn) = ours(&img, &["--pagefile".as_ref(), pf.as_os_str()]);
    assert_eq!(rows[&paged[0]].1, "paged out");
    assert!(warn.contains("paging file 2 (1), not given"), "{warn}");
}

#[test]
fn swizzled_ptes_and_a_pagefile_inside_a_container() {
    let Some(shared) = shared_dir() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    let base = Scenario::clean_boot(19041);
    let paged = pids_named(&base, &["winlogon.exe", "services.exe"]);
    // Bit 45, as on Intel CPUs with the L1TF mitigation (MemProcFS's common value).
    let (img, pf, truth) = generate(dir.path(), &scenario(&paged, 0, 1 << 45), &symbols);
    assert!(truth
        .paged_out
        .iter()
        .all(|p| p.pte & 0x10 == 0 && (p.pte >> 32) != p.offset >> 12));

    // The paging file as a stretch of a larger file (as inside a disk image), read
    // through a SliceSource: positioned reads only.
    let bytes = std::fs::read(&pf).unwrap();
    let mut outer = vec![0xA5u8; 0x3000];
    outer.extend_from_slice(&bytes);
    outer.extend_from_slice(&[0x5A; 0x2000]);
    let outer_path = dir.path().join("disk.bin");
    std::fs::write(&outer_path, &outer).unwrap();
    let sliced = || -> triage_source::Source {
        Arc::new(triage_source::SliceSource::new(
            file_source(&outer_path),
            0x3000,
            bytes.len() as u64,
            triage_source::Location::new("disk.bin").child("pagefile.sys"),
        ))
    };
    // With the ISF, the mask comes from MiState; without it, from the fallback.
    for syms in [Some(symbols.as_path()), None] {
        let procs = library_strings(
            &img,
            |info, phys| {
                Some(triage_winmem::PageFiles::with_pagefile_sys(
                    triage_winmem::kernel_pte_format(phys, info),
                    sliced(),
                ))
            },
            syms,
        );
        for t in truth.processes.iter().filter(|t| paged.contains(&t.pid)) {
            let p = procs.iter().find(|p| p.pid == t.pid).unwrap();
            assert_eq!(
                p.command_line.value(),
                Some(t.command_line.as_str()),
                "pid {} symbols {syms:?}",
                t.pid
            );
            assert_eq!(p.peb_image_path.value(), Some(t.peb_image_path.as_str()));
        }
    }
}
