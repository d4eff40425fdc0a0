//! LiME: a sequence of 32-byte range headers (`EMiL`, version 1, start, inclusive end,
//! 8 reserved bytes), each followed by the range's bytes.

use crate::bytes::{u32_at, u64_at};
use crate::detect::LIME_MAGIC;
use crate::{ContainerKind, PhysmemError, Result, Segment, SegmentedMemory};

const HEADER_LEN: u64 = 32;

pub fn parse_lime<D: AsRef<[u8]>>(data: D) -> Result<SegmentedMemory<D>> {
    let bytes = data.as_ref();
    let file_len = bytes.len() as u64;
    let mut segments = Vec::new();
    let mut warnings = Vec::new();
    let mut offset = 0u64;
    // Every iteration advances by at least 33 bytes, so the loop ends with the file.
    while offset < file_len {
        let at = offset as usize;
        let (Some(magic), Some(version), Some(start), Some(end)) = (
            u32_at(bytes, at),
            u32_at(bytes, at + 4),
            u64_at(bytes, at + 8),
            u64_at(bytes, at + 16),
        ) else {
            warnings.push(format!(
                "offset {offset:#x}: trailing {} bytes are not a LiME header",
                file_len - offset
            ));
            break;
        };
        if magic != LIME_MAGIC {
            let err = PhysmemError::BadSignature {
                offset,
                expected: "LiME magic EMiL",
                found: magic.to_le_bytes().to_vec(),
            };
            if segments.is_empty() {
                return Err(err);
            }
            warnings.push(err.to_string());
            break;
        }
        if version != 1 {
            return Err(PhysmemError::Unsupported {
                offset: offset + 4,
                what: "LiME version",
                value: version as u64,
            });
        }
        let Some(len) = end.checked_sub(start).and_then(|l| l.checked_add(1)) else {
            return Err(PhysmemError::CountTooLarge {
                offset: offset + 16,
                what: "LiME range end below start",
                value: end,
                bound: start,
            });
        };
        let data_at = offset + HEADER_LEN;
        segments.push(Segment {
            paddr: start,
            file_offset: data_at,
            len,
        });
        match data_at.checked_add(len) {
            Some(next) => offset = next,
            None => break,
        }
    }
    let mem = SegmentedMemory::new(data, ContainerKind::Lime, segments, None, warnings);
    if !mem.has_data() {
        return Err(PhysmemError::Empty);
    }
    Ok(mem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PhysicalMemory, Range, ReadOutcome};

    pub(crate) fn lime_range(out: &mut Vec<u8>, start: u64, data: &[u8]) {
        out.extend_from_slice(b"EMiL");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&(start + data.len() as u64 - 1).to_le_bytes());
        out.extend_from_slice(&[0u8; 8]);
        out.extend_from_slice(data);
    }

    #[test]
    fn two_ranges_with_a_hole() {
        let mut f = Vec::new();
        lime_range(&mut f, 0, &[1u8; 0x1000]);
        lime_range(&mut f, 0x10_0000, &[2u8; 0x2000]);
        let m = parse_lime(f).unwrap();
        assert_eq!(
            m.ranges(),
            &[
                Range {
                    start: 0,
                    end: 0x1000
                },
                Range {
                    start: 0x10_0000,
                    end: 0x10_2000
                }
            ]
        );
        let mut b = [0u8; 4];
        assert_eq!(
            m.read(0x10_1ffe, &mut b),
            ReadOutcome::Partial {
                holes: vec![Range {
                    start: 0x10_2000,
                    end: 0x10_2002
                }]
            }
        );
        assert_eq!(b, [2, 2, 0, 0]);
    }

    #[test]
    fn truncated_last_range_is_kept_partially() {
        let mut f = Vec::new();
        lime_range(&mut f, 0x1000, &[7u8; 0x2000]);
        f.truncate(32 + 0x1800);
        let m = parse_lime(f).unwrap();
        assert_eq!(
            m.ranges(),
            &[Range {
                start: 0x1000,
                end: 0x2800
            }]
        );
        assert!(!m.warnings().is_empty());
    }

    #[test]
    fn end_before_start_is_an_error() {
        let mut f = Vec::new();
        lime_range(&mut f, 0x5000, &[0u8; 16]);
        f[16..24].copy_from_slice(&0x10u64.to_le_bytes());
        assert!(matches!(
            parse_lime(f),
            Err(PhysmemError::CountTooLarge { .. })
        ));
    }
}
