//! Index of a Volatility-style symbol directory:
//! `<root>/windows/<pdb name>/<GUID>-<age>.json[.xz]`.
use crate::error::IsfError;
use crate::model::Isf;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Symbol directories hold a few thousand files at most; stop listing beyond this.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IsfEntry {
    /// Lower-case PDB name, e.g. "ntkrnlmp.pdb".
    pub pdb_name: String,
    /// Upper-case GUID.
    pub guid: String,
    pub age: u32,
    pub path: PathBuf,
}

/// File names only; nothing is decompressed until [`IsfDir::load`].
#[derive(Debug, Clone, Serialize)]
pub struct IsfDir {
    pub root: PathBuf,
    pub entries: Vec<IsfEntry>,
}

impl IsfDir {
    /// Index `root` (the directory given to `vol -s`). Also accepts the `windows/` folder itself.
    pub fn open(root: &Path) -> Result<IsfDir, IsfError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IsfError::Io { path, source }
        };
        let windows = if root.join("windows").is_dir() {
            root.join("windows")
        } else {
            root.to_path_buf()
        };
        let mut entries = Vec::new();
        for pdb_dir in std::fs::read_dir(&windows).map_err(io(&windows))? {
            let pdb_dir = pdb_dir.map_err(io(&windows))?.path();
            if !pdb_dir.is_dir() {
                continue;
            }
            let Some(pdb_name) = pdb_dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let pdb_name = pdb_name.to_ascii_lowercase();
            for file in std::fs::read_dir(&pdb_dir).map_err(io(&pdb_dir))? {
                let path = file.map_err(io(&pdb_dir))?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if let Some((guid, age)) = parse_file_name(name) {
                    entries.push(IsfEntry {
                        pdb_name: pdb_name.clone(),
                        guid,
                        age,
                        path,
                    });
                }
                if entries.len() >= MAX_ENTRIES {
                    break;
                }
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(IsfDir {
            root: root.to_path_buf(),
            entries,
        })
    }

    /// Find the file for a PDB identity; GUID and PDB name compare case-insensitively.
    pub fn find(&self, pdb_name: &str, guid: &str, age: u32) -> Option<&IsfEntry> {
        let guid = normalise_guid(guid);
        self.entries
            .iter()
            .find(|e| e.pdb_name.eq_ignore_ascii_case(pdb_name) && e.guid == guid && e.age == age)
    }

    /// Find and load (decompressing only this one file).
    pub fn load(&self, pdb_name: &str, guid: &str, age: u32) -> Result<Isf, IsfError> {
        match self.find(pdb_name, guid, age) {
            Some(e) => Isf::load(&e.path),
            None => Err(IsfError::NotFound {
                dir: self.root.clone(),
                pdb_name: pdb_name.to_string(),
                guid: guid.to_string(),
                age,
            }),
        }
    }
}

/// GUIDs appear with or without braces/dashes; compare as 32 upper-case hex digits.
pub fn normalise_guid(guid: &str) -> String {
    guid.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `<GUID>-<age>.json.xz` / `.json` (Volatility's naming); `<GUID><age>` without dash is
/// ambiguous, so it is not accepted.
fn parse_file_name(name: &str) -> Option<(String, u32)> {
    let lower = name.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".json.xz")
        .or_else(|| lower.strip_suffix(".json"))?;
    let (guid, age) = stem.rsplit_once('-')?;
    if guid.len() != 32 || !guid.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    // Volatility writes the age in decimal (`str(age)`).
    let age: u32 = age.parse().ok()?;
    Some((guid.to_ascii_uppercase(), age))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("0ce4a95c0cd782a7596b034d8648e585-1.json.xz"),
            Some(("0CE4A95C0CD782A7596B034D8648E585".into(), 1))
        );
        assert_eq!(parse_file_name("x-1.json"), None);
        assert_eq!(
            parse_file_name("0CE4A95C0CD782A7596B034D8648E585-1.txt"),
            None
        );
    }
}
