//! The sandbox a student works in: one process, cloned by `lab` straight
//! into new mount, UTS, IPC, network and PID namespaces (and, for a student
//! without root, a user namespace that maps them to root), tied to `lab`
//! with PR_SET_PDEATHSIG. It is PID 1 of its PID namespace: it starts the
//! student's shell (or a solution's `sh`), reaps orphans, and when it dies
//! the kernel kills every process of the namespace. Nothing it holds
//! outlives it: its mounts (a private copy of the host's table), its
//! hostname, its SysV objects, its interfaces and named network namespaces
//! (bind mounts in its own `/run`) go with its namespaces.
//!
//! Set up before the shell starts, in the sandbox's mount namespace:
//!
//! - `/` is made private recursively first, so no mount propagates to the
//!   host, then `/tmp` and `/run` get tmpfs mounts of their own (so do
//!   `/dev/shm` and `/dev/mqueue`), `/proc` a procfs of the new PID
//!   namespace and `/sys` a sysfs of the new network namespace;
//! - then every mount is made shared again, in peer groups of the sandbox's
//!   own, so that mount propagation can be practised inside;
//! - `/run/lab/control.sock` is how `lab exercise check` and `hint`, run
//!   inside, reach `lab` outside; `/run/lab/bin/lab` is `lab` itself.
//!
//! Where cgroups can be used (root, or a delegated cgroup v2 subtree with the
//! pids controller) the sandbox gets a cgroup of its own under the kit's
//! [`RunGuard`] (`container-labs/run-…/sandbox`, removed on every exit path),
//! enters a cgroup namespace rooted there, and finds that cgroup mounted at
//! `/sys/fs/cgroup` (v2) or `/sys/fs/cgroup/pids` (v1). Its processes start
//! in the leaf `/shell` below it (cgroup v2 lets only a cgroup without
//! processes give controllers to its children).

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, unshare};
use nix::sys::stat::Mode;
use nix::sys::wait::{Id, WaitPidFlag, waitid, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::probe::{SandboxCgroup, Sandboxed};
use crate::cgroup::{Layout, RunGuard, Version};
use crate::child::{self, Child, ChildCtx};
use crate::lab::CannotRun;
use crate::narrate::{Quiet, errno_text};
use crate::privilege::Caller;

/// The hostname a sandbox starts with: a prompt that shows it says where you are.
pub const HOSTNAME: &str = "sandbox";

/// The directory of `lab`'s things inside the sandbox.
pub const RUN_DIR: &str = "/run/lab";

/// The socket through which `lab exercise check` and `hint` inside reach
/// the `lab` that made the sandbox.
pub const SOCKET: &str = "/run/lab/control.sock";

/// Where a solution's script is copied inside.
pub const SOLUTION: &str = "/run/lab/solution.sh";

/// Set in the sandbox's shell: the exercise's id.
pub const ENV_EXERCISE: &str = "LAB_EXERCISE";

/// Set in the sandbox's shell: the path of [`SOCKET`].
pub const ENV_SOCKET: &str = "LAB_EXERCISE_SOCKET";

/// Errors making or running a sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// This machine or caller cannot have one (or not one with a cgroup).
    #[error("{0}")]
    Cannot(#[from] CannotRun),
    /// Making it failed.
    #[error("cannot make the sandbox: {0}")]
    Setup(String),
}

fn setup(what: impl std::fmt::Display) -> SandboxError {
    SandboxError::Setup(what.to_string())
}

/// What runs in the sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Command {
    /// An interactive shell on the caller's terminal.
    Shell(PathBuf),
    /// `sh FILE`, stdin from `/dev/null`, its output on `lab`'s stderr. It is
    /// kept as a zombie after it returns, so the checks can read its ids.
    /// FILE is read by `lab` and copied to `/run/lab/solution.sh` inside
    /// (the sandbox's `/tmp` is not the host's).
    Script(PathBuf),
}

