//! Disk-image containers as one byte source.
//!
//! Each format is a module with `pub fn open(file: Source, siblings: &dyn Siblings) ->
//! Result<Container>`; [`open`] dispatches on the kind the caller detected. Every reader
//! is read-only, bounds every length and count read from the image before it sizes an
//! allocation or a loop, decodes chunks through a bounded [`triage_source::ChunkCache`],
//! and reports a corrupt or missing chunk as a [`triage_source::SourceError::Hole`] with
//! its offset rather than ending the image.
#![forbid(unsafe_code)]

use triage_source::{Result, Siblings, Source, SourceError};

mod chain;
pub mod ewf;
pub mod qcow2;
pub mod raw;
pub mod vhd;
pub mod vhdx;
pub mod vmdk;

/// The container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    /// A plain image (dd), or the first part of a split raw image (`.001`, `.002`, …).
    Raw,
    Ewf,
    Vmdk,
    Vhd,
    Vhdx,
    Qcow2,
}

impl ContainerKind {
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Raw => "raw",
            ContainerKind::Ewf => "ewf",
            ContainerKind::Vmdk => "vmdk",
            ContainerKind::Vhd => "vhd",
            ContainerKind::Vhdx => "vhdx",
            ContainerKind::Qcow2 => "qcow2",
        }
    }
}

/// An opened container: its virtual disk as one source, and what a responder wants to
/// know about it.
pub struct Container {
    pub kind: ContainerKind,
    /// The virtual disk (what a `qemu-img convert` to raw would give).
    pub disk: Source,
    /// The format's own variant, e.g. `dynamic`, `differencing`, `streamOptimized`,
    /// `v3`, `EWF-E01`, `split raw (3 parts)`.
    pub variant: String,
    /// Every file the disk is read from, outermost first: segments, extents, parents,
    /// backing files.
    pub files: Vec<String>,
    /// Other facts worth a column (`("chunk_size", "32768")`, `("acquired", …)`).
    pub facts: Vec<(&'static str, String)>,
    /// Problems that did not stop the container opening (a missing parent read as
    /// zeros, a bad CRC on a secondary header).
    pub warnings: Vec<String>,
}

/// Open `file` as a container of `kind`.
pub fn open(kind: ContainerKind, file: Source, siblings: &dyn Siblings) -> Result<Container> {
    match kind {
        ContainerKind::Raw => raw::open(file, siblings),
        ContainerKind::Ewf => ewf::open(file, siblings),
        ContainerKind::Vmdk => vmdk::open(file, siblings),
        ContainerKind::Vhd => vhd::open(file, siblings),
        ContainerKind::Vhdx => vhdx::open(file, siblings),
        ContainerKind::Qcow2 => qcow2::open(file, siblings),
    }
}

/// When `file` (named `name`) is not a container's first file but a later part of one
/// (an EWF segment `.E02`, a split-raw `.002`, a VMDK extent that a descriptor names),
/// the reason to skip it as an input of its own; `None` when it should be opened.
pub fn secondary_of(
    kind: ContainerKind,
    file: &Source,
    name: &str,
    siblings: &dyn Siblings,
) -> Option<String> {
    match kind {
        ContainerKind::Raw => raw::secondary_of(file, name, siblings),
        ContainerKind::Ewf => ewf::secondary_of(file, name, siblings),
        ContainerKind::Vmdk => vmdk::secondary_of(file, name, siblings),
        ContainerKind::Vhd | ContainerKind::Vhdx | ContainerKind::Qcow2 => None,
    }
}

pub(crate) fn unsupported(file: &Source, layer: &'static str, what: &str) -> SourceError {
    SourceError::Unsupported {
        location: file.location().clone(),
        layer,
        what: what.to_string(),
    }
}
