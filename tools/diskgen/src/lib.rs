//! Windows-like GPT/NTFS disk images built at test time with the real tools (mkntfs,
//! wimlib, ntfscp, sgdisk, hivexregedit, mingw, ewfacquire, qemu-img), with planted
//! masquerades whose expected findings are known, for the disk analyser's tests and
//! benchmarks. Nothing derived from the shared samples is ever written outside the output
//! directory the caller gives.
//!
//! - [`build_windows_like`]: a ~128 MiB sparse GPT disk (empty EFI system partition +
//!   "Microsoft basic data" NTFS) holding a boot chain, a SYSTEM hive with Session Manager
//!   persistence, a memgen crash dump and the planted items of [`Plan::windows_like`].
//! - [`wrap`]: the raw disk as E01, VMDK, VHD, VHDX or qcow2.
//! - [`build_many_files`]: the benchmark volume (200,000 small files in a Windows layout).
//! - [`sample_e01`]: the small committable E01 (project-built files only).
#![forbid(unsafe_code)]

mod build;
mod error;
mod many;
mod mft;
mod pe;
mod plan;
mod regf;
mod run;
mod wrap;

pub use build::{build_plan, build_windows_like, sample_e01, Built};
pub use error::Error;
pub use many::build_many_files;
pub use mft::Ntfs;
pub use plan::{Content, Entry, MemoryDump, Options, Plan, PlantKind, Planted, RECYCLE_SID};
pub use regf::{empty_hive, FIXED_FILETIME};
pub use wrap::{unwrap_to_raw, wrap, Format};

/// Byte offset of the NTFS partition in every disk this crate builds (sector 34816,
/// 17 MiB: after a 16 MiB EFI system partition at 1 MiB).
pub const PARTITION_OFFSET: u64 = 34816 * 512;
