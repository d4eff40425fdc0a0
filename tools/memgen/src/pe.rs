//! Byte builders for the minimal ntoskrnl PE image: headers, export directory, CodeView record.

pub struct Section {
    pub name: &'static str,
    pub rva: u32,
    pub size: u32,
    pub characteristics: u32,
}

pub const SCN_CODE: u32 = 0x6000_0020; // CODE | EXECUTE | READ
pub const SCN_RDATA: u32 = 0x4000_0040; // INITIALIZED_DATA | READ
pub const SCN_DATA: u32 = 0xC800_0040; // INITIALIZED_DATA | NOT_PAGED | READ | WRITE

pub struct Headers<'a> {
    pub image_base: u64,
    pub size_of_image: u32,
    pub entry_rva: u32,
    pub timestamp: u32,
    pub sections: &'a [Section],
    pub export_dir: (u32, u32),
    pub debug_dir: (u32, u32),
}

fn put(buf: &mut [u8], off: usize, data: &[u8]) {
    buf[off..off + data.len()].copy_from_slice(data);
}

/// One page: DOS header + stub, `PE\0\0`, file header, PE32+ optional header, section table.
pub fn headers(h: &Headers) -> Vec<u8> {
    let mut b = vec![0u8; 0x1000];
    put(&mut b, 0, b"MZ");
    put(&mut b, 2, &0x90u16.to_le_bytes());
    put(&mut b, 4, &3u16.to_le_bytes());
    put(&mut b, 8, &4u16.to_le_bytes());
    put(&mut b, 0xC, &0xFFFFu16.to_le_bytes());
    put(&mut b, 0x10, &0xB8u16.to_le_bytes());
    put(&mut b, 0x18, &0x40u16.to_le_bytes());
    let e_lfanew = 0x108usize;
    put(&mut b, 0x3C, &(e_lfanew as u32).to_le_bytes());
    put(
        &mut b,
        0x4E,
        b"This program cannot be run in DOS mode.\r\r\n$",
    );
    let mut o = e_lfanew;
    put(&mut b, o, b"PE\0\0");
    o += 4;
    // IMAGE_FILE_HEADER
    put(&mut b, o, &0x8664u16.to_le_bytes());
    put(&mut b, o + 2, &(h.sections.len() as u16).to_le_bytes());
    put(&mut b, o + 4, &h.timestamp.to_le_bytes());
    put(&mut b, o + 16, &0xF0u16.to_le_bytes());
    put(&mut b, o + 18, &0x0022u16.to_le_bytes()); // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
    o += 20;
    let opt = o;
    put(&mut b, opt, &0x20Bu16.to_le_bytes());
    b[opt + 2] = 14; // linker version
    put(&mut b, opt + 16, &h.entry_rva.to_le_bytes());
    put(&mut b, opt + 24, &h.image_base.to_le_bytes());
    put(&mut b, opt + 32, &0x1000u32.to_le_bytes()); // SectionAlignment
    put(&mut b, opt + 36, &0x1000u32.to_le_bytes()); // FileAlignment (kernel uses page)
    put(&mut b, opt + 40, &10u16.to_le_bytes()); // OS version 10.0
    put(&mut b, opt + 44, &10u16.to_le_bytes()); // image version
    put(&mut b, opt + 48, &10u16.to_le_bytes()); // subsystem version
    put(&mut b, opt + 56, &h.size_of_image.to_le_bytes());
    put(&mut b, opt + 60, &0x1000u32.to_le_bytes()); // SizeOfHeaders
    put(&mut b, opt + 68, &1u16.to_le_bytes()); // IMAGE_SUBSYSTEM_NATIVE
    put(&mut b, opt + 70, &0x4160u16.to_le_bytes()); // HIGH_ENTROPY_VA|DYNAMIC_BASE|NX_COMPAT|GUARD_CF
    put(&mut b, opt + 72, &0x80000u64.to_le_bytes());
    put(&mut b, opt + 80, &0x1000u64.to_le_bytes());
    put(&mut b, opt + 88, &0x100000u64.to_le_bytes());
    put(&mut b, opt + 96, &0x1000u64.to_le_bytes());
    put(&mut b, opt + 108, &16u32.to_le_bytes()); // NumberOfRvaAndSizes
    let dd = opt + 112;
    put(&mut b, dd, &h.export_dir.0.to_le_bytes());
    put(&mut b, dd + 4, &h.export_dir.1.to_le_bytes());
    put(&mut b, dd + 6 * 8, &h.debug_dir.0.to_le_bytes());
    put(&mut b, dd + 6 * 8 + 4, &h.debug_dir.1.to_le_bytes());
    let mut s = opt + 0xF0;
    for sec in h.sections {
        let mut name = [0u8; 8];
        name[..sec.name.len()].copy_from_slice(sec.name.as_bytes());
        put(&mut b, s, &name);
        put(&mut b, s + 8, &sec.size.to_le_bytes());
        put(&mut b, s + 12, &sec.rva.to_le_bytes());
        put(&mut b, s + 16, &sec.size.to_le_bytes());
        put(&mut b, s + 20, &sec.rva.to_le_bytes());
        put(&mut b, s + 36, &sec.characteristics.to_le_bytes());
        s += 40;
    }
    b
}

