//! Embedded Authenticode: the WIN_CERTIFICATE table, the signed digest, a
//! recomputed digest, and who the signer says it is. Signatures are NOT
//! verified cryptographically and no trust store is consulted: `chain` says
//! so in every result.

mod digest;
mod dn;
mod pkcs7;

use serde::Serialize;

pub use digest::{image_digest, DigestAlgorithm, DigestRanges, ImageDigest};
pub use pkcs7::CertSummary;

use crate::bytes::{u16_at, u32_at};
use crate::layout::{Layout, DIR_SECURITY};

pub const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 0x0002;
const WIN_CERTIFICATE_HEADER: usize = 8;
/// More entries than this in one certificate table is not a real file.
const MAX_WIN_CERTIFICATES: usize = 64;

/// Issuer/subject CNs of Microsoft's code-signing roots (and the CA that signs
/// third-party components shipped with Windows).
const MICROSOFT_ROOTS: &[&str] = &[
    "Microsoft Root Certificate Authority",
    "Microsoft Root Certificate Authority 2010",
    "Microsoft Root Certificate Authority 2011",
    "Microsoft Root Authority",
    "Microsoft Code Verification Root",
    "Microsoft Identity Verification Root Certificate Authority 2020",
];
const MICROSOFT_ROOT_PREFIXES: &[&str] = &["Microsoft Windows Third Party Component CA"];

