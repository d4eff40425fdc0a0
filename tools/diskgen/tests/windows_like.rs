//! The generated disks read back through independent readers: sleuthkit (`mmls`, `fls`,
//! `icat`, `istat`), hivex (`hivexregedit --export`), ntfs-3g (`ntfsls`), qemu-img and
//! ewfexport. Images are built once per test binary into `CARGO_TARGET_TMPDIR` (cached there
//! by a content hash of every input and of this crate's code).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use triage_diskgen::{
    build_many_files, build_windows_like, sample_e01, unwrap_to_raw, wrap, Built, Format, Options,
    PlantKind, PARTITION_OFFSET,
};

const TOOLS: [&str; 12] = [
    "mkntfs",
    "ntfscp",
    "wimlib-imagex",
    "sgdisk",
    "hivexregedit",
    "x86_64-w64-mingw32-gcc",
    "x86_64-w64-mingw32-windres",
    "mmls",
    "fls",
    "icat",
    "istat",
    "qemu-img",
];

fn tools_present() -> bool {
    TOOLS.iter().all(|t| triage_testkit::tool(t).is_some())
}

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diskgen")
}

fn samples() -> PathBuf {
    triage_testkit::samples_dir()
}

/// The full image (Microsoft's binaries, regipy's hive, a memgen dump), built once.
fn full() -> Option<&'static Built> {
    static FULL: OnceLock<Option<Built>> = OnceLock::new();
    FULL.get_or_init(|| {
        if !tools_present() {
            return None;
        }
        let shared = triage_testkit::shared_dir()?;
        Some(build_windows_like(&cache(), &Options::with_shared(&samples(), &shared)).unwrap())
    })
    .as_ref()
}

/// The project-only image (nothing third-party), built once.
fn project() -> Option<&'static Built> {
    static PROJECT: OnceLock<Option<Built>> = OnceLock::new();
    PROJECT
        .get_or_init(|| {
            if !tools_present() {
                return None;
            }
            Some(build_windows_like(&cache(), &Options::project_only(&samples())).unwrap())
        })
        .as_ref()
}

