//! Process walk and pool scan over triage-memgen images, against its Truth.

mod common;

use std::fs::File;
use std::io::BufWriter;

use triage_memgen::{generate, resolve_isf, Format, Scenario};
use triage_winmem::{kernel_pages, read_peb, read_token, mem_info, process_type_index, scan_process_pool, walk_active_processes, VirtualMemory};

#[test]
fn walk_and_scan_match_truth() {
    let Some(symbols) = common::symbols_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for build in [17763u32, 19041, 22000] {
        let sc = Scenario::clean_boot(build);
        let isf = resolve_isf(&sc, &symbols).unwrap();
        let path = tmp.path().join(format!("p{build}.raw"));
        let truth = generate(&sc, &isf, &mut BufWriter::new(File::create(&path).unwrap()), Format::Raw).unwrap();
        let phys = triage_physmem::open(&path).unwrap();
        let info = mem_info(phys.as_ref(), None);
        let layout = info.layout.clone().unwrap();
        let dtb = info.dtb.unwrap();
        let vm = VirtualMemory::new(phys.as_ref(), dtb.arch, dtb.dtb);

        let walk = walk_active_processes(&vm, &layout, info.ps_active_process_head.unwrap());
        assert!(walk.errors.is_empty(), "{:?}", walk.errors);
        let linked: Vec<_> = truth.processes.iter().filter(|p| p.linked_in_active_list).collect();
        assert_eq!(walk.processes.len(), linked.len(), "build {build}");
        for (got, want) in walk.processes.iter().zip(&linked) {
            assert_eq!(got.pid, want.pid);
            assert_eq!(got.ppid, Some(want.ppid));
            assert_eq!(got.image_file_name, want.image_file_name);
            assert_eq!(got.create_time, Some(want.create_time));
            assert_eq!(got.exit_time, Some(want.exit_time.unwrap_or(0)));
            assert_eq!(got.eprocess_va, want.eprocess_va);
            assert_eq!(got.eprocess_pa, Some(want.eprocess_pa));
            assert_eq!(got.dtb.map(|d| d & !0xFFF), Some(want.dtb & !0xFFF));
            assert_eq!(got.peb, Some(want.peb_va));
            assert_eq!(got.token, Some(want.token_va));
            assert_eq!(got.session_id, want.session_id, "pid {}", want.pid);
            let path = got.audit_image_path.clone().unwrap_or_default();
            assert_eq!(path, want.image_path, "pid {}", want.pid);
            let tok = read_token(&vm, &layout, got.token.unwrap());
            assert!(tok.errors.is_empty(), "{:?}", tok.errors);
            assert_eq!(tok.sids, want.sids, "pid {}", want.pid);
            assert_eq!(tok.user_sid.as_deref(), Some(want.user_sid.as_str()));
            assert_eq!(tok.integrity_sid.as_deref(), Some(want.integrity_sid.as_str()));
            assert_eq!(tok.privileges_present, Some(want.privileges_present));
            assert_eq!(tok.privileges_enabled, Some(want.privileges_enabled));
            assert_eq!(tok.authentication_id, Some(want.logon_id));
            let peb = read_peb(phys.as_ref(), &layout, got);
            if want.peb_va == 0 || want.peb_paged_out {
                assert!(peb.image_path.is_none(), "pid {}", want.pid);
                assert!(!peb.errors.is_empty());
            } else {
                assert_eq!(peb.image_path.as_deref(), Some(want.peb_image_path.as_str()), "pid {}", want.pid);
                assert_eq!(peb.command_line.as_deref(), Some(want.command_line.as_str()), "pid {}", want.pid);
            }
        }

        let cookie_rva = layout.symbols.ob_header_cookie.unwrap();
        let cookie = vm.read_exact(info.kernel_base.unwrap() + cookie_rva, 1).unwrap()[0];
        assert_eq!(cookie, truth.ob_header_cookie);
        let ptype = process_type_index(&vm, &layout, info.system_eprocess.unwrap(), Some(cookie)).unwrap();
        assert_eq!(ptype, truth.process_type_index);
        let pages = kernel_pages(&vm, 4 << 20);
        let scanned = scan_process_pool(&vm, &layout, &pages, Some(cookie), ptype);
        let mut want: Vec<u64> = truth.processes.iter().map(|p| p.eprocess_va).collect();
        want.sort_unstable();
        let got: Vec<u64> = scanned.iter().map(|p| p.eprocess_va).collect();
        assert_eq!(got, want, "pool scan, build {build}");
    }
}
