//! VS_VERSIONINFO (the RT_VERSION resource): the VS_FIXEDFILEINFO numbers and
//! the first StringFileInfo string table, whatever its language.
//!
//! Every node is `wLength, wValueLength, wType, szKey (UTF-16, NUL), pad to
//! 4, Value, pad to 4, Children`; a child never extends past its parent, and
//! a node of length 0 ends the walk of its siblings.

use serde::Serialize;

use crate::bytes::{u16_at, u32_at};

const FIXED_SIGNATURE: u32 = 0xfeef_04bd;
const MAX_CHILDREN: usize = 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VersionString {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// dwFileVersionMS/LS from VS_FIXEDFILEINFO as "a.b.c.d".
    pub fixed_file_version: Option<String>,
    pub fixed_product_version: Option<String>,
    /// Key of the string table used, e.g. "040904b0" (language + code page).
    pub string_table: Option<String>,
    pub original_filename: Option<String>,
    pub internal_name: Option<String>,
    pub company_name: Option<String>,
    pub file_description: Option<String>,
    pub product_name: Option<String>,
    pub file_version: Option<String>,
    pub product_version: Option<String>,
    /// Every string of the table, in file order.
    pub strings: Vec<VersionString>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    start: usize,
    end: usize,
    value_len: usize,
    key_end: usize,
    value_start: usize,
}

fn align4(x: usize) -> usize {
    x.saturating_add(3) & !3
}

/// `blob` offsets are relative to the resource start, which is what the
/// 32-bit alignment rule of the format is relative to as well.
fn node_at(blob: &[u8], start: usize, parent_end: usize) -> Option<Node> {
    let length = usize::from(u16_at(blob, start)?);
    if length < 6 {
        return None;
    }
    let end = start.checked_add(length)?.min(parent_end);
    let value_len = usize::from(u16_at(blob, start + 2)?);
    let mut key_end = start + 6;
    while key_end + 2 <= end && u16_at(blob, key_end)? != 0 {
        key_end += 2;
    }
    let value_start = align4(key_end + 2);
    Some(Node {
        start,
        end,
        value_len,
        key_end,
        value_start,
    })
}

fn utf16(blob: &[u8], from: usize, to: usize) -> String {
    let words: Vec<u16> = blob
        .get(from..to.min(blob.len()))
        .unwrap_or(&[])
        .chunks_exact(2)
        .map(|w| u16::from_le_bytes([w[0], w[1]]))
        .take_while(|&w| w != 0)
        .collect();
    String::from_utf16_lossy(&words)
}

fn key(blob: &[u8], n: &Node) -> String {
    utf16(blob, n.start + 6, n.key_end)
}

fn children(blob: &[u8], n: &Node, first: usize) -> Vec<Node> {
    let mut out = Vec::new();
    let mut at = align4(first);
    while at + 6 <= n.end && out.len() < MAX_CHILDREN {
        let Some(child) = node_at(blob, at, n.end) else {
            break;
        };
        at = align4(child.end);
        out.push(child);
    }
    out
}

fn version_numbers(blob: &[u8], at: usize) -> Option<String> {
    let ms = u32_at(blob, at)?;
    let ls = u32_at(blob, at + 4)?;
    Some(format!(
        "{}.{}.{}.{}",
        ms >> 16,
        ms & 0xffff,
        ls >> 16,
        ls & 0xffff
    ))
}

