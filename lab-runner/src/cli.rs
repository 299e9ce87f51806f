//! The command line, declared once: `--help`, the book's CLI reference and
//! the usage-error tests all come from here.

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};
use lab_kit::ColorChoice;

/// Exit codes, shown by `--help` and documented in the README and the book.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    every lab passed, or was skipped or unsupported with a reason
  1    a check failed: the kernel behaved differently from what a lab teaches
  2    usage error (unknown command, unknown lab, bad flag or value)
  3    a lab broke: it crashed, hung past --timeout or printed malformed output
  4    lab vm / lab matrix: a VM did not complete (boot timeout, panic, Oops)
  130  interrupted (SIGINT or SIGTERM); the current lab was stopped";

/// Run, explain and check the container labs.
#[derive(Debug, Parser)]
#[command(name = "lab", bin_name = "lab", version, about, after_help = EXIT_CODES, disable_help_subcommand = true)]
pub struct Cli {
    /// When to use colour; `auto` honours NO_COLOR and whether stdout is a terminal.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Language of the text for people (default: from LC_ALL, LC_MESSAGES, LANG);
    /// given explicitly, also of the JSON, JUnit and TAP reports.
    #[arg(long, value_enum, global = true, value_name = "LANG")]
    pub lang: Option<lab_kit::i18n::Lang>,
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

/// Output formats of `bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    /// For people: aligned columns.
    Human,
    /// Markdown tables (the book's).
    Markdown,
    /// One JSON document on stdout.
    Json,
}

/// A lab as the user names it: any string (`lab run` and `lab explain` say
/// which are unknown), offered to shell completion as the labs' full ids.
#[derive(Debug, Clone, Copy)]
pub struct LabIdParser;

