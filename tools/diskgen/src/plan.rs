//! What goes on the Windows-like volume: every file with its origin, its kind and the rule
//! the analyser must raise on it (or `None`: it must stay quiet).

use std::path::{Path, PathBuf};

/// Why an item is on the volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlantKind {
    /// A boot-chain binary where it belongs (Microsoft's, or a project-built stand-in).
    Genuine,
    /// Ordinary System32 neighbours and documents that must not be flagged.
    Filler,
    /// `smss.exe` that is not a native image (console, kernel32 imports).
    FakeSmss,
    /// A protected name in a fake `Windows\System32` below a user-writable folder.
    FakeSystem32,
    /// A name that only looks like a protected one (`srnss.exe`, Cyrillic `ѕmss.exe`).
    Lookalike,
    /// A protected binary under another name.
    Renamed,
    /// A deleted file (MFT record not in use, gone from its directory index).
    Deleted,
    /// A protected name as an alternate data stream (`readme.txt:smss.exe`).
    AlternateStream,
    /// `$STANDARD_INFORMATION` creation set before `$FILE_NAME` creation, whole seconds.
    Timestomped,
    /// The SYSTEM hive with Session Manager persistence.
    Hive,
    /// A memgen crash dump (its own findings come from the memory rules).
    MemoryDump,
    /// `pagefile.sys`, `hiberfil.sys`: placeholders.
    Placeholder,
}

/// Where an entry's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    /// Copied from this file at build time.
    File(PathBuf),
    /// These bytes.
    Bytes(Vec<u8>),
    /// Built with mingw from `samples/pe/src` (a boot-chain stand-in named so).
    Built(&'static str),
    /// A SYSTEM hive: `base` (or an empty hive made here when `None`) with these `.reg`
    /// files merged in order by `hivexregedit --merge`.
    Hive {
        base: Option<PathBuf>,
        regs: Vec<PathBuf>,
    },
    /// A memgen image.
    Memory(MemoryDump),
    /// `header` followed by zeros up to `len` bytes.
    Zeros { header: Vec<u8>, len: u64 },
}

/// A memgen image to put on the volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoryDump {
    /// `shared/symbols` (the ISF directory memgen reads).
    pub symbols: PathBuf,
    /// Windows build of the kernel layout (e.g. 19041).
    pub build: u32,
    /// Physical memory size (memgen needs at least 64 MiB).
    pub size: u64,
    /// A full crash dump (`PAGEDU64`) rather than raw memory.
    pub crash_dump: bool,
}

/// One file (or stream, when the last component holds `:`) on the volume.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `\Windows\System32\smss.exe` style; `\Users\Public\readme.txt:smss.exe` for a stream
    /// (its host file must be an earlier entry).
    pub path: String,
    pub content: Content,
    pub kind: PlantKind,
    /// The rule id the analyser must raise on this item; `None`: nothing at medium or above.
    pub expect_rule: Option<&'static str>,
    /// Other rules the item legitimately raises as well (a console `smss.exe` in
    /// `\Users\Public` is also in the wrong place and imports kernel32).
    pub also: &'static [&'static str],
}

/// What goes on the volume, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

/// A planted or genuine item as built, for the tests' expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// `\Windows\System32\smss.exe` style (`host:stream` for a stream).
    pub path: String,
    pub kind: PlantKind,
    /// Rule id it must raise; `None` = must stay below medium.
    pub expect_rule: Option<&'static str>,
    /// Rules it also raises (see [`Entry::also`]).
    pub also: &'static [&'static str],
    /// Size and SHA-256 (lower-case hex) of its bytes, for `icat`-style checks.
    pub size: u64,
    pub sha256: String,
}

