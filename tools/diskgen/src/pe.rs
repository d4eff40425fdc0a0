//! Project-built stand-ins for boot-chain binaries (mingw), from the sources in
//! `samples/pe/src`: the right subsystem and a version resource naming the file and
//! Microsoft, deterministic (`--no-insert-timestamp`, stripped).

use crate::run::run;
use crate::Error;
use std::path::{Path, PathBuf};

/// The FileDescription Windows gives each boot-chain binary.
pub fn description(name: &str) -> &'static str {
    match name {
        "smss.exe" => "Windows Session Manager",
        "csrss.exe" => "Client Server Runtime Process",
        "wininit.exe" => "Windows Start-Up Application",
        "winlogon.exe" => "Windows Logon Application",
        "services.exe" => "Services and Controller app",
        "lsass.exe" => "Local Security Authority Process",
        "svchost.exe" => "Host Process for Windows Services",
        _ => "Windows component",
    }
}

fn version_rc(name: &str) -> String {
    format!(
        r#"1 VERSIONINFO
FILEVERSION 10,0,22621,1
PRODUCTVERSION 10,0,22621,1
FILEFLAGSMASK 0x3f
FILEFLAGS 0x0
FILEOS 0x40004
FILETYPE 0x1
FILESUBTYPE 0x0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Microsoft Corporation"
      VALUE "FileDescription", "{desc}"
      VALUE "FileVersion", "10.0.22621.1 (WinBuild.160101.0800)"
      VALUE "InternalName", "{name}"
      VALUE "LegalCopyright", "(C) Microsoft Corporation. All rights reserved."
      VALUE "OriginalFilename", "{name}"
      VALUE "ProductName", "Microsoft(R) Windows(R) Operating System"
      VALUE "ProductVersion", "10.0.22621.1"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#,
        desc = description(name)
    )
}

/// Builds `name` (e.g. `lsass.exe`) into `work`: native (ntdll only) for smss and csrss,
/// a Windows-subsystem program importing kernel32 for the others.
pub fn build(work: &Path, pe_src: &Path, name: &str) -> Result<PathBuf, Error> {
    let stem = name.trim_end_matches(".exe");
    let rc = work.join(format!("{stem}.rc"));
    std::fs::write(&rc, version_rc(name)).map_err(Error::io(&rc))?;
    let obj = work.join(format!("{stem}_version.o"));
    run(
        "x86_64-w64-mingw32-windres",
        [
            "-O".as_ref(),
            "coff".as_ref(),
            rc.as_os_str(),
            "-o".as_ref(),
            obj.as_os_str(),
        ],
    )?;
    let out = work.join(name);
    let native = matches!(name, "smss.exe" | "csrss.exe");
    let mut args: Vec<std::ffi::OsString> = [
        "-O2",
        "-s",
        "-fno-ident",
        "-fno-asynchronous-unwind-tables",
        "-ffreestanding",
        "-Wl,--no-insert-timestamp",
        "-Wl,--file-alignment,512",
        "-nostdlib",
    ]
    .iter()
    .map(Into::into)
    .collect();
    if native {
        args.extend(["-Wl,--subsystem,native", "-Wl,-e,NtProcessStartup"].map(Into::into));
    } else {
        let message = format!("-DMESSAGE=\"{}\"", description(name));
        args.extend(["-Wl,--subsystem,windows", "-Wl,-e,mainCRTStartup", &message].map(Into::into));
    }
    args.push("-o".into());
    args.push(out.clone().into());
    let source = if native {
        "smss_native.c"
    } else {
        "console_tool.c"
    };
    args.push(pe_src.join(source).into());
    args.push(obj.into());
    if native {
        args.push("-lntdll".into());
    } else {
        args.extend(["-lmsvcrt", "-lkernel32"].map(Into::into));
    }
    run("x86_64-w64-mingw32-gcc", args)?;
    Ok(out)
}
