//! A bounded cache of decoded chunks (decompressed EWF chunks, qcow2 clusters, VMDK
//! grains, WOF chunks), shared by every reader so memory stays bounded whatever the
//! image size. Sharded so that threads reading different parts of one image rarely wait
//! on each other; decoding happens outside the lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::Result;

const SHARDS: usize = 16;

struct Shard {
    map: HashMap<u64, Arc<[u8]>>,
    order: VecDeque<u64>,
    bytes: usize,
}

/// Chunks keyed by a `u64` (a chunk index or a file offset), evicted oldest first once
/// the cache holds more than its byte budget.
pub struct ChunkCache {
    shards: Vec<Mutex<Shard>>,
    budget_per_shard: usize,
}

impl ChunkCache {
    /// A cache holding at most about `max_bytes` of decoded data.
    pub fn new(max_bytes: usize) -> ChunkCache {
        ChunkCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::new(),
                        order: VecDeque::new(),
                        bytes: 0,
                    })
                })
                .collect(),
            budget_per_shard: (max_bytes / SHARDS).max(1),
        }
    }

    fn shard(&self, key: u64) -> &Mutex<Shard> {
        // Neighbouring chunks land in different shards.
        let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60;
        &self.shards[h as usize % SHARDS]
    }

    pub fn get(&self, key: u64) -> Option<Arc<[u8]>> {
        let s = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        s.map.get(&key).cloned()
    }

    /// The chunk `key`, decoded by `load` when it is not cached. Two threads may decode
    /// the same chunk at once; both get a correct copy and one is kept.
    pub fn get_or_load(
        &self,
        key: u64,
        load: impl FnOnce() -> Result<Arc<[u8]>>,
    ) -> Result<Arc<[u8]>> {
        if let Some(hit) = self.get(key) {
            return Ok(hit);
        }
        let data = load()?;
        let mut s = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = s.map.insert(key, data.clone()) {
            s.bytes -= old.len();
        } else {
            s.order.push_back(key);
        }
        s.bytes += data.len();
        while s.bytes > self.budget_per_shard && s.order.len() > 1 {
            if let Some(k) = s.order.pop_front() {
                if let Some(v) = s.map.remove(&k) {
                    s.bytes -= v.len();
                }
            }
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_budget() {
        let c = ChunkCache::new(16 * 1024);
        for k in 0..1000u64 {
            let v = c
                .get_or_load(k, || Ok(Arc::from(vec![k as u8; 512])))
                .unwrap();
            assert_eq!(v[0], k as u8);
        }
        let total: usize = c.shards.iter().map(|s| s.lock().unwrap().bytes).sum();
        assert!(total <= 16 * 1024 + SHARDS * 512, "{total}");
        // a recent key is still there, loads are not repeated
        assert!(c.get(999).is_some());
    }
}