pub fn is_microsoft_root_name(cn: &str) -> bool {
    MICROSOFT_ROOTS.contains(&cn) || MICROSOFT_ROOT_PREFIXES.iter().any(|p| cn.starts_with(p))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NestedSignature {
    pub digest_algorithm: String,
    pub signed_digest: String,
    pub digest_matches: Option<bool>,
    pub signer_subject: Option<String>,
    pub signer_subject_cn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authenticode {
    /// File offset and size of the certificate table (security directory).
    pub table_offset: usize,
    pub table_size: usize,
    pub win_certificate_revision: u16,
    pub win_certificate_type: u16,
    /// "sha1", "sha256", ... or the OID when unknown.
    pub digest_algorithm: String,
    pub signed_digest: String,
    /// Recomputed over the image with the signature's algorithm; `None` when
    /// the algorithm is unknown.
    pub computed_digest: Option<String>,
    pub digest_matches: bool,
    pub signer_subject: Option<String>,
    pub signer_issuer: Option<String>,
    pub signer_subject_cn: Option<String>,
    pub signer_issuer_cn: Option<String>,
    pub signer_serial: Option<String>,
    pub signer_self_signed: bool,
    /// The signer's subject O or CN contains "Microsoft" (anyone can write that).
    pub claims_microsoft: bool,
    /// A certificate on the name chain from the signer up has a Microsoft
    /// root as subject or issuer. Decided by names only.
    pub microsoft_root_in_chain: bool,
    /// Issuer (full name and CN) of the top of the name chain.
    pub chain_top_issuer: Option<String>,
    pub chain_top_issuer_cn: Option<String>,
    /// The name chain ends at a self-issued certificate carried in the
    /// signature itself (a private root, as with a self-made signing CA).
    pub chain_ends_self_signed: bool,
    /// Number of certificates on the name chain, signer included.
    pub chain_length: usize,
    pub certificates: Vec<CertSummary>,
    pub nested_signatures: Vec<NestedSignature>,
    /// Always "not verified": no signature value or trust store is checked.
    pub chain: &'static str,
}

pub fn certificate_table(
    data: &[u8],
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Option<(usize, usize)> {
    let dir = layout.directory(DIR_SECURITY)?;
    // The security directory holds a file offset, not an RVA.
    let start = dir.virtual_address as usize;
    let size = dir.size as usize;
    match start.checked_add(size) {
        Some(end) if end <= data.len() => {
            if end != data.len() {
                warnings.push(format!(
                    "offset {start:#x}: certificate table ends at {end:#x}, {} bytes before the end of file",
                    data.len() - end
                ));
            }
            Some((start, size))
        }
        _ => {
            warnings.push(format!(
                "offset {:#x}: expected certificate table of {size} bytes at {start:#x} inside the file of {} bytes",
                layout.security_dir_offset,
                data.len()
            ));
            None
        }
    }
}

pub fn digest_ranges(data: &[u8], layout: &Layout, table: Option<(usize, usize)>) -> DigestRanges {
    DigestRanges::new(
        data.len(),
        layout.checksum_offset,
        layout.security_dir_offset,
        table,
    )
}

/// The first PKCS#7 entry of the certificate table, parsed, before the
/// image digests it needs are computed (they come from the single pass).
pub struct SignatureEntry {
    table: (usize, usize),
    revision: u16,
    cert_type: u16,
    sig: pkcs7::ParsedSignature,
    /// Each nested signature, or why it could not be read.
    nested: Vec<Result<pkcs7::ParsedSignature, String>>,
}

impl SignatureEntry {
    /// The digest algorithms of the signature and its nested signatures.
    pub fn algorithms(&self) -> Vec<DigestAlgorithm> {
        let mut algs: Vec<DigestAlgorithm> = Vec::new();
        let nested = self.nested.iter().filter_map(|n| n.as_ref().ok());
        for alg in std::iter::once(&self.sig)
            .chain(nested)
            .filter_map(|s| s.digest_algorithm)
        {
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
        algs
    }
}

/// Reads the first PKCS#7 entry of the certificate table.
pub fn read_signature(
    data: &[u8],
    table: (usize, usize),
    warnings: &mut Vec<String>,
) -> Option<SignatureEntry> {
    let (table_offset, table_size) = table;
    let table_end = table_offset + table_size;
    let mut at = table_offset;
    for _ in 0..MAX_WIN_CERTIFICATES {
        if at + WIN_CERTIFICATE_HEADER > table_end {
            break;
        }
        let length = u32_at(data, at).unwrap_or(0) as usize;
        let revision = u16_at(data, at + 4).unwrap_or(0);
        let cert_type = u16_at(data, at + 6).unwrap_or(0);
        let entry_end = at.saturating_add(length);
        if length < WIN_CERTIFICATE_HEADER || entry_end > table_end {
            warnings.push(format!(
                "offset {at:#x}: expected WIN_CERTIFICATE length between 8 and {}, found {length}",
                table_end - at
            ));
            return None;
        }
        if cert_type == WIN_CERT_TYPE_PKCS_SIGNED_DATA {
            let content = data
                .get(at + WIN_CERTIFICATE_HEADER..entry_end)
                .unwrap_or(&[]);
            return match pkcs7::parse_signature(content) {
                Ok(sig) => {
                    let nested = sig
                        .nested
                        .iter()
                        .map(|der| pkcs7::parse_signature(der))
                        .collect();
                    Some(SignatureEntry {
                        table,
                        revision,
                        cert_type,
                        sig,
                        nested,
                    })
                }
                Err(e) => {
                    warnings.push(format!("offset {:#x}: {e}", at + WIN_CERTIFICATE_HEADER));
                    None
                }
            };
        }
        // Entries are 8-byte aligned.
        at = (entry_end + 7) & !7;
    }
    warnings.push(format!(
        "offset {table_offset:#x}: certificate table has no PKCS#7 SignedData entry"
    ));
    None
}

/// The recomputed image digest for `alg`: from `digests` (the single pass),
/// or computed here if the pass did not include it.
fn recompute(
    data: &[u8],
    ranges: &DigestRanges,
    alg: Option<DigestAlgorithm>,
    digests: &[(DigestAlgorithm, String)],
) -> Option<String> {
    let alg = alg?;
    Some(match digests.iter().find(|(a, _)| *a == alg) {
        Some((_, d)) => d.clone(),
        None => image_digest(data, ranges, alg),
    })
}

/// The facts of a signature entry, its signed digests compared with the
/// image digests in `digests`.
pub fn summarise(
    data: &[u8],
    entry: SignatureEntry,
    ranges: &DigestRanges,
    digests: &[(DigestAlgorithm, String)],
    warnings: &mut Vec<String>,
) -> Authenticode {
    let SignatureEntry {
        table,
        revision,
        cert_type,
        sig,
        nested,
    } = entry;
    let computed = recompute(data, ranges, sig.digest_algorithm, digests);
    let signer = sig.signer.and_then(|i| sig.certs.get(i));
    if signer.is_none() {
        warnings.push(format!(
            "offset {:#x}: the signer's certificate is not in the signature's certificate bag",
            table.0
        ));
    }
    let chain = sig.chain();
    let microsoft_root_in_chain = chain.iter().filter_map(|&i| sig.certs.get(i)).any(|c| {
        [&c.summary.subject_cn, &c.summary.issuer_cn]
            .into_iter()
            .flatten()
            .any(|cn| is_microsoft_root_name(cn))
    });
    let top = chain.last().and_then(|&i| sig.certs.get(i));
    let claims_microsoft = signer.is_some_and(|c| {
        [&c.subject_o, &c.summary.subject_cn]
            .into_iter()
            .flatten()
            .any(|s| s.to_ascii_lowercase().contains("microsoft"))
    });
    let nested_signatures = nested
        .into_iter()
        .filter_map(|n| match n {
            Ok(n) => {
                let computed = recompute(data, ranges, n.digest_algorithm, digests);
                let signer = n.signer.and_then(|i| n.certs.get(i));
                Some(NestedSignature {
                    digest_algorithm: n
                        .digest_algorithm
                        .map_or(n.digest_algorithm_oid.clone(), |a| a.name().to_string()),
                    digest_matches: computed.map(|c| c == n.signed_digest),
                    signed_digest: n.signed_digest.clone(),
                    signer_subject: signer.map(|c| c.summary.subject.clone()),
                    signer_subject_cn: signer.and_then(|c| c.summary.subject_cn.clone()),
                })
            }
            Err(e) => {
                warnings.push(format!("offset {:#x}: nested signature: {e}", table.0));
                None
            }
        })
        .collect();
    Authenticode {
        table_offset: table.0,
        table_size: table.1,
        win_certificate_revision: revision,
        win_certificate_type: cert_type,
        digest_algorithm: sig
            .digest_algorithm
            .map_or(sig.digest_algorithm_oid.clone(), |a| a.name().to_string()),
        digest_matches: computed.as_deref() == Some(sig.signed_digest.as_str()),
        computed_digest: computed,
        signed_digest: sig.signed_digest.clone(),
        signer_subject: signer.map(|c| c.summary.subject.clone()),
        signer_issuer: signer.map(|c| c.summary.issuer.clone()),
        signer_subject_cn: signer.and_then(|c| c.summary.subject_cn.clone()),
        signer_issuer_cn: signer.and_then(|c| c.summary.issuer_cn.clone()),
        signer_serial: signer.map(|c| c.summary.serial.clone()),
        signer_self_signed: signer.is_some_and(|c| c.summary.self_signed),
        claims_microsoft,
        microsoft_root_in_chain,
        chain_top_issuer: top.map(|c| c.summary.issuer.clone()),
        chain_top_issuer_cn: top.and_then(|c| c.summary.issuer_cn.clone()),
        chain_ends_self_signed: top.is_some_and(|c| c.summary.self_signed),
        chain_length: chain.len(),
        certificates: sig.certs.iter().map(|c| c.summary.clone()).collect(),
        nested_signatures,
        chain: "not verified",
    }
}
