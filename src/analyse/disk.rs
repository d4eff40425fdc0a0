//! Disk images: the container opened as one virtual disk, its partition table, and each
//! volume's file system, read straight from the image (nothing is extracted).
//!
//! `open_image` is shared by `scan`, `disk info`, `disk ls` and `disk cat`; what each
//! does with the volumes is its own.

use std::sync::Arc;

use anyhow::{Context, Result};
use triage_container::{Container, ContainerKind};
use triage_ntfs::Ntfs;
use triage_source::{ByteSource, SliceSource, Source, SourceError};
use triage_volume::{FileSystem, Partition, PartitionTable, Scheme};

use crate::analyse::Options;
use crate::detect::Format;
use crate::evidence::Evidence;
use crate::model::{InputReport, VolumeRecord};

/// An opened disk image.
pub struct OpenedImage {
    pub container: Container,
    pub table: PartitionTable,
    pub volumes: Vec<Volume>,
}

/// One partition (or the bare volume) and what could be opened on it.
pub struct Volume {
    pub partition: Partition,
    /// The partition's bytes, located `image › pN NTFS`.
    pub source: Source,
    /// The NTFS reader, when the volume is NTFS (or the error opening it).
    pub ntfs: Option<std::result::Result<Ntfs, SourceError>>,
}

impl Volume {
    /// How records name this volume: `host.E01 › p2 NTFS`.
    pub fn location(&self) -> String {
        self.source.location().to_string()
    }
}

/// The container kind an input of `format` is opened as. Bare volumes and partitioned
/// raw images (MBR, GPT, NTFS boot sector) are raw (or split raw, `.001`).
pub fn container_kind(format: Format) -> ContainerKind {
    match format {
        Format::Ewf => ContainerKind::Ewf,
        Format::Vmdk => ContainerKind::Vmdk,
        Format::Vhd => ContainerKind::Vhd,
        Format::Vhdx => ContainerKind::Vhdx,
        Format::Qcow2 => ContainerKind::Qcow2,
        _ => ContainerKind::Raw,
    }
}

/// Why an input should not be analysed on its own: a later EWF segment, a split-raw
/// part, a VMDK extent named by a descriptor beside it.
pub fn secondary_reason(ev: &Evidence) -> Option<String> {
    // A later part of a split raw image can start (or end) with anything, even bytes
    // that look like another format: ask the raw reader first.
    if looks_like_split_part(&ev.name) {
        if let Some(why) = triage_container::secondary_of(
            ContainerKind::Raw,
            &ev.source,
            &ev.name,
            ev.siblings.as_ref(),
        ) {
            return Some(why);
        }
    }
    let kind = match ev.format {
        f if f.is_disk() => container_kind(f),
        Format::Unknown if looks_like_split_part(&ev.name) => ContainerKind::Raw,
        _ => return None,
    };
    triage_container::secondary_of(kind, &ev.source, &ev.name, ev.siblings.as_ref())
}

fn looks_like_split_part(name: &str) -> bool {
    let ext = name.rsplit('.').next().unwrap_or("");
    ext.len() == 3 && ext.bytes().all(|b| b.is_ascii_digit()) && ext != "001"
}

/// Open the container, read the partition table, and open every NTFS volume.
pub fn open_image(ev: &Evidence) -> Result<OpenedImage> {
    let kind = container_kind(ev.format);
    let container = triage_container::open(kind, ev.source.clone(), ev.siblings.as_ref())
        .with_context(|| format!("{} container", kind.name()))?;
    let disk = container.disk.clone();
    let table = triage_volume::read_table(disk.as_ref()).context("partition table")?;
    // An extended partition is a container of logical partitions, listed themselves.
    let volumes = table
        .partitions
        .iter()
        .filter(|p| !p.is_extended())
        .map(|p| open_volume(&disk, p))
        .collect();
    Ok(OpenedImage {
        container,
        table,
        volumes,
    })
}

fn open_volume(disk: &Source, p: &Partition) -> Volume {
    let fs = p.fs.name().to_ascii_uppercase();
    let part = if p.scheme_is_none() {
        fs.clone()
    } else {
        format!("p{} {fs}", p.index)
    };
    let loc = disk.location().child(part);
    let source: Source = Arc::new(SliceSource::new(disk.clone(), p.offset, p.size, loc));
    let ntfs = (p.fs == FileSystem::Ntfs).then(|| Ntfs::open(source.clone()));
    Volume {
        partition: p.clone(),
        source,
        ntfs,
    }
}

/// Helpers on the partition type that the analyser wants.
trait PartitionExt {
    fn scheme_is_none(&self) -> bool;
}

impl PartitionExt for Partition {
    fn scheme_is_none(&self) -> bool {
        matches!(self.scheme, Scheme::None)
    }
}

fn scheme_name(s: &Scheme) -> &'static str {
    match s {
        Scheme::Mbr => "mbr",
        Scheme::Gpt => "gpt",
        Scheme::None => "none",
    }
}