/// Parses the resource bytes; damage is reported as a message and whatever
/// was read before it is kept.
pub fn parse_version_info(blob: &[u8]) -> Result<VersionInfo, String> {
    let root = node_at(blob, 0, blob.len()).ok_or("expected a VS_VERSIONINFO header")?;
    if key(blob, &root) != "VS_VERSION_INFO" {
        return Err(format!(
            "expected key VS_VERSION_INFO, found {:?}",
            key(blob, &root)
        ));
    }
    let mut info = VersionInfo::default();
    let fixed = root.value_start;
    if root.value_len >= 52 && u32_at(blob, fixed) == Some(FIXED_SIGNATURE) {
        info.fixed_file_version = version_numbers(blob, fixed + 8);
        info.fixed_product_version = version_numbers(blob, fixed + 16);
    }
    let first_child = root.value_start.saturating_add(root.value_len);
    for file_info in children(blob, &root, first_child) {
        if key(blob, &file_info) != "StringFileInfo" {
            continue;
        }
        // StringFileInfo and StringTable carry no value; their children start
        // right after the key.
        let Some(table) = children(blob, &file_info, file_info.value_start)
            .into_iter()
            .next()
        else {
            continue;
        };
        info.string_table = Some(key(blob, &table));
        for s in children(blob, &table, table.value_start) {
            let name = key(blob, &s);
            // wValueLength counts UTF-16 units, but some linkers store bytes:
            // read up to the NUL, at most wValueLength units and never past the
            // node. 0 means no value (as for Windows and pefile).
            let max_end = s
                .value_start
                .saturating_add(s.value_len.saturating_mul(2))
                .min(s.end);
            let value = utf16(blob, s.value_start, max_end);
            info.strings.push(VersionString { key: name, value });
        }
        break;
    }
    for s in &info.strings {
        let slot = match s.key.as_str() {
            "OriginalFilename" => &mut info.original_filename,
            "InternalName" => &mut info.internal_name,
            "CompanyName" => &mut info.company_name,
            "FileDescription" => &mut info.file_description,
            "ProductName" => &mut info.product_name,
            "FileVersion" => &mut info.file_version,
            "ProductVersion" => &mut info.product_version,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(s.value.clone());
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::parse_version_info;

    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    fn pad4(v: &mut Vec<u8>) {
        while v.len() & 3 != 0 {
            v.push(0);
        }
    }

    /// One node: header, key, padding, value, padding, children; wLength
    /// patched in at the end.
    fn node(
        key: &str,
        value_len_field: u16,
        value_type: u16,
        value: &[u8],
        children: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut n = vec![0, 0];
        n.extend(value_len_field.to_le_bytes());
        n.extend(value_type.to_le_bytes());
        n.extend(utf16z(key));
        pad4(&mut n);
        n.extend(value);
        for c in children {
            pad4(&mut n);
            n.extend(c);
        }
        let len = n.len() as u16;
        n[0..2].copy_from_slice(&len.to_le_bytes());
        n
    }

    fn blob(strings: &[Vec<u8>]) -> Vec<u8> {
        let mut fixed = Vec::new();
        for v in [
            0xfeef_04bdu32,
            0x0001_0000,
            0x000a_0000,
            0x4a61_0001,
            0x000a_0000,
            0x4a61_0001,
        ] {
            fixed.extend(v.to_le_bytes());
        }
        fixed.resize(52, 0);
        let table = node("040904B0", 0, 1, &[], strings);
        let sfi = node("StringFileInfo", 0, 1, &[], &[table]);
        node("VS_VERSION_INFO", 52, 0, &fixed, &[sfi])
    }

    #[test]
    fn reads_values_whatever_wvaluelength_says() {
        let good = node("OriginalFilename", 9, 1, &utf16z("smss.exe"), &[]);
        // Some linkers store the length in bytes; 0 means "no value" even
        // if text follows (VerQueryValue and pefile read nothing either).
        let bytes = node("CompanyName", 44, 1, &utf16z("Microsoft Corporation"), &[]);
        let zero = node("InternalName", 0, 1, &utf16z("smss"), &[]);
        let v = parse_version_info(&blob(&[good, bytes, zero])).unwrap();
        assert_eq!(v.fixed_file_version.as_deref(), Some("10.0.19041.1"));
        assert_eq!(v.string_table.as_deref(), Some("040904B0"));
        assert_eq!(v.original_filename.as_deref(), Some("smss.exe"));
        assert_eq!(v.company_name.as_deref(), Some("Microsoft Corporation"));
        assert_eq!(v.internal_name.as_deref(), Some(""));
        assert_eq!(v.strings.len(), 3);
    }

    #[test]
    fn damaged_blobs_give_errors_or_partial_results() {
        let full = blob(&[node("OriginalFilename", 9, 1, &utf16z("smss.exe"), &[])]);
        assert!(parse_version_info(&full[..4]).is_err());
        for cut in 0..full.len() {
            let _ = parse_version_info(&full[..cut]);
        }
        // A child claiming more bytes than its parent is cut at the parent.
        let mut long = full.clone();
        let key = utf16z("OriginalFilename");
        let at = long
            .windows(key.len())
            .position(|w| w == key.as_slice())
            .unwrap()
            - 6;
        long[at..at + 2].copy_from_slice(&0xffffu16.to_le_bytes());
        let v = parse_version_info(&long).unwrap();
        assert_eq!(v.original_filename.as_deref(), Some("smss.exe"));
        let mut wrong_key = full;
        wrong_key[6] = b'X';
        assert!(parse_version_info(&wrong_key)
            .unwrap_err()
            .contains("VS_VERSION_INFO"));
    }
}
