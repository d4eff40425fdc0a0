//! The hostile-input campaign (issue #14 §1): one real sample of every format the tool
//! reads, about 20 deterministic mutants of each (truncations, bit flips, boundary values
//! over real header fields, zeroed pages, spliced copies), each run through the real
//! binary in its own process (`scan` plus the format's own command). Every run must exit
//! 0, 1 or 3, never panic (not even a panic the batch driver catches), and stay under
//! 20 s and 512 MB of anonymous memory. Two runs at a time.
//!
//! Samples are read from `../shared` (never written); the derived ones (decompressed,
//! converted, generated memory images) and every mutant live in a temporary directory.
//! `SMSS_HOSTILE_REPORT=FILE` writes the counts table (`docs/reliability.md` holds one);
//! `SMSS_HOSTILE_ONLY=TEXT` keeps only samples whose name contains TEXT;
//! `SMSS_HOSTILE_KEEP=DIR` keeps every failing mutant there.

mod hostile_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hostile_support::image::{fields, Image, Layout};
use hostile_support::{run, Rng, Run};

/// Mutants per sample (issue #14: about 20); `SMSS_HOSTILE_MUTANTS=N` for a longer hunt.
fn mutants() -> usize {
    std::env::var("SMSS_HOSTILE_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}
/// The boundary values written over header fields.
const BOUNDARY: [u32; 4] = [0, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000];

/// One sample and how the binary is pointed at it.
struct Sample {
    /// The row of the report (`disk: VHDX`, `memory: LiME`, …).
    format: &'static str,
    name: String,
    image: Image,
    layout: Layout,
    /// The mutated file's name in the mutant's directory.
    file: String,
    /// Unmutated files placed beside it (a hive beside its log, the vmem beside the
    /// vmss, the other parts of a split image): (name, prepared file to link).
    beside: Vec<(String, PathBuf)>,
    /// The file the commands name (the mutant itself, or the file it belongs to).
    target: String,
    /// The format's own commands, besides `scan`.
    own: Vec<Vec<&'static str>>,
}

/// Apply mutant `m` of a sample: returns the image and a one-line recipe.
fn mutate(s: &Sample, m: usize) -> (Image, String) {
    let mut rng = Rng::seeded(&format!("{}#{m}", s.name));
    // Past the first 20 (SMSS_HOSTILE_MUTANTS), the kinds repeat with fresh seeds.
    let kind = m % 20;
    let mut img = s.image.clone();
    let fields = fields(&s.layout, &img);
    let data = img.data_len().max(1);
    let pick_field = |rng: &mut Rng| fields[rng.below(fields.len() as u64) as usize];
    let recipe = match kind {
        // Truncations: in the first page, anywhere (twice), near the end.
        0..=3 => {
            let at = match kind {
                0 => rng.below(img.len.min(4096)),
                1 | 2 => img.data_pos(rng.below(data)),
                _ => img.len.saturating_sub(1 + rng.below(img.len.min(65536))),
            };
            img.len = at;
            format!("truncate at {at:#x}")
        }
        // Bit flips: 1, 2, 4, 8, 16 bits; half in header fields, half anywhere.
        4..=8 => {
            let n = 1usize << (kind - 4);
            let mut at = Vec::new();
            for i in 0..n {
                let off = if i % 2 == 0 {
                    let f = pick_field(&mut rng);
                    f.off + rng.below(u64::from(f.width))
                } else {
                    img.data_pos(rng.below(data))
                };
                let bit = rng.below(8) as u8;
                img.set(off, img.get(off) ^ (1 << bit));
                at.push(format!("{off:#x}.{bit}"));
            }
            format!("flip bits {}", at.join(","))
        }
        // Boundary values over 1–3 header fields.
        9..=13 => {
            let mut at = Vec::new();
            for i in 0..=rng.below(3) {
                let f = pick_field(&mut rng);
                let v = BOUNDARY[(kind + i as usize) % 4];
                let bytes: Vec<u8> = match (f.width, f.be) {
                    (8, false) => {
                        // Sign-extend the two high values: 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000 → -2^31.
                        let w = if v >= 0x8000_0000 {
                            u64::from(v) | 0xFFFF_FFFF_0000_0000
                        } else {
                            u64::from(v)
                        };
                        w.to_le_bytes().to_vec()
                    }
                    (8, true) => u64::from(v).to_be_bytes().to_vec(),
                    (_, false) => v.to_le_bytes()[..usize::from(f.width)].to_vec(),
                    (w, true) => v.to_be_bytes()[4 - usize::from(w.min(4))..].to_vec(),
                };
                img.write(f.off, &bytes);
                at.push(format!("{v:#x}@{:#x}/{}", f.off, f.width));
            }
            format!("boundary {}", at.join(","))
        }
        // Zeroed pages: the page of a header field, a random page, page 0 of the data.
        14..=16 => {
            let page = match kind {
                14 => pick_field(&mut rng).off & !0xFFF,
                15 => img.data_pos(rng.below(data)) & !0xFFF,
                _ => img.data_pos(4096.min(data - 1)) & !0xFFF,
            };
            img.write(page, &[0u8; 4096]);
            format!("zero page {page:#x}")
        }
        // Spliced copies: a random block over a header field, the header over a random
        // place, a block moved within the data.
        _ => {
            let len = 16 + rng.below(4096) as usize;
            let (src, dst) = match kind {
                17 => (img.data_pos(rng.below(data)), pick_field(&mut rng).off),
                18 => (pick_field(&mut rng).off, img.data_pos(rng.below(data))),
                _ => (img.data_pos(rng.below(data)), img.data_pos(rng.below(data))),
            };
            let block = img.read(src, len);
            img.write(dst, &block);
            format!("splice {len} bytes {src:#x} -> {dst:#x}")
        }
    };
    (img, recipe)
}

fn gunzip(src: &Path, dst: &Path) -> Option<()> {
    let gz = triage_testkit::tool("gzip")?;
    let out = Command::new(gz).arg("-dc").arg(src).output().ok()?;
    assert!(out.status.success(), "gzip -dc {}", src.display());
    std::fs::write(dst, out.stdout).unwrap();
    Some(())
}

fn unzip_one(zip: &Path, member: &str, dst: &Path) -> Option<()> {
    let unzip = triage_testkit::tool("unzip")?;
    let out = Command::new(unzip)
        .arg("-p")
        .arg(zip)
        .arg(member)
        .output()
        .ok()?;
    assert!(out.status.success(), "unzip {}", zip.display());
    std::fs::write(dst, out.stdout).unwrap();
    Some(())
}

fn qemu_convert(src: &Path, args: &[&str], dst: &Path) -> Option<()> {
    let q = triage_testkit::tool("qemu-img")?;
    let st = Command::new(q)
        .arg("convert")
        .args(args)
        .arg(src)
        .arg(dst)
        .status()
        .ok()?;
    assert!(st.success(), "qemu-img convert {}", src.display());
    Some(())
}

/// The data extents of a (sparse) file, from `qemu-img map` (SEEK_DATA underneath).
fn sparse_image(path: &Path) -> Option<Image> {
    let q = triage_testkit::tool("qemu-img")?;
    let out = Command::new(q)
        .args(["map", "-f", "raw", "--output=json"])
        .arg(path)
        .output()
        .ok()?;
    assert!(out.status.success());
    let map: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let mut extents = Vec::new();
    for e in map.as_array().unwrap() {
        if e["data"].as_bool() == Some(true) {
            let (s, l) = (e["start"].as_u64().unwrap(), e["length"].as_u64().unwrap());
            extents.push((s, bytes[s as usize..(s + l) as usize].to_vec()));
        }
    }
    Some(Image {
        len: bytes.len() as u64,
        extents,
    })
}

/// The volume offset of the first partition of an MBR or GPT disk.
fn first_partition(img: &Image) -> u64 {
    if img.get(446 + 4) == 0xEE {
        return img.u64(1024 + 32) * 512;
    }
    img.u32(446 + 8) * 512
}

struct Plan {
    samples: Vec<Sample>,
}

impl Plan {
    fn add(
        &mut self,
        format: &'static str,
        path: &Path,
        layout: Layout,
        own: Vec<Vec<&'static str>>,
    ) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.samples.push(Sample {
            format,
            name: name.clone(),
            image: Image::whole(std::fs::read(path).unwrap()),
            layout,
            file: name.clone(),
            beside: Vec::new(),
            target: name,
            own,
        });
    }
}

fn disk_ls() -> Vec<Vec<&'static str>> {
    vec![vec!["disk", "ls"]]
}

