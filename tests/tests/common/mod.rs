//! Shared by the integration tests: run the runner under test in a given privilege
//! mode, fold its output, and read the host's state before and after.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly
#![allow(dead_code)] // each test file uses a part of it

use std::path::Path;
use std::process::{Command, Output};

use lab_kit::event::LabReport;

/// The runner under test.
pub const LAB: &str = env!("CARGO_BIN_EXE_lab-under-test");
/// The workspace root.
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// The namespace-limit emulator (`ns-limit user` = user namespaces disabled).
pub const NS_LIMIT: &str = env!("CARGO_BIN_EXE_ns-limit");
/// The emulator refusing single system calls with a seccomp filter.
pub const REFUSE: &str = env!("CARGO_BIN_EXE_refuse");
/// The emulator of Docker's default capabilities and seccomp profile.
pub const DOCKER_LIKE: &str = env!("CARGO_BIN_EXE_docker-like");
/// The emulator of Ubuntu 24.04's restricted unprivileged user namespaces.
pub const USERNS_REFUSED: &str = env!("CARGO_BIN_EXE_userns-refused");

/// Whether the tests run as real root (the CI case).
pub fn is_root() -> bool {
    lab_kit::privilege::Caller::read().is_real_root()
}

/// Print why a test cannot run here and return from it.
#[macro_export]
macro_rules! require_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs real root (run `sudo cargo test --workspace`)");
            return;
        }
    };
}

/// The privilege modes the suite is run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Root with every capability.
    Root,
    /// Root without CAP_SYS_ADMIN (dropped from the bounding set first).
    RootNoSysAdmin,
    /// uid/gid 65534.
    Nobody,
    /// uid/gid 65534 where user namespaces are disabled.
    NobodyNoUserns,
    /// Root inside a user namespace (`unshare --user --map-root-user`).
    UsernsRoot,
}

impl Mode {
    /// The snapshot suffix for the mode.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Root => "root",
            Mode::RootNoSysAdmin => "root-no-sys-admin",
            Mode::Nobody => "rootless",
            Mode::NobodyNoUserns => "no-userns",
            Mode::UsernsRoot => "userns-root",
        }
    }

    /// The argv that runs `program args` in this mode (the tests run as root).
    pub fn argv(self, program: &str, args: &[&str]) -> Vec<String> {
        let prefix: &[&str] = match self {
            Mode::Root => &[],
            Mode::RootNoSysAdmin => &["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--"],
            Mode::Nobody => &[
                "setpriv",
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
            ],
            Mode::NobodyNoUserns => &[NS_LIMIT, "user", "--"],
            Mode::UsernsRoot => &["unshare", "--user", "--map-root-user", "--"],
        };
        prefix
            .iter()
            .chain([&program])
            .chain(args)
            .map(|s| s.to_string())
            .collect()
    }

    /// A command that runs `program args` in this mode.
    pub fn command(self, program: &str, args: &[&str]) -> Command {
        command(&self.argv(program, args))
    }
}

/// A command from an argv.
pub fn command(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).env_remove("CONTAINER_LABS_RERUN");
    // Output must not depend on the tester's locale (`lab` reads these).
    for var in LOCALE_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// The variables `lab` chooses its language from.
pub const LOCALE_VARS: [&str; 3] = ["LC_ALL", "LC_MESSAGES", "LANG"];

/// The same command, run under another hostname (in a UTS namespace of its
/// own), another TMPDIR and another working directory.
pub fn elsewhere(argv: &[String]) -> Command {
    let mut full: Vec<String> = [
        "unshare",
        "--uts",
        "--",
        "sh",
        "-c",
        "hostname elsewhere.example && exec \"$@\"",
        "sh",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    full.extend_from_slice(argv);
    let mut cmd = command(&full);
    cmd.env("TMPDIR", "/var/tmp").current_dir("/");
    cmd
}

/// Run one lab through the runner's internal entry and fold its events.
pub fn run_lab(mode: Mode, id: &str) -> (LabReport, Output) {
    run_folded(mode.command(LAB, &["__lab", id, "--format", "json"]))
}

/// Run a command that prints protocol lines and fold them.
pub fn run_folded(mut cmd: Command) -> (LabReport, Output) {
    let out = cmd.output().expect("the runner under test starts");
    (fold(&String::from_utf8_lossy(&out.stdout)), out)
}

/// Fold protocol lines into a report; a malformed line fails the test.
pub fn fold(stdout: &str) -> LabReport {
    let mut report = LabReport::default();
    for line in stdout.lines() {
        let event = LabReport::parse_line(line).unwrap_or_else(|e| panic!("{e}"));
        report.apply(&event).unwrap_or_else(|e| panic!("{e}"));
    }
    report
}

/// The machine state the labs promise not to change.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    /// Mount points and sources of `/proc/self/mountinfo` (ids stripped).
    pub mounts: Vec<String>,
    /// Hostname.
    pub hostname: String,
    /// Lines of `/proc/sysvipc/{msg,sem,shm}`.
    pub sysvipc: Vec<String>,
    /// Directories under `/sys/fs/cgroup` (any depth) that could be the
    /// labs': named after the project or a lab. The machine's own cgroups
    /// come and go with its other processes and are not compared.
    pub cgroups: Vec<String>,
    /// Entries of `/run/netns`.
    pub netns: Vec<String>,
    /// Network interfaces of the host.
    pub interfaces: Vec<String>,
    /// Entries of the temp directory that could be the labs' (see
    /// [`ours`]); other programs on the machine use it too.
    pub tmp: Vec<String>,
}

fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn dirs(dir: &Path, depth: usize, out: &mut Vec<String>) {
    if depth == 0 {
        return;
    }
    if let Ok(d) = std::fs::read_dir(dir) {
        for e in d.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(e.path().display().to_string());
                dirs(&e.path(), depth - 1, out);
            }
        }
    }
}

/// Whether a name could belong to the labs: they name what they make after
/// the project or a lab (`container-labs`, `lab-...`).
pub fn ours(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("lab") || n.contains("container")
}

/// The host's turn: tests of one file that compare the host before and
/// after, or change it while they run (cgroups of their own), hold this so
/// that a comparison never sees another test's work.
pub fn host_turn() -> std::sync::MutexGuard<'static, ()> {
    static HOST: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HOST.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl HostState {
    /// Read it now.
    pub fn read() -> HostState {
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .map(|l| l.split(' ').skip(3).collect::<Vec<_>>().join(" "))
            .collect();
        mounts.sort();
        let mut sysvipc = Vec::new();
        for f in ["msg", "sem", "shm"] {
            sysvipc.extend(
                std::fs::read_to_string(format!("/proc/sysvipc/{f}"))
                    .unwrap_or_default()
                    .lines()
                    .skip(1)
                    .map(String::from),
            );
        }
        let mut cgroups = Vec::new();
        dirs(Path::new("/sys/fs/cgroup"), 8, &mut cgroups);
        cgroups.retain(|p| ours(p));
        cgroups.sort();
        HostState {
            mounts,
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default(),
            sysvipc,
            cgroups,
            netns: list(Path::new("/run/netns")),
            interfaces: list(Path::new("/sys/class/net")),
            tmp: list(&std::env::temp_dir()).into_iter().filter(|n| ours(n)).collect(),
        }
    }
}

/// The snapshot name's suffix for `lab` run in `mode`: a lab that makes
/// cgroups (a step declared `delegated`) teaches a different lesson on each
/// cgroup layout (v1 files and one hierarchy per controller, or one v2
/// tree), so its snapshots are kept per layout: `root-hybrid`, `root-v2`.
pub fn snapshot_suffix(lab: &lab_kit::decl::LabDecl, mode: &str, cgroup_mode: &str) -> String {
    let makes_cgroups = lab
        .steps
        .iter()
        .any(|s| s.privilege == lab_kit::decl::Privilege::Delegated);
    if makes_cgroups {
        format!("{mode}-{cgroup_mode}")
    } else {
        mode.to_string()
    }
}

/// What a report holds that comes from this machine rather than from the
/// kernel's behaviour, replaced by what it stands for: the atime flag a
/// read-only remount keeps (`<kept: MS_RELATIME>`) is the one the host's
/// mount has (relatime, noatime or strictatime, a choice of its fstab).
pub fn machine_independent(report: &mut LabReport) {
    const ATIME: [&str; 4] = ["MS_RELATIME", "MS_NOATIME", "MS_STRICTATIME", "MS_NODIRATIME"];
    let fix = |call: &str| -> String {
        let Some(start) = call.find("<kept: ") else {
            return call.to_string();
        };
        let Some(len) = call[start..].find('>') else {
            return call.to_string();
        };
        let inner = &call[start + "<kept: ".len()..start + len];
        let mut kept: Vec<&str> = inner.split('|').filter(|f| !ATIME.contains(f)).collect();
        kept.push("<the host's atime flag>");
        let (before, after) = (&call[..start], &call[start + len + 1..]);
        format!("{before}<kept: {}>{after}", kept.join("|"))
    };
    for call in report.setup.iter_mut() {
        *call = fix(call);
    }
    for step in &mut report.steps {
        for call in step.calls.iter_mut() {
            *call = fix(call);
        }
    }
}

/// Hold each lab of a `lab run --format json` report (from a VM) against
/// the snapshots `tests/tests/snapshots.rs` pins: `mode` is `root` or
/// `rootless`, `layout` the guest's cgroup layout (`v2`, or `v2-delegated`
/// for a user whose subtree is delegated: the cgroup labs run there).
/// Returns the labs whose report differs; insta prints each diff.
pub fn pin_report(report: &serde_json::Value, mode: &str, layout: &str) -> Vec<String> {
    let mut differ = Vec::new();
    for lab in report["labs"].as_array().into_iter().flatten() {
        let Ok(mut r) = serde_json::from_value::<LabReport>(lab.clone()) else {
            differ.push(format!("{}: not a lab report", lab["slug"]));
            continue;
        };
        let Some(decl) = lab_runner::registry::LABS.iter().find(|l| l.slug == r.slug) else {
            differ.push(format!("{}: no such lab", r.slug));
            continue;
        };
        r.duration_ms = 0;
        machine_independent(&mut r);
        let suffix = snapshot_suffix(decl, mode, layout);
        let name = format!("snapshots__lab-{}", decl.full_id());
        let held = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_suffix => suffix,
                omit_expression => true,
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
            }, {
                insta::assert_yaml_snapshot!(name, r, {
                    ".duration_ms" => "[duration]",
                    ".steps[].rerun" => "[re-run command]",
                });
            });
        });
        if held.is_err() {
            differ.push(format!("{}@{}", decl.full_id(), snapshot_suffix(decl, mode, layout)));
        }
    }
    differ
}

/// The measurement names of a `lab bench --format json` report.
pub fn bench_names(report: &serde_json::Value) -> Vec<&str> {
    report["measurements"]
        .as_array()
        .map(|ms| ms.iter().filter_map(|m| m["name"].as_str()).collect())
        .unwrap_or_default()
}
