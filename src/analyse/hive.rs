//! Registry hives: transaction logs replayed in memory, the hive type, the Session
//! Manager of every control set (SYSTEM), IFEO and SilentProcessExit (SOFTWARE), all as
//! registry records; then the registry rules.

use anyhow::{Context, Result};
use triage_hivecfg::{self as cfg, Data, HiveType, RegValue, SessionManagerConfig};
use triage_regf::{filetime_to_iso8601, HiveBuf};

use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::{InputReport, RegistryRecord};
use crate::rules::registry::{
    self as rules, ControlSetDifference, IfeoFacts, SessionManagerFacts, SilentExitFacts,
};
use crate::rules::windows::WindowsRelease;

/// How deep `--dump` descends below the key asked for.
const DUMP_MAX_DEPTH: u32 = 64;
/// Walk errors listed in the input's detail (the rest are counted).
const ERRORS_SHOWN: usize = 5;

pub fn analyse(ev: &Evidence, opts: &Options, report: &mut InputReport) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut notes = Vec::new();

    // Transaction logs beside the hive, found through the directory that holds it (on the
    // examiner's disk or inside an image), read-only like the hive itself.
    let log_sources = find_logs(ev, &mut warnings);
    let logs: Vec<(&str, &[u8])> = log_sources
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice().unwrap_or(&[])))
        .collect();

    let primary = triage_regf::Hive::from_bytes(ev.bytes()).context("not a readable hive")?;
    let dirty = primary.dirty_state();
    let buf = match HiveBuf::open(ev.bytes(), &logs) {
        Ok(b) => b,
        Err(e) => {
            // A log that does not apply must not cost us the primary.
            warnings.push(format!("transaction logs not applied: {e}"));
            HiveBuf::open(ev.bytes(), &[]).context("not a readable hive")?
        }
    };
    if dirty.is_dirty() {
        if buf.is_replayed() {
            for r in &buf.replays {
                notes.push(format!(
                    "dirty hive: replayed {} ({:?} format) sequence {}..{}, {} pages{}",
                    r.log,
                    r.format,
                    r.from_seq,
                    r.to_seq,
                    r.pages,
                    r.stopped
                        .as_deref()
                        .map(|s| format!(" (stopped: {s})"))
                        .unwrap_or_default()
                ));
            }
        } else {
            warnings.push(format!(
                "dirty hive (sequence {} != {}{}) and no transaction log applied: the newest changes may be missing",
                dirty.primary_sequence,
                dirty.secondary_sequence,
                if dirty.checksum_mismatch { ", checksum wrong" } else { "" }
            ));
        }
    }
    let hive = buf.hive().context("replayed hive is not readable")?;
    let kind = cfg::hive_type(&hive);
    let kind_name = hive_type_name(kind);

    if let Some(key) = &opts.dump_key {
        let rows = cfg::dump(&hive, key, DUMP_MAX_DEPTH).map_err(|e| anyhow::anyhow!("{e}"))?;
        for row in rows {
            if let Some(err) = &row.error {
                warnings.push(format!("{}: {err}", row.key_path));
            }
            report.registry.push(RegistryRecord {
                hive_type: kind_name.into(),
                key: row.key_path,
                value: row
                    .value_name
                    .map(|n| if n.is_empty() { "(default)".into() } else { n })
                    .unwrap_or_default(),
                value_type: row.value_type.unwrap_or_default(),
                data: row.data,
                last_written: filetime_to_iso8601(row.key_last_written),
                detail: row.error.map(|e| e.to_string()).unwrap_or_default(),
                ..Default::default()
            });
        }
        report.input.detail = notes.join("; ");
        return Ok(warnings);
    }

    // Everything readable, with every error's offset: the walk is the hive's health check.
    let walk = hive.walk();
    notes.insert(
        0,
        format!(
            "{kind_name} hive: {} keys, {} values",
            walk.keys, walk.values
        ),
    );
    if !walk.errors.is_empty() {
        let shown: Vec<String> = walk
            .errors
            .iter()
            .take(ERRORS_SHOWN)
            .map(|e| format!("{}: {}", e.key_path, e.error))
            .collect();
        let more = walk.errors.len().saturating_sub(ERRORS_SHOWN);
        warnings.push(format!(
            "{} unreadable cells: {}{}",
            walk.errors.len(),
            shown.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }

    match kind {
        HiveType::System => {
            let release = release_beside(ev, &mut warnings);
            if let Some((r, from)) = &release {
                notes.push(format!("{r} (from {from})"));
            }
            system(
                &hive,
                kind_name,
                release.map(|(r, _)| r),
                report,
                &mut warnings,
            );
            // Execution evidence kept by SYSTEM: ShimCache and BAM/DAM.
            crate::analyse::execution::add_registry_facts(
                cfg::shimcache(&hive),
                report,
                &mut warnings,
            );
            crate::analyse::execution::add_registry_facts(cfg::bam(&hive), report, &mut warnings);
        }
        HiveType::Amcache => {
            crate::analyse::execution::add_registry_facts(
                cfg::amcache(&hive),
                report,
                &mut warnings,
            );
            notes.push(format!("{} Amcache entries", report.executions.len()));
        }
        HiveType::Software => software(&hive, kind_name, report, &mut warnings),
        _ => notes.push("no boot-chain settings in this hive type".into()),
    }
    report.input.detail = notes.join("; ");
    Ok(warnings)
}

/// The Windows release of the SOFTWARE hive beside a SYSTEM hive (`System32\config`
/// holds both), from `Microsoft\Windows NT\CurrentVersion`, and what it was read from.
/// `None` without a readable SOFTWARE hive there: the Session Manager lists are then
/// judged against every release.
fn release_beside(ev: &Evidence, warnings: &mut Vec<String>) -> Option<(WindowsRelease, String)> {
    let src = ev.siblings.open("SOFTWARE").ok()??;
    let from = src.location().to_string();
    let bytes = match triage_source::read_all(src.as_ref(), crate::evidence::MAX_IN_MEMORY) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!("{from}: not read for the Windows release: {e}"));
            return None;
        }
    };
    let hive = triage_regf::Hive::from_bytes(&bytes).ok()?;
    let key = hive.open_key(r"Microsoft\Windows NT\CurrentVersion").ok()?;
    let text = |name: &str| -> Option<String> {
        let raw = key.value(name).ok()??.raw_data().ok()?;
        Some(triage_regf::decode_sz(&raw))
    };
    let build = text("CurrentBuildNumber")
        .or_else(|| text("CurrentBuild"))
        .and_then(|b| b.trim().parse::<u32>().ok());
    let release = WindowsRelease::from_current_version(&text("CurrentVersion")?, build)?;
    Some((release, from))
}

