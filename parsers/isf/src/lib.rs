//! Volatility 3 ISF (Intermediate Symbol Format) reader: kernel structure layouts,
//! enums and symbol RVAs, plus an index of a Volatility symbol directory.
//!
//! ```no_run
//! # use triage_isf::{Isf, IsfDir};
//! let dir = IsfDir::open(std::path::Path::new("../shared/symbols"))?;
//! let isf = dir.load("ntkrnlmp.pdb", "BBED7C2955FBE4522AAA23F4B8677AD9", 1)?;
//! assert_eq!(isf.field_offset("_EPROCESS", "UniqueProcessId"), Some(0x440));
//! # Ok::<(), triage_isf::IsfError>(())
//! ```
#![forbid(unsafe_code)]
mod builds;
mod dir;
mod error;
mod load;
mod model;

pub use builds::{known_build, known_for_build, KnownBuild, KNOWN_NTKRNLMP};
pub use dir::{normalise_guid, IsfDir, IsfEntry};
pub use error::IsfError;
pub use load::{decompress_xz, MAX_DECOMPRESSED};
pub use model::{
    Aggregate, BaseType, BitfieldPos, EnumType, Field, Isf, Metadata, PdbId, ResolvedField, Symbol,
    TypeDesc, UserType,
};
