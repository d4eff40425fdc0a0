//! Volume shadow copies (VSS) of an NTFS volume, each read as a volume source.
//!
//! The volume header at 0x1e00 points to a catalog of 16 KiB blocks; its entries of
//! type 2 describe the stores (one per shadow copy) and its entries of type 3 say where
//! each store's block list, header, range list and bitmaps are. When the shadow storage
//! is on another volume, the shadowed volume's catalog has only the type-2 entries and
//! the storage volume's catalog has the type-3 ones ([`ShadowVolume::open_with_storage`]).
//!
//! A snapshot reads a 16 KiB block from the store asked for, else from each newer store,
//! else from the live volume; each store's block list is parsed once into a sorted map
//! the first time a snapshot needs it. Format reference: the libvshadow format document
//! ("Volume Shadow Snapshot (VSS) format"); no code of libvshadow or `vshadow` is used.
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use triage_source::{ByteSource, Result, Source, SourceError};

mod blocklist;
mod format;
mod snapshot;

use blocklist::{Bitmap, StoreMap};
use format::{guid_string, StoreEntry, StoreLocation};
use snapshot::{Chain, Snapshot};

/// What the catalog and the store header say about one shadow copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreInfo {
    /// Position in [`ShadowVolume::stores`] (0 = oldest); `vshadowinfo` numbers it `index + 1`.
    pub index: usize,
    /// The store's GUID (the `{GUID}{3808876b-…}` file in System Volume Information).
    pub store_id: String,
    /// From the store header; empty when the header could not be read (e.g. the storage
    /// volume was not given).
    pub shadow_copy_id: String,
    pub shadow_copy_set_id: String,
    /// When the shadow copy was made (FILETIME, UTC).
    pub creation_time: u64,
    /// The size of the shadowed volume when the copy was made.
    pub volume_size: u64,
    /// Bytes of diff-area data the store occupies (the sum of its block range list); 0
    /// when unknown.
    pub store_size: u64,
    /// The catalog's sequence number.
    pub sequence: u64,
    /// `VSS_VOLSNAP_ATTR_*` flags from the store header.
    pub attribute_flags: u32,
    /// Whether the store's data is on another volume than the shadowed one.
    pub stored_outside: bool,
    /// Whether the store's data was found (on this volume or a storage volume given).
    pub data_available: bool,
}

struct Store {
    entry: StoreEntry,
    /// The volume holding the store (0: the shadowed volume, k: `storage[k - 1]`) and
    /// where its structures are there.
    place: Option<(usize, StoreLocation)>,
    map: OnceLock<Arc<StoreMap>>,
}

/// The shadow copies of one NTFS volume. `Send + Sync`: snapshots may be read from many
/// threads at once.
pub struct ShadowVolume {
    /// `sources[0]` is the shadowed volume, then the storage volumes given.
    sources: Vec<Source>,
    stores: Vec<Store>,
    infos: Vec<StoreInfo>,
    bitmaps: OnceLock<(Arc<Bitmap>, Option<Arc<Bitmap>>)>,
}

impl ShadowVolume {
    /// The shadow copies of `volume` (an NTFS volume: a partition slice). `Ok(None)` when
    /// it has no VSS header or no catalog (no shadow copies were ever kept on it).
    pub fn open(volume: Source) -> Result<Option<ShadowVolume>> {
        ShadowVolume::open_with_storage(volume, &[])
    }

    /// As [`open`](Self::open), with the other volumes of the same disk: stores whose data
    /// is on one of them (shadow storage on another volume) are read from there. A storage
    /// volume that has no readable VSS catalog is passed over.
    pub fn open_with_storage(
        volume: Source,
        storage_volumes: &[Source],
    ) -> Result<Option<ShadowVolume>> {
        let Some(header) = format::read_header(&*volume)? else {
            return Ok(None);
        };
        if header.catalog_offset == 0 {
            return Ok(None);
        }
        let catalog = format::read_catalog(&*volume, header.catalog_offset)?;
        let mut sources = vec![volume];
        sources.extend(storage_volumes.iter().cloned());
        // Type-3 entries of every volume, nearest first: the shadowed volume's own.
        let mut places: Vec<(usize, StoreLocation)> =
            catalog.locations.iter().map(|l| (0, l.clone())).collect();
        for (k, s) in storage_volumes.iter().enumerate() {
            let foreign = format::read_header(&**s)
                .ok()
                .flatten()
                .filter(|h| h.catalog_offset != 0)
                .and_then(|h| format::read_catalog(&**s, h.catalog_offset).ok());
            if let Some(c) = foreign {
                places.extend(c.locations.into_iter().map(|l| (k + 1, l)));
            }
        }
        let mut stores: Vec<Store> = catalog
            .entries
            .into_iter()
            .map(|entry| Store {
                place: places
                    .iter()
                    .find(|(_, l)| l.store_id == entry.store_id)
                    .cloned(),
                entry,
                map: OnceLock::new(),
            })
            .collect();
        // Stores apply newest first, so order them by age (the catalog need not be).
        stores.sort_by_key(|s| (s.entry.creation_time, s.entry.sequence));
        let infos = stores
            .iter()
            .enumerate()
            .map(|(i, s)| store_info(i, s, &sources))
            .collect();
        Ok(Some(ShadowVolume {
            sources,
            stores,
            infos,
            bitmaps: OnceLock::new(),
        }))
    }

