//! Assembling a plan into a disk: stage the files in a directory, capture it with wimlib,
//! apply it onto a fresh `mkntfs` volume, add streams with `ntfscp`, patch the MFT
//! (timestomp, delete), then put the volume into a GPT disk made by `sgdisk`.

use crate::mft::Ntfs;
use crate::plan::{Content, Entry, Options, Plan, PlantKind, Planted};
use crate::run::run;
use crate::{pe, regf, Error, PARTITION_OFFSET};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Bumped whenever the recipe changes, so cached images are rebuilt.
const RECIPE: &str = "diskgen-windows-like-2";

/// 2023-11-14T22:13:20Z: every staged file and directory gets this modification time.
const FIXED_UNIX: u64 = 1_700_000_000;

/// The `$STANDARD_INFORMATION` times of timestomped files: 2019-12-07 09:09:21 UTC, whole
/// seconds (the build date of many Windows 10 1909 files, which stompers like to copy).
pub const STOMP_FILETIME: u64 = (1_575_709_761 + 11_644_473_600) * 10_000_000;

/// A built Windows-like disk.
#[derive(Debug, Clone)]
pub struct Built {
    /// The raw GPT disk image.
    pub raw_disk: PathBuf,
    /// Byte offset of the NTFS partition ([`PARTITION_OFFSET`]).
    pub partition_offset: u64,
    /// Every item of the plan, planted or genuine, with the rule it must (not) raise.
    pub planted: Vec<Planted>,
    /// Paths of the items that must stay quiet (`expect_rule` `None`).
    pub genuine: Vec<String>,
    /// memgen's `Truth` of the memory image on the volume, if there is one.
    pub memory_truth: Option<PathBuf>,
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|e| Error::MissingInput {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// A content hash of everything that decides the image's bytes.
fn cache_key(plan: &Plan, disk_size: u64) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(RECIPE);
    // The recipe is this crate's code: a change to it must not reuse an old image.
    for src in [
        include_str!("build.rs"),
        include_str!("plan.rs"),
        include_str!("mft.rs"),
        include_str!("pe.rs"),
        include_str!("regf.rs"),
    ] {
        h.update(src);
    }
    h.update(disk_size.to_le_bytes());
    let pe_src = |h: &mut Sha256| -> Result<(), Error> {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/pe/src");
        for f in ["smss_native.c", "console_tool.c"] {
            h.update(read(&src.join(f))?);
        }
        Ok(())
    };
    for e in &plan.entries {
        h.update(format!("\0{}\0{:?}\0{:?}\0", e.path, e.kind, e.expect_rule));
        match &e.content {
            Content::File(p) => h.update(read(p)?),
            Content::Bytes(b) => h.update(b),
            Content::Built(name) => {
                h.update(name);
                pe_src(&mut h)?;
            }
            Content::Hive { base, regs } => {
                if let Some(b) = base {
                    h.update(read(b)?);
                }
                for r in regs {
                    h.update(read(r)?);
                }
            }
            Content::Memory(m) => h.update(format!("{m:?}")),
            Content::Zeros { header, len } => {
                h.update(header);
                h.update(len.to_le_bytes());
            }
        }
    }
    Ok(hex(&h.finalize())[..24].to_string())
}

/// Linux path of a volume path below `root`.
fn local(root: &Path, path: &str) -> PathBuf {
    path.split('\\')
        .filter(|p| !p.is_empty())
        .fold(root.to_path_buf(), |p, c| p.join(c))
}

/// `(host, stream)` when the last component names a stream.
fn stream_of(path: &str) -> Option<(&str, &str)> {
    let last = path.rsplit('\\').next()?;
    let colon = last.find(':')?;
    let cut = path.len() - last.len() + colon;
    Some((&path[..cut], &path[cut + 1..]))
}

struct Stager<'a> {
    tmp: &'a Path,
    samples: &'a Path,
    built_pe: HashMap<&'static str, PathBuf>,
    memory_truth: Option<PathBuf>,
}

