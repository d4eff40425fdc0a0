//! The host view: inputs of one host (a memory dump, a disk image, logs, hives) are read
//! together. A boot-chain process in a memory dump is resolved to its image file on the
//! disk image of the same host, whose facts join the process record, and two rules judge
//! the pair (`PROC-IMAGE-MISMATCH`, `PROC-IMAGE-MISSING`).
//!
//! Which inputs are one host: the SYSTEM hive's ComputerName (a loose hive, or the one on
//! a disk image), the `Computer` of event logs (its first label), or `--host NAME` for
//! every input. A memory dump names no computer: it is linked when `--host` names it, or
//! when the batch is one host's evidence (one dump, one disk image); with two disk images
//! for one host, or several unnamed dumps, nothing is linked and the detail says why.

use std::path::Path;

use crate::analyse::disk;
use crate::evidence::Evidence;
use crate::model::{Finding, InputReport, ProcessRecord, Severity};
use crate::names;
use crate::rules::{self, support::volume_relative};

/// The host an input belongs to, from what its records say.
pub fn host_of(r: &InputReport) -> Option<String> {
    let from_hive = r
        .registry
        .iter()
        .find(|g| {
            g.value == "ComputerName" && g.key.ends_with("Control\\ComputerName\\ComputerName")
        })
        .map(|g| g.data.clone());
    let from_events = || {
        r.processes
            .iter()
            .map(|p| p.computer.as_str())
            .find(|c| !c.is_empty())
            .map(|c| c.split('.').next().unwrap_or(c).to_string())
    };
    from_hive
        .or_else(from_events)
        .filter(|h| !h.is_empty())
        .map(|h| h.to_ascii_uppercase())
}

fn is_disk(r: &InputReport) -> bool {
    r.input.analyser == "disk"
}

fn is_dump(r: &InputReport) -> bool {
    r.input.analyser == "mem"
}

/// Link the batch's inputs by host; `forced` is `--host`.
pub fn link(reports: &mut [InputReport], forced: Option<&str>) {
    let hosts: Vec<Option<String>> = reports
        .iter()
        .map(|r| {
            forced
                .map(|h| h.to_ascii_uppercase())
                .or_else(|| host_of(r))
        })
        .collect();
    for (r, h) in reports.iter_mut().zip(&hosts) {
        if let Some(h) = h {
            for p in &mut r.processes {
                p.host.clone_from(h);
            }
        }
    }
    let disks: Vec<usize> = (0..reports.len())
        .filter(|&i| is_disk(&reports[i]))
        .collect();
    let dumps = reports.iter().filter(|r| is_dump(r)).count();
    for d in 0..reports.len() {
        if !is_dump(&reports[d]) || reports[d].processes.is_empty() {
            continue;
        }
        let candidates: Vec<usize> = match &hosts[d] {
            Some(h) => disks
                .iter()
                .copied()
                .filter(|&i| hosts[i].as_ref() == Some(h))
                .collect(),
            // A dump that names no host is linked only when the batch is one host's
            // evidence: one dump and one disk image.
            None if dumps == 1 => disks.clone(),
            None => {
                if !disks.is_empty() {
                    note(
                        &mut reports[d],
                        "host view: not linked, the dump names no host and the batch holds several dumps (use --host)".into(),
                    );
                }
                continue;
            }
        };
        let disk_i = match candidates.as_slice() {
            [one] => *one,
            [] => continue,
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|&i| reports[i].input.input.clone())
                    .collect();
                note(
                    &mut reports[d],
                    format!(
                        "host view: not linked, {} disk images could be this host's ({})",
                        many.len(),
                        names.join(", ")
                    ),
                );
                continue;
            }
        };
        let disk_path = reports[disk_i].input.input.clone();
        if hosts[d].is_none() {
            if let Some(h) = &hosts[disk_i] {
                for p in &mut reports[d].processes {
                    p.host.clone_from(h);
                }
            }
        }
        match resolve(Path::new(&disk_path), &mut reports[d]) {
            Ok(n) => note(
                &mut reports[d],
                format!("host view: {n} boot-chain images resolved on {disk_path}"),
            ),
            Err(e) => note(
                &mut reports[d],
                format!("host view: {disk_path} not read: {e:#}"),
            ),
        }
    }
}

fn note(r: &mut InputReport, s: String) {
    if r.input.detail.is_empty() {
        r.input.detail = s;
    } else {
        r.input.detail.push_str("; ");
        r.input.detail.push_str(&s);
    }
}