fn out(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(triage_testkit::tool(cmd).unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn out_bytes(cmd: &str, args: &[&str]) -> Vec<u8> {
    let o = Command::new(triage_testkit::tool(cmd).unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn sector_offset() -> String {
    (PARTITION_OFFSET / 512).to_string()
}

/// `fls -r -p` of the NTFS partition: path → (metadata address, deleted).
fn fls(disk: &Path) -> HashMap<String, (String, bool)> {
    let text = out(
        "fls",
        &["-r", "-p", "-o", &sector_offset(), disk.to_str().unwrap()],
    );
    let mut map = HashMap::new();
    for line in text.lines() {
        let Some((head, path)) = line.split_once(":\t") else {
            continue;
        };
        let deleted = head.contains(" * ");
        let addr = head.rsplit(' ').next().unwrap().to_string();
        map.insert(path.to_string(), (addr, deleted));
    }
    map
}

fn fls_path(volume_path: &str) -> String {
    volume_path.trim_start_matches('\\').replace('\\', "/")
}

fn check_listing_and_bytes(built: &Built) {
    let disk = built.raw_disk.to_str().unwrap();
    let listing = fls(&built.raw_disk);
    for p in &built.planted {
        let key = fls_path(&p.path);
        let (addr, deleted) = listing
            .get(&key)
            .unwrap_or_else(|| panic!("fls does not list {key}"));
        assert_eq!(
            *deleted,
            p.kind == PlantKind::Deleted,
            "{key}: deleted flag"
        );
        let bytes = out_bytes("icat", &["-o", &sector_offset(), disk, addr]);
        assert_eq!(bytes.len() as u64, p.size, "{key}: size");
        assert_eq!(sha(&bytes), p.sha256, "{key}: bytes");
    }
}

#[test]
fn mmls_shows_esp_and_basic_data() {
    let Some(b) = project() else { return };
    let text = out("mmls", &[b.raw_disk.to_str().unwrap()]);
    assert!(text.contains("GUID Partition Table"), "{text}");
    let esp = text
        .lines()
        .find(|l| l.contains("EFI system partition"))
        .unwrap();
    assert!(esp.contains("0000002048"), "{esp}");
    let data = text
        .lines()
        .find(|l| l.contains("Basic data partition"))
        .unwrap();
    assert!(
        data.contains(&format!("{:010}", PARTITION_OFFSET / 512)),
        "{data}"
    );
    assert_eq!(b.partition_offset, PARTITION_OFFSET);
}

#[test]
fn full_image_lists_every_item_with_its_bytes() {
    let Some(b) = full() else { return };
    check_listing_and_bytes(b);
    // The genuine binaries are Microsoft's own bytes, not stand-ins.
    let genuine = triage_testkit::pe_dir()
        .unwrap()
        .join("genuine-win11-22621/smss.exe");
    let smss = b
        .planted
        .iter()
        .find(|p| p.path == "\\Windows\\System32\\smss.exe")
        .unwrap();
    assert_eq!(smss.sha256, sha(&std::fs::read(genuine).unwrap()));
    assert!(b.memory_truth.as_ref().is_some_and(|t| t.is_file()));
}

#[test]
fn project_image_lists_every_item_with_its_bytes() {
    let Some(b) = project() else { return };
    check_listing_and_bytes(b);
}

#[test]
fn every_rule_id_is_planted_and_genuine_items_are_quiet() {
    let Some(b) = full() else { return };
    for rule in [
        "FILE-LOOKALIKE",
        "FILE-RENAMED",
        "FILE-PROTECTED-PATH",
        "SMSS-FILE-NOT-NATIVE",
        "FILE-TIMESTOMP",
        "REG-BOOTEXECUTE",
    ] {
        assert!(
            b.planted.iter().any(|p| p.expect_rule == Some(rule)),
            "{rule}"
        );
    }
    for g in &b.genuine {
        let p = b.planted.iter().find(|p| &p.path == g).unwrap();
        assert_eq!(p.expect_rule, None);
    }
    assert!(b.genuine.iter().any(|g| g.ends_with("\\msg.exe")));
}

/// istat's `Created:` lines: ($STANDARD_INFORMATION, $FILE_NAME).
fn created(disk: &str, addr: &str) -> (String, String) {
    let text = out("istat", &["-o", &sector_offset(), disk, addr]);
    let pick = |section: &str| {
        let start = text.find(section).unwrap();
        text[start..]
            .lines()
            .find_map(|l| l.strip_prefix("Created:\t"))
            .unwrap()
            .to_string()
    };
    (
        pick("$STANDARD_INFORMATION Attribute Values"),
        pick("$FILE_NAME Attribute Values"),
    )
}

#[test]
fn istat_shows_the_timestomp_and_only_there() {
    let Some(b) = full() else { return };
    let disk = b.raw_disk.to_str().unwrap();
    let listing = fls(&b.raw_disk);
    let stomped = b
        .planted
        .iter()
        .find(|p| p.kind == PlantKind::Timestomped)
        .unwrap();
    let (addr, _) = &listing[&fls_path(&stomped.path)];
    let (si, fname) = created(disk, addr);
    assert_eq!(si, "2019-12-07 09:09:21.000000000 (UTC)");
    assert!(fname > si, "$FN {fname} not after $SI {si}");
    assert!(!fname.contains(".000000000"), "$FN {fname} has sub-seconds");
    // All four $SI times are stomped; the four $FN times are not.
    let text = out("istat", &["-o", &sector_offset(), disk, addr]);
    let (si_part, fn_part) = text.split_once("$FILE_NAME Attribute Values").unwrap();
    let times = |part: &str| -> Vec<String> {
        part.lines()
            .filter(|l| {
                ["Created:", "File Modified:", "MFT Modified:", "Accessed:"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(|l| l.split_once('\t').unwrap().1.to_string())
            .take(4)
            .collect()
    };
    assert_eq!(times(si_part), vec![si.clone(); 4]);
    let fn_times = times(fn_part);
    assert_eq!(fn_times.len(), 4);
    assert!(
        fn_times
            .iter()
            .all(|t| t > &si && !t.contains(".000000000")),
        "{fn_times:?}"
    );
    let (addr, _) = &listing["Windows/System32/smss.exe"];
    let (si, fname) = created(disk, addr);
    assert_eq!(si, fname);
    assert!(!si.contains(".000000000"), "{si}");
}

fn hive_export(disk: &Path, key: &str, dir: &Path) -> String {
    let (addr, _) = fls(disk)["Windows/System32/config/SYSTEM"].clone();
    let bytes = out_bytes(
        "icat",
        &["-o", &sector_offset(), disk.to_str().unwrap(), &addr],
    );
    let hive = dir.join("SYSTEM");
    std::fs::write(&hive, bytes).unwrap();
    out(
        "hivexregedit",
        &[
            "--export",
            "--prefix",
            "HKEY_LOCAL_MACHINE\\SYSTEM",
            hive.to_str().unwrap(),
            key,
        ],
    )
}

/// `evil.exe` as it appears in the hex(7) export.
const EVIL_HEX: &str = "65,00,76,00,69,00,6c,00,2e,00,65,00,78,00,65,00";

#[test]
fn hives_hold_the_bootexecute_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let sm = "ControlSet001\\Control\\Session Manager";
    if let Some(b) = full() {
        let text = hive_export(&b.raw_disk, sm, dir.path());
        let boot = text
            .lines()
            .find(|l| l.starts_with("\"BootExecute\""))
            .unwrap();
        assert!(boot.contains(EVIL_HEX), "{boot}");
    }
    if let Some(b) = project() {
        let text = hive_export(&b.raw_disk, sm, dir.path());
        let boot = text
            .lines()
            .find(|l| l.starts_with("\"BootExecute\""))
            .unwrap();
        assert!(boot.contains(EVIL_HEX), "{boot}");
        assert!(text.contains("win32k.sys") || text.contains("77,00,69,00,6e,00,33,00,32,00,6b"));
        let select = hive_export(&b.raw_disk, "Select", dir.path());
        assert!(select.contains("\"Current\"=dword:00000001"), "{select}");
    }
}

/// The NTFS partition of `disk` alone, exactly as long as its GPT entry.
fn partition_image(disk: &Path, dir: &Path) -> PathBuf {
    let text = out("mmls", &[disk.to_str().unwrap()]);
    let line = text
        .lines()
        .find(|l| l.contains("Basic data partition"))
        .unwrap();
    let sectors: usize = line.split_whitespace().nth(4).unwrap().parse().unwrap();
    let bytes = std::fs::read(disk).unwrap();
    let start = PARTITION_OFFSET as usize;
    let part = dir.join("part.img");
    std::fs::write(&part, &bytes[start..start + sectors * 512]).unwrap();
    part
}

#[test]
fn deleted_file_is_gone_from_its_directory_and_its_clusters_free() {
    let Some(b) = project() else { return };
    let (Some(_), Some(_)) = (
        triage_testkit::tool("ntfsls"),
        triage_testkit::tool("blkstat"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let part = partition_image(&b.raw_disk, dir.path());
    let bin = format!("/$Recycle.Bin/{}", triage_diskgen::RECYCLE_SID);
    let text = out("ntfsls", &["-a", "-p", &bin, part.to_str().unwrap()]);
    assert!(text.contains("$IABC123.exe"), "{text}");
    assert!(!text.contains("$RABC123.exe"), "{text}");
    // Its data cluster is free in $Bitmap; a live file's is not.
    let listing = fls(&b.raw_disk);
    let cluster_state = |path: &str| {
        let (addr, _) = &listing[path];
        let istat = out("istat", &[part.to_str().unwrap(), addr]);
        let cluster = istat
            .lines()
            .last()
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        out("blkstat", &[part.to_str().unwrap(), &cluster])
    };
    let deleted = format!("$Recycle.Bin/{}/$RABC123.exe", triage_diskgen::RECYCLE_SID);
    assert!(cluster_state(&deleted).contains("Not Allocated"));
    let live = cluster_state("Windows/System32/smss.exe");
    assert!(
        live.contains("Allocated") && !live.contains("Not Allocated"),
        "{live}"
    );
}

#[test]
fn builds_are_byte_identical_and_pass_ntfsfix() {
    if project().is_none() {
        return;
    }
    let Some(_) = triage_testkit::tool("ntfsfix") else {
        return;
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = build_windows_like(a.path(), &Options::project_only(&samples())).unwrap();
    let two = build_windows_like(b.path(), &Options::project_only(&samples())).unwrap();
    let bytes = std::fs::read(&one.raw_disk).unwrap();
    assert!(
        bytes == std::fs::read(&two.raw_disk).unwrap(),
        "two builds differ"
    );
    let part = partition_image(&one.raw_disk, a.path());
    let text = out("ntfsfix", &["-n", part.to_str().unwrap()]);
    assert!(text.contains("processed successfully"), "{text}");
}

#[test]
fn project_image_holds_no_third_party_bytes() {
    let Some(b) = project() else { return };
    let Some(shared) = triage_testkit::shared_dir() else {
        return;
    };
    let disk = std::fs::read(&b.raw_disk).unwrap();
    assert!(disk.len() <= 40 << 20);
    let mut third_party: Vec<PathBuf> =
        std::fs::read_dir(shared.join("samples/pe/genuine-win11-22621"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    third_party.push(shared.join("samples/hives/regipy__SYSTEM"));
    for f in third_party {
        let bytes = std::fs::read(&f).unwrap();
        let digest = sha(&bytes);
        assert!(
            b.planted.iter().all(|p| p.sha256 != digest),
            "{}",
            f.display()
        );
        // A 64-byte piece from the middle of the file (a varied one: not padding, which
        // any file may share) appears nowhere on the disk.
        let needle = bytes[bytes.len() / 2..]
            .chunks_exact(64)
            .find(|c| c.iter().collect::<std::collections::HashSet<_>>().len() >= 40)
            .unwrap();
        assert!(
            !disk.windows(64).any(|w| w == needle),
            "{} found on the project-only disk",
            f.display()
        );
    }
}

#[test]
fn every_format_converts_back_to_identical_bytes() {
    let Some(b) = project() else { return };
    if triage_testkit::tool("ewfacquire").is_none() || triage_testkit::tool("ewfexport").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let want = sha(&std::fs::read(&b.raw_disk).unwrap());
    for f in Format::ALL {
        let wrapped = wrap(
            &b.raw_disk,
            f,
            &dir.path()
                .join(format!("disk-{}.{}", f.name(), f.extension())),
        )
        .unwrap();
        assert!(wrapped.is_file(), "{f:?}");
        let back = unwrap_to_raw(
            &wrapped,
            f,
            &dir.path().join(format!("back-{}.raw", f.name())),
        )
        .unwrap();
        assert_eq!(sha(&std::fs::read(&back).unwrap()), want, "{f:?}");
    }
}

#[test]
fn second_build_comes_from_the_cache() {
    let Some(b) = project() else { return };
    let t = std::time::Instant::now();
    let again = build_windows_like(&cache(), &Options::project_only(&samples())).unwrap();
    assert!(t.elapsed().as_secs_f64() < 2.0);
    assert_eq!(again.raw_disk, b.raw_disk);
    assert_eq!(again.planted, b.planted);
}

#[test]
fn sample_e01_is_small_and_readable() {
    let Some(_) = project() else { return };
    if triage_testkit::tool("ewfexport").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let e01 = sample_e01(&samples(), &dir.path().join("windows-like.E01")).unwrap();
    let size = std::fs::metadata(&e01).unwrap().len();
    assert!(size < 8 << 20, "{size}");
    let raw = unwrap_to_raw(&e01, Format::E01, &dir.path().join("back.raw")).unwrap();
    let listing = fls(&raw);
    assert!(listing.contains_key("Users/Public/smss.exe"));
    assert!(listing.contains_key("ProgramData/ѕmss.exe"));
    // With faketime the acquisition date is fixed and a rebuild gives the same bytes.
    if triage_testkit::tool("faketime").is_some() {
        let again = sample_e01(&samples(), &dir.path().join("again.E01")).unwrap();
        assert!(std::fs::read(&e01).unwrap() == std::fs::read(&again).unwrap());
        let info = out("ewfinfo", &[e01.to_str().unwrap()]);
        assert!(info.contains("Nov 14 22:13:20 2023"), "{info}");
    }
}

#[test]
fn many_files_volume_holds_them_all_and_the_deep_plant() {
    if !tools_present() {
        return;
    }
    let deep = "\\Program Files\\Vendor042\\Product03\\bin\\x64\\smss.exe";
    let disk = build_many_files(&cache(), 3000, 96 << 20, Some(deep)).unwrap();
    let listing = fls(&disk);
    let files = listing
        .keys()
        .filter(|k| !k.starts_with('$') && !k.contains("OrphanFile"))
        .count();
    assert!(files >= 3001, "{files}");
    for top in ["Windows/WinSxS/", "Program Files/", "Users/"] {
        assert!(listing.keys().any(|k| k.starts_with(top)), "{top}");
    }
    let (addr, _) = &listing[&fls_path(deep)];
    let bytes = out_bytes(
        "icat",
        &["-o", &sector_offset(), disk.to_str().unwrap(), addr],
    );
    let fake = std::fs::read(samples().join("pe/fake/smss.exe")).unwrap();
    assert_eq!(bytes, fake);
}
