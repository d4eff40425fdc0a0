//! Layout discovery when the build is unknown: locate EPROCESS fields in the System
//! process (from `PsInitialSystemProcess`) and the process after it, by their known
//! values and relations (MemProcFS's approach).

use memchr::memmem;

use crate::layout::Layout;
use crate::vmem::VirtualMemory;

const SPAN: usize = 0x1000;

fn q(b: &[u8], o: usize) -> u64 {
    b.get(o..o + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
        .unwrap_or(0)
}

fn is_kernel_ptr(v: u64) -> bool {
    v >= 0xFFFF_8000_0000_0000 && v & 0x7 == 0
}

/// Finds what it can of an x64 EPROCESS layout, given System's EPROCESS address.
/// Returns `None` when even the process list can't be located.
pub fn discover_x64(vm: &VirtualMemory, system: u64) -> Option<Layout> {
    let mut sys = vec![0u8; SPAN];
    vm.read(system, &mut sys);
    let name = memmem::find(&sys, b"System\0\0")?;
    let (pid, flink) = (0x80..name).step_by(8).find_map(|o| {
        let (v, f, b) = (q(&sys, o), q(&sys, o + 8), q(&sys, o + 16));
        if v != 4 || !is_kernel_ptr(f) || !is_kernel_ptr(b) {
            return None;
        }
        // The next entry's Blink must point back at System's list entry.
        (vm.read_u64(f + 8) == Some(system + o as u64 + 8)).then_some((o, f))
    })?;
    let links = pid + 8;
    let next = flink - links as u64;
    let mut nxt = vec![0u8; SPAN];
    vm.read(next, &mut nxt);
    let next_name = nxt.get(name..name + 15)?;
    if !next_name
        .iter()
        .take_while(|&&b| b != 0)
        .all(|b| b.is_ascii_graphic())
        || next_name[0] == 0
    {
        return None;
    }
    let mut l = Layout {
        eprocess_unique_process_id: Some(pid as u32),
        eprocess_active_process_links: Some(links as u32),
        eprocess_image_file_name: Some(name as u32),
        // DISPATCHER_HEADER.SignalState sits at 4 in every x64 build.
        eprocess_signal_state: Some(4),
        ..Layout::default()
    };
    // System has no parent (0); smss and Registry were started by System (4).
    l.eprocess_inherited_from_unique_process_id = (links + 16..name)
        .step_by(8)
        .find(|&o| q(&sys, o) == 0 && q(&nxt, o) == 4)
        .map(|o| o as u32);
    if q(&sys, 0x28) & !0xFFF == vm.dtb & !0xFFF {
        l.eprocess_directory_table_base = Some(0x28);
    }
    // Token: an EX_FAST_REF whose object sits in a pool block tagged `Toke`.
    l.eprocess_token = (links + 16..name).step_by(8).find_map(|o| {
        let v = q(&sys, o) & !0xF;
        if !is_kernel_ptr(v) {
            return None;
        }
        let before = vm.read_exact(v.checked_sub(0x80)?, 0x80)?;
        memmem::find(&before, b"Toke").map(|_| o as u32)
    });
    // The audit image path of the next process is a \Device\ path.
    l.eprocess_se_audit_process_creation_info = (name + 16..SPAN - 8).step_by(8).find_map(|o| {
        let p = q(&nxt, o);
        if !is_kernel_ptr(p) {
            return None;
        }
        let us = vm.read_exact(p, 16)?;
        let len = u16::from_le_bytes([us[0], us[1]]) as usize;
        let buf = q(&us, 8);
        if len < 16 || !is_kernel_ptr(buf) {
            return None;
        }
        let text = vm.read_exact(buf, 16)?;
        let wide: Vec<u8> = "\\Device\\"
            .encode_utf16()
            .flat_map(|c| c.to_le_bytes())
            .collect();
        (text == wide).then_some(o as u32)
    });
    Some(l)
}
