//! Our process records against Volatility 3 itself, directly (not through the
//! generator's truth): pslist, psscan, getsids, cmdline and sessions on the same images.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command as Std;

use assert_cmd::Command;
use common::{parse_csv, repo_dir, shared_dir};
use serde_json::Value;
use triage_memgen::{write_image, Format, Scenario};

use triage_testkit::volatility_python as python;

fn vol(py: &Path, img: &Path, symbols: &Path, out: &Path) -> HashMap<String, Vec<Value>> {
    let plugins = [
        "windows.pslist",
        "windows.psscan",
        "windows.getsids",
        "windows.cmdline",
        "windows.sessions",
    ];
    let st = Std::new(py)
        .arg(repo_dir().join("tools/oracle/run_vol.py"))
        .arg(img)
        .args(["--symbols"])
        .arg(symbols)
        .arg("--out")
        .arg(out)
        .arg("--plugins")
        .args(plugins)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "vol failed: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    plugins
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(out.join(format!("{p}.json"))).unwrap();
            (
                p.to_string(),
                serde_json::from_str::<Vec<Value>>(&text).unwrap(),
            )
        })
        .collect()
}

fn secs(iso: &str) -> &str {
    &iso[..iso.len().min(19)]
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn processes_equal_volatility() {
    let Some(shared) = shared_dir() else { return };
    let Some(py) = python() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    for (build, format) in [
        (19041, Format::Raw),
        (22000, Format::CrashDump64),
        (17763, Format::Raw),
    ] {
        let mut sc = Scenario::smss_masquerades(build);
        sc.memory_size = 128 << 20;
        let isf = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
        let img = dir.path().join(format!("m{build}.{}", format.name()));
        write_image(&sc, &isf, &img, format).unwrap();
        let ctx = format!("build {build} {}", format.name());
        let v = vol(&py, &img, &symbols, &dir.path().join(format!("vol{build}")));

        let out = Command::cargo_bin("smss-triage")
            .unwrap()
            .args(["mem", "ps", "-q", "--format", "csv"])
            .arg(&img)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{ctx}");
        let (_, ours) = parse_csv(&String::from_utf8(out.stdout).unwrap());

        // pslist: the processes on the list, with parent, name and times.
        let row = |r: &HashMap<String, String>| {
            (
                r["pid"].clone(),
                r["ppid"].clone(),
                r["name"].clone(),
                secs(&r["create_time"]).to_string(),
                r["exit_time"].get(..19).unwrap_or("").to_string(),
            )
        };
        let vrow = |r: &Value| {
            (
                s(&r["PID"]),
                s(&r["PPID"]),
                s(&r["ImageFileName"]),
                secs(&s(&r["CreateTime"])).to_string(),
                secs(&s(&r["ExitTime"])).to_string(),
            )
        };
        let ours_list: BTreeSet<_> = ours
            .iter()
            .filter(|r| r["found_by"] != "scan")
            .map(row)
            .collect();
        let vol_list: BTreeSet<_> = v["windows.pslist"].iter().map(vrow).collect();
        assert_eq!(ours_list, vol_list, "{ctx}: pslist");

        // psscan: everything the scan finds (unlinked and exited included).
        let ours_all: BTreeSet<_> = ours.iter().map(row).collect();
        let vol_scan: BTreeSet<_> = v["windows.psscan"].iter().map(vrow).collect();
        assert_eq!(ours_all, vol_scan, "{ctx}: psscan");

        // getsids: user and group SIDs per process (pslist's processes).
        let mut vol_sids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &v["windows.getsids"] {
            vol_sids
                .entry(s(&r["PID"]))
                .or_default()
                .insert(s(&r["SID"]));
        }
        for (pid, sids) in &vol_sids {
            let r = ours
                .iter()
                .find(|r| &r["pid"] == pid && r["found_by"] != "scan")
                .unwrap();
            let mut mine: BTreeSet<String> = r["groups"]
                .split(';')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect();
            mine.insert(r["user_sid"].clone());
            assert_eq!(&mine, sids, "{ctx}: getsids pid {pid}");
        }

        // cmdline: equal where Volatility could read it; where it could not, we say "paged out".
        for r in &v["windows.cmdline"] {
            let pid = s(&r["PID"]);
            let mine = ours
                .iter()
                .find(|o| o["pid"] == pid && o["found_by"] != "scan")
                .unwrap();
            match &r["Args"] {
                Value::String(a)
                    if !a.starts_with("Required memory") && !a.contains("not valid") =>
                {
                    assert_eq!(&mine["command_line"], a, "{ctx}: cmdline pid {pid}")
                }
                Value::Null => assert!(
                    mine["command_line"].is_empty() || mine["command_line"] == "paged out",
                    "{ctx}: cmdline pid {pid}: {}",
                    mine["command_line"]
                ),
                _ => assert_eq!(
                    mine["command_line"], "paged out",
                    "{ctx}: cmdline pid {pid}"
                ),
            }
        }

        // sessions: the session id of every process Volatility lists.
        for r in &v["windows.sessions"] {
            let pid = s(&r["Process ID"]);
            let mine = ours
                .iter()
                .find(|o| o["pid"] == pid && o["found_by"] != "scan")
                .unwrap();
            assert_eq!(
                mine["session"],
                s(&r["Session ID"]),
                "{ctx}: session pid {pid}"
            );
        }
    }
}
