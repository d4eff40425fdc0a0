//! What to put in an image. Loadable from JSON; `clean_boot` gives a normal Windows boot.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// FILETIME ticks (100 ns) per second.
pub const TICKS: u64 = 10_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Build number (`NtBuildNumber & 0xFFFF`); picks a known ISF from the symbol directory.
    #[serde(default)]
    pub build: Option<u32>,
    /// Or an explicit ISF file; wins over `build`.
    #[serde(default)]
    pub isf: Option<PathBuf>,
    /// Physical memory size in bytes.
    pub memory_size: u64,
    pub seed: u64,
    /// Dump time (KUSER_SHARED_DATA.SystemTime), FILETIME.
    pub system_time: u64,
    #[serde(default = "default_cpus")]
    pub processors: u32,
    /// Share of physical memory (0.0..=0.9) additionally mapped into the kernel half as
    /// nonpaged pool (2 MiB pages of noise with decoy tags), as a busy system has: what
    /// a virtual-layer pool scanner such as Volatility's psscan must wade through.
    #[serde(default)]
    pub kernel_pool_fraction: f64,
    /// `MiState.Hardware.InvalidPteMask`: non-zero swizzles paged-out PTEs as kernels
    /// with the L1TF mitigation do (0: not swizzled, as on CPUs without it).
    #[serde(default)]
    pub invalid_pte_mask: u64,
    pub processes: Vec<ProcessSpec>,
}

