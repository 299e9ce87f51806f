//! The only module with `unsafe`: process creation and the few calls that
//! must run between `fork` and `execve`. Everything else goes through `nix`'s
//! safe wrappers. Each block says why it is sound.
//!
//! Labs are single-threaded programs (the kit starts no threads), which is
//! what makes `fork` followed by ordinary Rust code in the child sound.
#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid};

use crate::error::KitError;

/// Which side of a `fork` we are on.
pub enum Forked {
    /// In the parent; the child's pid.
    Parent(Pid),
    /// In the child, which dies with SIGKILL when the parent dies.
    Child,
}

/// `fork()`, with the child tied to its parent's life: PR_SET_PDEATHSIG is
/// SIGKILL, so no child outlives a lab that is killed.
pub fn fork_tied() -> Result<Forked, KitError> {
    let parent = nix::unistd::getpid();
    // SAFETY: labs are single-threaded (the kit never starts threads and the
    // runner runs each lab in its own process), so the child may run any code,
    // not only async-signal-safe functions. The child leaves through
    // `std::process::exit`-free paths (`_exit`) so the parent's buffers and
    // destructors are not run twice.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Ok(ForkResult::Child) => {
            // getppid() is 0 when the parent is outside the child's PID namespace.
            let ppid = nix::unistd::getppid();
            if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || (ppid != parent && ppid.as_raw() != 0) {
                // The parent died before the death signal was armed.
                exit_child(137);
            }
            Ok(Forked::Child)
        }
        Err(e) => Err(KitError::Sys {
            call: "fork()",
            errno: e,
        }),
    }
}

/// Arrange for the program started by `cmd` to get SIGKILL when the process
/// that spawned it dies, so a killed runner leaves no lab running.
pub fn kill_with_parent(cmd: &mut Command) -> &mut Command {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the forked child before `execve`. It only
    // makes two system calls (prctl, getppid), both async-signal-safe, and
    // allocates nothing, so it is sound even if the spawning process has
    // other threads.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("parent died before exec"));
            }
            Ok(())
        })
    }
}

/// Leave a forked child at once: no atexit handlers, no destructors, no
/// flushing of buffers that belong to the parent.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it ends the process without
    // touching memory shared with the parent.
    unsafe { libc::_exit(code) }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM into a flag that [`interrupted`] reads, so the
/// runner can finish the report instead of dying mid-line.
pub fn catch_interrupts() -> Result<(), KitError> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let action = SigAction::new(SigHandler::Handler(on_interrupt), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; no other handler for these signals is replaced
        // that someone relies on.
        unsafe { sigaction(sig, &action) }.map_err(|e| KitError::Sys {
            call: "sigaction()",
            errno: e,
        })?;
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM arrived since [`catch_interrupts`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// `fork()` without the death signal, for a process that must outlive its
/// parent to make a point: only use it inside a PID namespace whose init was
/// made by [`fork_tied`], so that the kernel still kills it when the lab dies.
pub fn fork_untied() -> Result<Forked, KitError> {
    // SAFETY: as in `fork_tied`: labs are single-threaded.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Ok(ForkResult::Child) => Ok(Forked::Child),
        Err(e) => Err(KitError::Sys {
            call: "fork()",
            errno: e,
        }),
    }
}

/// Turn a freshly forked child into a process that outlives the lab on its
/// own (the cgroup reaper): a session of its own, so that a signal to the
/// lab's process group (`timeout`, Ctrl-C) misses it; `watch` on stdin;
/// `/dev/null` on stdout and stderr, so that the runner reading the lab's
/// output is not kept waiting; every other descriptor closed.
pub fn detach_as_reaper(watch: std::os::fd::OwnedFd) -> Result<(), KitError> {
    use std::os::fd::IntoRawFd;
    let sys = |call: &'static str| move |errno| KitError::Sys { call, errno };
    nix::unistd::setsid().map_err(sys("setsid()"))?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| KitError::io("/dev/null", e))?;
    nix::unistd::dup2_stdin(&watch).map_err(sys("dup2()"))?;
    nix::unistd::dup2_stdout(&null).map_err(sys("dup2()"))?;
    nix::unistd::dup2_stderr(&null).map_err(sys("dup2()"))?;
    // Their descriptors are closed below, not by their owners.
    let _ = (watch.into_raw_fd(), null.into_raw_fd());
    // SAFETY: close_range only closes descriptors. The process is a fresh
    // single-threaded fork that from here on runs only the reaper's loop and
    // `_exit`: no object owning one of the closed descriptors is used or
    // dropped again (the parent's copies are unaffected).
    let res = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if res != 0 {
        // Kernels before 5.9: close what /proc/self/fd lists.
        let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        for fd in fds.into_iter().filter(|fd| *fd > 2) {
            // SAFETY: as above; closing an fd that is already closed (the
            // directory listing's own) only returns EBADF.
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}