/// One `volumes` record per partition.
pub fn volume_records(img: &OpenedImage) -> Vec<VolumeRecord> {
    img.volumes
        .iter()
        .map(|v| {
            let p = &v.partition;
            let mut rec = VolumeRecord {
                location: v.location(),
                container: img.container.kind.name().into(),
                container_variant: img.container.variant.clone(),
                virtual_size: img.container.disk.len(),
                scheme: scheme_name(&img.table.scheme).into(),
                sector_size: img.table.sector_size,
                partition: p.index,
                offset: p.offset,
                size: p.size,
                partition_type: p.type_name.clone(),
                gpt_type: p.gpt_type.clone().unwrap_or_default(),
                gpt_guid: p.gpt_guid.clone().unwrap_or_default(),
                partition_name: p.name.clone(),
                file_system: p.fs.name().into(),
                ..Default::default()
            };
            match &v.ntfs {
                Some(Ok(ntfs)) => {
                    let i = ntfs.info();
                    rec.cluster_size = i.cluster_size as u64;
                    rec.mft_record_size = i.record_size as u64;
                    rec.mft_offset = i.mft_offset;
                    rec.mft_bytes = i.mft_bytes;
                    rec.mft_records = i.record_count;
                    rec.serial = i.serial.clone();
                    rec.label = i.label.clone().unwrap_or_default();
                    if !i.warnings.is_empty() {
                        rec.detail = i.warnings.join("; ");
                    }
                    rec.bytes_read = ntfs.bytes_read();
                }
                Some(Err(e)) => rec.detail = format!("NTFS not readable: {e}"),
                None => rec.detail = skip_reason(p.fs),
            }
            rec
        })
        .collect()
}

/// Why a volume that is not NTFS is not analysed.
fn skip_reason(fs: FileSystem) -> String {
    match fs {
        FileSystem::BitLocker => {
            "BitLocker-encrypted volume: not readable without its recovery key".into()
        }
        FileSystem::Empty => "empty (all zeros)".into(),
        FileSystem::Unknown => "unrecognised file system: skipped".into(),
        other => format!("{}: not analysed (only NTFS is)", other.name()),
    }
}

/// `scan` (and `disk info`) of one disk image: the volumes as records, a one-line summary
/// in the input's detail, and warnings for what could not be read.
pub fn analyse(ev: &Evidence, opts: &Options, report: &mut InputReport) -> Result<Vec<String>> {
    let img = open_image(ev)?;
    let mut warnings: Vec<String> = img.container.warnings.clone();
    warnings.extend(img.table.warnings.iter().cloned());
    let mut notes = Vec::new();
    let mut triaged = Vec::new();
    if opts.triage {
        // Shadow storage can sit on another volume of the same disk.
        let all: Vec<Source> = img.volumes.iter().map(|v| v.source.clone()).collect();
        for v in &img.volumes {
            if let Some(Ok(ntfs)) = &v.ntfs {
                let t = crate::analyse::disk_triage::triage(
                    &v.location(),
                    &v.source,
                    &all,
                    ntfs,
                    opts,
                    report,
                    &mut warnings,
                );
                triaged.push((v.location(), t));
            }
        }
    }
    // Volume rows last, so that bytes_read counts the triage.
    let mut records = volume_records(&img);
    for (v, r) in img.volumes.iter().zip(records.iter_mut()) {
        if let Some(Err(_)) = &v.ntfs {
            warnings.push(format!("{}: {}", r.location, r.detail));
        }
        if let Some((_, t)) = triaged.iter().find(|(l, _)| *l == r.location) {
            r.snapshots = t
                .notes
                .iter()
                .filter(|n| n.starts_with("shadow copy"))
                .count() as u64;
            if !t.notes.is_empty() {
                let extra = t.notes.join("; ");
                r.detail = if r.detail.is_empty() {
                    extra
                } else {
                    format!("{}; {extra}", r.detail)
                };
            }
        }
    }
    for (loc, t) in &triaged {
        let mut s = format!("{loc}: {} entries, {} candidates", t.entries, t.candidates);
        if !t.notes.is_empty() {
            s.push_str(&format!(" ({})", t.notes.join("; ")));
        }
        notes.push(s);
    }
    let bytes_read: u64 = records.iter().map(|r| r.bytes_read).sum();
    report.input.detail = summary(&img, &records);
    if opts.triage {
        report.input.detail.push_str(&format!(
            "; {} read from the volumes",
            human_size(bytes_read)
        ));
    }
    for n in notes {
        report.input.detail.push_str("; ");
        report.input.detail.push_str(&n);
    }
    report.volumes = records;
    Ok(warnings)
}

fn summary(img: &OpenedImage, records: &[VolumeRecord]) -> String {
    let scheme = match img.table.scheme {
        Scheme::Mbr => "MBR",
        Scheme::Gpt => "GPT",
        Scheme::None => "no partition table",
    };
    let parts: Vec<String> = records
        .iter()
        .map(|r| {
            let mut s = format!(
                "{} {} {}",
                if r.scheme == "none" {
                    "volume".to_string()
                } else {
                    format!("p{}", r.partition)
                },
                r.file_system,
                human_size(r.size)
            );
            if r.mft_records > 0 {
                s.push_str(&format!(" ({} MFT records)", r.mft_records));
            }
            s
        })
        .collect();
    format!(
        "{} {}, {}: {}",
        img.container.kind.name(),
        img.container.variant,
        scheme,
        parts.join("; ")
    )
}

pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
