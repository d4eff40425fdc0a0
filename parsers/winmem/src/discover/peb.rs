//! EPROCESS.Peb, PEB.ProcessParameters and the ImagePathName and CommandLine strings,
//! read through each process's own page tables: the image path's file name is the
//! process's ImageFileName, and its command line names the program.

use std::collections::BTreeMap;

use super::eprocess::{image_name, peb_candidates, Procs};
use super::{is_user_ptr, q, read_lossy, Discovery};
use crate::vmem::VirtualMemory;

/// PEB bytes searched for ProcessParameters.
const PEB_HEAD: usize = 0x80;
/// RTL_USER_PROCESS_PARAMETERS bytes searched for UNICODE_STRINGs.
const PARAMS_HEAD: usize = 0x200;
/// Normalised parameters keep their strings in the same allocation.
const PARAMS_REACH: u64 = 0x1_0000;
/// Processes whose PEBs are read: enough to outvote a masquerade or two.
const MAX_PEBS: usize = 64;

/// One process's parameter strings: offset → text.
type Strings = BTreeMap<usize, String>;

fn strings(space: &VirtualMemory, params: u64) -> Strings {
    let raw = read_lossy(space, params, PARAMS_HEAD);
    let mut out = Strings::new();
    for o in (0x10..PARAMS_HEAD - 16).step_by(8) {
        let len = u16::from_le_bytes([raw[o], raw[o + 1]]) as usize;
        let max = u16::from_le_bytes([raw[o + 2], raw[o + 3]]) as usize;
        let buf = q(&raw, o + 8);
        if len == 0
            || !len.is_multiple_of(2)
            || len > max
            || !(params..params + PARAMS_REACH).contains(&buf)
        {
            continue;
        }
        if let Some(text) = space.read_exact(buf, len) {
            let units: Vec<u16> = text
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            out.insert(o, String::from_utf16_lossy(&units));
        }
    }
    out
}

/// Lower-cased name and its stem (before the extension).
fn name_forms(name: &str) -> (String, String) {
    let lower = name.to_ascii_lowercase();
    let stem = lower.split('.').next().unwrap_or(&lower).to_string();
    (lower, stem)
}

fn is_image_path(text: &str, name: &str) -> bool {
    let file = text.rsplit('\\').next().unwrap_or("").to_ascii_lowercase();
    (text.contains(":\\") || text.starts_with('\\')) && file.starts_with(&name_forms(name).0)
}

fn names_program(text: &str, name: &str) -> bool {
    text.to_ascii_lowercase().contains(&name_forms(name).1)
}

struct Vote {
    peb: usize,
    params: usize,
    image: usize,
    image_hits: usize,
    readable: usize,
    command: Option<(usize, usize)>,
}

pub(super) fn discover(vm: &VirtualMemory, procs: &Procs, disc: &mut Discovery) {
    let l = &disc.layout;
    if l.eprocess_peb.is_some()
        && l.peb_process_parameters.is_some()
        && l.params_image_path_name.is_some()
        && l.params_command_line.is_some()
    {
        return;
    }
    let Some(dtb_off) = l.eprocess_directory_table_base.map(|o| o as usize) else {
        for f in PEB_FIELDS {
            disc.missing(f, "needs DirectoryTableBase");
        }
        return;
    };
    let pebs: Vec<usize> = match l.eprocess_peb {
        Some(o) => vec![o as usize],
        None => peb_candidates(procs),
    };
    let mut best: Option<Vote> = None;
    for peb_off in pebs {
        // (name, PEB bytes, process space) of the processes with a readable PEB.
        let mut read = Vec::new();
        for p in procs.all.iter().skip(1) {
            let peb = q(&p.body, peb_off);
            let Some(name) = image_name(p, disc) else {
                continue;
            };
            if peb == 0 || read.len() >= MAX_PEBS {
                continue;
            }
            let space = vm.with_dtb(q(&p.body, dtb_off) & !0xFFF);
            if let Some(head) = space.read_exact(peb, PEB_HEAD) {
                if head.get(..2) != Some(b"MZ") {
                    read.push((name, head, space));
                }
            }
        }
        let params_offs: Vec<usize> = match disc.layout.peb_process_parameters {
            Some(o) => vec![o as usize],
            None => (0x8..PEB_HEAD).step_by(8).collect(),
        };
        for x in params_offs {
            let all: Vec<(&str, Strings)> = read
                .iter()
                .filter(|(_, head, _)| is_user_ptr(q(head, x)))
                .map(|(name, head, space)| (name.as_str(), strings(space, q(head, x))))
                .filter(|(_, s)| !s.is_empty())
                .collect();
            if all.len() * 2 <= read.len() || all.is_empty() {
                continue;
            }
            let count = |pred: &dyn Fn(&str, &str) -> bool, skip: Option<usize>| {
                let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
                for (name, s) in &all {
                    for (&o, text) in s {
                        if Some(o) != skip && pred(text, name) {
                            *votes.entry(o).or_default() += 1;
                        }
                    }
                }
                votes
                    .into_iter()
                    .max_by_key(|&(o, v)| (v, std::cmp::Reverse(o)))
            };
            let image = match disc.layout.params_image_path_name {
                Some(o) => Some((o as usize, all.len())),
                None => count(&is_image_path, None),
            };
            let Some((image, image_hits)) = image else {
                continue;
            };
            if image_hits * 2 <= all.len() {
                continue;
            }
            let command = count(&names_program, Some(image)).filter(|&(_, v)| v * 2 > all.len());
            if best.as_ref().is_none_or(|b| image_hits > b.image_hits) {
                best = Some(Vote {
                    peb: peb_off,
                    params: x,
                    image,
                    image_hits,
                    readable: all.len(),
                    command,
                });
            }
        }
    }
    let Some(v) = best else {
        for f in PEB_FIELDS {
            disc.missing(f, "no PEB whose process parameters name the image");
        }
        return;
    };
    let how = format!(
        "ImagePathName ends in ImageFileName in {} of {} processes' parameters (read through their own DTB)",
        v.image_hits, v.readable
    );
    let l = &mut disc.layout;
    let mut found = Vec::new();
    let mut no_command = false;
    if l.eprocess_peb.is_none() {
        l.eprocess_peb = Some(v.peb as u32);
        found.push(("eprocess_peb", v.peb, how.clone()));
    }
    if l.peb_process_parameters.is_none() {
        l.peb_process_parameters = Some(v.params as u32);
        found.push(("peb_process_parameters", v.params, how.clone()));
    }
    if l.params_image_path_name.is_none() {
        l.params_image_path_name = Some(v.image as u32);
        found.push(("params_image_path_name", v.image, how));
    }
    if l.params_command_line.is_none() {
        match v.command {
            Some((o, hits)) => {
                l.params_command_line = Some(o as u32);
                found.push((
                    "params_command_line",
                    o,
                    format!("names the program in {hits} of {}", v.readable),
                ));
            }
            None => no_command = true,
        }
    }
    if no_command {
        disc.missing(
            "params_command_line",
            "no string names the program in most processes",
        );
    }
    for (f, o, how) in found {
        disc.found(f, o as u32, how);
    }
}

const PEB_FIELDS: [&str; 4] = [
    "eprocess_peb",
    "peb_process_parameters",
    "params_image_path_name",
    "params_command_line",
];