/// How to make a sandbox.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The exercise (set as `LAB_EXERCISE`).
    pub exercise: String,
    /// What to run in it.
    pub command: Command,
    /// Give it a cgroup of its own (when that fails, it has none: see
    /// [`Sandbox::notes`]); `required` makes that failure an error.
    pub cgroup: CgroupWish,
    /// `lab` itself, bound onto `/run/lab/bin/lab` inside.
    pub lab_exe: Option<PathBuf>,
}

/// Whether the sandbox gets a cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupWish {
    /// None.
    No,
    /// One where it can.
    IfPossible,
    /// One, or no sandbox.
    Required,
}

/// Messages from the sandbox's init to `lab`.
#[derive(Debug, Serialize, Deserialize)]
enum Up {
    Cloned,
    CgroupNs,
    Ready,
    Started(i32),
    Exited(String),
}

/// The cgroup to mount inside.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum CgroupMount {
    V2,
    V1 { dir: String, options: String },
}

/// Whether a sandbox can have a cgroup of its own here, and why not.
pub fn cgroups_usable(caller: &Caller) -> Result<(), CannotRun> {
    let layout =
        Layout::read().map_err(|e| CannotRun::unsupported(crate::tr!("no cgroup hierarchy is usable: {e}")))?;
    let h = layout
        .holder("pids")
        .ok_or_else(|| CannotRun::unsupported(crate::tr!("no mounted cgroup hierarchy holds the pids controller")))?;
    if caller.is_real_root() {
        return Ok(());
    }
    if h.version == Version::V1 {
        return Err(CannotRun::skip(crate::tr!(
            "needs root: the pids controller is on a cgroup v1 hierarchy ({}), which only root may change; \
             only a cgroup v2 subtree can be delegated",
            h.mount.display()
        )));
    }
    let (dir, _) = crate::cgroup::run::delegated_subtree(&layout)
        .map_err(|why| CannotRun::skip(crate::tr!("needs root or a delegated cgroup subtree: {why}")))?;
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    if !enabled.split_whitespace().any(|c| c == "pids") {
        return Err(CannotRun::skip(crate::tr!(
            "the delegated cgroup subtree ({}) does not give the pids controller to its children",
            dir.display()
        )));
    }
    Ok(())
}

/// A running sandbox. Dropping it kills everything in it and removes its cgroup.
pub struct Sandbox {
    init: Option<Child>,
    info: Sandboxed,
    listener: Option<UnixListener>,
    guard: Option<RunGuard>,
    notes: Vec<String>,
    exited: Option<String>,
}

/// What happened while [`Sandbox::wait`] waited.
pub enum Happening {
    /// The shell (or the solution's `sh`) ended: how.
    Exited(String),
    /// `lab exercise check` or `hint` inside connected.
    Request(UnixStream),
    /// Nothing, for the time given.
    Quiet,
}

fn mount_err(call: String) -> impl FnOnce(Errno) -> anyhow::Error {
    move |e| anyhow::anyhow!("{call} failed: {}", errno_text(e))
}

/// `mount(source, target, fstype, flags, data)` with the call named in the error.
fn do_mount(source: &str, target: &str, fstype: &str, flags: MsFlags, data: Option<&str>) -> anyhow::Result<()> {
    mount(Some(source), target, Some(fstype), flags, data)
        .map_err(mount_err(format!("mount(\"{source}\", \"{target}\", \"{fstype}\")")))
}

fn propagation(flags: MsFlags, shown: &str) -> anyhow::Result<()> {
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | flags, None::<&str>)
        .map_err(mount_err(format!("mount(NULL, \"/\", NULL, MS_REC|{shown})")))
}