/// Collect (and derive, into `work`) one sample of every format.
fn plan(shared: &Path, work: &Path) -> Option<Plan> {
    let s = shared.join("samples");
    let mut p = Plan {
        samples: Vec::new(),
    };
    let pe = || vec![vec!["pe"]];
    let hive = || vec![vec!["hive"]];
    p.add(
        "PE",
        &s.join("pe/genuine-win11-22621/smss.exe"),
        Layout::Pe,
        pe(),
    );
    p.add("PE", &s.join("pe/signify__pciide.sys"), Layout::Pe, pe());
    p.add(
        "registry hive",
        &s.join("hives/regipy__SYSTEM"),
        Layout::Regf,
        hive(),
    );
    p.add(
        "Amcache",
        &s.join("hives/Velocidex__velociraptor__Amcache.hve"),
        Layout::Regf,
        hive(),
    );
    // The transaction log, replayed with its (unmutated) hive beside it.
    let logs = work.join("log");
    std::fs::create_dir_all(&logs).unwrap();
    for n in ["regipy__SYSTEM_B", "regipy__SYSTEM_B.LOG2"] {
        std::fs::copy(s.join("hives").join(n), logs.join(n)).unwrap();
    }
    p.add(
        "registry log",
        &s.join("hives/regipy__SYSTEM_B.LOG1"),
        Layout::RegLog,
        hive(),
    );
    let last = p.samples.last_mut().unwrap();
    last.beside = ["regipy__SYSTEM_B", "regipy__SYSTEM_B.LOG2"]
        .iter()
        .map(|n| (n.to_string(), logs.join(n)))
        .collect();
    last.target = "regipy__SYSTEM_B".into();
    p.add(
        "EVTX",
        &s.join("evtx/sbousseaden__EVTX-ATTACK-SAMPLES__sysmon_1_smss_child_proc_bootexecute_setupexecute.evtx"),
        Layout::Evtx,
        Vec::new(),
    );
    for (fmt, f) in [
        ("prefetch v17", "XPPro--CMD.EXE-087B4001.pf"),
        ("prefetch v23", "Win7--CMD.EXE-4A81B364.pf"),
        ("prefetch v26", "Win8x--CMD.EXE-4A81B364.pf"),
        ("prefetch v30 (MAM)", "Win10--CMD.EXE-D269B812.pf"),
    ] {
        let path = s.join(format!("prefetch/EricZimmerman__Prefetch__{f}"));
        p.add(fmt, &path, Layout::Prefetch, Vec::new());
    }
    memory_samples(shared, work, &mut p);
    disk_samples(&s, work, &mut p)?;
    Some(p)
}

