//! Runlists (mapping pairs): which clusters of the volume hold which clusters of an
//! attribute. Every run is bounded by the volume and the attribute's allocated size.

/// One run: `len` clusters starting at attribute cluster `vcn`, at volume cluster `lcn`
/// (`None` = sparse: reads as zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub vcn: u64,
    pub len: u64,
    pub lcn: Option<u64>,
}

/// Runs decoded from all of an attribute's extents are at most this many: a hostile
/// runlist of two-byte runs across thousands of extension records stays bounded.
pub(crate) const MAX_RUNS: usize = 1 << 20;

/// Decode one extent's mapping pairs starting at `start_vcn`. `total_clusters` is the
/// volume size in clusters (0 = unknown, a bare `$MFT` file). Errors name the byte
/// offset inside the runlist.
pub(crate) fn decode(
    bytes: &[u8],
    start_vcn: u64,
    total_clusters: u64,
    out: &mut Vec<Run>,
) -> Result<(), String> {
    let mut pos = 0usize;
    let mut vcn = start_vcn;
    let mut lcn: i64 = 0;
    loop {
        let Some(&head) = bytes.get(pos) else {
            return Ok(()); // ran to the end of the attribute without a terminator
        };
        if head == 0 {
            return Ok(());
        }
        let len_size = (head & 0x0F) as usize;
        let off_size = (head >> 4) as usize;
        if len_size == 0 || len_size > 8 || off_size > 8 {
            return Err(format!("run header {head:#04x} at runlist byte {pos}"));
        }
        let Some(field) = bytes.get(pos + 1..pos + 1 + len_size + off_size) else {
            return Err(format!("run at runlist byte {pos} is truncated"));
        };
        let len = le_unsigned(&field[..len_size]);
        if len == 0 || len > i64::MAX as u64 {
            return Err(format!("run at runlist byte {pos} has length {len}"));
        }
        let this = if off_size == 0 {
            None
        } else {
            let delta = le_signed(&field[len_size..]);
            lcn = lcn
                .checked_add(delta)
                .filter(|l| *l >= 0)
                .ok_or_else(|| format!("run at runlist byte {pos} points before the volume"))?;
            let start = lcn as u64;
            if total_clusters != 0
                && start
                    .checked_add(len)
                    .is_none_or(|end| end > total_clusters)
            {
                return Err(format!(
                    "run at runlist byte {pos} (LCN {start:#x}, {len} clusters) points past the end of the volume ({total_clusters} clusters)"
                ));
            }
            Some(start)
        };
        if out.len() >= MAX_RUNS {
            return Err(format!("more than {MAX_RUNS} runs"));
        }
        out.push(Run {
            vcn,
            len,
            lcn: this,
        });
        vcn = vcn
            .checked_add(len)
            .ok_or_else(|| format!("run at runlist byte {pos}: VCN overflows"))?;
        pos += 1 + len_size + off_size;
    }
}

fn le_unsigned(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64)
}

fn le_signed(b: &[u8]) -> i64 {
    let v = le_unsigned(b);
    let bits = b.len() * 8;
    if bits == 0 || bits >= 64 {
        return v as i64;
    }
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Pairs of runs that use the same volume clusters (a crafted runlist that maps one
/// cluster twice, or into the `$MFT`): `(i, j)` indexes into `a` and `b`.
pub(crate) fn overlaps(a: &[Run], b: &[Run]) -> Option<(usize, usize)> {
    // Run lists are short; the $MFT's is a handful. Quadratic with a cap is fine.
    for (i, x) in a.iter().enumerate().take(4096) {
        let Some(xs) = x.lcn else { continue };
        for (j, y) in b.iter().enumerate().take(4096) {
            let Some(ys) = y.lcn else { continue };
            if xs < ys.saturating_add(y.len) && ys < xs.saturating_add(x.len) {
                return Some((i, j));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_sparse_and_negative_deltas() {
        // 0x21: len 1 byte, off 2 bytes. run1: 0x10 clusters at 0x1000; sparse 8; run3: 4 at 0x1000-0x10
        let b = [
            0x21, 0x10, 0x00, 0x10, 0x01, 0x08, 0x21, 0x04, 0xF0, 0xFF, 0x00,
        ];
        let mut v = Vec::new();
        decode(&b, 0, 0x10000, &mut v).unwrap();
        assert_eq!(
            v,
            vec![
                Run {
                    vcn: 0,
                    len: 0x10,
                    lcn: Some(0x1000)
                },
                Run {
                    vcn: 0x10,
                    len: 8,
                    lcn: None
                },
                Run {
                    vcn: 0x18,
                    len: 4,
                    lcn: Some(0xFF0)
                },
            ]
        );
    }

    #[test]
    fn refuses_runs_past_the_volume_and_before_it() {
        let mut v = Vec::new();
        let e = decode(&[0x21, 0x10, 0x00, 0x10, 0x00], 0, 0x100, &mut v).unwrap_err();
        assert!(e.contains("past the end"), "{e}");
        let e = decode(&[0x11, 0x10, 0x80, 0x00], 0, 0, &mut v).unwrap_err();
        assert!(e.contains("before the volume"), "{e}");
    }
}