/// The sandbox's mount table, made in its init (see the module's docs).
fn make_mounts(cgroup: Option<&CgroupMount>, lab_exe: Option<&Path>) -> anyhow::Result<()> {
    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    let sealed = nosuid_nodev | MsFlags::MS_NOEXEC;
    // First: nothing mounted from here on may reach the host.
    propagation(MsFlags::MS_PRIVATE, "MS_PRIVATE")?;
    // Held open before the sandbox's own /tmp and /run hide it (a clone
    // under /tmp runs its lab from there).
    let exe = lab_exe
        .map(|e| {
            nix::fcntl::open(
                e,
                nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", e.display()))
        })
        .transpose()?;
    do_mount("sandbox", "/tmp", "tmpfs", nosuid_nodev, Some("mode=1777"))?;
    do_mount("sandbox", "/run", "tmpfs", nosuid_nodev, Some("mode=0755"))?;
    do_mount("proc", "/proc", "proc", sealed, None)?;
    // Best effort: a sysfs of the new network namespace (refused where /sys
    // is partly hidden, e.g. in some containers), its own shared memory and
    // POSIX message queues.
    let _ = do_mount("sysfs", "/sys", "sysfs", sealed, None);
    if Path::new("/dev/shm").is_dir() {
        do_mount("sandbox", "/dev/shm", "tmpfs", nosuid_nodev, Some("mode=1777"))?;
    }
    if Path::new("/dev/mqueue").is_dir() {
        let _ = do_mount("mqueue", "/dev/mqueue", "mqueue", sealed, None);
    }
    match cgroup {
        None => {}
        Some(CgroupMount::V2) => do_mount("cgroup2", "/sys/fs/cgroup", "cgroup2", sealed, None)?,
        Some(CgroupMount::V1 { dir, options }) => {
            do_mount("cgroup", "/sys/fs/cgroup", "tmpfs", sealed, Some("mode=0755"))?;
            let target = format!("/sys/fs/cgroup/{dir}");
            nix::unistd::mkdir(target.as_str(), Mode::from_bits_truncate(0o755))
                .map_err(mount_err(format!("mkdir(\"{target}\")")))?;
            do_mount("cgroup", &target, "cgroup", sealed, Some(options))?;
        }
    }
    // Then: shared again, in peer groups of the sandbox's own.
    propagation(MsFlags::MS_SHARED, "MS_SHARED")?;
    for dir in [RUN_DIR, "/run/lab/bin"] {
        nix::unistd::mkdir(dir, Mode::from_bits_truncate(0o755)).map_err(mount_err(format!("mkdir(\"{dir}\")")))?;
    }
    if let Some(exe) = exe {
        use std::os::fd::AsRawFd;
        let target = "/run/lab/bin/lab";
        std::fs::File::create(target).map_err(|e| anyhow::anyhow!("cannot create {target}: {e}"))?;
        let source = format!("/proc/self/fd/{}", exe.as_raw_fd());
        mount(
            Some(source.as_str()),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(mount_err(format!("mount(\"{source}\", \"{target}\", NULL, MS_BIND)")))?;
    }
    Ok(())
}

/// Start the command in a child of the sandbox's init; its pid inside.
fn start_command(command: &Command, env: &[(String, String)]) -> anyhow::Result<i32> {
    use std::os::unix::process::CommandExt;
    match crate::sys::fork_tied()? {
        crate::sys::Forked::Parent(pid) => Ok(pid.as_raw()),
        crate::sys::Forked::Child => {
            let mut cmd = match command {
                Command::Shell(shell) => {
                    foreground();
                    std::process::Command::new(shell)
                }
                Command::Script(_) => {
                    let mut c = std::process::Command::new("sh");
                    c.arg(SOLUTION).stdin(std::process::Stdio::null());
                    // Its output goes where lab's diagnostics go: stdout is the report.
                    if let Ok(err) = std::io::stderr().as_fd().try_clone_to_owned() {
                        c.stdout(err);
                    }
                    c
                }
            };
            cmd.envs(env.iter().map(|(k, v)| (k, v))).current_dir("/tmp");
            // Nothing of lab's (its channel, a cgroup reaper's pipe) reaches the student.
            let _ = crate::sys::cloexec_from(3);
            let err = cmd.exec();
            eprintln!("lab exercise: cannot start {command:?}: {err}");
            crate::sys::exit_child(127)
        }
    }
}

/// Put the caller in a process group of its own and give it the terminal
/// on stdin, if there is one: a shell inside starts as the foreground job
/// of a group it can see (`lab`'s group has no number in the sandbox's PID
/// namespace, and a job-control shell that finds none fails to give the
/// terminal back when it exits).
fn foreground() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let stdin = std::io::stdin();
    if nix::unistd::tcgetpgrp(stdin.as_fd()).is_err()
        || nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).is_err()
    {
        return;
    }
    // A background group may set the terminal's group only with SIGTTOU blocked.
    let mut block = SigSet::empty();
    block.add(Signal::SIGTTOU);
    let mut old = SigSet::empty();
    if sigprocmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).is_ok() {
        let _ = nix::unistd::tcsetpgrp(stdin.as_fd(), nix::unistd::getpgrp());
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
}

