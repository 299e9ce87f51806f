//! The command line, declared once: `--help`, the book's CLI reference and
//! the usage-error tests all come from here.

use clap::{Parser, Subcommand, ValueEnum};
use lab_kit::ColorChoice;

/// Exit codes, shown by `--help` and documented in the README and the book.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    every lab passed, or was skipped or unsupported with a reason
  1    a check failed: the kernel behaved differently from what a lab teaches
  2    usage error (unknown command, unknown lab, bad flag or value)
  3    a lab broke: it crashed, hung past --timeout or printed malformed output
  130  interrupted (SIGINT or SIGTERM); the current lab was stopped";

/// Run, explain and check the container labs.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about, after_help = EXIT_CODES, disable_help_subcommand = true)]
pub struct Cli {
    /// When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats of `list`, `run` and `doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people: narration, ✓/✗ and a summary.
    Human,
    /// One JSON document on stdout.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the labs in order, with what each needs and whether it can run fully here.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Run labs (all, in order, by default) and check what the kernel did.
    Run {
        /// Labs to run: `06`, `6`, `uts` or `06-uts`. All when none is given.
        ids: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// Seconds a lab may take before it is killed and reported as broken.
        #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
    },
    /// Print a lab's explanation.
    Explain {
        /// The lab: `06`, `uts` or `06-uts`.
        id: String,
    },
    /// Report what this machine offers the labs: kernel, cgroups, user namespaces, privilege.
    Doctor {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Show one process's container-relevant state: namespaces compared with
    /// PID 1's, uid/gid maps, capability sets, cgroups, root, seccomp,
    /// no_new_privs. Without a PID, list the processes that hold capabilities
    /// (like `pscap -a`).
    Inspect {
        /// The process to inspect.
        pid: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Internal: run one lab in this process (the runner re-executes itself).
    #[command(name = "__lab", hide = true)]
    RunLab {
        /// The lab.
        id: String,
        /// Protocol format.
        #[arg(long, value_enum, default_value_t = lab_kit::Format::Json)]
        format: lab_kit::Format,
    },
}

/// Make a clap error one line: its first line, plus the valid values when clap lists them.
pub fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("error: invalid usage").trim().to_string();
    let first = if first.starts_with("error:") {
        first
    } else {
        format!("error: {first}")
    };
    match text.lines().find_map(|l| l.trim().strip_prefix("[possible values: ")) {
        Some(values) => format!(
            "{first} (possible values: {}",
            values.trim_end_matches(']').to_string() + ")"
        ),
        None => first,
    }
}
