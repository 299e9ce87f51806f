//! What this machine lets the labs do, read once before a lab's first step
//! (and by `lab doctor`, and into every report's `environment`), and the one
//! place that knows why a machine refuses a call and how to unblock it
//! ([`Environment::explain`]).
//!
//! Everything is read from the kernel, not guessed from its version:
//! - seccomp: `Seccomp:`, `Seccomp_filters:` and `NoNewPrivs:` of
//!   `/proc/self/status` (a filter installed by a container runtime or a
//!   service manager answers calls before the kernel's own checks);
//! - the security modules: `/sys/kernel/security/lsm`, the process's label in
//!   `/proc/self/attr/apparmor/current` or `/proc/self/attr/current`, and
//!   AppArmor's `kernel.apparmor_restrict_unprivileged_userns` (Ubuntu
//!   23.10+: a user namespace may be made, but privileged calls in it are
//!   refused);
//! - the namespace limits `/proc/sys/user/max_*_namespaces`, which belong to
//!   the caller's user namespace: a new user namespace shows its own (the
//!   maximum) while the enclosing ones still count, so they are read before
//!   the kit enters one;
//! - signs of a container (`/.dockerenv`, `/run/.containerenv`,
//!   `container=`, a subrange `uid_map`, PID 1's name);
//! - the kernel features and modules the labs use, probed: `/proc/filesystems`
//!   (overlay, mqueue), `/sys/module` and the module lists of
//!   `/lib/modules/RELEASE` (veth, overlay), `/proc/self/ns` (time
//!   namespaces), a cgroup's `cgroup.kill`, and `clone3` and `close_range`
//!   asked with arguments that change nothing.

use std::collections::BTreeMap;
use std::path::Path;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::op::Refused;
use crate::outcome::CannotRun;

/// The namespace kinds that have a `user.max_KIND_namespaces` limit.
pub const LIMITED_KINDS: [&str; 8] = ["user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"];

/// The sysctls that decide whether unprivileged user namespaces work.
pub const USERNS_SYSCTLS: [&str; 4] = [
    "user.max_user_namespaces",
    "kernel.unprivileged_userns_clone",
    "kernel.apparmor_restrict_unprivileged_userns",
    "kernel.apparmor_restrict_unprivileged_unconfined",
];

/// The Docker options that give a container what the namespace labs need.
pub fn docker_flags() -> String {
    crate::tr!("docker run --privileged, or --cap-add SYS_ADMIN --security-opt seccomp=unconfined")
}

/// What `--format json` of the runner, `lab doctor` and the lab process
/// agree on for the machine a run happened on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Environment {
    /// `uname -r`.
    pub kernel: String,
    /// `v1`, `v2`, `hybrid` or `none`.
    pub cgroup_mode: String,
    /// Effective uid.
    pub euid: u32,
    /// Whether the process is real root (euid 0 with `CAP_SYS_ADMIN` in the initial user namespace).
    pub real_root: bool,
    /// Whether an unprivileged user namespace can be made *and used*, or what blocks it.
    pub userns: String,
    /// What blocks a user namespace, as cause and fix (`userns` says both).
    #[serde(skip)]
    pub userns_blocker: Option<Why>,
    /// The effective capabilities, by name (`full`, `none`, or a list).
    #[serde(default)]
    pub capabilities: String,
    /// The seccomp state of the process.
    #[serde(default)]
    pub seccomp: Seccomp,
    /// The security modules and the process's label.
    #[serde(default)]
    pub lsm: Lsm,
    /// The user namespace sysctls ([`USERNS_SYSCTLS`]), `None` when absent.
    #[serde(default)]
    pub sysctls: BTreeMap<String, Option<String>>,
    /// `user.max_KIND_namespaces` per kind, as the caller's user namespace has them.
    #[serde(default)]
    pub namespace_limits: BTreeMap<String, u64>,
    /// Signs that this process runs inside a container.
    #[serde(default)]
    pub container_signs: Vec<String>,
    /// The kernel features the labs use, probed.
    #[serde(default)]
    pub features: Vec<Feature>,
}

