//! What the walk of an input directory does with what is not a regular file: FIFOs,
//! sockets, devices, link loops. Each is an `inputs` row with status `skipped` and the
//! reason, and none is opened (a FIFO nobody writes to would block the open forever:
//! the test would hang, so a timeout is the oracle). An ELF executable is skipped as
//! such.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use common::parse_csv;

fn bin() -> Command {
    Command::cargo_bin("smss-triage").unwrap()
}

/// `scan DIR --format csv` with a deadline: a blocked open fails the test, not hangs it.
fn inputs_of(
    args: &[&str],
    path: &Path,
) -> (Option<i32>, HashMap<String, HashMap<String, String>>) {
    let mut cmd = bin();
    cmd.args(args).args(["-q", "--format", "csv"]);
    if !args.contains(&"--records") {
        cmd.args(["--records", "inputs"]);
    }
    let out = cmd
        .arg(path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (_, rows) = parse_csv(&text);
    let by_name = rows
        .into_iter()
        .map(|r| {
            let name = Path::new(&r["input"])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, r)
        })
        .collect();
    (out.status.code(), by_name)
}

fn mkfifo(path: &Path) -> bool {
    std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn special_files_in_a_directory_are_listed_as_skipped_and_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("plain.txt"), b"just text\n").unwrap();
    assert!(mkfifo(&d.join("pipe")), "mkfifo");
    // A unix socket, bound by a listener that lives as long as the test.
    let _sock = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    std::os::unix::fs::symlink("/dev/null", d.join("null-link")).unwrap();
    std::os::unix::fs::symlink("loop-b", d.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", d.join("loop-b")).unwrap();
    std::os::unix::fs::symlink("pipe", d.join("pipe-link")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink(d.join("sub"), d.join("dir-link")).unwrap();
    std::os::unix::fs::symlink("missing", d.join("dangling")).unwrap();

    for cmd in [&["scan"][..], &["pe"], &["hive"], &["disk", "info"]] {
        let (code, rows) = inputs_of(cmd, d);
        let row = |n: &str| {
            rows.get(n)
                .unwrap_or_else(|| panic!("{cmd:?}: {n} not listed: {rows:?}"))
        };
        for (name, status, detail) in [
            ("pipe", "skipped", "fifo: not read"),
            ("sock", "skipped", "socket: not read"),
            (
                "null-link",
                "skipped",
                "link to a character device: not read",
            ),
            ("loop-a", "skipped", "symbolic link loop: not followed"),
            ("loop-b", "skipped", "symbolic link loop: not followed"),
            ("pipe-link", "skipped", "link to a fifo: not read"),
            ("dir-link", "skipped", "link to a directory: not followed"),
        ] {
            let r = row(name);
            assert_eq!(r["status"], status, "{cmd:?} {name}");
            assert_eq!(r["detail"], detail, "{cmd:?} {name}");
            assert_eq!(r["size"], "0", "{cmd:?} {name}: never opened");
        }
        assert_eq!(row("dangling")["status"], "error", "{cmd:?}");
        assert!(row("dangling")["detail"].starts_with("dangling link"));
        assert_eq!(row("plain.txt")["status"], "skipped");
        assert_eq!(row("plain.txt")["detail"], "unrecognised format");
        // The dangling link is an input error: exit 3.
        assert_eq!(code, Some(3), "{cmd:?}");
    }

    // The FIFO named on the command line is not opened either.
    let (code, rows) = inputs_of(&["scan"], &d.join("pipe"));
    assert_eq!(rows["pipe"]["detail"], "fifo: not read");
    assert_eq!(code, Some(0));
    // `disk ls` and `mem ps --tree` walk the same way.
    let (_, rows) = inputs_of(&["disk", "ls", "--records", "inputs"], d);
    assert_eq!(rows["pipe"]["status"], "skipped");
    assert_eq!(rows["sock"]["detail"], "socket: not read");
    let out = bin()
        .args(["mem", "ps", "--tree", "-q"])
        .arg(d.join("pipe"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "mem ps --tree on a FIFO");
}

/// Root reads a mode-000 file anyway (the tests run as root in CI), so the unreadable
/// case is only checkable as another user: then it is an error row, not a skip.
#[test]
fn unreadable_file_is_an_error_when_permissions_apply() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("secret.bin");
    std::fs::write(&f, b"plain text\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::File::open(&f).is_ok();
    let (code, rows) = inputs_of(&["scan"], dir.path());
    let r = &rows["secret.bin"];
    if readable {
        // Running as root: the permission does not stop the read.
        eprintln!("note: running as root: mode 000 does not stop reads; checked as readable");
        assert_eq!(r["status"], "skipped");
    } else {
        assert_eq!(r["status"], "error");
        assert!(
            r["detail"].contains("ermission denied"),
            "{:?}",
            r["detail"]
        );
        assert_eq!(code, Some(3));
    }
}

#[test]
fn an_elf_executable_is_skipped_as_not_a_core_dump() {
    // Any ELF program on this machine; `file`-independent: the ELF magic and e_type 2/3.
    let exe = ["/bin/ls", "/usr/bin/ls", "/bin/sh"]
        .into_iter()
        .map(Path::new)
        .find(|p| {
            std::fs::read(p)
                .map(|b| b.starts_with(b"\x7fELF") && matches!(b.get(16), Some(2 | 3)))
                .unwrap_or(false)
        })
        .expect("an ELF executable");
    for cmd in [&["scan"][..], &["mem", "info"]] {
        let out = bin()
            .args(cmd)
            .args(["-q", "--format", "csv"])
            .arg(exe)
            .output()
            .unwrap();
        if cmd == ["mem", "info"] {
            // `mem info` has its own table; it must not call the program a dump.
            assert!(!String::from_utf8_lossy(&out.stdout).contains("crashdump"));
            continue;
        }
        let (_, rows) = parse_csv(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(rows[0]["format"], "elf-not-core");
        assert_eq!(rows[0]["status"], "skipped");
        assert_eq!(rows[0]["detail"], "ELF executable, not a core dump");
    }
    let out = bin()
        .args(["mem", "ps", "-q", "--format", "csv"])
        .arg(exe)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = bin()
        .args(["mem", "ps", "-q", "--format", "csv", "--records", "inputs"])
        .arg(exe)
        .output()
        .unwrap();
    let (_, rows) = parse_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(rows[0]["detail"], "ELF executable, not a core dump");
}
