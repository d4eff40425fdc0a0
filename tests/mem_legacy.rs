//! Windows 7 SP1 (7601) and 8.1 (9600) memory images, generated from the real ISFs, read by
//! Volatility 3 and MemProcFS and by `smss-triage mem ps` / `mem smss` (built-in layouts, no
//! `--symbols`); and the XP-era token privilege array, read from a TOKEN laid out as the
//! documented XP x64 / Server 2003 SP2 x64 `_TOKEN` (Volatility 2's win2003_sp2_x64 vtypes).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command as Std;

use assert_cmd::Command;
use common::{parse_csv, repo_dir, shared_dir};
use serde_json::{json, Value};
use triage_memgen::{write_image, Format, Scenario, Truth};

const MASK48: u64 = 0xFFFF_FFFF_FFFF;

use triage_testkit::volatility_python as python;

fn vol(
    py: &Path,
    img: &Path,
    symbols: &Path,
    out: &Path,
    plugins: &[&str],
) -> HashMap<String, Vec<Value>> {
    let st = Std::new(py)
        .arg(repo_dir().join("tools/oracle/run_vol.py"))
        .arg(img)
        .arg("--symbols")
        .arg(symbols)
        .arg("--out")
        .arg(out)
        .arg("--plugins")
        .args(plugins)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "vol failed on {}: {}",
        img.display(),
        String::from_utf8_lossy(&st.stdout)
    );
    plugins
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(out.join(format!("{p}.json"))).unwrap();
            (p.to_string(), serde_json::from_str(&text).unwrap())
        })
        .collect()
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(u64::MAX)
}

fn secs(iso: &str) -> String {
    iso.chars().take(19).collect()
}

fn csv(img: &Path, cmd: &str, symbols: Option<&Path>) -> Vec<HashMap<String, String>> {
    let mut c = Command::cargo_bin("smss-triage").unwrap();
    c.args(["mem", cmd, "-q", "--format", "csv"]).arg(img);
    if let Some(dir) = symbols {
        c.arg("--symbols").arg(dir);
    }
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "mem {cmd} {}: {}",
        img.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_csv(&String::from_utf8(out.stdout).unwrap()).1
}

/// The qword at physical `pa` of a raw image.
fn raw_u64(raw: &[u8], pa: u64) -> u64 {
    let at = pa as usize;
    u64::from_le_bytes(raw[at..at + 8].try_into().unwrap())
}

/// Independent of the generator's page-table code: the PML4 self-map slot, read from the
/// raw bytes. Before Windows 10 1607 it is fixed at 0x1ED (PTE base 0xFFFFF680`00000000).
fn check_self_map(raw: &[u8], t: &Truth, ctx: &str) {
    let e = raw_u64(raw, t.dtb + 0x1ED * 8);
    assert_eq!(e & 1, 1, "{ctx}: self-map present");
    assert_eq!(
        e & 0x000F_FFFF_FFFF_F000,
        t.dtb,
        "{ctx}: PML4[0x1ED] maps the PML4"
    );
    let others = (256..512u64)
        .filter(|&i| i != 0x1ED)
        .filter(|&i| raw_u64(raw, t.dtb + i * 8) & 0x000F_FFFF_FFFF_F000 == t.dtb)
        .count();
    assert_eq!(others, 0, "{ctx}: exactly one self-map");
}

