//! Names for the numeric header fields, spelled as in the PE/COFF
//! specification without the `IMAGE_FILE_MACHINE_` / `IMAGE_SUBSYSTEM_`
//! prefixes, so they can be compared with other tools' output.

pub fn machine_name(machine: u16) -> &'static str {
    match machine {
        0x0000 => "UNKNOWN",
        0x014c => "I386",
        0x0162 => "R3000",
        0x0166 => "R4000",
        0x0168 => "R10000",
        0x0169 => "WCEMIPSV2",
        0x0184 => "ALPHA",
        0x01a2 => "SH3",
        0x01a3 => "SH3DSP",
        0x01a4 => "SH3E",
        0x01a6 => "SH4",
        0x01a8 => "SH5",
        0x01c0 => "ARM",
        0x01c2 => "THUMB",
        0x01c4 => "ARMNT",
        0x01d3 => "AM33",
        0x01f0 => "POWERPC",
        0x01f1 => "POWERPCFP",
        0x0200 => "IA64",
        0x0266 => "MIPS16",
        0x0284 => "ALPHA64",
        0x0366 => "MIPSFPU",
        0x0466 => "MIPSFPU16",
        0x0520 => "TRICORE",
        0x0cef => "CEF",
        0x0ebc => "EBC",
        0x5032 => "RISCV32",
        0x5064 => "RISCV64",
        0x5128 => "RISCV128",
        0x6232 => "LOONGARCH32",
        0x6264 => "LOONGARCH64",
        0x8664 => "AMD64",
        0x9041 => "M32R",
        0xa641 => "ARM64EC",
        0xa64e => "ARM64X",
        0xaa64 => "ARM64",
        0xc0ee => "CEE",
        _ => "UNRECOGNIZED",
    }
}

pub fn subsystem_name(subsystem: u16) -> &'static str {
    match subsystem {
        0 => "unknown",
        1 => "native",
        2 => "windows_gui",
        3 => "windows_cui",
        5 => "os2_cui",
        7 => "posix_cui",
        8 => "native_windows",
        9 => "windows_ce_gui",
        10 => "efi_application",
        11 => "efi_boot_service_driver",
        12 => "efi_runtime_driver",
        13 => "efi_rom",
        14 => "xbox",
        16 => "windows_boot_application",
        _ => "unrecognized",
    }
}

const CHARACTERISTICS: &[(u16, &str)] = &[
    (0x0001, "RELOCS_STRIPPED"),
    (0x0002, "EXECUTABLE_IMAGE"),
    (0x0004, "LINE_NUMS_STRIPPED"),
    (0x0008, "LOCAL_SYMS_STRIPPED"),
    (0x0010, "AGGRESIVE_WS_TRIM"),
    (0x0020, "LARGE_ADDRESS_AWARE"),
    (0x0040, "16BIT_MACHINE"),
    (0x0080, "BYTES_REVERSED_LO"),
    (0x0100, "32BIT_MACHINE"),
    (0x0200, "DEBUG_STRIPPED"),
    (0x0400, "REMOVABLE_RUN_FROM_SWAP"),
    (0x0800, "NET_RUN_FROM_SWAP"),
    (0x1000, "SYSTEM"),
    (0x2000, "DLL"),
    (0x4000, "UP_SYSTEM_ONLY"),
    (0x8000, "BYTES_REVERSED_HI"),
];

const DLL_CHARACTERISTICS: &[(u16, &str)] = &[
    (0x0020, "HIGH_ENTROPY_VA"),
    (0x0040, "DYNAMIC_BASE"),
    (0x0080, "FORCE_INTEGRITY"),
    (0x0100, "NX_COMPAT"),
    (0x0200, "NO_ISOLATION"),
    (0x0400, "NO_SEH"),
    (0x0800, "NO_BIND"),
    (0x1000, "APPCONTAINER"),
    (0x2000, "WDM_DRIVER"),
    (0x4000, "GUARD_CF"),
    (0x8000, "TERMINAL_SERVER_AWARE"),
];

fn flag_names(value: u16, table: &[(u16, &'static str)]) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(bit, _)| value & bit != 0)
        .map(|&(_, name)| name)
        .collect()
}

pub fn characteristics_names(value: u16) -> Vec<&'static str> {
    flag_names(value, CHARACTERISTICS)
}

pub fn dll_characteristics_names(value: u16) -> Vec<&'static str> {
    flag_names(value, DLL_CHARACTERISTICS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_split_in_table_order() {
        assert_eq!(
            characteristics_names(0x2022),
            ["EXECUTABLE_IMAGE", "LARGE_ADDRESS_AWARE", "DLL"]
        );
        assert_eq!(
            dll_characteristics_names(0x8160),
            [
                "HIGH_ENTROPY_VA",
                "DYNAMIC_BASE",
                "NX_COMPAT",
                "TERMINAL_SERVER_AWARE"
            ]
        );
        assert!(dll_characteristics_names(0x000f).is_empty());
    }
}