impl Stager<'_> {
    /// Writes `e`'s bytes to `dest`.
    fn write(&mut self, e: &Entry, dest: &Path) -> Result<(), Error> {
        match &e.content {
            Content::File(src) => {
                let bytes = read(src)?;
                fs::write(dest, bytes).map_err(Error::io(dest))?;
            }
            Content::Bytes(b) => fs::write(dest, b).map_err(Error::io(dest))?,
            Content::Built(name) => {
                let work = self.tmp.join("pe");
                fs::create_dir_all(&work).map_err(Error::io(&work))?;
                let exe = match self.built_pe.get(name) {
                    Some(p) => p.clone(),
                    None => pe::build(&work, &self.samples.join("pe/src"), name)?,
                };
                self.built_pe.insert(name, exe.clone());
                fs::copy(&exe, dest).map_err(Error::io(dest))?;
            }
            Content::Hive { base, regs } => {
                match base {
                    Some(b) => fs::write(dest, read(b)?),
                    None => fs::write(dest, regf::empty_hive("ROOT")),
                }
                .map_err(Error::io(dest))?;
                for reg in regs {
                    run(
                        "hivexregedit",
                        [
                            "--merge".as_ref(),
                            "--prefix".as_ref(),
                            "HKEY_LOCAL_MACHINE\\SYSTEM".as_ref(),
                            dest.as_os_str(),
                            reg.as_os_str(),
                        ],
                    )?;
                }
            }
            Content::Memory(m) => {
                let mut sc = triage_memgen::Scenario::smss_masquerades(m.build);
                sc.memory_size = m.size;
                let isf = triage_memgen::resolve_isf(&sc, &m.symbols)
                    .map_err(|e| Error::Memgen(e.to_string()))?;
                let format = if m.crash_dump {
                    triage_memgen::Format::CrashDump64
                } else {
                    triage_memgen::Format::Raw
                };
                // Written outside the stage: memgen puts its truth file beside the image.
                let img = self.tmp.join("memory.img");
                triage_memgen::write_image(&sc, &isf, &img, format)
                    .map_err(|e| Error::Memgen(e.to_string()))?;
                move_file(&img, dest)?;
                self.memory_truth = Some(self.tmp.join("memory.img.truth.json"));
            }
            Content::Zeros { header, len } => {
                let mut f = File::create(dest).map_err(Error::io(dest))?;
                f.write_all(header).map_err(Error::io(dest))?;
                f.set_len(*len).map_err(Error::io(dest))?;
            }
        }
        Ok(())
    }
}

fn digest_file(path: &Path) -> Result<(u64, String), Error> {
    let b = fs::read(path).map_err(Error::io(path))?;
    Ok((b.len() as u64, hex(&Sha256::digest(&b))))
}

/// Gives every file and directory below `root` the fixed time plus a sub-second part
/// drawn from its path (genuine NTFS times have 100 ns digits; only the stomped file keeps
/// whole seconds). Deepest first, so setting a file does not move its directory's time.
pub(crate) fn fix_times(root: &Path) -> Result<(), Error> {
    let mut stack = vec![(root.to_path_buf(), false)];
    while let Some((p, visited)) = stack.pop() {
        let is_dir = p.is_dir();
        if is_dir && !visited {
            stack.push((p.clone(), true));
            for d in fs::read_dir(&p).map_err(Error::io(&p))? {
                stack.push((d.map_err(Error::io(&p))?.path(), false));
            }
            continue;
        }
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let digest = Sha256::digest(rel.as_os_str().as_encoded_bytes());
        let ticks = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]) % 9_999_999;
        let t = SystemTime::UNIX_EPOCH
            + Duration::from_secs(FIXED_UNIX)
            + Duration::from_nanos(100 * (u64::from(ticks) + 1));
        let times = fs::FileTimes::new().set_accessed(t).set_modified(t);
        File::open(&p)
            .and_then(|f| f.set_times(times))
            .map_err(Error::io(&p))?;
    }
    Ok(())
}

