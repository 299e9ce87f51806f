//! The lab's cgroups on the host. cgroups are not namespaced resources that
//! die with the lab: a directory made under `/sys/fs/cgroup` stays until
//! someone removes it. So every cgroup of a run lives under one parent named
//! after the project, `container-labs/run-<pid>-<start>/` in each hierarchy
//! (concurrent runs do not collide), and is removed:
//!
//! - by [`RunGuard::close`] or the guard's `Drop` (pass, fail, panic): kill
//!   what is left inside, `rmdir` leaves first, then the run, then the parent
//!   when it is empty;
//! - by the **reaper** when the lab dies without running a destructor
//!   (SIGKILL, Ctrl-C): a process forked when the guard is made, in a session
//!   of its own (so a signal to the lab's process group misses it), that waits
//!   for the lab on a pipe (EOF) and then does the same removal;
//! - by the next run's **sweep**, for a run whose reaper was killed too: any
//!   `run-<pid>-<start>` whose process is gone is removed at start.
//!
//! As root the parent sits at the top of each hierarchy. Without root it sits
//! in a cgroup v2 subtree delegated to the caller (one whose directory,
//! `cgroup.procs` and `cgroup.subtree_control` the caller may write, as
//! systemd gives each user), and only controllers that subtree has are used.

use std::io::Read as _;
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{AccessFlags, Pid, access, getpid, getppid, mkdir};

use super::Refusal;
use super::{CgroupError, Group, Hierarchy, Layout, Norm, Version, cgroup_of, write_file};
use crate::error::KitError;
use crate::narrate::Narrate;
use crate::op::{Arg, Mkdir, Rmdir, WriteFile};
use crate::proc::Who;
use crate::sys::{self, Forked};

/// The one parent of every cgroup the labs create, in each hierarchy.
pub const PARENT: &str = "container-labs";

/// Where a run's cgroups go.
#[derive(Debug, Clone)]
enum Scope {
    /// Real root: at the top of every hierarchy.
    Root,
    /// A delegated v2 subtree: its directory and its cgroup path.
    Delegated { dir: PathBuf, cgroup: String },
}

/// The cgroups of one lab run. Dropping it removes them.
pub struct RunGuard {
    layout: Layout,
    scope: Scope,
    run: String,
    made: Vec<PathBuf>,
    reaper: Option<Reaper>,
    swept: usize,
}

struct Reaper {
    pid: Pid,
    /// Our end of the pipe: writing a byte says "cleaned up, exit"; its
    /// closing (the lab died) says "clean up".
    done: Option<OwnedFd>,
}

/// The delegated cgroup v2 subtree of the caller: the highest cgroup, from
/// its own upwards, whose directory, `cgroup.procs` and
/// `cgroup.subtree_control` it may write. Its directory and cgroup path, or
/// why there is none.
pub fn delegated_subtree(layout: &Layout) -> Result<(PathBuf, String), String> {
    let Some(h) = layout.v2() else {
        return Err("no cgroup v2 hierarchy is mounted, and cgroup v1 hierarchies can only be changed by root".into());
    };
    let own = cgroup_of(Who::This, h).map_err(|e| e.to_string())?;
    let writable = |d: &Path| {
        [
            d.to_path_buf(),
            d.join("cgroup.procs"),
            d.join("cgroup.subtree_control"),
        ]
        .iter()
        .all(|p| access(p, AccessFlags::W_OK).is_ok())
    };
    let mut best = None;
    let mut cg = own;
    while let Some(dir) = h.dir_of(&cg) {
        if !writable(&dir) {
            break;
        }
        best = Some((dir, cg.clone()));
        match cg.rfind('/') {
            Some(0) if cg != "/" => cg = "/".into(),
            Some(i) if i > 0 => cg.truncate(i),
            _ => break,
        }
    }
    best.ok_or_else(|| {
        crate::tr!(
            "no cgroup v2 subtree is delegated to this user: it may write neither its own cgroup under {} nor a parent of it \
             (a systemd user session delegates one: `systemd-run --user --scope -p Delegate=yes ...`)",
            h.mount.display()
        )
    })
}

