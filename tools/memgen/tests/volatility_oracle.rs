//! Independent reader: Volatility 3 (PyPI, offline) must read generated images exactly as
//! the generator's Truth says. Where it cannot, the generator is wrong.
mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use triage_memgen::{write_image, Format, Scenario, Truth};

const PLUGINS: [&str; 8] = [
    "windows.modules",
    "windows.handles",
    "windows.info",
    "windows.pslist",
    "windows.psscan",
    "windows.getsids",
    "windows.cmdline",
    "windows.sessions",
];
const MASK48: u64 = 0xFFFF_FFFF_FFFF;

fn run_vol(py: &Path, image: &Path, symbols: &Path, out: &Path) -> BTreeMap<String, Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../oracle/run_vol.py");
    let status = Command::new(py)
        .arg(&script)
        .arg(image)
        .arg("--symbols")
        .arg(symbols)
        .arg("--out")
        .arg(out)
        .arg("--plugins")
        .args(PLUGINS)
        .output()
        .expect("run run_vol.py");
    let summary = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "volatility failed on {}: {summary}",
        image.display()
    );
    PLUGINS
        .iter()
        .map(|p| {
            let text = std::fs::read(out.join(format!("{p}.json"))).unwrap();
            (p.to_string(), serde_json::from_slice(&text).unwrap())
        })
        .collect()
}

/// Volatility prints times to the second.
fn secs(iso: &str) -> String {
    iso.chars().take(19).collect()
}

fn rows(v: &Value) -> Vec<&serde_json::Map<String, Value>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_object().expect("row"))
        .collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(u64::MAX)
}

