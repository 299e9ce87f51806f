//! Who the lab runs as, and how it gets the privilege its steps need.
//!
//! Real root means euid 0 with `CAP_SYS_ADMIN` in the *initial* user
//! namespace (`/proc/self/uid_map` maps the whole range). Anyone else can
//! still run most lessons inside a user namespace that maps them to root,
//! unless the system forbids unprivileged user namespaces; then we say
//! exactly what forbids them.

use std::fs;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};
use serde::Serialize;

use crate::environment::{Environment, Why};
use crate::op::Refused;

/// How a lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Real root: every step runs.
    Root,
    /// Root inside a user namespace: `userns` steps run, `root` steps are skipped.
    Rootless,
    /// No user namespace of the kit's and no real root: steps run as far as
    /// the caller's own capabilities allow (root in a container runs those
    /// that need no `CAP_SYS_ADMIN`); the others are skipped or unsupported.
    Restricted,
}

impl Mode {
    /// The word used in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Root => "root",
            Mode::Rootless => "rootless",
            Mode::Restricted => "restricted",
        }
    }
}

/// The caller's identity and privilege, read from the kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// Effective uid.
    pub euid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Whether the process is in the initial user namespace.
    pub initial_userns: bool,
    /// Whether `CAP_SYS_ADMIN` is in the effective set (in the current user namespace).
    pub cap_sys_admin: bool,
    /// The effective set, as `CapEff` of `/proc/self/status` shows it.
    pub cap_eff: u64,
}

impl Caller {
    /// Read the caller's identity.
    pub fn read() -> Self {
        Caller {
            euid: Uid::effective().as_raw(),
            egid: Gid::effective().as_raw(),
            initial_userns: in_initial_userns(),
            cap_sys_admin: caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_ADMIN)
                .unwrap_or(false),
            cap_eff: effective_caps(),
        }
    }

    /// Whether every capability of `caps` is in the effective set.
    pub fn has_all(&self, caps: &[caps::Capability]) -> bool {
        caps.iter().all(|c| self.cap_eff & c.bitmask() != 0)
    }

    /// Root in the initial user namespace without `CAP_SYS_ADMIN`: what a
    /// container's root is with Docker's default capabilities.
    pub fn is_root_without_sys_admin(&self) -> bool {
        self.euid == 0 && self.initial_userns && !self.cap_sys_admin
    }

    /// Root with `CAP_SYS_ADMIN` in the initial user namespace.
    pub fn is_real_root(&self) -> bool {
        self.euid == 0 && self.cap_sys_admin && self.initial_userns
    }

    /// Already privileged inside some user namespace (e.g. `unshare -Ur`).
    pub fn is_userns_root(&self) -> bool {
        self.cap_sys_admin && !self.initial_userns
    }

    /// What is missing for a `root` step, said precisely.
    pub fn missing_root(&self) -> String {
        self.missing_caps(&[], true)
    }

    /// What is missing for a `root` step that needs `caps` in the initial
    /// user namespace (none: every capability). `still_initial`: whether the
    /// lab still runs there (it has not entered a user namespace of its own).
    pub fn missing_caps(&self, caps: &[caps::Capability], still_initial: bool) -> String {
        let names = caps.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
        if !self.initial_userns {
            crate::tr!("needs root in the initial user namespace; this process is inside a user namespace")
        } else if self.euid != 0 {
            // Not the uid itself: reports must read the same for every user.
            crate::tr!("needs root; this process runs as an unprivileged user")
        } else if caps.is_empty() {
            crate::tr!("needs CAP_SYS_ADMIN in the initial user namespace; this root process lacks it")
        } else if !self.has_all(caps) {
            let lacks: Vec<String> = caps
                .iter()
                .filter(|c| self.cap_eff & c.bitmask() == 0)
                .map(|c| c.to_string())
                .collect();
            let add: Vec<String> = lacks
                .iter()
                .map(|c| format!("--cap-add {}", c.trim_start_matches("CAP_")))
                .collect();
            crate::tr!(
                "needs {names} in the initial user namespace; this root process lacks {} (in a container: docker run {})",
                lacks.join(", "),
                add.join(" ")
            )
        } else if !still_initial {
            crate::tr!(
                "needs {names} in the initial user namespace, which this lab left for a user namespace of its own (its other steps need one: this root process lacks CAP_SYS_ADMIN); run them as real root"
            )
        } else {
            crate::tr!("needs {names} in the initial user namespace")
        }
    }
}

/// The effective capability set of this thread (`CapEff`), 0 when unreadable.
pub fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// Whether `/proc/self/uid_map` maps the whole uid range onto itself, which
/// only the initial user namespace does.
pub fn in_initial_userns() -> bool {
    fs::read_to_string("/proc/self/uid_map")
        .map(|m| {
            let f: Vec<&str> = m.split_whitespace().collect();
            f == ["0", "0", "4294967295"]
        })
        .unwrap_or(true)
}

