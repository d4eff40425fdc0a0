//! Wrapping a raw disk into the container formats the analyser reads, with the reference
//! tools (`ewfacquire`, `qemu-img`), and unwrapping them back for byte comparisons.

use crate::run::run;
use crate::Error;
use std::path::{Path, PathBuf};

/// A container format and variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// EnCase 6 E01, deflate (fast), via `ewfacquire -u`.
    E01,
    /// VMDK monolithicSparse (hosted sparse extent).
    VmdkMonolithicSparse,
    /// VMDK streamOptimized (compressed grains).
    VmdkStreamOptimized,
    /// VHD dynamic (`force_size`: the exact byte size, no CHS rounding).
    VhdDynamic,
    /// VHD fixed.
    VhdFixed,
    /// VHDX dynamic.
    VhdxDynamic,
    /// qcow2 v3.
    Qcow2,
    /// qcow2 v3 with compressed clusters.
    Qcow2Compressed,
}

impl Format {
    /// Every format, for tests that go through all of them.
    pub const ALL: [Format; 8] = [
        Format::E01,
        Format::VmdkMonolithicSparse,
        Format::VmdkStreamOptimized,
        Format::VhdDynamic,
        Format::VhdFixed,
        Format::VhdxDynamic,
        Format::Qcow2,
        Format::Qcow2Compressed,
    ];

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::E01 => "E01",
            Format::VmdkMonolithicSparse | Format::VmdkStreamOptimized => "vmdk",
            Format::VhdDynamic | Format::VhdFixed => "vhd",
            Format::VhdxDynamic => "vhdx",
            Format::Qcow2 | Format::Qcow2Compressed => "qcow2",
        }
    }

    /// The name used by the bin (`e01`, `vmdk-sparse`, `vmdk-stream`, `vhd-dynamic`,
    /// `vhd-fixed`, `vhdx`, `qcow2`, `qcow2-compressed`).
    pub fn name(self) -> &'static str {
        match self {
            Format::E01 => "e01",
            Format::VmdkMonolithicSparse => "vmdk-sparse",
            Format::VmdkStreamOptimized => "vmdk-stream",
            Format::VhdDynamic => "vhd-dynamic",
            Format::VhdFixed => "vhd-fixed",
            Format::VhdxDynamic => "vhdx",
            Format::Qcow2 => "qcow2",
            Format::Qcow2Compressed => "qcow2-compressed",
        }
    }

    /// The inverse of [`Format::name`].
    pub fn from_name(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// `qemu-img convert` arguments for the output side (`None` for E01).
    fn qemu(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Format::E01 => return None,
            Format::VmdkMonolithicSparse => &["-O", "vmdk", "-o", "subformat=monolithicSparse"],
            Format::VmdkStreamOptimized => &["-O", "vmdk", "-o", "subformat=streamOptimized"],
            Format::VhdDynamic => &["-O", "vpc", "-o", "subformat=dynamic,force_size=on"],
            Format::VhdFixed => &["-O", "vpc", "-o", "subformat=fixed,force_size=on"],
            Format::VhdxDynamic => &["-O", "vhdx", "-o", "subformat=dynamic"],
            Format::Qcow2 => &["-O", "qcow2", "-o", "compat=1.1"],
            Format::Qcow2Compressed => &["-c", "-O", "qcow2", "-o", "compat=1.1"],
        })
    }

    /// `qemu-img`'s name of the format (for `-f` when reading back).
    fn qemu_name(self) -> &'static str {
        match self {
            Format::E01 => "raw",
            Format::VmdkMonolithicSparse | Format::VmdkStreamOptimized => "vmdk",
            Format::VhdDynamic | Format::VhdFixed => "vpc",
            Format::VhdxDynamic => "vhdx",
            Format::Qcow2 | Format::Qcow2Compressed => "qcow2",
        }
    }
}

