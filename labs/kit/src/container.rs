//! A container, assembled from the mechanisms of labs 01–14 in the order real
//! runtimes apply them: user namespace first (when rootless), the other
//! namespaces, a root filesystem made of read-only binds of the host's `/usr`
//! plus fresh `/proc`, `/dev` and `/tmp`, `pivot_root` with the old root
//! detached, hostname, then capabilities cut to Docker's default set,
//! `no_new_privs` and close-on-exec for every inherited descriptor, and
//! finally `execve`. Lab 15 runs these phases one step at a time;
//! `lab container` runs them all for any command.
//!
//! What shows it: `/proc/PID/ns/*`, `/proc/self/mountinfo`,
//! `/proc/self/status` (`CapEff`, `CapBnd`, `NoNewPrivs`), `/proc/net/dev`.

use std::ffi::CString;
use std::io::Write;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability, CapsHashSet};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::CloneFlags;
use nix::unistd::{chdir, pivot_root, sethostname};

use crate::child::ChildCtx;
use crate::event::Event;
use crate::narrate::Narrate;
use crate::ops;
use crate::sys::exit_child;

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

/// Where the container's root is assembled, inside its private mount namespace.
pub const NEW_ROOT: &str = "/tmp";

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
/// cgroups) and sent `()`. It then maps itself to the caller (rootless),
/// unshares its cgroup namespace and runs `init`.
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
    let res = crate::child::spawn_in(flags, move |c| {
        if placed {
            c.recv::<()>()?; // in its cgroups now
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
        ops::unshare_ns(c, CloneFlags::CLONE_NEWCGROUP)?;
        init(c)
    });
    let shown = format!("clone({}|SIGCHLD)", ops::clone_flag_names(flags));
    match res {
        Ok(child) => {
            n.call_shows(shown, Ok::<_, nix::errno::Errno>(()), |()| {
                "CHILD (PID 1 inside)".into()
            })?;
            Ok(child)
        }
        Err(e) => {
            let errno = e.errno().unwrap_or(nix::errno::Errno::EIO);
            n.call(shown, Err::<(), _>(errno))?;
            if rootless && errno != nix::errno::Errno::ENOMEM {
                anyhow::bail!(
                    "cannot create the user namespace: {}",
                    crate::privilege::userns_blocker(errno)
                );
            }
            Err(e.into())
        }
    }
}

fn mkdir_p(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path).map_err(|e| anyhow::anyhow!("mkdir {}: {e}", path.display()))
}

