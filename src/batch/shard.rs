//! `--shard K/N`: a deterministic, contiguous part of the sorted input list, balanced by
//! bytes (one disk image outweighs a hundred PE files), and `--input-list FILE`.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// `K/N`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected K/N, e.g. 2/8"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: K is not a number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: N is not a number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(format!("{s:?}: need 1 <= K <= N"));
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// The shard (0-based) of each input: input `i` goes where the middle of its bytes
/// falls on the cumulative byte axis cut into `n` equal parts. Contiguous, deterministic,
/// every input in exactly one shard.
pub fn assign(sizes: &[u64], n: usize) -> Vec<usize> {
    // Empty files still count one byte so a list of them spreads too.
    let w: Vec<u128> = sizes.iter().map(|&s| u128::from(s.max(1))).collect();
    let total: u128 = w.iter().sum::<u128>().max(1);
    let mut before = 0u128;
    w.iter()
        .map(|&s| {
            let mid = before * 2 + s;
            before += s;
            ((mid * n as u128) / (total * 2)).min(n as u128 - 1) as usize
        })
        .collect()
}

/// Keep only `shard`'s part of `files`.
pub fn select(files: Vec<PathBuf>, shard: Shard) -> Vec<PathBuf> {
    let sizes: Vec<u64> = files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    let parts = assign(&sizes, shard.n);
    files
        .into_iter()
        .zip(parts)
        .filter(|(_, s)| *s + 1 == shard.k)
        .map(|(p, _)| p)
        .collect()
}

/// `--input-list FILE` (`-` is stdin): one path per line; blank lines and `#` comments
/// are ignored.
pub fn read_list(path: &std::path::Path) -> Result<Vec<PathBuf>> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?,
        ))
    };
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.with_context(|| format!("{}: cannot read", path.display()))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(PathBuf::from(line));
    }
    if out.is_empty() {
        bail!("{}: the input list names no input", path.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_contiguous_and_balanced_by_bytes() {
        let sizes = [100u64, 1, 1, 1, 1, 1, 1, 1, 1, 90];
        let a = assign(&sizes, 2);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(a[0], 0);
        assert_eq!(a[9], 1);
        let a = assign(&[5; 12], 4);
        assert_eq!(a, vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { k: 2, n: 3 }));
    }
}
