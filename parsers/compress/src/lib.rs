//! Windows decompressors. (skeleton: filled in by the compress work)
#![forbid(unsafe_code)]