/// The sandbox's init: everything between `clone` and the end.
fn init_main(c: &mut ChildCtx, plan: &Plan) -> anyhow::Result<()> {
    if plan.userns {
        crate::privilege::map_root_to(plan.outer.0, plan.outer.1, Vec::new()).map_err(|(said, e)| {
            anyhow::anyhow!(
                "mapping the student to root in the sandbox's user namespace failed ({}): {}",
                said.last().map_or("", String::as_str),
                errno_text(e)
            )
        })?;
    }
    c.send(&Up::Cloned)?;
    let cgroup: Option<CgroupMount> = c.recv()?;
    if cgroup.is_some() {
        // The cgroup namespace is rooted where lab has just put us.
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(mount_err("unshare(CLONE_NEWCGROUP)".into()))?;
        c.send(&Up::CgroupNs)?;
        c.recv::<()>()?;
    }
    make_mounts(cgroup.as_ref(), plan.lab_exe.as_deref())?;
    if let Some(text) = &plan.script {
        std::fs::write(SOLUTION, text).map_err(|e| anyhow::anyhow!("cannot write {SOLUTION}: {e}"))?;
    }
    nix::unistd::sethostname(HOSTNAME).map_err(mount_err(format!("sethostname(\"{HOSTNAME}\")")))?;
    let mut nl = crate::net::Netlink::open().map_err(|e| anyhow::anyhow!("{e}"))?;
    nl.set_up("lo").map_err(|e| anyhow::anyhow!("cannot set lo up: {e}"))?;
    c.send(&Up::Ready)?;
    c.recv::<()>()?;
    let shell = start_command(&plan.command, &plan.env)?;
    c.send(&Up::Started(shell))?;
    // Strictly one message at a time: lab polls the channel's descriptor,
    // which says nothing about a second message already buffered.
    c.recv::<()>()?;
    let ended = match plan.command {
        // PID 1 reaps every orphan, until the shell itself ends.
        Command::Shell(_) => loop {
            match waitpid(None::<Pid>, None) {
                Ok(st) if st.pid() == Some(Pid::from_raw(shell)) => break child::describe(&st),
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => break format!("lost: {}", errno_text(e)),
            }
        },
        // A solution's sh stays a zombie: its ids are what the checks read.
        Command::Script(_) => match waitid(
            Id::Pid(Pid::from_raw(shell)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Ok(st) => child::describe(&st),
            Err(e) => format!("lost: {}", errno_text(e)),
        },
    };
    c.send(&Up::Exited(ended))?;
    // Until lab is done with us (or gone): then everything inside dies with us.
    let _ = c.recv::<()>();
    Ok(())
}

/// What the init needs to know, fixed before `clone`.
#[derive(Debug)]
struct Plan {
    userns: bool,
    outer: (u32, u32),
    command: Command,
    env: Vec<(String, String)>,
    lab_exe: Option<PathBuf>,
    script: Option<String>,
}

impl Sandbox {
    /// Make the sandbox and start its command.
    pub fn create(spec: &Spec) -> Result<Sandbox, SandboxError> {
        let caller = Caller::read();
        let userns = !caller.is_real_root();
        let outer = (
            nix::unistd::Uid::effective().as_raw(),
            nix::unistd::Gid::effective().as_raw(),
        );
        let mut notes = Vec::new();
        // The cgroup first: the init must be in it before it makes its cgroup namespace.
        let mut cgroup = None;
        if spec.cgroup != CgroupWish::No {
            match Self::make_cgroup(&caller) {
                Ok(c) => cgroup = Some(c),
                Err(e) if spec.cgroup == CgroupWish::Required => return Err(e),
                Err(e) => notes.push(format!("no cgroup of its own: {e}")),
            }
        }
        let path = format!("/run/lab/bin:{}", super::sandbox_path());
        let plan = Plan {
            userns,
            outer,
            command: spec.command.clone(),
            env: vec![
                ("PATH".into(), path),
                (ENV_EXERCISE.into(), spec.exercise.clone()),
                (ENV_SOCKET.into(), SOCKET.into()),
            ],
            lab_exe: spec.lab_exe.clone(),
            script: match &spec.command {
                Command::Script(file) => Some(
                    std::fs::read_to_string(file).map_err(|e| setup(format!("cannot read {}: {e}", file.display())))?,
                ),
                Command::Shell(_) => None,
            },
        };
        let mut flags = CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWPID;
        if userns {
            flags |= CloneFlags::CLONE_NEWUSER;
        }
        let mut init =
            child::spawn_in(&mut crate::narrate::Quiet, flags, move |c| init_main(c, &plan)).map_err(|e| {
                match e.errno() {
                    Some(errno) if userns => {
                        let line = crate::op::line(&crate::op::Fork::new(flags), &Err(errno));
                        let env = crate::environment::Environment::read();
                        let why = match crate::op::Refused::parse(&line) {
                            Some(refused) => match env.explain(&refused) {
                                Some(cannot) => cannot.reason,
                                None => crate::privilege::userns_blocker(&refused, &env).to_string(),
                            },
                            None => errno.desc().to_string(),
                        };
                        SandboxError::Cannot(CannotRun::unsupported(crate::tr!(
                            "clone() into new namespaces failed: {why}"
                        )))
                    }
                    _ => setup(format!("clone() into new namespaces failed: {e}")),
                }
            })?;
        let pid = init.pid().as_raw();
        let expect = |init: &mut Child, want: &str| -> Result<Up, SandboxError> {
            init.recv::<Up>(&mut Quiet).map_err(|e| {
                setup(format!(
                    "{want}: {}",
                    e.to_string().trim_start_matches("child process: ")
                ))
            })
        };
        expect(&mut init, "the sandbox's first process")?;
        let mut info_cgroup = None;
        match cgroup.as_mut() {
            None => init.send(&None::<CgroupMount>).map_err(setup)?,
            Some((_, group)) => {
                group
                    .add(&mut Quiet, pid, "init")
                    .map_err(|e| setup(format!("cannot move the sandbox into its cgroup: {}", errno_text(e))))?;
                let h_version = group.version();
                let mount_plan = match h_version {
                    Version::V2 => CgroupMount::V2,
                    Version::V1 => {
                        let layout = Layout::read().map_err(setup)?;
                        let h = layout
                            .holder("pids")
                            .cloned()
                            .ok_or_else(|| setup("the pids hierarchy went away"))?;
                        let mut options = h.controllers.clone();
                        options.extend(h.name.iter().map(|n| format!("name={n}")));
                        let dir = h
                            .mount
                            .file_name()
                            .map_or("pids".to_string(), |n| n.to_string_lossy().into_owned());
                        CgroupMount::V1 {
                            dir,
                            options: options.join(","),
                        }
                    }
                };
                let inside = match &mount_plan {
                    CgroupMount::V2 => "/sys/fs/cgroup".to_string(),
                    CgroupMount::V1 { dir, .. } => format!("/sys/fs/cgroup/{dir}"),
                };
                init.send(&Some(mount_plan)).map_err(setup)?;
                expect(&mut init, "the sandbox's cgroup namespace")?;
                let leaf = group.path().join("shell");
                let write = |file: &Path, value: &str| {
                    crate::cgroup::write_file(file, value).map_err(|e| {
                        setup(format!(
                            "write({}, {value:?}) failed: {}",
                            file.display(),
                            errno_text(e)
                        ))
                    })
                };
                std::fs::create_dir(&leaf).map_err(|e| setup(format!("mkdir({}) failed: {e}", leaf.display())))?;
                write(&leaf.join("cgroup.procs"), &pid.to_string())?;
                if h_version == Version::V2 {
                    write(&group.path().join("cgroup.subtree_control"), "+pids")?;
                }
                init.send(&()).map_err(setup)?;
                info_cgroup = Some(SandboxCgroup {
                    dir: group.path().to_path_buf(),
                    path: group.cgroup().to_string(),
                    start: "/shell".into(),
                    version: match h_version {
                        Version::V1 => "v1".into(),
                        Version::V2 => "v2".into(),
                    },
                    inside,
                });
            }
        }
        expect(&mut init, "setting up the sandbox's mounts, hostname and lo")?;
        let socket = format!("/proc/{pid}/root{SOCKET}");
        let listener = UnixListener::bind(&socket).map_err(|e| setup(format!("cannot listen on {SOCKET}: {e}")))?;
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666));
        }
        listener.set_nonblocking(true).map_err(setup)?;
        init.send(&()).map_err(setup)?;
        let Up::Started(_) = expect(&mut init, "starting the command")? else {
            return Err(setup("the sandbox's init said something unexpected"));
        };
        let shell = crate::proc::children_of(pid).into_iter().min();
        init.send(&()).map_err(setup)?;
        Ok(Sandbox {
            info: Sandboxed {
                init: pid,
                shell,
                userns,
                hostname: HOSTNAME.into(),
                outer_ids: outer,
                cgroup: info_cgroup,
            },
            init: Some(init),
            listener: Some(listener),
            guard: cgroup.map(|(g, _)| g),
            notes,
            exited: None,
        })
    }

    fn make_cgroup(caller: &Caller) -> Result<(RunGuard, crate::cgroup::Group), SandboxError> {
        cgroups_usable(caller)?;
        let layout = Layout::read().map_err(setup)?;
        let h = layout.holder("pids").cloned().ok_or_else(|| {
            CannotRun::unsupported(crate::tr!("no mounted cgroup hierarchy holds the pids controller"))
        })?;
        let mut guard = RunGuard::create(&mut Quiet, &layout).map_err(|e| setup(format!("cgroups: {e}")))?;
        let group = guard
            .group_in(&mut Quiet, &h, "sandbox", &["pids"])
            .map_err(|e| match e {
                crate::cgroup::CgroupError::Refused(r) => SandboxError::Cannot(crate::outcome::CannotRun::from(r)),
                other => setup(format!("cgroups: {other}")),
            })?;
        Ok((guard, group))
    }

    /// What the checks need to know.
    pub fn info(&self) -> &Sandboxed {
        &self.info
    }

    /// What the sandbox lacks that it would have elsewhere (no cgroup, ...).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// How the command ended, once it did.
    pub fn exited(&self) -> Option<&str> {
        self.exited.as_deref()
    }

    /// Wait up to `timeout` for the command to end or a request from inside.
    pub fn wait(&mut self, timeout: Duration) -> Happening {
        let deadline = Instant::now() + timeout;
        loop {
            if self.exited.is_some() {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                return Happening::Quiet;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let (chan, sock) = {
                let Some(init) = self.init.as_ref() else {
                    return Happening::Quiet;
                };
                let listener: Option<BorrowedFd<'_>> = self.listener.as_ref().map(|l| l.as_fd());
                let mut fds = vec![PollFd::new(init.channel_fd(), PollFlags::POLLIN)];
                if let Some(l) = listener {
                    fds.push(PollFd::new(l, PollFlags::POLLIN));
                }
                let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
                match poll(&mut fds, PollTimeout::from(ms)) {
                    Ok(0) => return Happening::Quiet,
                    Ok(_) => {
                        let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                        (ready(&fds[0]), fds.get(1).is_some_and(ready))
                    }
                    Err(Errno::EINTR) => (false, false),
                    Err(_) => return Happening::Quiet,
                }
            };
            if chan {
                let msg = self.init.as_mut().map(|i| i.recv_or_eof::<Up>(&mut Quiet));
                let how = match msg {
                    Some(Ok(Some(Up::Exited(how)))) => how,
                    Some(Ok(Some(_))) => continue,
                    _ => "the sandbox's init ended".to_string(),
                };
                self.exited = Some(how.clone());
                return Happening::Exited(how);
            }
            if sock && let Some(Ok((stream, _))) = self.listener.as_ref().map(UnixListener::accept) {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                return Happening::Request(stream);
            }
            if Instant::now() >= deadline {
                return Happening::Quiet;
            }
        }
    }

    /// Kill everything in the sandbox and remove its cgroup. Returns the
    /// cgroup directories that could not be removed (none, normally).
    pub fn close(mut self) -> Vec<String> {
        self.listener = None;
        // SIGKILL to PID 1 of the namespace: the kernel kills the rest and
        // the init's exit waits for them.
        drop(self.init.take());
        match self.guard.take() {
            Some(g) => g.close(&mut Quiet),
            None => Vec::new(),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.listener = None;
        drop(self.init.take());
        drop(self.guard.take());
    }
}

/// Give the terminal back to `lab`'s process group after a shell inside
/// took it for its jobs (it cannot give it back itself: from inside its PID
/// namespace `lab`'s group has no number). SIGTTOU is blocked meanwhile, as
/// a background process must for `tcsetpgrp`.
pub fn reclaim_terminal() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let stdin = std::io::stdin();
    let Ok(fg) = nix::unistd::tcgetpgrp(stdin.as_fd()) else {
        return;
    };
    let mine = nix::unistd::getpgrp();
    if fg == mine {
        return;
    }
    let mut block = SigSet::empty();
    block.add(Signal::SIGTTOU);
    let mut old = SigSet::empty();
    if sigprocmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).is_ok() {
        let _ = nix::unistd::tcsetpgrp(stdin.as_fd(), mine);
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
}

/// Send one request (`check` or `hint`) to the `lab` outside, from inside
/// the sandbox, and return its answer (JSON).
pub fn ask(request: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let path = std::env::var(ENV_SOCKET).unwrap_or_else(|_| SOCKET.into());
    if !Path::new(&path).exists() {
        return Err(format!(
            "not inside an exercise sandbox ({path} is missing): start one with `lab exercise start ID`"
        ));
    }
    let mut s = UnixStream::connect(&path).map_err(|e| format!("cannot reach the sandbox's lab at {path}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    s.write_all(format!("{request}\n").as_bytes())
        .map_err(|e| format!("cannot ask the sandbox's lab: {e}"))?;
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .map_err(|e| format!("no answer from the sandbox's lab: {e}"))?;
    Ok(answer)
}

/// Read a request from a connection made by [`ask`].
pub fn read_request(stream: &mut UnixStream) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    let _ = std::io::BufReader::new(&*stream).read_line(&mut line);
    line.trim().to_string()
}

/// Whether a process is still there (a zombie counts as gone).
pub fn alive(pid: i32) -> bool {
    procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .is_ok_and(|st| st.state != 'Z' && st.state != 'X')
}
