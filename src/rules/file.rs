//! File masquerade rules over PE file records.

use super::support::{self, parent_dir};
use super::RuleInfo;
use crate::model::{DigestCheck, FileRecord, Finding, Severity};
use crate::names::{self, Lookalike};

pub const RULES: &[RuleInfo] = &[
    RuleInfo {
        id: "FILE-PROTECTED-PATH",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "file",
        summary: "A protected name (smss.exe, csrss.exe, ...) outside \\Windows\\System32 (WinSxS allowed)",
    },
    RuleInfo {
        id: "FILE-LOOKALIKE",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "file",
        summary: "A file name that only looks like a protected name (homoglyphs, spaces, bidi, double extension, edit distance <= 2)",
    },
    RuleInfo {
        id: "SMSS-FILE-NOT-NATIVE",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "file",
        summary: "A file named or versioned smss.exe that is not a native-subsystem image",
    },
    RuleInfo {
        id: "SMSS-FILE-IMPORTS",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "file",
        summary: "A file named or versioned smss.exe that imports anything besides ntdll.dll",
    },
    RuleInfo {
        id: "FILE-VERSION-NAME",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "file",
        summary: "A protected file name whose version info OriginalFilename names another binary",
    },
    RuleInfo {
        id: "FILE-RENAMED",
        severity: Severity::High,
        attack: "T1036.003",
        applies_to: "file",
        summary: "A PE whose OriginalFilename names a protected binary, stored under another name",
    },
    RuleInfo {
        id: "FILE-TIMESTOMP",
        severity: Severity::Medium,
        attack: "T1070.006",
        applies_to: "file",
        summary: "A candidate or boot-chain file whose $STANDARD_INFORMATION times were set back: earlier than $FILE_NAME, whole seconds, or modified before created",
    },
    RuleInfo {
        id: "FILE-CHANGED-SINCE-SNAPSHOT",
        severity: Severity::High,
        attack: "T1036.005",
        applies_to: "file",
        summary: "A boot-chain binary in \\Windows\\System32 whose sha256 differs from its copy in a volume shadow copy",
    },
    RuleInfo {
        id: "SIG-DIGEST-MISMATCH",
        severity: Severity::High,
        attack: "T1036.001",
        applies_to: "file",
        summary: "The embedded Authenticode digest does not match the file: altered after signing",
    },
    RuleInfo {
        id: "SIG-FAKE-MICROSOFT",
        severity: Severity::Critical,
        attack: "T1036.001",
        applies_to: "file",
        summary: "The signer calls itself Microsoft but no Microsoft root is above it",
    },
];

fn finding(id: &str, severity: Severity, f: &FileRecord, evidence: String, why: String) -> Finding {
    support::finding(id, severity, "file", f.path.clone(), evidence, why)
}

/// `OriginalFilename` as a comparable name: lower case, `.mui` dropped.
fn version_name(f: &FileRecord) -> Option<String> {
    let v = f.original_filename.trim().to_lowercase();
    let v = v.strip_suffix(".mui").unwrap_or(&v).to_string();
    (!v.is_empty()).then_some(v)
}

/// FILE-TIMESTOMP: `SetFileTime` (and every timestomping tool built on it) changes
/// `$STANDARD_INFORMATION` only; the kernel keeps `$FILE_NAME`. Three signs, any one of
/// which fires: `$SI` created before `$FN` created; `$SI` times in whole seconds while
/// the `$FN` times are not; `$SI` modified before `$SI` created.
///
/// Severity: medium for whole-second `$SI` times (the mark of tools that set times with
/// second precision), or `$SI` created before `$FN` created on a file outside the places
/// genuine copies live; low otherwise. Installers and image-based deployment (DISM,
/// wimlib) set `$SI` from the source and leave `$FN` at the copy time, and copies keep
/// the source's modification time, so those signs alone on a genuinely placed file are
/// only worth a note.
fn timestomp(f: &FileRecord, t: &crate::model::NtfsTimes, genuine_place: bool) -> Vec<Finding> {
    let [si_c, si_m, _, _] = t.si;
    let [fn_c, _, _, _] = t.fn_;
    if si_c == 0 || fn_c == 0 {
        return Vec::new();
    }
    let mut signs = Vec::new();
    let mut medium = false;
    // A second's grace for clock granularity.
    if si_c + 10_000_000 <= fn_c {
        signs.push("$SI created before $FN created".to_string());
        medium |= !genuine_place;
    }
    let whole = |v: u64| v != 0 && v.is_multiple_of(10_000_000);
    if t.si.iter().filter(|&&v| v != 0).all(|&v| whole(v))
        && t.fn_.iter().any(|&v| v != 0 && !whole(v))
    {
        signs.push("$SI times have no sub-second part while $FN times do".to_string());
        medium = true;
    }
    if si_m != 0 && si_m + 10_000_000 <= si_c {
        signs.push("$SI modified before $SI created".to_string());
    }
    if signs.is_empty() {
        return Vec::new();
    }
    vec![finding(
        "FILE-TIMESTOMP",
        if medium { Severity::Medium } else { Severity::Low },
        f,
        format!(
            "si_created={}; fn_created={}; si_modified={}; signs={}",
            f.si_created,
            f.fn_created,
            f.si_modified,
            signs.join(", ")
        ),
        format!(
            "the $STANDARD_INFORMATION times of {} look set back ({}): timestomping changes $SI, not $FN",
            f.file_name,
            signs.join("; ")
        ),
    )]
}

