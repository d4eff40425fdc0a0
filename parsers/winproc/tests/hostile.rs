//! Hostile images: generated, then damaged in memory. Bounded work, warnings, no panic.

mod common;
mod scenarios;

use std::io::Cursor;

use triage_isf::Isf;
use triage_memgen::{generate, resolve_isf, Format, Truth};
use triage_winmem::{translate, Arch};
use triage_winproc::{processes, ProcOptions, ProcessList};

struct Image {
    bytes: Vec<u8>,
    truth: Truth,
    isf: Isf,
}

fn image() -> Option<Image> {
    let symbols = common::symbols_dir()?;
    let sc = scenarios::clean(19041);
    let isf = resolve_isf(&sc, &symbols).unwrap();
    let mut out = Cursor::new(Vec::new());
    let truth = generate(&sc, &isf, &mut out, Format::Raw).unwrap();
    Some(Image {
        bytes: out.into_inner(),
        truth,
        isf,
    })
}

impl Image {
    fn pa(&self, va: u64) -> u64 {
        let phys = triage_physmem::parse(self.bytes.clone()).unwrap();
        translate(phys.as_ref(), Arch::X64, self.truth.dtb, va)
            .paddr()
            .expect("mapped")
    }
    fn put_u64(&mut self, pa: u64, v: u64) {
        self.bytes[pa as usize..pa as usize + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, pa: u64, v: u32) {
        self.bytes[pa as usize..pa as usize + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn off(&self, st: &str, field: &str) -> u64 {
        self.isf.field_offset(st, field).unwrap()
    }
    fn eprocess_pa(&self, pid: u64) -> u64 {
        self.truth
            .processes
            .iter()
            .find(|p| p.pid == pid)
            .unwrap()
            .eprocess_pa
    }
    fn run(self, opts: &ProcOptions) -> (ProcessList, Truth) {
        let phys = triage_physmem::parse(self.bytes).unwrap();
        let info = triage_winmem::mem_info(phys.as_ref(), None);
        (processes(phys.as_ref(), &info, opts).unwrap(), self.truth)
    }
}

fn linked_before(truth: &Truth, pid: u64) -> usize {
    truth
        .processes
        .iter()
        .filter(|p| p.linked_in_active_list)
        .take_while(|p| p.pid != pid)
        .count()
}

#[test]
fn self_looping_list_entry_stops_the_walk_with_a_warning() {
    let Some(mut img) = image() else { return };
    // lsass's Flink points at its own list entry.
    let links = img.off("_EPROCESS", "ActiveProcessLinks");
    let lsass = img
        .truth
        .processes
        .iter()
        .find(|p| p.pid == 732)
        .unwrap()
        .eprocess_va;
    let pa = img.eprocess_pa(732);
    img.put_u64(pa + links, lsass + links);
    let (list, truth) = img.run(&ProcOptions::default());
    assert!(!list.stats.list_complete);
    assert!(
        list.warnings.iter().any(|w| w.contains("cycle")),
        "{:?}",
        list.warnings
    );
    assert_eq!(list.stats.list_count, linked_before(&truth, 732) + 1);
    // The scan still finds every process, and none is called hiding: the walk broke.
    assert_eq!(list.processes.len(), truth.processes.len());
    assert!(list.processes.iter().all(|p| !p.hiding_candidate));
}

#[test]
fn list_pointing_outside_memory_or_non_canonical() {
    for bad in [
        0xFFFF_F8FF_DEAD_0000u64,
        0x4141_4141_4141_4141,
        0xFFFF_8000_0000_0008 + (1 << 40),
    ] {
        let Some(mut img) = image() else { return };
        let links = img.off("_EPROCESS", "ActiveProcessLinks");
        let pa = img.eprocess_pa(712);
        img.put_u64(pa + links, bad);
        let (list, truth) = img.run(&ProcOptions::default());
        assert!(!list.stats.list_complete, "{bad:#x}");
        assert_eq!(
            list.stats.list_count,
            linked_before(&truth, 712) + 1,
            "{bad:#x}"
        );
        assert!(
            list.warnings.iter().any(|w| w.contains("walk stopped")),
            "{bad:#x}: {:?}",
            list.warnings
        );
        assert_eq!(list.processes.len(), truth.processes.len(), "{bad:#x}");
    }
}

#[test]
fn unreadable_list_head_gives_an_empty_walk() {
    let Some(mut img) = image() else { return };
    let head = img.truth.ps_active_process_head;
    let pa = img.pa(head);
    img.put_u64(pa, 0);
    let (list, truth) = img.run(&ProcOptions::default());
    assert_eq!(list.stats.list_count, 0);
    assert!(!list.warnings.is_empty());
    assert_eq!(
        list.processes.len(),
        truth.processes.len(),
        "the scan still finds them all"
    );
}

#[test]
fn token_with_a_huge_group_count_is_bounded() {
    let Some(mut img) = image() else { return };
    let t = img
        .truth
        .processes
        .iter()
        .find(|p| p.pid == 388)
        .unwrap()
        .token_va;
    let count_at = img.pa(t) + img.off("_TOKEN", "UserAndGroupCount");
    img.put_u32(count_at, u32::MAX);
    let start = std::time::Instant::now();
    let (list, _) = img.run(&ProcOptions::default());
    assert!(start.elapsed().as_secs() < 20);
    let smss = list.processes.iter().find(|p| p.pid == 388).unwrap();
    let tok = smss.token.as_ref().unwrap();
    assert_eq!(tok.user_and_group_count, u32::MAX);
    assert!(tok.groups.len() < triage_winproc::MAX_USER_AND_GROUPS as usize);
    // The real user SID and groups come first; the garbage after them is cut short.
    assert_eq!(tok.user.as_ref().map(|u| u.sid.as_str()), Some("S-1-5-18"));
    assert!(
        smss.warnings.len() <= 12,
        "{} warnings",
        smss.warnings.len()
    );
    assert!(
        smss.warnings.iter().any(|w| w.contains("exceeds")),
        "{:?}",
        smss.warnings
    );
    // Other processes are untouched.
    let lsass = list.processes.iter().find(|p| p.pid == 732).unwrap();
    assert!(lsass.warnings.is_empty());
}

#[test]
fn without_a_known_process_object_the_scan_relies_on_structure() {
    let Some(img) = image() else { return };
    let phys = triage_physmem::parse(img.bytes.clone()).unwrap();
    let mut info = triage_winmem::mem_info(phys.as_ref(), None);
    // Point everything at nonsense while keeping the real layout.
    info.ps_active_process_head = Some(0xFFFF_FFFF_FFFF_FFF8);
    info.system_eprocess = Some(0x10);
    let list = processes(phys.as_ref(), &info, &ProcOptions::default()).unwrap();
    let truth = img.truth;
    assert_eq!(list.stats.list_count, 0);
    assert_eq!(
        list.stats.type_key, None,
        "no known process object to learn the type from"
    );
    assert!(
        list.warnings
            .iter()
            .any(|w| w.contains("TypeIndex not checked")),
        "{:?}",
        list.warnings
    );
    // The structural check alone still tells the processes from the decoys.
    assert_eq!(list.processes.len(), truth.processes.len());
    assert!(list
        .processes
        .iter()
        .all(|p| p.found_by == triage_winproc::FoundBy::Scan && !p.hiding_candidate));
}

#[test]
fn legacy_privilege_array_is_read_when_the_layout_says_so() {
    use triage_winproc::{processes_with, KernelStart, PrivilegeLayout, ProcLayout};
    for (count, expect_warning) in [(2u32, false), (0xFFFF, true)] {
        let Some(mut img) = image() else { return };
        let t = img
            .truth
            .processes
            .iter()
            .find(|p| p.pid == 388)
            .unwrap()
            .token_va;
        let tpa = img.pa(t);
        // An XP-style token tail inside the TOKEN body (0x498 bytes on 19041): pointer at
        // +0x300, count at +0x308, LUID_AND_ATTRIBUTES entries from +0x310.
        img.put_u64(tpa + 0x300, t + 0x310);
        img.put_u32(tpa + 0x308, count);
        for (i, (luid, attributes)) in [(20u32, 2u32), (23, 3)].into_iter().enumerate() {
            let e = tpa + 0x310 + 12 * i as u64;
            img.put_u64(e, u64::from(luid));
            img.put_u32(e + 8, attributes);
        }
        let phys = triage_physmem::parse(img.bytes).unwrap();
        let info = triage_winmem::mem_info(phys.as_ref(), None);
        let mut l = ProcLayout::from_layout(info.layout.as_ref().unwrap(), info.build).unwrap();
        l.token_privileges = Some(PrivilegeLayout::Array {
            count_at: 0x308,
            pointer_at: 0x300,
        });
        let start = KernelStart {
            dtb: info.dtb.unwrap().dtb,
            ps_active_process_head: info.ps_active_process_head,
            system_eprocess: info.system_eprocess,
            ob_header_cookie: None,
        };
        let list = processes_with(
            phys.as_ref(),
            &start,
            &l,
            &ProcOptions {
                scan: false,
                ..Default::default()
            },
        );
        let smss = list.processes.iter().find(|p| p.pid == 388).unwrap();
        let tok = smss.token.as_ref().unwrap();
        assert_eq!(tok.privileges_present, None, "no bitmasks in this layout");
        let first: Vec<_> = tok
            .privileges
            .iter()
            .take(2)
            .map(|p| (p.name, p.enabled, p.enabled_by_default))
            .collect();
        assert_eq!(
            first,
            vec![
                (Some("SeDebugPrivilege"), true, false),
                (Some("SeChangeNotifyPrivilege"), true, true)
            ]
        );
        assert_eq!(
            smss.warnings.iter().any(|w| w.contains("PrivilegeCount")),
            expect_warning,
            "{:?}",
            smss.warnings
        );
        assert!(tok.privileges.len() <= 64);
    }
}

#[test]
fn image_without_kernel_facts_is_an_error_not_a_panic() {
    let phys = triage_physmem::parse(vec![0u8; 1 << 20]).unwrap();
    let info = triage_winmem::mem_info(phys.as_ref(), None);
    let e = processes(phys.as_ref(), &info, &ProcOptions::default()).unwrap_err();
    assert!(matches!(e, triage_winproc::WinprocError::NoDtb), "{e}");

    let Some(img) = image() else { return };
    let phys = triage_physmem::parse(img.bytes).unwrap();
    let mut info = triage_winmem::mem_info(phys.as_ref(), None);
    info.layout = None;
    let e = processes(phys.as_ref(), &info, &ProcOptions::default()).unwrap_err();
    assert!(
        matches!(e, triage_winproc::WinprocError::MissingField { .. }),
        "{e}"
    );
}