/// Wraps the raw image `raw` as `format` at `out` and returns the file to open (for E01,
/// `out` with its extension set to `.E01`: ewfacquire adds it). E01 case data is fixed
/// (case `diskgen`, examiner `smss-triage`); the acquisition and system dates are today's
/// (ewfacquire has no flag for them), so two E01s of one disk differ in their header
/// sections ([`crate::sample_e01`] fixes them with `faketime`).
pub fn wrap(raw: &Path, format: Format, out: &Path) -> Result<PathBuf, Error> {
    if let Some(args) = format.qemu() {
        let mut all: Vec<&std::ffi::OsStr> = vec!["convert".as_ref(), "-q".as_ref()];
        all.extend(["-f", "raw"].map(std::ffi::OsStr::new));
        all.extend(args.iter().map(std::ffi::OsStr::new));
        all.push(raw.as_os_str());
        all.push(out.as_os_str());
        run("qemu-img", all)?;
        return Ok(out.to_path_buf());
    }
    ewfacquire(raw, out, false)
}

/// `ewfacquire -u` of `raw` into `out` (extension set to `.E01`). With `fixed_date`, run
/// under `faketime` (Debian `faketime`) at 2023-11-14 22:13:20 so the acquisition and system
/// dates in the header sections, the only varying bytes, are fixed: the E01 is then
/// byte-identical from build to build. Without `faketime` installed the dates are today's.
pub(crate) fn ewfacquire(raw: &Path, out: &Path, fixed_date: bool) -> Result<PathBuf, Error> {
    let target = out.with_extension("");
    let _ = std::fs::remove_file(target.with_extension("E01"));
    let ewf = crate::run::find("ewfacquire")?;
    let args = [
        "-u",
        "-q",
        "-c",
        "deflate:fast",
        "-f",
        "encase6",
        "-C",
        "diskgen",
        "-D",
        "Windows-like test disk",
        "-e",
        "smss-triage",
        "-E",
        "1",
        "-N",
        "generated by tools/diskgen",
        "-m",
        "fixed",
        "-M",
        "physical",
        "-t",
    ]
    .iter()
    .map(std::ffi::OsStr::new)
    .chain([target.as_os_str(), raw.as_os_str()]);
    if fixed_date && crate::run::find("faketime").is_ok() {
        // `-f`: the clock stands still. Without it faketime only starts the clock there,
        // and a slow run (a loaded CI machine) writes a later second into the header.
        let all = [
            "-f".as_ref(),
            "2023-11-14 22:13:20".as_ref(),
            ewf.as_os_str(),
        ]
        .into_iter()
        .chain(args);
        run("faketime", all)?;
    } else {
        run("ewfacquire", args)?;
    }
    Ok(target.with_extension("E01"))
}

/// Converts a wrapped image back to raw bytes at `out` (`qemu-img convert -O raw`,
/// `ewfexport -f raw`): what the tests compare with the original.
pub fn unwrap_to_raw(wrapped: &Path, format: Format, out: &Path) -> Result<PathBuf, Error> {
    if format == Format::E01 {
        let _ = std::fs::remove_file(out);
        run(
            "ewfexport",
            ["-u", "-q", "-f", "raw", "-t"]
                .iter()
                .map(std::ffi::OsStr::new)
                .chain([out.as_os_str(), wrapped.as_os_str()]),
        )?;
        // ewfexport appends `.raw` to the target name.
        let with_ext = PathBuf::from(format!("{}.raw", out.display()));
        if !out.exists() && with_ext.exists() {
            std::fs::rename(&with_ext, out).map_err(Error::io(out))?;
        }
        return Ok(out.to_path_buf());
    }
    run(
        "qemu-img",
        ["convert", "-q", "-f", format.qemu_name(), "-O", "raw"]
            .iter()
            .map(std::ffi::OsStr::new)
            .chain([wrapped.as_os_str(), out.as_os_str()]),
    )?;
    Ok(out.to_path_buf())
}
