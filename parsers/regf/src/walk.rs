//! Full parallel walk: every key and every value decoded, errors collected, never aborting.
use crate::cells::Cells;
use crate::error::RegfError;
use crate::hive::Hive;
use crate::key::Key;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Deeper nesting than this is treated as corruption (Windows itself allows 512 levels).
pub const MAX_DEPTH: u32 = 512;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WalkReport {
    /// Keys reached, the root included.
    pub keys: u64,
    /// Value records parsed (whether or not their data decoded).
    pub values: u64,
    /// Total bytes of value data decoded.
    pub value_bytes: u64,
    pub max_depth: u32,
    pub errors: Vec<WalkError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalkError {
    /// Path of the key being read when the error occurred (best effort, from parent links).
    pub key_path: String,
    pub error: RegfError,
}

impl WalkReport {
    fn merge(mut self, other: WalkReport) -> WalkReport {
        self.keys += other.keys;
        self.values += other.values;
        self.value_bytes += other.value_bytes;
        self.max_depth = self.max_depth.max(other.max_depth);
        self.errors.extend(other.errors);
        self
    }
}

/// One bit per 8-byte cell slot: each key node is visited once, which breaks cycles and bounds
/// the total work by the number of cells, even across parallel subtrees.
struct Visited(Vec<AtomicU64>);

impl Visited {
    fn new(bins_len: usize) -> Visited {
        Visited(
            (0..bins_len / 8 / 64 + 1)
                .map(|_| AtomicU64::new(0))
                .collect(),
        )
    }
    /// True the first time `cell_offset` is seen.
    fn first_visit(&self, cell_offset: u32) -> bool {
        let slot = cell_offset as usize / 8;
        match self.0.get(slot / 64) {
            Some(word) => {
                let bit = 1u64 << (slot % 64);
                word.fetch_or(bit, Ordering::Relaxed) & bit == 0
            }
            None => false,
        }
    }
}

impl<'a> Hive<'a> {
    /// Walks the whole tree, the root's subtrees in parallel.
    pub fn walk(&self) -> WalkReport {
        let cells = self.cells();
        let visited = Visited::new(cells.bins_len());
        let root = match self.root() {
            Ok(r) => r,
            Err(error) => {
                return WalkReport {
                    errors: vec![WalkError {
                        key_path: String::new(),
                        error,
                    }],
                    ..Default::default()
                }
            }
        };
        let mut report = WalkReport::default();
        let mut children = Vec::new();
        visit_key(cells, &visited, root, 0, &mut report, &mut children);
        let sub = children
            .into_par_iter()
            .map(|(k, d)| walk_subtree(cells, &visited, k, d))
            .reduce(WalkReport::default, WalkReport::merge);
        report.merge(sub)
    }
}

fn walk_subtree<'a>(cells: Cells<'a>, visited: &Visited, start: Key<'a>, depth: u32) -> WalkReport {
    let mut report = WalkReport::default();
    let mut stack = vec![(start, depth)];
    while let Some((key, depth)) = stack.pop() {
        visit_key(cells, visited, key, depth, &mut report, &mut stack);
    }
    report
}

fn visit_key<'a>(
    cells: Cells<'a>,
    visited: &Visited,
    key: Key<'a>,
    depth: u32,
    report: &mut WalkReport,
    pending: &mut Vec<(Key<'a>, u32)>,
) {
    let fail = |report: &mut WalkReport, error: RegfError| {
        report.errors.push(WalkError {
            key_path: key_path(cells, key),
            error,
        });
    };
    if !visited.first_visit(key.cell_offset()) {
        fail(
            report,
            RegfError::Cycle {
                offset: key.file_offset(),
                what: "key node",
            },
        );
        return;
    }
    report.keys += 1;
    report.max_depth = report.max_depth.max(depth);
    for value in key.values() {
        match value {
            Ok(v) => {
                report.values += 1;
                match v.data() {
                    Ok(_) => report.value_bytes += v.data_len() as u64,
                    Err(e) => fail(report, e),
                }
            }
            Err(e) => fail(report, e),
        }
    }
    for sub in key.subkeys() {
        match sub {
            Ok(k) if depth < MAX_DEPTH => pending.push((k, depth + 1)),
            Ok(k) => fail(
                report,
                RegfError::TooDeep {
                    offset: k.file_offset(),
                    depth: depth + 1,
                },
            ),
            Err(e) => fail(report, e),
        }
    }
}

/// Rebuilds a key's path from parent links (bounded, so corrupt links cannot loop).
pub fn key_path(cells: Cells<'_>, key: Key<'_>) -> String {
    let mut names = vec![key.name().into_owned()];
    let mut cur = key;
    for _ in 0..MAX_DEPTH {
        if cur.is_root() {
            break;
        }
        match Key::parse(cells, cur.parent_offset()) {
            Ok(p) => {
                names.push(p.name().into_owned());
                cur = p;
            }
            Err(_) => {
                names.push("?".into());
                break;
            }
        }
    }
    names.reverse();
    names.join("\\")
}
