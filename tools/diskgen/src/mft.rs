//! Edits of an unmounted NTFS image that no ntfs-3g tool makes: a timestomped
//! `$STANDARD_INFORMATION` and a deleted file. Records are found through the MFT itself
//! (its `$DATA` runs from record 0), fixups are undone on read and redone on write.
//!
//! The image is one we just made, but every offset is still bounded: a surprise in the
//! layout is [`Error::Layout`], never a panic.

use crate::Error;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const ATTR_SI: u32 = 0x10;
const ATTR_FILE_NAME: u32 = 0x30;
const ATTR_DATA: u32 = 0x80;
const ATTR_INDEX_ROOT: u32 = 0x90;
const ATTR_INDEX_ALLOCATION: u32 = 0xA0;
const ATTR_BITMAP: u32 = 0xB0;
const ROOT_RECORD: u64 = 5;

fn bad(what: impl Into<String>) -> Error {
    Error::Layout(what.into())
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, Error> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad(format!("u16 at {off} past the record")))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, Error> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad(format!("u32 at {off} past the record")))
}

fn u64_at(b: &[u8], off: usize) -> Result<u64, Error> {
    let s = b
        .get(off..off + 8)
        .ok_or_else(|| bad(format!("u64 at {off} past the record")))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

fn put(b: &mut [u8], off: usize, v: &[u8]) -> Result<(), Error> {
    b.get_mut(off..off + v.len())
        .ok_or_else(|| bad(format!("write at {off} past the record")))?
        .copy_from_slice(v);
    Ok(())
}

/// (offset, entry count) of a record's update sequence array, checked to fit the record
/// and to give every sector of at least 256 bytes one entry.
fn fixup_array(rec: &[u8]) -> Result<(usize, usize), Error> {
    let (usa, count) = (u16_at(rec, 4)? as usize, u16_at(rec, 6)? as usize);
    if count < 2 || usa + 2 * count > rec.len() || rec.len() / (count - 1) < 256 {
        return Err(bad("update sequence array does not fit the record"));
    }
    Ok((usa, count))
}

/// Checks `magic` and undoes the fixups of a multi-sector block (MFT record, INDX block).
fn unfix(buf: &mut [u8], magic: &[u8; 4]) -> Result<(), Error> {
    if buf.get(0..4) != Some(magic.as_slice()) {
        return Err(bad("wrong magic"));
    }
    let (usa, count) = fixup_array(buf)?;
    let stride = buf.len() / (count - 1);
    let usn = [buf[usa], buf[usa + 1]];
    for i in 1..count {
        let end = i * stride - 2;
        if buf[end..end + 2] != usn {
            return Err(bad(format!("torn sector {i}")));
        }
        let fix = [buf[usa + 2 * i], buf[usa + 2 * i + 1]];
        put(buf, end, &fix)?;
    }
    Ok(())
}

/// Redoes the fixups of a block [`unfix`] opened (same update sequence number).
fn refix(buf: &mut [u8]) -> Result<(), Error> {
    let (usa, count) = fixup_array(buf)?;
    let stride = buf.len() / (count - 1);
    let usn = [buf[usa], buf[usa + 1]];
    for i in 1..count {
        let end = i * stride - 2;
        let real = [buf[end], buf[end + 1]];
        put(buf, usa + 2 * i, &real)?;
        put(buf, end, &usn)?;
    }
    Ok(())
}

/// In the index entries from `first` up to `end` of `buf`: each key's (a `$FILE_NAME`)
/// MFT-changed time set to its modification time. Returns whether anything changed.
fn normalize_entries(buf: &mut [u8], first: usize, end: usize) -> Result<bool, Error> {
    let mut changed = false;
    let mut e = first;
    for _ in 0..4096 {
        if e + 16 > end {
            break;
        }
        let len = u16_at(buf, e + 8)? as usize;
        let key_len = u16_at(buf, e + 10)? as usize;
        let flags = u16_at(buf, e + 12)?;
        if key_len >= 0x42 && e + 16 + key_len <= end {
            let modified = u64_at(buf, e + 16 + 0x10)?;
            changed |= u64_at(buf, e + 16 + 0x18)? != modified;
            put(buf, e + 16 + 0x18, &modified.to_le_bytes())?;
        }
        if flags & 2 != 0 || len < 16 {
            break;
        }
        e += len;
    }
    Ok(changed)
}

/// One attribute header inside a record.
#[derive(Debug, Clone)]
struct Attr {
    off: usize,
    kind: u32,
    len: usize,
    resident: bool,
    name: String,
}

impl Attr {
    /// Offset (in the record) and length of a resident value.
    fn value(&self, rec: &[u8]) -> Result<(usize, usize), Error> {
        if !self.resident {
            return Err(bad(
                "non-resident attribute where a resident one was expected",
            ));
        }
        let len = u32_at(rec, self.off + 0x10)? as usize;
        let voff = self.off + u16_at(rec, self.off + 0x14)? as usize;
        if voff
            .checked_add(len)
            .is_none_or(|e| e > self.off + self.len)
        {
            return Err(bad("resident value past its attribute"));
        }
        Ok((voff, len))
    }
}

fn attrs(rec: &[u8]) -> Result<Vec<Attr>, Error> {
    let mut out = Vec::new();
    let mut off = u16_at(rec, 0x14)? as usize;
    for _ in 0..64 {
        let kind = u32_at(rec, off)?;
        if kind == 0xFFFF_FFFF {
            return Ok(out);
        }
        let len = u32_at(rec, off + 4)? as usize;
        if len < 0x18 || off + len > rec.len() {
            return Err(bad(format!("attribute length {len} at {off}")));
        }
        let resident = rec[off + 8] == 0;
        let name_len = rec[off + 9] as usize;
        let name_off = off + u16_at(rec, off + 10)? as usize;
        let name = utf16(
            rec.get(name_off..name_off + 2 * name_len)
                .unwrap_or_default(),
        );
        out.push(Attr {
            off,
            kind,
            len,
            resident,
            name,
        });
        off += len;
    }
    Err(bad("more than 64 attributes in a record"))
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// A data run: `len` clusters from virtual cluster `vcn` stored at logical cluster `lcn`.
#[derive(Debug, Clone, Copy)]
struct Run {
    vcn: u64,
    lcn: u64,
    len: u64,
}

fn runs(rec: &[u8], a: &Attr) -> Result<Vec<Run>, Error> {
    if a.resident {
        return Err(bad("resident attribute has no runs"));
    }
    let mut off = a.off + u16_at(rec, a.off + 0x20)? as usize;
    let end = a.off + a.len;
    let (mut vcn, mut lcn) = (0u64, 0i64);
    let mut out = Vec::new();
    while off < end && rec[off] != 0 {
        let h = rec[off];
        let (nl, no) = ((h & 0xF) as usize, (h >> 4) as usize);
        if nl == 0 || nl > 8 || no > 8 || off + 1 + nl + no > end {
            return Err(bad("malformed run list"));
        }
        let mut len = 0u64;
        for i in 0..nl {
            len |= u64::from(rec[off + 1 + i]) << (8 * i);
        }
        let mut delta = 0i64;
        for i in 0..no {
            delta |= i64::from(rec[off + 1 + nl + i]) << (8 * i);
        }
        if no > 0 && no < 8 && rec[off + nl + no] & 0x80 != 0 {
            delta -= 1i64 << (8 * no); // sign-extend
        }
        if no == 0 {
            return Err(bad("sparse run in a metadata file"));
        }
        lcn = lcn
            .checked_add(delta)
            .ok_or_else(|| bad("run offset overflow"))?;
        out.push(Run {
            vcn,
            lcn: u64::try_from(lcn).map_err(|_| bad("negative LCN"))?,
            len,
        });
        vcn = vcn
            .checked_add(len)
            .ok_or_else(|| bad("run length overflow"))?;
        off += 1 + nl + no;
    }
    Ok(out)
}

/// An NTFS image opened for in-place edits.
pub struct Ntfs {
    path: PathBuf,
    file: File,
    cluster: u64,
    record: u64,
    mft: Vec<Run>,
    records: u64,
}

impl Ntfs {
    /// Opens the NTFS volume at the start of `path` (a partition image).
    pub fn open(path: &Path) -> Result<Ntfs, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(Error::io(path))?;
        let mut boot = [0u8; 512];
        file.read_exact_at(&mut boot, 0).map_err(Error::io(path))?;
        if &boot[3..11] != b"NTFS    " {
            return Err(bad("no NTFS boot sector"));
        }
        let sector = u64::from(u16_at(&boot, 0x0B)?);
        let cluster = sector * u64::from(boot[0x0D]);
        let per = boot[0x40] as i8;
        let record = if per < 0 {
            1u64 << (-i32::from(per)).clamp(9, 16)
        } else {
            cluster * per as u64
        };
        if cluster == 0 || !(512..=65536).contains(&record) {
            return Err(bad("cluster or record size"));
        }
        let mut v = Ntfs {
            path: path.to_path_buf(),
            file,
            cluster,
            record,
            mft: vec![Run {
                vcn: 0,
                lcn: u64_at(&boot, 0x30)?,
                len: (record * 16).div_ceil(cluster),
            }],
            records: 16,
        };
        let rec0 = v.read_record(0)?;
        let data = attrs(&rec0)?
            .into_iter()
            .find(|a| a.kind == ATTR_DATA && a.name.is_empty())
            .ok_or_else(|| bad("$MFT without $DATA"))?;
        v.mft = runs(&rec0, &data)?;
        v.records = u64_at(&rec0, data.off + 0x30)? / record;
        Ok(v)
    }

    fn record_offset(&self, n: u64) -> Result<u64, Error> {
        let byte = n * self.record;
        let vcn = byte / self.cluster;
        let run = self
            .mft
            .iter()
            .find(|r| vcn >= r.vcn && vcn < r.vcn + r.len)
            .ok_or_else(|| bad(format!("MFT record {n} outside the MFT runs")))?;
        Ok((run.lcn + vcn - run.vcn) * self.cluster + byte % self.cluster)
    }

    /// Record `n` with its fixups undone.
    fn read_record(&self, n: u64) -> Result<Vec<u8>, Error> {
        let mut rec = vec![0u8; self.record as usize];
        self.file
            .read_exact_at(&mut rec, self.record_offset(n)?)
            .map_err(Error::io(&self.path))?;
        unfix(&mut rec, b"FILE").map_err(|e| bad(format!("record {n}: {e}")))?;
        Ok(rec)
    }

    /// Redoes the fixups of `rec` (a record read by [`Self::read_record`]) and writes it back.
    fn write_record(&self, n: u64, mut rec: Vec<u8>) -> Result<(), Error> {
        refix(&mut rec)?;
        self.file
            .write_all_at(&rec, self.record_offset(n)?)
            .map_err(Error::io(&self.path))
    }

    /// (record, parent record, Win32/POSIX name) of every in-use record's names.
    fn names(&self) -> Result<Vec<(u64, u64, String)>, Error> {
        let mut out = Vec::new();
        for n in 0..self.records {
            let Ok(rec) = self.read_record(n) else {
                continue; // never-used records are zero
            };
            if u16_at(&rec, 0x16)? & 1 == 0 {
                continue;
            }
            for a in attrs(&rec)?.iter().filter(|a| a.kind == ATTR_FILE_NAME) {
                let (v, len) = a.value(&rec)?;
                if len < 0x42 || rec[v + 0x41] == 2 {
                    continue; // DOS 8.3 alias
                }
                let nlen = rec[v + 0x40] as usize;
                let name = utf16(rec.get(v + 0x42..v + 0x42 + 2 * nlen).unwrap_or_default());
                out.push((n, u64_at(&rec, v)? & 0xFFFF_FFFF_FFFF, name));
            }
        }
        Ok(out)
    }

    /// The record number of `path` (`\Users\Public\x.exe`, case-insensitive).
    pub fn find(&self, path: &str) -> Result<u64, Error> {
        let names = self.names()?;
        let mut cur = ROOT_RECORD;
        for part in path.split(['\\', '/']).filter(|p| !p.is_empty()) {
            let want = part.to_lowercase();
            cur = names
                .iter()
                .find(|(_, parent, name)| *parent == cur && name.to_lowercase() == want)
                .map(|(n, _, _)| *n)
                .ok_or_else(|| bad(format!("{path}: no `{part}` in the MFT")))?;
        }
        Ok(cur)
    }

    /// Sets every MFT-changed time (in `$STANDARD_INFORMATION`, `$FILE_NAME` and the
    /// `$FILE_NAME` copies in directory indexes) to the modification time beside it: ntfs-3g
    /// stamps them with the wall clock while applying, the one thing that made two builds
    /// differ. Record slack is zeroed for the same reason. Run before [`Self::timestomp`] (a stomper leaves the change time alone).
    pub fn normalize_change_times(&self) -> Result<(), Error> {
        for n in 0..self.records {
            let Ok(mut rec) = self.read_record(n) else {
                continue;
            };
            if u16_at(&rec, 0x16)? & 1 == 0 {
                continue;
            }
            // Slack after the end marker keeps stale index entries (with their clock times)
            // from when ntfs-3g moved a growing index out of the record: cleared.
            let used = (u32_at(&rec, 0x18)? as usize).min(rec.len());
            let mut changed = rec[used..].iter().any(|&b| b != 0);
            rec[used..].fill(0);
            let mut block_size = 4096usize;
            for a in attrs(&rec)? {
                match a.kind {
                    ATTR_SI | ATTR_FILE_NAME if a.resident => {
                        let (v, len) = a.value(&rec)?;
                        let (m, c) = if a.kind == ATTR_SI {
                            (8, 16)
                        } else {
                            (0x10, 0x18)
                        };
                        if len >= c + 8 {
                            let modified = u64_at(&rec, v + m)?;
                            changed |= u64_at(&rec, v + c)? != modified;
                            put(&mut rec, v + c, &modified.to_le_bytes())?;
                        }
                    }
                    ATTR_INDEX_ROOT if a.name == "$I30" => {
                        let (v, len) = a.value(&rec)?;
                        if len < 32 {
                            continue;
                        }
                        block_size = u32_at(&rec, v + 8)? as usize;
                        let header = v + 16;
                        let first = header + u32_at(&rec, header)? as usize;
                        let end = (header + u32_at(&rec, header + 4)? as usize).min(v + len);
                        changed |= normalize_entries(&mut rec, first, end)?;
                    }
                    ATTR_INDEX_ALLOCATION if a.name == "$I30" && !a.resident => {
                        self.normalize_index_blocks(&rec, &a, block_size)?;
                    }
                    _ => {}
                }
            }
            if changed {
                self.write_record(n, rec)?;
            }
        }
        Ok(())
    }

    /// The INDX blocks of one directory's `$INDEX_ALLOCATION` (see
    /// [`Self::normalize_change_times`]); blocks that are not valid INDX are skipped.
    fn normalize_index_blocks(&self, rec: &[u8], a: &Attr, block: usize) -> Result<(), Error> {
        if !(512..=65536).contains(&block) {
            return Err(bad("index block size"));
        }
        let mut buf = vec![0u8; block];
        for run in runs(rec, a)? {
            let start = run.lcn * self.cluster;
            let bytes = run.len * self.cluster;
            let mut off = 0;
            while off + block as u64 <= bytes {
                let at = start + off;
                off += block as u64;
                self.file
                    .read_exact_at(&mut buf, at)
                    .map_err(Error::io(&self.path))?;
                if unfix(&mut buf, b"INDX").is_err() {
                    continue;
                }
                let header = 0x18;
                let first = header + u32_at(&buf, header)? as usize;
                let end = (header + u32_at(&buf, header + 4)? as usize).min(block);
                if normalize_entries(&mut buf, first, end)? {
                    refix(&mut buf)?;
                    self.file
                        .write_all_at(&buf, at)
                        .map_err(Error::io(&self.path))?;
                }
            }
        }
        Ok(())
    }

    /// Sets all four `$STANDARD_INFORMATION` times (created, modified, MFT-changed,
    /// accessed: what Metasploit's `timestomp -z` and SetMace do through
    /// `NtSetInformationFile`) to `when`, which must be earlier than the `$FILE_NAME`
    /// creation; `$FILE_NAME` keeps its times, as the kernel does. Returns (`$SI` time,
    /// `$FN` creation).
    pub fn timestomp(&self, path: &str, when: u64) -> Result<(u64, u64), Error> {
        let n = self.find(path)?;
        let mut rec = self.read_record(n)?;
        let list = attrs(&rec)?;
        let fname = list
            .iter()
            .find(|a| a.kind == ATTR_FILE_NAME)
            .ok_or_else(|| bad("no $FILE_NAME"))?;
        let fn_created = u64_at(&rec, fname.value(&rec)?.0 + 8)?;
        if when >= fn_created {
            return Err(bad(
                "timestomp time not earlier than the $FILE_NAME creation",
            ));
        }
        let si = list
            .iter()
            .find(|a| a.kind == ATTR_SI)
            .ok_or_else(|| bad("no $STANDARD_INFORMATION"))?;
        let (v, len) = si.value(&rec)?;
        if len < 32 {
            return Err(bad("short $STANDARD_INFORMATION"));
        }
        for field in [0, 8, 16, 24] {
            put(&mut rec, v + field, &when.to_le_bytes())?;
        }
        self.write_record(n, rec)?;
        Ok((when, fn_created))
    }

    /// Deletes `path` the way Windows leaves it: the record's in-use flag cleared, its bit in
    /// `$MFT:$BITMAP` cleared, its entries gone from the parent's resident `$I30` root, its
    /// clusters free in `$Bitmap`. The record's attributes and the data stay (so `icat` still
    /// recovers the bytes).
    /// Returns the record number.
    pub fn delete(&self, path: &str) -> Result<u64, Error> {
        let n = self.find(path)?;
        let mut rec = self.read_record(n)?;
        let fname = attrs(&rec)?
            .into_iter()
            .find(|a| a.kind == ATTR_FILE_NAME)
            .ok_or_else(|| bad("no $FILE_NAME"))?;
        let parent = u64_at(&rec, fname.value(&rec)?.0)? & 0xFFFF_FFFF_FFFF;
        let flags = u16_at(&rec, 0x16)? & !1;
        put(&mut rec, 0x16, &flags.to_le_bytes())?;
        let data_runs = match attrs(&rec)?
            .into_iter()
            .find(|a| a.kind == ATTR_DATA && a.name.is_empty() && !a.resident)
        {
            Some(a) => runs(&rec, &a)?,
            None => Vec::new(),
        };
        self.write_record(n, rec)?;
        for r in data_runs {
            self.free_clusters(r.lcn, r.len)?;
        }
        self.clear_mft_bit(n)?;
        self.unlink(parent, n)?;
        Ok(n)
    }

    /// Clears `len` clusters from `lcn` in `$Bitmap` (record 6), as Windows does on delete.
    fn free_clusters(&self, lcn: u64, len: u64) -> Result<(), Error> {
        let rec6 = self.read_record(6)?;
        let data = attrs(&rec6)?
            .into_iter()
            .find(|a| a.kind == ATTR_DATA && a.name.is_empty() && !a.resident)
            .ok_or_else(|| bad("$Bitmap without non-resident $DATA"))?;
        let bitmap = runs(&rec6, &data)?;
        for c in lcn..lcn.checked_add(len).ok_or_else(|| bad("run overflow"))? {
            let (byte, bit) = (c / 8, (c % 8) as u8);
            let vcn = byte / self.cluster;
            let run = bitmap
                .iter()
                .find(|r| vcn >= r.vcn && vcn < r.vcn + r.len)
                .ok_or_else(|| bad("cluster past $Bitmap"))?;
            let at = (run.lcn + vcn - run.vcn) * self.cluster + byte % self.cluster;
            let mut b = [0u8];
            self.file
                .read_exact_at(&mut b, at)
                .map_err(Error::io(&self.path))?;
            b[0] &= !(1 << bit);
            self.file
                .write_all_at(&b, at)
                .map_err(Error::io(&self.path))?;
        }
        Ok(())
    }

    fn clear_mft_bit(&self, n: u64) -> Result<(), Error> {
        let mut rec0 = self.read_record(0)?;
        let bitmap = attrs(&rec0)?
            .into_iter()
            .find(|a| a.kind == ATTR_BITMAP)
            .ok_or_else(|| bad("$MFT without $BITMAP"))?;
        let (byte, bit) = (n / 8, (n % 8) as u8);
        if bitmap.resident {
            let (v, len) = bitmap.value(&rec0)?;
            if byte as usize >= len {
                return Err(bad("record past $MFT:$BITMAP"));
            }
            rec0[v + byte as usize] &= !(1 << bit);
            return self.write_record(0, rec0);
        }
        let vcn = byte / self.cluster;
        let run = runs(&rec0, &bitmap)?
            .into_iter()
            .find(|r| vcn >= r.vcn && vcn < r.vcn + r.len)
            .ok_or_else(|| bad("record past $MFT:$BITMAP runs"))?;
        let at = (run.lcn + vcn - run.vcn) * self.cluster + byte % self.cluster;
        let mut b = [0u8];
        self.file
            .read_exact_at(&mut b, at)
            .map_err(Error::io(&self.path))?;
        b[0] &= !(1 << bit);
        self.file
            .write_all_at(&b, at)
            .map_err(Error::io(&self.path))
    }

    /// Removes the index entries naming record `child` from `parent`'s `$INDEX_ROOT:$I30`
    /// (resident only: the directories we delete from are small).
    fn unlink(&self, parent: u64, child: u64) -> Result<(), Error> {
        let mut rec = self.read_record(parent)?;
        let root = attrs(&rec)?
            .into_iter()
            .find(|a| a.kind == ATTR_INDEX_ROOT && a.name == "$I30")
            .ok_or_else(|| bad("parent without $INDEX_ROOT:$I30"))?;
        let (v, vlen) = root.value(&rec)?;
        if vlen < 32 {
            return Err(bad("short $INDEX_ROOT"));
        }
        let header = v + 16;
        if rec[header + 12] & 1 != 0 {
            return Err(bad("parent index is not resident (has $INDEX_ALLOCATION)"));
        }
        let mut used = u32_at(&rec, 0x18)? as usize;
        if used > rec.len() {
            return Err(bad("bytes in use past the record"));
        }
        let mut removed = 0;
        let mut e = header + u32_at(&rec, header)? as usize;
        for _ in 0..1024 {
            let len = u16_at(&rec, e + 8)? as usize;
            let flags = u16_at(&rec, e + 12)?;
            if flags & 2 != 0 {
                break;
            }
            if len < 16 || !len.is_multiple_of(8) || e + len > used {
                return Err(bad("index entry length"));
            }
            if u64_at(&rec, e)? & 0xFFFF_FFFF_FFFF != child {
                e += len;
                continue;
            }
            rec.copy_within(e + len..used, e);
            rec[used - len..used].fill(0);
            used -= len;
            removed += 1;
            for (field, width) in [
                (header + 4, 4),      // index length
                (header + 8, 4),      // allocated size
                (root.off + 0x10, 4), // value length
                (root.off + 4, 4),    // attribute length
                (0x18, 4),            // bytes in use
            ] {
                let old = u32_at(&rec, field)? as usize;
                let new = old.checked_sub(len).ok_or_else(|| bad("index shrink"))? as u32;
                put(&mut rec, field, &new.to_le_bytes()[..width])?;
            }
        }
        if removed == 0 {
            return Err(bad("no index entry for the deleted record"));
        }
        self.write_record(parent, rec)
    }
}
