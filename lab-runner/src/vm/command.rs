//! The `lab vm` subcommand: its arguments and what it prints.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{Accel, CgroupLayout, VmOptions, VmRun};
use crate::cli::{Cli, Command, RunFormat};
use crate::i18n::{tr, trf};
use lab_kit::i18n::Translator;

/// Who runs the suite in the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuestUser {
    /// None: root.
    pub uid: Option<u32>,
    /// Whether a user's cgroup v2 subtree is delegated to it, as systemd's
    /// user session does; without (`UID:undelegated`, as after `su` or in
    /// a test run as root that drops to the user) the user owns no cgroup.
    pub delegated: bool,
}

impl GuestUser {
    /// Root.
    pub const ROOT: GuestUser = GuestUser {
        uid: None,
        delegated: false,
    };
}

impl std::fmt::Display for GuestUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.uid, self.delegated) {
            (None, _) => f.write_str("root"),
            (Some(u), true) => write!(f, "uid {u}"),
            (Some(u), false) => write!(f, "uid {u} undelegated"),
        }
    }
}

/// `root`, `0`, a user id (a delegated cgroup subtree of its own), or
/// `UID:undelegated` (none).
pub fn guest_user(s: &str) -> Result<GuestUser, String> {
    let (uid, delegated) = match s.strip_suffix(":undelegated") {
        Some(u) => (u, false),
        None => (s, true),
    };
    match uid {
        "root" | "0" if delegated => Ok(GuestUser::ROOT),
        _ => match uid.parse::<u32>() {
            Ok(u) if u > 0 && u < u32::MAX => Ok(GuestUser {
                uid: Some(u),
                delegated,
            }),
            _ => Err("`root`, a numeric user id (e.g. 65534) or `UID:undelegated`".into()),
        },
    }
}

fn existing_file(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("{s}: no such file"))
    }
}

/// The options `lab vm` and `lab matrix` share.
#[derive(Debug, Clone, clap::Args)]
pub struct MachineArgs {
    /// Guest memory in MiB.
    #[arg(long, value_name = "MB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(256..=65536))]
    pub memory: u32,
    /// Seconds the guest may run once booted, before it is stopped.
    #[arg(long, value_name = "SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub timeout: u64,
    /// Seconds the kernel may take to reach /init.
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=3600))]
    pub boot_timeout: u64,
    /// The accelerator: `auto` tries KVM behind a boot watchdog and falls back to TCG.
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
    /// The `lab` executable to boot (default: this one), e.g. a static build.
    #[arg(long, value_name = "PATH", value_parser = existing_file)]
    pub lab: Option<PathBuf>,
    /// Kernel modules to load from the kernel's own lib/modules, with their
    /// dependencies (`none`: load nothing, e.g. to see a lab without veth).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = super::kernel::LAB_MODULES.iter().map(|m| m.to_string()))]
    pub modules: Vec<String>,
    /// Run the suite on the kernel's initial rootfs (no tmpfs `/`): what
    /// labs 03 and 17 meet where `pivot_root` is refused.
    #[arg(long, hide = true)]
    pub initial_rootfs: bool,
}

/// What to boot and how: `lab vm`'s options without its command.
#[derive(Debug, Clone, clap::Args)]
pub struct VmTarget {
    /// The kernel: a bzImage (its modules from /lib/modules/RELEASE) or a
    /// linux-image .deb (unpacked into a temporary directory, not installed).
    #[arg(long, value_name = "PATH|DEB", value_parser = existing_file)]
    pub kernel: PathBuf,
    /// The guest's cgroup layout.
    #[arg(long, value_enum, default_value_t = CgroupLayout::V2)]
    pub cgroup: CgroupLayout,
    /// Who runs the suite: root, or a user id (given a delegated cgroup v2
    /// subtree, as systemd gives a user session).
    #[arg(long = "as", value_name = "root|UID[:undelegated]", default_value = "root", value_parser = guest_user)]
    pub user: GuestUser,
    /// Options of the machine.
    #[command(flatten)]
    pub machine: MachineArgs,
}

