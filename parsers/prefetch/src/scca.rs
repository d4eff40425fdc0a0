//! The uncompressed SCCA stream: an 84-byte file header, the version's file
//! information, the file metrics array, the trace chains array, the filename strings
//! and the volume information (device paths, file references, directory strings).

use crate::bytes::{le32, le64, utf16z, Buf};
use crate::{find_executable, Error, Prefetch, PrefetchVolume};

const HEADER_SIZE: u64 = 0x54;
const FI: &str = "file information";
const METRICS: &str = "file metrics";
const NAMES: &str = "filename strings";
const VOLS: &str = "volume info";

/// Where a version keeps its values (offsets inside the file information).
struct Layout {
    info_size: u64,
    last_runs: usize,
    run_count: u64,
    metrics_entry: u64,
    /// Byte offset of the filename-string offset inside a metrics entry.
    metrics_name: u64,
    trace_entry: u64,
    volume_entry: u64,
}

fn layout(buf: &Buf, version: u32) -> Result<Layout, Error> {
    let v26 = |info_size, run_count, volume_entry, trace_entry| Layout {
        info_size,
        last_runs: 8,
        run_count,
        metrics_entry: 32,
        metrics_name: 12,
        trace_entry,
        volume_entry,
    };
    Ok(match version {
        17 => Layout {
            info_size: 68,
            last_runs: 1,
            run_count: 60,
            metrics_entry: 20,
            metrics_name: 8,
            trace_entry: 12,
            volume_entry: 40,
        },
        23 => Layout {
            info_size: 156,
            last_runs: 1,
            run_count: 68,
            metrics_entry: 32,
            metrics_name: 12,
            trace_entry: 12,
            volume_entry: 104,
        },
        26 => v26(224, 124, 104, 12),
        30 | 31 => {
            // Two file-information sizes exist; the metrics array follows it directly,
            // so its offset tells them apart (0x54 + 0xD4 = 0x128).
            let metrics = buf.u32(FI, HEADER_SIZE, "metrics array offset")?;
            if u64::from(metrics) == HEADER_SIZE + 0xD4 {
                v26(0xD4, 116, 96, 8)
            } else {
                v26(0xDC, 124, 96, 8)
            }
        }
        v => {
            return Err(buf.unsupported(
                "file header",
                0,
                format!("format version {v} (known: 17, 23, 26, 30, 31)"),
            ))
        }
    })
}

/// `count` entries of `size` bytes at `offset` must lie inside the data.
fn check_array(
    buf: &Buf,
    layer: &'static str,
    at: u64,
    offset: u32,
    count: u32,
    size: u64,
    what: &str,
) -> Result<(), Error> {
    let bytes = u64::from(count) * size;
    let end = u64::from(offset) + bytes;
    if end > buf.len() {
        return Err(buf.corrupt(
            layer,
            at,
            format!(
                "{what} at {offset:#x} claims {count} entries of {size} bytes, past the end of the data ({:#x} bytes)",
                buf.len()
            ),
        ));
    }
    Ok(())
}

/// A section the file information points at (`field` is where its offset is stored).
fn section<'a>(
    buf: &Buf<'a>,
    layer: &'static str,
    field: u64,
    offset: u32,
    size: u32,
) -> Result<&'a [u8], Error> {
    let end = u64::from(offset) + u64::from(size);
    if end > buf.len() {
        return Err(buf.corrupt(
            layer,
            field,
            format!(
                "{size} bytes at {offset:#x} run past the end of the data ({:#x} bytes)",
                buf.len()
            ),
        ));
    }
    Ok(&buf.data[offset as usize..end as usize])
}

pub(crate) fn parse(data: &[u8], decompressed: bool) -> Result<Prefetch, Error> {
    let buf = Buf { data, decompressed };
    let mut warnings = Vec::new();
    let header = buf.slice("file header", 0, HEADER_SIZE, "84-byte file header")?;
    let version = le32(header, 0);
    let lay = layout(&buf, version)?;
    let declared = le32(header, 12);
    if u64::from(declared) != buf.len() {
        warnings.push(format!(
            "file header declares {declared} bytes, the {} has {}",
            if decompressed {
                "decompressed data"
            } else {
                "file"
            },
            buf.len()
        ));
    }
    let executable = utf16z(&header[16..76]);
    let hash = le32(header, 76);

    let info = buf.slice(FI, HEADER_SIZE, lay.info_size, "file information")?;
    let f = |i: usize| le32(info, i * 4);
    let (metrics_off, metrics_n, trace_off, trace_n) = (f(0), f(1), f(2), f(3));
    let (names_off, names_size, vol_off, vol_n, vol_size) = (f(4), f(5), f(6), f(7), f(8));
    let runs_at = if version == 17 { 36 } else { 44 };
    let last_runs = (0..lay.last_runs)
        .map(|i| le64(info, runs_at + 8 * i))
        .filter(|&t| t != 0)
        .collect();
    let run_count = le32(info, lay.run_count as usize);

    check_array(
        &buf,
        FI,
        HEADER_SIZE,
        metrics_off,
        metrics_n,
        lay.metrics_entry,
        "file metrics array",
    )?;
    check_array(
        &buf,
        FI,
        HEADER_SIZE + 8,
        trace_off,
        trace_n,
        lay.trace_entry,
        "trace chains array",
    )?;
    let names = section(&buf, NAMES, HEADER_SIZE + 16, names_off, names_size)?;
    let files = read_files(
        &buf,
        &lay,
        metrics_off,
        metrics_n,
        names,
        names_off,
        &mut warnings,
    )?;
    let volumes = read_volumes(&buf, &lay, vol_off, vol_n, vol_size, &mut warnings)?;
    let executable_path = find_executable(&executable, &files);
    Ok(Prefetch {
        version,
        compressed: false,
        executable,
        hash,
        run_count,
        last_runs,
        volumes,
        files,
        executable_path,
        warnings,
    })
}

