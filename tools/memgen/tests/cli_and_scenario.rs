mod common;

use assert_cmd::Command;
use std::io::Cursor;
use triage_memgen::{generate, Format, Scenario, Truth};

#[test]
fn cli_writes_image_and_truth() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("img.dmp");
    Command::cargo_bin("memgen")
        .unwrap()
        .args([
            "--scenario",
            "clean",
            "--build",
            "22000",
            "--size",
            "64M",
            "--seed",
            "3",
            "--format",
            "crashdump",
        ])
        .arg("--symbols")
        .arg(shared.join("symbols"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let truth: Truth =
        serde_json::from_slice(&std::fs::read(tmp.path().join("img.dmp.truth.json")).unwrap())
            .unwrap();
    assert_eq!(truth.build, 22000);
    assert_eq!(truth.format, "crashdump");
    let img = std::fs::read(&out).unwrap();
    assert_eq!(&img[..8], b"PAGEDU64");
    // Header + every RAM page (64 MiB minus page 0 and the 0x9F000..0x100000 hole).
    assert_eq!(img.len() as u64, 0x2000 + (64 << 20) - 0x1000 - 0x61000);
    // Unknown formats are refused.
    Command::cargo_bin("memgen")
        .unwrap()
        .args(["--format", "vmem", "-o"])
        .arg(tmp.path().join("x"))
        .assert()
        .failure();
}

#[test]
fn scenario_round_trips_through_json_and_defaults_apply() {
    let Some(isf) = common::symbols_isf(19041) else {
        return;
    };
    let sc = Scenario::clean_boot(19041);
    let json = serde_json::to_string(&sc).unwrap();
    let back: Scenario = serde_json::from_str(&json).unwrap();
    let mut small = back.clone();
    small.memory_size = 64 << 20;
    let mut a = Cursor::new(Vec::new());
    let mut orig = sc.clone();
    orig.memory_size = 64 << 20;
    let ta = generate(&orig, &isf, &mut a, Format::Raw).unwrap();
    let mut b = Cursor::new(Vec::new());
    let tb = generate(&small, &isf, &mut b, Format::Raw).unwrap();
    assert!(a.into_inner() == b.into_inner());
    assert_eq!(
        serde_json::to_value(&ta).unwrap(),
        serde_json::to_value(&tb).unwrap()
    );

    // A minimal hand-written process gets the documented defaults.
    let minimal = r#"{"build":19041,"memory_size":67108864,"seed":1,"system_time":133547048430000000,
        "processes":[{"pid":4,"ppid":0,"name":"System","create_time":133547048430000000},
                     {"pid":700,"ppid":4,"name":"evil_smss.exe","image_path":"\\Device\\HarddiskVolume3\\Temp\\smss.exe",
                      "session_id":1,"create_time":133547048440000000}]}"#;
    let sc: Scenario = serde_json::from_str(minimal).unwrap();
    assert_eq!(sc.processes[1].user_sid, "S-1-5-18");
    assert!(sc.processes[1].linked_in_active_list);
    assert_eq!(sc.processes[1].peb_path(), "C:\\Temp\\smss.exe");
    let t = generate(&sc, &isf, &mut Cursor::new(Vec::new()), Format::Raw).unwrap();
    assert_eq!(t.processes[1].image_file_name, "evil_smss.exe");
    assert_eq!(
        t.processes[1].sids,
        vec!["S-1-5-18".to_string(), "S-1-16-16384".to_string()]
    );

    // Bad input is an error, not a panic.
    let mut bad = sc.clone();
    bad.processes[1].user_sid = "S-1-x".into();
    assert!(generate(&bad, &isf, &mut Cursor::new(Vec::new()), Format::Raw).is_err());
    let mut no_system = sc.clone();
    no_system.processes.remove(0);
    assert!(generate(&no_system, &isf, &mut Cursor::new(Vec::new()), Format::Raw).is_err());
    let mut tiny = sc.clone();
    tiny.memory_size = 16 << 20;
    assert!(generate(&tiny, &isf, &mut Cursor::new(Vec::new()), Format::Raw).is_err());
    let mut crowd = sc;
    let template = crowd.processes[1].clone();
    for i in 0..5000u64 {
        let mut p = template.clone();
        p.pid = 1000 + 4 * i;
        crowd.processes.push(p);
    }
    assert!(
        generate(&crowd, &isf, &mut Cursor::new(Vec::new()), Format::Raw).is_err(),
        "pool exhaustion is reported"
    );
}
