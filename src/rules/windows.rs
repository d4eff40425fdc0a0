//! What a genuine Session Manager lists, per Windows release: the KnownDLLs names and
//! the csrss ServerDlls of `SubSystems\Windows`, Windows XP through 11.
//!
//! The lists come from documentation and from genuine hives (sources in
//! `docs/rules.md`, rule `REG-KNOWNDLLS`). A hive whose release is unknown is judged
//! against the union: a name is suspicious only when no release lists it.

use std::fmt;

/// A Windows release, as far as the Session Manager defaults differ. Servers share the
/// desktop release of their kernel (2003 → XP, 2008 → Vista, 2008 R2 → 7,
/// 2012/2012 R2 → 8, 2016/2019 → 10, 2022/2025 → 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WindowsRelease {
    /// Windows 2000, XP and Server 2003 (NT 5.x).
    Xp,
    /// Windows Vista and Server 2008 (NT 6.0).
    Vista,
    /// Windows 7 and Server 2008 R2 (NT 6.1).
    Win7,
    /// Windows 8, 8.1, Server 2012 and 2012 R2 (NT 6.2, 6.3).
    Win8,
    /// Windows 10, Server 2016 and 2019 (NT 10.0, builds below 22000; the registry
    /// still says `CurrentVersion` 6.3).
    Win10,
    /// Windows 11, Server 2022 and 2025 (builds from 20348).
    Win11,
}

impl WindowsRelease {
    /// Every release, oldest first.
    pub const ALL: [WindowsRelease; 6] = [
        WindowsRelease::Xp,
        WindowsRelease::Vista,
        WindowsRelease::Win7,
        WindowsRelease::Win8,
        WindowsRelease::Win10,
        WindowsRelease::Win11,
    ];

    /// The release of a SOFTWARE hive's `Microsoft\Windows NT\CurrentVersion`: its
    /// `CurrentVersion` (`5.1`, `6.1`, `6.3`, …) and, when present, `CurrentBuild` or
    /// `CurrentBuildNumber` (Windows 10 and 11 keep `CurrentVersion` at 6.3, so the
    /// build tells them apart). `None` for anything else.
    pub fn from_current_version(current_version: &str, build: Option<u32>) -> Option<Self> {
        if let Some(b) = build {
            // Server 2022 (20348) already has the Windows 11 session manager lists.
            if b >= 20_348 {
                return Some(WindowsRelease::Win11);
            }
            if b >= 10_240 {
                return Some(WindowsRelease::Win10);
            }
        }
        let mut parts = current_version.trim().split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next().unwrap_or("0").parse().ok()?;
        match (major, minor) {
            (5, _) => Some(WindowsRelease::Xp),
            (6, 0) => Some(WindowsRelease::Vista),
            (6, 1) => Some(WindowsRelease::Win7),
            (6, 2 | 3) => Some(WindowsRelease::Win8),
            (10, _) => Some(WindowsRelease::Win10),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WindowsRelease::Xp => "Windows 2000/XP/2003",
            WindowsRelease::Vista => "Windows Vista/2008",
            WindowsRelease::Win7 => "Windows 7/2008 R2",
            WindowsRelease::Win8 => "Windows 8/8.1/2012",
            WindowsRelease::Win10 => "Windows 10/2016/2019",
            WindowsRelease::Win11 => "Windows 11/2022",
        }
    }

    /// The KnownDLLs names (value data without `.dll`, lower case) this release's own
    /// setup writes; the WOW64 and ARM64 emulation entries of its 64-bit editions
    /// included.
    /// A release's list is the union of the slices returned (Windows 11 adds to 10's).
    pub fn known_dlls(self) -> &'static [&'static [&'static str]] {
        match self {
            WindowsRelease::Xp => &[KNOWN_DLLS_XP],
            WindowsRelease::Vista => &[KNOWN_DLLS_VISTA],
            WindowsRelease::Win7 => &[KNOWN_DLLS_7],
            WindowsRelease::Win8 => &[KNOWN_DLLS_8],
            WindowsRelease::Win10 => &[KNOWN_DLLS_10],
            WindowsRelease::Win11 => &[KNOWN_DLLS_10, KNOWN_DLLS_11_ADDED],
        }
    }

