//! A hibernation file lends no pages (`PhysicalMemory::page` is `None`: its pages are
//! decompressed on demand), so everything that borrows pages must fall back to reading
//! them. Oracle: the raw image the same generator run wrote, read through the map (where
//! `page` lends every page), and the generator's truth.

mod common;

use triage_memgen::{Format, Scenario};
use triage_physmem::{ContainerKind, PhysicalMemory};
use triage_winproc::{count_tag, processes, scan_processes, ProcLayout, ProcOptions, ScanKey};

#[test]
fn hiberfil_counts_and_scans_like_its_raw_image() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sc = Scenario::smss_masquerades(19041);
    sc.memory_size = 64 << 20;
    let Some((raw_path, truth)) = common::generate_image(&sc, Format::Raw, tmp.path(), "img")
    else {
        return;
    };
    let raw = triage_physmem::open(&raw_path).unwrap();
    assert!(raw.page(truth.kernel_base_pa).is_some(), "raw lends pages");
    let raw_info = triage_winmem::mem_info(raw.as_ref(), None);
    let l = ProcLayout::from_layout(raw_info.layout.as_ref().unwrap(), raw_info.build).unwrap();
    let key = ScanKey {
        type_key: Some(truth.process_type_index ^ truth.ob_header_cookie),
        phys_end: raw.size_hint(),
    };
    let tags: [&[u8]; 3] = [b"Proc", b"Toke", b"Obtb"];
    let want_tags: Vec<u64> = tags.iter().map(|t| count_tag(raw.as_ref(), t)).collect();
    // The generator strews stray tags in noise: a count of 0 would prove nothing.
    assert!(want_tags.iter().all(|&n| n > 0), "{want_tags:?}");
    let mut want_hits: Vec<u64> = scan_processes(raw.as_ref(), &l, key)
        .0
        .iter()
        .map(|h| h.pa)
        .collect();
    want_hits.sort_unstable();
    let mut truth_pas: Vec<u64> = truth.processes.iter().map(|p| p.eprocess_pa).collect();
    truth_pas.sort_unstable();
    assert_eq!(want_hits, truth_pas, "raw scan finds what was placed");
    let raw_list = processes(raw.as_ref(), &raw_info, &ProcOptions::default()).unwrap();

    for format in [Format::Hiberfil, Format::HiberfilHuffman] {
        let Some((path, _)) = common::generate_image(&sc, format, tmp.path(), "img") else {
            return;
        };
        let hib = triage_physmem::open(&path).unwrap();
        assert_eq!(hib.kind(), ContainerKind::Hiberfil);
        assert!(
            hib.page(truth.kernel_base_pa).is_none(),
            "hiberfil lends none"
        );
        let name = format.name();
        let got: Vec<u64> = tags.iter().map(|t| count_tag(hib.as_ref(), t)).collect();
        assert_eq!(got, want_tags, "{name}: count_tag");
        let mut hits: Vec<u64> = scan_processes(hib.as_ref(), &l, key)
            .0
            .iter()
            .map(|h| h.pa)
            .collect();
        hits.sort_unstable();
        assert_eq!(hits, want_hits, "{name}: scan hits");
        // The DTB search (winmem, page-borrowing with a read fallback) and the whole
        // process list agree too.
        let info = triage_winmem::mem_info(hib.as_ref(), None);
        assert_eq!(
            info.dtb.map(|d| d.dtb),
            raw_info.dtb.map(|d| d.dtb),
            "{name}: DTB"
        );
        let list = processes(hib.as_ref(), &info, &ProcOptions::default()).unwrap();
        let key_of = |l: &triage_winproc::ProcessList| {
            let mut v: Vec<(u64, Option<u64>, bool)> = l
                .processes
                .iter()
                .map(|p| (p.pid, p.eprocess_pa, p.is_exited()))
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(key_of(&list), key_of(&raw_list), "{name}: processes");
        assert_eq!(list.stats.scan.tag_hits, raw_list.stats.scan.tag_hits);
    }
}
