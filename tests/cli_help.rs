//! `--help` lists the values of `--format`, `--records` and `--fail-on`; the shell
//! completions load in the real shells (`bash -n`, and zsh/fish when installed); the
//! manual page renders with groff and man without warnings.

use std::io::Write;
use std::process::{Command as Process, Stdio};

use assert_cmd::Command;

fn bin() -> Command {
    Command::cargo_bin("smss-triage").unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The `[possible values: …]` list of one option in a `--help` text.
fn possible_values(help: &str, option: &str) -> Vec<String> {
    let at = help
        .find(&format!("{option} <"))
        .unwrap_or_else(|| panic!("{option} not in help:\n{help}"));
    let rest = &help[at..];
    let end = rest[1..].find("\n  -").map(|e| e + 1).unwrap_or(rest.len());
    let entry = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    let list = entry
        .split("[possible values: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{option}: no possible values in {entry:?}"));
    list[..list.find(']').unwrap()]
        .split(", ")
        .map(String::from)
        .collect()
}

fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];
const KINDS: [&str; 10] = [
    "inputs",
    "files",
    "processes",
    "registry",
    "findings",
    "volumes",
    "entries",
    "executions",
    "timeline",
    "all",
];

#[test]
fn help_lists_every_value_of_format_records_and_fail_on() {
    for cmd in [
        &["scan"][..],
        &["pe"],
        &["hive"],
        &["mem", "info"],
        &["mem", "ps"],
        &["mem", "smss"],
        &["disk", "info"],
        &["disk", "ls"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let help = stdout(&args);
        assert_eq!(
            possible_values(&help, "--format"),
            ["table", "csv", "jsonl"],
            "{cmd:?}"
        );
        assert_eq!(possible_values(&help, "--records"), KINDS, "{cmd:?}");
        assert_eq!(possible_values(&help, "--fail-on"), SEVERITIES, "{cmd:?}");
    }
    // Each listed value is accepted, in any case, and others are a usage error (2).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty");
    std::fs::write(&f, b"").unwrap();
    for sev in SEVERITIES {
        bin()
            .args(["scan", "-q", "--format", "csv", "--fail-on"])
            .arg(sev.to_uppercase())
            .arg(&f)
            .assert()
            .success();
    }
    bin()
        .args(["scan", "-q", "--fail-on", "severe"])
        .arg(&f)
        .assert()
        .code(2);
    bin()
        .args(["scan", "-q", "--format", "csv", "--records", "Findings"])
        .arg(&f)
        .assert()
        .success();
    bin()
        .args(["scan", "-q", "--records", "nothing"])
        .arg(&f)
        .assert()
        .code(2);
}

#[test]
fn bash_completion_parses_and_completes_subcommands() {
    let script = stdout(&["completions", "bash"]);
    assert!(script.contains("complete"), "no complete builtin call");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smss-triage.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Process::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Load it in a real bash and ask it to complete `smss-triage mem p` and a value of
    // `--fail-on`, as the shell would on TAB.
    let probe = format!(
        "source {}\n\
         COMP_WORDS=(smss-triage mem p); COMP_CWORD=2; COMP_LINE='smss-triage mem p'; COMP_POINT=${{#COMP_LINE}}\n\
         _smss_triage smss-triage p mem; echo \"mem:${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(smss-triage scan --fail-on h); COMP_CWORD=3; COMP_LINE='smss-triage scan --fail-on h'; COMP_POINT=${{#COMP_LINE}}\n\
         _smss_triage smss-triage h --fail-on; echo \"sev:${{COMPREPLY[*]}}\"\n",
        path.display()
    );
    let out = Process::new("bash").arg("-c").arg(&probe).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mem:ps"), "mem completion: {text}");
    assert!(text.contains("sev:high"), "--fail-on completion: {text}");
    let complete = Process::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; complete -p smss-triage",
            path.display()
        ))
        .output()
        .unwrap();
    assert!(complete.status.success(), "not registered for smss-triage");
}

#[test]
fn zsh_and_fish_completions_load_when_installed() {
    for (shell, args) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains("smss-triage"), "{shell}");
        // Optional: CI installs neither (the brief asks for them "if installed").
        let Some(exe) = on_path(shell) else {
            eprintln!("note: {shell} not installed; its completion is not loaded");
            continue;
        };
        let mut child = Process::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_page_renders_with_groff_and_man() {
    let page = stdout(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH"), "not roff");
    let Some(groff) = triage_testkit::tool("groff") else {
        return;
    };
    // -ww: every warning; -z: no output, only the diagnostics.
    let mut child = Process::new(&groff)
        .args(["-man", "-Tutf8", "-ww"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && errors.trim().is_empty(),
        "groff: {errors}"
    );
    // groff's text: backspace overstrike for bold; strip it.
    let text: String = {
        let raw = String::from_utf8_lossy(&out.stdout);
        let mut s = String::new();
        for c in raw.chars() {
            if c == '\u{8}' {
                s.pop();
            } else {
                s.push(c);
            }
        }
        s
    };
    // The main page names every command; each command has its page with its options.
    for name in [
        "smss-triage-scan",
        "smss-triage-pe",
        "smss-triage-hive",
        "smss-triage-mem-info",
        "smss-triage-mem-ps",
        "smss-triage-mem-smss",
        "smss-triage-disk-info",
        "smss-triage-disk-ls",
        "smss-triage-disk-cat",
        "smss-triage-rules",
        "smss-triage-merge",
        "smss-triage-completions",
        "smss-triage-man",
    ] {
        // The NAME line of its page: `smss-triage-pe - Analyse PE files …` (groff
        // justifies, so the spaces around the dash vary).
        let has_page = text.lines().any(|l| {
            l.trim_start()
                .strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('-') && rest.starts_with(' '))
        });
        assert!(has_page, "no page for {name}");
    }
    assert!(text.contains("--fail-on"));
    for v in SEVERITIES.iter().chain(KINDS.iter()) {
        assert!(text.contains(v), "{v} not in the manual");
    }
    // And `man -l -` (man-db) reads it from stdin.
    if let Some(man) = triage_testkit::tool("man") {
        let mut child = Process::new(man)
            .args(["-l", "-"])
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "man -l -: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("smss-triage-disk-ls"));
    }
}
