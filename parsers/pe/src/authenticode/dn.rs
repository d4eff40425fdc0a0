//! Distinguished names as RFC 4514 strings ("CN=…,O=…,C=…", most specific
//! first) and single attributes (CN, O) as text. Done here rather than with
//! x509-cert's `Display`, which looks every attribute type up by a linear
//! scan of const-oid's whole name database and dominated small files.

use der::asn1::ObjectIdentifier;
use der::{Any, Tag, Tagged};
use x509_cert::name::Name;

pub const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
pub const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");

const SHORT_NAMES: &[(ObjectIdentifier, &str)] = &[
    (CN, "CN"),
    (ObjectIdentifier::new_unwrap("2.5.4.4"), "SN"),
    (ObjectIdentifier::new_unwrap("2.5.4.5"), "serialNumber"),
    (ObjectIdentifier::new_unwrap("2.5.4.6"), "C"),
    (ObjectIdentifier::new_unwrap("2.5.4.7"), "L"),
    (ObjectIdentifier::new_unwrap("2.5.4.8"), "ST"),
    (ObjectIdentifier::new_unwrap("2.5.4.9"), "STREET"),
    (O, "O"),
    (ObjectIdentifier::new_unwrap("2.5.4.11"), "OU"),
    (ObjectIdentifier::new_unwrap("2.5.4.12"), "title"),
    (ObjectIdentifier::new_unwrap("2.5.4.17"), "postalCode"),
    (ObjectIdentifier::new_unwrap("2.5.4.42"), "GN"),
    (
        ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1"),
        "UID",
    ),
    (
        ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25"),
        "DC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1"),
        "emailAddress",
    ),
];

/// The text of a DirectoryString-like value.
pub fn directory_string(value: &Any) -> String {
    let bytes = value.value();
    match value.tag() {
        Tag::BmpString => {
            let words: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|w| u16::from_be_bytes([w[0], w[1]]))
                .collect();
            String::from_utf16_lossy(&words)
        }
        // UTF8String, PrintableString, IA5String, TeletexString (Latin
        // text in practice) and anything else: the bytes as UTF-8.
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// First value of attribute `oid` in the name, as text.
pub fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .map(|atv| directory_string(&atv.value))
}

fn escape_into(out: &mut String, value: &str) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

/// RFC 4514: RDNs in reverse order joined by ',', multi-valued RDNs by '+'.
pub fn to_rfc4514(name: &Name) -> String {
    let mut out = String::new();
    for (i, rdn) in name.0.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.0.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match SHORT_NAMES.iter().find(|(oid, _)| *oid == atv.oid) {
                Some((_, short)) => out.push_str(short),
                None => out.push_str(&atv.oid.to_string()),
            }
            out.push('=');
            escape_into(&mut out, &directory_string(&atv.value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use der::Decode;
    use x509_cert::name::Name;

    use super::to_rfc4514;

    #[test]
    fn agrees_with_x509_cert_display_and_escapes() {
        for s in [
            "CN=Microsoft Windows,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US",
            // A multi-valued RDN is a DER SET: written in sorted order.
            "OU=x+CN=a\\,b,O=\\#hash,C=DK",
        ] {
            let name: Name = s.parse().unwrap();
            let der = der::Encode::to_der(&name).unwrap();
            let name = Name::from_der(&der).unwrap();
            assert_eq!(to_rfc4514(&name), name.to_string());
            assert_eq!(to_rfc4514(&name), s);
        }
    }
}
