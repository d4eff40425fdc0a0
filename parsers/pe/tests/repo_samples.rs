//! Facts of the project's own samples (samples/pe, built by make.sh); what
//! each one is meant to show is in samples/pe/README.md.

mod common;

use triage_pe::{analyze, Options, PeFacts};

fn facts(rel: &str) -> PeFacts {
    analyze(&common::repo_sample(rel), &Options { hashes: true })
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn good_smss_is_native_imports_only_ntdll_and_says_smss() {
    let f = facts("good/smss.exe");
    assert_eq!(f.subsystem, "native");
    assert_eq!(f.imports, ["ntdll.dll"]);
    assert_eq!(
        f.imported_function_count, 3,
        "RtlInitUnicodeString, NtDisplayString, NtTerminateProcess"
    );
    assert_eq!(f.timestamp, 0, "built with --no-insert-timestamp");
    let v = f.version_info.expect("version resource");
    assert_eq!(v.original_filename.as_deref(), Some("smss.exe"));
    assert_eq!(v.internal_name.as_deref(), Some("smss.exe"));
    assert_eq!(v.company_name.as_deref(), Some("Microsoft Corporation"));
    assert_eq!(
        v.file_description.as_deref(),
        Some("Windows Session Manager")
    );
    assert_eq!(v.fixed_file_version.as_deref(), Some("10.0.19041.1"));
    assert_eq!(v.string_table.as_deref(), Some("040904B0"));
    assert!(
        f.authenticode.is_none(),
        "inbox binaries are catalog-signed"
    );
    assert_eq!(f.checksum_stored, f.checksum_computed);
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
}

#[test]
fn fake_smss_is_a_console_program_claiming_to_be_smss() {
    let f = facts("fake/smss.exe");
    assert_eq!(f.subsystem, "windows_cui");
    assert_eq!(f.imports, ["kernel32.dll", "msvcrt.dll"]);
    let v = f.version_info.expect("version resource");
    assert_eq!(v.original_filename.as_deref(), Some("smss.exe"));
}

#[test]
fn renamed_copy_keeps_its_original_filename() {
    let good = facts("good/smss.exe");
    let renamed = facts("renamed/updater.exe");
    assert_eq!(renamed.hashes, good.hashes);
    assert_eq!(
        renamed.version_info.unwrap().original_filename.as_deref(),
        Some("smss.exe")
    );
}

#[test]
fn test_signed_tool_matches_and_the_altered_copy_does_not() {
    let signed = facts("signed/tool_signed.exe");
    let altered = facts("signed/tool_signed_altered.exe");
    let (s, a) = (signed.authenticode.unwrap(), altered.authenticode.unwrap());
    assert_eq!(s.digest_algorithm, "sha256");
    assert!(s.digest_matches);
    assert!(!a.digest_matches);
    assert_eq!(s.signed_digest, a.signed_digest);
    assert_eq!(
        s.computed_digest.as_deref(),
        Some(signed.authenticode_sha256.as_str())
    );
    assert!(s.signer_self_signed);
    assert_eq!(
        s.signer_subject_cn.as_deref(),
        Some("smss-triage TEST code signing (untrusted)")
    );
    assert!(!s.claims_microsoft && !s.microsoft_root_in_chain);
    // osslsigncode set the stored checksum when signing; the flipped byte
    // changes the computed one.
    assert_eq!(signed.checksum_stored, signed.checksum_computed);
    assert_ne!(altered.checksum_stored, altered.checksum_computed);
}

#[test]
fn fake_microsoft_claims_microsoft_without_a_microsoft_root() {
    let f = facts("signed/fake_microsoft.exe");
    let a = f.authenticode.unwrap();
    assert!(a.digest_matches);
    assert_eq!(a.signer_subject_cn.as_deref(), Some("Microsoft Windows"));
    assert!(a.claims_microsoft);
    assert!(!a.microsoft_root_in_chain);
    assert!(a.signer_self_signed);
    assert_eq!(a.certificates.len(), 1);
}

#[test]
fn lookalikes_are_byte_identical_copies_of_the_tool() {
    let dir = common::repo_samples_dir().join("lookalike");
    let names: Vec<String> = common::files_under(&dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "srnss.exe",
        "smss .exe",
        "\u{0455}mss.exe",
        "smss.txt.exe",
        "s\u{202e}exe.ssm",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "missing lookalike/{expected:?} in {names:?}"
        );
    }
    let tool = facts("signed/tool_signed.exe");
    for n in &names {
        let f = facts(&format!("lookalike/{n}"));
        assert!(f.authenticode.is_none());
        assert_eq!(
            f.version_info.unwrap().original_filename.as_deref(),
            Some("tool.exe")
        );
        assert_eq!(
            f.authenticode_sha256, tool.authenticode_sha256,
            "{n}: same image as the signed tool"
        );
    }
}
