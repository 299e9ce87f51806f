//! Narrated actions that several labs share: each makes the call, tells it
//! like strace, and hands the result back.

use nix::mount::MsFlags;
use nix::sched::CloneFlags;

use crate::narrate::Narrate;
use crate::op::{Fork, Mount, Umount2, Unshare};

pub use crate::op::{CLONE_NEWTIME, clone_flag_names};

/// `unshare(flags)`, narrated with the flag names (`CLONE_NEWUTS|CLONE_NEWPID`).
pub fn unshare_ns(n: &mut impl Narrate, flags: CloneFlags) -> nix::Result<()> {
    n.run(Unshare(flags))
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
    n.run(Mount::change("/", MsFlags::MS_REC | MsFlags::MS_PRIVATE))
}

/// Mount a fresh `proc` at `target`: it shows the pid namespace of the mounter.
pub fn mount_proc(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.run(Mount::fs("proc", target, "proc").flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC))
}

/// Mount a tmpfs at `target` (inside a private mount namespace: scratch space
/// that vanishes with the namespace).
pub fn mount_tmpfs(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.run(Mount::fs("lab-scratch", target, "tmpfs").data("mode=0755"))
}

/// `umount2(target, MNT_DETACH)`.
pub fn detach(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.run(Umount2::detach(target))
}

/// `fork()` a child that exits at once, and reap it: whether the caller can
/// still create processes (it cannot in a PID namespace whose init is gone).
pub fn fork_and_reap(n: &mut impl Narrate) -> nix::Result<()> {
    use crate::sys::{Forked, exit_child};
    let res = crate::op::fork_narrated(n, &Fork::new(CloneFlags::empty()));
    if let Ok(Forked::Child) = res {
        exit_child(0)
    }
    if let Ok(Forked::Parent(pid)) = res {
        nix::sys::wait::waitpid(pid, None)?;
    }
    res.map(drop)
}

/// Create a file with `text` (`open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC,
/// 0644)`, then one `write` unless `text` is empty), narrated.
pub fn create_file(n: &mut impl Narrate, path: &str, text: &str) -> nix::Result<()> {
    use nix::fcntl::OFlag;
    let fd = n.run(crate::op::Open::create(
        path,
        OFlag::O_WRONLY | OFlag::O_EXCL | OFlag::O_CLOEXEC,
        0o644,
    ))?;
    if !text.is_empty() {
        n.run(crate::op::Write {
            fd: std::os::fd::AsFd::as_fd(&fd),
            text,
        })?;
    }
    Ok(())
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
/// answers `EAGAIN`), or until `cap` children exist: the children made and
/// the refusal (`None` when the cap came first: no limit held). The
/// children die with the caller; [`kill_and_reap`] ends them sooner. The
/// forks are narrated as they ran: the successful ones as one line with
/// their count (`fork() = <child> (×15)`), then the refused one.
pub fn fork_until_refused(n: &mut impl Narrate, cap: usize) -> (Vec<nix::unistd::Pid>, Option<nix::errno::Errno>) {
    use crate::sys::Forked;
    let op = Fork::new(CloneFlags::empty());
    let mut children = Vec::new();
    let refused = loop {
        if children.len() >= cap {
            break None;
        }
        match op.run() {
            Ok(Forked::Child) => loop {
                nix::unistd::pause();
            },
            Ok(Forked::Parent(pid)) => children.push(pid),
            Err(errno) => break Some(errno),
        }
    };
    if !children.is_empty() {
        let one = crate::op::line(&op, &Ok(Forked::Parent(children[0])));
        n.emit(crate::Event::Call {
            text: format!("{one} (×{})", children.len()),
        });
    }
    if let Some(errno) = refused {
        n.emit(crate::Event::Call {
            text: crate::op::line(&op, &Err(errno)),
        });
    }
    (children, refused)
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

// ANCHOR: become_nobody
/// The user a lab becomes (`nobody`): never a created account.
pub const NOBODY: u32 = 65534;

/// What sshd does in the child before it execs the user's shell: groups
/// and gid first, while still root; setuid last, since after it nothing may
/// be changed back.
pub fn become_nobody(c: &mut crate::child::ChildCtx) -> anyhow::Result<()> {
    use crate::op::{Setgid, Setgroups, Setuid};
    c.run(Setgroups(vec![]))?;
    c.run(Setgid(NOBODY))?;
    c.run(Setuid(NOBODY))?;
    Ok(())
}
// ANCHOR_END: become_nobody

// ANCHOR: escape
/// `chdir("..")` until "." and ".." are the same directory: the top of
/// the tree this process can reach.
pub fn climb(n: &mut impl Narrate) -> anyhow::Result<()> {
    let id = |p: &str| nix::sys::stat::stat(p).map(|st| (st.st_dev, st.st_ino));
    while id(".")? != id("..")? {
        n.run(crate::op::Chdir::new(".."))?;
    }
    Ok(())
}

/// The classic escape from a `chroot`: a directory descriptor kept from
/// outside the new root, `fchdir` to it, climb with `..` to the top, and
/// `chroot(".")` there. The kernel stops `..` only at the process's root,
/// and the working directory is now outside it.
pub fn escape_chroot(n: &mut impl Narrate, outside: std::os::fd::BorrowedFd<'_>) -> anyhow::Result<()> {
    n.run(crate::op::Fchdir(outside))?;
    climb(n)?;
    n.run(crate::op::Chroot::new("."))?;
    Ok(())
}
// ANCHOR_END: escape
