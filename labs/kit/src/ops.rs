//! Narrated actions that several labs share: each makes the call, tells it
//! like strace, and hands the result back.

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::narrate::Narrate;

/// `CLONE_NEWTIME` (Linux 5.6), which nix's `CloneFlags` does not name.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// `unshare(flags)`, narrated with the flag names (`CLONE_NEWUTS|CLONE_NEWPID`).
pub fn unshare_ns(n: &mut impl Narrate, flags: CloneFlags) -> nix::Result<()> {
    n.call(format!("unshare({})", clone_flag_names(flags)), unshare(flags))
}

/// The `CLONE_NEW*` names in `flags`, joined by `|`.
pub fn clone_flag_names(flags: CloneFlags) -> String {
    let names: Vec<&str> = [
        (CloneFlags::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (CloneFlags::CLONE_NEWNS, "CLONE_NEWNS"),
        (CloneFlags::CLONE_NEWPID, "CLONE_NEWPID"),
        (CloneFlags::CLONE_NEWUTS, "CLONE_NEWUTS"),
        (CloneFlags::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (CloneFlags::CLONE_NEWNET, "CLONE_NEWNET"),
        (CloneFlags::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
        (CLONE_NEWTIME, "CLONE_NEWTIME"),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, n)| n)
    .collect();
    names.join("|")
}

/// Enter a new mount namespace and make every mount in it private, so that
/// nothing mounted from here on can reach the host's mount table, and all of
/// it disappears with the last process of the namespace (even on SIGKILL).
pub fn private_mount_ns(n: &mut impl Narrate) -> nix::Result<()> {
    unshare_ns(n, CloneFlags::CLONE_NEWNS)?;
    make_mounts_private(n)
}

/// Make every mount of the caller's mount namespace private: after
/// `unshare(CLONE_NEWNS)` the copies may still be peers of the host's mounts
/// (systemd makes `/` shared), and `pivot_root` refuses a shared `/` (EINVAL).
pub fn make_mounts_private(n: &mut impl Narrate) -> nix::Result<()> {
    n.call(
        "mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL)",
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        ),
    )
}

/// Mount a fresh `proc` at `target`: it shows the pid namespace of the mounter.
pub fn mount_proc(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.call(
        format!("mount(\"proc\", \"{target}\", \"proc\", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)"),
        mount(
            Some("proc"),
            target,
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )
}

/// Mount a tmpfs at `target` (inside a private mount namespace: scratch space
/// that vanishes with the namespace).
pub fn mount_tmpfs(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.call(
        format!("mount(\"lab-scratch\", \"{target}\", \"tmpfs\", 0, \"mode=0755\")"),
        mount(
            Some("lab-scratch"),
            target,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=0755"),
        ),
    )
}

/// `umount2(target, MNT_DETACH)`.
pub fn detach(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.call(
        format!("umount2(\"{target}\", MNT_DETACH)"),
        umount2(target, MntFlags::MNT_DETACH),
    )
}

/// `fork()` a child that exits at once, and reap it: whether the caller can
/// still create processes (it cannot in a PID namespace whose init is gone).
pub fn fork_and_reap(n: &mut impl Narrate) -> nix::Result<()> {
    use crate::sys::{Forked, exit_child, fork_tied};
    let res = match fork_tied() {
        Ok(Forked::Child) => exit_child(0),
        Ok(Forked::Parent(pid)) => nix::sys::wait::waitpid(pid, None).map(drop),
        Err(crate::KitError::Sys { errno, .. }) => Err(errno),
        Err(_) => Err(nix::errno::Errno::EIO),
    };
    n.call("fork()", res)
}

/// Scratch space for a lab that must create files: a tmpfs mounted over
/// `/tmp` *inside the lab's private mount namespace* (call
/// [`private_mount_ns`] first). The host's `/tmp` is hidden from the lab, not
/// touched; everything created here disappears with the namespace, even when
/// the lab is killed, so there is nothing to clean up. Paths under it
/// (`/tmp/...`) read the same on every machine.
pub fn scratch(n: &mut impl Narrate) -> nix::Result<std::path::PathBuf> {
    mount_tmpfs(n, "/tmp")?;
    Ok(std::path::PathBuf::from("/tmp"))
}

/// Fork children that only wait, until `fork` is refused (a `pids.max` limit
/// answers `EAGAIN`): the children made and the refusal. The children die
/// with the caller; [`kill_and_reap`] ends them sooner.
pub fn fork_until_refused(n: &mut impl Narrate) -> (Vec<nix::unistd::Pid>, nix::errno::Errno) {
    use crate::sys::{Forked, fork_tied};
    let mut children = Vec::new();
    let errno = loop {
        match fork_tied() {
            Ok(Forked::Child) => loop {
                nix::unistd::pause();
            },
            Ok(Forked::Parent(pid)) => children.push(pid),
            Err(e) => break e.errno().unwrap_or(nix::errno::Errno::EIO),
        }
        // A limit that never comes would fork the machine to its knees.
        if children.len() >= 4096 {
            break nix::errno::Errno::UnknownErrno;
        }
    };
    let _ = n.call(
        format!("fork() (after {} that succeeded)", children.len()),
        Err::<(), _>(errno),
    );
    (children, errno)
}

/// SIGKILL each process and reap it.
pub fn kill_and_reap(pids: &[nix::unistd::Pid]) {
    for pid in pids {
        let _ = nix::sys::signal::kill(*pid, nix::sys::signal::Signal::SIGKILL);
    }
    for pid in pids {
        let _ = nix::sys::wait::waitpid(*pid, None);
    }
}
