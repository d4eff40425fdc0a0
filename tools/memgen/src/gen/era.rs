//! What a kernel generation does differently, decided once from the build number and the
//! ISF: Windows 7 SP1 (7601) and 8.1 (9600) against Windows 10/11.
use triage_isf::Isf;

/// Windows 8 (9200) dropped PROTECTED_POOL from object allocations (`Pro\xe3` → `Proc`).
const FIRST_BUILD_WITHOUT_PROTECTED_TAGS: u32 = 9200;
/// Windows 10 1607 (14393) randomised the PML4 self-map slot.
const FIRST_BUILD_WITH_RANDOM_SELF_MAP: u32 = 14393;
/// The self-map slot before that: `0xFFFFF680_00000000` is the PTE base.
pub const FIXED_SELF_MAP: u64 = 0x1ED;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Era {
    pub build: u32,
    /// The ISF has `ObHeaderCookie` (Windows 10+): OBJECT_HEADER.TypeIndex is stored
    /// XORed with the cookie and a byte of the header address.
    pub type_index_encoded: bool,
    /// `_HANDLE_TABLE_ENTRY` has `ObjectPointerBits` (8.1+); before, `Object` is the
    /// OBJECT_HEADER address with flag bits in its low 3 bits.
    pub handle_pointer_bits: bool,
}

impl Era {
    pub fn new(build: u32, isf: &Isf) -> Era {
        Era {
            build,
            type_index_encoded: isf.symbol_rva("ObHeaderCookie").is_some(),
            handle_pointer_bits: isf
                .bitfield("_HANDLE_TABLE_ENTRY", "ObjectPointerBits")
                .is_some(),
        }
    }

    /// Windows 10 and later.
    pub fn is_win10(&self) -> bool {
        self.build >= 10240
    }

    /// NtMajorVersion / NtMinorVersion (KUSER_SHARED_DATA, PEB).
    pub fn nt_version(&self) -> (u32, u32) {
        match self.build {
            b if b >= 10240 => (10, 0),
            b if b >= 9600 => (6, 3),
            b if b >= 9200 => (6, 2),
            b if b >= 7600 => (6, 1),
            _ => (6, 0),
        }
    }

    /// The kernel's CR3 as real systems of that generation have it.
    pub fn kernel_dtb(&self) -> u64 {
        match self.build {
            b if b >= 10240 => super::KERNEL_DTB,
            b if b >= 9200 => 0x1A7000,
            _ => 0x187000,
        }
    }

    pub fn fixed_self_map(&self) -> Option<u64> {
        (self.build < FIRST_BUILD_WITH_RANDOM_SELF_MAP).then_some(FIXED_SELF_MAP)
    }

    /// Object allocations carry PROTECTED_POOL, the tag's top bit (`Pro\xe3`, `Tok\xe5`).
    pub fn object_tag(&self, tag: &[u8; 4]) -> [u8; 4] {
        let mut t = *tag;
        if self.build < FIRST_BUILD_WITHOUT_PROTECTED_TAGS {
            t[3] |= 0x80;
        }
        t
    }

    /// PML4 slots of the kernel regions before Windows 10's randomised layout, in the
    /// order the builder asks for them: nonpaged pool, busy pool, then the others.
    /// Windows 7: nonpaged pool 0xFFFFFA80`, hyperspace 0xFFFFF700`, system PTEs and
    /// paged pool 0xFFFFF880`, session space 0xFFFFF900`, system cache 0xFFFFF980`.
    /// Windows 8.1: nonpaged pool 0xFFFFE000`, paged pool 0xFFFFC000`, system PTEs
    /// 0xFFFFD000`, hyperspace, session space.
    pub fn regions(&self) -> Option<&'static [u64]> {
        match self.build {
            b if b >= 10240 => None,
            b if b >= 9200 => Some(&[0x1C0, 0x1C1, 0x180, 0x1A0, 0x1EE, 0x1F2]),
            _ => Some(&[0x1F5, 0x1F6, 0x1EE, 0x1F1, 0x1F2, 0x1F3]),
        }
    }

    /// NtBuildLab of the kernels the ISFs describe (first release for Windows 10+).
    pub fn build_lab(&self) -> String {
        let tail = match self.build {
            7601 => "24540.amd64fre.win7sp1_ldr_escrow.191127-1706",
            9600 => "19913.amd64fre.winblue_ltsb_escrow.201207-1800",
            14393 => "0.amd64fre.rs1_release.160715-1616",
            17763 => "1.amd64fre.rs5_release.180914-1434",
            18362 => "1.amd64fre.19h1_release.190318-1202",
            19041 => "1.amd64fre.vb_release.191206-1406",
            20348 => "1.amd64fre.fe_release.210507-1500",
            22000 => "1.amd64fre.co_release.210604-1628",
            _ => "1.amd64fre.release.000000-0000",
        };
        format!("{}.{tail}", self.build)
    }

    /// CmNtCSDVersion: the service pack in the high byte (Windows 7 SP1: 0x100).
    pub fn csd_version(&self) -> u32 {
        if (7601..7700).contains(&self.build) {
            0x100
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn era(build: u32) -> Era {
        Era {
            build,
            type_index_encoded: build >= 10240,
            handle_pointer_bits: build >= 9600,
        }
    }

    #[test]
    fn generations_differ_where_windows_does() {
        assert_eq!(era(7601).fixed_self_map(), Some(0x1ED));
        assert_eq!(era(9600).fixed_self_map(), Some(0x1ED));
        assert_eq!(era(14393).fixed_self_map(), None);
        assert_eq!(&era(7601).object_tag(b"Proc"), b"Pro\xe3");
        assert_eq!(&era(7601).object_tag(b"Toke"), b"Tok\xe5");
        assert_eq!(&era(9600).object_tag(b"Proc"), b"Proc");
        assert_eq!(era(7601).nt_version(), (6, 1));
        assert_eq!(era(9600).nt_version(), (6, 3));
        assert_eq!(era(19041).nt_version(), (10, 0));
        for b in [7601, 9600] {
            let r = era(b).regions().unwrap();
            let mut s = r.to_vec();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), r.len(), "{b}: distinct slots");
            assert!(r
                .iter()
                .all(|i| *i >= 0x100 && ![0x1ED, 0x1EF, 0x1F0].contains(i)));
        }
    }
}
