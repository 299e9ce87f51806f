//! A container, assembled from the mechanisms of the earlier labs in the
//! order real runtimes apply them: user namespace first (when rootless), the
//! other namespaces, a root filesystem whose base (the host's `/usr`, or an
//! image's layers) is the read-only lower layer of an overlay with a
//! writable layer on a tmpfs, plus fresh `/proc`, `/dev` and `/tmp`,
//! `pivot_root` with the old root detached, hostname, then capabilities cut
//! to Docker's default set, `no_new_privs`, close-on-exec for every inherited
//! descriptor, a seccomp filter like Docker's default profile, and finally
//! `execve`.
//!
//! The recipe is a [`Plan`]: phases of call values, built once from a
//! [`Config`] and a view of the host, inspectable (and unit-tested) without
//! privilege. Lab 17 runs it one phase per step; `lab container` runs it
//! whole for any command, with the terminal and signal relay of the runner.
//! [`start`] clones the container's PID 1; [`Cgroups`] limits it.
//!
//! What shows it: `/proc/PID/ns/*`, `/proc/self/mountinfo` (the overlay's
//! `lowerdir`, `upperdir`, `workdir`), `/proc/self/status` (`CapEff`,
//! `CapBnd`, `NoNewPrivs`, `Seccomp`), `/proc/net/dev`, `/proc/PID/cgroup`.

mod cgroups;
mod plan;

use std::ffi::CString;

use caps::Capability;
use nix::sched::CloneFlags;

use crate::child::{ChildCtx, Cue};
use crate::event::Event;
use crate::narrate::Narrate;

pub use cgroups::{Cgroups, Controller, Limits};
pub use plan::{Action, Config, HostView, Phase, PhaseName, Plan, PlanError, Seccomp, Stage};