/// The seccomp lines of `/proc/self/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Seccomp {
    /// `disabled`, `strict`, `filter`, or `absent` (a kernel without seccomp).
    pub mode: String,
    /// `Seccomp_filters:` (Linux 5.9+): how many filters are stacked.
    pub filters: Option<u32>,
    /// `NoNewPrivs:`.
    pub no_new_privs: bool,
}

/// The Linux security modules and this process's label.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Lsm {
    /// `/sys/kernel/security/lsm` (`None` when securityfs is not mounted).
    pub modules: Option<Vec<String>>,
    /// The process's label (`unconfined`, `unprivileged_userns (enforce)`,
    /// `system_u:system_r:container_t:s0`), when a module gives one.
    pub label: Option<String>,
}

/// A kernel feature a lab uses, and whether this machine has it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Feature {
    /// `veth`, `overlay`, `mqueue`, `time namespaces`, `cgroup.kill`, `clone3`, `close_range`.
    pub name: String,
    /// What the probe found.
    pub state: FeatureState,
    /// How it was probed, and for a missing one how to get it.
    pub detail: String,
}

/// What a feature probe found.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FeatureState {
    /// There and usable.
    Available,
    /// A module that is not loaded (`sudo modprobe NAME`).
    Loadable,
    /// Not in this kernel.
    Missing,
    /// There, but refused to this process (a seccomp filter answered).
    Refused,
    /// The probe could not tell.
    Unknown,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_matches(|c: char| c.is_whitespace() || c == '\0').to_string())
}

/// A sysctl by its dotted name (`user.max_net_namespaces`), `None` when absent.
pub fn sysctl(name: &str) -> Option<String> {
    read_trimmed(&format!("/proc/sys/{}", name.replace('.', "/")))
}