impl RunGuard {
    /// Choose where the run's cgroups go, sweep what an earlier killed run
    /// left there, and start the reaper. No cgroup is made yet.
    pub fn create(n: &mut impl Narrate, layout: &Layout) -> Result<RunGuard, CgroupError> {
        let scope = if crate::privilege::Caller::read().is_real_root() {
            Scope::Root
        } else {
            let (dir, cgroup) = delegated_subtree(layout).map_err(Refusal::NotDelegated)?;
            Scope::Delegated { dir, cgroup }
        };
        let me = Who::This.process()?;
        let start = me.stat().map_err(|e| KitError::proc("/proc/self/stat", e))?.starttime;
        let (pidns, timens) = clocks_of_this_process();
        let mut guard = RunGuard {
            layout: layout.clone(),
            scope,
            run: format!("run-{}-{start}-{pidns}-{timens}", me.pid),
            made: Vec::new(),
            reaper: None,
            swept: 0,
        };
        guard.swept = guard.sweep();
        if guard.swept > 0 {
            n.note(crate::tr!(
                "removed {} cgroup(s) left by an earlier run that was killed",
                guard.swept
            ));
        }
        guard.reaper = Some(spawn_reaper(guard.targets())?);
        Ok(guard)
    }

    /// How many leftover runs the sweep removed.
    pub fn swept(&self) -> usize {
        self.swept
    }

    /// The layout the guard works in.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// How paths of this run read in a report.
    pub fn norm(&self) -> Norm {
        Norm {
            run: self.run.clone(),
            delegated: match &self.scope {
                Scope::Root => None,
                Scope::Delegated { dir, cgroup } => Some((dir.display().to_string(), cgroup.clone())),
            },
        }
    }

    /// Whether the run may make cgroups in `h`.
    fn in_scope(&self, h: &Hierarchy) -> bool {
        matches!(self.scope, Scope::Root) || h.version == Version::V2
    }

    /// The directory under which `container-labs` goes in `h`, and its cgroup path.
    fn base(&self, h: &Hierarchy) -> (PathBuf, String) {
        match &self.scope {
            Scope::Root => (h.mount.clone(), h.root.clone()),
            Scope::Delegated { dir, cgroup } => (dir.clone(), cgroup.clone()),
        }
    }

    /// The hierarchies the run may use.
    pub fn hierarchies(&self) -> Vec<&Hierarchy> {
        self.layout.hierarchies.iter().filter(|h| self.in_scope(h)).collect()
    }

    /// `(container-labs, container-labs/run-…)` in every hierarchy in scope.
    fn targets(&self) -> Vec<(PathBuf, PathBuf)> {
        self.hierarchies()
            .into_iter()
            .map(|h| {
                let parent = self.base(h).0.join(PARENT);
                let run = parent.join(&self.run);
                (parent, run)
            })
            .collect()
    }