/// The device nodes a container gets, bind-mounted from the host's `/dev`
/// (a user namespace may not create device nodes, but may bind them).
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Assemble a root filesystem at [`NEW_ROOT`] without downloading anything:
/// a tmpfs holding the host's `/usr` read-only, the merged-/usr links, a
/// fresh `/proc`, a minimal `/dev` and a private `/tmp`. With `rootfs`, a
/// prepared directory (e.g. from debootstrap) is bound there instead of the
/// tmpfs and host `/usr`. Call it as PID 1 of the new PID namespace, after
/// [`make_mounts_private`].
pub fn assemble_rootfs(n: &mut impl Narrate, rootfs: Option<&Path>) -> anyhow::Result<PathBuf> {
    let root = PathBuf::from(NEW_ROOT);
    match rootfs {
        Some(dir) => {
            n.call(
                format!(
                    "mount(\"{}\", \"{NEW_ROOT}\", NULL, MS_BIND|MS_REC, NULL)",
                    dir.display()
                ),
                mount(
                    Some(dir),
                    NEW_ROOT,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                ),
            )?;
            // Device nodes the container makes in the host's directory (it
            // keeps CAP_MKNOD) must not open host devices.
            let kept = crate::mount::kept_flags_of(NEW_ROOT);
            n.call(
                format!("mount(NULL, \"{NEW_ROOT}\", NULL, MS_BIND|MS_REMOUNT|MS_NODEV, NULL)"),
                mount(
                    None::<&str>,
                    NEW_ROOT,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_NODEV | kept,
                    None::<&str>,
                ),
            )?;
        }
        None => {
            n.call(
                format!("mount(\"rootfs\", \"{NEW_ROOT}\", \"tmpfs\", MS_NOSUID|MS_NODEV, \"mode=0755\")"),
                mount(
                    Some("rootfs"),
                    NEW_ROOT,
                    Some("tmpfs"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    Some("mode=0755"),
                ),
            )?;
            mkdir_p(&root.join("usr"))?;
            crate::mount::bind_readonly(n, "/usr", &format!("{NEW_ROOT}/usr"))?;
            for top in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
                let host = Path::new("/").join(top);
                match std::fs::read_link(&host) {
                    // Merged /usr: /bin -> usr/bin, and so on.
                    Ok(target) => {
                        let res = std::os::unix::fs::symlink(&target, root.join(top))
                            .map_err(|e| crate::narrate::errno_of_io(&e));
                        n.call(format!("symlink(\"{}\", \"/{top}\")", target.display()), res)?;
                    }
                    Err(_) if host.is_dir() => {
                        mkdir_p(&root.join(top))?;
                        crate::mount::bind_readonly(n, &format!("/{top}"), &format!("{NEW_ROOT}/{top}"))?;
                    }
                    Err(_) => {}
                }
            }
            let etc = root.join("etc");
            mkdir_p(&etc)?;
            for (file, text) in [
                (
                    "passwd",
                    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                ),
                ("group", "root:x:0:\nnogroup:x:65534:\n"),
                ("hosts", "127.0.0.1 localhost\n::1 localhost\n"),
            ] {
                std::fs::write(etc.join(file), text).map_err(|e| anyhow::anyhow!("write /etc/{file}: {e}"))?;
            }
            mkdir_p(&root.join("root"))?;
        }
    }
    for dir in ["proc", "dev", "tmp"] {
        // A prepared root normally has these mount points; if not, they are
        // made in it, as runtimes do, and a root we may not write says so.
        if let Err(e) = std::fs::create_dir_all(root.join(dir)) {
            match rootfs {
                Some(given) => anyhow::bail!(
                    "the root filesystem {} has no /{dir} to mount on, and it cannot be made there: {e}",
                    given.display()
                ),
                None => anyhow::bail!("mkdir {NEW_ROOT}/{dir}: {e}"),
            }
        }
    }
    ops::mount_proc(n, &format!("{NEW_ROOT}/proc"))?;
    protect_proc(n)?;
    let dev = root.join("dev");
    n.call(
        format!("mount(\"dev\", \"{NEW_ROOT}/dev\", \"tmpfs\", MS_NOSUID|MS_NOEXEC|MS_NODEV, \"mode=0755\")"),
        mount(
            Some("dev"),
            &dev,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV,
            Some("mode=0755"),
        ),
    )?;
    for node in DEVICES {
        let target = dev.join(node);
        std::fs::write(&target, b"").map_err(|e| anyhow::anyhow!("create {}: {e}", target.display()))?;
        let host = Path::new("/dev").join(node);
        n.call(
            format!("mount(\"/dev/{node}\", \"{NEW_ROOT}/dev/{node}\", NULL, MS_BIND, NULL)"),
            mount(Some(&host), &target, None::<&str>, MsFlags::MS_BIND, None::<&str>),
        )?;
    }
    for sub in ["pts", "shm"] {
        mkdir_p(&dev.join(sub))?;
    }
    n.call(
        format!("mount(\"devpts\", \"{NEW_ROOT}/dev/pts\", \"devpts\", MS_NOSUID|MS_NOEXEC, \"newinstance,ptmxmode=0666,mode=0620\")"),
        mount(
            Some("devpts"),
            &dev.join("pts"),
            Some("devpts"),
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some("newinstance,ptmxmode=0666,mode=0620"),
        ),
    )?;
    n.call(
        format!("mount(\"shm\", \"{NEW_ROOT}/dev/shm\", \"tmpfs\", MS_NOSUID|MS_NODEV, \"mode=1777\")"),
        mount(
            Some("shm"),
            &dev.join("shm"),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777"),
        ),
    )?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link)).map_err(|e| anyhow::anyhow!("symlink /dev/{link}: {e}"))?;
    }
    n.call(
        format!("mount(\"tmp\", \"{NEW_ROOT}/tmp\", \"tmpfs\", MS_NOSUID|MS_NODEV, \"mode=1777\")"),
        mount(
            Some("tmp"),
            &root.join("tmp"),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=1777"),
        ),
    )?;
    Ok(root)
}

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

