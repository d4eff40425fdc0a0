//! Protected process names and the normaliser that tells a lookalike from the real name.
//!
//! The same code judges file names (PE rules) and process names/paths (memory rules),
//! so a trick caught on disk is caught in memory too.

use unicode_normalization::UnicodeNormalization;

/// The names attackers imitate: the boot chain (`rules::baseline::BOOT_CHAIN`) and
/// svchost.exe.
pub const PROTECTED: [&str; 7] = {
    let b = crate::rules::baseline::BOOT_CHAIN;
    [b[0], b[1], b[2], b[3], b[4], b[5], "svchost.exe"]
};

/// Genuine Windows binaries whose names sit within edit distance 2 of a protected
/// name. Flagging them would be a false positive on every clean system.
const GENUINE_NEIGHBOURS: &[&str] = &[
    "lsaiso.exe", // Credential Guard's isolated LSA
    "sihost.exe", // Shell Infrastructure Host
    "lsm.exe",    // Local Session Manager (Windows 7)
    "smss.exe.mui",
    "csrss.exe.mui",
    "winlogon.exe.mui",
    "wininit.exe.mui",
    "services.exe.mui",
    "lsass.exe.mui",
    "svchost.exe.mui",
    "smartscreen.exe",
    "userinit.exe", // userinit vs wininit: distance 2, genuine
    "wininet.dll",
    "winload.exe",
    "winver.exe",
    "dllhost.exe",
    "lsasrv.dll",
    "csrsrv.dll",
    "sxssrv.dll",
    // Found on every Windows 10/11 install or common server software, each within edit
    // distance 2 of a protected name's stem (the genuine neighbours #9 and #12 list):
    "msg.exe",       // System32 and SysWOW64: send a message to a session
    "ssh.exe",       // System32\OpenSSH, Windows 10 1809+
    "synchost.exe",  // Sync Host
    "smsswd.exe",    // Configuration Manager task sequence
    "ssms.exe",      // SQL Server Management Studio
    "smsvchost.exe", // .NET port sharing
    "srmhost.exe",   // File Server Resource Manager
    "scshost.exe",
    "scss.exe",
    "less.exe",   // Git for Windows
    "ssp.exe",    // Sophos
    "msmsgs.exe", // Windows Messenger (XP, Program Files\Messenger and ServicePackFiles)
];

/// Is `name` (a file name, no directory) exactly a protected name, ignoring ASCII case?
pub fn protected_name(name: &str) -> Option<&'static str> {
    PROTECTED
        .iter()
        .copied()
        .find(|p| p.eq_ignore_ascii_case(name))
}

/// How a name imitates a protected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookalike {
    /// Right-to-left override or another bidi control hides the real extension.
    BidiOverride,
    /// Homoglyphs (Cyrillic `ѕ`, `rn` for `m`, `I` for `l`, digits for letters,
    /// full-width forms), zero-width or white-space characters, inserted dots: after
    /// folding them away the name *is* the protected one.
    Confusable,
    /// The protected name followed or preceded by another extension
    /// (`smss.exe.scr`, `smss.txt.exe`).
    DoubleExtension,
    /// Within a small edit distance of the protected name (`smsss.exe`, `scrss.exe`).
    EditDistance(usize),
}

impl Lookalike {
    pub fn describe(&self) -> String {
        match self {
            Lookalike::BidiOverride => "bidi control character".into(),
            Lookalike::Confusable => "confusable characters".into(),
            Lookalike::DoubleExtension => "double extension".into(),
            Lookalike::EditDistance(d) => format!("edit distance {d}"),
        }
    }

    /// MITRE ATT&CK sub-technique the trick evidences.
    /// How sure a lookalike is: an edit-distance match may be an honest typo or an
    /// unlisted genuine neighbour (medium); the other tricks are deliberate (high).
    pub fn severity(&self) -> crate::model::Severity {
        match self {
            Lookalike::EditDistance(_) => crate::model::Severity::Medium,
            _ => crate::model::Severity::High,
        }
    }