/// The capabilities Docker grants a container by default.
pub const DEFAULT_CAPS: &[Capability] = &[
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

/// The mask of [`DEFAULT_CAPS`], as `/proc/PID/status` shows it.
pub fn default_caps_mask() -> u64 {
    DEFAULT_CAPS.iter().fold(0, |m, c| m | c.bitmask())
}

/// The container's own space while it is set up, a tmpfs inside its
/// private mount namespace: the new root and the overlay's writable layer
/// (as a runtime's bundle directory holds `rootfs/` and the layer's
/// `diff/`). It belongs to the old root, so it is detached with it. `/tmp`
/// unless an image layer lies under it (the tmpfs would hide the layer):
/// then the first of [`STAGES`] that holds none.
pub const STAGE: &str = "/tmp";
/// Where the stage may be, in order of preference.
pub const STAGES: &[&str] = &["/tmp", "/run", "/mnt", "/var/tmp", "/srv", "/opt", "/media"];
/// Where the container's root is assembled, on the default stage.
pub const NEW_ROOT: &str = "/tmp/root";
/// The overlay's writable layer, on the default stage: what the container
/// changed in its root (what `docker diff` lists). Reachable only through
/// the overlay once the old root is gone.
pub const UPPER: &str = "/tmp/upper";

/// The device nodes a container gets, bind-mounted from the host's `/dev`
/// (a user namespace may not create device nodes, but may bind them).
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Parts of `/proc` that reach beyond the container's namespaces (kernel
/// settings, the kernel's memory, the host's keys): made read-only or
/// hidden, as runc's `readonlyPaths` and `maskedPaths` do. Root inside the
/// container is root of the host when there is no user namespace, and
/// `/proc/sys/kernel/core_pattern`, say, would run a host program as root.
pub const PROC_READ_ONLY: &[&str] = &["sys", "sysrq-trigger", "irq", "bus", "fs"];
/// See [`PROC_READ_ONLY`]: these are covered by `/dev/null` or an empty tmpfs.
pub const PROC_MASKED: &[&str] = &[
    "kcore",
    "keys",
    "timer_list",
    "sched_debug",
    "latency_stats",
    "acpi",
    "scsi",
];

/// The namespaces a container's first process is cloned into: the user
/// namespace too when rootless. The cgroup namespace comes later, once the
/// process sits in the container's cgroups, so that they become its root.
pub fn clone_flags(rootless: bool) -> CloneFlags {
    let all = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET;
    if rootless { all | CloneFlags::CLONE_NEWUSER } else { all }
}

/// Start a container's PID 1: `clone` it into new namespaces (with
/// `CLONE_NEWUSER` the kernel makes the user namespace first, and it owns
/// the others). With `placed`, it waits until the caller has placed it (in
/// cgroups) and told it [`Cue::Placed`]. It then maps itself to the caller
/// (rootless), unshares its cgroup namespace and runs `init`.
pub fn start(
    n: &mut impl Narrate,
    rootless: bool,
    placed: bool,
    init: impl FnOnce(&mut ChildCtx) -> anyhow::Result<()>,
) -> anyhow::Result<crate::child::Child> {
    let flags = clone_flags(rootless);
    let (uid, gid) = (
        nix::unistd::Uid::effective().as_raw(),
        nix::unistd::Gid::effective().as_raw(),
    );
    let res = crate::child::spawn_in(n, flags, move |c| {
        if placed {
            c.wait_for(Cue::Placed)?;
        }
        if rootless {
            match crate::privilege::map_root_to(uid, gid, Vec::new()) {
                Ok(said) => said.into_iter().for_each(|text| c.emit(Event::Call { text })),
                Err((said, e)) => {
                    said.into_iter().for_each(|text| c.emit(Event::Call { text }));
                    anyhow::bail!("cannot map the caller to root: {e}");
                }
            }
        }
        c.run(crate::op::Unshare(CloneFlags::CLONE_NEWCGROUP))?;
        init(c)
    });
    match res {
        Ok(child) => Ok(child),
        Err(e) => {
            let errno = e.errno().unwrap_or(nix::errno::Errno::EIO);
            if rootless && errno != nix::errno::Errno::ENOMEM {
                let line = crate::op::line(&crate::op::Fork::new(flags), &Err(errno));
                if let Some(refused) = crate::op::Refused::parse(&line) {
                    let env = crate::environment::Environment::read();
                    // A namespace limit or a filter explains it: the step says so.
                    if let Some(cannot) = env.explain(&refused) {
                        return Err(cannot.into());
                    }
                    anyhow::bail!(
                        "cannot create the container's namespaces: {}",
                        crate::privilege::userns_blocker(&refused, &env)
                    );
                }
            }
            Err(e.into())
        }
    }
}

/// Exit codes of `lab container` for failures of its own, as other runtimes use them.
pub mod exit {
    /// The container could not be set up.
    pub const SETUP: i32 = 125;
    /// The command exists but cannot be executed.
    pub const CANNOT_EXEC: i32 = 126;
    /// The command was not found.
    pub const NOT_FOUND: i32 = 127;
}

/// `execvp` the command; returns only on failure.
pub fn exec(argv: &[String]) -> anyhow::Error {
    let args: Result<Vec<CString>, _> = argv.iter().map(|a| CString::new(a.as_bytes())).collect();
    match args {
        Ok(args) if !args.is_empty() => match nix::unistd::execvp(&args[0], &args) {
            Err(e) => anyhow::anyhow!("execvp({:?}): {e}", argv[0]),
            Ok(never) => match never {},
        },
        Ok(_) => anyhow::anyhow!("no command to run"),
        Err(_) => anyhow::anyhow!("an argument contains a NUL byte"),
    }
}

/// The exit code for a command that could not be executed.
pub fn exec_failure_code(err: &anyhow::Error) -> i32 {
    match err.downcast_ref::<nix::errno::Errno>() {
        Some(nix::errno::Errno::ENOENT) => exit::NOT_FOUND,
        _ if err.to_string().contains("ENOENT") => exit::NOT_FOUND,
        _ => exit::CANNOT_EXEC,
    }
}
