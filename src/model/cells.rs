//! Typed cells: values the rules read as facts and the writers print as one documented
//! text. The rules never compare a cell's text (`"paged out"`, `"scan"`, `"mismatch"`)
//! or split a `;`-joined cell; they read these types.

use std::fmt;

use serde::{Serialize, Serializer};

/// A list in one cell, written `a;b;c` (CSV and JSONL alike, as documented).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(Vec<String>);

impl List {
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Is `item` in the list (exactly)?
    pub fn contains(&self, item: &str) -> bool {
        self.0.iter().any(|s| s == item)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<S: Into<String>> FromIterator<S> for List {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        List(items.into_iter().map(Into::into).collect())
    }
}

/// The written form read back (`a;b;c`); empty items are dropped.
impl From<&str> for List {
    fn from(joined: &str) -> Self {
        joined.split(';').filter(|s| !s.is_empty()).collect()
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(s)?;
        }
        Ok(())
    }
}

impl Serialize for List {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The check of a signed file's Authenticode digest against the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DigestCheck {
    /// Not signed: nothing to check (an empty cell).
    #[default]
    NotSigned,
    Match,
    Mismatch,
}

impl DigestCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestCheck::NotSigned => "",
            DigestCheck::Match => "match",
            DigestCheck::Mismatch => "mismatch",
        }
    }
}

/// How a process was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FoundBy {
    /// Not said (an empty cell).
    #[default]
    Unknown,
    /// On the kernel's process list only.
    List,
    /// By the pool-tag scan only: unlinked from the list, or exited and freed.
    Scan,
    /// On the list and by the scan.
    Both,
    /// A creation recorded in event history, not a process in memory.
    History,
}

impl FoundBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundBy::Unknown => "",
            FoundBy::List => "list",
            FoundBy::Scan => "scan",
            FoundBy::Both => "both",
            FoundBy::History => "history",
        }
    }
}

/// Text read from a process's memory (PEB image path, command line): the text, or
/// paged out — in neither the dump nor a paging file that was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemText {
    Text(String),
    PagedOut,
}

impl Default for MemText {
    fn default() -> Self {
        MemText::Text(String::new())
    }
}

impl MemText {
    /// The text, when it was read.
    pub fn text(&self) -> Option<&str> {
        match self {
            MemText::Text(t) => Some(t),
            MemText::PagedOut => None,
        }
    }

    /// What the cell says: the text, or `paged out`.
    pub fn as_str(&self) -> &str {
        match self {
            MemText::Text(t) => t,
            MemText::PagedOut => "paged out",
        }
    }

    /// Nothing to show: an empty text (paged out is something to show).
    pub fn is_empty(&self) -> bool {
        matches!(self, MemText::Text(t) if t.is_empty())
    }
}

impl From<&str> for MemText {
    fn from(t: &str) -> Self {
        MemText::Text(t.to_string())
    }
}

impl From<String> for MemText {
    fn from(t: String) -> Self {
        MemText::Text(t)
    }
}

macro_rules! text_cell {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )*};
}
text_cell!(DigestCheck, FoundBy, MemText);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_write_their_documented_text() {
        let l: List = ["a", "b"].into_iter().collect();
        assert_eq!(l.to_string(), "a;b");
        assert_eq!(List::from("a;;b"), l);
        assert!(l.contains("b") && !l.contains("a;b"));
        assert_eq!(serde_json::to_string(&l).unwrap(), "\"a;b\"");
        assert_eq!(
            serde_json::to_string(&DigestCheck::Mismatch).unwrap(),
            "\"mismatch\""
        );
        assert_eq!(DigestCheck::default().to_string(), "");
        assert_eq!(FoundBy::Scan.to_string(), "scan");
        assert_eq!(MemText::PagedOut.to_string(), "paged out");
        assert_eq!(MemText::PagedOut.text(), None);
        assert!(!MemText::PagedOut.is_empty() && MemText::default().is_empty());
        // A command line that reads "paged out" is text, not the state.
        assert_eq!(MemText::from("paged out").text(), Some("paged out"));
    }
}
