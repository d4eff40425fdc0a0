//! SYSTEM hive: ShimCache (AppCompatCache) entries of every control set, all on-disk layouts
//! (XP, 2003/Vista, 7 32/64-bit, 8/8.1, 10/11). Every count, length and offset is checked
//! against the value's size.
use crate::bam::{below, control_sets, ExecutionEntry, ExecutionFacts};
use crate::error::HiveCfgError;
use triage_regf::{Hive, Key};

/// Where the cache lives below `ControlSet00N\Control\Session Manager`: Windows 7+ and XP/2003/Vista.
const LOCATIONS: [&str; 2] = ["AppCompatCache", "AppCompatibility"];
const VALUE: &str = "AppCompatCache";
/// The CSRSS "executed" bit of the insert flags.
const EXECUTED_FLAG: u32 = 0x2;

/// Parses `AppCompatCache` of every `ControlSet00N`. Never fails.
pub fn shimcache(hive: &Hive<'_>) -> ExecutionFacts {
    let mut facts = ExecutionFacts::default();
    for (set, cs) in control_sets(hive, &mut facts.errors) {
        for loc in LOCATIONS {
            let rel = format!("Control\\Session Manager\\{loc}");
            let key_path = format!("{set}\\{rel}");
            let Some(key) = below(&cs, &rel, &key_path, &mut facts.errors) else {
                continue;
            };
            let Some(data) = value_bytes(&key, &key_path, &mut facts.errors) else {
                continue;
            };
            let mut p = Parser {
                data: &data,
                key: &key_path,
                set: &set,
                out: &mut facts.entries,
                errors: &mut facts.errors,
            };
            p.parse();
        }
    }
    facts
}

fn value_bytes(key: &Key<'_>, path: &str, errors: &mut Vec<HiveCfgError>) -> Option<Vec<u8>> {
    let r = key.value(VALUE).and_then(|v| match v {
        Some(v) => v.raw_data().map(|d| Some(d.into_owned())),
        None => Ok(None),
    });
    r.unwrap_or_else(|e| {
        errors.push(HiveCfgError::regf(format!("{path}\\{VALUE}"), e));
        None
    })
}

/// Parses one AppCompatCache value's bytes (exposed for fuzzing and tests); `key` and
/// `control_set` are copied into the entries and errors.
pub fn parse_appcompatcache(data: &[u8], key: &str, control_set: &str) -> ExecutionFacts {
    let mut facts = ExecutionFacts::default();
    Parser {
        data,
        key,
        set: control_set,
        out: &mut facts.entries,
        errors: &mut facts.errors,
    }
    .parse();
    facts
}

use triage_bytes::le::{u16_at, u32_at, u64_at};

use triage_bytes::utf16::lossy as utf16;

struct Parser<'p> {
    data: &'p [u8],
    key: &'p str,
    set: &'p str,
    out: &'p mut Vec<ExecutionEntry>,
    errors: &'p mut Vec<HiveCfgError>,
}

/// Fixed-size-entry layouts (UNICODE_STRING + pointer-sized offset to the path).
#[derive(Clone, Copy)]
enum Fixed {
    /// 2003/Vista/2008: header 8; 32-bit entries 0x18, 64-bit 0x20.
    Nt52,
    /// 7/2008 R2: header 0x80; 32-bit entries 0x20, 64-bit 0x30.
    Nt61,
}

