//! Scratch space for the files a lab makes, where it can be had.
//!
//! Where the lab can make a private mount namespace, its scratch space is a
//! tmpfs over `/tmp` in it ([`crate::ops::scratch`]): the host's `/tmp` is
//! hidden, and everything vanishes with the namespace, even on SIGKILL.
//!
//! Where it cannot (root without `CAP_SYS_ADMIN`, as in a container with
//! Docker's defaults; a seccomp filter that refuses `unshare` or `mount`; a
//! mount namespace limit of 0), the refused call is narrated and the lab
//! gets a directory of its own in the temp directory instead,
//! `container-labs-scratch-run-<pid>-<start>-<pidns>-<timens>`, shown as
//! `<scratch>`, and works in it (`chdir`), so that the paths of its files
//! (`secret`) read the same on every machine. It is removed on every exit
//! path:
//! - by [`Scratch`]'s `Drop` (pass, fail, panic);
//! - by a **reaper** forked with it, in a session of its own, that waits for
//!   the lab's end of a pipe to close (the lab died: SIGKILL, Ctrl-C) and
//!   removes it;
//! - by the next fallback's **sweep**, for a run whose reaper was killed
//!   too: any such directory whose process is provably gone.

use std::io::Read as _;
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, poll};
use nix::unistd::{Pid, getpid, getppid};

use crate::cgroup::run::{alive, clocks_of_this_process, parse_run};
use crate::error::KitError;
use crate::narrate::Narrate;
use crate::op::{Arg, Chdir, Mkdir};
use crate::proc::Who;
use crate::sys::{self, Forked};

/// The prefix of a fallback scratch directory's name.
pub const PREFIX: &str = "container-labs-scratch-";

/// Where a lab keeps its files; dropping it removes a fallback directory.
#[derive(Debug)]
pub struct Scratch {
    /// `None`: the tmpfs at `/tmp`, which needs no cleanup.
    dir: Option<FallbackDir>,
}

#[derive(Debug)]
struct FallbackDir {
    path: PathBuf,
    reaper: Option<(Pid, OwnedFd)>,
}

impl Scratch {
    /// A private mount namespace with a tmpfs at `/tmp`, or, where the
    /// machine refuses one (`EPERM`, `EACCES`, `ENOSPC`, `ENOSYS`), a
    /// directory of the lab's own (see the module documentation). Both are
    /// narrated as they ran.
    pub fn make(n: &mut impl Narrate) -> anyhow::Result<Scratch> {
        let refused = |e: Errno| matches!(e, Errno::EPERM | Errno::EACCES | Errno::ENOSPC | Errno::ENOSYS);
        match crate::ops::private_mount_ns(n).and_then(|()| crate::ops::scratch(n).map(drop)) {
            Ok(()) => Ok(Scratch { dir: None }),
            Err(e) if refused(e) => {
                n.note(
                    "No private mount namespace here, so no tmpfs of the lab's own: its files go in a directory of its own, <scratch>, where it works from now on, removed when the lab ends (by a reaper process if the lab is killed).",
                );
                Ok(Scratch {
                    dir: Some(FallbackDir::make(n)?),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The path of `name` in the scratch space: `/tmp/NAME`, or `NAME` in
    /// a fallback directory (the lab's working directory).
    pub fn path(&self, name: &str) -> String {
        match &self.dir {
            None => format!("/tmp/{name}"),
            Some(_) => name.to_string(),
        }
    }

    /// Whether this is a fallback directory rather than a private tmpfs.
    pub fn is_fallback(&self) -> bool {
        self.dir.is_some()
    }
}

impl FallbackDir {
    fn make(n: &mut impl Narrate) -> anyhow::Result<FallbackDir> {
        let base = std::env::temp_dir();
        sweep(&base);
        let me = Who::This.process()?;
        let start = me.stat().map_err(|e| KitError::proc("/proc/self/stat", e))?.starttime;
        let (pidns, timens) = clocks_of_this_process();
        let path = base.join(format!("{PREFIX}run-{}-{start}-{pidns}-{timens}", me.pid));
        // The reaper first: from the moment the directory exists, a SIGKILL
        // of the lab leaves it to the reaper.
        let reaper = spawn_reaper(path.clone())?;
        let mut dir = FallbackDir {
            path: path.clone(),
            reaper: Some(reaper),
        };
        let shown = || Arg::shown_as(path.display().to_string(), "<scratch>");
        if let Err(e) = n.run(Mkdir {
            path: shown(),
            mode: 0o755,
        }) {
            dir.path = PathBuf::new();
            anyhow::bail!("mkdir({}) failed: {e}", path.display());
        }
        n.run(Chdir(shown()))?;
        Ok(dir)
    }
}

impl Drop for FallbackDir {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
        if let Some((pid, done)) = self.reaper.take() {
            let _ = nix::unistd::write(&done, b"d");
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
}

/// Remove fallback directories in `base` whose run is provably gone (a run
/// of another PID or time namespace is left to its own reaper).
fn sweep(base: &Path) {
    let here = clocks_of_this_process();
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(run) = name.strip_prefix(PREFIX).and_then(parse_run)
            && (run.pidns, run.timens) == here
            && !alive(run.pid, run.start)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Fork the reaper: it outlives the lab in a session of its own, waits for
/// the lab's end of the pipe to close (or for the lab to say it removed the
/// directory itself), removes the directory and exits.
fn spawn_reaper(path: PathBuf) -> Result<(Pid, OwnedFd), KitError> {
    let (read_end, write_end) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| KitError::Sys { call: "pipe2()", errno })?;
    let lab = getpid();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    match sys::fork_untied()? {
        Forked::Child => {
            drop(write_end);
            if sys::detach_as_reaper(read_end).is_err() {
                sys::exit_child(1);
            }
            let stdin = std::io::stdin();
            loop {
                let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
                if poll(&mut fds, 100u16).is_ok_and(|n| n > 0) {
                    match stdin.lock().read(&mut [0u8; 1]) {
                        Ok(0) => break,              // the lab died: EOF
                        Ok(_) => sys::exit_child(0), // the lab removed it itself
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                // A child of the lab may still hold the pipe: the lab is gone
                // when we are no longer its child.
                if getppid() != lab {
                    break;
                }
            }
            let _ = std::fs::remove_dir_all(&path);
            sys::exit_child(0)
        }
        Forked::Parent(pid) => {
            drop(read_end);
            Ok((pid, write_end))
        }
    }
}