    /// The shadow copies, oldest first.
    pub fn stores(&self) -> &[StoreInfo] {
        &self.infos
    }

    /// Shadow copy `i` (an index into [`stores`](Self::stores)) as a volume source of the
    /// volume's length, located at `volume › VSS {i+1} {creation time}`. Parses the block
    /// lists of store `i` and every newer store (once per store); fails when one of them
    /// is damaged or its data is on a volume that was not given.
    pub fn snapshot(&self, i: usize) -> Result<Source> {
        let volume = &self.sources[0];
        let Some(asked) = self.stores.get(i) else {
            return Err(SourceError::Unsupported {
                location: volume.location().clone(),
                layer: "VSS",
                what: format!("no shadow copy {i} (there are {})", self.stores.len()),
            });
        };
        let mut chain = Vec::with_capacity(self.stores.len() - i);
        for s in &self.stores[i..] {
            chain.push(self.store_map(s)?);
        }
        let bitmaps = if i + 1 == self.stores.len() {
            Some(self.newest_bitmaps()?)
        } else {
            None
        };
        let location = volume.location().child(format!(
            "VSS {} {}",
            i + 1,
            format::filetime_string(asked.entry.creation_time)
        ));
        Ok(Arc::new(Snapshot {
            sources: self.sources.clone(),
            chain: Chain {
                stores: chain,
                bitmaps,
            },
            len: volume.len(),
            location,
        }))
    }

    fn store_map(&self, s: &Store) -> Result<(usize, Arc<StoreMap>)> {
        let (vol, place) = self.place(s)?;
        if let Some(m) = s.map.get() {
            return Ok((vol, m.clone()));
        }
        // Parsed outside any lock: two threads may both parse, one result is kept.
        let m = Arc::new(StoreMap::read(
            &*self.sources[vol],
            place.block_list,
            self.sources[0].len(),
        )?);
        Ok((vol, s.map.get_or_init(|| m).clone()))
    }

    fn newest_bitmaps(&self) -> Result<(Arc<Bitmap>, Option<Arc<Bitmap>>)> {
        if let Some(b) = self.bitmaps.get() {
            return Ok(b.clone());
        }
        let Some(newest) = self.stores.last() else {
            return Err(SourceError::Unsupported {
                location: self.sources[0].location().clone(),
                layer: "VSS",
                what: "no stores".into(),
            });
        };
        let (vol, place) = self.place(newest)?;
        let src = &*self.sources[vol];
        let len = self.sources[0].len();
        let cur = Arc::new(Bitmap::read(src, place.bitmap, len)?);
        let prev = match place.previous_bitmap {
            0 => None,
            at => Some(Arc::new(Bitmap::read(src, at, len)?)),
        };
        Ok(self.bitmaps.get_or_init(|| (cur, prev)).clone())
    }

    fn place<'a>(&self, s: &'a Store) -> Result<(usize, &'a StoreLocation)> {
        match &s.place {
            Some((vol, l)) if *vol < self.sources.len() => Ok((*vol, l)),
            _ => Err(SourceError::Unsupported {
                location: self.sources[0].location().clone(),
                layer: "VSS",
                what: format!(
                    "the data of store {} is on another volume, which was not given",
                    guid_string(&s.entry.store_id)
                ),
            }),
        }
    }
}

/// The catalog's facts plus what the store header and range list say (when readable:
/// a damaged header leaves the identifiers empty rather than hiding the store).
fn store_info(index: usize, s: &Store, sources: &[Source]) -> StoreInfo {
    let mut info = StoreInfo {
        index,
        store_id: guid_string(&s.entry.store_id),
        shadow_copy_id: String::new(),
        shadow_copy_set_id: String::new(),
        creation_time: s.entry.creation_time,
        volume_size: s.entry.volume_size,
        store_size: 0,
        sequence: s.entry.sequence,
        attribute_flags: 0,
        stored_outside: !matches!(s.place, Some((0, _))),
        data_available: s.place.is_some(),
    };
    if let Some((vol, place)) = &s.place {
        let src: &dyn ByteSource = &*sources[*vol];
        if let Ok(h) = format::read_store_header(src, place.header) {
            info.shadow_copy_id = guid_string(&h.shadow_copy_id);
            info.shadow_copy_set_id = guid_string(&h.shadow_copy_set_id);
            info.attribute_flags = h.attribute_flags;
        }
        info.store_size = format::read_range_list_size(src, place.range_list).unwrap_or(0);
    }
    info
}

#[cfg(test)]
mod tests {
    #[test]
    fn guid_and_time_read_like_vshadowinfo() {
        let g = [
            0x69, 0x0b, 0x0f, 0x60, 0xdf, 0x5b, 0xe3, 0x11, 0x9d, 0x6c, 0x00, 0x50, 0x56, 0xc0,
            0x00, 0x08,
        ];
        assert_eq!(
            super::guid_string(&g),
            "600f0b69-5bdf-11e3-9d6c-005056c00008"
        );
        // vshadowinfo: Dec 03, 2013 06:35:09.736378700 UTC
        assert_eq!(
            super::format::filetime_string(130305261097363787),
            "2013-12-03 06:35:09 UTC"
        );
    }
}
