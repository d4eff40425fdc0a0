//! Batches at scale: results streamed in input order through a small reorder window,
//! a journal that makes `--out DIR` runs resumable, and `--shard K/N`.

pub mod journal;
pub mod merge;
pub mod reorder;
pub mod shard;
pub mod stream;
