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
                smss_triage::analyse::disk_commands::ls_command(&paths, partition, &common)
            }
            DiskCommand::Cat {
                image,
                path,
                partition,
                entry,
                stream,
            } => smss_triage::analyse::disk_commands::cat_command(
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
                smss_triage::analyse::mem::info_command(&paths, &common, &opts)
            }
            MemCommand::Ps {
                paths,
                tree,
                common,
                mem,
            } => {
                let opts = mem_options(&mem, &common);
                if tree {
                    return smss_triage::analyse::mem::tree_command(&paths, &common, &opts);
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
                smss_triage::analyse::mem::smss_command(&paths, &common, &opts)
            }
        },
    }
}

fn base_options(common: &Common) -> Options {
    setup_threads(common.threads);
    Options {
        hash: common.hash,
        ..Default::default()
    }
}

fn mem_options(mem: &MemOptions, common: &Common) -> Options {
    let mut o = base_options(common);
    o.symbols = mem.symbols.clone();
    o.no_scan = mem.no_scan;
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