fn memory_samples(shared: &Path, work: &Path, p: &mut Plan) {
    use triage_memgen::{write_image, Format, Scenario};
    let mut sc = Scenario::clean_boot(19041);
    sc.memory_size = 64 << 20;
    sc.seed = 14;
    let isf = triage_memgen::resolve_isf(&sc, &shared.join("symbols")).expect("ISF 19041");
    let mem = || vec![vec!["mem", "ps"]];
    let raw = work.join("mem.raw");
    let truth = write_image(&sc, &isf, &raw, Format::Raw).expect("memgen raw");
    // The page tables and the first processes' EPROCESS blocks, 8 bytes at a time.
    let mut offs: Vec<u64> = (0..512).map(|i| truth.dtb + 8 * i).collect();
    for pr in truth.processes.iter().take(6) {
        offs.extend((0..0x120).map(|k| pr.eprocess_pa + 8 * k));
    }
    offs.extend((0..0x80).map(|k| truth.kernel_base_pa + 8 * k));
    p.add("memory: raw", &raw, Layout::MemRaw(offs), mem());
    for (fmt, format, layout, name) in [
        (
            "memory: crash dump",
            Format::CrashDump64,
            Layout::CrashDump,
            "mem.dmp",
        ),
        ("memory: ELF core", Format::ElfCore, Layout::Elf, "mem.elf"),
    ] {
        let path = work.join(name);
        write_image(&sc, &isf, &path, format).expect("memgen");
        p.add(fmt, &path, layout, mem());
    }
    // LiME, from the raw image: the ranges memgen's other containers keep.
    let bytes = std::fs::read(&raw).unwrap();
    let mut lime = Vec::with_capacity(bytes.len());
    for (start, end) in [(0u64, 0xA0000u64), (0x100000, bytes.len() as u64)] {
        lime.extend_from_slice(b"EMiL");
        lime.extend_from_slice(&1u32.to_le_bytes());
        lime.extend_from_slice(&start.to_le_bytes());
        lime.extend_from_slice(&(end - 1).to_le_bytes());
        lime.extend_from_slice(&[0u8; 8]);
        lime.extend_from_slice(&bytes[start as usize..end as usize]);
    }
    let lime_path = work.join("mem.lime");
    std::fs::write(&lime_path, lime).unwrap();
    p.add("memory: LiME", &lime_path, Layout::Lime, mem());
    // VMware: the raw image as guest.vmem, and a vmss with its region table (the
    // mutated file), as VMware writes for a suspended guest.
    let vmem = work.join("guest.vmem");
    std::fs::hard_link(&raw, &vmem).unwrap();
    let pages = bytes.len() as u32 / 4096;
    let vmss_path = work.join("guest.vmss");
    std::fs::write(
        &vmss_path,
        vmss(&[(0, 0, 0xA0), (0x100, 0x100, pages - 0x100)]),
    )
    .unwrap();
    p.add("memory: VMware vmem/vmss", &vmss_path, Layout::Vmss, mem());
    let last = p.samples.last_mut().unwrap();
    last.beside = vec![("guest.vmem".into(), vmem)];
    last.target = "guest.vmem".into();
}

