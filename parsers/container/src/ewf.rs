//! EWF (Expert Witness Format: EnCase `.E01`, SMART `.s01`) images.
//!
//! The section chain and chunk tables of every segment are walked here (tolerantly: a
//! truncated or missing segment leaves holes where its chunks were, it does not end
//! the image), and the chunks are inflated straight into the caller's buffer. The
//! pinned `ewf` crate parses the section records and the case metadata (header text),
//! and checks for us the layout it matched against libewf.
//!
//! Why not `ewf::EwfReader::read_at` for the data: it refuses a set with a missing
//! segment (`SegmentGap`), reports a corrupt chunk as an error without its offset, does
//! not check the adler32 of stored (uncompressed) chunks, and copies every chunk
//! through its cache twice. The segments are our own [`Source`]s, so an E01 inside
//! another image reads the same as one on disk.
//!
//! EWF2 (`.Ex01`) is not read yet: [`open`] says so (the crate reads it only from a
//! path, and libewf's 2014 tools here cannot write one to test against).

mod layout;
mod read;

use std::sync::Arc;

use triage_source::{Result, Siblings, Source, SourceError};

use crate::{Container, ContainerKind};
use layout::{segment_number, walk, Segment, EVF1, EVF2, LEF2, LVF1};
use read::{EwfDisk, Placement};

/// Segment files beside the first one, at most (E01..E99, EAA..ZZZ is 14 971).
const MAX_SEGMENTS: usize = 15_000;
/// Acquisition-error warnings listed one by one; the rest are counted.
const MAX_ERROR_WARNINGS: usize = 50;

