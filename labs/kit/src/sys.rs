//! The only module with `unsafe`: process creation and the few calls that
//! must run between `fork` and `execve`. Everything else goes through `nix`'s
//! safe wrappers. Each block says why it is sound.
//!
//! Labs are single-threaded programs (the kit starts no threads), which is
//! what makes `fork` followed by ordinary Rust code in the child sound. The
//! fork and clone wrappers check it at run time ([`single_threaded`]) and
//! refuse to fork a process with other threads, since the child of such a
//! fork may find a lock (malloc's, stdout's) held forever.
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

/// Whether the calling process has only one thread (`/proc/self/task`
/// lists one entry): the condition under which running ordinary code in a
/// forked child is sound. An error when it has more.
pub fn single_threaded() -> Result<(), KitError> {
    // The kit's own unit tests fork from libtest's threads; their children
    // run a few calls and `_exit`. Labs, the runner and the integration
    // tests (single-threaded binaries or `harness = false`) are checked.
    if cfg!(test) {
        return Ok(());
    }
    let threads = std::fs::read_dir("/proc/self/task")
        .map_err(|e| KitError::io("/proc/self/task", e))?
        .count();
    if threads == 1 {
        Ok(())
    } else {
        Err(KitError::Threads(threads))
    }
}

/// `fork()`, with the child tied to its parent's life: PR_SET_PDEATHSIG is
/// SIGKILL, so no child outlives a lab that is killed. Refused in a process
/// with more than one thread ([`single_threaded`]).
pub fn fork_tied() -> Result<Forked, KitError> {
    single_threaded()?;
    let parent = nix::unistd::getpid();
    // SAFETY: the process is single-threaded (checked just above; the kit
    // never starts threads and the runner runs each lab in its own process),
    // so the child may run any code, not only async-signal-safe functions. The child leaves through
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
    // allocates nothing (the errors are raw OS errors), so it is sound even
    // if the spawning process has other threads.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
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
/// parent: inside a PID namespace whose init was made by [`fork_tied`] (the
/// kernel still kills it when the lab dies), or a cleanup process such as
/// the cgroup reaper, which ends by itself once its work is done.
pub fn fork_untied() -> Result<Forked, KitError> {
    single_threaded()?;
    // SAFETY: as in `fork_tied`: the process is single-threaded (checked).
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Ok(ForkResult::Child) => Ok(Forked::Child),
        Err(e) => Err(KitError::Sys {
            call: "fork()",
            errno: e,
        }),
    }
}

/// How [`cloexec_from`] marked the descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloexec {
    /// `close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)` did it (Linux 5.11+).
    CloseRange,
    /// The kernel has no `CLOSE_RANGE_CLOEXEC` (EINVAL before 5.11, ENOSYS
    /// before 5.9): `fcntl(fd, F_SETFD, FD_CLOEXEC)` on each descriptor
    /// listed in `/proc/self/fd`, this many.
    EachFd(usize),
}

/// Mark every descriptor from `first` up as close-on-exec
/// (`close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)`, Linux 5.11+), so that a
/// program started next inherits none of them while the caller may still use
/// them until its `execve`. On an older kernel, which refuses the flag with
/// EINVAL (or the call with ENOSYS), each descriptor in `/proc/self/fd` is
/// marked with `fcntl(F_SETFD, FD_CLOEXEC)`; the result says which ran.
pub fn cloexec_from(first: u32) -> nix::Result<Cloexec> {
    // SAFETY: close_range only changes descriptor flags of the calling
    // process; no memory is passed to the kernel.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(Cloexec::CloseRange);
    }
    match nix::errno::Errno::last() {
        nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS => cloexec_each_fd(first).map(Cloexec::EachFd),
        e => Err(e),
    }
}

