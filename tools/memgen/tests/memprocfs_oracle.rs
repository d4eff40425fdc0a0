//! Second independent reader (stretch): MemProcFS, opened without symbol server or DTB hint.
//! Runs only when `$SMSS_MEMPROCFS` is set (to anything) and `$SMSS_PY` has `memprocfs`
//! installed (plus Debian's libusb-1.0-0).
mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use triage_memgen::{generate, Format, Scenario};

#[test]
fn memprocfs_finds_the_kernel_and_the_live_processes() {
    if std::env::var_os("SMSS_MEMPROCFS").is_none() {
        eprintln!("note: SMSS_MEMPROCFS not set; skipping the MemProcFS oracle test");
        return;
    }
    let Some(py) = common::oracle_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../oracle/run_memprocfs.py");
    let Some(shared) = common::shared_dir() else {
        return;
    };
    for isf in common::isfs_to_check(&shared.join("symbols")) {
        let pdb = isf.pdb().unwrap();
        let build = triage_isf::known_build(&pdb.guid, pdb.age).unwrap().build;
        for format in [Format::Raw, Format::CrashDump64, Format::ElfCore] {
            let mut sc = Scenario::clean_boot(build);
            sc.memory_size = 128 << 20;
            let image = tmp.path().join(format!("{build}.{}", format.name()));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&image).unwrap());
            let t = generate(&sc, &isf, &mut out, format).unwrap();
            drop(out);
            let run = Command::new(&py).arg(&script).arg(&image).output().unwrap();
            let v: Value = serde_json::from_slice(&run.stdout).unwrap_or(Value::Null);
            let label = format!("{build}-{} {}", &pdb.guid[..8], format.name());
            assert_eq!(
                v["ok"],
                true,
                "{label}: {}",
                String::from_utf8_lossy(&run.stdout)
            );
            assert_eq!(v["kernel"]["build"], build, "{label}");
            assert_eq!(v["kernel"]["base"], t.kernel_base, "{label}");
            let names: Vec<&str> = v["modules"]
                .as_array()
                .map(|m| m.iter().filter_map(|x| x["name"].as_str()).collect())
                .unwrap_or_default();
            let mut want: Vec<&str> = t.modules.iter().map(|m| m.name.as_str()).collect();
            let mut got = names.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{label} kernel modules");
            // System's handle table reaches every other process object, unlinked ones included
            // (MemProcFS decodes each entry to the object's body address).
            let mut objects: Vec<u64> = v["system_handles"]
                .as_array()
                .map(|h| h.iter().filter_map(|x| x["object"].as_u64()).collect())
                .unwrap_or_default();
            let mut want_objects: Vec<u64> = t
                .processes
                .iter()
                .filter(|p| p.pid != 4)
                .map(|p| p.eprocess_va)
                .collect();
            objects.sort_unstable();
            want_objects.sort_unstable();
            assert_eq!(objects, want_objects, "{label}: System handle table");
            let rows = v["processes"].as_array().unwrap();
            let live: Vec<_> = t
                .processes
                .iter()
                .filter(|p| p.linked_in_active_list && p.exit_time.is_none())
                .collect();
            assert_eq!(
                rows.len(),
                live.len(),
                "{label}: MemProcFS lists live processes only"
            );
            for p in live {
                let r = rows
                    .iter()
                    .find(|r| r["pid"] == p.pid)
                    .unwrap_or_else(|| panic!("{label}: pid {} missing", p.pid));
                assert_eq!(r["ppid"], p.ppid, "{label} {}", p.pid);
                assert_eq!(r["name"], p.image_file_name.as_str(), "{label} {}", p.pid);
                assert_eq!(r["eprocess"], p.eprocess_va, "{label} {}", p.pid);
                assert_eq!(r["dtb"], p.dtb, "{label} {}", p.pid);
                assert_eq!(r["peb"], p.peb_va, "{label} {}", p.pid);
                assert_eq!(r["sid"], p.user_sid.as_str(), "{label} {}", p.pid);
                assert_eq!(
                    r["luid"], p.token_id,
                    "{label} {}: MemProcFS reports TokenId",
                    p.pid
                );
                assert_eq!(r["session"], p.session_id.unwrap_or(0), "{label} {}", p.pid);
                assert_eq!(r["is_wow64"], p.wow64, "{label} {}", p.pid);
                if !p.image_path.is_empty() {
                    assert_eq!(r["pathkernel"], p.image_path.as_str(), "{label} {}", p.pid);
                }
                if p.peb_va != 0 && !p.peb_paged_out {
                    assert_eq!(r["cmdline"], p.command_line.as_str(), "{label} {}", p.pid);
                    assert_eq!(
                        r["pathuser"],
                        p.peb_image_path.as_str(),
                        "{label} {}",
                        p.pid
                    );
                }
            }
        }
    }
}