impl VmTarget {
    /// The options of one VM run.
    pub fn options(&self, run_args: Vec<String>) -> VmOptions {
        self.machine
            .options(self.kernel.clone(), self.cgroup, self.user, run_args)
    }
}

/// `lab vm`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct VmArgs {
    /// What to boot and how.
    #[command(flatten)]
    pub target: VmTarget,
    /// `run` and its arguments, after `--`: what `lab run` takes (labs, --format, --timeout).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "run [ARGS]"
    )]
    pub command: Vec<String>,
}

/// `run [IDS...] [--format F] [--timeout S]` as `lab run` parses it: the
/// guest's arguments (labs and timeout) and the format asked for.
pub fn guest_run(command: &[String]) -> Result<(Vec<String>, RunFormat), String> {
    if command.first().map(String::as_str) != Some("run") {
        return Err(format!(
            "error: lab vm runs `run [IDS...] [OPTIONS]` after `--`, not `{}`",
            command.join(" ")
        ));
    }
    let argv = std::iter::once("lab".to_string()).chain(command.iter().cloned());
    match <Cli as clap::Parser>::try_parse_from(argv).map(|c| c.command) {
        Ok(Command::Run {
            ids, format, timeout, ..
        }) => {
            for id in &ids {
                if crate::registry::find(id).is_none() {
                    return Err(format!("error: unknown lab '{id}' (see `lab list`)"));
                }
            }
            let mut args = ids;
            args.extend(["--timeout".to_string(), timeout.to_string()]);
            Ok((args, format))
        }
        Ok(_) => Err("error: lab vm runs `run` only".into()),
        Err(e) => Err(crate::cli::one_line(&e)),
    }
}

impl MachineArgs {
    /// The options of one VM run of `kernel`, `cgroup`, `user`.
    pub fn options(&self, kernel: PathBuf, cgroup: CgroupLayout, user: GuestUser, run_args: Vec<String>) -> VmOptions {
        VmOptions {
            kernel,
            cgroup,
            user: user.uid,
            delegated: user.delegated,
            memory_mb: self.memory,
            timeout: Duration::from_secs(self.timeout),
            boot_timeout: Duration::from_secs(self.boot_timeout),
            accel: self.accel,
            lab: self.lab.clone(),
            run_args,
            modules: self.modules.iter().filter(|m| *m != "none").cloned().collect(),
            initial_rootfs: self.initial_rootfs,
        }
    }
}

/// `lab vm`.
pub fn main(args: &VmArgs) -> ExitCode {
    let (run_args, format) = match guest_run(&args.command) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // A file that is no kernel is bad input (exit 2), not a VM that failed.
    let kernel = match super::kernel::Kernel::resolve(&args.target.kernel) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = lab_kit::sys::catch_interrupts() {
        eprintln!("warning: {e}");
    }
    if format != RunFormat::Human {
        crate::i18n::machine_format();
    }
    let failed = |e: &anyhow::Error| eprintln!("lab vm: {}", Translator::default().text(&format!("{e:#}")));
    match super::run_kernel(&args.target.options(run_args), &kernel) {
        Ok(run) => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = print(&run, format, &mut out) {
                failed(&e);
            }
            ExitCode::from(run.exit_code())
        }
        Err(e) if lab_kit::sys::interrupted() => {
            failed(&e);
            ExitCode::from(130)
        }
        Err(e) => {
            failed(&e);
            ExitCode::from(4)
        }
    }
}

/// One line for a VM run: kernel, layout, user, accelerator, outcome, in
/// the current language.
pub fn headline(run: &VmRun) -> String {
    let vm = &run.vm;
    let boot = format!("{:.1}", vm.boot_ms as f64 / 1000.0);
    let total = format!("{:.1}", vm.total_ms as f64 / 1000.0);
    format!(
        "{} · cgroup {} · {} · {} · {} {}",
        vm.kernel_release,
        vm.cgroup.as_str(),
        vm.user,
        vm.accelerator,
        vm.outcome.as_str(),
        trf("(boot {boot} s, total {total} s)", &[&boot, &total])
    )
}

