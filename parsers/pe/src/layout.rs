//! The mandatory headers (DOS, COFF, optional header, section table), read
//! with explicit offsets so every failure says where and what was expected.
//! goblin's header errors carry no offsets, so these few fixed-layout fields
//! are read here and goblin is kept for the variable-length directories.

use crate::bytes::{slice, u16_at, u32_at, u64_at};
use crate::error::PeError;

pub const OPTIONAL_MAGIC_PE32: u16 = 0x10b;
pub const OPTIONAL_MAGIC_PE32_PLUS: u16 = 0x20b;
pub const DIR_RESOURCE: usize = 2;
pub const DIR_SECURITY: usize = 4;
const SECTION_ENTRY_SIZE: usize = 40;

#[derive(Debug, Clone, Copy, Default)]
pub struct DataDirectory {
    pub virtual_address: u32,
    pub size: u32,
}

#[derive(Debug, Clone)]
pub struct RawSection {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub raw_offset: u32,
    pub raw_size: u32,
    pub characteristics: u32,
}

impl RawSection {
    /// The section's bytes as stored in the file, cut at the end of file.
    pub fn raw_data<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        let start = (self.raw_offset as usize).min(data.len());
        let end = start.saturating_add(self.raw_size as usize).min(data.len());
        &data[start..end]
    }
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub e_lfanew: usize,
    pub machine: u16,
    pub time_date_stamp: u32,
    pub characteristics: u16,
    pub is_64: bool,
    pub entry_point: u32,
    pub image_base: u64,
    pub size_of_headers: u32,
    pub checksum: u32,
    pub checksum_offset: usize,
    pub subsystem: u16,
    pub dll_characteristics: u16,
    /// File offset of the security (certificate table) data-directory entry.
    pub security_dir_offset: usize,
    pub directories: Vec<DataDirectory>,
    pub sections: Vec<RawSection>,
}

fn need(data: &[u8], offset: usize, needed: usize, what: &'static str) -> Result<(), PeError> {
    match offset.checked_add(needed) {
        Some(end) if end <= data.len() => Ok(()),
        _ => Err(PeError::Truncated {
            offset,
            needed,
            len: data.len(),
            what,
        }),
    }
}

/// Upper bound on data directories: the format defines 16, and a larger
/// NumberOfRvaAndSizes must not size a loop.
const MAX_DIRECTORIES: u32 = 16;