/// A work directory for the stage, the WIM and the partition image: `$DISKGEN_SCRATCH`,
/// else `/dev/shm` when it has room for `need` bytes twice over (tmpfs: building the
/// 200,000-file volume there takes seconds instead of minutes of disk I/O), else `out_dir`.
pub(crate) fn scratch(out_dir: &Path, need: u64) -> Result<tempfile::TempDir, Error> {
    let shm = Path::new("/dev/shm");
    let dir = match std::env::var_os("DISKGEN_SCRATCH") {
        Some(d) => PathBuf::from(d),
        None if shm.is_dir() && free_bytes(shm).is_some_and(|f| f / 2 > need) => shm.into(),
        None => out_dir.to_path_buf(),
    };
    tempfile::Builder::new()
        .prefix(".diskgen-")
        .tempdir_in(&dir)
        .map_err(Error::io(&dir))
}

/// Free bytes on the file system of `dir` (`df`: std has no statvfs, and this crate
/// forbids `unsafe`).
fn free_bytes(dir: &Path) -> Option<u64> {
    let out = run(
        "df",
        ["-B1".as_ref(), "--output=avail".as_ref(), dir.as_os_str()],
    )
    .ok()?;
    String::from_utf8_lossy(&out)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

/// Moves `from` to `to`, copying when they are on different file systems.
pub(crate) fn move_file(from: &Path, to: &Path) -> Result<(), Error> {
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map_err(Error::io(to))?;
    fs::remove_file(from).map_err(Error::io(from))
}

/// Writes the GPT disk for `part` straight into `out_dir` (a sparse temp file there,
/// renamed onto `disk` when complete, so readers never see half a disk).
pub(crate) fn gpt_disk_into(
    part: &Path,
    out_dir: &Path,
    disk: &Path,
    size: u64,
) -> Result<(), Error> {
    let partial = tempfile::Builder::new()
        .prefix(".diskgen-")
        .suffix(".partial")
        .tempfile_in(out_dir)
        .map_err(Error::io(out_dir))?;
    gpt_disk(part, partial.path(), size)?;
    // A temp file is 0600; the disk is an ordinary output file.
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    fs::set_permissions(partial.path(), mode).map_err(Error::io(partial.path()))?;
    partial
        .persist(disk)
        .map_err(|e| Error::io(disk)(e.error))?;
    Ok(())
}

/// Sectors of the disk layout: (first NTFS sector, last NTFS sector).
pub(crate) fn layout(disk_size: u64) -> Result<(u64, u64), Error> {
    let sectors = disk_size / 512;
    let first = PARTITION_OFFSET / 512;
    let last = ((sectors.saturating_sub(34)) / 2048 * 2048).saturating_sub(1);
    if last <= first + 2048 {
        return Err(Error::Layout(format!(
            "disk of {disk_size} bytes is too small"
        )));
    }
    Ok((first, last))
}

/// `mkntfs` a volume of `size` bytes at `part` and apply `stage` onto it with wimlib.
pub(crate) fn ntfs_from_dir(tmp: &Path, stage: &Path, part: &Path, size: u64) -> Result<(), Error> {
    let wim = tmp.join("stage.wim");
    // wimlib's default configuration leaves out pagefile.sys, hiberfil.sys and
    // $Recycle.Bin: an empty exclusion list keeps everything.
    let config = tmp.join("wimlib-capture.ini");
    fs::write(&config, "[ExclusionList]\n").map_err(Error::io(&config))?;
    let config_arg = format!("--config={}", config.display());
    run(
        "wimlib-imagex",
        [
            "capture".as_ref(),
            stage.as_os_str(),
            wim.as_os_str(),
            "Windows".as_ref(),
            "--compress=none".as_ref(),
            config_arg.as_ref(),
        ],
    )?;
    let f = File::create(part).map_err(Error::io(part))?;
    f.set_len(size).map_err(Error::io(part))?;
    drop(f);
    let start = (PARTITION_OFFSET / 512).to_string();
    run(
        "mkntfs",
        [
            "-F", "-T", "-Q", "-q", "-L", "Windows", "-s", "512", "-c", "4096", "-H", "255", "-S",
            "63", "-p", &start,
        ]
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([part.as_os_str()]),
    )?;
    run(
        "wimlib-imagex",
        [
            "apply".as_ref(),
            wim.as_os_str(),
            "1".as_ref(),
            part.as_os_str(),
        ],
    )?;
    fs::remove_file(&wim).map_err(Error::io(&wim))
}

/// A GPT disk of `disk_size` at `disk` (EFI system partition, then "Microsoft basic data"
/// holding `part`), fixed GUIDs, written sparse.
pub(crate) fn gpt_disk(part: &Path, disk: &Path, disk_size: u64) -> Result<(), Error> {
    let (first, last) = layout(disk_size)?;
    let f = File::create(disk).map_err(Error::io(disk))?;
    f.set_len(disk_size).map_err(Error::io(disk))?;
    drop(f);
    let args = [
        "-o".to_string(),
        "-U".into(),
        "D15C6E4E-0000-4000-8000-000000000001".into(),
        "-n".into(),
        format!("1:2048:{}", first - 1),
        "-t".into(),
        "1:ef00".into(),
        "-c".into(),
        "1:EFI system partition".into(),
        "-u".into(),
        "1:D15C6E4E-0000-4000-8000-0000000000E5".into(),
        "-n".into(),
        format!("2:{first}:{last}"),
        "-t".into(),
        "2:0700".into(),
        "-c".into(),
        "2:Basic data partition".into(),
        "-u".into(),
        "2:D15C6E4E-0000-4000-8000-00000000D474".into(),
    ];
    run(
        "sgdisk",
        args.iter()
            .map(std::ffi::OsStr::new)
            .chain([disk.as_os_str()]),
    )?;
    let src = File::open(part).map_err(Error::io(part))?;
    let dst = fs::OpenOptions::new()
        .write(true)
        .open(disk)
        .map_err(Error::io(disk))?;
    let len = src.metadata().map_err(Error::io(part))?.len();
    if len != (last - first + 1) * 512 {
        return Err(Error::Layout(
            "partition image size differs from the GPT entry".into(),
        ));
    }
    let mut buf = vec![0u8; 1 << 16];
    let mut off = 0;
    while off < len {
        let n = buf.len().min((len - off) as usize);
        src.read_exact_at(&mut buf[..n], off)
            .map_err(Error::io(part))?;
        if buf[..n].iter().any(|&b| b != 0) {
            dst.write_all_at(&buf[..n], PARTITION_OFFSET + off)
                .map_err(Error::io(disk))?;
        }
        off += n as u64;
    }
    Ok(())
}

/// Builds the Windows-like disk of [`Plan::windows_like`] in `out_dir` (cached there by a
/// content hash of every input: a second call with the same inputs returns at once).
pub fn build_windows_like(out_dir: &Path, opts: &Options) -> Result<Built, Error> {
    build_plan(out_dir, &Plan::windows_like(opts), opts)
}

/// Builds any plan (see [`build_windows_like`]).
pub fn build_plan(out_dir: &Path, plan: &Plan, opts: &Options) -> Result<Built, Error> {
    fs::create_dir_all(out_dir).map_err(Error::io(out_dir))?;
    let key = cache_key(plan, opts.disk_size)?;
    let disk = out_dir.join(format!("windows-like-{key}.raw"));
    let manifest = out_dir.join(format!("windows-like-{key}.tsv"));
    let truth = out_dir.join(format!("windows-like-{key}.memory.truth.json"));
    if !(disk.is_file() && manifest.is_file()) {
        let tmp = scratch(out_dir, 3 * opts.disk_size)?;
        let made = build_fresh(tmp.path(), out_dir, plan, opts, &disk, &manifest, &truth);
        if made.is_err() && std::env::var_os("DISKGEN_KEEP").is_some() {
            // Debugging aid: the stage, the partition image and the WIM stay for a look.
            eprintln!("diskgen: keeping {}", tmp.keep().display());
        }
        made?;
    }
    let text = fs::read_to_string(&manifest).map_err(Error::io(&manifest))?;
    let facts: HashMap<&str, (u64, &str)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (p, s, h) = (f.next()?, f.next()?, f.next()?);
            Some((p, (s.parse().ok()?, h)))
        })
        .collect();
    let mut planted = Vec::new();
    for e in &plan.entries {
        let (size, sha) = facts.get(e.path.as_str()).ok_or_else(|| {
            Error::Layout(format!("{} missing from {}", e.path, manifest.display()))
        })?;
        planted.push(Planted {
            path: e.path.clone(),
            kind: e.kind,
            expect_rule: e.expect_rule,
            also: e.also,
            size: *size,
            sha256: sha.to_string(),
        });
    }
    Ok(Built {
        raw_disk: disk,
        partition_offset: PARTITION_OFFSET,
        genuine: planted
            .iter()
            .filter(|p| p.expect_rule.is_none())
            .map(|p| p.path.clone())
            .collect(),
        planted,
        memory_truth: truth.is_file().then_some(truth),
    })
}

