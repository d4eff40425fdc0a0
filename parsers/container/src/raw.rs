//! Raw images: a plain `dd` image is the file itself; a split raw image (`x.001`,
//! `x.002`, … or `x.raw.001`, …) is its parts concatenated.
//!
//! Split naming: only numeric extensions of 3 to 6 digits are recognised (`x.001`,
//! `x.raw.001`, FTK's and `split -d -a 3 --numeric-suffixes=1` style), the set starting
//! at `.001` (or `.000`) and followed while the next number exists. The `split` default
//! letter suffixes (`xaa`, `.aa`) are not: a two-letter extension is too often something
//! else.

use std::sync::Arc;

use triage_source::{ByteSource, Location, Result, Siblings, Source, SourceError};

use crate::{Container, ContainerKind};

/// Parts followed at most (a 1 TiB image in 64 MiB parts is 16 384).
const MAX_PARTS: u64 = 100_000;

fn base_name(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// `("x.raw", 1, 3)` for `x.raw.001`: stem, part number, digit count.
fn split_name(name: &str) -> Option<(&str, u64, usize)> {
    let dot = name.rfind('.')?;
    let ext = &name[dot + 1..];
    if ext.len() < 3 || ext.len() > 6 || !ext.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&name[..dot], ext.parse().ok()?, ext.len()))
}

fn part_name(stem: &str, n: u64, width: usize) -> String {
    format!("{stem}.{n:0width$}")
}

/// Open a plain image or the first part of a split one.
pub fn open(file: Source, siblings: &dyn Siblings) -> Result<Container> {
    let name = base_name(file.location().last()).to_string();
    let plain = |file: Source| Container {
        kind: ContainerKind::Raw,
        disk: file,
        variant: "raw".into(),
        files: vec![name.clone()],
        facts: Vec::new(),
        warnings: Vec::new(),
    };
    let Some((stem, first, width)) = split_name(&name) else {
        return Ok(plain(file));
    };
    if first > 1 {
        return Ok(plain(file));
    }
    let mut parts = vec![file.clone()];
    let mut files = vec![name.clone()];
    let mut warnings = Vec::new();
    let mut n = first + 1;
    while n < first + MAX_PARTS {
        let pn = part_name(stem, n, width);
        match siblings.open(&pn) {
            Ok(Some(p)) => {
                parts.push(p);
                files.push(pn);
            }
            Ok(None) => break,
            Err(e) => {
                warnings.push(format!(
                    "part {pn} unreadable: {e}: the image ends before it"
                ));
                break;
            }
        }
        n += 1;
    }
    if parts.len() == 1 {
        return Ok(plain(file));
    }
    // A gap: a later part exists after the one that is missing.
    let later: Vec<String> = siblings
        .names()
        .into_iter()
        .filter(|s| split_name(s).is_some_and(|(st, k, _)| st.eq_ignore_ascii_case(stem) && k > n))
        .collect();
    if !later.is_empty() {
        warnings.push(format!(
            "part {} is missing: the image ends there ({} later parts not read)",
            part_name(stem, n, width),
            later.len()
        ));
    }
    let count = parts.len();
    let disk = SplitSource::new(file.location().clone(), parts);
    Ok(Container {
        kind: ContainerKind::Raw,
        disk: Arc::new(disk),
        variant: format!("split raw ({count} parts)"),
        files,
        facts: vec![("parts", count.to_string())],
        warnings,
    })
}

/// A `.002`, `.003`, … beside its `.001`: the first part reads it.
pub fn secondary_of(_file: &Source, name: &str, siblings: &dyn Siblings) -> Option<String> {
    let base = base_name(name);
    let (stem, n, width) = split_name(base)?;
    if n < 2 {
        return None;
    }
    let first = part_name(stem, 1, width);
    let found = siblings
        .names()
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(&first))?;
    Some(format!("part {n} of {found}"))
}

/// Parts read end to end as one source.
pub struct SplitSource {
    location: Location,
    parts: Vec<Source>,
    /// `starts[i]` is where part `i` begins; one more entry holds the total length.
    starts: Vec<u64>,
}

impl SplitSource {
    pub fn new(location: Location, parts: Vec<Source>) -> SplitSource {
        let mut starts = Vec::with_capacity(parts.len() + 1);
        let mut at = 0u64;
        for p in &parts {
            starts.push(at);
            at = at.saturating_add(p.len());
        }
        starts.push(at);
        SplitSource {
            location,
            parts,
            starts,
        }
    }
}

impl ByteSource for SplitSource {
    fn len(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    fn location(&self) -> &Location {
        &self.location
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.len() || buf.is_empty() {
            return Ok(0);
        }
        // The part holding `offset`: the last whose start is <= offset (empty parts
        // are skipped by taking the last such start).
        let i = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let (Some(part), Some(&start)) = (self.parts.get(i), self.starts.get(i)) else {
            return Ok(0);
        };
        let within = offset - start;
        let n = (buf.len() as u64).min(part.len() - within) as usize;
        match part.read_at(within, &mut buf[..n]) {
            Err(SourceError::Hole {
                offset: o,
                len,
                why,
                ..
            }) => Err(SourceError::Hole {
                location: self.location.clone(),
                offset: o.saturating_add(start),
                len,
                why,
            }),
            other => other,
        }
    }
}
