//! PendingFileRenameOperations: REG_MULTI_SZ of (source, destination) pairs.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RenameOperation {
    /// Empty destination.
    Delete,
    Rename,
    /// Destination starting with `!`: replace an existing file.
    Replace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRename {
    /// Raw strings as stored (e.g. `\??\C:\Windows\System32\smss.exe`).
    pub source: String,
    pub destination: String,
    pub operation: RenameOperation,
}

/// Pairs up the strings; a trailing unpaired source (odd count) counts as a delete.
pub fn parse_pending_renames(strings: &[String]) -> Vec<PendingRename> {
    strings
        .chunks(2)
        .map(|pair| {
            let source = pair[0].clone();
            let destination = pair.get(1).cloned().unwrap_or_default();
            let operation = if destination.is_empty() {
                RenameOperation::Delete
            } else if destination.starts_with('!') {
                RenameOperation::Replace
            } else {
                RenameOperation::Rename
            };
            PendingRename {
                source,
                destination,
                operation,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn pairs_keep_their_meaning() {
        let s: Vec<String> = ["a", "", "b", "!c", "d", "e", "f"]
            .iter()
            .map(|x| x.to_string())
            .collect();
        let ops: Vec<RenameOperation> = parse_pending_renames(&s)
            .iter()
            .map(|p| p.operation)
            .collect();
        use RenameOperation::*;
        assert_eq!(ops, [Delete, Replace, Rename, Delete]);
        assert_eq!(parse_pending_renames(&s)[1].destination, "!c");
    }
}