/// A VMware `.vmss` with a `memory` group of regions (guest PPN, vmem page, pages).
fn vmss(regions: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xbed2_bed2u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    let group_at = v.len();
    v.resize(group_at + 80, 0);
    v[group_at..group_at + 6].copy_from_slice(b"memory");
    let tags_at = v.len() as u64;
    v[group_at + 64..group_at + 72].copy_from_slice(&tags_at.to_le_bytes());
    let mut tag = |name: &str, index: Option<u32>, val: u32| {
        v.push(4 | if index.is_some() { 0x40 } else { 0 });
        v.push(name.len() as u8);
        v.extend_from_slice(name.as_bytes());
        if let Some(i) = index {
            v.extend_from_slice(&i.to_le_bytes());
        }
        v.extend_from_slice(&val.to_le_bytes());
    };
    tag("regionsCount", None, regions.len() as u32);
    for (i, (ppn, page, size)) in regions.iter().enumerate() {
        tag("regionPPN", Some(i as u32), *ppn);
        tag("regionPageNum", Some(i as u32), *page);
        tag("regionSize", Some(i as u32), *size);
    }
    v.extend_from_slice(&[0, 0]);
    v
}

fn disk_samples(s: &Path, work: &Path, p: &mut Plan) -> Option<()> {
    let d = s.join("disk");
    p.add(
        "disk: raw (MBR)",
        &d.join("tsk_volume_system.raw"),
        Layout::Mbr,
        disk_ls(),
    );
    // Split raw: three parts; the first (with the MBR) is mutated.
    let whole = std::fs::read(d.join("tsk_volume_system.raw")).unwrap();
    let split = work.join("split");
    std::fs::create_dir_all(&split).unwrap();
    let part = whole.len().div_ceil(3);
    for (i, c) in whole.chunks(part).enumerate() {
        std::fs::write(split.join(format!("disk.{:03}", i + 1)), c).unwrap();
    }
    p.add(
        "disk: split raw",
        &split.join("disk.001"),
        Layout::Mbr,
        disk_ls(),
    );
    p.samples.last_mut().unwrap().beside = ["disk.002", "disk.003"]
        .iter()
        .map(|n| (n.to_string(), split.join(n)))
        .collect();
    p.add(
        "disk: E01",
        &d.join("Velocidex__velociraptor__test.ntfs.dd.E01"),
        Layout::Ewf,
        disk_ls(),
    );
    p.add(
        "disk: VMDK sparse",
        &d.join("image.vmdk"),
        Layout::Vmdk,
        disk_ls(),
    );
    let undel = work.join("7-ntfs-undel.dd");
    unzip_one(
        &d.join("sleuthkit__sleuthkit_test_data__7-undel-ntfs.zip"),
        "7-undel-ntfs/7-ntfs-undel.dd",
        &undel,
    )?;
    let stream = work.join("undel-stream.vmdk");
    qemu_convert(
        &undel,
        &["-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized"],
        &stream,
    )?;
    p.add(
        "disk: VMDK stream-optimised",
        &stream,
        Layout::Vmdk,
        disk_ls(),
    );
    p.add("disk: VHD", &d.join("image.vhd"), Layout::Vhd, disk_ls());
    let vhdx = work.join("dynamic.vhdx");
    gunzip(
        &d.join("fox-it__dissect.hypervisor__dynamic.vhdx.gz"),
        &vhdx,
    )?;
    p.add("disk: VHDX", &vhdx, Layout::Vhdx, disk_ls());
    p.add(
        "disk: qcow2",
        &d.join("vsstest.qcow2"),
        Layout::Qcow2,
        disk_ls(),
    );
    let ntfs = work.join("ntfs.bin");
    gunzip(&s.join("ntfs/fox-it__dissect.ntfs__ntfs.bin.gz"), &ntfs)?;
    p.add("NTFS volume", &ntfs, Layout::Ntfs(0), disk_ls());
    // VSS: the qcow2 sample as a 1 GiB sparse raw disk, mutated sparse.
    let vss = work.join("vsstest.raw");
    qemu_convert(&d.join("vsstest.qcow2"), &["-O", "raw"], &vss)?;
    let img = sparse_image(&vss)?;
    let base = first_partition(&img);
    p.samples.push(Sample {
        format: "VSS (NTFS with a shadow copy)",
        name: "vsstest.raw".into(),
        image: img,
        layout: Layout::Vss(base),
        file: "vsstest.raw".into(),
        beside: Vec::new(),
        target: "vsstest.raw".into(),
        own: disk_ls(),
    });
    Some(())
}