    /// Remove every run whose process is provably gone. Returns how many.
    /// A run made in another PID or time namespace names a pid and start
    /// time this process cannot check, so it is left alone (its own reaper
    /// removes it).
    fn sweep(&self) -> usize {
        let mut removed = 0;
        let here = clocks_of_this_process();
        for (parent, _) in self.targets() {
            let Ok(entries) = std::fs::read_dir(&parent) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(run) = parse_run(&name)
                    && (run.pidns, run.timens) == here
                    && !alive(run.pid, run.start)
                    && remove_tree(&e.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Make cgroup `name` of this run in the hierarchy holding `controller`.
    pub fn group_for(&mut self, n: &mut impl Narrate, controller: &str, name: &str) -> Result<Group, CgroupError> {
        let h = self
            .layout
            .holder(controller)
            .cloned()
            .ok_or_else(|| Refusal::NoController(controller.to_string()))?;
        self.group_in(n, &h, name, &[controller])
    }

    /// Make cgroup `name` of this run in hierarchy `h`. On v2, `controllers`
    /// are enabled for it (in `cgroup.subtree_control` of the run's own
    /// directories: never in a cgroup the lab did not create).
    pub fn group_in(
        &mut self,
        n: &mut impl Narrate,
        h: &Hierarchy,
        name: &str,
        controllers: &[&str],
    ) -> Result<Group, CgroupError> {
        let what = controllers
            .first()
            .map_or("this".to_string(), |c| crate::tr!("the {c} controller"));
        if !self.in_scope(h) {
            return Err(Refusal::V1NeedsRoot {
                what,
                mount: h.mount.display().to_string(),
            }
            .into());
        }
        let norm = self.norm();
        let (base, base_cgroup) = self.base(h);
        let parent = base.join(PARENT);
        let run = parent.join(&self.run);
        if !self.made.contains(&run) {
            let mut attempt = 0;
            let res = loop {
                attempt += 1;
                match mkdir(&parent, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => break Err(e),
                }
                // A finishing run may remove the parent between the two calls.
                match n.run(shown_mkdir(&norm, &run)) {
                    Err(Errno::ENOENT) if attempt < 5 => continue,
                    other => break other,
                }
            };
            res.map_err(|errno| sys_err("mkdir", &run, errno))?;
            self.made.push(run.clone());
            inherit_cpuset(n, &norm, h, &parent, &run)?;
        }
        if h.version == Version::V2 {
            for c in controllers {
                let offered = std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
                if !offered.split_whitespace().any(|o| o == *c) {
                    return Err(Refusal::NotEnabled {
                        controller: c.to_string(),
                        base: norm.apply(&base.display().to_string()),
                        delegated: matches!(self.scope, Scope::Delegated { .. }),
                    }
                    .into());
                }
                for dir in [&parent, &run] {
                    let file = dir.join("cgroup.subtree_control");
                    n.run(WriteFile::new(shown_path(&norm, &file), format!("+{c}")))
                        .map_err(|errno| sys_err("write", &file, errno))?;
                }
            }
        }
        let leaf = run.join(name);
        n.run(shown_mkdir(&norm, &leaf))
            .map_err(|errno| sys_err("mkdir", &leaf, errno))?;
        self.made.push(leaf.clone());
        inherit_cpuset(n, &norm, h, &run, &leaf)?;
        let cgroup = format!("{}/{PARENT}/{}/{name}", base_cgroup.trim_end_matches('/'), self.run);
        Ok(Group {
            version: h.version,
            path: leaf,
            cgroup,
            norm,
        })
    }

    /// Remove everything, narrating each `rmdir`. Returns the (normalized)
    /// directories of the run that still exist afterwards: none, normally.
    pub fn close(mut self, n: &mut impl Narrate) -> Vec<String> {
        let norm = self.norm();
        // The teardown also serves the reaper and `Drop`, which tell nothing:
        // its rmdir(2) of each directory is narrated from the value here.
        self.teardown(&mut |dir, res| {
            n.emit(crate::Event::Call {
                text: crate::op::line(&Rmdir(shown_path(&norm, dir)), &res),
            });
        });
        self.targets()
            .into_iter()
            .filter(|(_, run)| run.exists())
            .map(|(_, run)| norm.apply(&run.display().to_string()))
            .collect()
    }

    /// Kill, remove leaves first, then the run directories and the parent when
    /// empty; then let the reaper go.
    fn teardown(&mut self, say: &mut dyn FnMut(&Path, Result<(), Errno>)) {
        for dir in std::mem::take(&mut self.made).iter().rev() {
            let res = remove_tree(dir);
            say(dir, res);
        }
        for (parent, run) in self.targets() {
            // Made by the reaper's or a sweep's view of the same run: not ours to narrate.
            let _ = remove_tree(&run);
            let _ = rmdir(&parent);
        }
        if let Some(mut reaper) = self.reaper.take() {
            if let Some(fd) = reaper.done.take() {
                let _ = nix::unistd::write(&fd, b"d");
            }
            let _ = waitpid(reaper.pid, None);
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.teardown(&mut |_, _| {});
    }
}

/// A cgroup path, shown normalized (`<v2>/container-labs/<run>/…`).
fn shown_path(norm: &Norm, path: &Path) -> Arg {
    let real = path.display().to_string();
    Arg::shown_as(real.clone(), norm.apply(&real))
}

fn shown_mkdir(norm: &Norm, path: &Path) -> Mkdir {
    Mkdir {
        path: shown_path(norm, path),
        mode: 0o755,
    }
}

/// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and
/// refuses processes (ENOSPC) until given some: copy the parent's.
fn inherit_cpuset(n: &mut impl Narrate, norm: &Norm, h: &Hierarchy, from: &Path, to: &Path) -> Result<(), CgroupError> {
    if h.version != Version::V1 || !h.holds("cpuset") {
        return Ok(());
    }
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let value = std::fs::read_to_string(from.join(file)).map_err(|e| KitError::io(from.join(file), e))?;
        let path = to.join(file);
        n.run(WriteFile::new(
            shown_path(norm, &path),
            Arg::shown_as(value.trim(), "<the parent's>"),
        ))
        .map_err(|errno| sys_err("write", &path, errno))?;
    }
    Ok(())
}

fn sys_err(call: &'static str, path: &Path, errno: Errno) -> CgroupError {
    CgroupError::Sys {
        call,
        path: path.to_path_buf(),
        errno,
    }
}

/// `rmdir(2)`: a cgroup directory is removed whole, with its interface files.
fn rmdir(dir: &Path) -> Result<(), Errno> {
    std::fs::remove_dir(dir).map_err(|e| crate::narrate::errno_of_io(&e))
}

/// Who made a run: its pid and start time, valid in the PID namespace and
/// time namespace (inode numbers) they were read in.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RunName {
    pub(crate) pid: i32,
    pub(crate) start: u64,
    pub(crate) pidns: u64,
    pub(crate) timens: u64,
}

/// `run-<pid>-<start>-<pidns>-<timens>`.
pub(crate) fn parse_run(name: &str) -> Option<RunName> {
    let mut f = name.strip_prefix("run-")?.split('-');
    let run = RunName {
        pid: f.next()?.parse().ok()?,
        start: f.next()?.parse().ok()?,
        pidns: f.next()?.parse().ok()?,
        timens: f.next()?.parse().ok()?,
    };
    f.next().is_none().then_some(run)
}

/// The PID and time namespaces that give this process's pids and start
/// times their meaning (0 for a kind the kernel does not have).
pub(crate) fn clocks_of_this_process() -> (u64, u64) {
    let ino = |kind| crate::proc::namespace(Who::This, kind).map_or(0, |n| n.ino);
    (ino("pid"), ino("time"))
}

/// Whether process `pid` still exists and is the one that started at `start`.
pub(crate) fn alive(pid: i32, start: u64) -> bool {
    procfs::process::Process::new(pid)
        .and_then(|p| p.stat())
        .is_ok_and(|st| st.starttime == start && st.state != 'Z')
}

/// Empty a cgroup directory and everything below it of processes, then remove
/// it, deepest first.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), Errno> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = remove_tree(&e.path());
            }
        }
    }
    empty(dir);
    let start = Instant::now();
    loop {
        match rmdir(dir) {
            Err(Errno::EBUSY) if start.elapsed() < Duration::from_secs(2) => {
                empty(dir);
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(Errno::ENOENT) => return Ok(()),
            other => return other,
        }
    }
}

