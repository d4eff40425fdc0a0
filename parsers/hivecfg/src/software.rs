//! SOFTWARE hive: Image File Execution Options and SilentProcessExit entries (all of them; the
//! caller decides what is suspicious).
use crate::error::HiveCfgError;
use crate::keyvalues::KeyValues;
use crate::value::RegValue;
use serde::Serialize;
use triage_regf::{Hive, RegfError};

pub const IFEO_PATH: &str = "Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options";
pub const SILENT_PROCESS_EXIT_PATH: &str =
    "Microsoft\\Windows NT\\CurrentVersion\\SilentProcessExit";
const WOW64_PREFIX: &str = "Wow6432Node\\";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IfeoEntry {
    /// Subkey name, normally an image file name such as `lsass.exe`.
    pub image: String,
    /// Found under `Wow6432Node`.
    pub wow64: bool,
    pub key_last_written: u64,
    pub debugger: Option<RegValue>,
    pub global_flag: Option<RegValue>,
    pub verifier_dlls: Option<RegValue>,
    pub other_values: Vec<RegValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SilentProcessExitEntry {
    pub image: String,
    pub wow64: bool,
    pub key_last_written: u64,
    pub monitor_process: Option<RegValue>,
    pub reporting_mode: Option<RegValue>,
    pub other_values: Vec<RegValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoftwareConfig {
    /// Last-written time of the IFEO key itself (native view), when present.
    pub ifeo_key_last_written: Option<u64>,
    pub ifeo: Vec<IfeoEntry>,
    pub silent_process_exit_key_last_written: Option<u64>,
    pub silent_process_exit: Vec<SilentProcessExitEntry>,
    pub errors: Vec<HiveCfgError>,
}

/// Never fails; missing keys give empty lists.
pub fn software_config(hive: &Hive<'_>) -> SoftwareConfig {
    let mut errors = Vec::new();
    let mut ifeo = Vec::new();
    let mut spe = Vec::new();
    let mut ifeo_key_last_written = None;
    let mut silent_process_exit_key_last_written = None;
    for wow64 in [false, true] {
        let prefix = if wow64 { WOW64_PREFIX } else { "" };
        let lw = for_each_subkey(
            hive,
            &format!("{prefix}{IFEO_PATH}"),
            &mut errors,
            |image, kv| {
                ifeo.push(IfeoEntry {
                    image,
                    wow64,
                    key_last_written: kv.last_written,
                    debugger: kv.get("Debugger"),
                    global_flag: kv.get("GlobalFlag"),
                    verifier_dlls: kv.get("VerifierDlls"),
                    other_values: kv.others(&["Debugger", "GlobalFlag", "VerifierDlls"]),
                })
            },
        );
        let lw2 = for_each_subkey(
            hive,
            &format!("{prefix}{SILENT_PROCESS_EXIT_PATH}"),
            &mut errors,
            |image, kv| {
                spe.push(SilentProcessExitEntry {
                    image,
                    wow64,
                    key_last_written: kv.last_written,
                    monitor_process: kv.get("MonitorProcess"),
                    reporting_mode: kv.get("ReportingMode"),
                    other_values: kv.others(&["MonitorProcess", "ReportingMode"]),
                })
            },
        );
        if !wow64 {
            ifeo_key_last_written = lw;
            silent_process_exit_key_last_written = lw2;
        }
    }
    SoftwareConfig {
        ifeo_key_last_written,
        ifeo,
        silent_process_exit_key_last_written,
        silent_process_exit: spe,
        errors,
    }
}

/// Calls `f` with every direct subkey's name and values; returns the parent's last-written time.
fn for_each_subkey(
    hive: &Hive<'_>,
    path: &str,
    errors: &mut Vec<HiveCfgError>,
    mut f: impl FnMut(String, KeyValues),
) -> Option<u64> {
    let parent = match hive.open_key(path) {
        Ok(k) => k,
        Err(RegfError::KeyNotFound { .. }) => return None,
        Err(e) => {
            errors.push(HiveCfgError::regf(path, e));
            return None;
        }
    };
    for sub in parent.subkeys() {
        match sub {
            Ok(k) => {
                let name = k.name().into_owned();
                let full = format!("{path}\\{name}");
                let kv = KeyValues::read(&k, &full, errors);
                f(name, kv);
            }
            Err(e) => errors.push(HiveCfgError::regf(path, e)),
        }
    }
    Some(parent.last_written())
}
