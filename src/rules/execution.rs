//! Execution-evidence rules: prefetch, Amcache, ShimCache and BAM/DAM say a program ran
//! (or was seen) at a path. A protected name run from elsewhere, a look-alike name, or a
//! protected binary renamed is evidence that a masquerade executed, even when the file is
//! long gone.

use super::support::{self, parent_dir};
use super::RuleInfo;
use crate::model::{ExecutionRecord, Finding, Severity};
use crate::names;

pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "EXEC-PROTECTED-PATH",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "execution",
        summary: "A protected name (smss.exe, lsass.exe, ...) recorded as executed from outside \\Windows\\System32",
    },
    RuleInfo {
        id: "EXEC-LOOKALIKE",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "execution",
        summary: "A program whose name only looks like a protected one recorded as executed",
    },
    RuleInfo {
        id: "EXEC-RENAMED",
        severity: Severity::High,
        attack: "T1036.003",
        applies_to: "execution",
        summary: "Amcache: a program whose OriginalFileName names a protected binary, under another name",
    },
];

/// The path below its volume, lower case, `\`-separated: `\VOLUME{…}\`, `\Device\
/// HarddiskVolumeN\`, `\??\C:\` and `C:\` prefixes dropped.
pub fn volume_path(path: &str) -> String {
    let p = path.replace('/', "\\");
    let lower = p.to_lowercase();
    if let Some(rest) = lower.strip_prefix("\\volume{") {
        return rest
            .find('\\')
            .map(|i| rest[i..].to_string())
            .unwrap_or_default();
    }
    // ShimCache on Windows 10/Server writes the system volume as `SYSVOL\`.
    if let Some(rest) = lower.strip_prefix("sysvol\\") {
        return format!("\\{rest}");
    }
    support::volume_relative(&p)
}

fn finding(id: &str, sev: Severity, e: &ExecutionRecord, evidence: String, why: String) -> Finding {
    let mut f = support::finding(
        id,
        sev,
        "execution",
        format!(
            "{} {}",
            e.source,
            if e.path.is_empty() {
                &e.program
            } else {
                &e.path
            }
        ),
        evidence,
        why,
    );
    f.location = e.location.clone();
    f
}

/// Every execution rule over one record.
pub fn check(e: &ExecutionRecord) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = if e.program.is_empty() {
        e.path.rsplit(['\\', '/']).next().unwrap_or("").to_string()
    } else {
        e.program.clone()
    };
    let vpath = volume_path(&e.path);
    if let Some(p) = names::protected_name(&name) {
        // A path that names no directory (prefetch without its file list) says nothing.
        if vpath.contains('\\')
            && !vpath.is_empty()
            && !names::is_genuine_location(p, parent_dir(&vpath), true)
        {
            out.push(finding(
                "EXEC-PROTECTED-PATH",
                Severity::High,
                e,
                format!(
                    "source={}; path={}; last_time={}",
                    e.source, e.path, e.last_time
                ),
                format!(
                    "{p} ran from {} ({}), not \\Windows\\System32",
                    e.path, e.source
                ),
            ));
        }
    } else if let Some((p, how)) = names::lookalike(&name) {
        let sev = how.severity();
        out.push(support::with_attack(
            how.attack(),
            finding(
                "EXEC-LOOKALIKE",
                sev,
                e,
                format!(
                    "source={}; program=\"{name}\"; imitates={p}; trick={}",
                    e.source,
                    how.describe()
                ),
                format!(
                    "\"{name}\" ran ({}): it imitates {p} ({})",
                    e.source,
                    how.describe()
                ),
            ),
        ));
    }
    let orig = e.original_file_name.trim().to_lowercase();
    if let Some(p) = names::protected_name(orig.trim_end_matches(".mui")) {
        if !name.eq_ignore_ascii_case(p) && !name.is_empty() {
            out.push(finding(
                "EXEC-RENAMED",
                Severity::High,
                e,
                format!(
                    "program={name}; OriginalFileName={}; sha1={}",
                    e.original_file_name, e.sha1
                ),
                format!("{p} ran under another name ({name}), per {}", e.source),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(source: &str, path: &str) -> ExecutionRecord {
        ExecutionRecord {
            source: source.into(),
            program: path.rsplit('\\').next().unwrap().into(),
            path: path.into(),
            ..Default::default()
        }
    }

    fn ids(e: &ExecutionRecord) -> Vec<&'static str> {
        check(e).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn genuine_runs_are_quiet_in_every_path_form() {
        for p in [
            r"\VOLUME{01d2c3a4b5c6d7e8-1234abcd}\WINDOWS\SYSTEM32\SMSS.EXE",
            r"\Device\HarddiskVolume3\Windows\System32\lsass.exe",
            r"c:\windows\system32\csrss.exe",
            r"\??\C:\Windows\system32\wininit.exe",
            r"C:\Windows\SysWOW64\svchost.exe",
            r"SYSVOL\Windows\System32\lsass.exe",
        ] {
            assert!(ids(&rec("prefetch", p)).is_empty(), "{p}");
        }
    }

    #[test]
    fn masquerades_that_ran_are_flagged() {
        assert_eq!(
            ids(&rec(
                "bam",
                r"\Device\HarddiskVolume3\Users\Public\smss.exe"
            )),
            ["EXEC-PROTECTED-PATH"]
        );
        assert_eq!(
            ids(&rec("shimcache", r"C:\ProgramData\srnss.exe")),
            ["EXEC-LOOKALIKE"]
        );
        let mut r = rec("amcache:file", r"c:\windows\temp\updater.exe");
        r.original_file_name = "smss.exe".into();
        assert_eq!(ids(&r), ["EXEC-RENAMED"]);
        // A prefetch file without its file list names no directory: not judged by path.
        let mut bare = rec("prefetch", "");
        bare.program = "SMSS.EXE".into();
        assert!(ids(&bare).is_empty());
    }
}
