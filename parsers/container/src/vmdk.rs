//! vmdk (skeleton: filled in by the container work)
use triage_source::{Result, Siblings, Source};
use crate::Container;

pub fn open(file: Source, _siblings: &dyn Siblings) -> Result<Container> {
    Err(crate::unsupported(&file, "vmdk", "reader not written yet"))
}

pub fn secondary_of(_file: &Source, _name: &str, _siblings: &dyn Siblings) -> Option<String> {
    None
}
