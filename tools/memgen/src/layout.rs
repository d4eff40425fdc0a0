//! ISF lookups that must succeed for an image to be built; each miss names what was missing.
use crate::error::MemgenError;
use triage_isf::Isf;

pub struct Layout<'a> {
    pub isf: &'a Isf,
}

impl<'a> Layout<'a> {
    pub fn off(&self, st: &str, path: &str) -> Result<u64, MemgenError> {
        self.isf
            .field_offset(st, path)
            .ok_or_else(|| self.missing(format!("{st}.{path}")))
    }
    pub fn opt(&self, st: &str, path: &str) -> Option<u64> {
        self.isf.field_offset(st, path)
    }
    pub fn size(&self, st: &str) -> Result<u64, MemgenError> {
        self.isf
            .struct_size(st)
            .ok_or_else(|| self.missing(format!("struct {st}")))
    }
    pub fn sym(&self, name: &str) -> Result<u64, MemgenError> {
        self.isf
            .symbol_rva(name)
            .ok_or_else(|| self.missing(format!("symbol {name}")))
    }
    fn missing(&self, what: String) -> MemgenError {
        MemgenError::MissingLayout {
            isf: self.isf.source_name.clone(),
            what,
        }
    }
}