/// The fallback of [`cloexec_from`]: every descriptor `/proc/self/fd` lists
/// from `first` up gets FD_CLOEXEC (the listing's own descriptor closes
/// when the listing ends).
fn cloexec_each_fd(first: u32) -> nix::Result<usize> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd: &i32| u32::try_from(*fd).is_ok_and(|fd| fd >= first))
        .collect();
    let mut marked = 0;
    for fd in fds {
        // SAFETY: the descriptor is only borrowed for one fcntl call; one
        // that closed since the listing (the listing's own) gives EBADF.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let flags = match fcntl(borrowed, FcntlArg::F_GETFD) {
            Ok(f) => FdFlag::from_bits_truncate(f),
            Err(nix::errno::Errno::EBADF) => continue,
            Err(e) => return Err(e),
        };
        match fcntl(borrowed, FcntlArg::F_SETFD(flags | FdFlag::FD_CLOEXEC)) {
            Ok(_) => marked += 1,
            Err(nix::errno::Errno::EBADF) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(marked)
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

/// `clone()` with `CLONE_NEW*` flags and the semantics of `fork` (no new
/// stack: the child continues on a copy of the caller's), tied to the parent
/// like [`fork_tied`]: a new process born in new namespaces.
pub fn clone_tied(flags: nix::sched::CloneFlags) -> Result<Forked, KitError> {
    single_threaded()?;
    let parent = nix::unistd::getpid();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // SAFETY: with a null stack pointer, clone(2) behaves like fork(2): the
    // child runs on a copy-on-write copy of the caller's memory and stack.
    // The process is single-threaded (checked above), so skipping glibc's
    // fork handlers leaves no lock held. No CLONE_VM/CLONE_SETTLS/*_TID flag is
    // passed, so the remaining arguments are unused (zero).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match ret {
        -1 => Err(KitError::Sys {
            call: "clone()",
            errno: nix::errno::Errno::last(),
        }),
        0 => {
            let ppid = nix::unistd::getppid();
            if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || (ppid != parent && ppid.as_raw() != 0) {
                exit_child(137);
            }
            Ok(Forked::Child)
        }
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// A kind of System V IPC object (nix has no bindings for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysvKind {
    /// A message queue (`msgget`, `/proc/sysvipc/msg`).
    Msg,
    /// A semaphore set (`semget`, `/proc/sysvipc/sem`).
    Sem,
    /// A shared memory segment (`shmget`, `/proc/sysvipc/shm`).
    Shm,
}

/// `msgget`/`semget`/`shmget(key, ..., IPC_CREAT|IPC_EXCL|0600)`: create one
/// object of `kind` with `key` in the caller's IPC namespace; its id.
pub fn sysv_create(kind: SysvKind, key: i32) -> Result<i32, nix::errno::Errno> {
    let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;
    // SAFETY: plain system calls on integers; no memory is passed or mapped.
    let id = unsafe {
        match kind {
            SysvKind::Msg => libc::msgget(key, flags),
            SysvKind::Sem => libc::semget(key, 1, flags),
            SysvKind::Shm => libc::shmget(key, 4096, flags),
        }
    };
    nix::errno::Errno::result(id)
}

/// `msgctl`/`semctl`/`shmctl(id, IPC_RMID)`: remove an object.
pub fn sysv_remove(kind: SysvKind, id: i32) -> Result<(), nix::errno::Errno> {
    // SAFETY: IPC_RMID reads no buffer, so null pointers are valid here.
    let ret = unsafe {
        match kind {
            SysvKind::Msg => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
            SysvKind::Sem => libc::semctl(id, 0, libc::IPC_RMID),
            SysvKind::Shm => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
        }
    };
    nix::errno::Errno::result(ret).map(drop)
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

// ---------------------------------------------------------------- seccomp

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &{len, filter})`: install a BPF
/// program as a filter of the calling thread. Made here rather than with
/// `seccompiler::apply_filter`, which always sets `PR_SET_NO_NEW_PRIVS`
/// first: the labs show that a process with `CAP_SYS_ADMIN` needs no
/// `no_new_privs` and one without gets `EACCES`, so that call must be the
/// caller's own, narrated.
pub fn seccomp_set_mode_filter(program: &[libc::sock_filter], flags: libc::c_ulong) -> nix::Result<()> {
    let Ok(len) = u16::try_from(program.len()) else {
        return Err(nix::errno::Errno::EINVAL);
    };
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points to `len` valid instructions that outlive the
    // call; the kernel copies them (copy_from_user) and keeps no pointer to
    // our memory, and never writes through `filter`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    nix::errno::Errno::result(r).map(drop)
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)`: from here on the thread may
/// only `read`, `write`, `_exit` and `sigreturn`; any other call is SIGKILL.
/// (nix has no wrapper for it.)
pub fn seccomp_strict() -> nix::Result<()> {
    // SAFETY: PR_SET_SECCOMP with SECCOMP_MODE_STRICT takes no pointer; the
    // remaining arguments are unused and passed as zero.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_STRICT as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    nix::errno::Errno::result(r).map(drop)
}

/// `prctl(PR_GET_SECCOMP)`: the calling thread's seccomp mode (0 or 2; in
/// strict mode the call itself is fatal). (nix has no wrapper for it.)
pub fn seccomp_mode() -> nix::Result<i32> {
    // SAFETY: PR_GET_SECCOMP takes no pointer; the other arguments are unused.
    let r = unsafe {
        libc::prctl(
            libc::PR_GET_SECCOMP,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    nix::errno::Errno::result(r)
}

/// A system call by number without arguments, its raw return value: what a
/// seccomp filter makes of it (a refusal, a trap whose handler returned) is
/// seen unchanged, without a libc wrapper's interpretation.
pub fn syscall0(nr: libc::c_long) -> nix::Result<i64> {
    // SAFETY: the calls made through this function (getpid, sched_yield,
    // numbers that do not exist) take no arguments and touch no memory of
    // ours; the argument registers are not read.
    let r = unsafe { libc::syscall(nr) };
    nix::errno::Errno::result(r)
}

/// A system call of the i386 ABI (`int $0x80`, number in `eax`, no
/// arguments) from this 64-bit process: the same kernel, its 32-bit table
/// of numbers. The raw `eax` after the call (`-errno` on failure). Without
/// IA32 emulation in the kernel the instruction faults and the process
/// gets SIGSEGV.
#[cfg(target_arch = "x86_64")]
pub fn i386_syscall0(nr: u32) -> i64 {
    let mut eax = nr;
    // SAFETY: `int $0x80` enters the kernel's 32-bit entry with the number
    // in eax and (unused) arguments in ebx..ebp; it returns the result in eax
    // and leaves the user stack untouched (the CPU switches to the kernel
    // stack). The 64-bit registers r8-r11 are not preserved by that entry on
    // older kernels, so they are declared clobbered. The calls made through
    // it take no arguments and touch no memory.
    unsafe {
        std::arch::asm!(
            "int 0x80",
            inout("eax") eax,
            lateout("r8") _,
            lateout("r9") _,
            lateout("r10") _,
            lateout("r11") _,
        );
    }
    i64::from(eax as i32)
}

/// `clone3({flags, exit_signal=SIGCHLD}, sizeof)`, with the semantics of
/// `fork` (no new stack). The child `_exit(0)`s at once; the caller gets
/// its pid and must reap it. Returns the raw errno when the kernel (or a
/// filter) refuses. As [`clone_exit_at_once`], sound with other threads.
pub fn clone3_exit_at_once(flags: u64) -> nix::Result<Pid> {
    // SAFETY: clone_args is plain data; all-zero is valid (no pidfd, tid,
    // stack, tls, set_tid or cgroup).
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = flags;
    args.exit_signal = libc::SIGCHLD as u64;
    // SAFETY: with no stack the child runs on a copy-on-write copy of the
    // caller's memory, like fork(2); it only calls `_exit`, so no lock taken
    // by another thread and no buffer shared with the parent is used. The
    // kernel reads `args` once. Only namespace flags are passed by callers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match ret {
        -1 => Err(nix::errno::Errno::last()),
        0 => exit_child(0),
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}

/// `clone(flags|SIGCHLD)` with the semantics of `fork`, for a child that
/// `_exit(0)`s at once: whether the call is allowed. The caller gets its pid
/// and must reap it. Nothing else runs in the child (no flush, no lock), so
/// this is sound even in a process with other threads (the tests).
pub fn clone_exit_at_once(flags: nix::sched::CloneFlags) -> nix::Result<Pid> {
    // SAFETY: with a null stack pointer, clone(2) behaves like fork(2); the
    // child only calls `_exit`, which touches no memory and takes no lock.
    // No CLONE_VM/CLONE_SETTLS/*_TID flag is passed by the callers
    // (namespace flags only), so the other arguments are unused (zero).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match ret {
        -1 => Err(nix::errno::Errno::last()),
        0 => exit_child(0),
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}

/// What a SIGSYS handler saw: `si_code` (`SYS_SECCOMP` = 1 when a filter's
/// `SECCOMP_RET_TRAP` sent it), `si_syscall`, `si_arch` and `si_errno`
/// (the filter's `SECCOMP_RET_DATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sigsys {
    /// `si_code`.
    pub code: i32,
    /// `si_syscall`: the number of the call that trapped.
    pub syscall: i32,
    /// `si_arch`: its `AUDIT_ARCH_*`.
    pub arch: u32,
    /// `si_errno`: the data of the filter's return value.
    pub errno: i32,
}

/// The kernel's `siginfo_t` for SIGSYS (`_sigsys` of the union), which the
/// libc crate does not expose for glibc targets. `repr(C)` places the
/// pointer where the kernel's union starts (after three ints, aligned to a
/// pointer).
#[repr(C)]
struct SigsysRaw {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    call_addr: *mut libc::c_void,
    syscall: libc::c_int,
    arch: libc::c_uint,
}

static SIGSYS_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static SIGSYS_CODE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
static SIGSYS_CALL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
static SIGSYS_ARCH: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static SIGSYS_ERRNO: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_sigsys(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering::SeqCst;
    if info.is_null() {
        return;
    }
    // SAFETY: installed with SA_SIGINFO, so the kernel passes a valid
    // siginfo_t; for SIGSYS its union is `_sigsys`, laid out as SigsysRaw.
    // Only plain integers are read; the handler only stores to atomics,
    // which is async-signal-safe.
    let raw = unsafe { &*(info as *const SigsysRaw) };
    SIGSYS_CODE.store(raw.code, SeqCst);
    SIGSYS_CALL.store(raw.syscall, SeqCst);
    SIGSYS_ARCH.store(raw.arch, SeqCst);
    SIGSYS_ERRNO.store(raw.errno, SeqCst);
    SIGSYS_SEEN.store(true, SeqCst);
}

/// Catch SIGSYS with a handler that records its `siginfo_t` ([`take_sigsys`]
/// reads it). The process then survives a filter's `SECCOMP_RET_TRAP`:
/// after the handler returns, the trapped call returns whatever the
/// registers hold (the call's own number on x86_64: the kernel rolled them
/// back to the entry state, and the call never ran).
pub fn catch_sigsys() -> Result<(), KitError> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let action = SigAction::new(SigHandler::SigAction(on_sigsys), SaFlags::SA_SIGINFO, SigSet::empty());
    // SAFETY: the handler only reads the siginfo it is given and stores to
    // atomics (async-signal-safe); it replaces the default action (core
    // dump), which nobody relies on.
    unsafe { sigaction(Signal::SIGSYS, &action) }
        .map(drop)
        .map_err(|errno| KitError::Sys {
            call: "sigaction(SIGSYS)",
            errno,
        })
}

/// The last SIGSYS the handler of [`catch_sigsys`] saw, once.
pub fn take_sigsys() -> Option<Sigsys> {
    use std::sync::atomic::Ordering::SeqCst;
    SIGSYS_SEEN.swap(false, SeqCst).then(|| Sigsys {
        code: SIGSYS_CODE.load(SeqCst),
        syscall: SIGSYS_CALL.load(SeqCst),
        arch: SIGSYS_ARCH.load(SeqCst),
        errno: SIGSYS_ERRNO.load(SeqCst),
    })
}

/// Whether this kernel has `clone3` (Linux 5.3), asked without making a
/// process: `clone3(NULL, 0)` is `EINVAL` (a size below the first version of
/// `struct clone_args`) where the call exists, `ENOSYS` where it does not
/// (or where a seccomp filter answers so, as Docker's does). `Ok` means
/// `EINVAL`; any other errno is returned.
pub fn clone3_present() -> nix::Result<()> {
    // SAFETY: with size 0 the kernel rejects the call before it reads the
    // (null) argument pointer or creates anything.
    let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<libc::clone_args>(), 0usize) };
    match nix::errno::Errno::result(r) {
        Err(nix::errno::Errno::EINVAL) => Ok(()),
        Err(e) => Err(e),
        // Cannot happen (no process is made with size 0); not a clone3 we know.
        Ok(_) => Err(nix::errno::Errno::EIO),
    }
}

