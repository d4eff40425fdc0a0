//! GUIDs as Windows stores them (mixed-endian: the first three fields little-endian), in
//! their usual text form. Upper or lower case is the caller's: `sgdisk` prints upper,
//! `vshadowinfo` and the Hyper-V tools lower.

/// The 16 bytes at `offset`, zeros when short (a GUID field cut off by truncation).
pub fn at(data: &[u8], offset: usize) -> [u8; 16] {
    crate::le::slice(data, offset, 16)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 16])
}

/// `600f0b69-5bdf-11e3-9d6c-005056c00008`.
pub fn lower(g: &[u8; 16]) -> String {
    let d1 = u32::from_le_bytes([g[0], g[1], g[2], g[3]]);
    let d2 = u16::from_le_bytes([g[4], g[5]]);
    let d3 = u16::from_le_bytes([g[6], g[7]]);
    format!(
        "{d1:08x}-{d2:04x}-{d3:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]
    )
}

/// `600F0B69-5BDF-11E3-9D6C-005056C00008`.
pub fn upper(g: &[u8; 16]) -> String {
    lower(g).to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn mixed_endian_text() {
        // The EFI System Partition type GUID as stored on disk and as sgdisk prints it.
        let esp = [
            0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
            0xC9, 0x3B,
        ];
        assert_eq!(super::upper(&esp), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_eq!(super::at(&esp, 1), [0; 16]);
    }
}