fn default_cpus() -> u32 {
    2
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum TokenType {
    Primary,
    Impersonation,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupSpec {
    pub sid: String,
    /// SE_GROUP_* attributes.
    pub attributes: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub pid: u64,
    pub ppid: u64,
    /// Full file name, e.g. "smss.exe" (EPROCESS keeps only 15 bytes).
    pub name: String,
    /// NT path, `\Device\HarddiskVolume3\Windows\System32\smss.exe`; empty for System.
    #[serde(default)]
    pub image_path: String,
    /// DOS path in the PEB; derived from `image_path` when absent.
    #[serde(default)]
    pub peb_image_path: Option<String>,
    #[serde(default)]
    pub command_line: String,
    /// `None` for System, Registry and the master smss (no session).
    #[serde(default)]
    pub session_id: Option<u32>,
    pub create_time: u64,
    #[serde(default)]
    pub exit_time: Option<u64>,
    #[serde(default = "system_sid")]
    pub user_sid: String,
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// Mandatory label SID, e.g. S-1-16-16384 (System).
    #[serde(default = "system_integrity")]
    pub integrity_sid: String,
    #[serde(default)]
    pub privileges_present: u64,
    #[serde(default)]
    pub privileges_enabled: u64,
    #[serde(default = "primary")]
    pub token_type: TokenType,
    /// AuthenticationId (logon session LUID); 0x3e7 is SYSTEM.
    #[serde(default = "system_logon")]
    pub logon_id: u64,
    #[serde(default = "yes")]
    pub linked_in_active_list: bool,
    #[serde(default)]
    pub peb_paged_out: bool,
    /// Page the process-parameter pages (strings, environment) out too.
    #[serde(default)]
    pub params_paged_out: bool,
    /// Paging file the paged-out pages go to (0 = pagefile.sys, the file generated).
    #[serde(default)]
    pub pagefile_number: u8,
    #[serde(default)]
    pub wow64: bool,
    /// Environment block entries, `NAME=value` (USERNAME/USERDOMAIN/SESSIONNAME are what
    /// Volatility's `windows.sessions` reports).
    #[serde(default)]
    pub environment: Vec<String>,
    /// Live threads; 0 for exited processes.
    #[serde(default = "one")]
    pub threads: u32,
}

fn system_sid() -> String {
    "S-1-5-18".into()
}
fn system_integrity() -> String {
    "S-1-16-16384".into()
}
fn primary() -> TokenType {
    TokenType::Primary
}
fn system_logon() -> u64 {
    0x3e7
}
fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

/// `\Device\HarddiskVolumeN\X` → `C:\X`.
pub fn dos_path(nt: &str) -> String {
    let lower = nt.to_ascii_lowercase();
    if lower.starts_with("\\device\\harddiskvolume") {
        if let Some(rest) = nt["\\Device\\".len()..].find('\\') {
            return format!("C:{}", &nt["\\Device\\".len() + rest..]);
        }
    }
    nt.to_string()
}

/// SE_GROUP_MANDATORY | ENABLED_BY_DEFAULT | ENABLED
pub const GROUP_DEFAULT: u32 = 0x7;
/// SE_GROUP_OWNER in addition.
pub const GROUP_OWNER: u32 = 0xF;
/// SE_GROUP_INTEGRITY | SE_GROUP_INTEGRITY_ENABLED
pub const GROUP_INTEGRITY: u32 = 0x60;

/// Privileges a SYSTEM token holds (bits by LUID), as observed on Windows 10: LUIDs 2..=35
/// minus a few never granted to LocalSystem.
pub const SYSTEM_PRIVS_PRESENT: u64 = 0x0000_000F_FFFF_FFFC & !(1 << 18) & !(1 << 25);
pub const SYSTEM_PRIVS_ENABLED: u64 = 0x0000_0001_F2F0_A0BC & SYSTEM_PRIVS_PRESENT;

impl ProcessSpec {
    pub fn peb_path(&self) -> String {
        self.peb_image_path
            .clone()
            .unwrap_or_else(|| dos_path(&self.image_path))
    }
    pub fn is_exited(&self) -> bool {
        self.exit_time.is_some()
    }
}

fn proc(
    pid: u64,
    ppid: u64,
    name: &str,
    session: Option<u32>,
    create: u64,
    cmd: &str,
) -> ProcessSpec {
    let image_path = if name == "System" || name == "Registry" {
        String::new()
    } else {
        format!("\\Device\\HarddiskVolume3\\Windows\\System32\\{name}")
    };
    ProcessSpec {
        pid,
        ppid,
        name: name.into(),
        command_line: cmd.into(),
        image_path,
        peb_image_path: None,
        session_id: session,
        create_time: create,
        exit_time: None,
        user_sid: system_sid(),
        groups: vec![
            GroupSpec {
                sid: "S-1-5-32-544".into(),
                attributes: GROUP_OWNER,
            },
            GroupSpec {
                sid: "S-1-1-0".into(),
                attributes: GROUP_DEFAULT,
            },
            GroupSpec {
                sid: "S-1-5-11".into(),
                attributes: GROUP_DEFAULT,
            },
        ],
        integrity_sid: system_integrity(),
        privileges_present: SYSTEM_PRIVS_PRESENT,
        privileges_enabled: SYSTEM_PRIVS_ENABLED,
        token_type: TokenType::Primary,
        logon_id: 0x3e7,
        linked_in_active_list: true,
        peb_paged_out: false,
        params_paged_out: false,
        pagefile_number: 0,
        wow64: false,
        environment: if session.is_some() {
            vec![
                "ComSpec=C:\\Windows\\system32\\cmd.exe".into(),
                "SystemRoot=C:\\Windows".into(),
                "USERDOMAIN=WORKGROUP".into(),
                "USERNAME=SYSTEM".into(),
            ]
        } else {
            Vec::new()
        },
        threads: 4,
    }
}

impl Scenario {
    /// A normal boot: System, Registry (from 1803 on), master smss (no session), one smss child per session
    /// (exited seconds after starting), csrss ×2, wininit, winlogon, services, lsass,
    /// svchost ×N, a user's explorer.
    pub fn clean_boot(build: u32) -> Scenario {
        // 2024-03-12 08:14:03 UTC
        let boot: u64 = 133_547_048_430_000_000;
        let t = |secs_x10: u64| boot + secs_x10 * TICKS / 10;
        let sys32 = "C:\\Windows\\System32";
        let mut p = vec![
            proc(4, 0, "System", None, t(0), ""),
            proc(108, 4, "Registry", None, t(3), ""),
            proc(
                388,
                4,
                "smss.exe",
                None,
                t(12),
                "\\SystemRoot\\System32\\smss.exe",
            ),
        ];
        p[0].threads = 160;
        let mut smss0 = proc(
            488,
            388,
            "smss.exe",
            Some(0),
            t(41),
            "\\SystemRoot\\System32\\smss.exe 000000b4 00000080 ",
        );
        smss0.exit_time = Some(t(63));
        smss0.threads = 0;
        let mut smss1 = proc(
            564,
            388,
            "smss.exe",
            Some(1),
            t(64),
            "\\SystemRoot\\System32\\smss.exe 000000c0 00000080 ",
        );
        smss1.exit_time = Some(t(92));
        smss1.threads = 0;
        let csrss_cmd = "%SystemRoot%\\system32\\csrss.exe ObjectDirectory=\\Windows SharedSection=1024,20480,768 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=sxssrv,4 ProfileControl=Off MaxRequestThreads=16";
        p.push(smss0);
        p.push(proc(496, 488, "csrss.exe", Some(0), t(55), csrss_cmd));
        p.push(proc(572, 488, "wininit.exe", Some(0), t(60), "wininit.exe"));
        p.push(smss1);
        p.push(proc(580, 564, "csrss.exe", Some(1), t(70), csrss_cmd));
        p.push(proc(
            668,
            564,
            "winlogon.exe",
            Some(1),
            t(85),
            "winlogon.exe",
        ));
        p.push(proc(
            712,
            572,
            "services.exe",
            Some(0),
            t(88),
            &format!("{sys32}\\services.exe"),
        ));
        p.push(proc(
            732,
            572,
            "lsass.exe",
            Some(0),
            t(90),
            &format!("{sys32}\\lsass.exe"),
        ));
        let svc = [
            ("-k DcomLaunch -p", 860u64),
            ("-k RPCSS -p", 944),
            ("-k LocalServiceNetworkRestricted -p", 1012),
            ("-k netsvcs -p", 1120),
        ];
        for (i, (args, pid)) in svc.iter().enumerate() {
            let mut s = proc(
                *pid,
                712,
                "svchost.exe",
                Some(0),
                t(100 + 7 * i as u64),
                &format!("{sys32}\\svchost.exe {args}"),
            );
            if i == 2 {
                s.user_sid = "S-1-5-19".into();
                s.logon_id = 0x3e5;
                s.privileges_present = 0x0000_0000_2080_0000 | (1 << 29) | (1 << 30);
                s.privileges_enabled = 1 << 23;
            }
            p.push(s);
        }
        let mut ui = proc(
            1304,
            668,
            "userinit.exe",
            Some(1),
            t(300),
            &format!("{sys32}\\userinit.exe"),
        );
        ui.exit_time = Some(t(330));
        ui.threads = 0;
        ui.linked_in_active_list = false;
        let user = "S-1-5-21-3623811015-3361044348-30300820-1001";
        let mut explorer = proc(
            4220,
            1304,
            "explorer.exe",
            Some(1),
            t(320),
            "C:\\Windows\\Explorer.EXE",
        );
        explorer.image_path = "\\Device\\HarddiskVolume3\\Windows\\explorer.exe".into();
        for q in [&mut ui, &mut explorer] {
            q.user_sid = user.into();
            q.logon_id = 0x2_3c4f1;
            q.integrity_sid = "S-1-16-8192".into();
            q.privileges_present = (1 << 19) | (1 << 23) | (1 << 25) | (1 << 33) | (1 << 34);
            q.privileges_enabled = 1 << 23;
            q.environment = vec![
                "ComSpec=C:\\Windows\\system32\\cmd.exe".into(),
                "SESSIONNAME=Console".into(),
                "USERDOMAIN=DESKTOP-7RX1K3P".into(),
                "USERNAME=alice".into(),
                "USERPROFILE=C:\\Users\\alice".into(),
            ];
            q.groups = vec![
                GroupSpec {
                    sid: "S-1-1-0".into(),
                    attributes: GROUP_DEFAULT,
                },
                GroupSpec {
                    sid: "S-1-5-32-545".into(),
                    attributes: GROUP_DEFAULT,
                },
                GroupSpec {
                    sid: "S-1-5-4".into(),
                    attributes: GROUP_DEFAULT,
                },
                GroupSpec {
                    sid: "S-1-5-11".into(),
                    attributes: GROUP_DEFAULT,
                },
            ];
        }
        let mut onedrive = explorer.clone();
        onedrive.pid = 6140;
        onedrive.ppid = 4220;
        onedrive.name = "OneDrive.exe".into();
        onedrive.image_path = "\\Device\\HarddiskVolume3\\Users\\alice\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe".into();
        onedrive.command_line =
            "\"C:\\Users\\alice\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe\" /background"
                .into();
        onedrive.create_time = t(420);
        onedrive.wow64 = true;
        p.push(ui);
        p.push(explorer);
        p.push(onedrive);
        let mut bg = proc(
            5012,
            860,
            "RuntimeBroker.exe",
            Some(1),
            t(400),
            &format!("{sys32}\\RuntimeBroker.exe -Embedding"),
        );
        bg.peb_paged_out = true;
        p.push(bg);
        // The Registry process exists since Windows 10 1803 (17134).
        if build < 17134 {
            p.retain(|x| x.name != "Registry");
        }
        if build < 10240 {
            legacy_processes(&mut p, build);
        }
        Scenario {
            build: Some(build),
            isf: None,
            memory_size: 256 << 20,
            seed: 1,
            system_time: t(3600 * 10),
            processors: 2,
            kernel_pool_fraction: 0.0,
            invalid_pte_mask: 0,
            processes: p,
        }
    }
}

/// What a Windows 7 / 8.1 boot runs differently: svchost groups without `-p` (added in
/// Windows 10 1703), Windows 7's lsm.exe under wininit, and taskhost.exe (child of
/// services) where Windows 8+ has RuntimeBroker.exe.
fn legacy_processes(p: &mut Vec<ProcessSpec>, build: u32) {
    for x in p.iter_mut().filter(|x| x.name == "svchost.exe") {
        if let Some(cmd) = x.command_line.strip_suffix(" -p") {
            x.command_line = cmd.to_string();
        }
    }
    if build >= 9200 {
        return;
    }
    if let Some(bg) = p.iter_mut().find(|x| x.name == "RuntimeBroker.exe") {
        bg.name = "taskhost.exe".into();
        bg.ppid = 712;
        bg.image_path = "\\Device\\HarddiskVolume3\\Windows\\System32\\taskhost.exe".into();
        bg.command_line = "taskhost.exe".into();
    }
    if let Some(lsass) = p.iter().find(|x| x.name == "lsass.exe").cloned() {
        let mut lsm = lsass;
        lsm.pid = 740;
        lsm.name = "lsm.exe".into();
        lsm.image_path = "\\Device\\HarddiskVolume3\\Windows\\System32\\lsm.exe".into();
        lsm.command_line = "C:\\Windows\\system32\\lsm.exe".into();
        lsm.create_time += TICKS / 10;
        p.push(lsm);
    }
}

impl Scenario {
    /// `clean_boot` plus what the rules must flag: an `smss.exe` run from a user folder by
    /// explorer under the user's account, an `smss.exe` hidden by unlinking it from the active
    /// process list (DKOM; only pool scanning finds it), a session-2 smss child that never
    /// exited, and a look-alike `smsss.exe` started by System.
    pub fn smss_masquerades(build: u32) -> Scenario {
        let mut sc = Scenario::clean_boot(build);
        let base = |sc: &Scenario, pid: u64| sc.processes.iter().find(|p| p.pid == pid).cloned();
        let boot = sc.processes[0].create_time;
        if let Some(explorer) = base(&sc, 4220) {
            let mut fake = explorer;
            fake.pid = 7312;
            fake.ppid = 4220;
            fake.name = "smss.exe".into();
            fake.image_path = "\\Device\\HarddiskVolume3\\Users\\Public\\smss.exe".into();
            fake.command_line = "C:\\Users\\Public\\smss.exe".into();
            fake.create_time = boot + 900 * TICKS;
            fake.wow64 = false;
            sc.processes.push(fake);
        }
        if let Some(master) = base(&sc, 388) {
            let mut hidden = master.clone();
            hidden.pid = 7440;
            hidden.ppid = 388;
            hidden.session_id = Some(1);
            hidden.create_time = boot + 950 * TICKS;
            hidden.linked_in_active_list = false;
            sc.processes.push(hidden);
            let mut lingering = master.clone();
            lingering.pid = 2216;
            lingering.ppid = 388;
            lingering.session_id = Some(2);
            lingering.command_line = "\\SystemRoot\\System32\\smss.exe 000000f0 00000080 ".into();
            lingering.create_time = boot + 1200 * TICKS;
            sc.processes.push(lingering);
            let mut typo = master;
            typo.pid = 7588;
            typo.name = "smsss.exe".into();
            typo.image_path = "\\Device\\HarddiskVolume3\\Windows\\System32\\smsss.exe".into();
            typo.command_line = "\\SystemRoot\\System32\\smsss.exe".into();
            typo.create_time = boot + 1000 * TICKS;
            sc.processes.push(typo);
        }
        sc
    }
}
