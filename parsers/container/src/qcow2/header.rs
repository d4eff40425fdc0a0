//! The qcow2 header: fields, feature bits (refusing what we cannot read), header
//! extensions, the backing file name, the L1 table and the internal snapshot names.

use triage_source::{Result, Source, SourceError};

use super::{be32, be64, LAYER};

/// qemu's own limit on the L1 table (32 MiB).
const MAX_L1_ENTRIES: u64 = 32 * 1024 * 1024 / 8;
const MAX_SNAPSHOTS: u32 = 65536;

/// The parsed header of one qcow2 file.
pub(super) struct Header {
    pub(super) version: u32,
    /// Compressed clusters are zstd frames (compression type 1), not raw deflate.
    pub(super) zstd: bool,
    pub(super) cluster_bits: u32,
    pub(super) size: u64,
    pub(super) l1: Vec<u64>,
    pub(super) backing_name: Option<String>,
    pub(super) backing_format: Option<String>,
    pub(super) snapshots: Vec<String>,
    pub(super) warnings: Vec<String>,
}

pub(super) fn parse_header(file: &Source, l1_budget: &mut u64) -> Result<Header> {
    let loc = file.location();
    let corrupt = |off: u64, what: &str| SourceError::corrupt(loc, "qcow2 header", off, what);
    let mut h = [0u8; 112];
    let got = file.read_at(0, &mut h)?;
    if got < 72 || h[..4] != *b"QFI\xfb" {
        return Err(corrupt(0, "no qcow2 magic / header too short"));
    }
    let version = be32(&h, 4);
    match version {
        2 | 3 => {}
        1 => return Err(crate::unsupported(file, LAYER, "qcow version 1")),
        v => {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("qcow2 version {v}"),
            ))
        }
    }
    let cluster_bits = be32(&h, 20);
    if !(9..=21).contains(&cluster_bits) {
        return Err(corrupt(
            20,
            &format!("cluster_bits {cluster_bits} outside 9..=21"),
        ));
    }
    let cs = 1u64 << cluster_bits;
    let size = be64(&h, 24);
    match be32(&h, 32) {
        0 => {}
        1 => return Err(crate::unsupported(file, LAYER, "encryption (AES)")),
        2 => return Err(crate::unsupported(file, LAYER, "encryption (LUKS)")),
        m => {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("encryption (method {m})"),
            ))
        }
    }
    let mut warnings = Vec::new();
    let mut header_len = 72u64;
    let mut zstd = false;
    if version == 3 {
        if got < 104 {
            return Err(corrupt(0, "v3 header too short"));
        }
        let incompat = be64(&h, 72);
        header_len = u64::from(be32(&h, 100));
        if header_len < 104 || header_len > cs {
            return Err(corrupt(100, &format!("header_length {header_len}")));
        }
        if incompat & 1 != 0 {
            warnings
                .push("qcow2 dirty bit set (refcounts may be stale; data is read as is)".into());
        }
        if incompat & 2 != 0 {
            warnings.push("qcow2 marked corrupt by its writer".into());
        }
        if incompat & 4 != 0 {
            return Err(crate::unsupported(file, LAYER, "external data file"));
        }
        if incompat & 8 != 0 {
            let ct = if header_len > 104 { h[104] } else { 0 };
            match ct {
                0 => {}
                1 => zstd = true,
                t => {
                    return Err(crate::unsupported(
                        file,
                        LAYER,
                        &format!("compression type {t}"),
                    ))
                }
            }
        }
        if incompat & 16 != 0 {
            return Err(crate::unsupported(
                file,
                LAYER,
                "extended L2 entries (subclusters)",
            ));
        }
        let unknown = incompat & !0x1f;
        if unknown != 0 {
            return Err(crate::unsupported(
                file,
                LAYER,
                &format!("incompatible features {unknown:#x}"),
            ));
        }
    }

    // L1: bounded by what the virtual size needs, qemu's limit and the file.
    let l2_bits = cluster_bits - 3;
    let per_l1 = 1u128 << (cluster_bits + l2_bits);
    let needed = (u128::from(size)).div_ceil(per_l1);
    if needed > u128::from(MAX_L1_ENTRIES) {
        return Err(crate::unsupported(
            file,
            LAYER,
            &format!("virtual size {size} needs an L1 table over 32 MiB"),
        ));
    }
    let needed = needed as u64;
    let l1_size = u64::from(be32(&h, 36));
    let l1_off = be64(&h, 40);
    if l1_size < needed {
        return Err(corrupt(
            36,
            &format!("l1_size {l1_size} < {needed} needed for size {size}"),
        ));
    }
    if l1_size > MAX_L1_ENTRIES {
        return Err(corrupt(
            36,
            &format!("l1_size {l1_size} over qemu's 32 MiB limit"),
        ));
    }
    let l1_end = l1_size
        .checked_mul(8)
        .and_then(|n| n.checked_add(l1_off))
        .ok_or_else(|| corrupt(40, "L1 table offset overflows"))?;
    if l1_end > file.len() && needed > 0 {
        return Err(corrupt(
            40,
            &format!("L1 table ({l1_size} entries at {l1_off:#x}) runs past the end"),
        ));
    }
    if !l1_off.is_multiple_of(cs) && needed > 0 {
        return Err(corrupt(40, "L1 table offset not cluster aligned"));
    }
    *l1_budget = l1_budget
        .checked_sub(needed * 8)
        .ok_or_else(|| crate::unsupported(file, LAYER, "L1 tables over 64 MiB in one chain"))?;
    let mut raw = vec![0u8; (needed * 8) as usize];
    triage_source::read_exact_at(file.as_ref(), l1_off, &mut raw)?;
    let l1 = raw.chunks_exact(8).map(|c| be64(c, 0)).collect();

    let (backing_format, ext_warn) = walk_extensions(file, header_len, cs)?;
    warnings.extend(ext_warn);

    let backing_name = {
        let off = be64(&h, 8);
        let len = be32(&h, 16);
        if off == 0 || len == 0 {
            None
        } else if len > 1023 {
            return Err(corrupt(16, &format!("backing file name of {len} bytes")));
        } else {
            let mut b = vec![0u8; len as usize];
            triage_source::read_exact_at(file.as_ref(), off, &mut b)
                .map_err(|_| corrupt(8, "backing file name runs past the end"))?;
            Some(String::from_utf8_lossy(&b).into_owned())
        }
    };

    let snapshots = match read_snapshots(file, be32(&h, 60), be64(&h, 64)) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!("snapshot table unreadable: {e}"));
            Vec::new()
        }
    };
    Ok(Header {
        version,
        zstd,
        cluster_bits,
        size,
        l1,
        backing_name,
        backing_format,
        snapshots,
        warnings,
    })
}