impl Parser<'_> {
    fn error(&mut self, offset: usize, what: &str) {
        self.errors.push(HiveCfgError::UnexpectedValue {
            path: format!("{}\\{VALUE}", self.key),
            expected: "a well-formed AppCompatCache",
            found: format!("offset {offset:#x}: {what}"),
        });
    }

    fn entry(&self, path: String) -> ExecutionEntry {
        let mut e = ExecutionEntry::new("shimcache", path, self.key.to_string());
        e.control_set = Some(self.set.to_string());
        e
    }

    fn parse(&mut self) {
        let d = self.data;
        let Some(magic) = u32_at(d, 0) else {
            return self.error(0, &format!("value of {} bytes has no header", d.len()));
        };
        match magic {
            0xDEAD_BEEF => self.xp(),
            0xBADC_0FFE => self.fixed(Fixed::Nt52),
            0xBADC_0FEE => self.fixed(Fixed::Nt61),
            // Windows 10/11: the first DWORD is the header size.
            0x30 | 0x34 if d.get(magic as usize..magic as usize + 4) == Some(b"10ts") => {
                self.tagged(magic as usize, false)
            }
            // Windows 8 (header 0x80) and 8.1 (first DWORD 0 on real systems): tag at 0x80.
            _ if matches!(d.get(0x80..0x84), Some(b"00ts" | b"10ts")) => self.tagged(0x80, true),
            _ => self.error(0, &format!("unrecognised header {magic:#010x}")),
        }
    }

    /// Declared entry count bounded by what the value can hold.
    fn count(&mut self, at: usize, header: usize, stride: usize) -> usize {
        let declared = u32_at(self.data, at).unwrap_or(0) as usize;
        let fits = self.data.len().saturating_sub(header) / stride;
        if declared > fits {
            self.error(
                at,
                &format!("{declared} entries declared, only {fits} fit in the value"),
            );
        }
        declared.min(fits)
    }

    /// XP 32-bit: header 0x190, 0x228-byte entries holding the path inline (MAX_PATH+4 units).
    fn xp(&mut self) {
        const HEADER: usize = 0x190;
        const ENTRY: usize = 0x228;
        const PATH_BYTES: usize = 528;
        let n = self.count(8, HEADER, ENTRY);
        for i in 0..n {
            let off = HEADER + i * ENTRY;
            let Some(raw) = self.data.get(off..off + ENTRY) else {
                break;
            };
            let units = raw.get(..PATH_BYTES).unwrap_or(&[]);
            let end = units
                .chunks_exact(2)
                .position(|c| c == [0, 0])
                .map_or(PATH_BYTES, |p| p * 2);
            let path = utf16(units.get(..end).unwrap_or(units));
            if path.is_empty() {
                continue;
            }
            let mut e = self.entry(path);
            e.push_time("last_modified", u64_at(raw, PATH_BYTES).unwrap_or(0));
            e.size = u64_at(raw, PATH_BYTES + 8).filter(|&s| s != 0);
            e.push_time("last_update", u64_at(raw, PATH_BYTES + 16).unwrap_or(0));
            self.out.push(e);
        }
    }

    fn fixed(&mut self, layout: Fixed) {
        let d = self.data;
        let header = match layout {
            Fixed::Nt52 => 8,
            Fixed::Nt61 => 0x80,
        };
        // 64-bit entries pad the UNICODE_STRING to 8 bytes before a 64-bit pointer: a valid
        // (Length, MaximumLength = Length + 2) pair followed by a zero DWORD.
        let len = u16_at(d, header).unwrap_or(0);
        let max = u16_at(d, header + 2).unwrap_or(0);
        let is64 = max.wrapping_sub(len) == 2 && u32_at(d, header + 4) == Some(0);
        let stride = match (layout, is64) {
            (Fixed::Nt52, false) => 0x18,
            (Fixed::Nt52, true) => 0x20,
            (Fixed::Nt61, false) => 0x20,
            (Fixed::Nt61, true) => 0x30,
        };
        let n = self.count(4, header, stride);
        // The path pointer sits at 4 (32-bit) or 8 (64-bit, after padding); after it come the
        // FILETIME and two DWORDs (2003: file size; Vista: flags; 7: insert and shim flags).
        let after = if is64 { 16 } else { 8 };
        let at = |i: usize, rel: usize| header + i * stride + rel;
        // 2003 stores file sizes where Vista stores flags: any value above 3 means sizes.
        let has_size = matches!(layout, Fixed::Nt52)
            && (0..n).any(|i| u32_at(d, at(i, after + 8)).unwrap_or(0) > 3);
        for i in 0..n {
            let len = u16_at(d, at(i, 0)).unwrap_or(0) as usize;
            let off = if is64 {
                u64_at(d, at(i, 8)).and_then(|o| usize::try_from(o).ok())
            } else {
                u32_at(d, at(i, 4)).map(|o| o as usize)
            }
            .unwrap_or(usize::MAX);
            let Some(raw) = off.checked_add(len).and_then(|end| d.get(off..end)) else {
                self.error(
                    at(i, 0),
                    &format!("entry {i}: path of {len} bytes at {off:#x} lies outside the value"),
                );
                continue;
            };
            let mut e = self.entry(utf16(raw));
            e.push_time("last_modified", u64_at(d, at(i, after)).unwrap_or(0));
            let word = u32_at(d, at(i, after + 8)).unwrap_or(0);
            if has_size {
                let high = u32_at(d, at(i, after + 12)).unwrap_or(0);
                e.size = Some(u64::from(high) << 32 | u64::from(word));
            } else {
                e.executed = Some(word & EXECUTED_FLAG != 0);
            }
            self.out.push(e);
        }
    }

    /// Windows 8/8.1 (`win8`: flags after the path and package) and 10/11: a chain of
    /// `{"00ts"|"10ts", crc32, len}` records after the header.
    fn tagged(&mut self, header: usize, win8: bool) {
        let d = self.data;
        let mut pos = header;
        while pos < d.len() {
            let (Some(tag), Some(len)) = (d.get(pos..pos + 4), u32_at(d, pos + 8)) else {
                return self.error(pos, "truncated entry header");
            };
            if tag != b"00ts" && tag != b"10ts" {
                return self.error(pos, &format!("entry tag {tag:02x?}, expected 00ts/10ts"));
            }
            let start = pos + 12;
            let Some(body) = start
                .checked_add(len as usize)
                .and_then(|end| d.get(start..end))
            else {
                return self.error(
                    pos + 8,
                    &format!("entry of {len} bytes runs past the value's end"),
                );
            };
            pos = start + body.len();
            if let Err(what) = self.tagged_entry(body, win8) {
                self.error(start, &what);
            }
        }
    }

    fn tagged_entry(&mut self, b: &[u8], win8: bool) -> Result<(), String> {
        let short = || "entry body too short".to_string();
        let plen = u16_at(b, 0).ok_or_else(short)? as usize;
        let path = utf16(
            b.get(2..2 + plen)
                .ok_or_else(|| format!("path of {plen} bytes"))?,
        );
        let mut o = 2 + plen;
        let mut e = self.entry(path);
        if win8 {
            let pkg = u16_at(b, o).ok_or_else(short)? as usize;
            o += 2 + pkg;
            let flags = u32_at(b, o).ok_or_else(short)?;
            e.executed = Some(flags & EXECUTED_FLAG != 0);
            o += 8;
        }
        e.push_time("last_modified", u64_at(b, o).ok_or_else(short)?);
        self.out.push(e);
        Ok(())
    }
}
