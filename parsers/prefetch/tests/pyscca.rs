//! A second oracle: `pyscca` from PyPI's `libscca-python` (libscca 20260527), which,
//! unlike Debian's sccainfo 20200717, reads format version 31 (Windows 11). It is found
//! through `python3` with `$PYSCCA_PATH` (a `pip install --target` folder) on
//! `PYTHONPATH`, or installed normally. Missing: a panic under CI, a skip elsewhere.

use std::process::Command;

const SCRIPT: &str = r#"
import sys, pyscca
for path in sys.argv[1:]:
  print("begin", path)
  try:
    s = pyscca.open(path)
  except Exception:
    print("refused", path)
    continue
  print("version", s.format_version)
  print("hash", s.prefetch_hash)
  print("exe", s.executable_filename)
  print("runs", s.run_count)
  for i in range(8):
      try:
          t = s.get_last_run_time_as_integer(i)
      except Exception:
          break
      if t:
          print("last", t)
  for i in range(s.number_of_filenames):
      print("file", s.get_filename(i))
  for v in s.volumes:
      print("volume", v.device_path, v.serial_number, v.get_creation_time_as_integer(), sep="\t")
"#;

fn python() -> Option<Command> {
    let mut cmd = Command::new("python3");
    if let Some(p) = std::env::var_os("PYSCCA_PATH") {
        cmd.env("PYTHONPATH", p);
    }
    let ok = Command::new("python3")
        .envs(std::env::var_os("PYSCCA_PATH").map(|p| ("PYTHONPATH", p)))
        .args(["-c", "import pyscca"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(cmd);
    }
    if std::env::var_os("CI").is_some() {
        panic!("pyscca not importable: .ci/run must `pip install libscca-python==20260527` (set PYSCCA_PATH for a --target folder)");
    }
    eprintln!("note: pyscca not importable (pip install libscca-python); test skipped");
    None
}

#[test]
fn every_sample_matches_pyscca() {
    let Some(dir) = triage_testkit::sample_dir("prefetch") else {
        return;
    };
    if python().is_none() {
        return;
    }
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut versions = std::collections::BTreeSet::new();
    // One interpreter for all files: each start costs ~0.4 s.
    let out = python()
        .unwrap()
        .args(["-c", SCRIPT])
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut blocks = text.split("begin ").skip(1);
    for path in &paths {
        let block = blocks.next().expect("one block per file");
        let (head, body) = block.split_once('\n').unwrap();
        assert_eq!(head, path.to_str().unwrap());
        let name = path.file_name().unwrap().to_string_lossy();
        let ours = triage_prefetch::parse(&std::fs::read(path).unwrap());
        if body.starts_with("refused") {
            assert!(ours.is_err(), "{name}: pyscca refuses a file we read");
            continue;
        }
        let pf = ours.unwrap_or_else(|e| panic!("{name}: pyscca reads it, we fail: {e}"));
        let (mut runs, mut files, mut vols) = (vec![], vec![], vec![]);
        for line in body.lines() {
            let (k, v) = line.split_once([' ', '\t']).unwrap();
            match k {
                "version" => assert_eq!(pf.version.to_string(), v, "{name}"),
                "hash" => assert_eq!(pf.hash.to_string(), v, "{name}"),
                "exe" => assert_eq!(pf.executable, v, "{name}"),
                "runs" => assert_eq!(pf.run_count.to_string(), v, "{name}"),
                "last" => runs.push(v.parse::<u64>().unwrap()),
                "file" => files.push(v.to_string()),
                "volume" => vols.push(v.to_string()),
                _ => panic!("{line}"),
            }
        }
        assert_eq!(pf.last_runs, runs, "{name}: last runs");
        assert_eq!(pf.files, files, "{name}: files");
        let ours_vols: Vec<String> = pf
            .volumes
            .iter()
            .map(|v| {
                let serial = u32::from_str_radix(&v.serial, 16).unwrap();
                format!("{}\t{serial}\t{}", v.device_path, v.created)
            })
            .collect();
        assert_eq!(ours_vols, vols, "{name}: volumes");
        // No oracle prints directory strings: they must at least lie on their volume.
        for v in &pf.volumes {
            assert!(!v.directories.is_empty(), "{name}");
            for d in &v.directories {
                assert!(d.starts_with(&v.device_path), "{name}: {d}");
            }
        }
        versions.insert(pf.version);
    }
    for v in [17, 23, 26, 30, 31] {
        assert!(
            versions.contains(&v),
            "no version {v} sample compared: {versions:?}"
        );
    }
}
