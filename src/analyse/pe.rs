//! PE files: facts from `triage-pe`, mapped to a `FileRecord`, judged by the file rules.

use anyhow::Result;

use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::{join, DigestCheck, FileRecord, InputReport};
use crate::rules;

pub fn analyse(ev: &Evidence, opts: &Options, report: &mut InputReport) -> Result<Vec<String>> {
    let path = ev.display();
    let record = analyse_bytes(ev.bytes(), &path, &ev.name, &path)?;
    if opts.hash {
        // The PE layer already hashed the file: do not read it twice.
        report.input.sha256.clone_from(&record.sha256);
    }
    let warnings = if record.warnings.is_empty() {
        Vec::new()
    } else {
        vec![record.warnings.clone()]
    };
    report.findings.extend(rules::file::check(&record));
    report.files.push(record);
    Ok(warnings)
}

/// Analyse PE bytes found at `path` (a file on disk, or a path inside an image) that came
/// from `input`. Shared by loose files and files extracted from disk images.
pub fn analyse_bytes(data: &[u8], input: &str, file_name: &str, path: &str) -> Result<FileRecord> {
    let facts = triage_pe::analyze(data, &triage_pe::Options { hashes: true }).map_err(|e| {
        if path == input {
            anyhow::anyhow!("{e}")
        } else {
            anyhow::anyhow!("{path}: {e}")
        }
    })?;
    Ok(to_record(&facts, input, file_name, path))
}

pub fn to_record(f: &triage_pe::PeFacts, input: &str, file_name: &str, path: &str) -> FileRecord {
    let vi = f.version_info.as_ref();
    let vs = |get: fn(&triage_pe::VersionInfo) -> &Option<String>| -> String {
        vi.and_then(|v| get(v).clone()).unwrap_or_default()
    };
    let sig = f.authenticode.as_ref();
    let hashes = f.hashes.as_ref();
    FileRecord {
        input: input.to_string(),
        sha256: hashes.map(|h| h.sha256.clone()).unwrap_or_default(),
        file_name: file_name.to_string(),
        path: path.to_string(),
        size: f.file_size,
        machine: f.machine.to_string(),
        subsystem: f.subsystem.to_string(),
        is_dll: f.is_dll,
        characteristics: join(&f.characteristics_flags),
        timestamp: f.timestamp_utc.clone(),
        entry_point: format!("{:#x}", f.entry_point),
        sections: join(f.sections.iter().map(|s| match s.entropy {
            Some(e) => format!("{}:{e:.2}", s.name),
            None => format!("{}:-", s.name),
        })),
        max_entropy: f
            .sections
            .iter()
            .filter_map(|s| s.entropy)
            .fold(0.0, f64::max),
        imports: f.imports.iter().collect(),
        export_name: f.export_name.clone().unwrap_or_default(),
        original_filename: vs(|v| &v.original_filename),
        internal_name: vs(|v| &v.internal_name),
        company_name: vs(|v| &v.company_name),
        file_description: vs(|v| &v.file_description),
        product_name: vs(|v| &v.product_name),
        file_version: vs(|v| &v.file_version),
        checksum_stored: format!("{:#010x}", f.checksum_stored),
        checksum_computed: format!("{:#010x}", f.checksum_computed),
        overlay_size: f.overlay_size,
        md5: hashes.map(|h| h.md5.clone()).unwrap_or_default(),
        sha1: hashes.map(|h| h.sha1.clone()).unwrap_or_default(),
        authenticode_sha256: f.authenticode_sha256.clone(),
        signed: sig.is_some(),
        signer: sig
            .and_then(|s| s.signer_subject.clone())
            .unwrap_or_default(),
        issuer: sig
            .and_then(|s| s.signer_issuer.clone())
            .unwrap_or_default(),
        signer_self_signed: sig.is_some_and(|s| s.signer_self_signed),
        microsoft_root: sig.is_some_and(|s| s.microsoft_root_in_chain),
        private_root: sig.is_some_and(|s| s.chain_ends_self_signed && !s.microsoft_root_in_chain),
        chain_top: sig
            .and_then(|s| s.chain_top_issuer_cn.clone())
            .unwrap_or_default(),
        digest_algorithm: sig.map(|s| s.digest_algorithm.clone()).unwrap_or_default(),
        digest: match sig {
            None => DigestCheck::NotSigned,
            Some(s) if s.digest_matches => DigestCheck::Match,
            Some(_) => DigestCheck::Mismatch,
        },
        chain: sig.map(|s| s.chain.to_string()).unwrap_or_default(),
        warnings: join(&f.warnings),
        ..Default::default()
    }
}