fn privileges(r: &HashMap<String, String>, col: &str) -> BTreeSet<String> {
    r[col]
        .split(';')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn windows_7_and_8_1_images_agree_with_volatility_and_our_records() {
    let Some(shared) = shared_dir() else { return };
    let Some(py) = python() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    let plugins = [
        "windows.info",
        "windows.pslist",
        "windows.psscan",
        "windows.getsids",
        "windows.privileges",
        "windows.handles",
    ];
    for (build, format, minor) in [(7601, Format::Raw, "1"), (9600, Format::CrashDump64, "3")] {
        let mut sc = Scenario::smss_masquerades(build);
        sc.memory_size = 64 << 20;
        sc.seed = u64::from(build);
        let isf = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
        let img = dir.path().join(format!("legacy{build}.{}", format.name()));
        let t = write_image(&sc, &isf, &img, format).unwrap();
        let ctx = format!("build {build} {}", format.name());
        assert_eq!(t.build, build);
        assert!(
            !t.type_index_encoded,
            "{ctx}: no ObHeaderCookie before Windows 10"
        );
        assert_eq!(t.self_ref_index, 0x1ED, "{ctx}");
        if format == Format::Raw {
            check_self_map(&std::fs::read(&img).unwrap(), &t, &ctx);
        }
        let v = vol(
            &py,
            &img,
            &symbols,
            &dir.path().join(format!("vol{build}")),
            &plugins,
        );

        // windows.info: kernel, DTB, build and the NT 6.x version.
        let info: BTreeMap<String, String> = v["windows.info"]
            .iter()
            .map(|r| (s(&r["Variable"]), s(&r["Value"])))
            .collect();
        assert_eq!(
            info["Kernel Base"],
            format!("{:#x}", t.kernel_base & MASK48),
            "{ctx}"
        );
        assert_eq!(info["DTB"], format!("{:#x}", t.dtb), "{ctx}");
        assert_eq!(info["Major/Minor"], format!("15.{build}"), "{ctx}");
        assert_eq!(
            (
                info["NtMajorVersion"].as_str(),
                info["NtMinorVersion"].as_str()
            ),
            ("6", minor),
            "{ctx}"
        );

        // pslist: the linked processes; psscan (physical before Windows 10): all of them.
        type Row = (u64, u64, String, String, String, Option<u64>, u64);
        let vrow = |r: &Value| -> Row {
            (
                u(&r["PID"]),
                u(&r["PPID"]),
                s(&r["ImageFileName"]),
                secs(&s(&r["CreateTime"])),
                secs(&s(&r["ExitTime"])),
                r["SessionId"].as_u64(),
                u(&r["Offset(V)"]),
            )
        };
        let trow = |p: &triage_memgen::ProcessTruth, offset: u64| -> Row {
            (
                p.pid,
                p.ppid,
                p.image_file_name.clone(),
                secs(&p.create_time_iso),
                p.exit_time_iso.as_deref().map(secs).unwrap_or_default(),
                p.session_id.map(u64::from),
                offset,
            )
        };
        let got: BTreeSet<Row> = v["windows.pslist"].iter().map(vrow).collect();
        let want: BTreeSet<Row> = t
            .processes
            .iter()
            .filter(|p| p.linked_in_active_list)
            .map(|p| trow(p, p.eprocess_va & MASK48))
            .collect();
        assert_eq!(got, want, "{ctx}: pslist");
        let got: BTreeSet<Row> = v["windows.psscan"]
            .iter()
            .map(|r| {
                let mut x = vrow(r);
                x.5 = None; // psscan reads sessions through the physical layer: not comparable
                x
            })
            .collect();
        let want: BTreeSet<Row> = t
            .processes
            .iter()
            .map(|p| {
                let mut x = trow(p, p.eprocess_pa);
                x.5 = None;
                x
            })
            .collect();
        assert_eq!(got, want, "{ctx}: psscan");

        // handles: System holds a Process handle to every other process object.
        let objects: BTreeSet<u64> = v["windows.handles"]
            .iter()
            .filter(|r| u(&r["PID"]) == 4 && s(&r["Type"]) == "Process")
            .map(|r| u(&r["Offset"]))
            .collect();
        let want: BTreeSet<u64> = t
            .processes
            .iter()
            .filter(|p| p.pid != 4)
            .map(|p| p.eprocess_va & MASK48)
            .collect();
        assert_eq!(objects, want, "{ctx}: System's handle table");

        // Our records, read with the built-in table (no --symbols).
        let ours = csv(&img, "ps", None);
        assert_eq!(ours.len(), t.processes.len(), "{ctx}: process count");
        let mut vol_sids: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for r in &v["windows.getsids"] {
            vol_sids.entry(u(&r["PID"])).or_default().push(s(&r["SID"]));
        }
        let mut vol_privs: BTreeMap<u64, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for r in &v["windows.privileges"] {
            let e = vol_privs.entry(u(&r["PID"])).or_default();
            let attrs = s(&r["Attributes"]);
            if attrs.contains("Present") {
                e.0.insert(s(&r["Privilege"]));
            }
            if attrs.contains("Enabled") {
                e.1.insert(s(&r["Privilege"]));
            }
        }
        for p in &t.processes {
            let pc = format!("{ctx} pid {}", p.pid);
            let r = ours
                .iter()
                .find(|r| r["pid"] == p.pid.to_string())
                .unwrap_or_else(|| panic!("{pc}: missing"));
            assert_eq!(r["ppid"], p.ppid.to_string(), "{pc}");
            assert_eq!(r["image_path"], p.image_path, "{pc}");
            assert_eq!(
                r["session"],
                p.session_id.map(|x| x.to_string()).unwrap_or_default(),
                "{pc}"
            );
            assert_eq!(r["user_sid"], p.user_sid, "{pc}");
            let want_il = match p.integrity_sid.as_str() {
                "S-1-16-16384" => "System",
                "S-1-16-8192" => "Medium",
                other => panic!("{pc}: integrity {other}"),
            };
            assert_eq!(r["integrity"], want_il, "{pc}");
            assert_eq!(
                r["found_by"],
                if p.linked_in_active_list {
                    "both"
                } else {
                    "scan"
                },
                "{pc}"
            );
            if !p.linked_in_active_list {
                continue;
            }
            // Token order: user, groups, integrity label — as Volatility lists them.
            let mut mine = vec![r["user_sid"].clone()];
            mine.extend(
                r["groups"]
                    .split(';')
                    .filter(|x| !x.is_empty())
                    .map(String::from),
            );
            assert_eq!(Some(&mine), vol_sids.get(&p.pid), "{pc}: getsids");
            assert_eq!(&mine, &p.sids, "{pc}: truth SIDs");
            let (present, enabled) = vol_privs.get(&p.pid).cloned().unwrap_or_default();
            assert_eq!(
                privileges(r, "privileges_present"),
                present,
                "{pc}: privileges"
            );
            assert_eq!(
                privileges(r, "privileges_enabled"),
                enabled,
                "{pc}: enabled"
            );
            assert_eq!(
                present.len(),
                p.privileges_present.count_ones() as usize,
                "{pc}"
            );
        }

        // mem smss: every smss.exe of the truth, with its parent and session.
        let smss = csv(&img, "smss", None);
        for p in t.processes.iter().filter(|p| p.name == "smss.exe") {
            let r = smss
                .iter()
                .find(|r| r["pid"] == p.pid.to_string())
                .unwrap_or_else(|| panic!("{ctx}: mem smss lacks pid {}", p.pid));
            assert_eq!(r["ppid"], p.ppid.to_string(), "{ctx} smss {}", p.pid);
            assert_eq!(r["user_sid"], p.user_sid, "{ctx} smss {}", p.pid);
        }
        std::fs::remove_file(&img).ok();
    }
}

/// Run MemProcFS (no symbol server) on `img`: the JSON of tools/oracle/run_memprocfs.py,
/// and the log of the same open with `-printf -v -vv` (written by a script in `tmp`).
fn memprocfs(py: &Path, img: &Path, tmp: &Path) -> (Value, String) {
    let run = Std::new(py)
        .arg(repo_dir().join("tools/oracle/run_memprocfs.py"))
        .arg(img)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&run.stdout).unwrap_or(Value::Null);
    let script = tmp.join("mpfs_log.py");
    std::fs::write(&script, MEMPROCFS_LOG).unwrap();
    let log = Std::new(py).arg(&script).arg(img).output().unwrap();
    (v, String::from_utf8_lossy(&log.stdout).into_owned())
}