/// Inputs of [`crate::build_windows_like`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The project's `samples/` (PE fakes, look-alikes, `.reg` recipes, PE sources).
    pub samples: PathBuf,
    /// Genuine boot-chain binaries (`shared/samples/pe/genuine-win11-22621`); `None`:
    /// project-built stand-ins only.
    pub genuine_dir: Option<PathBuf>,
    /// Base SYSTEM hive (`shared/samples/hives/regipy__SYSTEM`); `None`: an empty hive made
    /// here, given `Select` and a normal Session Manager from `base_system.reg`.
    pub base_hive: Option<PathBuf>,
    /// A memgen image at `\Windows\MEMORY.DMP` (crash dump) or `\Users\Public\mem.raw`.
    pub memory: Option<MemoryDump>,
    /// Whole disk size in bytes (GPT, 16 MiB ESP, the rest NTFS).
    pub disk_size: u64,
}

impl Options {
    /// The full variant: Microsoft's binaries, regipy's SYSTEM hive, a 64 MiB memgen crash
    /// dump of build 19041, on a 128 MiB disk.
    pub fn with_shared(samples: &Path, shared: &Path) -> Options {
        Options {
            samples: samples.to_path_buf(),
            genuine_dir: Some(shared.join("samples/pe/genuine-win11-22621")),
            base_hive: Some(shared.join("samples/hives/regipy__SYSTEM")),
            memory: Some(MemoryDump {
                symbols: shared.join("symbols"),
                build: 19041,
                size: 64 << 20,
                crash_dump: true,
            }),
            disk_size: 128 << 20,
        }
    }

    /// Only what the project makes itself (committable): stand-ins, a hive from nothing,
    /// no memory dump, on a 40 MiB disk.
    pub fn project_only(samples: &Path) -> Options {
        Options {
            samples: samples.to_path_buf(),
            genuine_dir: None,
            base_hive: None,
            memory: None,
            disk_size: 40 << 20,
        }
    }
}

/// The recycle-bin folder of the (made-up) first local user.
pub const RECYCLE_SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";

const BOOT_CHAIN: [&str; 6] = [
    "smss.exe",
    "csrss.exe",
    "wininit.exe",
    "winlogon.exe",
    "services.exe",
    "svchost.exe",
];

/// A `$Recycle.Bin` `$I` file (version 2): size, deletion time, original path.
fn recycle_info(original: &str, size: u64) -> Vec<u8> {
    let name: Vec<u16> = original.encode_utf16().chain([0]).collect();
    let mut b = Vec::new();
    b.extend_from_slice(&2u64.to_le_bytes());
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&crate::FIXED_FILETIME.to_le_bytes());
    b.extend_from_slice(&(name.len() as u32).to_le_bytes());
    b.extend(name.iter().flat_map(|u| u.to_le_bytes()));
    b
}

