//! The smss.exe scenarios of the memory issue, each with the rules it must raise: shared by
//! the table-driven tests (`cli_mem_scenarios.rs`) and the discovery tests
//! (`mem_discovery.rs`), which must raise exactly the same rules without a table.

use triage_memgen::{ProcessSpec, Scenario, TICKS};

pub const VOL: &str = r"\Device\HarddiskVolume3";

pub fn find(sc: &mut Scenario, pid: u64) -> &mut ProcessSpec {
    sc.processes
        .iter_mut()
        .find(|p| p.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} in clean_boot"))
}

pub fn master(sc: &Scenario) -> u64 {
    sc.processes
        .iter()
        .find(|p| p.name == "smss.exe" && p.ppid == 4)
        .expect("master smss")
        .pid
}

pub fn explorer(sc: &Scenario) -> ProcessSpec {
    sc.processes
        .iter()
        .find(|p| p.name == "explorer.exe")
        .expect("explorer")
        .clone()
}

pub fn boot_time(sc: &Scenario) -> u64 {
    sc.processes
        .iter()
        .find(|p| p.pid == 4)
        .unwrap()
        .create_time
}

/// A user process started by explorer, with `name` at `path` (below the volume).
pub fn user_process(sc: &Scenario, pid: u64, name: &str, path: &str) -> ProcessSpec {
    let mut p = explorer(sc);
    p.pid = pid;
    p.ppid = explorer(sc).pid;
    p.name = name.into();
    p.image_path = format!("{VOL}{path}");
    p.peb_image_path = None;
    p.command_line = format!("C:{path}");
    p.create_time = explorer(sc).create_time + 5 * TICKS;
    p
}

pub type Mutate = fn(&mut Scenario);

pub fn scenarios() -> Vec<(&'static str, Mutate, &'static [&'static str])> {
    vec![
        ("clean", |_| {}, &[]),
        (
            "smss_users_public",
            |sc| {
                let m = master(sc);
                find(sc, m).image_path = format!(r"{VOL}\Users\Public\smss.exe");
            },
            &["SMSS-PATH"],
        ),
        (
            "second_master",
            |sc| {
                let m = master(sc);
                let mut p = find(sc, m).clone();
                p.pid = 3000;
                p.create_time += 20 * TICKS;
                sc.processes.push(p);
            },
            &["SMSS-INSTANCES"],
        ),
        (
            "smss_user_token",
            |sc| {
                let m = master(sc);
                find(sc, m).user_sid = "S-1-5-21-1111111111-2222222222-3333333333-1001".into();
                // The token keeps SYSTEM's enabled privileges: SeDebugPrivilege on a user token
                // is its own finding.
            },
            &["SEDEBUG", "SMSS-USER"],
        ),
        (
            "lookalike_names",
            |sc| {
                let a = user_process(sc, 7100, "smss .exe", r"\Users\alice\smss .exe");
                let b = user_process(sc, 7104, "srnss.exe", r"\Users\alice\srnss.exe");
                let c = user_process(
                    sc,
                    7108,
                    "\u{0455}mss.exe",
                    "\\Users\\alice\\\u{0455}mss.exe",
                );
                sc.processes.extend([a, b, c]);
            },
            &["NAME-LOOKALIKE"],
        ),
        (
            "smss_unlinked",
            |sc| {
                let m = master(sc);
                let child = sc
                    .processes
                    .iter()
                    .find(|p| p.name == "smss.exe" && p.ppid == m)
                    .unwrap()
                    .clone();
                let mut p = child;
                p.pid = 2000;
                p.session_id = Some(2);
                p.exit_time = None;
                p.threads = 2;
                p.linked_in_active_list = false;
                p.create_time = boot_time(sc) + 100 * TICKS;
                sc.processes.push(p);
            },
            &["HIDDEN", "SMSS-INSTANCES"], // alive an hour after it started: it lingers too
        ),
        (
            "csrss_parent_explorer",
            |sc| {
                let e = explorer(sc);
                let mut p = sc
                    .processes
                    .iter()
                    .find(|p| p.name == "csrss.exe")
                    .unwrap()
                    .clone();
                p.pid = 7200;
                p.ppid = e.pid;
                p.session_id = Some(1);
                p.create_time = e.create_time + 10 * TICKS;
                sc.processes.push(p);
            },
            &["CHILD-PARENT"],
        ),
        (
            "peb_masquerade",
            |sc| {
                let svc = sc
                    .processes
                    .iter()
                    .find(|p| p.name == "svchost.exe")
                    .unwrap()
                    .pid;
                find(sc, svc).peb_image_path = Some(r"C:\Windows\explorer.exe".into());
            },
            &["PEB-MASQ"],
        ),
        (
            "exited_children_scan_only",
            |sc| {
                let m = master(sc);
                for p in sc
                    .processes
                    .iter_mut()
                    .filter(|p| p.name == "smss.exe" && p.ppid == m)
                {
                    p.linked_in_active_list = false;
                }
            },
            &[],
        ),
    ]
}
