//! `contrib/slurm/` on a real single-node Slurm cluster (Debian `slurm-wlm` and `munge`),
//! started from a `slurm.conf` in a temp dir: a 4-task job array plus the merge job over
//! the project samples and a generated memory image must equal one local run. Under `CI`
//! the test fails when Slurm cannot start; locally it skips with a message.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// Skip locally, fail under CI.
fn unavailable(why: &str) {
    if in_ci() {
        panic!("slurm test cannot run under CI: {why}");
    }
    eprintln!("skipping the Slurm test: {why}");
}

fn which(name: &str) -> Option<PathBuf> {
    [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/bin",
        "/usr/local/sbin",
    ]
    .iter()
    .map(|d| Path::new(d).join(name))
    .find(|p| p.exists())
}

/// The daemons started here, stopped by pid (never by name).
struct Cluster {
    pids: Vec<u32>,
    conf: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for pid in self.pids.iter().rev() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            // Wait for it to go, so the next test can bind the fixed ports 6817/6818.
            let t = Instant::now();
            while Path::new(&format!("/proc/{pid}")).exists()
                && t.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn read_pid(path: &Path, within: Duration) -> Option<u32> {
    let t = Instant::now();
    while t.elapsed() < within {
        if let Some(p) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return Some(p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn start(t: &Path) -> Result<Cluster, String> {
    let (Some(munged), Some(ctld), Some(slurmd)) =
        (which("munged"), which("slurmctld"), which("slurmd"))
    else {
        return Err("munged, slurmctld or slurmd not installed (Debian: munge, slurm-wlm)".into());
    };
    let run = |c: &mut Command| -> Result<(), String> {
        let o = c.output().map_err(|e| format!("{c:?}: {e}"))?;
        if o.status.success() {
            Ok(())
        } else {
            Err(format!("{c:?}: {}", String::from_utf8_lossy(&o.stderr)))
        }
    };
    // munged runs as user munge: the socket directory is 0755 and every parent must be
    // traversable by munge (a tempdir is 0700).
    use std::os::unix::fs::PermissionsExt;
    let mut p = Some(t);
    while let Some(d) = p {
        if d.starts_with(std::env::temp_dir()) && d != std::env::temp_dir() {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).ok();
        }
        p = d.parent();
    }
    let m = t.join("munge");
    std::fs::create_dir_all(&m).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&m, std::fs::Permissions::from_mode(0o755)).ok();
    let key: Vec<u8> = (0..1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ std::process::id() as u8)
        .collect();
    std::fs::write(m.join("munge.key"), key).map_err(|e| e.to_string())?;
    run(Command::new("chown").args(["-R", "munge:munge"]).arg(&m))?;
    std::fs::set_permissions(m.join("munge.key"), std::fs::Permissions::from_mode(0o400)).ok();
    let mut cluster = Cluster {
        pids: Vec::new(),
        conf: t.join("slurm.conf"),
    };
    let sock = m.join("sock");
    run(Command::new("runuser")
        .args(["-u", "munge", "--"])
        .arg(&munged)
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--key-file={}", m.join("munge.key").display()))
        .arg(format!("--pid-file={}", m.join("pid").display()))
        .arg(format!("--log-file={}", m.join("log").display()))
        .arg(format!("--seed-file={}", m.join("seed").display())))?;
    cluster
        .pids
        .push(read_pid(&m.join("pid"), Duration::from_secs(5)).ok_or("munged wrote no pid")?);
    let host = String::from_utf8_lossy(
        &Command::new("hostname")
            .output()
            .map_err(|e| e.to_string())?
            .stdout,
    )
    .trim()
    .to_string();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for d in ["spool/ctld", "spool/d", "log"] {
        std::fs::create_dir_all(t.join(d)).map_err(|e| e.to_string())?;
    }
    let td = t.display();
    let conf = format!(
        "ClusterName=smsstest\nSlurmctldHost={host}\nSlurmUser=root\nAuthType=auth/munge\n\
         AuthInfo=socket={sock}\nCredType=cred/munge\nProctrackType=proctrack/linuxproc\n\
         TaskPlugin=task/none\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
         SchedulerType=sched/backfill\nAccountingStorageType=accounting_storage/none\n\
         JobAcctGatherType=jobacct_gather/none\nStateSaveLocation={td}/spool/ctld\n\
         SlurmdSpoolDir={td}/spool/d\nSlurmctldPidFile={td}/ctld.pid\nSlurmdPidFile={td}/d.pid\n\
         SlurmctldLogFile={td}/log/ctld.log\nSlurmdLogFile={td}/log/d.log\nSlurmctldPort=6817\n\
         SlurmdPort=6818\nReturnToService=2\nMpiDefault=none\n\
         NodeName={host} CPUs={cpus} State=UNKNOWN\n\
         PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
        sock = sock.display()
    );
    std::fs::write(&cluster.conf, conf).map_err(|e| e.to_string())?;
    run(Command::new(&ctld).arg("-f").arg(&cluster.conf))?;
    cluster.pids.push(
        read_pid(&t.join("ctld.pid"), Duration::from_secs(5)).ok_or("slurmctld wrote no pid")?,
    );
    run(Command::new(&slurmd).arg("-f").arg(&cluster.conf))?;
    cluster
        .pids
        .push(read_pid(&t.join("d.pid"), Duration::from_secs(5)).ok_or("slurmd wrote no pid")?);
    let t0 = Instant::now();
    loop {
        let o = Command::new("sinfo")
            .args(["-h", "-o", "%T"])
            .env("SLURM_CONF", &cluster.conf)
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&o.stdout).trim() == "idle" {
            return Ok(cluster);
        }
        if t0.elapsed() > Duration::from_secs(20) {
            return Err(format!(
                "node not idle after 20 s: {}",
                String::from_utf8_lossy(&o.stdout)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn job_state(conf: &Path, id: &str) -> String {
    let o = Command::new("scontrol")
        .args(["show", "job", id])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("JobState="))
        .unwrap_or("UNKNOWN")
        .to_string()
}

fn files_of(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.starts_with('.') && n != "journal.tsv"
        })
        .map(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            let mut text = std::fs::read_to_string(&p).unwrap();
            if n == "inputs.csv" {
                text = blank_elapsed(&text);
            }
            (n, text)
        })
        .collect();
    v.sort();
    v
}

fn blank_elapsed(text: &str) -> String {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let headers = rd.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "elapsed_ms").unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).unwrap();
    for r in rd.records() {
        let r = r.unwrap();
        let row: Vec<&str> = r
            .iter()
            .enumerate()
            .map(|(i, v)| if i == col { "" } else { v })
            .collect();
        w.write_record(row).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[test]
fn job_array_and_merge_equal_one_local_run() {
    let t = tempfile::tempdir().unwrap();
    let cluster = match start(t.path()) {
        Ok(c) => c,
        Err(why) => return unavailable(&why),
    };
    // The collection: the project samples and, when the shared symbols are here, a
    // generated memory image.
    let coll = t.path().join("evidence");
    std::fs::create_dir_all(&coll).unwrap();
    let repo = common::repo_dir();
    // Not the disk image: the host view links a dump to the disk image of the same run,
    // and shards may split them (docs/scale-out.md), so one local run would differ.
    let mut list = format!(
        "{}\n{}\n",
        repo.join("samples/pe").display(),
        repo.join("samples/hives").display()
    );
    if let Some(shared) = common::shared_dir() {
        let mut sc = triage_memgen::Scenario::clean_boot(19041);
        sc.memory_size = 64 << 20;
        sc.seed = 11;
        if let Ok(isf) = triage_memgen::resolve_isf(&sc, &shared.join("symbols")) {
            let p = coll.join("host.raw");
            triage_memgen::write_image(&sc, &isf, &p, triage_memgen::Format::Raw).unwrap();
            std::fs::remove_file(p.with_extension("raw.truth.json")).ok();
            list.push_str(&format!("{}\n", p.display()));
        }
    }
    let list_path = t.path().join("list.txt");
    std::fs::write(&list_path, &list).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("smss-triage");

    let local = t.path().join("local");
    let o = Command::new(&bin)
        .args(["scan", "-q", "--format", "csv", "--input-list"])
        .arg(&list_path)
        .arg("--out")
        .arg(&local)
        .output()
        .unwrap();
    assert!(o.status.code().unwrap_or(99) <= 3, "{o:?}");

    let out = t.path().join("slurm");
    let o = Command::new("sh")
        .arg(repo.join("contrib/slurm/submit.sh"))
        .args(["-n", "4", "-l"])
        .arg(&list_path)
        .arg("-o")
        .arg(&out)
        .arg("-b")
        .arg(&bin)
        .args(["--", "--format", "csv"])
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "submit: {o:?}");
    let ids = String::from_utf8_lossy(&o.stdout).into_owned();
    let merge_id = ids
        .split_whitespace()
        .find_map(|w| w.strip_prefix("merge="))
        .unwrap_or_else(|| panic!("no merge id in {ids:?}"))
        .to_string();
    // Poll (sbatch --wait polls slowly): the merge ends COMPLETED, or FAILED/CANCELLED.
    let t0 = Instant::now();
    let state = loop {
        let s = job_state(&cluster.conf, &merge_id);
        if [
            "COMPLETED",
            "FAILED",
            "CANCELLED",
            "TIMEOUT",
            "NODE_FAIL",
            "OUT_OF_MEMORY",
        ]
        .contains(&s.as_str())
        {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "merge job still {s} after 120 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let log = std::fs::read_to_string(out.join("logs/merge.log")).unwrap_or_default();
    assert_eq!(state, "COMPLETED", "merge log: {log}");
    let shards = (0..4)
        .filter(|i| out.join(format!("shard-{i}/journal.tsv")).exists())
        .count();
    assert_eq!(shards, 4);
    let want = files_of(&local);
    let got = files_of(&out.join("merged"));
    assert_eq!(
        got.iter().map(|f| &f.0).collect::<Vec<_>>(),
        want.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in got.iter().zip(&want) {
        assert_eq!(a, b, "{name}: the Slurm run differs from the local run");
    }
    drop(cluster);
}