impl Environment {
    /// Read everything but the user namespace probe (`userns` is `not probed`):
    /// what the lab process reads before its first step.
    pub fn read() -> Environment {
        let caller = crate::privilege::Caller::read();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        };
        let seccomp = Seccomp {
            mode: match field("Seccomp").as_deref() {
                Some("0") => "disabled",
                Some("1") => "strict",
                Some("2") => "filter",
                Some(_) => "unknown",
                None => "absent",
            }
            .to_string(),
            filters: field("Seccomp_filters").and_then(|v| v.parse().ok()),
            no_new_privs: field("NoNewPrivs").as_deref() == Some("1"),
        };
        let capabilities = field("CapEff")
            .and_then(|v| u64::from_str_radix(&v, 16).ok())
            .map(crate::proc::cap_names)
            .unwrap_or_else(|| "unknown".into());
        let label = read_trimmed("/proc/self/attr/apparmor/current")
            .or_else(|| read_trimmed("/proc/self/attr/current"))
            .filter(|l| !l.is_empty());
        let lsm = Lsm {
            modules: read_trimmed("/sys/kernel/security/lsm")
                .map(|s| s.split(',').filter(|m| !m.is_empty()).map(String::from).collect()),
            label,
        };
        Environment {
            kernel: procfs::sys::kernel::Version::current()
                .map(|v| format!("{}.{}.{}", v.major, v.minor, v.patch))
                .unwrap_or_else(|_| "unknown".into()),
            cgroup_mode: crate::cgroup::CgroupMode::detect().as_str().into(),
            euid: caller.euid,
            real_root: caller.is_real_root(),
            userns: crate::tr!("not probed"),
            userns_blocker: None,
            capabilities,
            seccomp,
            lsm,
            sysctls: USERNS_SYSCTLS.iter().map(|s| (s.to_string(), sysctl(s))).collect(),
            namespace_limits: LIMITED_KINDS
                .iter()
                .filter_map(|k| {
                    Some((
                        k.to_string(),
                        sysctl(&format!("user.max_{k}_namespaces"))?.parse().ok()?,
                    ))
                })
                .collect(),
            container_signs: container_signs(caller.initial_userns),
            features: features(),
        }
    }

    /// [`Environment::read`] and whether a user namespace can be made and
    /// used here (a short-lived child tries: call it before starting threads).
    pub fn probe() -> Environment {
        let mut env = Environment::read();
        match crate::privilege::probe_userns(&env) {
            Ok(()) => env.userns = "available".into(),
            Err(why) => {
                env.userns = why.to_string();
                env.userns_blocker = Some(why);
            }
        }
        // A built-in veth leaves no trace in /sys/module: make a pair where
        // it can be made, in a network namespace that dies with the probe.
        if let Some(veth) = env.features.iter_mut().find(|f| f.name == "veth")
            && veth.state != FeatureState::Available
            && let Some((state, detail)) = probe_veth(env.real_root)
        {
            veth.state = state;
            veth.detail = detail;
        }
        env
    }

    /// A sysctl as read ([`USERNS_SYSCTLS`] only).
    pub fn sysctl(&self, name: &str) -> Option<&str> {
        self.sysctls.get(name).and_then(|v| v.as_deref())
    }

    /// Whether a seccomp filter was installed before the lab started.
    pub fn seccomp_filtered(&self) -> bool {
        self.seccomp.mode == "filter"
    }

    /// A feature's probe, by name.
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Why this machine cannot make a namespace of `kind`, when its limit is 0.
    pub fn limit_blocks(&self, kind: &str) -> Option<String> {
        (self.namespace_limits.get(kind) == Some(&0)).then(|| limit_zero(kind, None).to_string())
    }

    /// Whether something on this machine explains why `call` was refused,
    /// and if so the step's status (`unsupported`: the environment, not the
    /// kernel's behaviour) with a reason that names the cause and the fix.
    /// `None` when nothing here explains it: then it stays a failure.
    pub fn explain(&self, call: &Refused) -> Option<CannotRun> {
        self.why(call).map(|w| CannotRun::unsupported(w.to_string()))
    }

    /// The cause of `call`'s refusal on this machine and its fix, when
    /// something here explains it ([`Environment::explain`]).
    pub fn why(&self, call: &Refused) -> Option<Why> {
        let kinds = call.namespace_kinds();
        match call.errno {
            Errno::ENOSPC | Errno::EUSERS if !kinds.is_empty() => Some(self.limit_reason(call, &kinds)),
            Errno::EPERM | Errno::EACCES => self.refusal_reason(call),
            Errno::ENOSYS => Some(if self.seccomp_filtered() {
                Why::new(
                    crate::tr!(
                        "a seccomp filter answered {} with ENOSYS, as if the kernel lacked it: {}",
                        call.name,
                        call.call()
                    ),
                    seccomp_fix(),
                )
            } else {
                Why::new(
                    crate::tr!(
                        "this kernel has no {} system call (ENOSYS from {})",
                        call.name,
                        call.call()
                    ),
                    crate::tr!("a newer kernel has it"),
                )
            }),
            Errno::EINVAL if !kinds.is_empty() => kinds
                .iter()
                .find(|k| !Path::new(&format!("/proc/self/ns/{k}")).exists())
                .map(|k| {
                    Why::new(
                        crate::tr!("this kernel has no {k} namespaces (EINVAL from {})", call.call()),
                        crate::tr!("a newer kernel has them"),
                    )
                }),
            Errno::EINVAL
                if call.name == "pivot_root"
                    && std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| root_is_initramfs(&m)) =>
            {
                Some(Why::new(
                    crate::tr!(
                        "the root is the kernel's initial ramfs (rootfs), which pivot_root cannot move (EINVAL from {})",
                        call.call()
                    ),
                    crate::tr!(
                        "boot with a real root filesystem, or have the initramfs switch_root into a tmpfs first (as `lab vm` does)"
                    ),
                ))
            }
            Errno::ENODEV | Errno::EOPNOTSUPP | Errno::EPROTONOSUPPORT | Errno::ENOENT => self.missing_feature(call),
            _ => None,
        }
    }

    fn limit_reason(&self, call: &Refused, kinds: &[&str]) -> Why {
        let errno = format!("{:?}", call.errno);
        let from = format!("{errno} from {}", call.call());
        if let Some(k) = kinds.iter().find(|k| self.namespace_limits.get(**k) == Some(&0)) {
            return limit_zero(k, Some(&from));
        }
        let read: Vec<String> = kinds
            .iter()
            .map(|k| match self.namespace_limits.get(*k) {
                Some(n) => format!("user.max_{k}_namespaces = {n}"),
                None => format!("user.max_{k}_namespaces absent"),
            })
            .collect();
        Why::new(
            crate::tr!(
                "a namespace limit is reached ({from}), here or in an enclosing user namespace such as a container's ({} here)",
                read.join(", ")
            ),
            crate::tr!(
                "raise it where it is set: sudo sysctl -w user.max_{}_namespaces=10000",
                kinds[0]
            ),
        )
    }

    fn apparmor_restricts(&self) -> bool {
        !self.real_root
            && (self.sysctl("kernel.apparmor_restrict_unprivileged_userns") == Some("1")
                || self
                    .lsm
                    .label
                    .as_deref()
                    .is_some_and(|l| l.starts_with("unprivileged_userns")))
    }

    /// Ubuntu's restriction, for a caller without `CAP_SYS_ADMIN`.
    fn apparmor_reason(&self, call: &Refused) -> Option<Why> {
        if !self.apparmor_restricts() {
            return None;
        }
        let label = self
            .lsm
            .label
            .as_deref()
            .filter(|l| l.starts_with("unprivileged_userns"))
            .map(|l| format!(" (this process's AppArmor label: {l})"))
            .unwrap_or_default();
        Some(Why::new(
            format!(
                "AppArmor refuses privileged calls in unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1){label}: {} = -1 {:?}",
                call.call(),
                call.errno
            ),
            crate::tr!("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or run as root"),
        ))
    }

    fn refusal_reason(&self, call: &Refused) -> Option<Why> {
        let errno = format!("{:?}", call.errno);
        let makes_userns = call.namespace_kinds().contains(&"user");
        if makes_userns && !self.real_root && self.sysctl("kernel.unprivileged_userns_clone") == Some("0") {
            return Some(Why::new(
                crate::tr!(
                    "unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone = 0): {} = -1 {errno}",
                    call.call()
                ),
                crate::tr!("sudo sysctl -w kernel.unprivileged_userns_clone=1, or run as root"),
            ));
        }
        // A filter answers before the kernel's own checks, and it sees
        // system calls, not which file a write goes to: a refused write of
        // a user namespace's maps is the security module's doing.
        let map_write = call.name == "write"
            && ["uid_map", "gid_map", "setgroups"]
                .iter()
                .any(|f| call.args.contains(&format!("/{f},")));
        if map_write && let Some(why) = self.apparmor_reason(call) {
            return Some(why);
        }
        if self.seccomp_filtered() {
            let n = self.seccomp.filters.map_or_else(|| "a".to_string(), |n| n.to_string());
            return Some(Why::new(
                crate::tr!(
                    "a seccomp filter refused {} ({errno}): {}; this process runs under {n} seccomp filter(s) (Seccomp: 2 in /proc/self/status)",
                    call.name,
                    call.call()
                ),
                seccomp_fix(),
            ));
        }
        if let Some(why) = self.apparmor_reason(call) {
            return Some(why);
        }
        let confined = self
            .lsm
            .label
            .as_deref()
            .is_some_and(|l| !l.starts_with("unconfined") && l != "kernel" && !l.contains(":unconfined_t:"));
        if call.errno == Errno::EACCES && confined {
            let modules = self.lsm.modules.as_ref().map_or_else(|| "?".into(), |m| m.join(","));
            return Some(Why::new(
                crate::tr!(
                    "the security module refused {} (EACCES): this process is confined (label {}, modules {modules})",
                    call.call(),
                    self.lsm.label.as_deref().unwrap_or("?")
                ),
                crate::tr!("the audit log names the rule (journalctl -k | grep -i denied); run the labs unconfined"),
            ));
        }
        None
    }

    fn missing_feature(&self, call: &Refused) -> Option<Why> {
        let line = call.call();
        self.features
            .iter()
            .filter(|f| matches!(f.state, FeatureState::Missing | FeatureState::Loadable))
            .find(|f| line.contains(&format!("\"{}\"", f.name)))
            .map(|f| Why::new(format!("{} = -1 {:?}", line, call.errno), f.detail.clone()))
    }
}

