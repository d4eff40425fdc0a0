//! Walking ActiveProcessLinks from PsActiveProcessHead: bounded, cycle-checked, every
//! entry checked as an EPROCESS; a broken link ends the walk with a warning.

use std::collections::HashSet;

use crate::bytes::is_kernel_pointer;
use crate::eprocess::{check_fields, EprocessCore};
use crate::reader::Ctx;

/// Real systems run a few thousand processes at most.
pub const DEFAULT_MAX_LIST_ENTRIES: usize = 65_536;

pub(crate) struct ListEntry {
    pub va: u64,
    pub pa: Option<u64>,
    pub core: EprocessCore,
}

pub(crate) struct Walk {
    pub entries: Vec<ListEntry>,
    /// The walk came back to the head.
    pub complete: bool,
    pub warnings: Vec<String>,
}

/// The ActiveProcessLinks walk from `head`, with a time budget: `stop` is asked every 256 entries; a stop ends
/// the walk (incomplete) with a warning, keeping the entries walked so far.
pub(crate) fn walk_list_until(ctx: &Ctx, head: u64, limit: usize, stop: &dyn Fn() -> bool) -> Walk {
    let mut walk = Walk {
        entries: Vec::new(),
        complete: false,
        warnings: Vec::new(),
    };
    let links = u64::from(ctx.l.links);
    let Some(mut cursor) = ctx.kernel.read_u64(head) else {
        walk.warnings
            .push(format!("list: PsActiveProcessHead {head:#x} unreadable"));
        return walk;
    };
    let mut previous = head;
    let mut visited: HashSet<u64> = HashSet::new();
    let mut body = vec![0u8; ctx.l.eprocess_size as usize];
    loop {
        if cursor == head {
            walk.complete = true;
            break;
        }
        if walk.entries.len() >= limit {
            walk.warnings
                .push(format!("list: stopped after {limit} entries"));
            break;
        }
        if walk.entries.len() % 256 == 255 && stop() {
            walk.warnings.push(format!(
                "list: stopped at the time budget after {} entries",
                walk.entries.len()
            ));
            break;
        }
        if !visited.insert(cursor) {
            walk.warnings.push(format!(
                "list: entry {cursor:#x} seen twice (cycle); walk stopped"
            ));
            break;
        }
        if !is_kernel_pointer(cursor) {
            walk.warnings.push(format!("list: link {cursor:#x} (after {previous:#x}) is not a kernel pointer; walk stopped"));
            break;
        }
        let va = cursor - links;
        if !ctx.kernel.read(va, &mut body).is_full() {
            // Tail of the structure may be unreadable; the fields used sit well inside.
            let mut links_bytes = [0u8; 16];
            if !ctx.kernel.read(cursor, &mut links_bytes).is_full() {
                walk.warnings.push(format!(
                    "list: entry {cursor:#x} (after {previous:#x}) unreadable; walk stopped"
                ));
                break;
            }
        }
        let core = match check_fields(&body, ctx.l, ctx.phys_end, false) {
            Ok(c) => c,
            Err(why) => {
                walk.warnings.push(format!(
                    "list: entry {cursor:#x} (EPROCESS {va:#x}): {why}; walk stopped"
                ));
                break;
            }
        };
        if core.blink != previous {
            walk.warnings.push(format!(
                "list: EPROCESS {va:#x} Blink {:#x} does not point back at {previous:#x}",
                core.blink
            ));
        }
        previous = cursor;
        cursor = core.flink;
        walk.entries.push(ListEntry {
            va,
            pa: ctx.kernel.resolve(va),
            core,
        });
    }
    walk
}
