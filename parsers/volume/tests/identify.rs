//! File-system identification on volumes made by the real mkfs tools, bare and inside a
//! partition table, and on the real samples.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use triage_source::{read_exact_at, ByteSource, FileSource, LocalSiblings, Source};
use triage_volume::{identify, read_table, FileSystem, Scheme};

fn src(p: &Path) -> Source {
    Arc::new(FileSource::open(p).unwrap())
}

/// A volume of `mb` MiB made by `tool args… file` (None when the tool is missing).
fn make(dir: &Path, name: &str, mb: u64, tool: &str, args: &[&str]) -> Option<PathBuf> {
    let t = triage_testkit::tool(tool)?;
    let p = dir.join(name);
    File::create(&p).unwrap().set_len(mb << 20).unwrap();
    let out = Command::new(t).args(args).arg(&p).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(p)
}

fn cases() -> Vec<(
    &'static str,
    u64,
    &'static str,
    Vec<&'static str>,
    FileSystem,
)> {
    vec![
        (
            "ntfs",
            16,
            "mkntfs",
            vec!["-F", "-Q", "-T", "-q"],
            FileSystem::Ntfs,
        ),
        ("fat12", 4, "mkfs.vfat", vec!["-F", "12"], FileSystem::Fat12),
        (
            "fat16",
            32,
            "mkfs.vfat",
            vec!["-F", "16"],
            FileSystem::Fat16,
        ),
        (
            "fat32",
            64,
            "mkfs.vfat",
            vec!["-F", "32"],
            FileSystem::Fat32,
        ),
        ("exfat", 16, "mkfs.exfat", vec![], FileSystem::ExFat),
        (
            "ext2",
            16,
            "mke2fs",
            vec!["-q", "-F", "-t", "ext2"],
            FileSystem::Ext2,
        ),
        (
            "ext3",
            16,
            "mke2fs",
            vec!["-q", "-F", "-t", "ext3"],
            FileSystem::Ext3,
        ),
        (
            "ext4",
            16,
            "mke2fs",
            vec!["-q", "-F", "-t", "ext4"],
            FileSystem::Ext4,
        ),
        ("swap", 4, "mkswap", vec![], FileSystem::LinuxSwap),
    ]
}

#[test]
fn bare_volumes_are_identified_and_have_no_table() {
    let dir = tempfile::tempdir().unwrap();
    for (name, mb, tool, args, want) in cases() {
        let Some(p) = make(dir.path(), name, mb, tool, &args) else {
            continue;
        };
        let s = src(&p);
        assert_eq!(identify(&*s, 0), want, "{name}");
        let t = read_table(&*s).unwrap();
        // Boot sectors of NTFS and FAT end in 0x55AA: still no MBR.
        assert_eq!(t.scheme, Scheme::None, "{name}: {t:?}");
        assert_eq!(t.partitions.len(), 1, "{name}");
        assert_eq!(
            (t.partitions[0].offset, t.partitions[0].size),
            (0, mb << 20),
            "{name}"
        );
        assert_eq!(t.partitions[0].fs, want, "{name}");
    }
    let z = dir.path().join("zeros");
    File::create(&z).unwrap().set_len(1 << 20).unwrap();
    assert_eq!(identify(&*src(&z), 0), FileSystem::Empty);
}

