//! Every field that Python pefile also reads is compared, for every file of
//! shared/samples/pe and samples/pe, with `pefile_oracle.py`'s output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use triage_pe::{analyze, Options};

fn oracle(python: &Path, inputs: &[PathBuf]) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pefile_oracle.py");
    let out = Command::new(python)
        .arg(&script)
        .args(inputs)
        .output()
        .expect("run pefile_oracle.py");
    assert!(
        out.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle JSON"))
        .collect()
}

fn version_view(v: &Value) -> Value {
    if v.is_null() {
        return serde_json::json!({"fixed_file_version": null, "string_table": null, "strings": []});
    }
    let strings: Vec<Value> = v["strings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| serde_json::json!([s["key"], s["value"]]))
        .collect();
    serde_json::json!({
        "fixed_file_version": v["fixed_file_version"],
        "string_table": v["string_table"],
        "strings": strings,
    })
}

fn sorted_strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn facts_agree_with_pefile_on_every_sample() {
    let Some(python) = common::python_with_pefile() else {
        return;
    };
    let Some(shared) = common::shared_pe_dir() else {
        return;
    };
    let mut inputs = common::files_under(&shared);
    let repo = common::repo_pe_files();
    assert!(
        !repo.is_empty(),
        "samples/pe has no PE files: run samples/pe/make.sh"
    );
    inputs.extend(repo);
    let expected = oracle(&python, &inputs);
    assert_eq!(expected.len(), inputs.len());

    let mut compared = 0;
    let mut authenticode_compared = 0;
    for want in &expected {
        let path = want["path"].as_str().unwrap();
        assert!(
            want.get("error").is_none(),
            "pefile could not read {path}: {}",
            want["error"]
        );
        let data = std::fs::read(path).unwrap();
        let facts =
            analyze(&data, &Options { hashes: true }).unwrap_or_else(|e| panic!("{path}: {e}"));
        let got = serde_json::to_value(&facts).unwrap();
        for key in [
            "machine",
            "machine_raw",
            "subsystem",
            "subsystem_raw",
            "characteristics",
            "dll_characteristics",
            "is_dll",
            "is_64",
            "timestamp",
            "timestamp_utc",
            "entry_point",
            "image_base",
            "imports",
            "imported_function_count",
            "export_name",
            "checksum_stored",
            "checksum_computed",
            "overlay_offset",
        ] {
            assert_eq!(got[key], want[key], "{path}: {key}");
        }
        for key in ["characteristics_flags", "dll_characteristics_flags"] {
            assert_eq!(
                sorted_strings(&got[key]),
                sorted_strings(&want[key]),
                "{path}: {key}"
            );
        }
        for key in ["md5", "sha1", "sha256"] {
            assert_eq!(got["hashes"][key], want[key], "{path}: {key}");
        }
        // The Authenticode digest comes from the same single pass as the
        // hashes; the oracle cuts the holes at pefile's field offsets.
        if !want["authenticode_sha256"].is_null() {
            assert_eq!(
                got["authenticode_sha256"], want["authenticode_sha256"],
                "{path}: authenticode_sha256"
            );
            authenticode_compared += 1;
        }
        let (gs, ws) = (
            got["sections"].as_array().unwrap(),
            want["sections"].as_array().unwrap(),
        );
        assert_eq!(gs.len(), ws.len(), "{path}: section count");
        for (g, w) in gs.iter().zip(ws) {
            for key in [
                "name",
                "virtual_address",
                "virtual_size",
                "raw_offset",
                "raw_size",
                "characteristics",
            ] {
                assert_eq!(g[key], w[key], "{path}: section {} {key}", w["name"]);
            }
            let (ge, we) = (
                g["entropy"].as_f64().unwrap(),
                w["entropy"].as_f64().unwrap(),
            );
            assert!(
                (ge - we).abs() < 1e-9,
                "{path}: section {} entropy {ge} vs {we}",
                w["name"]
            );
        }
        let (gv, wv) = (version_view(&got["version_info"]), &want["version_info"]);
        assert_eq!(
            gv["fixed_file_version"], wv["fixed_file_version"],
            "{path}: fixed version"
        );
        assert_eq!(gv["strings"], wv["strings"], "{path}: version strings");
        if !wv["string_table"].is_null() {
            let lower = |v: &Value| v.as_str().map(str::to_ascii_lowercase);
            assert_eq!(
                lower(&gv["string_table"]),
                lower(&wv["string_table"]),
                "{path}: string table"
            );
        }
        compared += 1;
    }
    assert!(compared >= 21, "only {compared} files compared");
    assert!(
        authenticode_compared >= 21,
        "only {authenticode_compared} Authenticode digests compared"
    );
}