/// The file name of a location's innermost part (a path on the examiner's disk).
fn base_name(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// `("host", "E01")` for `host.E01`.
fn split_ext(name: &str) -> Option<(&str, &str)> {
    let dot = name.rfind('.')?;
    Some((&name[..dot], &name[dot + 1..]))
}

/// Is `ext` a segment extension of the family of `first` (`E01`..`E99`, `EAA`..`ZZZ`;
/// `s01`..; `L01`..)? Case-insensitive.
fn is_segment_ext(first: &str, ext: &str) -> bool {
    let (f, e) = (first.as_bytes(), ext.as_bytes());
    if f.len() != 3 || e.len() != 3 {
        return false;
    }
    let (f0, e0) = (f[0].to_ascii_uppercase(), e[0].to_ascii_uppercase());
    let tail_digits = e[1].is_ascii_digit() && e[2].is_ascii_digit();
    let tail_letters = e[1].is_ascii_alphabetic() && e[2].is_ascii_alphabetic();
    (e0 == f0 && (tail_digits || tail_letters))
        || (e0.is_ascii_alphabetic() && e0 > f0 && tail_letters)
}

/// Open an EWF image from its first segment (`file`), finding the others through
/// `siblings` (same stem, `.E02` …, case-insensitive; ordered by the segment number in
/// each file's header, not by name).
pub fn open(file: Source, siblings: &dyn Siblings) -> Result<Container> {
    let loc = file.location().clone();
    let mut sig = [0u8; 8];
    let n = file.read_at(0, &mut sig)?;
    if n < 8 {
        return Err(SourceError::corrupt(
            &loc,
            "ewf header",
            0,
            "shorter than a file header",
        ));
    }
    if sig == EVF2 || sig == LEF2 {
        return Err(crate::unsupported(
            &file,
            "ewf",
            "EWF2 (Ex01/Lx01) segments",
        ));
    }
    if sig == LVF1 {
        return Err(crate::unsupported(
            &file,
            "ewf",
            "logical evidence (L01) is a file set, not a disk",
        ));
    }
    if sig != EVF1 {
        return Err(SourceError::corrupt(
            &loc,
            "ewf header",
            0,
            "no EVF signature",
        ));
    }
    let name = base_name(loc.last()).to_string();
    let (stem, ext) = split_ext(&name).unwrap_or((name.as_str(), "E01"));
    let (stem, ext) = (stem.to_string(), ext.to_string());

    let mut warnings = Vec::new();
    let mut segs: Vec<Segment> = Vec::new();
    let (n0, _) = segment_number(&*file).unwrap_or((1, false));
    segs.push(walk(n0, name.clone(), file.clone()));
    let mut names: Vec<String> = siblings
        .names()
        .into_iter()
        .filter(|s| !s.eq_ignore_ascii_case(&name))
        .filter(|s| {
            split_ext(s)
                .is_some_and(|(st, e)| st.eq_ignore_ascii_case(&stem) && is_segment_ext(&ext, e))
        })
        .collect();
    names.truncate(MAX_SEGMENTS);
    for s in names {
        let src = match siblings.open(&s) {
            Ok(Some(src)) => src,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(format!("segment {s} unreadable: {e}"));
                continue;
            }
        };
        // `image.vhd` fits the letter pattern too: only real segments count.
        if let Some((num, false)) = segment_number(&*src) {
            segs.push(walk(num, s, src));
        }
    }
    segs.sort_by_key(|s| s.number);
    segs.dedup_by(|b, a| {
        let dup = a.number == b.number;
        if dup {
            warnings.push(format!(
                "{} repeats segment {} of {}: ignored",
                b.name, a.number, a.name
            ));
        }
        dup
    });
    for s in &segs {
        warnings.extend(s.notes.iter().map(|n| format!("{}: {n}", s.name)));
    }

    let geo = segs.iter().find_map(|s| s.geometry).ok_or_else(|| {
        SourceError::corrupt(&loc, "ewf volume", 0, "no volume section in any segment")
    })?;
    let chunk_size = u64::from(geo.sectors_per_chunk) * u64::from(geo.bytes_per_sector);
    if chunk_size == 0 || chunk_size > 64 << 20 || geo.bytes_per_sector == 0 {
        return Err(SourceError::corrupt(
            &loc,
            "ewf volume",
            0,
            format!("chunk size {chunk_size} bytes"),
        ));
    }
    let mut len = u64::from(geo.bytes_per_sector).saturating_mul(geo.sector_count);
    if len == 0 {
        len = chunk_size.saturating_mul(u64::from(geo.chunk_count));
    }
    let total_chunks = len.div_ceil(chunk_size);

    let meta = metadata(&segs);
    let md5 = segs.iter().rev().find_map(|s| s.md5);
    let sha1 = segs.iter().rev().find_map(|s| s.sha1);
    let errors = segs
        .iter()
        .rev()
        .find_map(|s| s.error2.as_deref())
        .map(ewf::parse_error2_data)
        .unwrap_or_default();
    for (i, e) in errors.iter().enumerate() {
        if i == MAX_ERROR_WARNINGS {
            warnings.push(format!(
                "… and {} more acquisition read errors",
                errors.len() - i
            ));
            break;
        }
        warnings.push(format!(
            "acquisition read error: sectors {}-{} ({} sectors) were unreadable when imaged",
            e.first_sector,
            u64::from(e.first_sector) + u64::from(e.sector_count.max(1)) - 1,
            e.sector_count
        ));
    }

    let files: Vec<String> = segs.iter().map(|s| s.name.clone()).collect();
    let sources: Vec<Source> = segs.iter().map(|s| s.src.clone()).collect();
    let placement = Placement::new(&mut segs, total_chunks);
    warnings.extend(placement.warnings.iter().cloned());
    let disk = EwfDisk::new(loc, sources, placement, chunk_size, len);

    let mut facts: Vec<(&'static str, String)> = vec![
        ("chunk_size", chunk_size.to_string()),
        ("sectors", geo.sector_count.to_string()),
        ("bytes_per_sector", geo.bytes_per_sector.to_string()),
        ("segments", files.len().to_string()),
    ];
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    if let Some(m) = md5 {
        facts.push(("stored_md5", hex(&m)));
    }
    if let Some(s) = sha1 {
        facts.push(("stored_sha1", hex(&s)));
    }
    if let Some(m) = meta {
        for (k, v) in [
            ("case_number", m.case_number),
            ("evidence_number", m.evidence_number),
            ("examiner", m.examiner),
            ("description", m.description),
            ("notes", m.notes),
            ("acquired", m.acquiry_date.map(|d| date(&d))),
            ("acquisition_software", m.acquiry_software),
            ("acquisition_os", m.os_version),
        ] {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                facts.push((k, v));
            }
        }
    }
    let variant = if ext.to_ascii_uppercase().starts_with('S') {
        "EWF-S01"
    } else {
        "EWF-E01"
    };
    Ok(Container {
        kind: ContainerKind::Ewf,
        disk: Arc::new(disk),
        variant: variant.to_string(),
        files,
        facts,
        warnings,
    })
}