#[test]
fn volumes_inside_an_mbr_disk_are_identified_per_partition() {
    let Some(sfdisk) = triage_testkit::tool("sfdisk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut vols = Vec::new();
    for (name, mb, tool, args, want) in cases() {
        if ["ntfs", "fat16", "ext4", "exfat"].contains(&name) {
            if let Some(p) = make(dir.path(), name, mb, tool, &args) {
                vols.push((p, want));
            }
        }
    }
    let disk = dir.path().join("disk.img");
    File::create(&disk).unwrap().set_len(128 << 20).unwrap();
    // 1 MiB-aligned partitions, each 32 MiB, the last two logical.
    let script = "label: dos\nstart=2048, size=65536, type=7\nstart=67584, size=65536, type=6\n\
        start=133120, size=128000, type=5\ndisk.img5 : size=65536, type=83\ndisk.img6 : size=40000, type=7\n";
    let mut ch = Command::new(sfdisk)
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(&disk)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut ch.stdin.take().unwrap(), script.as_bytes()).unwrap();
    assert!(ch.wait().unwrap().success());
    let t0 = read_table(&*src(&disk)).unwrap();
    let targets: Vec<u64> = t0
        .partitions
        .iter()
        .filter(|p| !p.is_extended())
        .map(|p| p.offset)
        .collect();
    assert_eq!(targets.len(), 4);
    // Copy each volume's first 1 MiB (boot sector, superblock) into its partition.
    let f = std::fs::OpenOptions::new().write(true).open(&disk).unwrap();
    for ((v, _), off) in vols.iter().zip(&targets) {
        let head = std::fs::read(v).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &head[..1 << 20], *off).unwrap();
    }
    drop(f);
    let t = read_table(&*src(&disk)).unwrap();
    assert_eq!(t.scheme, Scheme::Mbr);
    let got: Vec<FileSystem> = t
        .partitions
        .iter()
        .filter(|p| !p.is_extended())
        .map(|p| p.fs)
        .collect();
    let want: Vec<FileSystem> = vols.iter().map(|(_, w)| *w).collect();
    assert_eq!(&got[..want.len()], &want[..]);
}

/// The real samples: `fsstat` says NTFS, NTFS and Ext2, and `mmls` finds no table.
#[test]
fn real_samples_are_bare_volumes() {
    let Some(dir) = triage_testkit::sample_dir("disk") else {
        return;
    };
    for (name, want) in [
        (
            "Velocidex__velociraptor__test.ntfs.dd.E01",
            FileSystem::Ntfs,
        ),
        (
            "Velocidex__velociraptor__partition_image.E01",
            FileSystem::Ntfs,
        ),
        ("image.E01", FileSystem::Ext2),
    ] {
        let p = dir.join(name);
        let c = triage_container::ewf::open(src(&p), &LocalSiblings::of(&p)).unwrap();
        if let Some(fsstat) = triage_testkit::tool("fsstat") {
            let out = Command::new(fsstat).arg(&p).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let ty = text
                .lines()
                .find_map(|l| l.strip_prefix("File System Type: "))
                .unwrap();
            assert!(
                ty.eq_ignore_ascii_case(want.name()),
                "{name}: fsstat says {ty}"
            );
        }
        let t = read_table(&*c.disk).unwrap();
        assert_eq!(t.scheme, Scheme::None, "{name}");
        assert_eq!(t.partitions[0].fs, want, "{name}");
        assert_eq!(t.partitions[0].size, c.disk.len());
        let mut b = [0u8; 8];
        read_exact_at(&*c.disk, 3, &mut b).unwrap();
    }
}

/// An MBR on a 4096-byte-sector disk: its LBAs count 4 KiB sectors. Only that reading
/// finds the FAT volume, so the table is read that way; `mmls -b 4096` agrees.
#[test]
fn mbr_with_4096_byte_sectors() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fat) = make(dir.path(), "fat16", 32, "mkfs.vfat", &["-F", "16"]) else {
        return;
    };
    let mut d = vec![0u8; 16 << 20];
    let e = 446;
    d[e + 4] = 0x06;
    d[e + 8..e + 12].copy_from_slice(&256u32.to_le_bytes());
    d[e + 12..e + 16].copy_from_slice(&2048u32.to_le_bytes());
    d[510] = 0x55;
    d[511] = 0xAA;
    let head = std::fs::read(&fat).unwrap();
    d[1 << 20..2 << 20].copy_from_slice(&head[..1 << 20]);
    let img = dir.path().join("4kmbr.img");
    std::fs::write(&img, &d).unwrap();
    let t = read_table(&*src(&img)).unwrap();
    assert_eq!((t.scheme, t.sector_size), (Scheme::Mbr, 4096));
    assert_eq!(t.partitions.len(), 1);
    let p = &t.partitions[0];
    assert_eq!(
        (p.offset, p.size, p.fs),
        (1 << 20, 2048 * 4096, FileSystem::Fat16)
    );
    let Some(mmls) = triage_testkit::tool("mmls") else {
        return;
    };
    let out = Command::new(mmls)
        .args(["-b", "4096", "-a"])
        .arg(&img)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let row = text
        .lines()
        .find(|l| l.contains("000:000"))
        .expect("mmls row");
    let f: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        (f[2].parse::<u64>().unwrap(), f[4].parse::<u64>().unwrap()),
        (256, 2048)
    );
}