/// Opens an image with MemProcFS logging to stdout (re-executing once so that the
/// package's shared libraries are on LD_LIBRARY_PATH, as run_memprocfs.py does).
const MEMPROCFS_LOG: &str = r#"
import os, sys, importlib.util
if os.environ.get("_MPFS_REEXEC") != "1":
    dirs = []
    for m in ("memprocfs", "leechcorepyc"):
        spec = importlib.util.find_spec(m)
        if spec and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
    env = dict(os.environ, _MPFS_REEXEC="1",
               LD_LIBRARY_PATH=":".join(dirs + [os.environ.get("LD_LIBRARY_PATH", "")]))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
import memprocfs
try:
    vmm = memprocfs.Vmm(["-device", sys.argv[1], "-disable-symbolserver", "-waitinitialize",
                         "-printf", "-v", "-vv"])
    vmm.close()
except Exception as e:
    print("init failed:", e)
"#;

/// `[PROCESS]  ...  PID:  2e0 PPID: 3d0 ...` → {"PID": 0x2e0, ...}: the last offset set the
/// EPROCESS locator printed.
fn locator_offsets(log: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in log
        .lines()
        .filter(|l| l.contains("PID:") || l.contains("FLnk:"))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            if let Some(name) = w[0].strip_suffix(':') {
                if let Ok(v) = u64::from_str_radix(w[1], 16) {
                    out.insert(name.to_string(), v);
                }
            }
        }
    }
    out
}

