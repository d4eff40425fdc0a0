//! NTFS entries as `entries` records (`disk ls`): the facts of `triage-ntfs` mapped to
//! the documented columns.

use crate::model::EntryRecord;
use crate::time::filetime;

/// An entry as an `entries` record.
pub fn entry_record(volume: &str, e: &triage_ntfs::Entry) -> EntryRecord {
    let si = e.si.map(|s| s.times());
    let t = |v: Option<[u64; 4]>, i: usize| v.map(|a| filetime(a[i])).unwrap_or_default();
    let primary = e
        .names
        .iter()
        .find(|n| Some(n.parent) == e.parent && e.path.ends_with(n.name.as_str()))
        .map(|n| n.name.as_str());
    let other_names: Vec<&str> = e
        .names
        .iter()
        .map(|n| n.name.as_str())
        .filter(|n| Some(*n) != primary && !(e.entry == triage_ntfs::ROOT_ENTRY && *n == "."))
        .collect();
    let f = e.flags;
    let flags: Vec<&str> = [
        (f.hidden, "hidden"),
        (f.system, "system"),
        (f.readonly, "readonly"),
        (f.compressed, "compressed"),
        (f.sparse, "sparse"),
        (f.encrypted, "encrypted"),
        (f.reparse, "reparse"),
    ]
    .into_iter()
    .filter_map(|(on, n)| on.then_some(n))
    .collect();
    let (parent_entry, parent_sequence) = e.parent.unwrap_or((0, 0));
    EntryRecord {
        volume: volume.to_string(),
        path: e.path.clone(),
        mft_entry: e.entry,
        sequence: e.sequence,
        parent_entry,
        parent_sequence,
        deleted: !e.in_use,
        directory: e.is_dir,
        si_created: t(si, 0),
        si_modified: t(si, 1),
        si_mft_modified: t(si, 2),
        si_accessed: t(si, 3),
        fn_created: t(e.fn_times, 0),
        fn_modified: t(e.fn_times, 1),
        fn_mft_modified: t(e.fn_times, 2),
        fn_accessed: t(e.fn_times, 3),
        size: e.size,
        allocated: e.allocated,
        flags: flags.join(";"),
        other_names: other_names.join(";"),
        streams: e.streams.join(";"),
        reparse_tag: e.reparse_tag.map(reparse_name).unwrap_or_default(),
        hard_links: e.hard_links,
        detail: e.warnings.join("; "),
        ..Default::default()
    }
}

/// Which records `disk ls` lists: every base record that names a file or directory (in
/// use or deleted). Extension records are merged into their base; never-used records and
/// the reserved records 12–15 name nothing.
pub fn listed(e: &triage_ntfs::Entry) -> bool {
    e.base_record == 0 && (!e.names.is_empty() || !e.path.is_empty())
}

/// A reparse tag as `0x80000017 (WOF)`.
pub fn reparse_name(tag: u32) -> String {
    let name = match tag {
        0x8000_0017 => "WOF",
        0xA000_000C => "symlink",
        0xA000_0003 => "junction",
        0x8000_0013 => "dedup",
        0x8000_001B => "appexeclink",
        0x8000_0023 => "af_unix",
        t if t & 0xFFFF_0FFF == 0x9000_001A => "cloud",
        _ => "",
    };
    if name.is_empty() {
        format!("{tag:#010x}")
    } else {
        format!("{tag:#010x} ({name})")
    }
}