/// Print a VM run in `format`.
pub fn print(run: &VmRun, format: RunFormat, out: &mut impl Write) -> anyhow::Result<()> {
    if format == RunFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &run.report)?;
        writeln!(out)?;
        return Ok(());
    }
    let report: Option<crate::run::RunReport> = serde_json::from_value(run.report.clone()).ok();
    match (format, report) {
        (RunFormat::Junit, Some(r)) => out.write_all(crate::formats::junit(&r).as_bytes())?,
        (RunFormat::Tap, Some(r)) => out.write_all(crate::formats::tap(&r).as_bytes())?,
        (_, report) => {
            let vm = &run.vm;
            let t = Translator::default();
            writeln!(out, "lab vm: {}", headline(run))?;
            if let Some(why) = &vm.kvm_fallback {
                writeln!(out, "  {}", trf("not KVM: {why}", &[&t.text(why)]))?;
            }
            writeln!(out, "  {}", trf("modules loaded: {}", &[&list(&vm.modules_loaded)]))?;
            if !vm.modules_failed.is_empty() {
                writeln!(
                    out,
                    "  {}",
                    trf("modules missing: {}", &[&vm.modules_failed.join("; ")])
                )?;
            }
            writeln!(
                out,
                "  {}",
                trf(
                    "root: {root}; suite in cgroup {cgroup}",
                    &[&t.text(&vm.root), &vm.suite_cgroup]
                )
            )?;
            for n in &vm.notes {
                writeln!(out, "  {}", trf("note: {n}", &[&t.text(n)]))?;
            }
            if !vm.console_excerpt.is_empty() {
                writeln!(out, "  {}", tr("console:"))?;
                for l in &vm.console_excerpt {
                    writeln!(out, "    {l}")?;
                }
            }
            if let Some(mut r) = report {
                // The guest's report is English (JSON): drawn here like a `lab run`.
                for lab in &mut r.labs {
                    lab_kit::i18n::translate_report(lab);
                }
                crate::run::print_summary(&r, out)?;
            }
        }
    }
    Ok(())
}

fn list(v: &[String]) -> String {
    if v.is_empty() { tr("none").into() } else { v.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_guest_runs_what_lab_run_takes() {
        let (args, format) =
            guest_run(&strings(&["run", "06", "pid", "--format", "json", "--timeout", "30"])).expect("ok");
        assert_eq!(args, strings(&["06", "pid", "--timeout", "30"]));
        assert_eq!(format, RunFormat::Json);
        let (args, format) = guest_run(&strings(&["run"])).expect("ok");
        assert_eq!(args, strings(&["--timeout", "60"]));
        assert_eq!(format, RunFormat::Human);
    }

    #[test]
    fn anything_but_run_is_refused_in_one_line() {
        for bad in [
            &["list"][..],
            &["doctor"],
            &[],
            &["run", "99"],
            &["run", "--format", "xml"],
        ] {
            let e = guest_run(&strings(bad)).expect_err("refused");
            assert!(e.starts_with("error:") && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn users_are_root_or_numbers() {
        assert_eq!(guest_user("root"), Ok(GuestUser::ROOT));
        assert_eq!(guest_user("0"), Ok(GuestUser::ROOT));
        let nobody = |delegated| GuestUser {
            uid: Some(65534),
            delegated,
        };
        assert_eq!(guest_user("65534"), Ok(nobody(true)));
        assert_eq!(guest_user("65534:undelegated"), Ok(nobody(false)));
        assert_eq!(nobody(false).to_string(), "uid 65534 undelegated");
        assert!(guest_user("root:undelegated").is_err());
        assert!(guest_user("65534:").is_err());
        assert!(guest_user("nobody").is_err());
        assert!(guest_user("-1").is_err());
    }
}
