//! Progress on a terminal, silence when piped: stderr only, never stdout.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Progress {
    enabled: bool,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    /// Shown only when stderr is a terminal and the user did not ask for quiet.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    pub fn start(&self, total: usize) {
        if self.enabled && total > 1 {
            eprint!("\r\x1b[2Kscanning {total} inputs");
        }
    }

    pub fn tick(&self, done: usize, total: usize, path: &Path) {
        if !self.enabled {
            return;
        }
        let mut last = match self.last.lock() {
            Ok(l) => l,
            Err(_) => return,
        };
        // Redraw at most ten times a second: a terminal is slower than our parsers.
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) && done != total {
            return;
        }
        *last = Some(Instant::now());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        // The name comes from the evidence: never let it write escape sequences.
        let name = crate::sanitise::clip(&name, 60);
        eprint!("\r\x1b[2K[{done}/{total}] {name}");
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}