#[test]
fn memprocfs_reads_windows_7_and_locates_8_1_eprocess_fields() {
    if std::env::var_os("SMSS_MEMPROCFS").is_none() {
        eprintln!("note: SMSS_MEMPROCFS not set; skipping the MemProcFS oracle test");
        return;
    }
    let Some(shared) = shared_dir() else { return };
    let Some(py) = python() else { return };
    let symbols = shared.join("symbols");
    let dir = tempfile::tempdir().unwrap();
    for build in [7601u32, 9600] {
        let mut sc = Scenario::clean_boot(build);
        sc.memory_size = 64 << 20;
        let isf = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
        let img = dir.path().join(format!("mp{build}.raw"));
        let t = write_image(&sc, &isf, &img, Format::Raw).unwrap();
        let (v, log) = memprocfs(&py, &img, dir.path());
        let ctx = format!("MemProcFS build {build}");
        // Found without symbols on both: the DTB (self-map at 0x1ED), ntoskrnl, System.
        assert!(
            log.contains(&format!("DTB  located at: {:016x}", t.dtb)),
            "{ctx}: {log}"
        );
        assert!(
            log.contains(&format!("NTOS located at: {:016x}", t.kernel_base)),
            "{ctx}"
        );
        let system = t.processes.iter().find(|p| p.pid == 4).unwrap();
        assert!(
            log.contains(&format!("EPROCESS located at {:016x}", system.eprocess_va)),
            "{ctx}"
        );
        // Its EPROCESS locator reads the fields by relations between System and smss: they
        // must sit where the ISF puts them.
        let off = |f: &str| isf.field_offset("_EPROCESS", f).unwrap();
        let found = locator_offsets(&log);
        for (key, field) in [
            ("PID", "UniqueProcessId"),
            ("PPID", "InheritedFromUniqueProcessId"),
            ("NAME", "ImageFileName"),
            ("PEB", "Peb"),
            ("FLnk", "ActiveProcessLinks"),
            ("SeAu", "SeAuditProcessCreationInfo"),
            ("ObjT", "ObjectTable"),
        ] {
            assert_eq!(found.get(key), Some(&off(field)), "{ctx}: {key}\n{log}");
        }
        if v["ok"] != true {
            // 9600.19913 moved ExitStatus (0x6fc) away from VadRoot (0x5d8): MemProcFS's
            // offline locator, which looks for ExitStatus 0x103 just before VadRoot, gives
            // up on this kernel (it would fetch the PDB from a symbol server).
            assert_eq!(build, 9600, "{ctx}: {v}");
            assert!(log.contains("Unable to locate EPROCESS offsets"), "{ctx}");
            continue;
        }
        assert_eq!(v["kernel"]["build"], build, "{ctx}");
        assert_eq!(v["kernel"]["base"], t.kernel_base, "{ctx}");
        let mut objects: Vec<u64> = v["system_handles"]
            .as_array()
            .map(|h| h.iter().filter_map(|x| x["object"].as_u64()).collect())
            .unwrap_or_default();
        let mut want: Vec<u64> = t
            .processes
            .iter()
            .filter(|p| p.pid != 4)
            .map(|p| p.eprocess_va)
            .collect();
        objects.sort_unstable();
        want.sort_unstable();
        assert_eq!(
            objects, want,
            "{ctx}: System handle table (Windows 7 entry format)"
        );
        let rows = v["processes"].as_array().unwrap();
        let live: Vec<_> = t
            .processes
            .iter()
            .filter(|p| p.linked_in_active_list && p.exit_time.is_none())
            .collect();
        assert_eq!(rows.len(), live.len(), "{ctx}: live processes");
        for p in live {
            let pc = format!("{ctx} pid {}", p.pid);
            let r = rows
                .iter()
                .find(|r| r["pid"] == p.pid)
                .unwrap_or_else(|| panic!("{pc}: missing"));
            assert_eq!(r["ppid"], p.ppid, "{pc}");
            assert_eq!(r["name"], p.image_file_name.as_str(), "{pc}");
            assert_eq!(r["eprocess"], p.eprocess_va, "{pc}");
            assert_eq!(r["dtb"], p.dtb, "{pc}");
            assert_eq!(r["peb"], p.peb_va, "{pc}");
            assert_eq!(r["sid"], p.user_sid.as_str(), "{pc}");
            assert_eq!(r["luid"], p.token_id, "{pc}: TokenId");
            assert_eq!(r["session"], p.session_id.unwrap_or(0), "{pc}");
            assert_eq!(r["is_wow64"], p.wow64, "{pc}");
            // MemProcFS integrity levels: 3 medium, 6 system.
            let il = if p.integrity_sid == "S-1-16-8192" {
                3
            } else {
                6
            };
            assert_eq!(r["integrity"], il, "{pc}");
            if !p.image_path.is_empty() {
                assert_eq!(r["pathkernel"], p.image_path.as_str(), "{pc}");
            }
            if p.peb_va != 0 && !p.peb_paged_out {
                assert_eq!(r["cmdline"], p.command_line.as_str(), "{pc}");
            }
        }
    }
}