fn check(t: &Truth, vol: &BTreeMap<String, Value>, label: &str) {
    // windows.info: kernel base, DTB, build (KdVersionBlock Major/Minor), symbols, time.
    let info: BTreeMap<String, String> = rows(&vol["windows.info"])
        .iter()
        .map(|r| {
            (
                r["Variable"].as_str().unwrap().to_string(),
                r["Value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        info["Kernel Base"],
        format!("{:#x}", t.kernel_base & MASK48),
        "{label}"
    );
    assert_eq!(info["DTB"], format!("{:#x}", t.dtb), "{label}");
    assert_eq!(info["Major/Minor"], format!("15.{}", t.build), "{label}");
    assert!(
        info["Symbols"].contains(&format!("{}-{}", t.pdb_guid, t.pdb_age)),
        "{label}: {}",
        info["Symbols"]
    );
    assert_eq!(
        info["SystemTime"].replace(' ', "T")[..19],
        secs(&t.system_time_iso),
        "{label}"
    );
    assert_eq!(info["NtMajorVersion"], "10");
    if t.format == "crashdump" {
        // Crash dumps carry KdDebuggerDataBlock decoded.
        assert!(
            info["NTBuildLab"].starts_with(&format!("{}.", t.build)),
            "{label}: {:?}",
            info.get("NTBuildLab")
        );
    } else {
        assert!(
            !info.contains_key("NTBuildLab"),
            "{label}: live memory keeps KDBG encoded"
        );
    }

    // modules: PsLoadedModuleList in order.
    let mods: Vec<(String, String, u64, u64)> = rows(&vol["windows.modules"])
        .iter()
        .map(|r| {
            (
                r["Name"].as_str().unwrap_or("").to_string(),
                r["Path"].as_str().unwrap_or("").to_string(),
                u(&r["Base"]),
                u(&r["Size"]),
            )
        })
        .collect();
    let want: Vec<_> = t
        .modules
        .iter()
        .map(|m| (m.name.clone(), m.path.clone(), m.base & MASK48, m.size))
        .collect();
    assert_eq!(mods, want, "{label} modules");

    // handles: System holds one Process handle per other process, unlinked ones included.
    let mut handles: Vec<(u64, u64, String, String, u64)> = rows(&vol["windows.handles"])
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (
                u(&r["PID"]),
                u(&r["HandleValue"]),
                s("Type"),
                s("Name"),
                u(&r["Offset"]),
            )
        })
        .collect();
    handles.sort();
    let want: Vec<_> = t
        .processes
        .iter()
        .filter(|p| p.pid != 4)
        .enumerate()
        .map(|(i, p)| {
            (
                4,
                4 * (i as u64 + 1),
                "Process".to_string(),
                format!("{} Pid {}", p.image_file_name, p.pid),
                p.eprocess_va & MASK48,
            )
        })
        .collect();
    assert_eq!(handles, want, "{label} handles");

    // pslist: exactly the linked processes; psscan: all of them.
    type Row = (
        u64,
        u64,
        String,
        String,
        Option<String>,
        Option<u64>,
        u64,
        u64,
        bool,
    );
    let from_vol = |plugin: &str| -> Vec<Row> {
        let mut v: Vec<Row> = rows(&vol[plugin])
            .iter()
            .map(|r| {
                (
                    u(&r["PID"]),
                    u(&r["PPID"]),
                    r["ImageFileName"].as_str().unwrap_or("").to_string(),
                    secs(r["CreateTime"].as_str().unwrap_or("")),
                    r["ExitTime"].as_str().map(secs),
                    r["SessionId"].as_u64(),
                    u(&r["Threads"]),
                    u(&r["Offset(V)"]),
                    r["Wow64"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        v.sort();
        v
    };
    let from_truth = |linked_only: bool| -> Vec<Row> {
        let mut v: Vec<Row> = t
            .processes
            .iter()
            .filter(|p| p.linked_in_active_list || !linked_only)
            .map(|p| {
                (
                    p.pid,
                    p.ppid,
                    p.image_file_name.clone(),
                    secs(&p.create_time_iso),
                    p.exit_time_iso.as_deref().map(secs),
                    p.session_id.map(u64::from),
                    p.threads as u64,
                    p.eprocess_va & MASK48,
                    p.wow64,
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        from_vol("windows.pslist"),
        from_truth(true),
        "{label} pslist"
    );
    assert_eq!(
        from_vol("windows.psscan"),
        from_truth(false),
        "{label} psscan"
    );
    assert!(
        t.processes.iter().any(|p| p.wow64),
        "{label}: scenario should include a WoW64 process"
    );

    // getsids: each linked process's SIDs in token order.
    let mut sids: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for r in rows(&vol["windows.getsids"]) {
        sids.entry(u(&r["PID"]))
            .or_default()
            .push(r["SID"].as_str().unwrap_or("").to_string());
    }
    let linked: Vec<_> = t
        .processes
        .iter()
        .filter(|p| p.linked_in_active_list)
        .collect();
    assert_eq!(sids.len(), linked.len(), "{label} getsids processes");
    for p in &linked {
        assert_eq!(
            sids.get(&p.pid),
            Some(&p.sids),
            "{label} getsids pid {}",
            p.pid
        );
    }

    // cmdline: the PEB's command line, absent where there is no PEB or it is paged out.
    let cmd: BTreeMap<u64, Option<String>> = rows(&vol["windows.cmdline"])
        .iter()
        .map(|r| (u(&r["PID"]), r["Args"].as_str().map(str::to_string)))
        .collect();
    for p in &linked {
        let want = (p.peb_va != 0 && !p.peb_paged_out).then(|| p.command_line.clone());
        assert_eq!(
            cmd.get(&p.pid),
            Some(&want),
            "{label} cmdline pid {}",
            p.pid
        );
    }
    assert!(
        linked.iter().any(|p| p.peb_paged_out),
        "{label}: scenario should page out one PEB"
    );

    // sessions: session id, and user/session type from the PEB's environment block.
    type Sess = (Option<u64>, Option<String>, Option<String>);
    let sess: BTreeMap<u64, Sess> = rows(&vol["windows.sessions"])
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().map(str::to_string);
            (
                u(&r["Process ID"]),
                (r["Session ID"].as_u64(), s("User Name"), s("Session Type")),
            )
        })
        .collect();
    for p in &linked {
        let env = |name: &str| {
            let readable = p.peb_va != 0 && !p.peb_paged_out;
            p.environment
                .iter()
                .filter(|_| readable)
                .find_map(|v| v.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        };
        let user = match (env("USERDOMAIN"), env("USERNAME")) {
            (None, None) => None,
            (d, n) => Some(format!(
                "{}/{}",
                d.unwrap_or_default(),
                n.unwrap_or_default()
            )),
        };
        let want = (p.session_id.map(u64::from), user, env("SESSIONNAME"));
        assert_eq!(
            sess.get(&p.pid),
            Some(&want),
            "{label} sessions pid {}",
            p.pid
        );
    }
    assert!(
        sess.values()
            .any(|s| s.1.as_deref() == Some("DESKTOP-7RX1K3P/alice")),
        "{label}: a user session"
    );
}

#[test]
fn volatility_reads_generated_images_like_the_truth_says() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::oracle_python() else {
        return;
    };
    let symbols = shared.join("symbols");
    let tmp = tempfile::tempdir().unwrap();
    for (i, isf) in common::isfs_to_check(&symbols).iter().enumerate() {
        let pdb = isf.pdb().unwrap();
        let build = triage_isf::known_build(&pdb.guid, pdb.age).unwrap().build;
        // ELF cores on one build keep the run short; raw and crash dumps on all.
        let formats: &[Format] = if build == 19041 {
            &[Format::Raw, Format::CrashDump64, Format::ElfCore]
        } else {
            &[Format::Raw, Format::CrashDump64]
        };
        for &format in formats {
            let mut sc = Scenario::clean_boot(build);
            sc.memory_size = 128 << 20;
            sc.seed = 100 + i as u64;
            let name = format!("{}-{}.{}", build, &pdb.guid[..8], format.name());
            let image = tmp.path().join(&name);
            let truth = write_image(&sc, isf, &image, format).unwrap();
            let vol = run_vol(
                &py,
                &image,
                &symbols,
                &tmp.path().join(format!("{name}.vol")),
            );
            check(&truth, &vol, &name);
            std::fs::remove_file(&image).unwrap();
        }
    }
}

#[test]
fn volatility_sees_the_masquerade_scenario_as_placed() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let Some(py) = common::oracle_python() else {
        return;
    };
    let symbols = shared.join("symbols");
    let Some(isf) = common::symbols_isf(19041) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut sc = Scenario::smss_masquerades(19041);
    sc.memory_size = 128 << 20;
    let image = tmp.path().join("masq.raw");
    let truth = write_image(&sc, &isf, &image, Format::Raw).unwrap();
    let vol = run_vol(&py, &image, &symbols, &tmp.path().join("masq.vol"));
    check(&truth, &vol, "masquerades");
    // The hidden smss: psscan has it, pslist does not.
    let pids =
        |plugin: &str| -> Vec<u64> { rows(&vol[plugin]).iter().map(|r| u(&r["PID"])).collect() };
    assert!(pids("windows.psscan").contains(&7440) && !pids("windows.pslist").contains(&7440));
    let smss = rows(&vol["windows.pslist"])
        .iter()
        .filter(|r| r["ImageFileName"] == "smss.exe")
        .count();
    assert_eq!(
        smss, 5,
        "master, two exited children, the lingering child and the user-folder copy"
    );
}