/// GUID text (32 hex digits) → the 16 bytes of a CodeView record (Data1..3 little-endian).
pub fn guid_bytes(guid: &str) -> Option<[u8; 16]> {
    if guid.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, r) in raw.iter_mut().enumerate() {
        *r = u8::from_str_radix(guid.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let mut out = raw;
    out[0..4].copy_from_slice(&[raw[3], raw[2], raw[1], raw[0]]);
    out[4..6].copy_from_slice(&[raw[5], raw[4]]);
    out[6..8].copy_from_slice(&[raw[7], raw[6]]);
    Some(out)
}

/// IMAGE_DEBUG_DIRECTORY (28 bytes) followed at `rsds_rva` by an RSDS record.
pub fn debug_directory(rsds_rva: u32, rsds_len: u32, timestamp: u32) -> Vec<u8> {
    let mut d = vec![0u8; 28];
    put(&mut d, 4, &timestamp.to_le_bytes());
    put(&mut d, 12, &2u32.to_le_bytes()); // IMAGE_DEBUG_TYPE_CODEVIEW
    put(&mut d, 16, &rsds_len.to_le_bytes());
    put(&mut d, 20, &rsds_rva.to_le_bytes());
    put(&mut d, 24, &rsds_rva.to_le_bytes());
    d
}

pub fn rsds(guid: [u8; 16], age: u32, pdb: &str) -> Vec<u8> {
    let mut r = b"RSDS".to_vec();
    r.extend_from_slice(&guid);
    r.extend_from_slice(&age.to_le_bytes());
    r.extend_from_slice(pdb.as_bytes());
    r.push(0);
    r
}

/// Export directory at `rva` naming `dll`, exporting `(name, rva)` pairs (sorted by name).
pub fn export_directory(rva: u32, dll: &str, exports: &[(&str, u32)], timestamp: u32) -> Vec<u8> {
    let mut names: Vec<&(&str, u32)> = exports.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let n = names.len() as u32;
    let funcs = rva + 40;
    let name_ptrs = funcs + 4 * n;
    let ords = name_ptrs + 4 * n;
    let mut strings = ords + 2 * n;
    let mut b = vec![0u8; 40];
    put(&mut b, 4, &timestamp.to_le_bytes());
    put(&mut b, 16, &1u32.to_le_bytes());
    put(&mut b, 20, &n.to_le_bytes());
    put(&mut b, 24, &n.to_le_bytes());
    put(&mut b, 28, &funcs.to_le_bytes());
    put(&mut b, 32, &name_ptrs.to_le_bytes());
    put(&mut b, 36, &ords.to_le_bytes());
    let dll_rva = strings;
    strings += dll.len() as u32 + 1;
    put(&mut b, 12, &dll_rva.to_le_bytes());
    let mut f = Vec::new();
    let mut np = Vec::new();
    let mut od = Vec::new();
    let mut st = dll.as_bytes().to_vec();
    st.push(0);
    for (i, (name, target)) in names.iter().enumerate() {
        f.extend_from_slice(&target.to_le_bytes());
        np.extend_from_slice(&strings.to_le_bytes());
        od.extend_from_slice(&(i as u16).to_le_bytes());
        st.extend_from_slice(name.as_bytes());
        st.push(0);
        strings += name.len() as u32 + 1;
    }
    b.extend(f);
    b.extend(np);
    b.extend(od);
    b.extend(st);
    b
}

#[cfg(test)]
mod tests {
    #[test]
    fn guid_is_mixed_endian() {
        let g = super::guid_bytes("BBED7C2955FBE4522AAA23F4B8677AD9").unwrap();
        assert_eq!(&g[..8], &[0x29, 0x7C, 0xED, 0xBB, 0xFB, 0x55, 0x52, 0xE4]);
        assert_eq!(&g[8..], &[0x2A, 0xAA, 0x23, 0xF4, 0xB8, 0x67, 0x7A, 0xD9]);
    }
}