/// Header extensions: the backing format, and refusals for what we cannot read.
pub(super) fn walk_extensions(
    file: &Source,
    start: u64,
    cs: u64,
) -> Result<(Option<String>, Vec<String>)> {
    let end = cs.min(file.len());
    let mut at = start;
    let mut fmt = None;
    let warnings = Vec::new();
    // Each extension is at least 8 bytes, and they stay inside the first cluster.
    while at + 8 <= end {
        let mut hd = [0u8; 8];
        triage_source::read_exact_at(file.as_ref(), at, &mut hd)?;
        let (ty, len) = (be32(&hd, 0), u64::from(be32(&hd, 4)));
        let data = at + 8;
        if ty == 0 {
            break;
        }
        if data + len > end {
            return Err(SourceError::corrupt(
                file.location(),
                "qcow2 header extension",
                at,
                "runs past the first cluster",
            ));
        }
        match ty {
            0xe279_2aca if len <= 64 => {
                let mut b = vec![0u8; len as usize];
                triage_source::read_exact_at(file.as_ref(), data, &mut b)?;
                fmt = Some(
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
            0x0537_be77 => return Err(crate::unsupported(file, LAYER, "encryption (LUKS header)")),
            0x4441_5441 => return Err(crate::unsupported(file, LAYER, "external data file")),
            _ => {}
        }
        at = data + len.div_ceil(8) * 8;
    }
    Ok((fmt, warnings))
}

/// Internal snapshot names (bounded count and sizes; the table must be in the file).
pub(super) fn read_snapshots(file: &Source, count: u32, off: u64) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let loc = file.location();
    if count > MAX_SNAPSHOTS {
        return Err(SourceError::corrupt(
            loc,
            "qcow2 snapshot table",
            off,
            format!("{count} snapshots"),
        ));
    }
    let mut names = Vec::new();
    let mut at = off;
    for _ in 0..count {
        let mut h = [0u8; 40];
        triage_source::read_exact_at(file.as_ref(), at, &mut h)?;
        let id_len = u64::from(u16::from_be_bytes([h[12], h[13]]));
        let name_len = u64::from(u16::from_be_bytes([h[14], h[15]]));
        let extra = u64::from(be32(&h, 36));
        if extra > 1 << 16 {
            return Err(SourceError::corrupt(
                loc,
                "qcow2 snapshot table",
                at,
                "extra data too large",
            ));
        }
        let name_at = at + 40 + extra + id_len;
        let mut n = vec![0u8; name_len as usize];
        triage_source::read_exact_at(file.as_ref(), name_at, &mut n)?;
        names.push(String::from_utf8_lossy(&n).into_owned());
        at = (name_at + name_len).div_ceil(8) * 8;
    }
    Ok(names)
}