/// Whether this kernel has `close_range` with `CLOSE_RANGE_CLOEXEC` (Linux
/// 5.11), asked without changing anything: `close_range(~0U, ~0U,
/// CLOSE_RANGE_CLOEXEC)` marks a descriptor no process can have. `EINVAL`
/// before 5.11 (the flag is unknown), `ENOSYS` before 5.9.
pub fn close_range_cloexec_present() -> nix::Result<()> {
    // SAFETY: descriptor 4294967295 cannot exist (descriptors are ints
    // below RLIMIT_NOFILE), so no descriptor of ours changes; the call
    // takes no pointers.
    let r = unsafe { libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    nix::errno::Errno::result(r).map(drop)
}

#[cfg(test)]
mod cloexec_tests {
    use super::*;
    use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl, open};
    use nix::sys::stat::Mode;

    fn cloexec(fd: &std::os::fd::OwnedFd) -> bool {
        let f = fcntl(fd, FcntlArg::F_GETFD).expect("F_GETFD");
        FdFlag::from_bits_truncate(f).contains(FdFlag::FD_CLOEXEC)
    }

    #[test]
    fn the_fallback_marks_each_descriptor_from_first_up() {
        // Opened without O_CLOEXEC, as an inherited descriptor would be.
        let a = open("/dev/null", OFlag::O_RDONLY, Mode::empty()).expect("open");
        let b = open("/dev/null", OFlag::O_RDONLY, Mode::empty()).expect("open");
        let (low, high) = if a.as_raw_fd() < b.as_raw_fd() { (a, b) } else { (b, a) };
        assert!(!cloexec(&low) && !cloexec(&high));
        let marked = cloexec_each_fd(u32::try_from(high.as_raw_fd()).expect("fd")).expect("fallback");
        assert!(marked >= 1);
        assert!(cloexec(&high), "the descriptor from `first` is close-on-exec");
        assert!(!cloexec(&low), "a descriptor below `first` is untouched");
    }

    use std::os::fd::AsRawFd;
}