    pub fn attack(&self) -> &'static str {
        match self {
            Lookalike::BidiOverride => "T1036.002",
            Lookalike::DoubleExtension => "T1036.007",
            Lookalike::Confusable | Lookalike::EditDistance(_) => "T1036.005",
        }
    }
}

/// If `name` only looks like a protected name, say which one and how.
/// Exact (case-insensitive) protected names and known genuine neighbours return `None`.
pub fn lookalike(name: &str) -> Option<(&'static str, Lookalike)> {
    if name.is_empty() || protected_name(name).is_some() {
        return None;
    }
    let lower = name.to_lowercase();
    if GENUINE_NEIGHBOURS.contains(&lower.as_str()) {
        return None;
    }
    let has_bidi = name.chars().any(is_bidi_control);
    if has_bidi {
        // What the user sees: `s\u{202E}exe.ssm` is displayed as `smss.exe`.
        let shown = skeleton(&visual_order(name));
        if let Some(p) = PROTECTED
            .iter()
            .copied()
            .find(|p| shown == *p || is_double_extension(&shown, p))
        {
            return Some((p, Lookalike::BidiOverride));
        }
    }
    let skeleton = skeleton(name);

    for &p in &PROTECTED {
        if skeleton == p {
            let how = if has_bidi {
                Lookalike::BidiOverride
            } else {
                Lookalike::Confusable
            };
            return Some((p, how));
        }
    }
    // A bidi override reorders what is displayed: `smss\u{202E}exe.scr` shows as
    // `smssrcs.exe`. Any bidi control in a name built around a protected stem is hostile.
    if has_bidi {
        for &p in &PROTECTED {
            if skeleton.contains(stem(p)) {
                return Some((p, Lookalike::BidiOverride));
            }
        }
    }
    for &p in &PROTECTED {
        if is_double_extension(&skeleton, p) {
            return Some((p, Lookalike::DoubleExtension));
        }
    }
    // Edit distance only among executables, and only for names long enough that two
    // edits do not turn everything into everything.
    if !skeleton.ends_with(".exe") || skeleton.chars().count() < 7 {
        return None;
    }
    let mut best: Option<(&'static str, usize)> = None;
    for &p in &PROTECTED {
        let d = damerau_levenshtein(&skeleton, p);
        if d <= 2 && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((p, d));
        }
    }
    best.map(|(p, d)| {
        // Distance 0 after folding means folding did the work: a confusable.
        if d == 0 {
            (p, Lookalike::Confusable)
        } else {
            (p, Lookalike::EditDistance(d))
        }
    })
}

/// The order in which a terminal or Explorer shows a name with explicit bidi overrides:
/// the run after RIGHT-TO-LEFT OVERRIDE (up to POP DIRECTIONAL FORMATTING) is reversed.
/// Enough for the file-name trick; not a full Unicode bidi implementation.
pub fn visual_order(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '\u{202E}' {
            let mut run = Vec::new();
            for d in chars.by_ref() {
                if d == '\u{202C}' {
                    break;
                }
                run.push(d);
            }
            out.extend(run.into_iter().rev());
        } else {
            out.push(c);
        }
    }
    out
}

fn stem(protected: &str) -> &str {
    protected.strip_suffix(".exe").unwrap_or(protected)
}

