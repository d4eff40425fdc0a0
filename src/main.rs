//! The `smss-triage` binary: parse the command line, run the batch, print, exit.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use smss_triage::analyse::{Options, Scope};
use smss_triage::cli::{Cli, Command, Common, DiskCommand, MemCommand, MemOptions};
use smss_triage::commands::{batch, View, EXIT_INPUT_ERROR};
use smss_triage::model::RecordKind;
use smss_triage::output::OutputFormat;
use smss_triage::rules;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "smss-triage: error: {}",
                smss_triage::sanitise::terminal(&format!("{e:#}"))
            );
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Rules { format } => {
            print_rules(format)?;
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            out.write_all(&completions(shell))?;
            out.flush()?;
            Ok(0)
        }
        Command::Man => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_man(&mut out)?;
            out.flush()?;
            Ok(0)
        }
        Command::Merge { dirs, out, quiet } => {
            let written = smss_triage::batch::merge::merge(&dirs, &out)?;
            if !quiet {
                for p in written {
                    eprintln!("wrote {}", p.display());
                }
            }
            Ok(0)
        }
        Command::Scan {
            paths,
            common,
            mem,
            host,
        } => batch(
            &paths,
            Scope::All,
            &common,
            Options {
                triage: true,
                host,
                ..mem_options(&mem, &common)
            },
            View {
                main: RecordKind::Inputs,
                with_findings: true,
            },
        ),
        Command::Pe { paths, common } => batch(
            &paths,
            Scope::Pe,
            &common,
            base_options(&common),
            View {
                main: RecordKind::Files,
                with_findings: true,
            },
        ),
        Command::Hive {
            paths,
            dump,
            common,
        } => {
            let mut opts = base_options(&common);
            opts.dump_key = dump;
            batch(
                &paths,
                Scope::Hive,
                &common,
                opts,
                View {
                    main: RecordKind::Registry,
                    with_findings: true,
                },
            )
        }
        Command::Disk { command } => match command {
            DiskCommand::Info { paths, common } => batch(
                &paths,
                Scope::Disk,
                &common,
                base_options(&common),
                View {
                    main: RecordKind::Volumes,
                    with_findings: false,
                },
            ),
            DiskCommand::Ls {
                paths,
                partition,
                common,
            } => {
                setup_threads(common.threads);
                smss_triage::commands::disk::ls_command(&paths, partition, &common)
            }
            DiskCommand::Cat {
                image,
                path,
                partition,
                entry,
                stream,
            } => smss_triage::commands::disk::cat_command(
                &image,
                path.as_deref(),
                partition,
                entry,
                stream.as_deref(),
            ),
        },
        Command::Mem { command } => match command {
            MemCommand::Info { paths, common, mem } => {
                let opts = mem_options(&mem, &common);
                smss_triage::commands::mem::info_command(&paths, &common, &opts)
            }
            MemCommand::Ps {
                paths,
                tree,
                common,
                mem,
            } => {
                let opts = mem_options(&mem, &common);
                if tree {
                    return smss_triage::commands::mem::tree_command(&paths, &common, &opts);
                }
                batch(
                    &paths,
                    Scope::Memory,
                    &common,
                    opts,
                    View {
                        main: RecordKind::Processes,
                        with_findings: false,
                    },
                )
            }
            MemCommand::Smss { paths, common, mem } => {
                let opts = mem_options(&mem, &common);
                smss_triage::commands::mem::smss_command(&paths, &common, &opts)
            }
        },
    }
}

/// The completion script for `shell`. clap_complete's bash generator mangles a `-` in
/// the binary name differently in its dispatch and in its case labels (4.6: nothing
/// completes past the first word), so bash is generated for `smss_triage` and only the
/// registered command name is put back.
fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    if shell != clap_complete::Shell::Bash {
        clap_complete::generate(shell, &mut cmd, "smss-triage", &mut buf);
        return buf;
    }
    clap_complete::generate(shell, &mut cmd, "smss_triage", &mut buf);
    let text = String::from_utf8_lossy(&buf);
    let mut fixed = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.trim_end().strip_suffix(" smss_triage") {
            Some(head) if line.trim_start().starts_with("complete ") => {
                fixed.push_str(head);
                fixed.push_str(" smss-triage\n");
            }
            _ => fixed.push_str(line),
        }
    }
    fixed.into_bytes()
}

/// The manual: the main page, then one page per subcommand (`smss-triage-scan`,
/// `smss-triage-mem-ps`, …) with its options, in one roff stream.
fn write_man<W: Write>(out: &mut W) -> Result<()> {
    let mut root = <Cli as clap::CommandFactory>::command();
    root.build();
    clap_mangen::Man::new(root.clone()).render(out)?;
    // Breadth-first over the subcommand tree (two levels deep: `mem ps`, `disk ls`).
    let mut todo: Vec<(String, clap::Command)> = root
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| (format!("smss-triage-{}", c.get_name()), c.clone()))
        .collect();
    let mut i = 0;
    while let Some((name, cmd)) = todo.get(i).cloned() {
        i += 1;
        for c in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
            todo.push((format!("{name}-{}", c.get_name()), c.clone()));
        }
        // clap names are `&'static str` without its `string` feature; this one-shot
        // command prints a few dozen pages and exits.
        let title: &'static str = name.clone().leak();
        let page = cmd.name(title).bin_name(name.replace('-', " "));
        clap_mangen::Man::new(page).render(out)?;
    }
    Ok(())
}

fn base_options(common: &Common) -> Options {
    setup_threads(common.threads);
    Options {
        hash: common.hash,
        max_seconds_per_input: common.max_seconds_per_input,
        ..Default::default()
    }
}

fn mem_options(mem: &MemOptions, common: &Common) -> Options {
    let mut o = base_options(common);
    o.symbols = mem.symbols.clone();
    o.no_scan = mem.no_scan;
    o.pagefile = mem.pagefile.clone();
    o
}

fn setup_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        // Fails only when the pool was already built: then the first setting stands.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
}

fn print_rules(format: OutputFormat) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let rules = rules::catalogue();
    match format {
        OutputFormat::Table => {
            for r in &rules {
                writeln!(
                    out,
                    "{:<24} {:<9} {:<10} {:<8} {}",
                    r.id,
                    r.severity.as_str(),
                    r.attack,
                    r.applies_to,
                    r.summary
                )?;
            }
        }
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["id", "severity", "attack", "applies_to", "summary"])?;
            for r in &rules {
                w.write_record([r.id, r.severity.as_str(), r.attack, r.applies_to, r.summary])?;
            }
            w.flush()?;
        }
        OutputFormat::Jsonl => {
            for r in &rules {
                let v = serde_json::json!({"id": r.id, "severity": r.severity, "attack": r.attack, "applies_to": r.applies_to, "summary": r.summary});
                writeln!(out, "{v}")?;
            }
        }
    }
    Ok(())
}
