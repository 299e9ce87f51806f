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

/// How a lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Real root: every step runs.
    Root,
    /// Root inside a user namespace: `userns` steps run, `root` steps are skipped.
    Rootless,
    /// No privilege and no user namespace: only `none` steps run.
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
        }
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
        if !self.initial_userns {
            "needs root in the initial user namespace; this process is inside a user namespace".into()
        } else if self.euid == 0 {
            "needs CAP_SYS_ADMIN in the initial user namespace; this root process lacks it".into()
        } else {
            // Not the uid itself: reports must read the same for every user.
            "needs root; this process runs as an unprivileged user".into()
        }
    }
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

/// What stops an unprivileged process from creating a user namespace.
pub fn userns_blocker(err: Errno) -> String {
    let read = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user namespaces are disabled: sysctl user.max_user_namespaces = 0".into();
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "unprivileged user namespaces are disabled: sysctl kernel.unprivileged_userns_clone = 0".into();
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces: sysctl kernel.apparmor_restrict_unprivileged_userns = 1".into();
    }
    if !std::path::Path::new("/proc/self/ns/user").exists() {
        return "this kernel has no user namespaces (CONFIG_USER_NS is off)".into();
    }
    match err {
        Errno::ENOSPC => "the user namespace limit is reached (user.max_user_namespaces)".into(),
        Errno::EPERM => {
            "creating a user namespace is refused (EPERM): a seccomp filter or security module may forbid it, as container runtimes do by default".into()
        }
        e => format!("creating a user namespace failed: {}", crate::narrate::errno_text(e)),
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

/// Probe (in a throwaway child) whether an unprivileged user namespace can be
/// made here, without changing the caller.
pub fn probe_userns() -> Result<(), String> {
    use crate::sys::{Forked, fork_tied};
    use nix::sys::wait::{WaitStatus, waitpid};
    match fork_tied() {
        Ok(Forked::Child) => {
            let code = match enter_userns_as_root() {
                Ok(_) => 0,
                Err((_, e)) => e as i32,
            };
            crate::sys::exit_child(code)
        }
        Ok(Forked::Parent(pid)) => match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, code)) => Err(userns_blocker(Errno::from_raw(code))),
            other => Err(format!("user namespace probe ended unexpectedly: {other:?}")),
        },
        Err(e) => Err(format!("{e}")),
    }
}
