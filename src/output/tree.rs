//! `mem ps --tree` and `mem smss`: processes drawn as a tree, children under the parent
//! that existed before them.

use std::collections::HashMap;
use std::io::Write;

use crate::model::{FoundBy, ProcessRecord};
use crate::rules::process::parent_of;

/// Children sorted by creation time; a process whose parent is absent (or younger than
/// it) is a root.
pub fn write_tree<W: Write>(out: &mut W, procs: &[ProcessRecord]) -> std::io::Result<()> {
    let mut by_pid: HashMap<u64, Vec<&ProcessRecord>> = HashMap::new();
    for r in procs {
        by_pid.entry(r.pid).or_default().push(r);
    }
    let mut children: HashMap<*const ProcessRecord, Vec<&ProcessRecord>> = HashMap::new();
    let mut roots = Vec::new();
    for p in procs {
        match parent_of(p, &by_pid) {
            Some(parent) => children.entry(parent as *const _).or_default().push(p),
            None => roots.push(p),
        }
    }
    fn line(p: &ProcessRecord) -> String {
        let mut s = format!("{} {}", p.pid, p.name);
        if !p.session.is_empty() {
            s.push_str(&format!("  session {}", p.session));
        }
        s.push_str(&format!("  {}", p.create_time));
        if !p.exit_time.is_empty() {
            s.push_str(&format!("  exited {}", p.exit_time));
        }
        if !matches!(p.found_by, FoundBy::Both | FoundBy::List) {
            s.push_str(&format!("  [{}]", p.found_by));
        }
        if !p.image_path.is_empty() {
            s.push_str(&format!("  {}", p.image_path));
        }
        s
    }
    fn walk<W: Write>(
        out: &mut W,
        p: &ProcessRecord,
        children: &HashMap<*const ProcessRecord, Vec<&ProcessRecord>>,
        prefix: &str,
        last: bool,
        depth: usize,
    ) -> std::io::Result<()> {
        let branch = if depth == 0 {
            ""
        } else if last {
            "└─ "
        } else {
            "├─ "
        };
        let mut text = line(p);
        if depth == 0 && p.ppid != 0 {
            // A root other than System: its parent is not shown (filtered out, exited and
            // gone, or younger than it: a reused PID). Say which.
            if p.parent_name.is_empty() {
                text.push_str(&format!("  (parent pid {} not in memory)", p.ppid));
            } else {
                text.push_str(&format!("  (parent pid {} {})", p.ppid, p.parent_name));
            }
        }
        writeln!(out, "{prefix}{branch}{}", crate::sanitise::terminal(&text))?;
        // Depth bound: parent links come from the dump and could loop.
        if depth > 64 {
            return Ok(());
        }
        let kids = children.get(&(p as *const _)).cloned().unwrap_or_default();
        let next = if depth == 0 {
            String::new()
        } else {
            format!("{prefix}{}", if last { "   " } else { "│  " })
        };
        for (i, c) in kids.iter().enumerate() {
            walk(out, c, children, &next, i + 1 == kids.len(), depth + 1)?;
        }
        Ok(())
    }
    for r in roots {
        walk(out, r, &children, "", true, 0)?;
    }
    Ok(())
}