impl Layout {
    pub fn parse(data: &[u8]) -> Result<Self, PeError> {
        need(data, 0, 64, "DOS header")?;
        if &data[0..2] != b"MZ" {
            return Err(PeError::NotMz {
                found: [data[0], data[1]],
            });
        }
        let lfanew_raw = u32_at(data, 0x3c).unwrap_or(0);
        let e_lfanew = lfanew_raw as usize;
        if !matches!(e_lfanew.checked_add(4), Some(end) if end <= data.len()) {
            return Err(PeError::LfanewOutOfRange {
                e_lfanew: lfanew_raw,
                len: data.len(),
            });
        }
        let sig = slice(data, e_lfanew, 4).unwrap_or(&[0; 4]);
        if sig != b"PE\0\0" {
            return Err(PeError::NotPe {
                offset: e_lfanew,
                found: [sig[0], sig[1], sig[2], sig[3]],
            });
        }
        let coff = e_lfanew + 4;
        need(data, coff, 20, "COFF file header")?;
        let machine = u16_at(data, coff).unwrap_or(0);
        let number_of_sections = u16_at(data, coff + 2).unwrap_or(0);
        let time_date_stamp = u32_at(data, coff + 4).unwrap_or(0);
        let size_of_optional = usize::from(u16_at(data, coff + 16).unwrap_or(0));
        let characteristics = u16_at(data, coff + 18).unwrap_or(0);

        let opt = coff + 20;
        need(data, opt, 2, "optional header magic")?;
        let magic = u16_at(data, opt).unwrap_or(0);
        let is_64 = match magic {
            OPTIONAL_MAGIC_PE32 => false,
            OPTIONAL_MAGIC_PE32_PLUS => true,
            found => return Err(PeError::BadOptionalMagic { offset: opt, found }),
        };
        let (dirs_rel, count_rel) = if is_64 { (112, 108) } else { (96, 92) };
        need(data, opt, dirs_rel, "optional header")?;
        let image_base = if is_64 {
            u64_at(data, opt + 24).unwrap_or(0)
        } else {
            u64::from(u32_at(data, opt + 28).unwrap_or(0))
        };
        let number_of_dirs = u32_at(data, opt + count_rel)
            .unwrap_or(0)
            .min(MAX_DIRECTORIES);
        // A directory exists if it is counted, inside the declared optional
        // header and inside the file; the rest read as absent.
        let directories = (0..number_of_dirs as usize)
            .map_while(|i| {
                let at = opt + dirs_rel + 8 * i;
                if at + 8 > opt + size_of_optional {
                    return None;
                }
                Some(DataDirectory {
                    virtual_address: u32_at(data, at)?,
                    size: u32_at(data, at + 4)?,
                })
            })
            .collect();

        let table = opt + size_of_optional;
        let table_len = usize::from(number_of_sections) * SECTION_ENTRY_SIZE;
        if table.saturating_add(table_len) > data.len() {
            return Err(PeError::SectionTableBeyondFile {
                offset: table,
                count: number_of_sections,
                end: table.saturating_add(table_len),
                len: data.len(),
            });
        }
        let sections = (0..usize::from(number_of_sections))
            .filter_map(|i| read_section(data, table + i * SECTION_ENTRY_SIZE))
            .collect();

        Ok(Layout {
            e_lfanew,
            machine,
            time_date_stamp,
            characteristics,
            is_64,
            entry_point: u32_at(data, opt + 16).unwrap_or(0),
            image_base,
            size_of_headers: u32_at(data, opt + 60).unwrap_or(0),
            checksum: u32_at(data, opt + 64).unwrap_or(0),
            checksum_offset: opt + 64,
            subsystem: u16_at(data, opt + 68).unwrap_or(0),
            dll_characteristics: u16_at(data, opt + 70).unwrap_or(0),
            security_dir_offset: opt + dirs_rel + 8 * DIR_SECURITY,
            directories,
            sections,
        })
    }

    pub fn directory(&self, index: usize) -> Option<DataDirectory> {
        self.directories
            .get(index)
            .copied()
            .filter(|d| d.virtual_address != 0 && d.size != 0)
    }

    /// Maps an RVA to a file offset through the section table (or the
    /// headers, which are mapped at RVA 0).
    pub fn rva_to_offset(&self, rva: u32) -> Option<usize> {
        for s in &self.sections {
            let span = s.virtual_size.max(s.raw_size);
            if rva >= s.virtual_address && rva - s.virtual_address < span {
                let delta = rva - s.virtual_address;
                if delta >= s.raw_size {
                    return None; // in the zero-filled tail, not in the file
                }
                return (s.raw_offset as usize).checked_add(delta as usize);
            }
        }
        (rva < self.size_of_headers).then_some(rva as usize)
    }

    /// End of the last section's raw data (or of the headers), cut at EOF.
    pub fn end_of_image_data(&self, file_len: usize) -> usize {
        let sections_end = self
            .sections
            .iter()
            .filter(|s| s.raw_size != 0)
            .map(|s| (s.raw_offset as usize).saturating_add(s.raw_size as usize))
            .max()
            .unwrap_or(0);
        sections_end
            .max(self.size_of_headers as usize)
            .min(file_len)
    }
}

fn read_section(data: &[u8], at: usize) -> Option<RawSection> {
    let raw_name = slice(data, at, 8)?;
    let name_len = raw_name.iter().position(|&b| b == 0).unwrap_or(8);
    Some(RawSection {
        name: String::from_utf8_lossy(&raw_name[..name_len]).into_owned(),
        virtual_size: u32_at(data, at + 8)?,
        virtual_address: u32_at(data, at + 12)?,
        raw_size: u32_at(data, at + 16)?,
        raw_offset: u32_at(data, at + 20)?,
        characteristics: u32_at(data, at + 36)?,
    })
}
