//! `lab container`: any command in a container made of the kit's plan
//! ([`lab_kit::container::Plan`]), the same one lab 17 runs step by step.
//! This module is the runtime around it: the command's terminal (a pty of
//! its own, relayed in raw mode), signals forwarded to PID 1, the exit
//! status handed back.

use std::io::Write;
use std::path::PathBuf;

use lab_kit::Event;
use lab_kit::child::{ChildCtx, Cue};
use lab_kit::container::{Config, Plan, start};
use lab_kit::narrate::Narrate;
use lab_kit::sys::exit_child;

/// What `lab container` runs, and how.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The image's layers, the top one first (one: a prepared root
    /// filesystem); none: the root assembled from the host's `/usr`.
    pub layers: Vec<PathBuf>,
    /// Keep the root read-only (no writable layer).
    pub read_only: bool,
    /// The seccomp filter.
    pub seccomp: lab_kit::container::Seccomp,
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

impl Spec {
    /// The kit's plan for this container, run by a caller that is `rootless`.
    pub fn plan(&self, rootless: bool) -> Result<Plan, lab_kit::container::PlanError> {
        Plan::for_this_host(&Config {
            layers: self.layers.clone(),
            read_only: self.read_only,
            seccomp: self.seccomp,
            hostname: self.hostname.clone(),
            loopback: self.loopback,
            rootless,
        })
    }
}

/// Whether this kernel mounts overlay in a user namespace (Linux 5.11).
fn overlay_in_userns() -> bool {
    procfs::KernelVersion::current().map_or(true, |v| v >= procfs::KernelVersion::new(5, 11, 0))
}

/// The body of PID 1 for `lab container`: everything, then `execve`.
fn init_for(
    spec: &Spec,
    plan: Plan,
    verbose: bool,
    pty_slave: Option<std::os::fd::OwnedFd>,
) -> impl FnOnce(&mut ChildCtx) -> anyhow::Result<()> {
    let spec = spec.clone();
    move |ctx| {
        let c = &mut if verbose { Say::To(ctx) } else { Say::Nowhere };
        plan.run(c)?;
        if let Some(slave) = pty_slave {
            use std::os::fd::AsFd;
            nix::unistd::setsid()?;
            lab_kit::sys::set_controlling_tty(slave.as_fd())?;
            nix::unistd::dup2_stdin(&slave)?;
            nix::unistd::dup2_stdout(&slave)?;
            nix::unistd::dup2_stderr(&slave)?;
        }
        // From here on the command speaks for itself: errors go to its stderr.
        let err = lab_kit::container::exec(&spec.argv);
        let code = lab_kit::container::exec_failure_code(&err);
        eprintln!(
            "lab container: {}",
            lab_kit::i18n::Translator::default().text(&format!("{err:#}"))
        );
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

    let rootless = !lab_kit::privilege::Caller::read().is_real_root();
    let mut spec = spec.clone();
    // What `lab container -- sh` should do on such a kernel: still run, as
    // it did before overlays, and say so.
    if rootless && !spec.read_only && spec.layers.len() <= 1 && !overlay_in_userns() {
        eprintln!(
            "lab container: Linux before 5.11 cannot mount overlay in a user namespace: the root stays read-only (as with --read-only)"
        );
        spec.read_only = true;
    }
    let spec = &spec;
    let plan = spec.plan(rootless)?;
    let stdin = std::io::stdin();
    let pty = match spec.tty {
        true => Some(nix::pty::openpty(
            lab_kit::sys::window_size(stdin.as_fd()).ok().as_ref(),
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
    let mut ctr = start(
        &mut say,
        rootless,
        place.is_some(),
        init_for(spec, plan, verbose, slave),
    )?;
    let init = ctr.pid();
    if let Some(place) = place {
        place(init)?;
        ctr.tell(Cue::Placed)?;
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
        other => anyhow::bail!("{}", lab_kit::tr!("the container ended oddly: {other:?}")),
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
        channel: Option<&mut lab_kit::child::Child>,
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
                        if let Ok(ws) = lab_kit::sys::window_size(stdin.as_fd()) {
                            let _ = lab_kit::sys::set_window_size(m.as_fd(), &ws);
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
                                "lab container: {}",
                                lab_kit::i18n::trf(
                                    "{sig} forwarded to PID 1; again to kill the container",
                                    &[&format!("{sig:?}")]
                                )
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
