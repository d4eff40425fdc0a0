//! Following a chain of files beside an image: qcow2 backing files and VMDK snapshot
//! parents. One step of the walk: the name written in the child (a path from evidence)
//! reduced to a file name, opened only through the siblings, with cycles and depth bounded.

use triage_source::{Siblings, Source};

/// A name written in evidence reduced to its last component; `None` when it has none.
pub(crate) fn file_name_only(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        None
    } else {
        Some(base)
    }
}

/// The outcome of one step.
pub(crate) enum Step {
    /// The next file of the chain, with its name.
    Opened(String, Source),
    /// The chain stops here: the name to report, and why (a warning). What the missing
    /// file held reads as holes.
    Stop(String, String),
}

/// The walk's state: the names seen so far (compared case-insensitively).
pub(crate) struct Walk {
    seen: Vec<String>,
    max: usize,
}

impl Walk {
    /// A walk starting at the file named `top`, following at most `max` links.
    pub(crate) fn new(top: &str, max: usize) -> Walk {
        Walk {
            seen: vec![file_name_only(top).unwrap_or("").to_ascii_lowercase()],
            max,
        }
    }

    /// Open the file the child names as `raw`; `depth` is the chain's length so far,
    /// `what` names the link (`backing file`, `parent`) and `chain` the chain (`backing
    /// chain`, `snapshot chain`), `holes` what reads as holes when it is missing.
    pub(crate) fn step(
        &mut self,
        siblings: &dyn Siblings,
        raw: &str,
        depth: usize,
        what: &str,
        chain: &str,
        holes: &str,
    ) -> Step {
        let Some(name) = file_name_only(raw).map(str::to_string) else {
            return Step::Stop(
                raw.to_string(),
                format!("{what} name {raw:?} has no file name"),
            );
        };
        let lname = name.to_ascii_lowercase();
        if self.seen.contains(&lname) {
            return Step::Stop(name.clone(), format!("{chain} loops back to {name}"));
        }
        if depth > self.max {
            let max = self.max;
            return Step::Stop(
                name.clone(),
                format!("{chain} deeper than {max}: {name} not followed"),
            );
        }
        self.seen.push(lname);
        match siblings.open(&name) {
            Ok(Some(s)) => Step::Opened(name, s),
            Ok(None) => Step::Stop(
                name.clone(),
                format!("{what} {name} not found: {holes} read as holes"),
            ),
            Err(e) => Step::Stop(name.clone(), format!("{what} {name} cannot be opened: {e}")),
        }
    }
}