/// What stops this process from making or using a user namespace, from the
/// call that was refused: `unshare(CLONE_NEWUSER)` itself, a write of the
/// new namespace's maps, or a privileged call inside it
/// ([`probe_privileged_call`]). The environment names the cause and the fix
/// where it can ([`Environment::explain`]).
pub fn userns_blocker(failed: &Refused, env: &Environment) -> Why {
    if !std::path::Path::new("/proc/self/ns/user").exists() {
        return Why::new(
            "this kernel has no user namespaces (CONFIG_USER_NS is off)",
            crate::tr!("run as root, or on a kernel built with CONFIG_USER_NS=y"),
        );
    }
    let creating = failed.namespace_kinds().contains(&"user");
    match (creating, env.why(failed)) {
        (true, Some(why)) => why,
        (false, Some(why)) => Why::new(
            crate::tr!("a user namespace can be made here, but not used: {}", why.cause),
            why.fix,
        ),
        (true, None) => Why::new(
            match failed.errno {
                Errno::EPERM => crate::tr!(
                    "creating a user namespace is refused ({} = -1 EPERM): a seccomp filter or security module may forbid it, as container runtimes do by default",
                    failed.call()
                ),
                e => crate::tr!(
                    "creating a user namespace failed: {} = -1 {}",
                    failed.call(),
                    crate::narrate::errno_text(e)
                ),
            },
            crate::tr!("run as root"),
        ),
        (false, None) => Why::new(
            crate::tr!(
                "a user namespace can be made here, but {} = -1 {} in it: privileged calls in a new user namespace are refused (a security module may forbid them)",
                failed.call(),
                crate::narrate::errno_text(failed.errno)
            ),
            crate::tr!("run as root"),
        ),
    }
}

/// `unshare(CLONE_NEWUSER)` and map the caller to root inside, as
/// `unshare --user --map-root-user` does. Returns the narration of each call.
pub fn enter_userns_as_root() -> Result<Vec<String>, (Vec<String>, Errno)> {
    let (uid, gid) = (Uid::effective().as_raw(), Gid::effective().as_raw());
    let op = crate::op::Unshare(CloneFlags::CLONE_NEWUSER);
    let res = crate::op::Op::run(&op);
    let said = vec![crate::op::line(&op, &res)];
    match res {
        Ok(()) => map_root_to(uid, gid, said),
        Err(e) => Err((said, e)),
    }
}

/// In a new user namespace the caller has just entered (by `unshare` or
/// `clone`): map uid and gid 0 inside to `uid` and `gid` outside, the
/// caller's own, which an unprivileged process may do for itself (after
/// denying `setgroups`, for the gid map).
pub fn map_root_to(uid: u32, gid: u32, mut said: Vec<String>) -> Result<Vec<String>, (Vec<String>, Errno)> {
    for (path, content) in [
        ("/proc/self/setgroups", "deny".to_string()),
        ("/proc/self/uid_map", format!("0 {uid} 1")),
        ("/proc/self/gid_map", format!("0 {gid} 1")),
    ] {
        let shown = if path.ends_with("setgroups") {
            content.clone()
        } else {
            "0 <caller> 1".to_string()
        };
        let op = crate::op::WriteFile::new(path, crate::op::Arg::shown_as(content, shown));
        let res = crate::op::Op::run(&op);
        said.push(crate::op::line(&op, &res));
        if let Err(e) = res {
            return Err((said, e));
        }
    }
    Ok(said)
}

/// Read a sysctl for `lab doctor`.
pub fn sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// The privileged call that proves a user namespace can be used, not only
/// made: `unshare(CLONE_NEWUTS)` needs `CAP_SYS_ADMIN` over the caller's user
/// namespace, which a security module may deny in a new one (Ubuntu's
/// AppArmor restriction does). Made in a throwaway child, so that the
/// caller's namespaces do not change. `None` when it is allowed (a namespace
/// limit, `ENOSPC`, is not a refusal of the privilege: the kit tells it per
/// step), else the narrated line of the refused call.
pub fn probe_privileged_call() -> Result<Option<String>, String> {
    in_child(privileged_call_refused)
}

/// `unshare(CLONE_NEWUTS)` here: its narrated line when refused, else empty.
fn privileged_call_refused() -> String {
    let op = crate::op::Unshare(CloneFlags::CLONE_NEWUTS);
    let res = crate::op::Op::run(&op);
    match res {
        Err(Errno::EPERM | Errno::EACCES | Errno::ENOSYS) => crate::op::line(&op, &res),
        _ => String::new(),
    }
}

/// Probe (in a throwaway child) whether an unprivileged user namespace can be
/// made *and used* here, without changing the caller: `Err` names the call
/// that was refused, its cause and the fix.
pub fn probe_userns(env: &Environment) -> Result<(), Why> {
    let refused = in_child(|| match enter_userns_as_root() {
        Err((said, _)) => said.last().cloned().unwrap_or_default(),
        Ok(_) => privileged_call_refused(),
    })
    .map_err(|e| Why::new(e, crate::tr!("run as root")))?;
    match refused.as_deref().and_then(Refused::parse) {
        None => Ok(()),
        Some(r) => Err(userns_blocker(&r, env)),
    }
}

/// Run `f` in a forked child tied to this process and hand back the line it
/// returns (`None` for an empty one).
pub(crate) fn in_child(f: impl FnOnce() -> String) -> Result<Option<String>, String> {
    use crate::sys::{Forked, fork_tied};
    use nix::sys::wait::waitpid;
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe2: {e}"))?;
    match fork_tied() {
        Ok(Forked::Child) => {
            drop(r);
            let line = f();
            let _ = nix::unistd::write(&w, line.as_bytes());
            crate::sys::exit_child(0)
        }
        Ok(Forked::Parent(pid)) => {
            drop(w);
            let mut line = String::new();
            let _ = std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut line);
            match waitpid(pid, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok((!line.is_empty()).then_some(line)),
                other => Err(crate::tr!("the user namespace probe ended unexpectedly: {other:?}")),
            }
        }
        Err(e) => Err(format!("{e}")),
    }
}