/// Run every file rule over one record.
pub fn check(f: &FileRecord) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = f.file_name.as_str();
    let protected = names::protected_name(name);
    let vname = version_name(f);

    if let Some(p) = protected {
        let dir = parent_dir(&f.path);
        // Inside a disk image the path starts at the volume's root.
        let rooted = !f.volume.is_empty();
        if !names::is_genuine_location(p, dir, rooted) {
            // A file found inside an image (path differs from the input) or in a tree that
            // keeps Windows paths has a meaningful location; a loose copy in an analyst's
            // folder does not, so it is only noted.
            let located = f.path != f.input || names::looks_like_windows_tree(&f.path);
            let sev = if located {
                Severity::High
            } else {
                Severity::Info
            };
            let why = if located {
                format!("{p} stored outside \\Windows\\System32: genuine copies live only there (and in WinSxS)")
            } else {
                format!("loose copy of {p}: its original location is unknown, check where it was collected from")
            };
            out.push(finding(
                "FILE-PROTECTED-PATH",
                sev,
                f,
                format!("path={}", f.path),
                why,
            ));
        }
    } else if let Some((p, how)) = names::lookalike(name).filter(|(p, how)| {
        // `services.exe.000` in `$NtServicePackUninstall$`: a servicing backup of the
        // genuine binary under a non-executable extension, where Windows keeps them.
        !(*how == Lookalike::DoubleExtension
            && name.to_ascii_lowercase().starts_with(&format!("{p}."))
            && names::is_genuine_location(p, parent_dir(&f.path), !f.volume.is_empty()))
    }) {
        let sev = how.severity();
        let mut fd = finding(
            "FILE-LOOKALIKE",
            sev,
            f,
            format!("name=\"{name}\"; imitates={p}; trick={}", how.describe()),
            format!("file name \"{name}\" imitates {p} ({})", how.describe()),
        );
        fd.attack = how.attack();
        out.push(fd);
    }

    if let Some(t) = &f.ntfs_times {
        let genuine_place = protected.is_some_and(|p| {
            names::is_genuine_location(p, parent_dir(&f.path), !f.volume.is_empty())
        });
        out.extend(timestomp(f, t, genuine_place));
    }

    let is_smss = protected == Some("smss.exe") || vname.as_deref() == Some("smss.exe");
    if is_smss {
        // Only a parsed PE has a subsystem to judge (a file that could not be read as one
        // is reported with its warning instead).
        if !f.subsystem.is_empty() && !f.subsystem.eq_ignore_ascii_case("native") {
            out.push(finding(
                "SMSS-FILE-NOT-NATIVE",
                Severity::High,
                f,
                format!("subsystem={}", f.subsystem),
                format!("smss.exe runs before Win32 exists and is always a native image; this one is {}", f.subsystem),
            ));
        }
        let extra: Vec<&str> = f
            .imports
            .iter()
            .filter(|d| !d.eq_ignore_ascii_case("ntdll.dll"))
            .collect();
        if !extra.is_empty() {
            out.push(finding(
                "SMSS-FILE-IMPORTS",
                Severity::High,
                f,
                format!("imports={}", f.imports),
                format!(
                    "smss.exe imports only ntdll.dll; this one also imports {}",
                    extra.join(", ")
                ),
            ));
        }
    }

    match (protected, vname.as_deref()) {
        (Some(p), Some(v)) if v != p => out.push(finding(
            "FILE-VERSION-NAME",
            Severity::High,
            f,
            format!("name={name}; OriginalFilename={}", f.original_filename),
            format!("a file named {p} whose version info says it is {v}"),
        )),
        (None, Some(v)) if names::protected_name(v).is_some() && !v.eq_ignore_ascii_case(name) => {
            out.push(finding(
                "FILE-RENAMED",
                Severity::High,
                f,
                format!("name={name}; OriginalFilename={}", f.original_filename),
                format!("{v} stored under another name ({name})"),
            ))
        }
        _ => {}
    }

    if f.signed && f.digest == DigestCheck::Mismatch {
        out.push(finding(
            "SIG-DIGEST-MISMATCH",
            Severity::High,
            f,
            format!(
                "digest=mismatch; algorithm={}; signer={}",
                f.digest_algorithm, f.signer
            ),
            "the file was changed after it was signed: the embedded signature no longer covers it"
                .into(),
        ));
    }
    if f.signed && f.signer.to_lowercase().contains("microsoft") && !f.microsoft_root {
        out.push(finding(
            "SIG-FAKE-MICROSOFT",
            Severity::Critical,
            f,
            format!(
                "signer={}; issuer={}; self_signed={}; microsoft_root=false",
                f.signer, f.issuer, f.signer_self_signed
            ),
            "signed by a certificate that calls itself Microsoft without any Microsoft root above it".into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str) -> FileRecord {
        let name = path.rsplit(['/', '\\']).next().unwrap().to_string();
        FileRecord {
            input: path.into(),
            path: path.into(),
            file_name: name,
            subsystem: "native".into(),
            imports: "ntdll.dll".into(),
            ..Default::default()
        }
    }

    fn ids(fs: &[Finding]) -> Vec<&'static str> {
        fs.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn genuine_smss_in_system32_is_clean() {
        let mut f = rec("/mnt/c/Windows/System32/smss.exe");
        f.original_filename = "smss.exe".into();
        assert!(check(&f).is_empty());
    }

    #[test]
    fn smss_in_users_public_is_high() {
        let f = rec("/mnt/c/Users/Public/smss.exe");
        let out = check(&f);
        assert_eq!(ids(&out), ["FILE-PROTECTED-PATH"]);
        assert_eq!(out[0].severity, Severity::High);
    }

    #[test]
    fn loose_copy_is_only_info() {
        let f = rec("evidence/smss.exe");
        let out = check(&f);
        assert_eq!(out[0].severity, Severity::Info);
    }

    #[test]
    fn file_inside_image_is_located() {
        let mut f = rec("/smss.exe");
        f.input = "disk.E01".into();
        assert_eq!(check(&f)[0].severity, Severity::High);
    }

    #[test]
    fn console_smss_with_win32_imports() {
        let mut f = rec("/mnt/c/Windows/System32/smss.exe");
        f.subsystem = "windows_cui".into();
        f.imports = "kernel32.dll;msvcrt.dll;ntdll.dll".into();
        let out = check(&f);
        assert_eq!(ids(&out), ["SMSS-FILE-NOT-NATIVE", "SMSS-FILE-IMPORTS"]);
        assert!(out[1].explanation.contains("kernel32.dll"));
    }

    #[test]
    fn renamed_and_mislabelled() {
        let mut f = rec("x/updater.exe");
        f.original_filename = "smss.exe".into();
        assert!(ids(&check(&f)).contains(&"FILE-RENAMED"));
        let mut g = rec("/mnt/c/Windows/System32/lsass.exe");
        g.original_filename = "mimikatz.exe".into();
        assert_eq!(ids(&check(&g)), ["FILE-VERSION-NAME"]);
        // .mui and case differences are not a mismatch
        let mut h = rec("/mnt/c/Windows/System32/csrss.exe");
        h.original_filename = "CSRSS.Exe.mui".into();
        assert!(check(&h).is_empty());
    }

    #[test]
    fn lookalike_attack_ids() {
        let out = check(&rec("x/smss.exe.scr"));
        assert_eq!(out[0].rule, "FILE-LOOKALIKE");
        assert_eq!(out[0].attack, "T1036.007");
        let out = check(&rec("x/smsss.exe"));
        assert_eq!(out[0].severity, Severity::Medium);
    }

    #[test]
    fn signature_rules() {
        let mut f = rec("x/tool.exe");
        f.signed = true;
        f.digest = DigestCheck::Mismatch;
        f.signer = "CN=Microsoft Windows, O=Microsoft Corporation".into();
        f.microsoft_root = false;
        let out = check(&f);
        assert_eq!(ids(&out), ["SIG-DIGEST-MISMATCH", "SIG-FAKE-MICROSOFT"]);
        f.digest = DigestCheck::Match;
        f.microsoft_root = true;
        assert!(check(&f).is_empty());
    }
}