/// The file names, one per metrics entry (offset and length into the filename strings).
fn read_files(
    buf: &Buf,
    lay: &Layout,
    metrics_off: u32,
    count: u32,
    names: &[u8],
    names_off: u32,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, Error> {
    // check_array bounded count * entry size by the data, so this loop and the
    // Vec are bounded by the file's size.
    let mut files = Vec::with_capacity(count as usize);
    for i in 0..u64::from(count) {
        let at = u64::from(metrics_off) + i * lay.metrics_entry;
        let entry = buf.slice(METRICS, at, lay.metrics_entry, "metrics entry")?;
        let off = u64::from(le32(entry, lay.metrics_name as usize));
        let chars = u64::from(le32(entry, lay.metrics_name as usize + 4));
        let end = off.checked_add(chars * 2);
        let range = end.and_then(|e| Some(usize::try_from(off).ok()?..usize::try_from(e).ok()?));
        match range.and_then(|r| names.get(r)) {
            Some(s) => files.push(utf16z(s)),
            None => warnings.push(format!(
                "{METRICS}: entry {i} at {at:#x} names {chars} characters at {:#x}, outside the {} bytes of filename strings at {names_off:#x}",
                u64::from(names_off) + off,
                names.len()
            )),
        }
    }
    Ok(files)
}

fn read_volumes(
    buf: &Buf,
    lay: &Layout,
    vol_off: u32,
    count: u32,
    size: u32,
    warnings: &mut Vec<String>,
) -> Result<Vec<PrefetchVolume>, Error> {
    let base = u64::from(vol_off);
    let section = section(buf, VOLS, HEADER_SIZE + 24, vol_off, size)?;
    let sec = Buf {
        data: section,
        decompressed: buf.decompressed,
    };
    if u64::from(count) * lay.volume_entry > section.len() as u64 {
        return Err(buf.corrupt(
            VOLS,
            HEADER_SIZE + 28,
            format!(
                "{count} volumes of {} bytes do not fit the {size} bytes of volume information at {base:#x}",
                lay.volume_entry
            ),
        ));
    }
    let mut volumes = Vec::with_capacity(count as usize);
    for n in 0..u64::from(count) {
        let rel = n * lay.volume_entry;
        let at = base + rel;
        let e = sec
            .slice(VOLS, rel, lay.volume_entry, "volume entry")
            .map_err(|_| {
                buf.corrupt(
                    VOLS,
                    at,
                    format!("volume {} entry runs past the section", n + 1),
                )
            })?;
        let (path_off, path_chars) = (u64::from(le32(e, 0)), u64::from(le32(e, 4)));
        let created = le64(e, 8);
        let serial = le32(e, 16);
        let (dirs_off, dirs_n) = (u64::from(le32(e, 28)), le32(e, 32));
        let path = sec.slice(VOLS, path_off, path_chars * 2, "").map_err(|_| {
            buf.corrupt(
                VOLS,
                at,
                format!(
                    "volume {} at {at:#x} has a device path of {path_chars} characters at {:#x}, outside the volume information",
                    n + 1,
                    base + path_off
                ),
            )
        })?;
        let directories = read_dirs(buf, section, base, n + 1, at, dirs_off, dirs_n, warnings)?;
        volumes.push(PrefetchVolume {
            device_path: utf16z(path),
            serial: format!("{serial:08X}"),
            created,
            directories,
        });
    }
    Ok(volumes)
}

/// Directory strings: `count` × (u16 character count, the characters, a NUL).
#[allow(clippy::too_many_arguments)]
fn read_dirs(
    buf: &Buf,
    section: &[u8],
    base: u64,
    volume: u64,
    at: u64,
    off: u64,
    count: u32,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, Error> {
    let room = (section.len() as u64).saturating_sub(off);
    // Each string takes at least 4 bytes (its length and its NUL).
    if off > section.len() as u64 || u64::from(count) > room / 4 {
        return Err(buf.corrupt(
            VOLS,
            at,
            format!(
                "volume {volume} at {at:#x} claims {count} directory strings at {:#x}, more than the volume information holds",
                base + off
            ),
        ));
    }
    let mut dirs = Vec::with_capacity(count as usize);
    let mut pos = off;
    for i in 0..count {
        let chars = section
            .get(pos as usize..pos as usize + 2)
            .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])));
        let text = chars.and_then(|c| section.get(pos as usize + 2..(pos + 2 + c * 2) as usize));
        match (chars, text) {
            (Some(c), Some(t)) => {
                dirs.push(utf16z(t));
                pos += 2 + c * 2 + 2;
            }
            _ => {
                warnings.push(format!(
                    "{VOLS}: volume {volume} directory string {i} at {:#x} runs past the volume information; {} of {count} read",
                    base + pos,
                    dirs.len()
                ));
                break;
            }
        }
    }
    Ok(dirs)
}
