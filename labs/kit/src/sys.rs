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

/// Mark every descriptor from `first` up as close-on-exec
/// (`close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)`, Linux 5.11+), so that a
/// program started next inherits none of them while the caller may still use
/// them until its `execve`.
pub fn cloexec_from(first: u32) -> nix::Result<()> {
    // SAFETY: close_range only changes descriptor flags of the calling
    // process; no memory is passed to the kernel.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if r == 0 { Ok(()) } else { Err(nix::errno::Errno::last()) }
}

/// Make `tty` the controlling terminal of the calling session leader
/// (`ioctl(fd, TIOCSCTTY, 0)`), as a container's PID 1 does with its pty.
pub fn set_controlling_tty(tty: std::os::fd::BorrowedFd<'_>) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: TIOCSCTTY takes an int argument by value and touches no memory
    // of ours; the descriptor is valid for the borrow's lifetime.
    let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if r == 0 { Ok(()) } else { Err(nix::errno::Errno::last()) }
}

/// The window size of terminal `tty` (`TIOCGWINSZ`).
pub fn window_size(tty: std::os::fd::BorrowedFd<'_>) -> nix::Result<nix::pty::Winsize> {
    use std::os::fd::AsRawFd;
    let mut ws = nix::pty::Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` (which `Winsize` is) to
    // the pointer, which points to a live, properly aligned local.
    let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut ws as *mut nix::pty::Winsize) };
    if r == 0 { Ok(ws) } else { Err(nix::errno::Errno::last()) }
}

/// Set the window size of terminal `tty` (`TIOCSWINSZ`).
pub fn set_window_size(tty: std::os::fd::BorrowedFd<'_>, ws: &nix::pty::Winsize) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: TIOCSWINSZ reads one `struct winsize` from the pointer, which
    // points to a live value for the duration of the call.
    let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, ws as *const nix::pty::Winsize) };
    if r == 0 { Ok(()) } else { Err(nix::errno::Errno::last()) }
}

/// Bring network interface `name` up (`SIOCGIFFLAGS`, then `SIOCSIFFLAGS`
/// with `IFF_UP`) in the caller's network namespace.
pub fn link_up(name: &str) -> nix::Result<()> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    use std::os::fd::AsRawFd;
    let sock = socket(AddressFamily::Inet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)?;
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(nix::errno::Errno::ENAMETOOLONG);
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from and writes the flags into the
    // `ifreq` we own, which lives for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req as *mut libc::ifreq) } != 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: after SIOCGIFFLAGS the union holds the flags member.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above; SIOCSIFFLAGS only reads the `ifreq`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req as *const libc::ifreq) } != 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

/// `clone(flags | SIGCHLD)` of a child that exits at once: what creating
/// a process in new namespaces costs, for `lab bench`. Returns the child's pid
/// for the caller to reap.
pub fn clone_and_exit(flags: nix::sched::CloneFlags) -> nix::Result<Pid> {
    let flags = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null child stack, clone(2) behaves like fork: the child
    // runs on a copy of the caller's stack and memory. It calls nothing but
    // `_exit`, so the stale state it inherits (e.g. libc's cached pid) is
    // never used.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match r {
        -1 => Err(nix::errno::Errno::last()),
        0 => exit_child(0),
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}

/// Use descriptor `n`, inherited across `execve`, without owning it (so it
/// is not closed afterwards); `None` when it is not open.
pub fn inherited_fd<T>(n: std::os::fd::RawFd, f: impl FnOnce(std::os::fd::BorrowedFd<'_>) -> T) -> Option<T> {
    // SAFETY: F_GETFD only reads the descriptor's flags; it fails with EBADF
    // when `n` is not open, which is what we test.
    if unsafe { libc::fcntl(n, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: `n` is open (checked just above) and stays open while `f` runs:
    // the process is single-threaded and nothing else closes it; the borrow
    // cannot escape `f`.
    Some(f(unsafe { std::os::fd::BorrowedFd::borrow_raw(n) }))
}
