//! The `lab` command: parse, dispatch, print, exit.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{BenchFormat, Cli, Command, OutputFormat, RunFormat, one_line};
use crate::env::{Readiness, readiness};
use crate::i18n::{tr, trf};
use crate::registry::{LABS, find};
use crate::{doctor, explain, run};
use clap::{CommandFactory, FromArgMatches};
use lab_kit::i18n::Translator;

/// The whole of `lab`: what `main` calls.
pub fn main() -> ExitCode {
    // PID 1 of a `lab vm` guest (this file is its /init).
    if crate::vm::init::is_guest_init() {
        crate::vm::init::main();
    }
    // A lab re-executes this file as its probe helper (see lab_kit::exec).
    if let Some(code) = lab_kit::exec::helper_main() {
        return code;
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let choice = crate::i18n::choose(&args, |name| std::env::var(name).ok());
    crate::i18n::init(choice);
    let parsed = crate::i18n::localize(Cli::command())
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage(&one_line(&e)),
    };
    cli.color.apply();
    match cli.command {
        Command::List { format } => list(format),
        Command::Run {
            ids,
            format,
            timeout,
            quiet,
            verbose,
            step,
        } => {
            let mut labs = Vec::new();
            for id in &ids {
                match find(id) {
                    Some(l) if !labs.iter().any(|x: &&lab_kit::LabDecl| x.id == l.id) => labs.push(l),
                    Some(_) => {}
                    None => return usage(&trf("error: unknown lab '{id}' (see `lab list`)", &[id])),
                }
            }
            if labs.is_empty() {
                labs = LABS.to_vec();
            }
            let (environment, _) = crate::env::probe();
            if let Err(e) = lab_kit::sys::catch_interrupts() {
                eprintln!("warning: {e}");
            }
            let verbosity = match (quiet, verbose) {
                (true, _) => run::Verbosity::Quiet,
                (_, true) => run::Verbosity::Verbose,
                _ => run::Verbosity::Normal,
            };
            if step && format != RunFormat::Human {
                return usage(tr(
                    "error: --step pauses a human run; it cannot be combined with --format json, junit or tap",
                ));
            }
            if format != RunFormat::Human {
                lab_kit::i18n::set(choice.machine());
            }
            let mut pacer = run::Pacer::default();
            let mut report = run::run_all_paced(
                &labs,
                environment,
                format,
                verbosity,
                Duration::from_secs(timeout),
                step.then_some(&mut pacer),
            );
            for lab in &mut report.labs {
                lab_kit::i18n::translate_report(lab);
            }
            let mut out = std::io::stdout().lock();
            let _ = match format {
                RunFormat::Human => run::print_summary(&report, &mut out),
                RunFormat::Json => write_json(&report, &mut out),
                RunFormat::Junit => out.write_all(crate::formats::junit(&report).as_bytes()),
                RunFormat::Tap => out.write_all(crate::formats::tap(&report).as_bytes()),
            };
            ExitCode::from(report.exit_code())
        }
        Command::Explain { id, no_pager } => match find(&id) {
            Some(l) => {
                let _ = explain::show(&explain::lesson(l), no_pager);
                ExitCode::SUCCESS
            }
            None => usage(&trf("error: unknown lab '{id}' (see `lab list`)", &[&id])),
        },
        Command::Doctor { format } => {
            if format != OutputFormat::Human {
                lab_kit::i18n::set(choice.machine());
            }
            let d = doctor::gather();
            let mut out = std::io::stdout().lock();
            let _ = match format {
                OutputFormat::Human => doctor::print(&d, &mut out),
                OutputFormat::Json => write_json(&d, &mut out),
            };
            ExitCode::SUCCESS
        }
        Command::Container {
            rootfs,
            layer,
            read_only,
            seccomp,
            hostname,
            net,
            memory,
            pids,
            cpus,
            verbose,
            command,
        } => {
            use std::io::IsTerminal;
            let spec = crate::container::Spec {
                layers: rootfs.map_or(layer, |l| l.0),
                read_only,
                seccomp: seccomp.into(),
                hostname,
                loopback: net == crate::cli::Net::Loopback,
                argv: command,
                tty: std::io::stdin().is_terminal(),
            };
            let limits = lab_kit::container::Limits { pids, memory, cpus };
            let setup_failed = |e: &dyn std::fmt::Display| {
                eprintln!("lab container: {}", Translator::default().text(&format!("{e:#}")));
                ExitCode::from(lab_kit::container::exit::SETUP as u8)
            };
            let mut say = crate::container::Narrator {
                since: verbose.then(std::time::Instant::now),
            };
            // Cgroups are made (root, or a delegated v2 subtree) before the
            // container's first process unshares its cgroup namespace.
            let cgroups = match limits
                .any()
                .then(|| lab_kit::container::Cgroups::create(&mut say, &limits))
            {
                None => None,
                Some(Ok(cg)) => Some(cg),
                Some(Err(e)) => return setup_failed(&trf("--memory, --pids and --cpus need cgroups: {e}", &[&e])),
            };
            let place = |pid: nix::unistd::Pid| -> anyhow::Result<()> {
                if let Some(cg) = &cgroups {
                    let mut say = crate::container::Narrator { since: say.since };
                    cg.join(&mut say, pid.as_raw(), "<child>")?;
                    cg.apply(&mut say, &limits)?;
                }
                Ok(())
            };
            let outcome = crate::container::run(&spec, verbose, cgroups.is_some().then_some(&place as _));
            drop(cgroups);
            match outcome {
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                Err(e) => setup_failed(&format_args!("{e:#}")),
            }
        }
        Command::Bench { format, runs, warmup } => match crate::bench::run(warmup as usize, runs as usize) {
            Ok(report) if format == BenchFormat::Json => {
                crate::i18n::machine_format();
                let _ = write_json(&report, &mut std::io::stdout().lock());
                ExitCode::SUCCESS
            }
            Ok(report) => {
                let mut out = std::io::stdout().lock();
                let _ = match format {
                    BenchFormat::Human => crate::bench::print_table(&report, &mut out),
                    BenchFormat::Markdown => crate::bench::print(&report, &mut out),
                    BenchFormat::Json => Ok(()),
                };
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lab bench: {}", Translator::default().text(&format!("{e:#}")));
                ExitCode::from(1)
            }
        },
        Command::Inspect { pid, format } => {
            if format != OutputFormat::Human {
                crate::i18n::machine_format();
            }
            inspect(pid.as_deref(), format)
        }
        Command::Completions { shell } => print_bytes(&crate::manpage::completions(shell)),
        Command::Man { command } => print_bytes(&crate::manpage::page(command.as_deref())),
        Command::Exercise(command) => crate::exercise::main(command, choice),
        Command::Vm(args) => crate::vm::command::main(&args),
        Command::Diff(args) => crate::diff::main(&args),
        Command::Matrix(args) => crate::matrix::main(&args),
        Command::RunLab { id, format } => match find(&id) {
            Some(l) => ExitCode::from(lab_kit::lab::exit_code(&lab_kit::lab::run_lab(l, format))),
            None => usage(&trf("error: unknown lab '{id}'", &[&id])),
        },
    }
}

/// Generated text on stdout; a closed pipe (`lab man | head`) is no error.
fn print_bytes(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
    ExitCode::SUCCESS
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(2)
}

fn write_json(value: &impl serde::Serialize, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

fn list(format: OutputFormat) -> ExitCode {
    let summaries: Vec<lab_kit::decl::LabSummary> = LABS.iter().map(|l| (*l).into()).collect();
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let _ = write_json(&summaries, &mut out);
        return ExitCode::SUCCESS;
    }
    use colored::Colorize;
    let (env, caller) = crate::env::probe();
    let titles: Vec<String> = LABS
        .iter()
        .map(|l| Translator::for_lab(l).text(l.title).into_owned())
        .collect();
    let width = titles.iter().map(|t| lab_kit::i18n::width(t)).max().unwrap_or(5);
    let col = |s: &str, w: usize| lab_kit::i18n::pad(s, w);
    let _ = writeln!(
        out,
        "{}",
        format!(
            "{} {} {} {} {} {}",
            col("id", 3),
            col("slug", 12),
            col(tr("needs"), 9),
            col(tr("here"), 8),
            col(tr("title"), width.max(lab_kit::i18n::width(tr("title")))),
            tr("mechanisms")
        )
        .bold()
    );
    let width = width.max(lab_kit::i18n::width(tr("title")));
    for (l, title) in LABS.iter().zip(&titles) {
        let (ready, _) = readiness(l, &caller, &env);
        let word = crate::env::readiness_word(ready);
        let here = match ready {
            Readiness::Full => word.green(),
            Readiness::Partial => word.yellow(),
            Readiness::None => word.red(),
        };
        let pad = " ".repeat(8usize.saturating_sub(lab_kit::i18n::width(word)));
        let mechs: Vec<&str> = l.mechanisms.iter().map(|m| m.as_str()).collect();
        let _ = writeln!(
            out,
            "{:<3} {:<12} {:<9} {here}{pad} {} {}",
            l.id,
            l.slug,
            l.privilege().as_str(),
            col(title, width),
            mechs.join(",")
        );
    }
    let _ = writeln!(
        out,
        "\n{}",
        tr("`lab doctor` says why a lab cannot run fully here; `lab run ID` runs one.")
    );
    ExitCode::SUCCESS
}

/// `lab inspect [PID]`: one process's container-relevant state, or the
/// `pscap -a`-like listing without a PID.
fn inspect(pid: Option<&str>, format: OutputFormat) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let Some(pid) = pid else {
        let rows = lab_kit::inspect::capability_listing();
        let _ = match format {
            OutputFormat::Human => write!(out, "{}", lab_kit::inspect::render_listing(&rows)),
            OutputFormat::Json => write_json(&rows, &mut out),
        };
        return ExitCode::SUCCESS;
    };
    let pid = match pid.parse::<i32>() {
        Ok(n) if n > 0 => n,
        _ => return usage(&trf("error: invalid PID '{pid}': expected a positive number", &[&pid])),
    };
    match lab_kit::inspect::inspect(pid) {
        Ok(i) => {
            let _ = match format {
                OutputFormat::Human => write!(out, "{}", i.render()),
                OutputFormat::Json => write_json(&i, &mut out),
            };
            ExitCode::SUCCESS
        }
        Err(lab_kit::inspect::InspectError::NoSuchProcess(pid)) => {
            usage(&trf("error: no process with PID {pid}", &[&pid]))
        }
        Err(lab_kit::inspect::InspectError::Unreadable { pid, file, reason }) => usage(&trf(
            "error: cannot read /proc/{pid}/{file}: {reason}",
            &[&pid, &file, &reason],
        )),
    }
}