fn system(
    hive: &triage_regf::Hive<'_>,
    kind: &str,
    release: Option<WindowsRelease>,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) {
    let sys = cfg::system_config(hive);
    warnings.extend(sys.errors.iter().map(|e| e.to_string()));
    // The computer's name, for the host view (which inputs belong to one host).
    if let Some(cs) = &sys.current_control_set {
        let key = format!("{cs}\\Control\\ComputerName\\ComputerName");
        if let Ok(k) = hive.open_key(&key) {
            if let Ok(Some(v)) = k.value("ComputerName") {
                if let Ok(raw) = v.raw_data() {
                    report.registry.push(RegistryRecord {
                        hive_type: kind.into(),
                        control_set: cs.clone(),
                        current: true,
                        key,
                        value: "ComputerName".into(),
                        value_type: v.type_name().into_owned(),
                        data: triage_regf::decode_sz(&raw),
                        last_written: filetime_to_iso8601(k.last_written()),
                        ..Default::default()
                    });
                }
            }
        }
    }
    for sm in &sys.session_managers {
        push_session_manager(sm, kind, &mut report.registry);
        report
            .findings
            .extend(rules::check_session_manager_on(&facts(sm), release));
    }
    let diffs: Vec<ControlSetDifference> = sys
        .differences
        .iter()
        .map(|d| ControlSetDifference {
            setting: d.setting.clone(),
            values: d
                .by_control_set
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect();
    report
        .findings
        .extend(rules::check_control_set_differences(&diffs));
}

fn software(
    hive: &triage_regf::Hive<'_>,
    kind: &str,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) {
    let sw = cfg::software_config(hive);
    warnings.extend(sw.errors.iter().map(|e| e.to_string()));
    for e in &sw.ifeo {
        let key = entry_key(cfg::IFEO_PATH, e.wow64, &e.image);
        let facts = IfeoFacts {
            image: e.image.clone(),
            key: key.clone(),
            debugger: e.debugger.as_ref().map(RegValue::display),
            global_flag: e.global_flag.as_ref().and_then(number),
            verifier_dlls: e.verifier_dlls.as_ref().map(RegValue::display),
        };
        let findings = rules::check_ifeo(&facts);
        // Hundreds of IFEO keys hold harmless heap or mitigation options: report the
        // entries that can start or inject code, and every entry a rule looked at.
        let interesting = e.debugger.is_some()
            || e.verifier_dlls.is_some()
            || e.global_flag.is_some()
            || !findings.is_empty();
        if interesting {
            for v in [&e.debugger, &e.global_flag, &e.verifier_dlls]
                .into_iter()
                .flatten()
            {
                report.registry.push(value_record(
                    kind,
                    "",
                    false,
                    &key,
                    v,
                    e.key_last_written,
                    "",
                ));
            }
        }
        report.findings.extend(findings);
    }
    for e in &sw.silent_process_exit {
        let key = entry_key(cfg::SILENT_PROCESS_EXIT_PATH, e.wow64, &e.image);
        for v in [&e.monitor_process, &e.reporting_mode]
            .into_iter()
            .flatten()
            .chain(e.other_values.iter())
        {
            report.registry.push(value_record(
                kind,
                "",
                false,
                &key,
                v,
                e.key_last_written,
                "",
            ));
        }
        report
            .findings
            .extend(rules::check_silent_exit(&SilentExitFacts {
                image: e.image.clone(),
                key,
                monitor_process: e.monitor_process.as_ref().map(RegValue::display),
                reporting_mode: e.reporting_mode.as_ref().and_then(number),
            }));
    }
}

/// `<path>\<image>`, under `Wow6432Node` for the 32-bit view.
fn entry_key(path: &str, wow64: bool, image: &str) -> String {
    if wow64 {
        format!("Wow6432Node\\{path}\\{image}")
    } else {
        format!("{path}\\{image}")
    }
}

/// The rules' view of one control set.
fn facts(sm: &SessionManagerConfig) -> SessionManagerFacts {
    let strings = |v: &Option<RegValue>| v.as_ref().map(|v| v.strings()).unwrap_or_default();
    let subs = sm.subsystems.as_ref();
    let windows = subs.and_then(|s| s.windows_command.as_ref());
    let mut pending = Vec::new();
    for p in sm.pending_renames() {
        for op in &p.operations {
            pending.push((
                op.source.clone(),
                op.destination.clone(),
                operation_name(op.operation).to_string(),
            ));
        }
    }
    SessionManagerFacts {
        control_set: sm.control_set.clone(),
        current: sm.is_current,
        key: format!("{}\\Control\\Session Manager", sm.control_set),
        boot_execute: strings(&sm.boot_execute),
        boot_execute_no_pnp_sync: strings(&sm.boot_execute_no_pnp_sync),
        setup_execute: strings(&sm.setup_execute),
        execute: strings(&sm.execute),
        platform_execute: strings(&sm.platform_execute),
        s0_initial_command: strings(&sm.s0_initial_command),
        subsystem_windows_exe: windows.map(|w| w.executable.clone()),
        server_dlls: windows
            .map(|w| w.server_dlls.iter().map(|d| d.name.clone()).collect())
            .unwrap_or_default(),
        subsystem_kmode: subs.and_then(|s| s.kmode.as_ref()).map(RegValue::display),
        known_dlls: sm
            .known_dlls
            .as_ref()
            .map(|k| {
                let mut v: Vec<(String, String)> = k
                    .dlls
                    .iter()
                    .map(|(n, val)| (n.clone(), val.display()))
                    .collect();
                for d in [&k.dll_directory, &k.dll_directory32].into_iter().flatten() {
                    v.push((d.name.clone(), d.display()));
                }
                v
            })
            .unwrap_or_default(),
        pending_renames: pending,
        app_cert_dlls: sm
            .app_cert_dlls
            .as_ref()
            .map(|a| {
                a.dlls
                    .iter()
                    .map(|d| (d.name.clone(), d.display()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn operation_name(op: cfg::RenameOperation) -> &'static str {
    match op {
        cfg::RenameOperation::Delete => "delete",
        cfg::RenameOperation::Rename => "rename",
        cfg::RenameOperation::Replace => "replace",
    }
}

/// One registry record per Session Manager value that matters to the boot chain.
fn push_session_manager(sm: &SessionManagerConfig, kind: &str, out: &mut Vec<RegistryRecord>) {
    let cs = sm.control_set.as_str();
    let key = format!("{cs}\\Control\\Session Manager");
    let t = sm.key_last_written;
    for v in sm.boot_values() {
        out.push(value_record(kind, cs, sm.is_current, &key, v, t, ""));
    }
    if let Some(s) = &sm.subsystems {
        let k = format!("{key}\\SubSystems");
        for v in s.values() {
            let detail = if v.name.eq_ignore_ascii_case("Windows") {
                s.windows_command
                    .as_ref()
                    .map(|w| {
                        format!(
                            "executable={}; server_dlls={}",
                            w.executable,
                            w.server_dlls
                                .iter()
                                .map(|d| d.raw.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    })
                    .unwrap_or_default()
            } else {
                String::new()
            };
            out.push(value_record(
                kind,
                cs,
                sm.is_current,
                &k,
                v,
                s.key_last_written,
                &detail,
            ));
        }
    }
    if let Some(k) = &sm.known_dlls {
        let kk = format!("{key}\\KnownDLLs");
        for v in k
            .dlls
            .values()
            .chain(k.dll_directory.iter())
            .chain(k.dll_directory32.iter())
        {
            out.push(value_record(
                kind,
                cs,
                sm.is_current,
                &kk,
                v,
                k.key_last_written,
                "",
            ));
        }
    }
    for p in sm.pending_renames() {
        for op in &p.operations {
            out.push(RegistryRecord {
                hive_type: kind.into(),
                control_set: cs.into(),
                current: sm.is_current,
                key: key.clone(),
                value: p.value.name.clone(),
                value_type: p.value.value_type.clone(),
                data: format!("{} -> {}", op.source, op.destination),
                last_written: filetime_to_iso8601(t),
                detail: format!(
                    "operation={}; source={}; destination={}",
                    operation_name(op.operation),
                    op.source,
                    op.destination
                ),
                ..Default::default()
            });
        }
    }
    if let Some(a) = &sm.app_cert_dlls {
        let k = format!("{key}\\AppCertDlls");
        for v in &a.dlls {
            out.push(value_record(
                kind,
                cs,
                sm.is_current,
                &k,
                v,
                a.key_last_written,
                "",
            ));
        }
    }
}

fn value_record(
    kind: &str,
    cs: &str,
    current: bool,
    key: &str,
    v: &RegValue,
    t: u64,
    detail: &str,
) -> RegistryRecord {
    RegistryRecord {
        hive_type: kind.into(),
        control_set: cs.into(),
        current,
        key: key.into(),
        value: if v.name.is_empty() {
            "(default)".into()
        } else {
            v.name.clone()
        },
        value_type: v.value_type.clone(),
        data: v.display(),
        last_written: filetime_to_iso8601(t),
        detail: detail.into(),
        ..Default::default()
    }
}

fn number(v: &RegValue) -> Option<u32> {
    match &v.data {
        Data::Number(n) => u32::try_from(*n).ok(),
        // GlobalFlag is sometimes written as a string ("0x200").
        Data::Text(s) => {
            let s = s.trim();
            s.strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |h| u32::from_str_radix(h, 16).ok())
        }
        _ => None,
    }
}

pub fn hive_type_name(k: HiveType) -> &'static str {
    match k {
        HiveType::System => "SYSTEM",
        HiveType::Software => "SOFTWARE",
        HiveType::Sam => "SAM",
        HiveType::Security => "SECURITY",
        HiveType::Ntuser => "NTUSER",
        HiveType::UsrClass => "UsrClass",
        HiveType::Amcache => "Amcache",
        HiveType::Bcd => "BCD",
        HiveType::Unknown => "unknown",
    }
}

/// `NAME.LOG1`, `NAME.LOG2` (and the old `NAME.LOG`) beside the hive, any case.
/// The hive's `.LOG1`, `.LOG2` (and old-style `.LOG`) beside it, in that order, read into
/// memory when they are not already mapped (logs are small: bounded by `MAX_IN_MEMORY`).
fn find_logs(ev: &Evidence, warnings: &mut Vec<String>) -> Vec<(String, triage_source::Source)> {
    let names = ev.siblings.names();
    let mut logs = Vec::new();
    for ext in [".LOG1", ".LOG2", ".LOG"] {
        let want = format!("{}{ext}", ev.name);
        let Some(found) = names.iter().find(|n| n.eq_ignore_ascii_case(&want)) else {
            continue;
        };
        match ev.siblings.open(found) {
            Ok(Some(src)) if src.as_slice().is_some() => logs.push((found.clone(), src)),
            Ok(Some(src)) => {
                match triage_source::read_all(src.as_ref(), crate::evidence::MAX_IN_MEMORY) {
                    Ok(b) => {
                        let mem = triage_source::MemorySource::new(
                            src.location().clone(),
                            b.into_owned(),
                        );
                        logs.push((
                            found.clone(),
                            std::sync::Arc::new(mem) as triage_source::Source,
                        ))
                    }
                    Err(e) => warnings.push(format!("transaction log not read: {e}")),
                }
            }
            Ok(None) => {}
            Err(e) => warnings.push(format!("transaction log not opened: {e}")),
        }
    }
    logs
}
