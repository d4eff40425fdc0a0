//! The VMDK descriptor: `key = "value"` lines and extent lines, from a text file or the
//! descriptor area of a sparse file.

use triage_source::{ByteSource, Result};

const MAX_EXTENTS: usize = 4096;
pub(super) const MAX_DESCRIPTOR: u64 = 1 << 20;
/// One extent line of a descriptor.
#[derive(Debug, Clone)]
pub(super) struct ExtentLine {
    pub(super) access: String,
    pub(super) sectors: u64,
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) offset: u64,
}

/// A parsed descriptor.
#[derive(Debug, Default)]
pub(super) struct Descriptor {
    pub(super) create_type: Option<String>,
    pub(super) cid: Option<String>,
    pub(super) parent_cid: Option<String>,
    pub(super) parent_hint: Option<String>,
    pub(super) extents: Vec<ExtentLine>,
}

pub(super) fn parse_descriptor(text: &str) -> Descriptor {
    let mut d = Descriptor::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(e) = parse_extent_line(line) {
            if d.extents.len() < MAX_EXTENTS {
                d.extents.push(e);
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "createType" => d.create_type = Some(v),
            "CID" => d.cid = Some(v),
            "parentCID" => d.parent_cid = Some(v),
            "parentFileNameHint" => d.parent_hint = Some(v),
            _ => {}
        }
    }
    d
}

/// `ACCESS SECTORS TYPE "NAME" [OFFSET]`.
pub(super) fn parse_extent_line(line: &str) -> Option<ExtentLine> {
    let (access, rest) = token(line);
    if !matches!(access, "RW" | "RDONLY" | "NOACCESS") {
        return None;
    }
    let (sectors, rest) = token(rest);
    let sectors: u64 = sectors.parse().ok()?;
    let (kind, rest) = token(rest);
    let kind = kind.to_ascii_uppercase();
    let rest = rest.trim();
    let (name, tail) = if let Some(r) = rest.strip_prefix('"') {
        let end = r.find('"')?;
        (r[..end].to_string(), r[end + 1..].trim())
    } else {
        (String::new(), rest)
    };
    let offset = tail
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Some(ExtentLine {
        access: access.to_string(),
        sectors,
        kind,
        name,
        offset,
    })
}

/// The first whitespace-separated token of `s`, and the rest.
pub(super) fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    s.split_at(s.find(char::is_whitespace).unwrap_or(s.len()))
}

/// Descriptor text, bounded, cut at the first NUL.
pub(super) fn read_text(file: &dyn ByteSource, off: u64, len: u64) -> Result<String> {
    let len = len.min(MAX_DESCRIPTOR).min(file.len().saturating_sub(off));
    let mut b = vec![0u8; len as usize];
    triage_source::read_exact_at(file, off, &mut b)?;
    if let Some(z) = b.iter().position(|&c| c == 0) {
        b.truncate(z);
    }
    Ok(String::from_utf8_lossy(&b).into_owned())
}

pub(super) fn looks_like_descriptor(text: &str) -> bool {
    text.contains("createType") || text.lines().any(|l| parse_extent_line(l.trim()).is_some())
}
