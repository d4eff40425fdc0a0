//! Execution evidence as `executions` records: prefetch files (their own analyser), and
//! the Amcache, ShimCache and BAM/DAM facts of hives (called by the hive analyser).

use anyhow::Result;
use triage_hivecfg::{ExecutionEntry, ExecutionFacts};
use triage_prefetch::Prefetch;

use crate::analyse::Options;
use crate::evidence::Evidence;
use crate::model::{ExecutionRecord, InputReport};
use crate::rules;
use crate::time::filetime;

/// A prefetch file's facts as one record.
pub fn prefetch_record(p: &Prefetch) -> ExecutionRecord {
    let newest = p.last_runs.iter().copied().max().unwrap_or(0);
    ExecutionRecord {
        source: "prefetch".into(),
        program: p.executable.clone(),
        path: p.executable_path.clone().unwrap_or_default(),
        last_time: filetime(newest),
        times: p
            .last_runs
            .iter()
            .map(|&t| format!("run={}", filetime(t)))
            .collect::<Vec<_>>()
            .join(";"),
        run_count: p.run_count.to_string(),
        key: format!("{:08X}", p.hash),
        detail: {
            let mut d = vec![format!(
                "version {}{}",
                p.version,
                if p.compressed { " (MAM)" } else { "" }
            )];
            d.extend(p.volumes.iter().map(|v| {
                format!(
                    "volume {} serial {} created {}",
                    v.device_path,
                    v.serial,
                    filetime(v.created)
                )
            }));
            d.extend(p.warnings.iter().cloned());
            d.join("; ")
        },
        ..Default::default()
    }
}

/// A registry execution entry as a record.
pub fn registry_record(e: &ExecutionEntry) -> ExecutionRecord {
    let newest = e.times.iter().map(|(_, t)| *t).max().unwrap_or(0);
    // The time that says "it ran" wins over the key's write time, where there is one.
    let last = ["last_executed", "last_modified"]
        .iter()
        .find_map(|m| e.time(m))
        .unwrap_or(newest);
    ExecutionRecord {
        source: e.source.into(),
        program: e.name.clone(),
        path: e.path.clone(),
        last_time: filetime(last),
        times: e
            .times
            .iter()
            .map(|(m, t)| format!("{m}={}", filetime(*t)))
            .collect::<Vec<_>>()
            .join(";"),
        sha1: e.sha1.clone().unwrap_or_default(),
        original_file_name: e.original_file_name.clone().unwrap_or_default(),
        product_name: e.product_name.clone().unwrap_or_default(),
        publisher: e.publisher.clone().unwrap_or_default(),
        version: e.bin_file_version.clone().unwrap_or_default(),
        size: e.size.map(|s| s.to_string()).unwrap_or_default(),
        executed: e.executed.map(|b| b.to_string()).unwrap_or_default(),
        user_sid: e.user_sid.clone().unwrap_or_default(),
        control_set: e.control_set.clone().unwrap_or_default(),
        key: e.key.clone(),
        ..Default::default()
    }
}

/// Records and findings of a set of registry execution facts, into `report`.
pub fn add_registry_facts(
    facts: ExecutionFacts,
    report: &mut InputReport,
    warnings: &mut Vec<String>,
) {
    for e in &facts.entries {
        let rec = registry_record(e);
        report.findings.extend(rules::execution::check(&rec));
        report.executions.push(rec);
    }
    if !facts.errors.is_empty() {
        warnings.push(format!(
            "{} execution entries unreadable, first: {}",
            facts.errors.len(),
            facts.errors[0]
        ));
    }
}

/// The prefetch analyser.
pub fn analyse_prefetch(
    ev: &Evidence,
    _opts: &Options,
    report: &mut InputReport,
) -> Result<Vec<String>> {
    let p = triage_prefetch::parse(ev.bytes()).map_err(|e| anyhow::anyhow!("prefetch: {e}"))?;
    let rec = prefetch_record(&p);
    report.input.detail = format!(
        "prefetch v{} of {} ({} runs, last {})",
        p.version, rec.program, p.run_count, rec.last_time
    );
    let warnings = p.warnings.clone();
    report.findings.extend(rules::execution::check(&rec));
    report.executions.push(rec);
    Ok(warnings)
}
