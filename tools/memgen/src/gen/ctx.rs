//! Shared state while building, and small writers (fields, lists, strings, objects).
use crate::error::MemgenError;
use crate::layout::Layout;
use crate::paging::AddressSpace;
use crate::phys::PhysMem;
use crate::pool::Pool;
use crate::rng::Rng;

/// Object type indexes (ObTypeIndexTable slots): the same from Windows 7 to 11.
pub(super) const TYPE_NAMES: [(u8, &str, &[u8; 4]); 7] = [
    (2, "Type", b"ObjT"),
    (3, "Directory", b"Dire"),
    (4, "SymbolicLink", b"Symb"),
    (5, "Token", b"Toke"),
    (6, "Job", b"Job "),
    (7, "Process", b"Proc"),
    (8, "Thread", b"Thre"),
];
pub(super) const TOKEN_TYPE_INDEX: u8 = 5;
pub(super) const PROCESS_TYPE_INDEX: u8 = 7;

pub(super) struct Ctx<'a> {
    pub l: Layout<'a>,
    pub era: super::Era,
    pub mem: PhysMem,
    pub k: AddressSpace,
    pub rng: Rng,
    pub pool: Pool,
    pub kernel_base: u64,
    pub cookie: u8,
}

pub(super) fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|c| c.to_le_bytes()).collect()
}

/// Text SID → binary SID.
pub fn sid_bytes(sid: &str) -> Result<Vec<u8>, MemgenError> {
    let bad = || MemgenError::Scenario(format!("bad SID {sid:?}"));
    let mut parts = sid.split('-');
    if parts.next() != Some("S") {
        return Err(bad());
    }
    let rev: u8 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let auth: u64 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .filter(|a| *a < 1 << 48)
        .ok_or_else(bad)?;
    let subs: Vec<u32> = parts
        .map(|p| p.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if subs.len() > 15 {
        return Err(bad());
    }
    let mut b = vec![rev, subs.len() as u8];
    b.extend_from_slice(&auth.to_be_bytes()[2..]);
    for s in subs {
        b.extend_from_slice(&s.to_le_bytes());
    }
    Ok(b)
}

impl Ctx<'_> {
    pub(super) fn isf_bitfield(
        &self,
        st: &str,
        field: &str,
    ) -> Result<triage_isf::BitfieldPos, MemgenError> {
        self.l
            .isf
            .bitfield(st, field)
            .ok_or_else(|| MemgenError::MissingLayout {
                isf: self.l.isf.source_name.clone(),
                what: format!("bitfield {st}.{field}"),
            })
    }

    pub(super) fn kw(&mut self, va: u64, data: &[u8]) -> Result<(), MemgenError> {
        self.k.write(&mut self.mem, va, data)
    }
    pub(super) fn kw64(&mut self, va: u64, v: u64) -> Result<(), MemgenError> {
        self.kw(va, &v.to_le_bytes())
    }
    pub(super) fn kw32(&mut self, va: u64, v: u32) -> Result<(), MemgenError> {
        self.kw(va, &v.to_le_bytes())
    }
    /// Write at `base + offset(struct.path)`.
    pub(super) fn field(
        &mut self,
        base: u64,
        st: &str,
        path: &str,
        data: &[u8],
    ) -> Result<(), MemgenError> {
        let o = self.l.off(st, path)?;
        self.kw(base + o, data)
    }
    pub(super) fn field64(
        &mut self,
        base: u64,
        st: &str,
        path: &str,
        v: u64,
    ) -> Result<(), MemgenError> {
        self.field(base, st, path, &v.to_le_bytes())
    }
    pub(super) fn field32(
        &mut self,
        base: u64,
        st: &str,
        path: &str,
        v: u32,
    ) -> Result<(), MemgenError> {
        self.field(base, st, path, &v.to_le_bytes())
    }
    /// An empty LIST_ENTRY points at itself.
    pub(super) fn empty_list(
        &mut self,
        base: u64,
        st: &str,
        path: &str,
    ) -> Result<(), MemgenError> {
        let a = base + self.l.off(st, path)?;
        self.kw64(a, a)?;
        self.kw64(a + 8, a)
    }
    /// UNICODE_STRING at `at` whose buffer is placed at `buf`.
    pub(super) fn unicode(
        &mut self,
        space: AddressSpace,
        at: u64,
        buf: u64,
        s: &str,
    ) -> Result<(), MemgenError> {
        let w = utf16(s);
        if w.len() > 0xFFFC {
            return Err(MemgenError::Scenario(format!(
                "string longer than a UNICODE_STRING holds: {:.40}…",
                s
            )));
        }
        let mut us = [0u8; 16];
        us[0..2].copy_from_slice(&(w.len() as u16).to_le_bytes());
        us[2..4].copy_from_slice(&((w.len() + 2) as u16).to_le_bytes());
        us[8..16].copy_from_slice(&buf.to_le_bytes());
        space.write(&mut self.mem, at, &us)?;
        let mut wz = w;
        wz.extend_from_slice(&[0, 0]);
        space.write(&mut self.mem, buf, &wz)
    }

    /// Pool block holding an object: POOL_HEADER (tag with PROTECTED_POOL before Windows
    /// 8), optional headers per `info_mask` (QUOTA_INFO only here), OBJECT_HEADER with the
    /// TypeIndex (encoded from Windows 10 on), body. Returns (pool header VA, body VA).
    pub(super) fn object(
        &mut self,
        tag: &[u8; 4],
        type_index: u8,
        info_mask: u8,
        body: u64,
    ) -> Result<(u64, u64), MemgenError> {
        let quota = if info_mask & 0x08 != 0 {
            self.l.size("_OBJECT_HEADER_QUOTA_INFO")?
        } else {
            0
        };
        let hdr_size = self.l.off("_OBJECT_HEADER", "Body")?;
        let tag = self.era.object_tag(tag);
        let pool_va = self
            .pool
            .alloc(&self.k, &mut self.mem, &tag, quota + hdr_size + body)?;
        let header = pool_va + 16 + quota;
        let body_va = header + hdr_size;
        let ph = "_OBJECT_HEADER";
        let (pc, hc) = (self.rng.range(3, 0x40), self.rng.range(1, 8));
        self.field64(header, ph, "PointerCount", pc)?;
        self.field64(header, ph, "HandleCount", hc)?;
        let stored = if self.era.type_index_encoded {
            type_index ^ self.cookie ^ ((header >> 8) & 0xFF) as u8
        } else {
            type_index
        };
        self.field(header, ph, "TypeIndex", &[stored])?;
        self.field(header, ph, "InfoMask", &[info_mask])?;
        Ok((pool_va, body_va))
    }
}

#[cfg(test)]
mod tests {
    use super::sid_bytes;

    #[test]
    fn sids_encode_like_windows() {
        // S-1-5-18: revision 1, one sub-authority, NT authority (big-endian 48-bit), 18.
        assert_eq!(
            sid_bytes("S-1-5-18").unwrap(),
            [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]
        );
        assert_eq!(sid_bytes("S-1-16-8192").unwrap()[7], 16);
        for bad in [
            "S-1",
            "X-1-5-18",
            "S-1-5-x",
            "S-1-281474976710656-1",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        ] {
            assert!(sid_bytes(bad).is_err(), "{bad}");
        }
    }
}