/// One run of one command on one mutant.
struct Outcome {
    format: &'static str,
    sample: String,
    mutant: usize,
    recipe: String,
    command: String,
    run: Run,
}

fn commands(s: &Sample, target: &str) -> Vec<Vec<String>> {
    let mut all = vec![vec!["scan".to_string()]];
    all.extend(
        s.own
            .iter()
            .map(|c| c.iter().map(|x| x.to_string()).collect()),
    );
    for c in &mut all {
        c.extend(["-q", "-j", "2", "--format", "csv", target].map(String::from));
    }
    all
}

fn run_mutant(s: &Sample, m: usize, dir: &Path) -> Vec<Outcome> {
    let (img, recipe) = mutate(s, m);
    std::fs::create_dir_all(dir).unwrap();
    img.save(&dir.join(&s.file));
    drop(img);
    for (name, from) in &s.beside {
        let to = dir.join(name);
        if std::fs::hard_link(from, &to).is_err() {
            std::fs::copy(from, &to).unwrap();
        }
    }
    let target = dir.join(&s.target);
    let out = commands(s, &target.to_string_lossy())
        .into_iter()
        .map(|c| {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            let r = run(&args, dir);
            Outcome {
                format: s.format,
                sample: s.name.clone(),
                mutant: m,
                recipe: recipe.clone(),
                command: c[..c.len() - 1].join(" "),
                run: r,
            }
        })
        .collect::<Vec<_>>();
    if out.iter().any(|o| o.run.violation().is_some()) {
        if let Some(keep) = std::env::var_os("SMSS_HOSTILE_KEEP") {
            let k = PathBuf::from(keep).join(format!("{}-{m}", s.name));
            let _ = std::fs::remove_dir_all(&k);
            let _ = std::fs::rename(dir, &k).or_else(|_| {
                std::fs::create_dir_all(&k)?;
                std::fs::copy(dir.join(&s.file), k.join(&s.file)).map(|_| ())
            });
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    out
}

#[derive(Default)]
struct Row {
    samples: std::collections::BTreeSet<String>,
    mutants: usize,
    runs: usize,
    exits: BTreeMap<String, usize>,
    peak_anon_kb: u64,
    hwm_kb: u64,
    slowest: Duration,
    slowest_what: String,
}

fn report(outcomes: &[Outcome], wall: Duration) -> String {
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for o in outcomes {
        if !order.contains(&o.format) {
            order.push(o.format);
        }
        let r = rows.entry(o.format).or_default();
        r.samples.insert(o.sample.clone());
        if o.command == "scan -q -j 2 --format csv" {
            r.mutants += 1;
        }
        r.runs += 1;
        let code = match (o.run.violation(), o.run.code) {
            (Some(_), _) => "fail".to_string(),
            (None, Some(c)) => c.to_string(),
            (None, None) => "signal".into(),
        };
        *r.exits.entry(code).or_default() += 1;
        r.peak_anon_kb = r.peak_anon_kb.max(o.run.peak_anon_kb);
        r.hwm_kb = r.hwm_kb.max(o.run.hwm_kb);
        if o.run.elapsed > r.slowest {
            r.slowest = o.run.elapsed;
            let cmd = o.command.split(" -q").next().unwrap_or("");
            r.slowest_what = format!(
                "{cmd} #{} ({})",
                o.mutant,
                o.recipe.split(' ').next().unwrap_or("")
            );
        }
    }
    let mut t = String::new();
    t.push_str("| format | samples | mutants | runs | exit 0 | exit 1 | exit 3 | failed | peak RssAnon | peak VmHWM | slowest run |\n");
    t.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for f in order {
        let r = &rows[f];
        let n = |k: &str| r.exits.get(k).copied().unwrap_or(0);
        t.push_str(&format!(
            "| {f} | {} | {} | {} | {} | {} | {} | {} | {:.1} MiB | {:.1} MiB | {} ms, {} |\n",
            r.samples.len(),
            r.mutants,
            r.runs,
            n("0"),
            n("1"),
            n("3"),
            n("fail") + n("signal"),
            r.peak_anon_kb as f64 / 1024.0,
            r.hwm_kb as f64 / 1024.0,
            r.slowest.as_millis(),
            r.slowest_what
        ));
    }
    let total_peak = outcomes
        .iter()
        .map(|o| o.run.peak_anon_kb)
        .max()
        .unwrap_or(0);
    t.push_str(&format!(
        "\n{} runs of {} mutants in {:.0} s wall (2 at a time); peak RssAnon of any run {:.1} MiB.\n",
        outcomes.len(),
        rows.values().map(|r| r.mutants).sum::<usize>(),
        wall.as_secs_f64(),
        total_peak as f64 / 1024.0
    ));
    t
}

#[test]
fn hostile_campaign_through_the_binary() {
    let Some(shared) = triage_testkit::shared_dir() else {
        return;
    };
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let Some(mut plan) = plan(&shared, work.path()) else {
        return;
    };
    if let Ok(only) = std::env::var("SMSS_HOSTILE_ONLY") {
        plan.samples
            .retain(|s| s.name.contains(&only) || s.format.contains(&only));
    }
    eprintln!(
        "{} samples prepared in {:.1} s",
        plan.samples.len(),
        started.elapsed().as_secs_f64()
    );

    // Each unmutated sample is recognised and read: the campaign mutates real inputs.
    for s in &plan.samples {
        let dir = work.path().join("orig");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        s.image.save(&dir.join(&s.file));
        for (name, from) in &s.beside {
            std::fs::hard_link(from, dir.join(name)).unwrap();
        }
        let target = dir.join(&s.target);
        let r = run(
            &["scan", "-q", "--format", "csv", &target.to_string_lossy()],
            &dir,
        );
        assert_eq!(r.violation(), None, "{}: unmutated sample", s.name);
        let (_, rows) = csv_rows(&r.stdout);
        let row = rows
            .iter()
            .find(|row| row.get("input").is_some_and(|i| i.ends_with(&s.target)))
            .unwrap_or_else(|| panic!("{}: no inputs row in {}", s.name, r.stdout));
        assert!(
            matches!(row["status"].as_str(), "analysed" | "partial"),
            "{}: the unmutated sample is not analysed: {row:?}",
            s.name
        );
    }

    let jobs: Vec<(usize, usize)> = (0..plan.samples.len())
        .flat_map(|i| (0..mutants()).map(move |m| (i, m)))
        .collect();
    let next = Mutex::new(jobs.into_iter());
    let outcomes = Mutex::new(Vec::new());
    let wall = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..2 {
            let (next, outcomes, plan, work) = (&next, &outcomes, &plan, work.path());
            scope.spawn(move || loop {
                let Some((i, m)) = next.lock().unwrap().next() else {
                    break;
                };
                let dir = work.join(format!("w{w}"));
                let out = run_mutant(&plan.samples[i], m, &dir);
                outcomes.lock().unwrap().extend(out);
            });
        }
    });
    let wall = wall.elapsed();
    let outcomes = outcomes.into_inner().unwrap();
    let table = report(&outcomes, wall);
    println!("{table}");
    if let Some(path) = std::env::var_os("SMSS_HOSTILE_REPORT") {
        std::fs::write(path, &table).unwrap();
    }
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            o.run.violation().map(|v| {
                format!(
                    "{} mutant {} ({}): `{}`: {v}",
                    o.sample, o.mutant, o.recipe, o.command
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} runs broke the rules:\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n")
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.command.starts_with("scan"))
            .count(),
        plan.samples.len() * mutants()
    );
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(String::from).collect(),
        Err(_) => return (Vec::new(), Vec::new()),
    };
    let rows = rdr
        .records()
        .filter_map(|r| r.ok())
        .map(|r| {
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}

/// The judge itself: a panic line, the batch driver's caught-panic text, an exit code
/// outside 0/1/3, a signal and an RssAnon over 512 MB are each a violation; a clean
/// exit 3 is not.
#[test]
fn the_judge_sees_panics_bad_exits_signals_and_memory() {
    let sh = |script: &str| hostile_support::run_cmd(Command::new("sh").args(["-c", script]));
    let panic_line = sh("echo \"thread 'main' panicked at src/x.rs:1:1:\" >&2");
    assert!(panic_line.violation().unwrap().starts_with("panic"));
    let caught = sh("echo 'x.bin,error,internal error (please report): boom'; exit 3");
    assert!(caught.violation().unwrap().starts_with("panic"));
    assert!(sh("exit 101")
        .violation()
        .unwrap()
        .starts_with("exit code 101"));
    assert!(sh("kill -9 $$").violation().unwrap().starts_with("killed"));
    assert_eq!(
        sh("echo error: x.bin: bad header >&2; exit 3").violation(),
        None
    );
    let Some(py) = triage_testkit::tool("python3") else {
        return;
    };
    let hog = hostile_support::run_cmd(
        Command::new(py).args(["-c", "import time; b = bytearray(640 << 20); time.sleep(5)"]),
    );
    assert!(hog.over_memory, "{hog:?}");
    assert!(hog.violation().unwrap().contains("RssAnon"));
    assert!(
        hog.elapsed.as_secs() < 5,
        "killed when over, not at the end"
    );
}