/// How to run without a seccomp filter that refuses the labs' calls.
fn seccomp_fix() -> String {
    crate::tr!(
        "run without that filter (in Docker: --security-opt seccomp=unconfined; under systemd: the unit's SystemCallFilter=)"
    )
}

/// Why the machine refused a call: the cause, and what unblocks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    /// What refused it, naming the call, the setting and its value.
    pub cause: String,
    /// A real command or option that unblocks it.
    pub fix: String,
}

impl Why {
    /// A cause and its fix.
    pub fn new(cause: impl Into<String>, fix: impl Into<String>) -> Why {
        Why {
            cause: cause.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::tr!("{}; {}", self.cause, self.fix))
    }
}

/// The reason for a namespace kind whose limit is 0.
fn limit_zero(kind: &str, from: Option<&str>) -> Why {
    let from = from.map(|f| format!(": {f}")).unwrap_or_default();
    if kind == "user" {
        Why::new(
            crate::tr!("user namespaces are disabled (sysctl user.max_user_namespaces = 0){from}"),
            crate::tr!("enable them: sudo sysctl -w user.max_user_namespaces=10000, or run as root"),
        )
    } else {
        Why::new(
            crate::tr!("the user namespace limit for {kind} is 0 (sysctl user.max_{kind}_namespaces = 0){from}"),
            crate::tr!("raise it: sudo sysctl -w user.max_{kind}_namespaces=10000"),
        )
    }
}

