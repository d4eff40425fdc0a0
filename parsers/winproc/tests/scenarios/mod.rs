//! Scenarios built on memgen's clean boot: the masquerades smss-triage must see.
#![allow(dead_code)]
use triage_memgen::{Scenario, TICKS};

const SYS32: &str = "\\Device\\HarddiskVolume3\\Windows\\System32";
const USER_SID: &str = "S-1-5-21-3623811015-3361044348-30300820-1001";

pub fn clean(build: u32) -> Scenario {
    let mut sc = Scenario::clean_boot(build);
    sc.memory_size = 64 << 20;
    sc
}

fn copy_of(sc: &Scenario, pid: u64) -> triage_memgen::ProcessSpec {
    sc.processes
        .iter()
        .find(|p| p.pid == pid)
        .expect("template process")
        .clone()
}

/// Every masquerade of the brief in one image, beside the normal boot chain.
pub fn masquerades(build: u32) -> Scenario {
    let mut sc = clean(build);
    sc.seed = 7;
    let master = copy_of(&sc, 388);
    let explorer = copy_of(&sc, 4220);
    let late = |secs: u64| master.create_time + secs * TICKS;
    let mut add = |pid: u64, f: &dyn Fn(&mut triage_memgen::ProcessSpec)| {
        let mut p = master.clone();
        p.pid = pid;
        p.create_time = late(600 + pid / 4);
        f(&mut p);
        sc.processes.push(p);
    };
    // smss.exe running from \Users\Public.
    add(6000, &|p| {
        p.ppid = 4220;
        p.session_id = Some(1);
        p.image_path = "\\Device\\HarddiskVolume3\\Users\\Public\\smss.exe".into();
        p.command_line = "C:\\Users\\Public\\smss.exe".into();
    });
    // A second live master smss (no session, parent System).
    add(6004, &|_| {});
    // smss with a normal user's token.
    add(6008, &|p| {
        p.session_id = Some(1);
        p.user_sid = USER_SID.into();
        p.logon_id = 0x2_3c4f1;
        p.integrity_sid = "S-1-16-8192".into();
        p.privileges_present = (1 << 19) | (1 << 23);
        p.privileges_enabled = 1 << 23;
    });
    // Lookalike names.
    for (pid, name) in [
        (6012u64, "smss .exe"),
        (6016, "srnss.exe"),
        (6020, "\u{0455}mss.exe"),
    ] {
        add(pid, &|p| {
            p.name = name.into();
            p.image_path = format!("{SYS32}\\{name}");
            p.command_line = format!("C:\\Windows\\System32\\{name}");
        });
    }
    // smss unlinked from ActiveProcessLinks: only the scan finds it.
    add(6024, &|p| p.linked_in_active_list = false);
    // A PEB image path that disagrees with the kernel's.
    add(6028, &|p| {
        p.peb_image_path = Some("C:\\Windows\\System32\\smss.exe".into())
    });
    // Exited smss children, unlinked (as Windows leaves them): scan only, exit time kept.
    for (pid, session) in [(6032u64, 2u32), (6036, 3)] {
        add(pid, &|p| {
            p.ppid = 388;
            p.session_id = Some(session);
            p.exit_time = Some(p.create_time + 20 * TICKS);
            p.threads = 0;
            p.linked_in_active_list = false;
        });
    }
    // csrss parented by explorer, and a 32-bit (WoW64) process.
    let mut csrss = copy_of(&sc, 580);
    csrss.pid = 6040;
    csrss.ppid = explorer.pid;
    csrss.create_time = explorer.create_time + 50 * TICKS;
    sc.processes.push(csrss);
    let mut wow = explorer.clone();
    wow.pid = 6044;
    wow.name = "setup32.exe".into();
    wow.image_path = "\\Device\\HarddiskVolume3\\Users\\alice\\Downloads\\setup32.exe".into();
    wow.command_line = "\"C:\\Users\\alice\\Downloads\\setup32.exe\" /S".into();
    wow.create_time = explorer.create_time + 70 * TICKS;
    wow.wow64 = true;
    sc.processes.push(wow);
    sc
}