/// Resolve every boot-chain process of `dump` on the disk image at `disk_path`.
fn resolve(disk_path: &Path, dump: &mut InputReport) -> anyhow::Result<usize> {
    let ev = Evidence::open(disk_path)?;
    let img = disk::open_image(&ev)?;
    // The system volume: the NTFS volume with a \Windows\System32.
    let system = img.volumes.iter().find_map(|v| match &v.ntfs {
        Some(Ok(n)) if matches!(n.lookup("\\Windows\\System32"), Ok(Some(_))) => Some((v, n)),
        _ => None,
    });
    let Some((vol, ntfs)) = system else {
        anyhow::bail!("no NTFS volume with \\Windows\\System32");
    };
    let vol_loc = vol.location();
    let mut n = 0;
    let mut findings = Vec::new();
    for p in dump.processes.iter_mut() {
        let name = p.name.to_ascii_lowercase();
        // Boot-chain names and their look-alikes (a `smsss.exe` is resolved too).
        let file = p
            .image_path
            .rsplit('\\')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(protected) = names::protected_name(&name)
            .or_else(|| names::protected_name(&file))
            .or_else(|| names::lookalike(&name).map(|(p, _)| p))
        else {
            continue;
        };
        if p.image_path.is_empty() {
            continue;
        }
        let rel = volume_relative(&p.image_path);
        n += 1;
        match ntfs.lookup(&rel) {
            Ok(Some(entry)) => {
                let e = ntfs.entry(entry).ok();
                p.image_location = format!("{vol_loc} › {}", e.as_ref().map(|e| e.path.clone()).unwrap_or(rel.clone()));
                if let Some(e) = &e {
                    p.image_si_created = e.si.map(|s| crate::time::filetime(s.created)).unwrap_or_default();
                    p.image_fn_created = e.fn_times.map(|t| crate::time::filetime(t[0])).unwrap_or_default();
                }
                let bytes = ntfs
                    .open_stream(entry, "")
                    .ok()
                    .and_then(|d| triage_source::read_all(&d, 256 << 20).ok().map(|b| b.into_owned()));
                let Some(bytes) = bytes else { continue };
                let file_name = rel.rsplit('\\').next().unwrap_or("").to_string();
                let Ok(mut rec) = crate::analyse::pe::analyse_bytes(&bytes, &dump.input.input, &file_name, &rel) else {
                    findings.push(mismatch(p, "the file is not a readable PE image".into()));
                    continue;
                };
                rec.volume = vol_loc.clone();
                p.image_sha256.clone_from(&rec.sha256);
                p.image_signer.clone_from(&rec.signer);
                p.image_original_filename.clone_from(&rec.original_filename);
                let loud: Vec<&'static str> = rules::file::check(&rec)
                    .into_iter()
                    // Content, not times: a timestomped genuine binary is FILE-TIMESTOMP's.
                    .filter(|f| f.severity >= Severity::Medium && f.rule != "FILE-TIMESTOMP")
                    .map(|f| f.rule)
                    .collect();
                let orig = rec.original_filename.trim().to_lowercase();
                let orig = orig.trim_end_matches(".mui");
                if !loud.is_empty() {
                    findings.push(mismatch(p, format!("the file raises {}", loud.join(", "))));
                } else if !orig.is_empty() && orig != protected {
                    findings.push(mismatch(p, format!("its version info says it is {orig}, the process is {protected}")));
                }
            }
            Ok(None) => findings.push({
                let mut f = Finding::new(
                    "PROC-IMAGE-MISSING",
                    Severity::High,
                    "T1070.004",
                    "process",
                    format!("pid {} {}", p.pid, p.name),
                    format!("image_path={}; volume={vol_loc}", p.image_path),
                    format!("{} ran from {}, which is not on the host's disk image ({vol_loc}): deleted after it started", p.name, p.image_path),
                );
                f.location = vol_loc.clone();
                f
            }),
            Err(e) => note_err(p, &e.to_string()),
        }
    }
    dump.findings.extend(findings);
    Ok(n)
}

fn note_err(_p: &mut ProcessRecord, _e: &str) {}

fn mismatch(p: &ProcessRecord, why: String) -> Finding {
    let mut f = Finding::new(
        "PROC-IMAGE-MISMATCH",
        Severity::High,
        "T1036.005",
        "process",
        format!("pid {} {}", p.pid, p.name),
        format!(
            "image_path={}; file={}; sha256={}; OriginalFilename={}",
            p.image_path, p.image_location, p.image_sha256, p.image_original_filename
        ),
        format!(
            "{} runs from {}, and on the host's disk that file is not a genuine {}: {why}",
            p.name, p.image_path, p.name
        ),
    );
    f.location.clone_from(&p.image_location);
    f
}
