//! What every rule module shares: one lookup of a rule's catalogue line (its ATT&CK id
//! comes from there, so a rule raised from memory and from event history carries the
//! same one), one way to build a finding, and the path tests the rules make.

use super::{execution, file, history, process, registry, RuleInfo};
use crate::model::{Finding, ProcessRecord, Severity};

/// The catalogue line of rule `id`. Rule ids are constants of this crate: a missing one
/// is a programming error, which any test that raises the rule catches.
pub fn rule(id: &str) -> &'static RuleInfo {
    [
        file::RULES,
        registry::RULES,
        process::RULES,
        history::RULES,
        execution::RULES,
    ]
    .into_iter()
    .flatten()
    .find(|r| r.id == id)
    .unwrap_or_else(|| panic!("rule {id} is not in the catalogue"))
}

/// A finding of rule `id` about `subject`, with the rule's own ATT&CK id.
pub fn finding(
    id: &str,
    severity: Severity,
    subject_kind: &'static str,
    subject: impl Into<String>,
    evidence: impl Into<String>,
    why: impl Into<String>,
) -> Finding {
    let r = rule(id);
    Finding::new(
        r.id,
        severity,
        r.attack,
        subject_kind,
        subject,
        evidence,
        why,
    )
}

/// `f` with a more precise ATT&CK id than its rule's (a lookalike's trick names one).
pub fn with_attack(attack: &'static str, mut f: Finding) -> Finding {
    f.attack = attack;
    f
}

/// The last component of a Windows or POSIX path, lower case.
pub fn file_name(path: &str) -> String {
    path.rsplit(['\\', '/']).next().unwrap_or("").to_lowercase()
}

/// The directory part of a path (`\` or `/` separated); empty when there is none.
pub fn parent_dir(path: &str) -> &str {
    path.rfind(['/', '\\']).map(|i| &path[..i]).unwrap_or("")
}

/// The file name a process runs, lower case: the last component of the kernel's image
/// path, else its (15-character) ImageFileName.
pub fn process_exe(p: &ProcessRecord) -> String {
    let from_path = file_name(&p.image_path);
    if from_path.is_empty() {
        p.name.to_lowercase()
    } else {
        from_path
    }
}

/// The path below the volume, lower case: `\Device\HarddiskVolume3\Windows\x`,
/// `C:\Windows\x`, `\??\C:\Windows\x` and `\SystemRoot\x` all become `\windows\x`.
pub fn volume_relative(path: &str) -> String {
    let p = path.replace('/', "\\").to_lowercase();
    let p = p.strip_prefix("\\??\\").unwrap_or(&p).to_string();
    if let Some(rest) = p.strip_prefix("\\systemroot") {
        return format!("\\windows{rest}");
    }
    if let Some(rest) = p.strip_prefix("\\device\\") {
        // Drop the device name component.
        return rest
            .find('\\')
            .map(|i| rest[i..].to_string())
            .unwrap_or_default();
    }
    if p.len() >= 2 && p.as_bytes()[1] == b':' {
        return p[2..].to_string();
    }
    p
}

/// Is `path` a file directly in `\Windows\System32`?
pub fn in_system32(path: &str) -> bool {
    let p = volume_relative(path);
    p.starts_with("\\windows\\system32\\") && p.matches('\\').count() == 3
}

/// Is `path` exactly `\Windows\System32\<exe>` on its volume?
pub fn is_system32_image(path: &str, exe: &str) -> bool {
    volume_relative(path) == format!("\\windows\\system32\\{exe}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_rule_is_found() {
        for r in super::super::catalogue() {
            assert_eq!(rule(r.id).attack, r.attack);
        }
    }

    #[test]
    fn paths() {
        assert_eq!(file_name(r"C:\Windows\System32\SMSS.EXE"), "smss.exe");
        assert_eq!(file_name("a/b/c.exe"), "c.exe");
        assert_eq!(parent_dir(r"\windows\x.exe"), r"\windows");
        assert_eq!(parent_dir("x.exe"), "");
        for p in [
            r"\Device\HarddiskVolume3\Windows\System32\smss.exe",
            r"C:\Windows\System32\smss.exe",
            r"\??\C:\Windows\System32\smss.exe",
            r"\SystemRoot\System32\smss.exe",
        ] {
            assert_eq!(volume_relative(p), r"\windows\system32\smss.exe", "{p}");
            assert!(in_system32(p) && is_system32_image(p, "smss.exe"), "{p}");
        }
        assert!(!in_system32(r"C:\Windows\System32\drivers\x.sys"));
        assert!(!is_system32_image(r"C:\Windows\smss.exe", "smss.exe"));
    }
}
