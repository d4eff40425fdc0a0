use clap::Parser;
use std::path::PathBuf;
use triage_memgen::{resolve_isf, write_image_paged, Format, Scenario};

/// Generate a Windows x64 memory image and its `<image>.truth.json`.
#[derive(Parser)]
#[command(name = "memgen")]
struct Args {
    /// Scenario JSON file, `clean` for a normal boot, or `masquerades` for one with smss fakes.
    #[arg(long, default_value = "clean")]
    scenario: String,
    /// Build number (overrides the scenario's).
    #[arg(long)]
    build: Option<u32>,
    /// Memory size, e.g. 256M, 1G (overrides the scenario's).
    #[arg(long)]
    size: Option<String>,
    #[arg(long)]
    seed: Option<u64>,
    /// Container: raw, crashdump, elf, hiberfil (plain LZXPRESS sets), hiberfil-huffman.
    #[arg(long, default_value = "raw")]
    format: String,
    /// Volatility-style symbol directory holding windows/ntkrnlmp.pdb/*.json.xz.
    #[arg(long, default_value = "../shared/symbols")]
    symbols: PathBuf,
    #[arg(short = 'o', long)]
    out: PathBuf,
    /// Share of memory mapped as kernel pool, 0.0–0.9 (benchmark images: 0.33).
    #[arg(long)]
    pool_fraction: Option<f64>,
    /// Add this many svchost.exe processes (benchmark images: enough for ~300 in all).
    #[arg(long, default_value_t = 0)]
    extra_processes: u32,
    /// Rewrite the kernel's PDB GUID and NtBuildNumber so that no layout table matches
    /// (readers must discover the layout); the truth file records the disguise.
    #[arg(long)]
    disguise: bool,
    /// Page the PEB and process parameters of this PID out (repeatable).
    #[arg(long, value_name = "PID")]
    page_out: Vec<u64>,
    /// Write pagefile.sys (paging file 0, with the paged-out pages) here.
    #[arg(long, value_name = "FILE")]
    pagefile: Option<PathBuf>,
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'G' | 'g' => (&s[..s.len() - 1], 1u64 << 30),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'K' | 'k' => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Clones of the first svchost.exe with fresh PIDs, started a second apart after it.
fn add_services(sc: &mut Scenario, n: u32) {
    let Some(template) = sc
        .processes
        .iter()
        .find(|p| p.name == "svchost.exe")
        .cloned()
    else {
        return;
    };
    let top = sc.processes.iter().map(|p| p.pid).max().unwrap_or(0);
    for i in 0..u64::from(n) {
        let mut p = template.clone();
        p.pid = top + 4 * (i + 1);
        p.create_time = template.create_time + (i + 1) * triage_memgen::TICKS;
        sc.processes.push(p);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = Args::parse();
    let mut sc = if a.scenario == "clean" {
        Scenario::clean_boot(a.build.unwrap_or(19041))
    } else if a.scenario == "masquerades" {
        Scenario::smss_masquerades(a.build.unwrap_or(19041))
    } else {
        serde_json::from_slice(&std::fs::read(&a.scenario)?)?
    };
    if let Some(b) = a.build {
        sc.build = Some(b);
    }
    if let Some(s) = &a.size {
        sc.memory_size = parse_size(s).ok_or("bad --size")?;
    }
    if let Some(seed) = a.seed {
        sc.seed = seed;
    }
    if let Some(f) = a.pool_fraction {
        sc.kernel_pool_fraction = f;
    }
    add_services(&mut sc, a.extra_processes);
    for pid in &a.page_out {
        let p = sc
            .processes
            .iter_mut()
            .find(|p| p.pid == *pid)
            .ok_or_else(|| format!("--page-out: no process {pid}"))?;
        p.peb_paged_out = true;
        p.params_paged_out = true;
    }
    let format = match a.format.as_str() {
        "raw" => Format::Raw,
        "crashdump" | "dmp" => Format::CrashDump64,
        "elf" => Format::ElfCore,
        "hiberfil" | "hiberfil-xpress" => Format::Hiberfil,
        "hiberfil-huffman" => Format::HiberfilHuffman,
        other => return Err(format!("unknown format {other}").into()),
    };
    let t0 = std::time::Instant::now();
    let isf = resolve_isf(&sc, &a.symbols)?;
    eprintln!(
        "loaded {} in {:.2} s",
        isf.source_name,
        t0.elapsed().as_secs_f64()
    );
    let start = std::time::Instant::now();
    let truth = if a.disguise {
        triage_memgen::write_disguised_image(&sc, &isf, &a.out, format)?
    } else {
        write_image_paged(&sc, &isf, &a.out, format, a.pagefile.as_deref())?
    };
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} ({} MiB, {:.1} MiB/s), build {}, kernel {:#x}, DTB {:#x}, {} processes",
        a.out.display(),
        sc.memory_size >> 20,
        (sc.memory_size >> 20) as f64 / secs,
        truth.build,
        truth.kernel_base,
        truth.dtb,
        truth.processes.len()
    );
    Ok(())
}