/// Signs that this process already runs inside a container.
pub fn container_signs(initial_userns: bool) -> Vec<String> {
    let mut signs = Vec::new();
    for f in ["/.dockerenv", "/run/.containerenv"] {
        if Path::new(f).exists() {
            signs.push(format!("{f} exists"));
        }
    }
    if let Some(c) = read_trimmed("/run/systemd/container") {
        signs.push(format!("/run/systemd/container says {c}"));
    }
    if let Ok(c) = std::env::var("container") {
        signs.push(crate::tr!("environment variable container={c}"));
    }
    if !initial_userns {
        signs.push("not in the initial user namespace (/proc/self/uid_map maps a subrange)".into());
    }
    if let Some(comm) = read_trimmed("/proc/1/comm")
        && !["systemd", "init", "launchd"].contains(&comm.as_str())
    {
        signs.push(format!("PID 1 is {comm:?}, not an init system"));
    }
    signs
}

/// Where a module is: loaded, built in, loadable from `/lib/modules`, or not there.
fn module_state(name: &str) -> (FeatureState, String) {
    if Path::new(&format!("/sys/module/{name}")).exists() {
        return (
            FeatureState::Available,
            crate::tr!("module {name} is loaded (/sys/module/{name})"),
        );
    }
    let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = format!("/lib/modules/{release}");
    let lists = |file: &str| std::fs::read_to_string(format!("{dir}/{file}")).ok();
    let listed = |text: &str| {
        text.lines().any(|l| {
            let path = l.split(':').next().unwrap_or("");
            let base = path.rsplit('/').next().unwrap_or("");
            base.split('.').next() == Some(name) && base.contains(".ko")
        })
    };
    if lists("modules.builtin").as_deref().is_some_and(listed) {
        return (
            FeatureState::Available,
            crate::tr!("built into the kernel ({dir}/modules.builtin)"),
        );
    }
    match lists("modules.dep") {
        Some(dep) if listed(&dep) => (
            FeatureState::Loadable,
            crate::tr!("module {name} is not loaded; load it: sudo modprobe {name}"),
        ),
        Some(_) => (
            FeatureState::Missing,
            crate::tr!(
                "this kernel has no {name} module ({dir}/modules.dep does not list it); a kernel built with it is needed"
            ),
        ),
        None => (
            FeatureState::Unknown,
            crate::tr!(
                "module {name} is not loaded and {dir} has no module lists; if it is a module: sudo modprobe {name}"
            ),
        ),
    }
}

