//! Volume shadow copies. (skeleton: filled in by the VSS work)
#![forbid(unsafe_code)]