/// Apply [`PROC_READ_ONLY`] and [`PROC_MASKED`] to the container's fresh `/proc`.
fn protect_proc(n: &mut impl Narrate) -> anyhow::Result<()> {
    for name in PROC_READ_ONLY {
        let path = format!("{NEW_ROOT}/proc/{name}");
        if Path::new(&path).exists() {
            crate::mount::bind_readonly(n, &path, &path)?;
        }
    }
    for name in PROC_MASKED {
        let path = format!("{NEW_ROOT}/proc/{name}");
        let p = Path::new(&path);
        if p.is_dir() {
            n.call(
                format!("mount(\"masked\", \"{path}\", \"tmpfs\", MS_RDONLY, NULL)"),
                mount(Some("masked"), p, Some("tmpfs"), MsFlags::MS_RDONLY, None::<&str>),
            )?;
        } else if p.exists() {
            n.call(
                format!("mount(\"/dev/null\", \"{path}\", NULL, MS_BIND, NULL)"),
                mount(Some("/dev/null"), p, None::<&str>, MsFlags::MS_BIND, None::<&str>),
            )?;
        }
    }
    Ok(())
}

/// Make every mount of the container's mount namespace private, so nothing
/// it mounts propagates back to the host, and `pivot_root` accepts the tree.
pub use crate::ops::make_mounts_private;

// ANCHOR: pivot
/// `pivot_root` into `new_root`, then detach the old root: unlike `chroot`,
/// nothing of the host's tree stays reachable. `pivot_root(".", ".")`
/// stacks the old root on top of the new one, so no directory for it is
/// needed in the new root (which may be read-only, or not ours to write).
pub fn pivot_into(n: &mut impl Narrate, new_root: &Path) -> anyhow::Result<()> {
    n.call(format!("chdir(\"{}\")", new_root.display()), chdir(new_root))?;
    n.call("pivot_root(\".\", \".\")", pivot_root(".", "."))?;
    n.call("umount2(\".\", MNT_DETACH)", umount2(".", MntFlags::MNT_DETACH))?;
    n.call("chdir(\"/\")", chdir("/"))?;
    Ok(())
}
// ANCHOR_END: pivot

/// Bring `lo` up in the container's network namespace, its only interface.
pub fn loopback_up(n: &mut impl Narrate) -> anyhow::Result<()> {
    let mut nl = crate::net::Netlink::open()?;
    crate::net::link_up(n, &mut nl, "lo")?;
    Ok(())
}

/// Give the container its hostname.
pub fn set_hostname(n: &mut impl Narrate, name: &str) -> nix::Result<()> {
    n.call(format!("sethostname(\"{name}\")"), sethostname(name))
}

// ANCHOR: restrict
/// Cut the capabilities to Docker's default set (bounding set first, so no
/// later `execve` can regain the rest), set `no_new_privs`, and mark every
/// descriptor above stderr close-on-exec.
pub fn restrict(n: &mut impl Narrate) -> anyhow::Result<()> {
    let keep: CapsHashSet = DEFAULT_CAPS.iter().copied().collect();
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| anyhow::anyhow!("prctl(PR_CAPBSET_DROP, {cap}): {e}"))?;
        }
    }
    n.call(
        format!(
            "prctl(PR_CAPBSET_DROP, CAP) for each capability outside the default {}",
            DEFAULT_CAPS.len()
        ),
        Ok::<_, nix::errno::Errno>(()),
    )?;
    // For root, execve makes the new permitted set inheritable | bounding:
    // both must hold the default set and nothing more. Effective before
    // permitted: a capability may not stay effective once it is not permitted.
    for set in [CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        caps::set(None, set, &keep).map_err(|e| anyhow::anyhow!("capset({set:?}): {e}"))?;
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| anyhow::anyhow!("prctl(PR_CAP_AMBIENT_CLEAR_ALL): {e}"))?;
    n.call(
        "capset(permitted = effective = inheritable = the default set)",
        Ok::<(), nix::errno::Errno>(()),
    )?;
    n.call("prctl(PR_SET_NO_NEW_PRIVS, 1)", nix::sys::prctl::set_no_new_privs())?;
    n.call("close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)", crate::sys::cloexec_from(3))?;
    Ok(())
}
// ANCHOR_END: restrict

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

