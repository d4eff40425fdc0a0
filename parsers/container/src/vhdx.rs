//! vhdx (skeleton: filled in by the container work)
use triage_source::{Result, Siblings, Source};
use crate::Container;

pub fn open(file: Source, _siblings: &dyn Siblings) -> Result<Container> {
    Err(crate::unsupported(&file, "vhdx", "reader not written yet"))
}
