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
#[command(name = "lab", bin_name = "lab", version, about, after_help = EXIT_CODES, disable_help_subcommand = true)]
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

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// For people: narration, ✓/✗ and a summary.
    Human,
    /// One JSON document: environment, labs with their steps, summary.
    Json,
    /// JUnit XML: a test suite per lab, a test case per step.
    Junit,
    /// TAP version 13: a test point per step.
    Tap,
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
        #[arg(long, value_enum, default_value_t = RunFormat::Human)]
        format: RunFormat,
        /// Seconds a lab may take before it is killed and reported as broken.
        #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
    },
    /// Print a lab's explanation.
    Explain {
        /// The lab: `06`, `uts` or `06-uts`.
        id: String,
    },
    /// Report what this machine offers the labs and what blocks them: privilege, seccomp, security
    /// modules, user namespaces and their limits, cgroups, kernel features; per lab, and how to unblock.
    Doctor {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Run a command in a container made of every mechanism of the labs.
    ///
    /// Root or rootless. With a terminal on stdin the command gets a terminal
    /// of its own; signals are forwarded; the command's exit status is
    /// returned (125: the container could not be set up, 126: the command
    /// cannot be executed, 127: not found). Everything is removed when it ends.
    #[command(arg_required_else_help = true)]
    Container {
        /// A prepared root filesystem (e.g. made by debootstrap) instead of
        /// the one assembled from the host's /usr.
        #[arg(long, value_name = "DIR", value_parser = existing_dir)]
        rootfs: Option<std::path::PathBuf>,
        /// The container's hostname.
        #[arg(long, value_name = "NAME", default_value = "container", value_parser = hostname)]
        hostname: String,
        /// The network: `none` (lo down) or `loopback` (lo up).
        #[arg(long, value_enum, default_value_t = Net::Loopback)]
        net: Net,
        /// Memory limit: bytes, or with a K, M or G suffix (e.g. 256M).
        #[arg(long, value_name = "SIZE", value_parser = size)]
        memory: Option<u64>,
        /// Most processes the container may hold at once.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4_194_304))]
        pids: Option<u64>,
        /// Share of CPU time, in CPUs (e.g. 0.5).
        #[arg(long, value_name = "FRACTION", value_parser = cpus)]
        cpus: Option<f64>,
        /// Tell each system call of the set-up on stderr.
        #[arg(short, long)]
        verbose: bool,
        /// The command and its arguments (after `--`).
        #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Measure what each mechanism costs: fork, clone with each namespace,
    /// mounts, pivot_root, and the whole start of `lab container` side by side
    /// with bubblewrap and util-linux unshare when they are installed.
    Bench {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// Timed runs of each operation.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(5..=100_000))]
        runs: u64,
        /// Untimed runs before.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=10_000))]
        warmup: u64,
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

/// Networking of `lab container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Net {
    /// A network namespace with `lo` down: no networking at all.
    None,
    /// A network namespace with `lo` up.
    Loopback,
}

fn existing_dir(s: &str) -> Result<std::path::PathBuf, String> {
    let p = std::path::PathBuf::from(s);
    if p.is_dir() {
        Ok(p)
    } else {
        Err(format!("{s} is not a directory"))
    }
}

/// `4096`, `64K`, `256M`, `1G` (powers of 1024).
pub fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("unknown unit {unit:?} (use K, M or G)")),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| "a size is a number with an optional K, M or G".to_string())?;
    match n.checked_shl(shift).filter(|v| v >> shift == n) {
        Some(v) if v >= 1 << 20 => Ok(v),
        Some(_) => Err("at least 1M: a smaller limit kills the command before it starts".into()),
        None => Err("too large".into()),
    }
}

fn cpus(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.01..=1024.0).contains(&v) => Ok(v),
        _ => Err("a number of CPUs between 0.01 and 1024".into()),
    }
}

fn hostname(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.']);
    if ok {
        Ok(s.to_string())
    } else {
        Err("a hostname is 1 to 64 letters, digits, '-' and '.'".into())
    }
}

/// Make a clap error one line (see [`lab_kit::one_line_error`]).
pub fn one_line(err: &clap::Error) -> String {
    lab_kit::one_line_error(err)
}
