//! Which Windows build each shipped kernel ISF belongs to.
//!
//! ISF files record the PDB GUID/age but not the build number. The mapping below was
//! made for the eight JPCERT/CC ISFs in `shared/symbols` by comparing layouts:
//! `_EPROCESS` size and members (14393: 0x7d0; 17763: 0x858; 18362: 0x880;
//! 19041: 0xa40 — the .3570 update adds `DisabledComponentFlags`/`PathRedirectionHashes`;
//! 20348: 0xbc0 with `NetworkCounters`; 22000: 0xb80 — .2538 adds `SyscallProvider`).
//! Cross-check: the 20348 file shares more kernel symbols with 19041 (38697) than the two
//! 22000 files do (38222), and only the 22000 files have `HvlDmaFlushDeviceDomain`.
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct KnownBuild {
    pub guid: &'static str,
    pub age: u32,
    /// `NtBuildNumber & 0xFFFF`
    pub build: u32,
    /// Update revision (UBR), for humans only.
    pub revision: u32,
    pub product: &'static str,
}

pub const KNOWN_NTKRNLMP: &[KnownBuild] = &[
    // Windows 7 SP1 and 8.1: the builds are given with the files (ntoskrnl 6.1.7601.24540
    // and 6.3.9600.19913, issue #13); their layouts fit (`_EPROCESS` 0x4f8 and 0x700
    // bytes, and no `ObHeaderCookie` symbol: it came with Windows 10).
    KnownBuild {
        guid: "339E74133576439CBCDF7E0229DA3773",
        age: 1,
        build: 7601,
        revision: 24540,
        product: "Windows 7 SP1 / Server 2008 R2",
    },
    KnownBuild {
        guid: "22597D0B40394E23936F6A24C6C52D5B",
        age: 1,
        build: 9600,
        revision: 19913,
        product: "Windows 8.1 / Server 2012 R2",
    },
    KnownBuild {
        guid: "DBBC830E3E9A48FDA25A2144C146930E",
        age: 1,
        build: 14393,
        revision: 6343,
        product: "Windows 10 1607 / Server 2016",
    },
    KnownBuild {
        guid: "1806D020A6E46538D7AC3325FAC114D8",
        age: 1,
        build: 17763,
        revision: 5933,
        product: "Windows 10 1809 / Server 2019",
    },
    KnownBuild {
        guid: "DCA4AD4BEEB4746D48F84C0125019E43",
        age: 1,
        build: 18362,
        revision: 836,
        product: "Windows 10 1903",
    },
    KnownBuild {
        guid: "BBED7C2955FBE4522AAA23F4B8677AD9",
        age: 1,
        build: 19041,
        revision: 329,
        product: "Windows 10 2004",
    },
    KnownBuild {
        guid: "606FF669409B00F7FC8C61A9C1670129",
        age: 1,
        build: 19041,
        revision: 3570,
        product: "Windows 10 2004-22H2 (19041 base)",
    },
    KnownBuild {
        guid: "879AD95F3461091BB6318FA98072AD8E",
        age: 1,
        build: 20348,
        revision: 2529,
        product: "Windows Server 2022",
    },
    KnownBuild {
        guid: "32C1A669D5FFEFD41091F636CFDB6E99",
        age: 1,
        build: 22000,
        revision: 318,
        product: "Windows 11 21H2",
    },
    KnownBuild {
        guid: "0CE4A95C0CD782A7596B034D8648E585",
        age: 1,
        build: 22000,
        revision: 2538,
        product: "Windows 11 21H2",
    },
];

/// Build of a known ntkrnlmp.pdb GUID/age.
pub fn known_build(guid: &str, age: u32) -> Option<&'static KnownBuild> {
    let guid = crate::dir::normalise_guid(guid);
    KNOWN_NTKRNLMP
        .iter()
        .find(|k| k.guid == guid && k.age == age)
}

/// All known ISFs for a build number, oldest revision first.
pub fn known_for_build(build: u32) -> impl Iterator<Item = &'static KnownBuild> {
    KNOWN_NTKRNLMP.iter().filter(move |k| k.build == build)
}