fn is_double_extension(skeleton: &str, protected: &str) -> bool {
    // smss.exe.<anything>  or  smss.<anything>.exe
    if let Some(rest) = skeleton.strip_prefix(protected) {
        return rest.starts_with('.') && rest.len() > 1;
    }
    let st = stem(protected);
    if let Some(rest) = skeleton.strip_prefix(st) {
        if let Some(mid) = rest.strip_suffix(".exe") {
            return mid.starts_with('.') && mid.len() > 1 && !mid[1..].contains('.');
        }
    }
    false
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{61C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Invisible when displayed: bidi controls, format characters, default-ignorables
/// (variation selectors such as U+FE0F), control characters and white space.
fn is_invisible(c: char) -> bool {
    is_bidi_control(c) || crate::sanitise::is_hidden(c) || c.is_whitespace()
}

/// Fold a name to the ASCII skeleton it is meant to be read as.
///
/// NFKC first (full-width and compatibility forms), then homoglyph mapping, then
/// lower-casing, then multi-letter tricks (`rn` → `m`, `vv` → `w`), then removal of
/// invisible characters and of dots inserted into the stem (`s.mss.exe`).
pub fn skeleton(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.nfkc() {
        if is_invisible(c) {
            continue;
        }
        // Upper-case I read as l: only meaningful before lower-casing.
        if c == 'I' {
            folded.push('l');
            continue;
        }
        if c.is_ascii() {
            for lc in homoglyph(c).to_lowercase() {
                folded.push(lc);
            }
        } else {
            fold_non_ascii(c, &mut folded);
        }
    }
    let folded = folded.replace("rn", "m").replace("vv", "w");
    // Collapse dots inside the stem: keep the last extension (and a second one, so
    // double extensions survive for their own check).
    let parts: Vec<&str> = folded.split('.').filter(|p| !p.is_empty()).collect();
    match parts.len() {
        0 => String::new(),
        1 => parts[0].to_string(),
        _ => {
            // Known extensions at the end are kept as extensions; the rest is the stem.
            let mut ext_start = parts.len() - 1;
            while ext_start > 1 && is_extension(parts[ext_start - 1]) {
                ext_start -= 1;
            }
            let stem: String = parts[..ext_start].concat();
            let mut out = stem;
            for p in &parts[ext_start..] {
                out.push('.');
                out.push_str(p);
            }
            out
        }
    }
}

/// A non-ASCII character as the ASCII it is read as: combining marks removed, then the
/// UTS #39 confusables prototype (`ꜱ` → `s`, `ӏ` → `l`), then our own table for what
/// UTS #39 maps to something non-ASCII. Only non-ASCII characters go through UTS #39:
/// it maps plain ASCII too (`m` → `rn`), which our own rules already handle.
fn fold_non_ascii(c: char, out: &mut String) {
    for d in std::iter::once(c).nfd() {
        if unicode_normalization::char::is_combining_mark(d) {
            continue;
        }
        if d.is_ascii() {
            out.extend(homoglyph(d).to_lowercase());
            continue;
        }
        let proto: String = unicode_security::skeleton(&d.to_string()).collect();
        if !proto.is_empty() && proto.is_ascii() && proto != d.to_string() {
            let proto = if proto == "I" { "l".to_string() } else { proto };
            out.extend(proto.chars().flat_map(|p| homoglyph(p).to_lowercase()));
        } else {
            for lc in d.to_lowercase() {
                out.extend(homoglyph(lc).to_lowercase());
            }
        }
    }
}

fn is_extension(s: &str) -> bool {
    matches!(
        s,
        "exe"
            | "com"
            | "scr"
            | "dll"
            | "sys"
            | "bat"
            | "cmd"
            | "pif"
            | "txt"
            | "pdf"
            | "doc"
            | "docx"
            | "jpg"
            | "png"
            | "lnk"
            | "js"
            | "vbs"
            | "ps1"
            | "hta"
            | "cpl"
            | "msi"
            | "zip"
            | "mui"
    )
}

/// Map look-alike characters to the ASCII letter they imitate.
fn homoglyph(c: char) -> char {
    match c {
        // Cyrillic
        'а' | 'А' => 'a',
        'в' | 'В' => 'b',
        'с' | 'С' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' | 'ё' => 'e',
        'һ' | 'Һ' => 'h',
        'і' | 'І' | 'ӏ' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' => 'k',
        'м' | 'М' => 'm',
        'н' | 'Н' => 'h',
        'о' | 'О' => 'o',
        'р' | 'Р' => 'p',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' => 't',
        'ц' => 'u',
        'х' | 'Х' => 'x',
        'у' | 'У' => 'y',
        'ԝ' => 'w',
        'ʟ' => 'l',
        // Greek
        'α' | 'Α' => 'a',
        'β' | 'Β' => 'b',
        'ε' | 'Ε' => 'e',
        'η' | 'Η' => 'h',
        'ι' | 'Ι' => 'i',
        'κ' | 'Κ' => 'k',
        'μ' | 'Μ' => 'm',
        'ν' | 'Ν' => 'v',
        'ο' | 'Ο' => 'o',
        'ρ' | 'Ρ' => 'p',
        'τ' | 'Τ' => 't',
        'υ' | 'Υ' => 'u',
        'χ' | 'Χ' => 'x',
        'ς' => 's',
        // Latin look-alikes
        'ı' => 'i',
        'ɩ' => 'i',
        'ɑ' => 'a',
        'ǀ' | '|' => 'l',
        // Digits read as letters
        '0' => 'o',
        '1' => 'l',
        '5' => 's',
        '3' => 'e',
        other => other,
    }
}

/// Damerau-Levenshtein (optimal string alignment) distance over chars.
pub fn damerau_levenshtein(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Where a protected binary legitimately lives. `dir` is the directory part of a
/// path, in any separator, with or without drive or `\SystemRoot` prefix.
///
/// `rooted` says the path starts at a volume's root (a file read from a disk image):
/// then only the volume's own system directories count, so `\Users\Public\Windows\
/// System32` is not mistaken for `\Windows\System32`. A loose file's path (a triage
/// collection `case/C/Windows/System32/smss.exe`) has an unknown root; there the path
/// must end in a system directory with no user-writable place before it.
#[cfg(test)]
pub fn is_legitimate_dir(protected: &str, dir: &str) -> bool {
    is_genuine_location(protected, dir, false)
}

/// Where a protected binary legitimately lives (see the tests' `is_legitimate_dir`);
/// `rooted` for paths inside a volume.
pub fn is_genuine_location(protected: &str, dir: &str, rooted: bool) -> bool {
    let d = normalise_dir(dir);
    let d = d.strip_prefix("c:").unwrap_or(&d).to_string();
    if rooted {
        return GENUINE_ROOTS
            .iter()
            .any(|root| matches_root(&d, root, protected));
    }
    // Unknown root: the tail must be a system directory, and nothing before it a place
    // users write to.
    let comps: Vec<&str> = d.split('/').filter(|c| !c.is_empty()).collect();
    let user_place = comps.iter().any(|c| {
        matches!(
            *c,
            "users"
                | "programdata"
                | "temp"
                | "tmp"
                | "appdata"
                | "$recycle.bin"
                | "perflogs"
                | "public"
        )
    });
    if user_place && !d.contains("/programdata/docker/windowsfilter/") {
        return false;
    }
    GENUINE_ROOTS.iter().any(|root| {
        // Try the root at every component boundary: the collection prefix is unknown.
        (0..comps.len()).any(|i| {
            let tail = format!("/{}", comps[i..].join("/"));
            matches_root(&tail, root, protected)
        })
    })
}

/// The directories (from a volume's root) where genuine copies of the boot-chain binaries
/// live, with why. `*` is one path component; a trailing `/**` is any depth below.
/// Each is a false-positive note in `docs/rules.md` (FILE-PROTECTED-PATH).
const GENUINE_ROOTS: &[(&str, Option<&str>)] = &[
    // The running system.
    ("/windows/system32", None),
    // The 32-bit svchost for WOW64 services.
    ("/windows/syswow64", Some("svchost.exe")),
    // The component store: every inbox binary, per version, and its Backup folder.
    ("/windows/winsxs/*", None),
    ("/windows/winsxs/backup", None),
    // Servicing stacks and cumulative updates stage binaries here.
    ("/windows/servicing/**", None),
    ("/windows/softwaredistribution/download/**", None),
    // The previous installation after an upgrade, and the upgrade's staging area.
    ("/windows.old/windows/system32", None),
    ("/windows.old/windows/syswow64", Some("svchost.exe")),
    ("/windows.old/windows/winsxs/*", None),
    ("/$windows.~bt/**", None),
    ("/$windows.~ws/**", None),
    // Windows XP / 2003: the file-protection cache and service-pack backups.
    ("/windows/system32/dllcache", None),
    ("/windows/$ntservicepackuninstall$", None),
    // XP/2003 hotfix backups: `$NtUninstallKB956572$`, `$hf_mig$\KB956572\SP3QFE`.
    ("/windows/$ntuninstall*$", None),
    ("/windows/$hf_mig$/**", None),
    ("/windows/servicepackfiles/**", None),
    // Container base layers: Windows Sandbox and Docker keep a whole System32.
    (
        "/programdata/docker/windowsfilter/*/files/windows/system32",
        None,
    ),
    ("/programdata/microsoft/windows/containers/**", None),
    // Drivers' own copies (rare, but genuine).
    ("/windows/system32/driverstore/filerepository/*", None),
];

fn matches_root(d: &str, root: &(&str, Option<&str>), protected: &str) -> bool {
    let (pattern, only) = root;
    if let Some(only) = only {
        if *only != protected {
            return false;
        }
    }
    let dc: Vec<&str> = d.split('/').filter(|c| !c.is_empty()).collect();
    let pc: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let (pc, deep) = match pc.last() {
        Some(&"**") => (&pc[..pc.len() - 1], true),
        _ => (&pc[..], false),
    };
    if dc.len() < pc.len() || (!deep && dc.len() != pc.len()) {
        return false;
    }
    pc.iter().zip(&dc).all(|(p, c)| component_matches(p, c))
}

/// A pattern component: literal, `*` (any), or one `*` inside (`$ntuninstall*$`).
fn component_matches(pattern: &str, c: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == c,
        Some((pre, post)) => {
            c.len() >= pre.len() + post.len() && c.starts_with(pre) && c.ends_with(post)
        }
    }
}

/// Lower-case, forward slashes, `\SystemRoot` / `%SystemRoot%` read as `windows`,
/// drive letters and NT device prefixes dropped.
pub fn normalise_dir(dir: &str) -> String {
    let mut d = dir.replace('\\', "/").to_lowercase();
    for prefix in ["/systemroot", "%systemroot%", "systemroot"] {
        if let Some(rest) = d.strip_prefix(prefix) {
            d = format!("/windows{rest}");
        }
    }
    d.trim_end_matches('/').to_string()
}

/// Does this path look like it comes from a Windows directory tree (a mounted image,
/// a triage collection that keeps paths), so that its location means something?
pub fn looks_like_windows_tree(path: &str) -> bool {
    const MARKERS: &[&str] = &[
        "windows",
        "users",
        "programdata",
        "program files",
        "program files (x86)",
        "$recycle.bin",
        "perflogs",
        "recovery",
        "system volume information",
        "systemroot",
        "%systemroot%",
        "temp",
        "appdata",
    ];
    path.replace('\\', "/")
        .to_lowercase()
        .split('/')
        .any(|c| MARKERS.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uts39_confusables_and_invisible_selectors() {
        assert_eq!(
            lookalike("\u{A731}mss.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("\u{4CF}sass.exe"),
            Some(("lsass.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("wininit.exe\u{FE0F}"),
            Some(("wininit.exe", Lookalike::Confusable))
        );
        // A combining mark over a letter does not hide it.
        assert_eq!(
            lookalike("sm\u{15B}s.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert!(is_bidi_control('\u{61C}'));
        assert!(matches!(
            lookalike("smss\u{61C}.exe").map(|(_, h)| h),
            Some(Lookalike::BidiOverride)
        ));
    }

    #[test]
    fn exact_names_are_not_lookalikes() {
        assert_eq!(lookalike("smss.exe"), None);
        assert_eq!(lookalike("SMSS.EXE"), None);
        assert_eq!(lookalike("lsass.exe"), None);
    }

    #[test]
    fn genuine_neighbours_are_not_flagged() {
        for n in [
            "lsaiso.exe",
            "sihost.exe",
            "userinit.exe",
            "lsm.exe",
            "dllhost.exe",
            "notepad.exe",
            "explorer.exe",
            "conhost.exe",
            "taskhostw.exe",
            "spoolsv.exe",
        ] {
            assert_eq!(lookalike(n), None, "{n}");
        }
    }

    #[test]
    fn homoglyphs_and_tricks_fold_to_the_protected_name() {
        assert_eq!(
            lookalike("ѕmss.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("srnss.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("Isass.exe"),
            Some(("lsass.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("smss .exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("s.mss.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("svch0st.exe"),
            Some(("svchost.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("ｓｍｓｓ.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
        assert_eq!(
            lookalike("smss\u{200B}.exe"),
            Some(("smss.exe", Lookalike::Confusable))
        );
    }

    #[test]
    fn bidi_override_shows_a_protected_name() {
        // s + RLO + "exe.ssm" is displayed "smss.exe"
        assert_eq!(visual_order("s\u{202E}exe.ssm"), "smss.exe");
        assert_eq!(
            lookalike("s\u{202E}exe.ssm"),
            Some(("smss.exe", Lookalike::BidiOverride))
        );
        // RLO + "rcs.exe" after lsass: shows as lsassexe.scr — the stem rule catches it
        assert!(lookalike("lsass\u{202E}rcs.exe").is_some());
    }

    #[test]
    fn bidi_override_is_its_own_kind() {
        let (p, how) = lookalike("smss\u{202E}exe.scr").unwrap();
        assert_eq!(p, "smss.exe");
        assert_eq!(how, Lookalike::BidiOverride);
    }

    #[test]
    fn double_extensions() {
        assert_eq!(
            lookalike("smss.exe.scr"),
            Some(("smss.exe", Lookalike::DoubleExtension))
        );
        assert_eq!(
            lookalike("lsass.txt.exe"),
            Some(("lsass.exe", Lookalike::DoubleExtension))
        );
    }

    #[test]
    fn edit_distance_names() {
        assert_eq!(
            lookalike("smsss.exe"),
            Some(("smss.exe", Lookalike::EditDistance(1)))
        );
        assert_eq!(
            lookalike("scrss.exe"),
            Some(("csrss.exe", Lookalike::EditDistance(1)))
        );
        assert_eq!(
            lookalike("lsasss.exe"),
            Some(("lsass.exe", Lookalike::EditDistance(1)))
        );
        assert_eq!(
            lookalike("winlogin.exe"),
            Some(("winlogon.exe", Lookalike::EditDistance(1)))
        );
        // Far away names stay quiet.
        assert_eq!(lookalike("setup.exe"), None);
    }

    #[test]
    fn distance_is_damerau() {
        assert_eq!(damerau_levenshtein("smss", "msss"), 1);
        assert_eq!(damerau_levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn legitimate_dirs() {
        assert!(is_legitimate_dir("smss.exe", r"C:\Windows\System32"));
        assert!(is_legitimate_dir("smss.exe", r"\SystemRoot\System32"));
        assert!(is_legitimate_dir("smss.exe", "/mnt/img/Windows/System32/"));
        assert!(is_legitimate_dir(
            "smss.exe",
            r"C:\Windows\WinSxS\amd64_microsoft-windows-smss_31bf3856ad364e35_10.0.19041.1_none_x"
        ));
        assert!(!is_legitimate_dir("smss.exe", r"C:\Users\Public"));
        assert!(!is_legitimate_dir("smss.exe", r"C:\Windows\SysWOW64"));
        assert!(is_legitimate_dir("svchost.exe", r"C:\Windows\SysWOW64"));
        assert!(!is_legitimate_dir("smss.exe", r"C:\Windows\System32\Tasks"));
    }

    #[test]
    fn windows_tree_markers() {
        assert!(looks_like_windows_tree("/cases/c1/C/Windows/Temp/smss.exe"));
        assert!(looks_like_windows_tree(r"C:\Users\bob\smss.exe"));
        assert!(!looks_like_windows_tree("samples/pe/fake/smss.exe"));
    }
}