/// The XP x64 / Server 2003 SP1–SP2 x64 `_TOKEN` (0xd0 bytes): `Privileges` is a pointer to
/// `PrivilegeCount` LUID_AND_ATTRIBUTES, no SEP_TOKEN_PRIVILEGES, no integrity level.
/// Offsets from Volatility 2's win2003_sp2_x64_vtypes (XP x64 runs the 2003 SP kernel).
fn xp_x64_token() -> Value {
    let base = |n: &str| json!({"kind": "base", "name": n});
    let ptr = |n: &str| json!({"kind": "pointer", "subtype": {"kind": "struct", "name": n}});
    let st = |n: &str| json!({"kind": "struct", "name": n});
    let fields = [
        ("TokenSource", 0x0, st("_TOKEN_SOURCE")),
        ("TokenId", 0x10, st("_LUID")),
        ("AuthenticationId", 0x18, st("_LUID")),
        ("ParentTokenId", 0x20, st("_LUID")),
        (
            "ExpirationTime",
            0x28,
            json!({"kind": "union", "name": "_LARGE_INTEGER"}),
        ),
        ("TokenLock", 0x30, ptr("_ERESOURCE")),
        ("ModifiedId", 0x40, st("_LUID")),
        ("SessionId", 0x48, base("unsigned long")),
        ("UserAndGroupCount", 0x4c, base("unsigned long")),
        ("RestrictedSidCount", 0x50, base("unsigned long")),
        ("PrivilegeCount", 0x54, base("unsigned long")),
        ("VariableLength", 0x58, base("unsigned long")),
        ("DynamicCharged", 0x5c, base("unsigned long")),
        ("DynamicAvailable", 0x60, base("unsigned long")),
        ("DefaultOwnerIndex", 0x64, base("unsigned long")),
        ("UserAndGroups", 0x68, ptr("_SID_AND_ATTRIBUTES")),
        ("RestrictedSids", 0x70, ptr("_SID_AND_ATTRIBUTES")),
        (
            "PrimaryGroup",
            0x78,
            json!({"kind": "pointer", "subtype": {"kind": "base", "name": "void"}}),
        ),
        ("Privileges", 0x80, ptr("_LUID_AND_ATTRIBUTES")),
        (
            "DynamicPart",
            0x88,
            json!({"kind": "pointer", "subtype": {"kind": "base", "name": "unsigned long"}}),
        ),
        ("DefaultDacl", 0x90, ptr("_ACL")),
        (
            "TokenType",
            0x98,
            json!({"kind": "enum", "name": "_TOKEN_TYPE"}),
        ),
        (
            "ImpersonationLevel",
            0x9c,
            json!({"kind": "enum", "name": "_SECURITY_IMPERSONATION_LEVEL"}),
        ),
        ("TokenFlags", 0xa0, base("unsigned char")),
        ("TokenInUse", 0xa1, base("unsigned char")),
        ("LogonSession", 0xb8, ptr("_SEP_LOGON_SESSION_REFERENCES")),
        ("OriginatingLogonSession", 0xc0, st("_LUID")),
        ("VariablePart", 0xc8, base("unsigned long")),
    ];
    let fields: serde_json::Map<String, Value> = fields
        .into_iter()
        .map(|(n, off, ty)| (n.to_string(), json!({"offset": off, "type": ty})))
        .collect();
    json!({"kind": "struct", "size": 0xd0, "fields": fields})
}