/// What `lab container` runs, and how.
#[derive(Debug, Clone)]
pub struct Spec {
    /// A prepared root filesystem instead of the assembled one.
    pub rootfs: Option<PathBuf>,
    /// The container's hostname.
    pub hostname: String,
    /// Whether `lo` comes up (otherwise the network namespace has it down).
    pub loopback: bool,
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Give the command a terminal of its own (when stdin is a terminal).
    pub tty: bool,
}

/// Narration for `lab container --verbose`: each call on stderr with the
/// time since the container's set-up began, so one can see where it goes.
pub struct Narrator {
    /// When the set-up began; `None` keeps quiet.
    pub since: Option<std::time::Instant>,
}

impl Narrate for Narrator {
    fn emit(&mut self, event: Event) {
        if let (Some(since), Event::Call { text }) = (self.since, &event) {
            // A closed stderr (`2>&1 | head`) must not stop the container.
            let ms = since.elapsed().as_secs_f64() * 1e3;
            let _ = writeln!(std::io::stderr(), "lab container: {ms:>8.3} ms  {text}");
        }
    }
}

/// Where a container's own processes narrate: to the caller over the
/// channel when it wants to hear it, nowhere otherwise (no serialization,
/// no wake-ups of the caller for a plain `lab container`).
enum Say<'a> {
    To(&'a mut ChildCtx),
    Nowhere,
}

impl Narrate for Say<'_> {
    fn emit(&mut self, event: Event) {
        if let Say::To(c) = self {
            c.emit(event);
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

/// The body of PID 1 for `lab container`: everything, then `execve`.
fn init_for(
    spec: &Spec,
    verbose: bool,
    pty_slave: Option<std::os::fd::OwnedFd>,
) -> impl FnOnce(&mut ChildCtx) -> anyhow::Result<()> {
    let spec = spec.clone();
    move |ctx| {
        let c = &mut if verbose { Say::To(ctx) } else { Say::Nowhere };
        make_mounts_private(c)?;
        let root = assemble_rootfs(c, spec.rootfs.as_deref())?;
        pivot_into(c, &root)?;
        set_hostname(c, &spec.hostname)?;
        if spec.loopback {
            loopback_up(c)?;
        }
        restrict(c)?;
        if let Some(slave) = pty_slave {
            use std::os::fd::AsFd;
            nix::unistd::setsid()?;
            crate::sys::set_controlling_tty(slave.as_fd())?;
            nix::unistd::dup2_stdin(&slave)?;
            nix::unistd::dup2_stdout(&slave)?;
            nix::unistd::dup2_stderr(&slave)?;
        }
        // From here on the command speaks for itself: errors go to its stderr.
        let err = exec(&spec.argv);
        let code = match err.downcast_ref::<nix::errno::Errno>() {
            Some(nix::errno::Errno::ENOENT) => exit::NOT_FOUND,
            _ if err.to_string().contains("ENOENT") => exit::NOT_FOUND,
            _ => exit::CANNOT_EXEC,
        };
        eprintln!("lab container: {err:#}");
        exit_child(code)
    }
}

/// Run `spec` in a new container and return the command's exit code (128 +
/// the signal when a signal ended it). `place`, when given, runs in the
/// caller with the pid of the container's first process before it goes on,
/// e.g. to put it into cgroups. Signals the caller receives are forwarded
/// to the container's PID 1; with `spec.tty`, the command gets a terminal of
/// its own and the caller's terminal is relayed to it in raw mode.
pub fn run(
    spec: &Spec,
    verbose: bool,
    place: Option<&dyn Fn(nix::unistd::Pid) -> anyhow::Result<()>>,
) -> anyhow::Result<i32> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use std::os::fd::AsFd;

    let rootless = !crate::privilege::Caller::read().is_real_root();
    let stdin = std::io::stdin();
    let pty = match spec.tty {
        true => Some(nix::pty::openpty(
            crate::sys::window_size(stdin.as_fd()).ok().as_ref(),
            None,
        )?),
        false => None,
    };
    let (master, slave) = match pty {
        Some(p) => (Some(p.master), Some(p.slave)),
        None => (None, None),
    };
    let mut say = Narrator {
        since: verbose.then(std::time::Instant::now),
    };
    let mut ctr = start(&mut say, rootless, place.is_some(), init_for(spec, verbose, slave))?;
    let init = ctr.pid();
    if let Some(place) = place {
        place(init)?;
        ctr.send(&())?;
    }

    // Signals to forward, and SIGCHLD for the container's end, read from a
    // signalfd. Blocked only now: the container must not inherit the mask.
    let mut mask = SigSet::empty();
    for sig in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGCHLD,
    ] {
        mask.add(sig);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)?;
    let sfd = nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_NONBLOCK)?;
    let raw = match (&master, spec.tty) {
        (Some(_), true) => RawMode::enter(stdin.as_fd()).ok(),
        _ => None,
    };
    let mut relay = Relay {
        master: master.as_ref(),
        stdin_open: master.is_some(),
        interrupts: 0,
        init,
    };
    let mut channel_open = true;
    let status = loop {
        // Checked after blocking SIGCHLD: an end before it is caught here,
        // an end after it is a SIGCHLD below.
        match waitpid(init, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(status) => break Ok(status),
            Err(e) => break Err(anyhow::Error::from(e)),
        }
        if let Err(e) = relay.once(&sfd, channel_open.then_some(&mut ctr), &mut say, &mut channel_open) {
            break Err(e);
        }
    };
    if let Some(m) = master.as_ref() {
        relay.drain(m);
    }
    drop(raw);
    sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&mask), None)?;
    let status = status?;
    // An error PID 1 reported before its execve comes with its end.
    ctr.reaped(&mut say)?;
    match status {
        WaitStatus::Exited(_, code) => Ok(code),
        WaitStatus::Signaled(_, sig, _) => Ok(128 + sig as i32),
        other => anyhow::bail!("the container ended oddly: {other:?}"),
    }
}

