//! `diskgen`: the library's builders as subcommands, for benchmarks and README recipes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use triage_diskgen::{build_many_files, build_windows_like, sample_e01, wrap, Format, Options};

const USAGE: &str = "usage:
  diskgen windows-like OUT_DIR [--shared DIR] [--project-only] [--no-memory]
  diskgen wrap RAW FORMAT OUT      FORMAT: e01 vmdk-sparse vmdk-stream vhd-dynamic vhd-fixed vhdx qcow2 qcow2-compressed
  diskgen many-files OUT_DIR [--files N] [--size BYTES] [--plant VOLUME_PATH]
  diskgen sample-e01 OUT.E01";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn parse_size(s: &str) -> Option<u64> {
    let (num, mul) = match s.chars().last()? {
        'G' | 'g' => (&s[..s.len() - 1], 1u64 << 30),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match real_main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("diskgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let samples = repo().join("samples");
    match args.first().map(String::as_str) {
        Some("windows-like") => {
            let out = Path::new(args.get(1).ok_or(USAGE)?);
            let mut opts = if args.iter().any(|a| a == "--project-only") {
                Options::project_only(&samples)
            } else {
                let shared = flag(args, "--shared")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| repo().join("../shared"));
                Options::with_shared(&samples, &shared)
            };
            if args.iter().any(|a| a == "--no-memory") {
                opts.memory = None;
            }
            let t = std::time::Instant::now();
            let built = build_windows_like(out, &opts)?;
            eprintln!("built in {:.2} s", t.elapsed().as_secs_f64());
            println!(
                "{}\tpartition offset {}",
                built.raw_disk.display(),
                built.partition_offset
            );
            for p in &built.planted {
                println!(
                    "{}\t{:?}\t{}\t{}",
                    p.path,
                    p.kind,
                    p.expect_rule.unwrap_or("-"),
                    p.sha256
                );
            }
        }
        Some("wrap") => {
            let (raw, fmt, out) = match args {
                [_, r, f, o, ..] => (r, f, o),
                _ => return Err(USAGE.into()),
            };
            let format = Format::from_name(fmt).ok_or(USAGE)?;
            println!(
                "{}",
                wrap(Path::new(raw), format, Path::new(out))?.display()
            );
        }
        Some("many-files") => {
            let out = Path::new(args.get(1).ok_or(USAGE)?);
            let files = flag(args, "--files").map_or(Ok(200_000), str::parse)?;
            let size = flag(args, "--size")
                .map_or(Some(4 << 30), parse_size)
                .ok_or(USAGE)?;
            let t = std::time::Instant::now();
            let disk = build_many_files(out, files, size, flag(args, "--plant"))?;
            eprintln!("built in {:.1} s", t.elapsed().as_secs_f64());
            println!("{}", disk.display());
        }
        Some("sample-e01") => {
            let out = Path::new(args.get(1).ok_or(USAGE)?);
            println!("{}", sample_e01(&samples, out)?.display());
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
