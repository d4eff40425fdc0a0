//! Running the Debian tools: found on `PATH` (plus `/usr/sbin`, where ntfs-3g and gdisk
//! install), stdout discarded unless asked for, stderr kept for the error.

use crate::Error;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The Debian package that ships each tool, for the error message.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "mkntfs" | "ntfscp" | "ntfsinfo" => "ntfs-3g",
        "wimlib-imagex" => "wimtools",
        "sgdisk" => "gdisk",
        "ewfacquire" | "ewfexport" => "ewf-tools",
        "qemu-img" => "qemu-utils",
        "hivexregedit" => "libwin-hivex-perl",
        "faketime" => "faketime",
        "x86_64-w64-mingw32-gcc" | "x86_64-w64-mingw32-windres" => "gcc-mingw-w64-x86-64",
        _ => "?",
    }
}

/// The full path of `tool`, or [`Error::MissingTool`].
pub fn find(tool: &str) -> Result<PathBuf, Error> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::MissingTool {
            tool: tool.to_string(),
            package: package_of(tool),
        })
}

/// Runs `tool args...`, returning its stdout; a non-zero exit is [`Error::Tool`].
pub fn run<I, S>(tool: &str, args: I) -> Result<Vec<u8>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let exe = find(tool)?;
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let command = std::iter::once(tool.to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(exe)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Io {
            path: PathBuf::from(tool),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::Tool {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}
