//! NTFS. (skeleton: filled in by the NTFS work)
#![forbid(unsafe_code)]