/// The caller's side while the container runs: signals forwarded to PID 1
/// and, with a terminal, bytes copied between the caller's terminal and the
/// container's.
struct Relay<'a> {
    master: Option<&'a std::os::fd::OwnedFd>,
    stdin_open: bool,
    interrupts: u32,
    init: nix::unistd::Pid,
}

impl Relay<'_> {
    /// Wait for something to happen (a signal, a byte, a message) and deal with it.
    fn once(
        &mut self,
        sfd: &nix::sys::signalfd::SignalFd,
        channel: Option<&mut crate::child::Child>,
        say: &mut Narrator,
        channel_open: &mut bool,
    ) -> anyhow::Result<()> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use nix::sys::signal::{Signal, kill};
        use std::os::fd::AsFd;
        let stdin = std::io::stdin();
        let mut buf = [0u8; 4096];
        let (ready, chan_ready) = {
            let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
            if let Some(m) = self.master {
                fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
                if self.stdin_open {
                    fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
                }
            }
            let chan_at = fds.len();
            if let Some(c) = channel.as_ref() {
                fds.push(PollFd::new(c.channel_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            let r: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
            let chan_ready = r.get(chan_at) == Some(&true);
            (r, chan_ready)
        };
        if chan_ready && let Some(c) = channel {
            *channel_open = c.pump(say)?;
        }
        if ready[0] {
            while let Ok(Some(info)) = sfd.read_signal() {
                let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                    continue;
                };
                match (sig, self.master) {
                    (Signal::SIGCHLD, _) => {} // the caller's loop reaps
                    (Signal::SIGWINCH, Some(m)) => {
                        if let Ok(ws) = crate::sys::window_size(stdin.as_fd()) {
                            let _ = crate::sys::set_window_size(m.as_fd(), &ws);
                        }
                    }
                    (Signal::SIGWINCH, None) => {}
                    (sig @ (Signal::SIGINT | Signal::SIGTERM), _) => {
                        // PID 1 of a namespace ignores signals it has no
                        // handler for, so a forwarded SIGINT may do nothing.
                        self.interrupts += 1;
                        if self.interrupts == 1 {
                            let _ = kill(self.init, sig);
                            let _ = writeln!(
                                std::io::stderr(),
                                "lab container: {sig:?} forwarded to PID 1; again to kill the container"
                            );
                        } else {
                            let _ = kill(self.init, Signal::SIGKILL);
                        }
                    }
                    (sig, _) => {
                        let _ = kill(self.init, sig);
                    }
                }
            }
        }
        if let Some(m) = self.master {
            if ready.get(1) == Some(&true) {
                match nix::unistd::read(m, &mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = nix::unistd::write(std::io::stdout(), &buf[..n]);
                    }
                    // EIO: every slave is closed, the container is ending.
                    _ => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
            if ready.get(2) == Some(&true) {
                match nix::unistd::read(&stdin, &mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = nix::unistd::write(m, &buf[..n]);
                    }
                    _ => self.stdin_open = false,
                }
            }
        }
        Ok(())
    }

    /// Whatever the command printed last is still in the pty.
    fn drain(&self, master: &std::os::fd::OwnedFd) {
        let mut buf = [0u8; 4096];
        let _ = nix::fcntl::fcntl(master, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
        while let Ok(n) = nix::unistd::read(master, &mut buf) {
            if n == 0 || nix::unistd::write(std::io::stdout(), &buf[..n]).is_err() {
                break;
            }
        }
    }
}

/// The caller's terminal in raw mode, restored when dropped.
struct RawMode {
    saved: nix::sys::termios::Termios,
}

impl RawMode {
    fn enter(fd: std::os::fd::BorrowedFd<'_>) -> nix::Result<RawMode> {
        use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
        let saved = tcgetattr(fd)?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        use std::os::fd::AsFd;
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin().as_fd(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}

/// Resource limits of a container, each through the cgroup controller that
/// enforces it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// `pids.max`: how many processes.
    pub pids: Option<u64>,
    /// `memory.max` (v2) or `memory.limit_in_bytes` (v1), swap off where offered.
    pub memory: Option<u64>,
    /// A share of one CPU: `cpu.max` (v2) or the CFS quota (v1) over 100 ms.
    pub cpus: Option<f64>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.pids.is_some() || self.memory.is_some() || self.cpus.is_some()
    }

    fn controllers(&self) -> Vec<&'static str> {
        [
            (self.pids.is_some(), "pids"),
            (self.memory.is_some(), "memory"),
            (self.cpus.is_some(), "cpu"),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect()
    }
}

/// A container's cgroups: one per limited controller, in whichever hierarchy
/// holds it (v1 or v2), under the lab's run guard, which removes them on
/// every exit path (a reaper covers SIGKILL).
pub struct Cgroups {
    guard: crate::cgroup::RunGuard,
    groups: Vec<(&'static str, crate::cgroup::Group)>,
}

impl Cgroups {
    /// Create the cgroups `limits` needs (root, or a delegated v2 subtree).
    pub fn create(n: &mut impl Narrate, limits: &Limits) -> Result<Cgroups, crate::cgroup::CgroupError> {
        let layout = crate::cgroup::Layout::read()?;
        let mut guard = crate::cgroup::RunGuard::create(n, &layout)?;
        let mut groups = Vec::new();
        for controller in limits.controllers() {
            groups.push((controller, guard.group_for(n, controller, controller)?));
        }
        Ok(Cgroups { guard, groups })
    }

    /// Move process `pid` (shown as `who`) into every group.
    pub fn join(&self, n: &mut impl Narrate, pid: i32, who: &str) -> nix::Result<()> {
        self.groups.iter().try_for_each(|(_, g)| g.add(n, pid, who))
    }

    /// Write the limits.
    pub fn apply(&self, n: &mut impl Narrate, limits: &Limits) -> nix::Result<()> {
        for (controller, g) in &self.groups {
            match *controller {
                "pids" => g.set_pids_max(n, limits.pids.unwrap_or(u64::MAX))?,
                "memory" => g.set_memory_limit(n, limits.memory.unwrap_or(u64::MAX))?,
                _ => {
                    let quota = (limits.cpus.unwrap_or(1.0) * 100_000.0).round().max(1000.0) as u64;
                    g.set_cpu_quota(n, quota, 100_000)?
                }
            }
        }
        Ok(())
    }

    /// The group of a controller.
    pub fn group(&self, controller: &str) -> Option<&crate::cgroup::Group> {
        self.groups.iter().find(|(c, _)| *c == controller).map(|(_, g)| g)
    }

    /// Remove everything now (dropping does the same, silently).
    pub fn close(self, n: &mut impl Narrate) -> Vec<String> {
        self.guard.close(n)
    }
}
