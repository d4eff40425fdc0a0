//! Partition tables and file-system identification. (skeleton: filled in by the volume work)
#![forbid(unsafe_code)]
