//! The benchmark volume: many small files in the directory shapes of a Windows install
//! (component store, System32, Program Files vendors, user profiles), optionally one fake
//! `smss.exe` planted deep in it.

use crate::build::{fix_times, gpt_disk_into, ntfs_from_dir};
use crate::Error;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

const RECIPE: &str = "diskgen-many-files-1";

/// A cheap deterministic mix of `i` (splitmix64), for names and sizes.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const EXT: [&str; 8] = ["dll", "exe", "mui", "manifest", "cat", "xml", "dat", "png"];
const WORDS: [&str; 16] = [
    "core", "shell", "net", "media", "print", "crypt", "update", "search", "graphics", "input",
    "audio", "storage", "security", "runtime", "diag", "sync",
];

/// The volume path of file number `i` of the layout (about 40 % WinSxS, 10 % System32,
/// 35 % Program Files, 15 % Users; 25–60 files a directory).
fn path_of(i: u64) -> String {
    let r = mix(i);
    let dir_no = i / 40;
    let d = mix(dir_no);
    let w = |x: u64| WORDS[(x % 16) as usize];
    let ext = EXT[(r % 8) as usize];
    match d % 20 {
        0..=7 => format!(
            "\\Windows\\WinSxS\\amd64_microsoft-windows-{}-{}_31bf3856ad364e35_10.0.22621.{}_none_{:016x}\\{}{}.{ext}",
            w(d >> 8),
            w(d >> 12),
            (d >> 16) % 4000,
            d >> 1,
            w(r >> 8),
            i
        ),
        8 | 9 => format!(
            "\\Windows\\System32\\DriverStore\\FileRepository\\{}{}.inf_amd64_{:016x}\\{}{}.{ext}",
            w(d >> 8),
            dir_no % 997,
            d >> 3,
            w(r >> 8),
            i
        ),
        10..=16 => format!(
            "\\Program Files\\Vendor{:03}\\Product{:02}\\{}\\{}\\{}{}.{ext}",
            (d >> 8) % 150,
            (d >> 16) % 12,
            ["bin", "lib", "resources", "plugins"][((d >> 24) % 4) as usize],
            ["x64", "en-US", "common", "data"][((d >> 28) % 4) as usize],
            w(r >> 8),
            i
        ),
        _ => format!(
            "\\Users\\user{:02}\\AppData\\Local\\{}\\{}\\Cache\\f_{:06}.{ext}",
            (d >> 8) % 8,
            w(d >> 12),
            w(d >> 16),
            i
        ),
    }
}

/// File bytes: 40–4000 bytes (a few resident, most in clusters), unique per file.
fn content_of(i: u64) -> Vec<u8> {
    let r = mix(i ^ 0xC0FF_EE00);
    let len = 40 + (r % 3960) as usize;
    let line = format!("diskgen file {i} {r:016x}\r\n");
    line.as_bytes().iter().copied().cycle().take(len).collect()
}

/// Builds (or finds cached in `out`) a GPT disk of `size` bytes whose NTFS volume holds
/// `files` small files laid out like a Windows install; `plant_deep` is a volume path
/// (`\Program Files\Vendor042\Product03\bin\x64\smss.exe`) that receives the project's fake
/// `smss.exe`. Returns the raw disk; the NTFS partition is at [`crate::PARTITION_OFFSET`].
pub fn build_many_files(
    out: &Path,
    files: usize,
    size: u64,
    plant_deep: Option<&str>,
) -> Result<PathBuf, Error> {
    fs::create_dir_all(out).map_err(Error::io(out))?;
    let fake = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/pe/fake/smss.exe");
    let mut h = Sha256::new();
    h.update(format!("{RECIPE}\0{files}\0{size}\0{plant_deep:?}"));
    h.update(include_str!("many.rs"));
    h.update(include_str!("build.rs"));
    if plant_deep.is_some() {
        h.update(fs::read(&fake).map_err(Error::io(&fake))?);
    }
    let key: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let disk = out.join(format!("many-files-{files}-{key}.raw"));
    if disk.is_file() {
        return Ok(disk);
    }
    // Stage, WIM and partition image: about 12 KiB a file at peak.
    let tmp = crate::build::scratch(out, files as u64 * 12 * 1024 + (64 << 20))?;
    let stage = tmp.path().join("stage");
    let local = |p: &str| {
        p.split('\\')
            .filter(|c| !c.is_empty())
            .fold(stage.clone(), |acc, c| acc.join(c))
    };
    for i in 0..files as u64 {
        let dest = local(&path_of(i));
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        fs::write(&dest, content_of(i)).map_err(Error::io(&dest))?;
    }
    if let Some(p) = plant_deep {
        let dest = local(p);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        fs::copy(&fake, &dest).map_err(Error::io(&dest))?;
    }
    fix_times(&stage)?;
    let part = tmp.path().join("part.img");
    let (first, last) = crate::build::layout(size)?;
    ntfs_from_dir(tmp.path(), &stage, &part, (last - first + 1) * 512)?;
    crate::mft::Ntfs::open(&part)?.normalize_change_times()?;
    fs::remove_dir_all(&stage).map_err(Error::io(&stage))?; // frees scratch before the copy
    gpt_disk_into(&part, out, &disk, size)?;
    Ok(disk)
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_spread_and_unique() {
        let paths: std::collections::HashSet<_> = (0..5000).map(super::path_of).collect();
        assert_eq!(paths.len(), 5000);
        for top in ["\\Windows\\WinSxS\\", "\\Program Files\\", "\\Users\\"] {
            assert!(paths.iter().any(|p| p.starts_with(top)), "{top}");
        }
    }
}