impl TypedValueParser for LabIdParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            crate::registry::LABS
                .iter()
                .map(|l| PossibleValue::new(l.full_id()).help(l.title)),
        ))
    }
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
        /// Labs to run: `06`, `6`, `uts` or `07-uts`. All when none is given.
        #[arg(value_name = "ID", value_parser = LabIdParser, hide_possible_values = true)]
        ids: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RunFormat::Human)]
        format: RunFormat,
        /// Seconds a lab may take before it is killed and reported as broken.
        #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
        /// Print only the summary and what failed or broke (the failing
        /// steps in full).
        #[arg(short, long, conflicts_with = "verbose")]
        quiet: bool,
        /// Also print how long each step took and what each lab wrote on
        /// stderr.
        #[arg(short, long)]
        verbose: bool,
        /// Pause before each step, for a live demonstration: Enter runs it,
        /// `q` stops and prints what ran so far (human output only).
        #[arg(long)]
        step: bool,
    },
    /// Print a lab's explanation, through the pager when it is taller than
    /// the terminal.
    ///
    /// The pager is $LAB_PAGER, else $PAGER, else `less -R`; an empty
    /// LAB_PAGER or --no-pager prints directly, and so does a stdout that is
    /// not a terminal. On a terminal the text is wrapped to its width (at
    /// most 100 columns); elsewhere to 80.
    Explain {
        /// The lab: `06`, `uts` or `07-uts`.
        #[arg(value_parser = LabIdParser, hide_possible_values = true)]
        id: String,
        /// Print directly, without the pager.
        #[arg(long)]
        no_pager: bool,
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
        /// The image: a prepared root filesystem (e.g. made by debootstrap),
        /// or its layers stacked by overlayfs, the top one first (`A:B:C`),
        /// instead of the root assembled from the host's /usr.
        #[arg(long, value_name = "DIR[:DIR...]", value_parser = layer_list, conflicts_with = "layer")]
        rootfs: Option<LayerList>,
        /// One layer of the image, the top one first; repeat it for more
        /// (for a directory whose name holds a colon).
        #[arg(long, value_name = "DIR", value_parser = existing_dir)]
        layer: Vec<std::path::PathBuf>,
        /// Keep the root read-only: no writable layer above the image (or the
        /// host's /usr), so writes there fail with EROFS.
        #[arg(long)]
        read_only: bool,
        /// The seccomp filter: `default` refuses what Docker's default
        /// profile refuses; `unconfined` installs none.
        #[arg(long, value_enum, default_value_t = SeccompProfile::Default)]
        seccomp: SeccompProfile,
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
    ///
    /// A progress bar is drawn on stderr when it is a terminal.
    Bench {
        /// Output format.
        #[arg(long, value_enum, default_value_t = BenchFormat::Human)]
        format: BenchFormat,
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
    /// Print a shell's completion script for `lab`.
    ///
    /// bash: `source <(lab completions bash)`, or save it as
    /// ~/.local/share/bash-completion/completions/lab. zsh: save it as
    /// `_lab` in a directory of $fpath. fish: save it as
    /// ~/.config/fish/completions/lab.fish.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of `lab`, or of one of its commands:
    /// `lab man | man -l -`, `lab man run | man -l -`.
    Man {
        /// The command whose page to print (`run` for lab-run(1)).
        #[arg(value_name = "COMMAND", value_parser = crate::manpage::PageParser, hide_possible_values = true)]
        command: Option<String>,
    },
    /// Hands-on exercises, checked by the kernel: a task, a sandbox to solve
    /// it in with standard tools, and checks that read the sandbox's kernel
    /// state (never your commands).
    #[command(subcommand)]
    Exercise(ExerciseCommand),
    /// Boot a kernel under qemu and run the suite in it, as root or as a
    /// user: `lab vm --kernel linux-image-....deb --cgroup v2 -- run --format json`.
    ///
    /// Nothing is installed: a .deb is unpacked into a temporary directory,
    /// and the initramfs is assembled from this executable. Exit codes are
    /// the guest run's, or 4 when the VM did not complete (boot timeout,
    /// kernel panic, guest timeout, kernel Oops or taint).
    #[command(arg_required_else_help = true)]
    Vm(crate::vm::command::VmArgs),
    /// Compare two JSON reports check by check: regressions, fixes, newly
    /// unsupported or skipped, added or removed labs and checks, changed
    /// values. Exit 0 when nothing differs, 1 when something does, 2 on bad input.
    #[command(arg_required_else_help = true)]
    Diff(crate::diff::DiffArgs),
    /// Run `lab vm` over kernels × cgroup layouts × users, several at once,
    /// and print the table of results (lab × configuration).
    #[command(arg_required_else_help = true)]
    Matrix(crate::matrix::MatrixArgs),
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

/// Which seccomp filter `lab container` installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeccompProfile {
    /// What Docker's default profile refuses: mount, unshare, keyctl, …
    Default,
    /// No filter.
    Unconfined,
}

impl From<SeccompProfile> for lab_kit::container::Seccomp {
    fn from(p: SeccompProfile) -> Self {
        match p {
            SeccompProfile::Default => lab_kit::container::Seccomp::Default,
            SeccompProfile::Unconfined => lab_kit::container::Seccomp::Unconfined,
        }
    }
}

/// An existing directory, as an absolute path without links: the
/// container resolves it after it has mounted its own tmpfs, elsewhere.
fn existing_dir(s: &str) -> Result<std::path::PathBuf, String> {
    let p = std::path::PathBuf::from(s);
    if !p.is_dir() {
        return Err(format!("{s} is not a directory"));
    }
    std::fs::canonicalize(&p).map_err(|e| format!("{s}: {e}"))
}

/// `--rootfs A:B:C`: existing directories, the top layer first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerList(pub Vec<std::path::PathBuf>);

fn layer_list(s: &str) -> Result<LayerList, String> {
    s.split(':').map(existing_dir).collect::<Result<_, _>>().map(LayerList)
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

/// `lab exercise ...`.
#[derive(Debug, Subcommand)]
pub enum ExerciseCommand {
    /// List the exercises: their lab, whether each can run here (privilege
    /// and tools) and your progress (✓ done, attempted, new).
    List {
        /// Output format (`json` is what an instructor collects).
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Print the task, then open a shell ($SHELL, else sh) in a sandbox;
    /// the checks run every second and say ✓ when they hold. `exit` leaves
    /// and removes the sandbox.
    Start {
        /// The exercise: `06-hostname`, `06` or `hostname`.
        id: String,
    },
    /// Inside a sandbox: expected and actual of every check, now (exit 0
    /// when every check holds, 1 when one does not).
    Check,
    /// Inside a sandbox: a hint; the first looks at what you did so far,
    /// each further one says more.
    Hint,
    /// For instructors and CI: run FILE with sh in a fresh sandbox, then the
    /// checks, while what it left in the background still runs; then remove
    /// the sandbox. Exit 0 when every check holds (or the exercise cannot
    /// run here: skip, with the reason), 1 when one fails.
    #[command(arg_required_else_help = true)]
    Run {
        /// The exercise.
        id: String,
        /// The shell script that solves it.
        #[arg(long, value_name = "FILE", value_parser = existing_file)]
        solution: std::path::PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExerciseFormat::Human)]
        format: ExerciseFormat,
        /// Seconds the solution may take to return.
        #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
        timeout: u64,
    },
    /// Forget your progress on one exercise, or on all of them (asks first).
    Reset {
        /// The exercise; all when none is given.
        id: Option<String>,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
}

/// Output formats of `lab exercise run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExerciseFormat {
    /// For people: ✓/✗ per check with expected and actual, and the hint.
    Human,
    /// One JSON document.
    Json,
    /// TAP version 13: a test point per check.
    Tap,
}

fn existing_file(s: &str) -> Result<std::path::PathBuf, String> {
    let p = std::path::PathBuf::from(s);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("{s} is not a file"))
    }
}