/// Make a veth pair in a throwaway network namespace (of a user namespace
/// of its own, unless real root): `None` when no such namespace can be made.
fn probe_veth(real_root: bool) -> Option<(FeatureState, String)> {
    let line = crate::privilege::in_child(move || {
        if !real_root && crate::privilege::enter_userns_as_root().is_err() {
            return String::new();
        }
        if nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
            return String::new();
        }
        let here = match std::fs::File::open("/proc/self/ns/net") {
            Ok(f) => f,
            Err(_) => return String::new(),
        };
        let made = crate::net::Netlink::open()
            .and_then(|mut nl| nl.add_veth("probe0", "probe1", std::os::fd::AsFd::as_fd(&here)));
        match made {
            Ok(()) => "ok".into(),
            Err(e) => format!("{:?}", e.errno()),
        }
    })
    .ok()??;
    Some(match line.as_str() {
        "ok" => (
            FeatureState::Available,
            crate::tr!("a veth pair was made in a throwaway network namespace"),
        ),
        errno => match module_state("veth") {
            (FeatureState::Loadable, detail) => (FeatureState::Loadable, detail),
            _ => (
                FeatureState::Missing,
                crate::tr!(
                    "making a veth pair in a throwaway network namespace failed ({errno}): this kernel has no veth driver; try: sudo modprobe veth"
                ),
            ),
        },
    })
}

/// A filesystem: in `/proc/filesystems`, or else where its module is.
fn filesystem_state(name: &str, filesystems: &str) -> (FeatureState, String) {
    if filesystems.lines().any(|l| l.split_whitespace().last() == Some(name)) {
        return (FeatureState::Available, format!("{name} is in /proc/filesystems"));
    }
    match module_state(name) {
        (FeatureState::Available, _) | (FeatureState::Unknown, _) => (
            FeatureState::Missing,
            crate::tr!("this kernel has no {name} filesystem (not in /proc/filesystems); try: sudo modprobe {name}"),
        ),
        other => other,
    }
}

fn syscall_state(name: &str, res: nix::Result<()>, filtered: bool) -> (FeatureState, String) {
    match res {
        Ok(()) => (FeatureState::Available, format!("{name} answers")),
        Err(Errno::ENOSYS) if filtered => (
            FeatureState::Refused,
            format!(
                "{name} answers ENOSYS under this process's seccomp filter (Docker's answers clone3 so); the kernel may still have it"
            ),
        ),
        Err(Errno::ENOSYS) => (FeatureState::Missing, crate::tr!("this kernel has no {name} (ENOSYS)")),
        Err(Errno::EINVAL) if name == "close_range" => (
            FeatureState::Missing,
            crate::tr!("close_range has no CLOSE_RANGE_CLOEXEC here (EINVAL: Linux 5.11+)"),
        ),
        Err(e) => (
            FeatureState::Refused,
            format!("{name} is refused: {}", crate::narrate::errno_text(e)),
        ),
    }
}

