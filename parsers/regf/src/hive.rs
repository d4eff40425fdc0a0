//! The hive: base block + hive bins, borrowed from the caller's (memory-mapped) bytes.
use crate::base_block::{BaseBlock, BASE_BLOCK_SIZE};
use crate::cells::{Cells, HbinIter};
use crate::error::{RegfError, Result};
use crate::key::Key;
use crate::names::names_equal;
use crate::replay::{replay, ReplayReport};
use serde::Serialize;
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub struct Hive<'a> {
    data: &'a [u8],
    base: BaseBlock,
    cells: Cells<'a>,
}

/// Why a hive counts as dirty (not cleanly flushed): either reason, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirtyState {
    pub primary_sequence: u32,
    pub secondary_sequence: u32,
    pub sequence_mismatch: bool,
    pub checksum_mismatch: bool,
}

impl DirtyState {
    pub fn is_dirty(&self) -> bool {
        self.sequence_mismatch || self.checksum_mismatch
    }
}

impl<'a> Hive<'a> {
    /// Parses the base block; hive bins are read lazily. Bins are taken to run to the end of the
    /// file even when the declared size is smaller, so cells past it stay reachable.
    pub fn from_bytes(data: &'a [u8]) -> Result<Hive<'a>> {
        let base = BaseBlock::parse(data)?;
        let bins = data.get(BASE_BLOCK_SIZE..).unwrap_or(&[]);
        Ok(Hive {
            data,
            cells: Cells {
                bins,
                minor_version: base.minor_version,
            },
            base,
        })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }
    pub fn base_block(&self) -> &BaseBlock {
        &self.base
    }
    pub fn cells(&self) -> Cells<'a> {
        self.cells
    }
    /// Hive bins up to the declared hive bins data size (the rest of the file is padding).
    pub fn hbins(&self) -> HbinIter<'a> {
        self.cells.hbins(self.base.hive_bins_data_size as usize)
    }

    pub fn dirty_state(&self) -> DirtyState {
        DirtyState {
            primary_sequence: self.base.primary_sequence,
            secondary_sequence: self.base.secondary_sequence,
            sequence_mismatch: self.base.primary_sequence != self.base.secondary_sequence,
            checksum_mismatch: !self.base.checksum_ok(),
        }
    }
    pub fn is_dirty(&self) -> bool {
        self.dirty_state().is_dirty()
    }

    pub fn root(&self) -> Result<Key<'a>> {
        Key::parse(self.cells, self.base.root_cell_offset)
    }

    /// Case-insensitive lookup of a `\`-separated path below the root. Leading/trailing/doubled
    /// `\` are ignored, and a leading component equal to the root key's own name is skipped
    /// (unless the root really has a subkey of that name).
    pub fn open_key(&self, path: &str) -> Result<Key<'a>> {
        let root = self.root()?;
        let mut parts = path.split('\\').filter(|p| !p.is_empty()).peekable();
        if let Some(first) = parts.peek() {
            if names_equal(first, &root.name()) && root.subkey(first)?.is_none() {
                parts.next();
            }
        }
        let mut key = root;
        for part in parts {
            key = key.subkey(part)?.ok_or_else(|| RegfError::KeyNotFound {
                path: path.to_string(),
                component: part.to_string(),
            })?;
        }
        Ok(key)
    }
}

/// Hive bytes that are borrowed unless a log replay produced a modified image.
#[derive(Debug, Clone)]
pub struct HiveBuf<'a> {
    bytes: Cow<'a, [u8]>,
    pub replays: Vec<ReplayReport>,
}

impl<'a> HiveBuf<'a> {
    /// Borrows `primary` when it is clean or no logs are given; otherwise replays the logs into
    /// an in-memory copy (the evidence itself is never written).
    pub fn open(primary: &'a [u8], logs: &[(&str, &[u8])]) -> Result<HiveBuf<'a>> {
        let hive = Hive::from_bytes(primary)?;
        if !hive.is_dirty() || logs.is_empty() {
            return Ok(HiveBuf {
                bytes: Cow::Borrowed(primary),
                replays: Vec::new(),
            });
        }
        let (image, replays) = replay(primary, logs)?;
        Ok(HiveBuf {
            bytes: Cow::Owned(image),
            replays,
        })
    }
    pub fn is_replayed(&self) -> bool {
        matches!(self.bytes, Cow::Owned(_))
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn hive(&self) -> Result<Hive<'_>> {
        Hive::from_bytes(&self.bytes)
    }
}