    /// The ServerDll names csrss is given on the `SubSystems\Windows` command line.
    pub fn server_dlls(self) -> &'static [&'static [&'static str]] {
        match self {
            // XP: basesrv, winsrv (user and console servers); no SxS server yet.
            WindowsRelease::Xp => &[&["basesrv", "winsrv", "csrsrv"]],
            // Vista adds sxssrv; 7 moves the console server to consrv, and so it stays.
            WindowsRelease::Vista => &[&["basesrv", "winsrv", "sxssrv", "csrsrv"]],
            _ => &[&["basesrv", "winsrv", "sxssrv", "csrsrv", "consrv"]],
        }
    }
}

impl fmt::Display for WindowsRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Is `stem` a genuine name for `release`, or for some release when it is unknown?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Genuine {
    /// Listed by this release (or by some release, the release being unknown).
    Yes,
    /// Not listed by this release, but by these others (oldest first).
    OtherReleases(Vec<WindowsRelease>),
    /// Listed by no release from XP to 11.
    No,
}

fn judge(
    name: &str,
    release: Option<WindowsRelease>,
    list: fn(WindowsRelease) -> &'static [&'static [&'static str]],
) -> Genuine {
    let lower = name.to_ascii_lowercase();
    let listed_by: Vec<WindowsRelease> = WindowsRelease::ALL
        .into_iter()
        .filter(|r| list(*r).iter().any(|l| l.contains(&lower.as_str())))
        .collect();
    match release {
        _ if listed_by.is_empty() => Genuine::No,
        None => Genuine::Yes,
        Some(r) if listed_by.contains(&r) => Genuine::Yes,
        Some(_) => Genuine::OtherReleases(listed_by),
    }
}

/// A KnownDLLs data stem (`kernel32`, `wow64`) against the release's list.
pub fn known_dll(stem: &str, release: Option<WindowsRelease>) -> Genuine {
    judge(stem, release, WindowsRelease::known_dlls)
}

/// A ServerDll name against the release's list.
pub fn server_dll(name: &str, release: Option<WindowsRelease>) -> Genuine {
    judge(name, release, WindowsRelease::server_dlls)
}

/// Is `stem` a KnownDLL of any release (the protected-file check of pending renames)?
pub fn is_known_dll_of_any(stem: &str) -> bool {
    known_dll(stem, None) == Genuine::Yes
}

/// The releases, for a finding: `Windows 2000/XP/2003, Windows Vista/2008`.
pub fn names(releases: &[WindowsRelease]) -> String {
    releases
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

// Windows 2000 and XP/2003 (Windows 2000 Resource Kit Registry Reference, KnownDLLs;
// KB 164501). The 16-bit OLE thunks and `lz32`, `version`, `url` went with Vista.
// The 64-bit editions add the WOW64 layer.
const KNOWN_DLLS_XP: &[&str] = &[
    "advapi32", "comdlg32", "gdi32", "imagehlp", "kernel32", "lz32", "ole32", "oleaut32",
    "olecli32", "olecnv32", "olesvr32", "olethk32", "rpcrt4", "shell32", "url", "urlmon", "user32",
    "version", "wininet", "wldap32", "wow64", "wow64cpu", "wow64win",
];

// Vista/2008: the XP list without the 16-bit-era entries, plus the COM, IME, text and
// networking DLLs of Vista.
const KNOWN_DLLS_VISTA: &[&str] = &[
    "advapi32", "clbcatq", "comdlg32", "gdi32", "iertutil", "imagehlp", "imm32", "kernel32", "lpk",
    "msctf", "msvcrt", "normaliz", "nsi", "ole32", "oleaut32", "psapi", "rpcrt4", "setupapi",
    "shell32", "shlwapi", "urlmon", "user32", "usp10", "wininet", "wldap32", "ws2_32", "wow64",
    "wow64cpu", "wow64win",
];

// Windows 7/2008 R2: Vista's plus sechost and difxapi (a genuine Windows 7 SYSTEM hive:
// regipy's `SYSTEM`).
const KNOWN_DLLS_7: &[&str] = &[
    "advapi32", "clbcatq", "comdlg32", "difxapi", "gdi32", "iertutil", "imagehlp", "imm32",
    "kernel32", "lpk", "msctf", "msvcrt", "normaliz", "nsi", "ole32", "oleaut32", "psapi",
    "rpcrt4", "sechost", "setupapi", "shell32", "shlwapi", "urlmon", "user32", "usp10", "wininet",
    "wldap32", "ws2_32", "wow64", "wow64cpu", "wow64win",
];

// Windows 8/8.1/2012: combase and gdiplus come, iertutil/urlmon/wininet/usp10 go (a
// genuine 8.1-era hive: regipy's `SYSTEM_2`).
const KNOWN_DLLS_8: &[&str] = &[
    "advapi32", "clbcatq", "combase", "comdlg32", "difxapi", "gdi32", "gdiplus", "imagehlp",
    "imm32", "kernel32", "lpk", "msctf", "msvcrt", "normaliz", "nsi", "ole32", "oleaut32", "psapi",
    "rpcrt4", "sechost", "setupapi", "shell32", "shlwapi", "user32", "wldap32", "ws2_32", "wow64",
    "wow64cpu", "wow64win",
];

// Windows 10/2016/2019 (a genuine Windows 10 hive: regipy's `SYSTEM_B`), plus the ARM64
// emulation entries of later builds, and the DLLs that `\KnownDlls` holds as
// dependencies of the listed ones (seen in the object directory of live systems).
const KNOWN_DLLS_10: &[&str] = &[
    "advapi32",
    "clbcatq",
    "combase",
    "comdlg32",
    "coml2",
    "difxapi",
    "gdi32",
    "gdiplus",
    "imagehlp",
    "imm32",
    "kernel32",
    "msctf",
    "msvcrt",
    "normaliz",
    "nsi",
    "ole32",
    "oleaut32",
    "psapi",
    "rpcrt4",
    "sechost",
    "setupapi",
    "shcore",
    "shell32",
    "shlwapi",
    "user32",
    "wldap32",
    "ws2_32",
    "wow64",
    "wow64cpu",
    "wow64win",
    "wowarmhw",
    "xtajit",
    "wow64base",
    "wow64con",
    "comctl32",
    "kernelbase",
    "ntdll",
    "gdi32full",
    "win32u",
    "msvcp_win",
    "ucrtbase",
    "bcryptprimitives",
    "cfgmgr32",
    "windows.storage",
    "crypt32",
    "profapi",
];

// Windows 11/2022: Windows 10's plus xtajit64 (ARM64EC).
const KNOWN_DLLS_11_ADDED: &[&str] = &["xtajit64"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_from_current_version() {
        use WindowsRelease::*;
        let r = WindowsRelease::from_current_version;
        assert_eq!(r("5.1", Some(2600)), Some(Xp));
        assert_eq!(r("5.2", None), Some(Xp));
        assert_eq!(r("6.0", Some(6002)), Some(Vista));
        assert_eq!(r("6.1", Some(7601)), Some(Win7));
        assert_eq!(r("6.3", Some(9600)), Some(Win8));
        assert_eq!(r("6.3", Some(19045)), Some(Win10));
        assert_eq!(r("6.3", Some(22631)), Some(Win11));
        assert_eq!(r("garbage", None), None);
    }

    #[test]
    fn old_names_are_genuine_for_their_release_only() {
        use WindowsRelease::*;
        assert_eq!(known_dll("LZ32", None), Genuine::Yes);
        assert_eq!(known_dll("lz32", Some(Xp)), Genuine::Yes);
        assert_eq!(
            known_dll("olethk32", Some(Win10)),
            Genuine::OtherReleases(vec![Xp])
        );
        assert_eq!(known_dll("evil", None), Genuine::No);
        assert_eq!(known_dll("evil", Some(Win7)), Genuine::No);
        assert_eq!(
            server_dll("sxssrv", Some(Xp)),
            Genuine::OtherReleases(vec![Vista, Win7, Win8, Win10, Win11])
        );
    }
}
