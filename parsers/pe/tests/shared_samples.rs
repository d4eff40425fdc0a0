//! Known truths about third-party files in shared/samples/pe (see
//! PROVENANCE.md there): facts published with the samples or checked with
//! osslsigncode and pefile by hand.

mod common;

use triage_pe::{analyze, Options, PeFacts};

fn facts(name: &str) -> Option<PeFacts> {
    let data = common::shared_pe(name)?;
    Some(analyze(&data, &Options { hashes: true }).unwrap_or_else(|e| panic!("{name}: {e}")))
}

#[test]
fn putty_signature_matches_and_the_modified_copy_does_not() {
    let Some(good) = facts("saferwall__putty.exe") else {
        return;
    };
    let Some(bad) = facts("saferwall__putty_modified.exe") else {
        return;
    };
    let g = good.authenticode.expect("putty is signed");
    let b = bad
        .authenticode
        .expect("modified putty keeps its signature");
    assert!(g.digest_matches);
    assert!(!b.digest_matches);
    assert_eq!(
        g.signed_digest, b.signed_digest,
        "same signature, different content"
    );
    assert_eq!(g.signer_subject_cn.as_deref(), Some("Simon Tatham"));
    assert!(!g.claims_microsoft && !g.microsoft_root_in_chain);
    assert_eq!(g.chain, "not verified");
}

#[test]
fn acpi_sys_is_a_native_driver_signed_by_microsoft_windows() {
    let Some(f) = facts("saferwall__acpi.sys") else {
        return;
    };
    assert_eq!(f.subsystem, "native");
    assert_eq!(f.subsystem_raw, 1);
    assert_eq!(f.machine, "AMD64");
    let a = f
        .authenticode
        .expect("acpi.sys carries an embedded signature");
    assert_eq!(a.signer_subject_cn.as_deref(), Some("Microsoft Windows"));
    assert!(a.digest_matches);
    assert!(a.claims_microsoft);
    assert!(a.microsoft_root_in_chain);
    assert!(!a.signer_self_signed);
    assert_eq!(a.win_certificate_type, 2);
    assert_eq!(a.win_certificate_revision, 0x200);
    assert_eq!(
        f.hashes.unwrap().sha256,
        "5e382348df604c0d228c96c1a3e6de19889c189db1a1a9ac4c9d602c20f2593f"
    );
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
}

#[test]
fn the_7zip_signature_chains_to_a_private_self_signed_root() {
    let Some(f) = facts("signify__7z1900-x64_signed.exe") else {
        return;
    };
    let a = f.authenticode.expect("signed");
    // osslsigncode: "self-signed certificate in certificate chain"; the leaf
    // CN=ollypwn is issued by the self-signed O=OLLYPWN carried in the bag.
    assert_eq!(a.signer_subject_cn.as_deref(), Some("ollypwn"));
    assert!(a.chain_ends_self_signed);
    assert_eq!(a.chain_length, 2);
    assert!(!a.microsoft_root_in_chain);
    assert!(!a.claims_microsoft);
    assert!(a.digest_matches);
    assert!(a
        .certificates
        .iter()
        .any(|c| c.self_signed && c.subject == "O=OLLYPWN,L=Copenhagen,ST=Denmark,C=DK"));
    // The installer's 7z payload follows the last section; the certificate
    // table after it is not overlay. (Overlay start is compared with pefile.)
    assert_eq!(a.table_offset as u64 + a.table_size as u64, f.file_size);
    assert_eq!(
        f.overlay_size,
        f.file_size - f.overlay_offset - a.table_size as u64
    );
    assert!(f.overlay_size > 1_000_000);
}

#[test]
fn wine_cng_sys_is_a_driver_name_with_a_console_subsystem() {
    let Some(f) = facts("wine__cng.sys") else {
        return;
    };
    assert_eq!(f.subsystem, "windows_cui");
    assert_eq!(f.export_name.as_deref(), Some("cng.sys"));
    assert!(f.authenticode.is_none());
}

#[test]
fn machines_arm64_i386_and_mips() {
    let cases = [
        ("pypi-distlib-0.4.4__t64-arm.exe", "ARM64", 0xaa64, true),
        ("pypi-setuptools-68.2.2__gui-32.exe", "I386", 0x14c, false),
        // PROVENANCE.md: arp.dll is the Windows CE MIPS file (R4000).
        ("saferwall__arp.dll", "R4000", 0x166, false),
        ("pypi-distlib-0.4.4__t64.exe", "AMD64", 0x8664, true),
    ];
    for (name, machine, raw, is_64) in cases {
        let Some(f) = facts(name) else { return };
        assert_eq!(
            (f.machine, f.machine_raw, f.is_64),
            (machine, raw, is_64),
            "{name}"
        );
    }
}

#[test]
fn kernel32_export_name_and_version_info() {
    let Some(f) = facts("saferwall__kernel32.dll") else {
        return;
    };
    assert_eq!(f.export_name.as_deref(), Some("KERNEL32.dll"));
    assert!(f.is_dll);
    let v = f.version_info.expect("kernel32 has version info");
    assert_eq!(v.original_filename.as_deref(), Some("kernel32"));
    assert_eq!(v.internal_name.as_deref(), Some("kernel32"));
    assert_eq!(v.company_name.as_deref(), Some("Microsoft Corporation"));
    assert_eq!(
        v.product_name.as_deref(),
        Some("Microsoft® Windows® Operating System")
    );
    assert!(v
        .fixed_file_version
        .as_deref()
        .is_some_and(|s| s.starts_with("10.0.")));
    assert_eq!(f.checksum_stored, f.checksum_computed);
}

#[test]
fn nested_sha256_signature_of_sigcheck_is_read_and_matches() {
    let Some(f) = facts("signify__sigcheck.exe") else {
        return;
    };
    let a = f.authenticode.expect("signed");
    assert_eq!(a.digest_algorithm, "sha1");
    assert_eq!(a.nested_signatures.len(), 1);
    assert_eq!(a.nested_signatures[0].digest_algorithm, "sha256");
    assert_eq!(a.nested_signatures[0].digest_matches, Some(true));
    // An unsigned-by-sha256 primary: the always-computed SHA-256 Authenticode
    // digest is the one the nested signature signs.
    assert_eq!(a.nested_signatures[0].signed_digest, f.authenticode_sha256);
}

#[test]
fn unsigned_files_have_no_authenticode_but_an_image_digest() {
    let Some(f) = facts("wine__services.exe") else {
        return;
    };
    assert!(f.authenticode.is_none());
    assert_eq!(f.authenticode_sha256.len(), 64);
    assert_ne!(
        f.authenticode_sha256,
        f.hashes.unwrap().sha256,
        "the checksum field is excluded"
    );
}

#[test]
fn every_shared_sample_parses_without_warnings() {
    let Some(dir) = common::shared_pe_dir() else {
        return;
    };
    for path in common::files_under(&dir) {
        let data = std::fs::read(&path).unwrap();
        let f = analyze(&data, &Options::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            f.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            f.warnings
        );
        assert!(f.hashes.is_none());
        for s in &f.sections {
            let e = s.entropy.expect("entropy of a well-formed file");
            assert!((0.0..=8.0).contains(&e));
        }
    }
}