fn build_fresh(
    tmp: &Path,
    out_dir: &Path,
    plan: &Plan,
    opts: &Options,
    disk: &Path,
    manifest: &Path,
    truth: &Path,
) -> Result<(), Error> {
    let stage = tmp.join("stage");
    fs::create_dir_all(&stage).map_err(Error::io(&stage))?;
    let mut stager = Stager {
        tmp,
        samples: &opts.samples,
        built_pe: HashMap::new(),
        memory_truth: None,
    };
    let mut lines = String::new();
    let mut streams = Vec::new();
    for e in &plan.entries {
        let dest = if let Some((host, name)) = stream_of(&e.path) {
            let src = tmp.join(format!("stream-{}", streams.len()));
            streams.push((host.to_string(), name.to_string(), src.clone()));
            src
        } else {
            let d = local(&stage, &e.path);
            if let Some(parent) = d.parent() {
                fs::create_dir_all(parent).map_err(Error::io(parent))?;
            }
            d
        };
        stager.write(e, &dest)?;
        let (size, sha) = digest_file(&dest)?;
        lines.push_str(&format!("{}\t{size}\t{sha}\n", e.path));
    }
    fix_times(&stage)?;
    let (first, last) = layout(opts.disk_size)?;
    let part = tmp.join("part.img");
    ntfs_from_dir(tmp, &stage, &part, (last - first + 1) * 512)?;
    for (host, name, src) in &streams {
        let host = host.replace('\\', "/");
        run(
            "ntfscp",
            [
                "-q".as_ref(),
                "-N".as_ref(),
                name.as_ref(),
                part.as_os_str(),
                src.as_os_str(),
                host.as_ref(),
            ],
        )?;
    }
    let ntfs = Ntfs::open(&part)?;
    ntfs.normalize_change_times()?;
    for e in &plan.entries {
        match e.kind {
            PlantKind::Timestomped => {
                ntfs.timestomp(&e.path, STOMP_FILETIME)?;
            }
            PlantKind::Deleted => {
                ntfs.delete(&e.path)?;
            }
            _ => {}
        }
    }
    drop(ntfs);
    gpt_disk_into(&part, out_dir, disk, opts.disk_size)?;
    if let Some(t) = &stager.memory_truth {
        move_file(t, truth)?;
    }
    // Disk first, manifest last: a reader that sees the manifest sees a complete disk.
    let tmp_manifest = out_dir.join(format!(".diskgen-{}.tsv", std::process::id()));
    fs::write(&tmp_manifest, lines).map_err(Error::io(&tmp_manifest))?;
    fs::rename(&tmp_manifest, manifest).map_err(Error::io(manifest))?;
    Ok(())
}

/// The small committable E01 (`samples/disk/` later): the Windows-like plan with only
/// project-built files (no Microsoft binary, no shared hive, no memory dump), written to
/// `out` (`X.E01`). Byte-identical from build to build when `faketime` is installed (it
/// fixes the acquisition date ewfacquire writes). Returns the E01's path.
pub fn sample_e01(samples: &Path, out: &Path) -> Result<PathBuf, Error> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".diskgen-sample-")
        .tempdir_in(dir)
        .map_err(Error::io(dir))?;
    let built = build_windows_like(work.path(), &Options::project_only(samples))?;
    crate::wrap::ewfacquire(&built.raw_disk, out, true)
}