/// `cgroup.kill` (Linux 5.14) in a cgroup of the v2 hierarchy (the root
/// cgroup has none, so the caller's own or one below the root).
fn cgroup_kill_state() -> (FeatureState, String) {
    let Ok(layout) = crate::cgroup::Layout::read() else {
        return (FeatureState::Unknown, crate::tr!("the cgroup layout is unreadable"));
    };
    let Some(v2) = layout.v2() else {
        return (FeatureState::Missing, crate::tr!("no cgroup v2 hierarchy is mounted"));
    };
    let own = crate::cgroup::cgroup_of(crate::proc::Who::This, v2)
        .ok()
        .and_then(|c| v2.dir_of(&c));
    let mut dirs: Vec<std::path::PathBuf> = own.into_iter().collect();
    if let Ok(entries) = std::fs::read_dir(&v2.mount) {
        dirs.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    let looked: Vec<&std::path::PathBuf> = dirs.iter().filter(|d| **d != v2.mount).collect();
    match looked.first() {
        None => (
            FeatureState::Unknown,
            crate::tr!("no cgroup below the root of {} to look in", v2.mount.display()),
        ),
        Some(_) if looked.iter().any(|d| d.join("cgroup.kill").exists()) => {
            (FeatureState::Available, crate::tr!("a v2 cgroup has cgroup.kill"))
        }
        Some(d) => (
            FeatureState::Missing,
            format!(
                "{} has no cgroup.kill (Linux 5.14+); groups are killed one process at a time",
                d.display()
            ),
        ),
    }
}

/// Probe the features the labs use.
pub fn features() -> Vec<Feature> {
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    let filtered = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Seccomp:") && l.trim_end().ends_with('2'));
    let time = if Path::new("/proc/self/ns/time").exists() {
        (FeatureState::Available, "/proc/self/ns/time exists".to_string())
    } else {
        (
            FeatureState::Missing,
            "/proc/self/ns/time is missing (Linux 5.6+, CONFIG_TIME_NS)".to_string(),
        )
    };
    let probes: Vec<(&str, (FeatureState, String))> = vec![
        ("veth", module_state("veth")),
        ("overlay", filesystem_state("overlay", &filesystems)),
        ("mqueue", filesystem_state("mqueue", &filesystems)),
        ("time namespaces", time),
        ("cgroup.kill", cgroup_kill_state()),
        (
            "clone3",
            syscall_state("clone3", crate::sys::clone3_present(), filtered),
        ),
        (
            "close_range",
            syscall_state("close_range", crate::sys::close_range_cloexec_present(), filtered),
        ),
    ];
    probes
        .into_iter()
        .map(|(name, (state, detail))| Feature {
            name: name.into(),
            state,
            detail,
        })
        .collect()
}

/// Whether the root of the mount namespace `mountinfo` describes is the
/// initial ramfs (`rootfs`): the one mount `pivot_root` refuses to move.
pub fn root_is_initramfs(mountinfo: &str) -> bool {
    mountinfo.lines().any(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        let fstype = fields.iter().position(|f| *f == "-").and_then(|i| fields.get(i + 1));
        fields.get(4) == Some(&"/") && fstype == Some(&"rootfs")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(line: &str) -> Refused {
        Refused::parse(line).expect("a refusal")
    }

    fn env() -> Environment {
        Environment {
            kernel: "6.8.0".into(),
            seccomp: Seccomp {
                mode: "disabled".into(),
                filters: Some(0),
                no_new_privs: false,
            },
            namespace_limits: LIMITED_KINDS.iter().map(|k| (k.to_string(), 63000)).collect(),
            ..Environment::default()
        }
    }

    #[test]
    fn a_limit_of_zero_names_the_sysctl_and_the_fix() {
        let mut e = env();
        e.namespace_limits.insert("net".into(), 0);
        let r = refused("clone(CLONE_NEWNET|SIGCHLD) = -1 ENOSPC (No space left on device)");
        let c = e.explain(&r).expect("explained");
        assert_eq!(c.status, crate::Status::Unsupported);
        assert_eq!(
            c.reason,
            "the user namespace limit for net is 0 (sysctl user.max_net_namespaces = 0): ENOSPC from clone(CLONE_NEWNET|SIGCHLD); raise it: sudo sysctl -w user.max_net_namespaces=10000"
        );
        // A limit reached elsewhere (a container's) is still the environment.
        let c = env().explain(&r).expect("explained");
        assert!(c.reason.contains("a namespace limit is reached"), "{}", c.reason);
    }

    #[test]
    fn apparmor_is_named_before_anything_else_for_an_unprivileged_caller() {
        let mut e = env();
        e.sysctls
            .insert("kernel.apparmor_restrict_unprivileged_userns".into(), Some("1".into()));
        e.lsm.label = Some("unprivileged_userns (enforce)".into());
        let r =
            refused(r#"mount("lab-scratch", "/tmp", "tmpfs", 0, "mode=0755") = -1 EPERM (Operation not permitted)"#);
        let c = e.explain(&r).expect("explained");
        assert!(c.reason.starts_with("AppArmor refuses privileged calls in unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)"), "{}", c.reason);
        assert!(
            c.reason
                .ends_with("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or run as root")
        );
        // Real root is not restricted by it.
        e.real_root = true;
        assert!(e.explain(&r).is_none());
    }

    #[test]
    fn a_filter_answers_first_but_a_map_write_is_the_security_modules() {
        let mut e = env();
        e.seccomp.mode = "filter".into();
        e.sysctls
            .insert("kernel.apparmor_restrict_unprivileged_userns".into(), Some("1".into()));
        let mount = refused(r#"mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL) = -1 EPERM (Operation not permitted)"#);
        assert!(
            e.explain(&mount)
                .expect("explained")
                .reason
                .starts_with("a seccomp filter")
        );
        let map = refused(r#"write(/proc/self/uid_map, "0 <caller> 1") = -1 EPERM (Operation not permitted)"#);
        assert!(e.explain(&map).expect("explained").reason.starts_with("AppArmor"));
    }

    #[test]
    fn a_seccomp_filter_is_named_with_the_call_and_the_docker_option() {
        let mut e = env();
        e.seccomp.mode = "filter".into();
        e.seccomp.filters = Some(1);
        let r = refused(r#"sethostname("lab-06", 6) = -1 EPERM (Operation not permitted)"#);
        let c = e.explain(&r).expect("explained");
        assert!(
            c.reason.starts_with("a seccomp filter refused sethostname (EPERM)"),
            "{}",
            c.reason
        );
        assert!(c.reason.contains("--security-opt seccomp=unconfined"));
    }

    #[test]
    fn nothing_in_the_environment_means_no_explanation() {
        let r = refused(r#"sethostname("lab-06", 6) = -1 EPERM (Operation not permitted)"#);
        assert!(env().explain(&r).is_none());
        let r = refused(r#"open("/tmp/x", O_RDONLY) = -1 ENOENT (No such file or directory)"#);
        assert!(env().explain(&r).is_none());
    }

    #[test]
    fn a_missing_filesystem_names_its_module() {
        let mut e = env();
        e.features.push(Feature {
            name: "overlay".into(),
            state: FeatureState::Loadable,
            detail: "module overlay is not loaded; load it: sudo modprobe overlay".into(),
        });
        let r = refused(r#"mount("overlay", "/tmp/m", "overlay", 0, "lowerdir=/a") = -1 ENODEV (No such device)"#);
        let c = e.explain(&r).expect("explained");
        assert!(c.reason.ends_with("sudo modprobe overlay"), "{}", c.reason);
    }

    #[test]
    fn this_machine_reads_without_error() {
        let e = Environment::read();
        assert!(!e.seccomp.mode.is_empty());
        assert_eq!(e.features.len(), 7);
    }

    #[test]
    fn an_initramfs_root_is_recognised() {
        let initramfs = "1 1 0:2 / / rw - rootfs none rw\n20 1 0:5 / /proc rw,nosuid - proc proc rw\n";
        let disk = "25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n26 25 0:5 / /proc rw - proc proc rw\n";
        assert!(root_is_initramfs(initramfs));
        assert!(!root_is_initramfs(disk));
    }
}
