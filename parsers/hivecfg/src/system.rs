//! SYSTEM hive: Select, and every control set's Session Manager configuration.
use crate::csrss::{parse_csrss_command_line, CsrssCommandLine};
use crate::error::HiveCfgError;
use crate::keyvalues::{open_below, KeyValues};
use crate::pending::{parse_pending_renames, PendingRename};
use crate::value::RegValue;
use serde::Serialize;
use std::collections::BTreeMap;
use triage_regf::{names_equal, Hive};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Select {
    pub current: Option<u32>,
    pub default: Option<u32>,
    pub failed: Option<u32>,
    pub last_known_good: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemConfig {
    pub select: Select,
    /// `ControlSet00N` named by `Select\Current`, when that set exists.
    pub current_control_set: Option<String>,
    /// One entry per `ControlSetNNN` key, in name order.
    pub session_managers: Vec<SessionManagerConfig>,
    /// Settings whose values are not the same in every control set.
    pub differences: Vec<Difference>,
    pub errors: Vec<HiveCfgError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionManagerConfig {
    pub control_set: String,
    pub is_current: bool,
    /// FILETIME of `Control\Session Manager`.
    pub key_last_written: u64,
    pub boot_execute: Option<RegValue>,
    pub boot_execute_no_pnp_sync: Option<RegValue>,
    pub setup_execute: Option<RegValue>,
    pub execute: Option<RegValue>,
    pub platform_execute: Option<RegValue>,
    pub s0_initial_command: Option<RegValue>,
    pub subsystems: Option<Subsystems>,
    pub known_dlls: Option<KnownDlls>,
    pub exclude_from_known_dlls: Option<RegValue>,
    pub pending_file_rename_operations: Option<PendingRenames>,
    pub pending_file_rename_operations2: Option<PendingRenames>,
    pub app_cert_dlls: Option<AppCertDlls>,
}

impl SessionManagerConfig {
    /// The plain values of `Session Manager` that smss reads at boot (BootExecute,
    /// BootExecuteNoPnpSync, SetupExecute, Execute, PlatformExecute, S0InitialCommand,
    /// ExcludeFromKnownDlls), those present: the one list the records and the control-set
    /// comparison walk.
    pub fn boot_values(&self) -> impl Iterator<Item = &RegValue> {
        [
            &self.boot_execute,
            &self.boot_execute_no_pnp_sync,
            &self.setup_execute,
            &self.execute,
            &self.platform_execute,
            &self.s0_initial_command,
            &self.exclude_from_known_dlls,
        ]
        .into_iter()
        .flatten()
    }

    /// PendingFileRenameOperations and PendingFileRenameOperations2, those present.
    pub fn pending_renames(&self) -> impl Iterator<Item = &PendingRenames> {
        [
            &self.pending_file_rename_operations,
            &self.pending_file_rename_operations2,
        ]
        .into_iter()
        .flatten()
    }
}

impl Subsystems {
    /// Every value of the key: the named ones, then the others.
    pub fn values(&self) -> impl Iterator<Item = &RegValue> {
        [
            &self.windows,
            &self.required,
            &self.optional,
            &self.kmode,
            &self.debug,
        ]
        .into_iter()
        .flatten()
        .chain(&self.other)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subsystems {
    pub key_last_written: u64,
    pub windows: Option<RegValue>,
    /// `windows` parsed: csrss path, switches, ServerDlls.
    pub windows_command: Option<CsrssCommandLine>,
    pub required: Option<RegValue>,
    pub optional: Option<RegValue>,
    pub kmode: Option<RegValue>,
    pub debug: Option<RegValue>,
    /// Any other value (e.g. `Posix`, the default value).
    pub other: Vec<RegValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownDlls {
    pub key_last_written: u64,
    /// Value name → value, without the `DllDirectory*` values.
    pub dlls: BTreeMap<String, RegValue>,
    pub dll_directory: Option<RegValue>,
    pub dll_directory32: Option<RegValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRenames {
    pub value: RegValue,
    pub operations: Vec<PendingRename>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppCertDlls {
    pub key_last_written: u64,
    pub dlls: Vec<RegValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// E.g. `Session Manager\BootExecute`, `SubSystems\Windows`, `KnownDLLs\kernel32`.
    pub setting: String,
    /// Control set → displayed value (`None`: absent there).
    pub by_control_set: BTreeMap<String, Option<String>>,
}

/// Never fails: whatever cannot be read is listed in `errors`.
pub fn system_config(hive: &Hive<'_>) -> SystemConfig {
    let mut errors = Vec::new();
    let select = read_select(hive, &mut errors);
    let mut sets: Vec<String> = match hive.root() {
        Ok(root) => root
            .subkeys()
            .filter_map(|k| match k {
                Ok(k) => Some(k.name().into_owned()),
                Err(e) => {
                    errors.push(HiveCfgError::regf("(root)", e));
                    None
                }
            })
            .filter(|n| is_control_set_name(n))
            .collect(),
        Err(e) => {
            errors.push(HiveCfgError::regf("(root)", e));
            Vec::new()
        }
    };
    sets.sort_by_key(|n| n.to_ascii_lowercase());
    let current_name = select.current.map(|n| format!("ControlSet{n:03}"));
    let current_control_set = current_name
        .as_ref()
        .and_then(|c| sets.iter().find(|s| names_equal(s, c)).cloned());
    let session_managers: Vec<SessionManagerConfig> = sets
        .iter()
        .filter_map(|set| {
            let is_current = current_control_set
                .as_deref()
                .is_some_and(|c| names_equal(c, set));
            read_session_manager(hive, set, is_current, &mut errors)
        })
        .collect();
    let differences = differences(&session_managers);
    SystemConfig {
        select,
        current_control_set,
        session_managers,
        differences,
        errors,
    }
}

fn is_control_set_name(n: &str) -> bool {
    n.len() == 13
        && n[..10].eq_ignore_ascii_case("ControlSet")
        && n[10..].bytes().all(|b| b.is_ascii_digit())
}

fn read_select(hive: &Hive<'_>, errors: &mut Vec<HiveCfgError>) -> Select {
    let key = match hive.open_key("Select") {
        Ok(k) => k,
        Err(e) => {
            errors.push(HiveCfgError::regf("Select", e));
            return Select::default();
        }
    };
    let kv = KeyValues::read(&key, "Select", errors);
    let num = |n: &str| kv.get(n).and_then(|v| v.as_number()).map(|x| x as u32);
    Select {
        current: num("Current"),
        default: num("Default"),
        failed: num("Failed"),
        last_known_good: num("LastKnownGood"),
    }
}

fn read_session_manager(
    hive: &Hive<'_>,
    set: &str,
    is_current: bool,
    errors: &mut Vec<HiveCfgError>,
) -> Option<SessionManagerConfig> {
    let path = format!("{set}\\Control\\Session Manager");
    let key = match hive.open_key(&path) {
        Ok(k) => k,
        Err(e) => {
            errors.push(HiveCfgError::regf(&path, e));
            return None;
        }
    };
    let sm = KeyValues::read(&key, &path, errors);
    let pending = |name: &str| {
        sm.get(name).map(|value| PendingRenames {
            operations: parse_pending_renames(&value.strings()),
            value,
        })
    };
    let sub = |name: &str, errors: &mut Vec<HiveCfgError>| {
        let full = format!("{path}\\{name}");
        open_below(&key, name, &full, errors).map(|k| KeyValues::read(&k, &full, errors))
    };
    let subsystems = sub("SubSystems", errors).map(|kv| {
        let windows = kv.get("Windows");
        Subsystems {
            key_last_written: kv.last_written,
            windows_command: windows
                .as_ref()
                .and_then(|w| w.as_text().map(parse_csrss_command_line)),
            windows,
            required: kv.get("Required"),
            optional: kv.get("Optional"),
            kmode: kv.get("Kmode"),
            debug: kv.get("Debug"),
            other: kv.others(&["Windows", "Required", "Optional", "Kmode", "Debug"]),
        }
    });
    let known_dlls = sub("KnownDLLs", errors).map(|kv| KnownDlls {
        key_last_written: kv.last_written,
        dll_directory: kv.get("DllDirectory"),
        dll_directory32: kv.get("DllDirectory32"),
        dlls: kv
            .others(&["DllDirectory", "DllDirectory32"])
            .into_iter()
            .map(|v| (v.name.clone(), v))
            .collect(),
    });
    let app_cert_dlls = sub("AppCertDlls", errors).map(|kv| AppCertDlls {
        key_last_written: kv.last_written,
        dlls: kv.values,
    });
    Some(SessionManagerConfig {
        control_set: set.to_string(),
        is_current,
        key_last_written: sm.last_written,
        boot_execute: sm.get("BootExecute"),
        boot_execute_no_pnp_sync: sm.get("BootExecuteNoPnpSync"),
        setup_execute: sm.get("SetupExecute"),
        execute: sm.get("Execute"),
        platform_execute: sm.get("PlatformExecute"),
        s0_initial_command: sm.get("S0InitialCommand"),
        exclude_from_known_dlls: sm.get("ExcludeFromKnownDlls"),
        pending_file_rename_operations: pending("PendingFileRenameOperations"),
        pending_file_rename_operations2: pending("PendingFileRenameOperations2"),
        subsystems,
        known_dlls,
        app_cert_dlls,
    })
}

/// Every compared setting of one control set, rendered for comparison.
fn settings(sm: &SessionManagerConfig) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |prefix: &str, v: &RegValue| {
        out.insert(
            format!("{prefix}\\{}", v.name),
            format!("{}: {}", v.value_type, v.display()),
        );
    };
    for v in sm.boot_values() {
        put("Session Manager", v);
    }
    for p in sm.pending_renames() {
        put("Session Manager", &p.value);
    }
    if let Some(s) = &sm.subsystems {
        for v in s.values() {
            put("SubSystems", v);
        }
    }
    if let Some(k) = &sm.known_dlls {
        for v in k
            .dlls
            .values()
            .chain(&k.dll_directory)
            .chain(&k.dll_directory32)
        {
            put("KnownDLLs", v);
        }
    }
    if let Some(a) = &sm.app_cert_dlls {
        for v in &a.dlls {
            put("AppCertDlls", v);
        }
    }
    out
}

fn differences(sets: &[SessionManagerConfig]) -> Vec<Difference> {
    if sets.len() < 2 {
        return Vec::new();
    }
    let rendered: Vec<BTreeMap<String, String>> = sets.iter().map(settings).collect();
    let mut names: Vec<&String> = rendered.iter().flat_map(|m| m.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let by: BTreeMap<String, Option<String>> = sets
                .iter()
                .zip(&rendered)
                .map(|(s, m)| (s.control_set.clone(), m.get(name).cloned()))
                .collect();
            let first = by.values().next()?;
            if by.values().all(|v| v == first) {
                None
            } else {
                Some(Difference {
                    setting: name.clone(),
                    by_control_set: by,
                })
            }
        })
        .collect()
}