/// A header date as ISO text: EnCase's `2023 12 20 15 42 47` (the acquiring machine's
/// local time, no zone: kept without one) or a POSIX time (UTC, marked `Z`).
fn date(d: &str) -> String {
    let n: Vec<u64> = d
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match n[..] {
        [y, mo, da, h, mi, s] if n.len() == d.split_whitespace().count() => {
            format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02}")
        }
        [t] if t > 0 && t < 1 << 40 => {
            // Days to a civil date (Howard Hinnant's algorithm).
            let (days, secs) = ((t / 86400) as i64, t % 86400);
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let day = doy - (153 * mp + 2) / 5 + 1;
            let month = if mp < 10 { mp + 3 } else { mp - 9 };
            let year = yoe + era * 400 + i64::from(month <= 2);
            format!(
                "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
        _ => d.to_string(),
    }
}

/// Case metadata through the `ewf` crate, which reads it from the first segments; it
/// wants an unbroken run of segments from 1, so it gets that run (or segment 1 alone).
fn metadata(segs: &[Segment]) -> Option<ewf::EwfMetadata> {
    let run = segs
        .iter()
        .enumerate()
        .take_while(|(i, s)| s.number as usize == i + 1 && s.complete)
        .count();
    for take in [run, 1] {
        if take == 0 || take > segs.len() {
            continue;
        }
        let sources = segs[..take]
            .iter()
            .map(|s| ewf::SegmentSource::from_backing(Arc::new(Backing(s.src.clone()))))
            .collect();
        if let Ok(r) = ewf::EwfReader::open_lazy_from_sources(sources) {
            return Some(r.metadata().clone());
        }
    }
    None
}

/// Our source as the crate's segment backing.
struct Backing(Source);

impl ewf::SegmentBacking for Backing {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.0
            .read_at(offset, buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    }
    fn len(&self) -> u64 {
        self.0.len()
    }
}

/// A segment other than the first (its header's segment number is not 1) with the first
/// segment beside it: skip it as an input of its own, the first segment reads it. When the
/// first segment is missing this is `None`, so the set is still opened (from this one).
pub fn secondary_of(file: &Source, name: &str, siblings: &dyn Siblings) -> Option<String> {
    let (num, _) = segment_number(&**file)?;
    if num == 1 {
        return None;
    }
    let base = base_name(name);
    let (stem, ext) = split_ext(base).unwrap_or((base, "E01"));
    // `.FAA` follows `.EZZ`: the first segment of a late one is still `.E01`.
    let family = ext
        .chars()
        .next()
        .filter(|c| c.is_ascii_alphabetic())
        .unwrap_or('E');
    let names = siblings.names();
    let first = [family, 'E', 's', 'L'].iter().find_map(|f| {
        let guess = format!("{stem}.{f}01");
        names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(&guess))
            .cloned()
    })?;
    Some(format!("segment {num} of {first}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dates_read_as_iso() {
        assert_eq!(date("2023 12 20 15 42 47"), "2023-12-20 15:42:47");
        // 2009-02-13 23:31:30 UTC, as `date -u -d @1234567890` says.
        assert_eq!(date("1234567890"), "2009-02-13 23:31:30Z");
        assert_eq!(date("yesterday"), "yesterday");
    }

    #[test]
    fn segment_extensions() {
        for e in ["E01", "e02", "E99", "EAA", "EZZ", "FAA"] {
            assert!(is_segment_ext("E01", e), "{e}");
        }
        // (`raw`, `vhd` fit the RAA..ZZZ range: the segment header decides those.)
        for e in ["E1", "E0A", "vmdk", "E1A"] {
            assert!(!is_segment_ext("E01", e), "{e}");
        }
    }
}