impl Plan {
    /// The Windows-like volume for `opts` (see the crate README for the table).
    pub fn windows_like(opts: &Options) -> Plan {
        let pe = opts.samples.join("pe");
        let good = || Content::File(pe.join("good/smss.exe"));
        let tool = || Content::File(pe.join("lookalike/srnss.exe"));
        let mut e = Vec::new();
        let mut add = |path: &str, content, kind, expect_rule, also| {
            e.push(Entry {
                path: path.to_string(),
                content,
                kind,
                expect_rule,
                also,
            })
        };
        let q = PlantKind::Genuine;
        let genuine = |name: &'static str| match &opts.genuine_dir {
            Some(d) => Content::File(d.join(name)),
            None if name == "smss.exe" => Content::File(opts.samples.join("pe/good/smss.exe")),
            None => Content::Built(name),
        };
        for name in BOOT_CHAIN {
            add(
                &format!("\\Windows\\System32\\{name}"),
                genuine(name),
                q,
                None,
                &[],
            );
        }
        // No lsass.exe among the genuine samples: a project-built one, timestomped.
        add(
            "\\Windows\\System32\\lsass.exe",
            Content::Built("lsass.exe"),
            PlantKind::Timestomped,
            Some("FILE-TIMESTOMP"),
            &[],
        );
        let f = PlantKind::Filler;
        for path in [
            "\\Windows\\System32\\msg.exe",
            "\\Windows\\System32\\OpenSSH\\ssh.exe",
            "\\Windows\\System32\\SyncHost.exe",
            "\\Windows\\System32\\LsaIso.exe",
            "\\Windows\\servicing\\TrustedInstaller.exe",
        ] {
            add(path, tool(), f, None, &[]);
        }
        add(
            "\\Windows\\System32\\csrsrv.dll",
            Content::Bytes(b"csrsrv.dll placeholder\r\n".to_vec()),
            f,
            None,
            &[],
        );
        add(
            "\\Windows\\System32\\en-US\\smss.exe.mui",
            Content::Bytes(b"smss.exe.mui placeholder\r\n".to_vec()),
            f,
            None,
            &[],
        );
        let mut regs = Vec::new();
        if opts.base_hive.is_none() {
            regs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("base_system.reg"));
        }
        regs.push(opts.samples.join("hives/bootexecute_extra.reg"));
        add(
            "\\Windows\\System32\\config\\SYSTEM",
            Content::Hive {
                base: opts.base_hive.clone(),
                regs,
            },
            PlantKind::Hive,
            Some("REG-BOOTEXECUTE"),
            &[],
        );
        add(
            "\\Windows\\WinSxS\\amd64_microsoft-windows-smss_31bf3856ad364e35_10.0.22621.1_none_5e9b8e0f3a7c1d42\\smss.exe",
            genuine("smss.exe"),
            q,
            None,
            &[],
        );
        add(
            "\\Windows.old\\Windows\\System32\\smss.exe",
            genuine("smss.exe"),
            q,
            None,
            &[],
        );
        add(
            "\\Users\\Public\\smss.exe",
            Content::File(pe.join("fake/smss.exe")),
            PlantKind::FakeSmss,
            Some("SMSS-FILE-NOT-NATIVE"),
            &["FILE-PROTECTED-PATH", "SMSS-FILE-IMPORTS"],
        );
        add(
            "\\Users\\Public\\Windows\\System32\\smss.exe",
            good(),
            PlantKind::FakeSystem32,
            Some("FILE-PROTECTED-PATH"),
            &[],
        );
        for name in ["srnss.exe", "ѕmss.exe"] {
            add(
                &format!("\\ProgramData\\{name}"),
                Content::File(pe.join("lookalike").join(name)),
                PlantKind::Lookalike,
                Some("FILE-LOOKALIKE"),
                &[],
            );
        }
        add(
            "\\Windows\\Temp\\updater.exe",
            Content::File(pe.join("renamed/updater.exe")),
            PlantKind::Renamed,
            Some("FILE-RENAMED"),
            &[],
        );
        let bin = format!("\\$Recycle.Bin\\{RECYCLE_SID}");
        let good_len = std::fs::metadata(pe.join("good/smss.exe")).map_or(0, |m| m.len());
        add(
            &format!("{bin}\\$IABC123.exe"),
            Content::Bytes(recycle_info("C:\\Users\\Public\\smss.exe", good_len)),
            f,
            None,
            &[],
        );
        add(
            &format!("{bin}\\$RABC123.exe"),
            good(),
            PlantKind::Deleted,
            Some("FILE-RENAMED"),
            &[],
        );
        add(
            "\\Users\\Public\\readme.txt",
            Content::Bytes(b"Public documents.\r\n".to_vec()),
            f,
            None,
            &[],
        );
        add(
            "\\Users\\Public\\readme.txt:smss.exe",
            good(),
            PlantKind::AlternateStream,
            Some("FILE-PROTECTED-PATH"),
            &[],
        );
        if let Some(m) = &opts.memory {
            let path = if m.crash_dump {
                "\\Windows\\MEMORY.DMP"
            } else {
                "\\Users\\Public\\mem.raw"
            };
            add(
                path,
                Content::Memory(m.clone()),
                PlantKind::MemoryDump,
                None,
                &[],
            );
        }
        add(
            "\\pagefile.sys",
            Content::Zeros {
                header: Vec::new(),
                len: 1 << 20,
            },
            PlantKind::Placeholder,
            None,
            &[],
        );
        add(
            "\\hiberfil.sys",
            Content::Zeros {
                header: b"WAKE".to_vec(),
                len: 1 << 20,
            },
            PlantKind::Placeholder,
            None,
            &[],
        );
        Plan { entries: e }
    }
}
