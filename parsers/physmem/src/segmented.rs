//! The one address-space implementation every container reduces to.

use serde::Serialize;

use crate::{ContainerKind, CrashDumpHeader, PhysicalMemory, Range, ReadOutcome, PAGE_SIZE};

/// `len` bytes of physical memory at `paddr`, stored at `file_offset` in the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub paddr: u64,
    pub file_offset: u64,
    pub len: u64,
}

impl Segment {
    fn end(&self) -> u64 {
        self.paddr + self.len
    }
}

/// A physical address space made of segments of a byte container (a memory map, a `Vec`,
/// or a borrowed slice). Never copies the container.
pub struct SegmentedMemory<D> {
    data: D,
    kind: ContainerKind,
    segments: Vec<Segment>,
    ranges: Vec<Range>,
    header: Option<CrashDumpHeader>,
    warnings: Vec<String>,
}

impl<D: AsRef<[u8]>> SegmentedMemory<D> {
    /// Builds the address space. Segments reaching past the end of the data are cut
    /// (with a warning); overlapping segments keep the first (lowest file offset wins
    /// ties by input order); adjacent segments contiguous in the file are merged.
    pub fn new(
        data: D,
        kind: ContainerKind,
        mut segments: Vec<Segment>,
        header: Option<CrashDumpHeader>,
        mut warnings: Vec<String>,
    ) -> Self {
        let file_len = data.as_ref().len() as u64;
        let mut kept: Vec<Segment> = Vec::with_capacity(segments.len());
        segments.retain(|s| s.len > 0);
        segments.sort_by_key(|s| s.paddr);
        for mut s in segments {
            if s.paddr.checked_add(s.len).is_none() {
                warnings.push(format!(
                    "segment at physical {:#x} with length {:#x} overflows the address space; dropped",
                    s.paddr, s.len
                ));
                continue;
            }
            let available = file_len.saturating_sub(s.file_offset);
            if available < s.len {
                warnings.push(format!(
                    "file offset {:#x}: segment for physical {:#x} needs {:#x} bytes, file has {:#x}; truncated",
                    s.file_offset, s.paddr, s.len, available
                ));
                s.len = available;
                if s.len == 0 {
                    continue;
                }
            }
            if let Some(prev) = kept.last_mut() {
                if s.paddr < prev.end() {
                    let overlap = prev.end() - s.paddr;
                    if overlap >= s.len {
                        warnings.push(format!(
                            "segment at physical {:#x} is inside an earlier one; dropped",
                            s.paddr
                        ));
                        continue;
                    }
                    warnings.push(format!(
                        "segment at physical {:#x} overlaps an earlier one by {:#x} bytes; trimmed",
                        s.paddr, overlap
                    ));
                    s.paddr += overlap;
                    s.file_offset += overlap;
                    s.len -= overlap;
                }
                if prev.end() == s.paddr && prev.file_offset + prev.len == s.file_offset {
                    prev.len += s.len;
                    continue;
                }
            }
            kept.push(s);
        }
        let mut ranges: Vec<Range> = Vec::new();
        for s in &kept {
            match ranges.last_mut() {
                Some(r) if r.end == s.paddr => r.end = s.end(),
                _ => ranges.push(Range {
                    start: s.paddr,
                    end: s.end(),
                }),
            }
        }
        SegmentedMemory {
            data,
            kind,
            segments: kept,
            ranges,
            header,
            warnings,
        }
    }

    /// Whether any physical byte is present.
    pub fn has_data(&self) -> bool {
        !self.ranges.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn data(&self) -> &[u8] {
        self.data.as_ref()
    }

    fn segment_index_at_or_after(&self, paddr: u64) -> usize {
        self.segments.partition_point(|s| s.end() <= paddr)
    }
}

impl<D: AsRef<[u8]> + Send + Sync> PhysicalMemory for SegmentedMemory<D> {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> ReadOutcome {
        let data = self.data.as_ref();
        let want_end = paddr.saturating_add(buf.len() as u64);
        let mut holes: Vec<Range> = Vec::new();
        let mut add_hole = |start: u64, end: u64| match holes.last_mut() {
            Some(h) if h.end == start => h.end = end,
            _ => holes.push(Range { start, end }),
        };
        let mut cursor = paddr;
        let mut any_present = false;
        let mut i = self.segment_index_at_or_after(paddr);
        while cursor < want_end {
            let buf_pos = (cursor - paddr) as usize;
            match self.segments.get(i) {
                Some(s) if s.paddr <= cursor => {
                    let stop = want_end.min(s.end());
                    let n = (stop - cursor) as usize;
                    let from = (s.file_offset + (cursor - s.paddr)) as usize;
                    // Segments were clamped to the data in `new`, so this slice exists.
                    match (data.get(from..from + n), buf.get_mut(buf_pos..buf_pos + n)) {
                        (Some(src), Some(dst)) => {
                            dst.copy_from_slice(src);
                            any_present = true;
                        }
                        (_, Some(dst)) => {
                            dst.fill(0);
                            add_hole(cursor, stop);
                        }
                        _ => {}
                    }
                    cursor = stop;
                    i += 1;
                }
                next => {
                    let stop = next.map(|s| s.paddr.min(want_end)).unwrap_or(want_end);
                    let n = (stop - cursor) as usize;
                    if let Some(dst) = buf.get_mut(buf_pos..buf_pos + n) {
                        dst.fill(0);
                    }
                    add_hole(cursor, stop);
                    cursor = stop;
                }
            }
        }
        // A read running past the top of the address space: the unreachable tail is a hole.
        let reachable = (want_end - paddr) as usize;
        let tail_missing = reachable < buf.len();
        if tail_missing {
            if let Some(dst) = buf.get_mut(reachable..) {
                dst.fill(0);
            }
        }
        if holes.is_empty() && !tail_missing {
            ReadOutcome::Full
        } else if any_present {
            ReadOutcome::Partial { holes }
        } else {
            ReadOutcome::Absent
        }
    }

    fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    fn page(&self, paddr: u64) -> Option<&[u8]> {
        let start = paddr & !(PAGE_SIZE - 1);
        let s = self.segments.get(self.segment_index_at_or_after(start))?;
        if s.paddr > start || s.end() < start.checked_add(PAGE_SIZE)? {
            return None;
        }
        let from = usize::try_from(s.file_offset + (start - s.paddr)).ok()?;
        self.data
            .as_ref()
            .get(from..from.checked_add(PAGE_SIZE as usize)?)
    }

    fn kind(&self) -> ContainerKind {
        self.kind
    }

    fn crash_header(&self) -> Option<&CrashDumpHeader> {
        self.header.as_ref()
    }

    fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_runs() -> SegmentedMemory<Vec<u8>> {
        let mut data = vec![0u8; 3 * 4096];
        data[..4096].fill(0xAA);
        data[4096..8192].fill(0xBB);
        data[8192..].fill(0xCC);
        let segs = vec![
            Segment {
                paddr: 0x5000,
                file_offset: 0x1000,
                len: 0x2000,
            },
            Segment {
                paddr: 0x0,
                file_offset: 0x0,
                len: 0x1000,
            },
        ];
        SegmentedMemory::new(data, ContainerKind::Raw, segs, None, vec![])
    }

    #[test]
    fn hole_reads_as_absent_not_zero() {
        let m = two_runs();
        let mut buf = [0xFFu8; 16];
        assert_eq!(m.read(0x2000, &mut buf), ReadOutcome::Absent);
        assert_eq!(buf, [0u8; 16]);
    }

    #[test]
    fn partial_read_lists_the_hole() {
        let m = two_runs();
        let mut buf = vec![0u8; 0x2000];
        let out = m.read(0x4000, &mut buf);
        assert_eq!(
            out,
            ReadOutcome::Partial {
                holes: vec![Range {
                    start: 0x4000,
                    end: 0x5000
                }]
            }
        );
        assert!(buf[..0x1000].iter().all(|&b| b == 0));
        assert!(buf[0x1000..].iter().all(|&b| b == 0xBB));
    }

    #[test]
    fn read_spanning_segments_is_full() {
        let m = two_runs();
        let mut buf = [0u8; 2];
        assert_eq!(m.read(0x5FFF, &mut buf), ReadOutcome::Full);
        assert_eq!(buf, [0xBB, 0xCC]);
    }

    #[test]
    fn ranges_are_sorted_and_page_borrows() {
        let m = two_runs();
        assert_eq!(
            m.ranges(),
            &[
                Range {
                    start: 0,
                    end: 0x1000
                },
                Range {
                    start: 0x5000,
                    end: 0x7000
                }
            ]
        );
        assert_eq!(m.page(0x6123).map(|p| p[0]), Some(0xCC));
        assert!(m.page(0x3000).is_none());
        assert_eq!(crate::hole_summary(&m), (1, 0x4000));
    }

    #[test]
    fn segment_past_end_of_file_is_truncated_with_warning() {
        let segs = vec![Segment {
            paddr: 0,
            file_offset: 0,
            len: 0x10_0000,
        }];
        let m = SegmentedMemory::new(vec![1u8; 0x1800], ContainerKind::Raw, segs, None, vec![]);
        assert_eq!(
            m.ranges(),
            &[Range {
                start: 0,
                end: 0x1800
            }]
        );
        assert_eq!(m.warnings().len(), 1);
        assert!(m.page(0x1000).is_none(), "half page is not a whole page");
    }

    #[test]
    fn read_at_top_of_address_space_does_not_overflow() {
        let m = two_runs();
        let mut buf = [0u8; 32];
        assert_eq!(m.read(u64::MAX - 8, &mut buf), ReadOutcome::Absent);
    }

    #[test]
    fn overlapping_segments_are_trimmed() {
        let segs = vec![
            Segment {
                paddr: 0,
                file_offset: 0,
                len: 0x2000,
            },
            Segment {
                paddr: 0x1000,
                file_offset: 0x2000,
                len: 0x2000,
            },
            Segment {
                paddr: u64::MAX - 10,
                file_offset: 0,
                len: 100,
            },
        ];
        let m = SegmentedMemory::new(vec![0u8; 0x4000], ContainerKind::Raw, segs, None, vec![]);
        assert_eq!(
            m.ranges(),
            &[Range {
                start: 0,
                end: 0x3000
            }]
        );
        assert_eq!(m.warnings().len(), 2);
    }
}