/// Kill every process in one cgroup directory and wait (a little) until it is empty.
fn empty(dir: &Path) {
    let procs = |d: &Path| -> Vec<i32> {
        std::fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let start = Instant::now();
    while !procs(dir).is_empty() && start.elapsed() < Duration::from_secs(2) {
        if write_file(&dir.join("cgroup.kill"), "1").is_err() {
            for pid in procs(dir) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        // A v1-frozen process dies only once thawed; v2 kills frozen ones.
        let _ = write_file(&dir.join("freezer.state"), "THAWED");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fork the reaper: it outlives the lab in a session of its own, waits for
/// the lab's end of the pipe to close, removes the run's cgroups and exits.
fn spawn_reaper(targets: Vec<(PathBuf, PathBuf)>) -> Result<Reaper, CgroupError> {
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
                let ready = poll(&mut fds, 100u16);
                if ready.is_ok_and(|n| n > 0) {
                    match stdin.lock().read(&mut [0u8; 1]) {
                        Ok(0) => break,              // the lab died: EOF
                        Ok(_) => sys::exit_child(0), // the lab cleaned up itself
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
            for (parent, run) in targets {
                let _ = remove_tree(&run);
                let _ = rmdir(&parent);
            }
            sys::exit_child(0)
        }
        Forked::Parent(pid) => {
            drop(read_end);
            Ok(Reaper {
                pid,
                done: Some(write_end),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_parse_and_foreign_names_do_not() {
        assert_eq!(
            parse_run("run-4242-1234567-4026531836-4026531834"),
            Some(RunName {
                pid: 4242,
                start: 1234567,
                pidns: 4026531836,
                timens: 4026531834
            })
        );
        assert_eq!(parse_run("run-4242-1234567"), None, "the old form names no namespaces");
        assert_eq!(parse_run("run-1-2-3-4-5"), None);
        assert_eq!(parse_run("run-4242"), None);
        assert_eq!(parse_run("other"), None);
        assert_eq!(parse_run("run-x-1"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = procfs::process::Process::myself().expect("self");
        let start = me.stat().expect("stat").starttime;
        assert!(alive(me.pid, start));
        assert!(!alive(me.pid, start + 1));
    }
}
