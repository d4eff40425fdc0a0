//! The PKCS#7 SignedData of an Authenticode signature, read with RustCrypto
//! `cms`/`x509-cert`: the SpcIndirectDataContent digest, the signer and the
//! certificate bag. Nothing here checks a signature value.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Sequence, SliceReader};
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use super::digest::DigestAlgorithm;
use super::dn;
use crate::bytes::hex;

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_SPC_INDIRECT_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.4");
const OID_NESTED_SIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.4.1");
const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// A Windows file carries one or two nested signatures; more is an attack on
/// the parser, not a signing practice.
const MAX_NESTED: usize = 8;

#[derive(Sequence)]
struct SpcAttributeTypeAndOptionalValue {
    value_type: ObjectIdentifier,
    value: Option<Any>,
}

#[derive(Sequence)]
struct DigestInfo {
    digest_algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

#[derive(Sequence)]
struct SpcIndirectDataContent {
    _data: SpcAttributeTypeAndOptionalValue,
    message_digest: DigestInfo,
}

/// One certificate of the bag, by name only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    pub serial: String,
    /// Subject equals issuer (by name: the signature is not checked).
    pub self_signed: bool,
}

pub struct ParsedCert {
    pub summary: CertSummary,
    subject: Name,
    issuer: Name,
    serial: Vec<u8>,
    subject_key_id: Option<Vec<u8>>,
    pub subject_o: Option<String>,
}

pub struct ParsedSignature {
    pub digest_algorithm_oid: String,
    pub digest_algorithm: Option<DigestAlgorithm>,
    pub signed_digest: String,
    pub certs: Vec<ParsedCert>,
    /// Index into `certs` of the signer's certificate, if it is in the bag.
    pub signer: Option<usize>,
    /// DER of each nested signature's ContentInfo.
    pub nested: Vec<Vec<u8>>,
}

/// Decodes one DER value from the front of `bytes`; WIN_CERTIFICATE pads its
/// content with zeros to 8 bytes, so trailing bytes are expected.
fn content_info(bytes: &[u8]) -> der::Result<ContentInfo> {
    let mut reader = SliceReader::new(bytes)?;
    ContentInfo::decode(&mut reader)
}

pub fn parse_signature(bytes: &[u8]) -> Result<ParsedSignature, String> {
    let ci = content_info(bytes).map_err(|e| format!("expected PKCS#7 ContentInfo: {e}"))?;
    if ci.content_type != OID_SIGNED_DATA {
        return Err(format!(
            "expected SignedData content type, found {}",
            ci.content_type
        ));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| format!("expected SignedData: {e}"))?;
    let econtent_type = sd.encap_content_info.econtent_type;
    if econtent_type != OID_SPC_INDIRECT_DATA {
        return Err(format!(
            "expected SpcIndirectDataContent, found content type {econtent_type}"
        ));
    }
    let indirect: SpcIndirectDataContent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("SignedData has no encapsulated content")?
        .decode_as()
        .map_err(|e| format!("expected SpcIndirectDataContent: {e}"))?;
    let oid = indirect.message_digest.digest_algorithm.oid.to_string();

    let certs: Vec<ParsedCert> = sd
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(cert) => Some(parsed_cert(cert)),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();

    let signer_info = sd.signer_infos.0.iter().next();
    let signer = signer_info.and_then(|si| find_signer(&certs, si));
    let nested = signer_info.map(nested_signatures).unwrap_or_default();

    Ok(ParsedSignature {
        digest_algorithm: DigestAlgorithm::from_oid(&oid),
        digest_algorithm_oid: oid,
        signed_digest: hex(indirect.message_digest.digest.as_bytes()),
        certs,
        signer,
        nested,
    })
}

fn find_signer(certs: &[ParsedCert], si: &SignerInfo) -> Option<usize> {
    match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs
            .iter()
            .position(|c| c.issuer == ias.issuer && c.serial == ias.serial_number.as_bytes()),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs
            .iter()
            .position(|c| c.subject_key_id.as_deref() == Some(ski.0.as_bytes())),
    }
}

fn nested_signatures(si: &SignerInfo) -> Vec<Vec<u8>> {
    let Some(attrs) = &si.unsigned_attrs else {
        return Vec::new();
    };
    attrs
        .iter()
        .filter(|a| a.oid == OID_NESTED_SIGNATURE)
        .flat_map(|a| a.values.iter())
        .filter_map(|v| v.to_der().ok())
        .take(MAX_NESTED)
        .collect()
}

fn parsed_cert(cert: &Certificate) -> ParsedCert {
    let tbs = &cert.tbs_certificate;
    let subject_key_id = tbs.extensions.as_ref().and_then(|exts| {
        exts.iter()
            .find(|e| e.extn_id == OID_SUBJECT_KEY_ID)
            .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
            .map(|o| o.as_bytes().to_vec())
    });
    ParsedCert {
        summary: CertSummary {
            subject: dn::to_rfc4514(&tbs.subject),
            issuer: dn::to_rfc4514(&tbs.issuer),
            subject_cn: dn::attribute(&tbs.subject, dn::CN),
            issuer_cn: dn::attribute(&tbs.issuer, dn::CN),
            serial: hex(tbs.serial_number.as_bytes()),
            self_signed: tbs.subject == tbs.issuer,
        },
        subject_o: dn::attribute(&tbs.subject, dn::O),
        subject: tbs.subject.clone(),
        issuer: tbs.issuer.clone(),
        serial: tbs.serial_number.as_bytes().to_vec(),
        subject_key_id,
    }
}

impl ParsedSignature {
    /// Certificates from the signer up, each the issuer of the previous one
    /// found by name in the bag; stops at a self-issued certificate, a
    /// missing issuer or a repeat.
    pub fn chain(&self) -> Vec<usize> {
        let Some(mut at) = self.signer else {
            return Vec::new();
        };
        let mut chain = vec![at];
        while chain.len() <= self.certs.len() {
            let current = &self.certs[at];
            if current.subject == current.issuer {
                break;
            }
            let next = self.certs.iter().position(|c| c.subject == current.issuer);
            match next {
                Some(n) if !chain.contains(&n) => {
                    chain.push(n);
                    at = n;
                }
                _ => break,
            }
        }
        chain
    }
}