#[test]
fn xp_era_token_privilege_array_is_read_from_the_layout() {
    let Some(shared) = shared_dir() else { return };
    let symbols = shared.join("symbols");
    // The Windows 7 ISF with its _TOKEN replaced by the XP x64 one, under the same GUID so
    // that `--symbols` picks it: every other structure stays real.
    let mut sc = Scenario::clean_boot(7601);
    sc.memory_size = 64 << 20;
    let real = triage_memgen::resolve_isf(&sc, &symbols).unwrap();
    let pdb = real.pdb().unwrap().clone();
    let bytes = triage_isf::decompress_xz(
        &std::fs::read(&real.source_name).unwrap(),
        Path::new(&real.source_name),
    )
    .unwrap();
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    let types = doc["user_types"].as_object_mut().unwrap();
    types.insert("_TOKEN".into(), xp_x64_token());
    types.remove("_SEP_TOKEN_PRIVILEGES");
    types.insert(
        "_LUID_AND_ATTRIBUTES".into(),
        json!({"kind": "struct", "size": 12, "fields": {
            "Luid": {"offset": 0, "type": {"kind": "struct", "name": "_LUID"}},
            "Attributes": {"offset": 8, "type": {"kind": "base", "name": "unsigned long"}}}}),
    );
    let dir = tempfile::tempdir().unwrap();
    let isf_dir = dir.path().join("symbols/windows/ntkrnlmp.pdb");
    std::fs::create_dir_all(&isf_dir).unwrap();
    let isf_path = isf_dir.join(format!("{}-{}.json", pdb.guid, pdb.age));
    std::fs::write(&isf_path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let isf = triage_isf::Isf::load(&isf_path).unwrap();

    let img = dir.path().join("xp-token.raw");
    let t = write_image(&sc, &isf, &img, Format::Raw).unwrap();
    let raw = std::fs::read(&img).unwrap();

    // The bytes as the documented layout has them, read without our layout code: the
    // count at +0x54, the array pointer at +0x80, 12-byte LUID_AND_ATTRIBUTES entries.
    let phys = triage_physmem::parse(raw.clone()).unwrap();
    let pa = |va: u64| {
        triage_winmem::translate(phys.as_ref(), triage_winmem::Arch::X64, t.dtb, va)
            .paddr()
            .expect("mapped")
    };
    let system = t.processes.iter().find(|p| p.pid == 4).unwrap();
    let token_pa = pa(system.token_va);
    let count = u32::from_le_bytes(raw[token_pa as usize + 0x54..][..4].try_into().unwrap());
    assert_eq!(count, system.privileges_present.count_ones());
    let array = pa(raw_u64(&raw, token_pa + 0x80));
    let luids: Vec<u64> = (0..u64::from(count))
        .map(|i| raw_u64(&raw, array + 12 * i))
        .collect();
    let bits: Vec<u64> = (0..64)
        .filter(|b| system.privileges_present >> b & 1 == 1)
        .collect();
    assert_eq!(luids, bits, "one entry per privilege, LUID = bit");

    // The reader takes the array layout from the ISF's TOKEN and reports each privilege.
    let ours = csv(&img, "ps", Some(&dir.path().join("symbols")));
    assert_eq!(ours.len(), t.processes.len());
    let name = |luid: u32| triage_winproc::privilege_name(luid).unwrap().to_string();
    for p in &t.processes {
        let r = ours.iter().find(|r| r["pid"] == p.pid.to_string()).unwrap();
        let bits = |m: u64| -> BTreeSet<String> {
            (0..64u32).filter(|b| m >> b & 1 == 1).map(name).collect()
        };
        assert_eq!(
            privileges(r, "privileges_present"),
            bits(p.privileges_present),
            "pid {}",
            p.pid
        );
        assert_eq!(
            privileges(r, "privileges_enabled"),
            bits(p.privileges_enabled),
            "pid {}",
            p.pid
        );
        assert_eq!(r["user_sid"], p.user_sid, "pid {}", p.pid);
        // No integrity label in a pre-Vista token.
        assert!(
            p.integrity_sid.is_empty() && r["integrity"].is_empty(),
            "pid {}",
            p.pid
        );
    }
}
