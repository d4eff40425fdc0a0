//! A minimal, empty registry hive written from nothing: hivex edits hives but cannot create
//! one, and the committable sample may hold no third-party hive. Base block, one hbin, a root
//! key (`ROOT`, as a SYSTEM hive's root is named on disk), one security cell (null DACL, the
//! one every key hivex adds inherits) and a free cell; `hivexregedit --merge` fills it.

/// FILETIME of 2023-11-14T22:13:20Z (the project's fixed signing time), for determinism.
pub const FIXED_FILETIME: u64 = 133_444_736_000_000_000;

fn cell(data: &[u8]) -> Vec<u8> {
    let size = (4 + data.len()).div_ceil(8) * 8;
    let mut c = Vec::with_capacity(size);
    c.extend_from_slice(&(-(size as i32)).to_le_bytes());
    c.extend_from_slice(data);
    c.resize(size, 0);
    c
}

/// The bytes of an empty hive whose root key is `root_name` (ASCII).
pub fn empty_hive(root_name: &str) -> Vec<u8> {
    const NK_AT: u32 = 0x20; // first cell of the first hbin
    let none = u32::MAX.to_le_bytes();
    let mut nk = Vec::new();
    nk.extend_from_slice(b"nk");
    nk.extend_from_slice(&0x2Cu16.to_le_bytes()); // hive entry | no delete | compressed name
    nk.extend_from_slice(&FIXED_FILETIME.to_le_bytes());
    nk.extend_from_slice(&0u32.to_le_bytes()); // access bits
    nk.extend_from_slice(&none); // parent
    nk.extend_from_slice(&0u32.to_le_bytes()); // subkeys
    nk.extend_from_slice(&0u32.to_le_bytes()); // volatile subkeys
    nk.extend_from_slice(&none); // subkey list
    nk.extend_from_slice(&none); // volatile subkey list
    nk.extend_from_slice(&0u32.to_le_bytes()); // values
    nk.extend_from_slice(&none); // value list
    let sk_at_slot = nk.len();
    nk.extend_from_slice(&0u32.to_le_bytes()); // security (patched below)
    nk.extend_from_slice(&none); // class
    nk.extend_from_slice(&[0u8; 20]); // max lengths ×4, work var
    nk.extend_from_slice(&(root_name.len() as u16).to_le_bytes());
    nk.extend_from_slice(&0u16.to_le_bytes()); // class length
    nk.extend_from_slice(root_name.as_bytes());
    let nk_len = cell(&nk).len() as u32;
    let sk_at = NK_AT + nk_len;
    nk[sk_at_slot..sk_at_slot + 4].copy_from_slice(&sk_at.to_le_bytes());

    // Self-relative security descriptor, DACL present but null: full access for everyone.
    let sd: [u8; 20] = [
        1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut sk = Vec::new();
    sk.extend_from_slice(b"sk");
    sk.extend_from_slice(&0u16.to_le_bytes());
    sk.extend_from_slice(&sk_at.to_le_bytes()); // flink: the only sk, a ring of one
    sk.extend_from_slice(&sk_at.to_le_bytes()); // blink
    sk.extend_from_slice(&1u32.to_le_bytes()); // reference count
    sk.extend_from_slice(&(sd.len() as u32).to_le_bytes());
    sk.extend_from_slice(&sd);

    let mut bin = Vec::with_capacity(4096);
    bin.extend_from_slice(b"hbin");
    bin.extend_from_slice(&0u32.to_le_bytes()); // offset of this bin
    bin.extend_from_slice(&4096u32.to_le_bytes());
    bin.extend_from_slice(&[0u8; 8]);
    bin.extend_from_slice(&FIXED_FILETIME.to_le_bytes());
    bin.extend_from_slice(&0u32.to_le_bytes());
    bin.extend_from_slice(&cell(&nk));
    bin.extend_from_slice(&cell(&sk));
    let free = 4096 - bin.len();
    bin.extend_from_slice(&(free as i32).to_le_bytes()); // positive size: free cell
    bin.resize(4096, 0);

    let mut base = vec![0u8; 4096];
    base[0..4].copy_from_slice(b"regf");
    base[4..8].copy_from_slice(&1u32.to_le_bytes());
    base[8..12].copy_from_slice(&1u32.to_le_bytes());
    base[12..20].copy_from_slice(&FIXED_FILETIME.to_le_bytes());
    base[20..24].copy_from_slice(&1u32.to_le_bytes()); // major
    base[24..28].copy_from_slice(&5u32.to_le_bytes()); // minor
    base[32..36].copy_from_slice(&1u32.to_le_bytes()); // format: direct memory load
    base[36..40].copy_from_slice(&NK_AT.to_le_bytes());
    base[40..44].copy_from_slice(&4096u32.to_le_bytes());
    base[44..48].copy_from_slice(&1u32.to_le_bytes()); // clustering factor
    let name: Vec<u8> = "SYSTEM".encode_utf16().flat_map(u16::to_le_bytes).collect();
    base[48..48 + name.len()].copy_from_slice(&name);
    let sum = base[..508].chunks_exact(4).fold(0u32, |x, c| {
        x ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]])
    });
    base[508..512].copy_from_slice(&sum.to_le_bytes());
    base.extend_from_slice(&bin);
    base
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_block_checksum_and_bin() {
        let h = super::empty_hive("ROOT");
        assert_eq!(h.len(), 8192);
        assert_eq!(&h[4096..4100], b"hbin");
        assert_eq!(&h[4096 + 0x24..4096 + 0x26], b"nk");
    }
}
