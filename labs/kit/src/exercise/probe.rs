//! What the checks see: every process of a sandbox, read from outside it.
//!
//! `lab` stays in the host's namespaces while the sandbox runs. The
//! sandbox's processes are its descendants (their PID namespace's init is
//! the sandbox's first process), so it finds them all in `/proc` by parent,
//! and reads `/proc/PID/status` (ids, `NSpid`, `Groups`), `/proc/PID/ns/*`
//! (a namespace is the device and inode of that link, compared with the
//! sandbox's own: never shown), `/proc/PID/mountinfo`, `/proc/PID/uid_map`
//! and `/proc/PID/root`.
//!
//! Some state is shown only to a member of a namespace: the hostname of a
//! UTS namespace, the SysV objects of an IPC namespace (`/proc/sysvipc/*`
//! lists the reader's), the interfaces of a network namespace. For those a
//! forked child enters the namespace with `setns` ([`Probe::inside`]):
//! without root, first the sandbox's user namespace (its owner, the
//! student, has every capability there), then the target. The child dies
//! with `lab` (PR_SET_PDEATHSIG) and holds nothing afterwards.

use std::collections::HashMap;
use std::fmt::Display;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use procfs::process::MountInfo;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::narrate::Quiet;
use crate::proc::{NsId, Who};

/// What the checks know about a running sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sandboxed {
    /// The sandbox's first process (PID 1 inside), as `lab` sees it.
    pub init: i32,
    /// The student's shell or the solution's `sh`, as `lab` sees it (after
    /// a solution returned: a zombie kept until the checks are done).
    pub shell: Option<i32>,
    /// Whether the sandbox has a user namespace of its own (an unprivileged
    /// student's), which a check must enter before any other.
    pub userns: bool,
    /// The sandbox's hostname, set when it was made.
    pub hostname: String,
    /// The student's uid and gid outside the sandbox.
    pub outer_ids: (u32, u32),
    /// The sandbox's cgroup, where it has one.
    pub cgroup: Option<SandboxCgroup>,
}

/// The sandbox's cgroup (in the hierarchy that holds the pids controller).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxCgroup {
    /// Its directory on the host (the root of the sandbox's cgroup namespace).
    pub dir: PathBuf,
    /// Its path in `/proc/PID/cgroup` of a process outside the sandbox.
    pub path: String,
    /// The cgroup the sandbox's processes start in, below it (`/shell` inside).
    pub start: String,
    /// `v1` or `v2`.
    pub version: String,
    /// Where the students finds it inside (`/sys/fs/cgroup` or `/sys/fs/cgroup/pids`).
    pub inside: String,
}

/// One process of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Its pid as `lab` sees it (never shown).
    pub pid: i32,
    /// Its pid in the sandbox's PID namespace: what the student's `ps` shows.
    pub inner: i32,
    /// Its command (`comm`).
    pub comm: String,
}

impl Proc {
    /// `pid 7 (sleep)`, as the student sees it.
    pub fn label(&self) -> String {
        format!("pid {} ({})", self.inner, self.comm)
    }
}

/// One check as reported: what the task asks of the kernel, what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckLine {
    /// What is checked.
    pub name: String,
    /// Whether it held; a check that needs a failed one is not checked.
    pub ok: bool,
    /// What the task asks for.
    pub expected: String,
    /// What the kernel shows; `not checked` when an earlier check failed.
    pub actual: String,
}

/// The outcome of one round of checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Every check, in order.
    pub checks: Vec<CheckLine>,
    /// The first hint: what to do next, given what the checks saw.
    pub hint: Option<String>,
}

/// What a check that was not reached reads as.
pub const NOT_CHECKED: &str = "not checked (needs the check above)";

impl Verdict {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The first check that did not hold.
    pub fn first_failure(&self) -> Option<&CheckLine> {
        self.checks.iter().find(|c| !c.ok)
    }

    /// Record a check. The first failed check's `hint` becomes the verdict's.
    pub fn check(
        &mut self,
        name: impl Into<String>,
        ok: bool,
        expected: impl Display,
        actual: impl Display,
        hint: impl FnOnce() -> String,
    ) -> bool {
        if !ok && self.hint.is_none() {
            self.hint = Some(hint());
        }
        self.checks.push(CheckLine {
            name: name.into(),
            ok,
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
        ok
    }

    /// Record checks that depend on one that failed: listed, not run.
    pub fn not_checked(&mut self, rest: &[(&str, &str)]) {
        for (name, expected) in rest {
            self.checks.push(CheckLine {
                name: (*name).to_string(),
                ok: false,
                expected: (*expected).to_string(),
                actual: NOT_CHECKED.to_string(),
            });
        }
    }
}

/// The checks' view of a sandbox at one moment.
pub struct Probe<'a> {
    /// The sandbox.
    pub sandbox: &'a Sandboxed,
    procs: Vec<Proc>,
    ns_cache: HashMap<(i32, &'static str), Option<NsId>>,
}

/// The pid of each level of `NSpid`, from the reader's namespace down.
fn nspid(pid: i32) -> Option<Vec<i32>> {
    let st = crate::proc::status(Who::Pid(pid)).ok()?;
    Some(st.nspid.unwrap_or_else(|| vec![st.pid]))
}

impl<'a> Probe<'a> {
    /// Take a snapshot of the sandbox's live processes: the descendants of
    /// its init (zombies and init itself left out).
    pub fn new(sandbox: &'a Sandboxed) -> Probe<'a> {
        let mut parent: HashMap<i32, i32> = HashMap::new();
        let mut info: HashMap<i32, (String, char)> = HashMap::new();
        if let Ok(all) = procfs::process::all_processes() {
            for p in all.flatten() {
                if let Ok(st) = p.stat() {
                    parent.insert(st.pid, st.ppid);
                    info.insert(st.pid, (st.comm, st.state));
                }
            }
        }
        let level = nspid(sandbox.init).map_or(1, |v| v.len().saturating_sub(1));
        let in_sandbox = |mut pid: i32| {
            for _ in 0..4096 {
                match parent.get(&pid) {
                    Some(&pp) if pp == sandbox.init => return true,
                    Some(&pp) if pp > 0 => pid = pp,
                    _ => return false,
                }
            }
            false
        };
        let mut procs: Vec<Proc> = info
            .iter()
            .filter(|(pid, (_, state))| **pid != sandbox.init && *state != 'Z' && *state != 'X' && in_sandbox(**pid))
            .filter_map(|(pid, (comm, _))| {
                let inner = *nspid(*pid)?.get(level)?;
                Some(Proc {
                    pid: *pid,
                    inner,
                    comm: comm.clone(),
                })
            })
            .collect();
        procs.sort_by_key(|p| p.inner);
        Probe {
            sandbox,
            procs,
            ns_cache: HashMap::new(),
        }
    }

    /// The sandbox's live processes, by their pid inside.
    pub fn processes(&self) -> &[Proc] {
        &self.procs
    }

    /// A process's namespace of type `kind`.
    pub fn ns(&mut self, pid: i32, kind: &'static str) -> Option<NsId> {
        *self
            .ns_cache
            .entry((pid, kind))
            .or_insert_with(|| crate::proc::namespace(Who::Pid(pid), kind).ok())
    }

    /// The sandbox's own namespace of type `kind` (its init's, which the
    /// shell started in).
    pub fn home_ns(&mut self, kind: &'static str) -> Option<NsId> {
        self.ns(self.sandbox.init, kind)
    }

    /// The live processes whose namespace of type `kind` is not the sandbox's.
    pub fn in_other_ns(&mut self, kind: &'static str) -> Vec<Proc> {
        let home = self.home_ns(kind);
        let procs = self.procs.clone();
        procs
            .into_iter()
            .filter(|p| {
                let ns = self.ns(p.pid, kind);
                ns.is_some() && ns != home
            })
            .collect()
    }

    /// `/proc/PID/status` of a process (or of the shell, a zombie after a
    /// solution returned: its ids are still there).
    pub fn status(&self, pid: i32) -> Option<procfs::process::Status> {
        crate::proc::status(Who::Pid(pid)).ok()
    }

    /// The mount table of a process, mount points as seen from its root.
    pub fn mountinfo(&self, pid: i32) -> Vec<MountInfo> {
        crate::mount::mountinfo(Who::Pid(pid)).unwrap_or_default()
    }

    /// The topmost mount at `path` in a process's mount table.
    pub fn mount_at(&self, pid: i32, path: &str) -> Option<MountInfo> {
        self.mountinfo(pid)
            .into_iter()
            .rfind(|m| m.mount_point == Path::new(path))
    }

    /// `path` in the sandbox's mount namespace, as `lab` can open it from
    /// outside: `/proc/INIT/root/PATH`.
    pub fn path_in_sandbox(&self, path: &str) -> PathBuf {
        self.path_of(self.sandbox.init, path)
    }

    /// `path` as process `pid` sees it (from its root, in its mount namespace).
    pub fn path_of(&self, pid: i32, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{pid}/root/{}", path.trim_start_matches('/')))
    }

    /// Device and inode of what `path` resolves to (`stat`), to compare two
    /// directories or namespace files without showing either.
    pub fn identity(path: &Path) -> Option<(u64, u64)> {
        nix::sys::stat::stat(path).ok().map(|st| (st.st_dev, st.st_ino))
    }

    /// Run `body` in a forked child that has entered, with `setns`, the
    /// sandbox's user namespace (when it has one) and then each of
    /// `targets`: a namespace file (`/proc/PID/ns/uts`, or a bind mount of
    /// one) and its type. Files are opened before the first `setns`, as
    /// `lab` sees them. The child sends back what `body` returns; `Err` says
    /// why it could not (a line for `actual`).
    pub fn inside<T, F>(&self, targets: &[(PathBuf, CloneFlags)], body: F) -> Result<T, String>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> anyhow::Result<T>,
    {
        let userns = self
            .sandbox
            .userns
            .then(|| PathBuf::from(format!("/proc/{}/ns/user", self.sandbox.init)));
        let targets = targets.to_vec();
        let child = crate::child::spawn(&mut crate::narrate::Quiet, move |c| {
            let open = |p: &Path| -> anyhow::Result<OwnedFd> {
                std::fs::File::open(p)
                    .map(OwnedFd::from)
                    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", p.display()))
            };
            let user = userns.as_deref().map(open).transpose()?;
            let fds = targets
                .iter()
                .map(|(p, kind)| Ok((open(p)?, *kind, p.clone())))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(fd) = user {
                setns(fd, CloneFlags::CLONE_NEWUSER)
                    .map_err(|e| anyhow::anyhow!("setns(the sandbox's user namespace) failed: {e}"))?;
            }
            for (fd, kind, path) in fds {
                setns(fd, kind).map_err(|e| {
                    anyhow::anyhow!(
                        "setns({}, {}) failed: {}",
                        shown(&path),
                        flag_name(kind),
                        crate::narrate::errno_text(e)
                    )
                })?;
            }
            let value = body()?;
            c.send(&value)?;
            Ok(())
        });
        let mut child = child.map_err(|e| e.to_string())?;
        let value = child.recv::<T>(&mut Quiet).map_err(|e| match e {
            crate::KitError::Child(msg) => msg,
            other => other.to_string(),
        });
        let _ = child.wait(&mut Quiet);
        value
    }
}

/// The name of one `CLONE_NEW*` flag.
fn flag_name(kind: CloneFlags) -> &'static str {
    [
        (CloneFlags::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (CloneFlags::CLONE_NEWNS, "CLONE_NEWNS"),
        (CloneFlags::CLONE_NEWPID, "CLONE_NEWPID"),
        (CloneFlags::CLONE_NEWUTS, "CLONE_NEWUTS"),
        (CloneFlags::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (CloneFlags::CLONE_NEWNET, "CLONE_NEWNET"),
        (CloneFlags::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
    ]
    .into_iter()
    .find(|(f, _)| *f == kind)
    .map_or("0", |(_, n)| n)
}

/// What changes while a sandbox's processes are still at work: each one's
/// pid, command, state and namespaces.
fn fingerprint(sandbox: &Sandboxed) -> Vec<(i32, String, Option<char>, Vec<String>)> {
    let probe = Probe::new(sandbox);
    probe
        .processes()
        .iter()
        .map(|p| {
            let state = procfs::process::Process::new(p.pid)
                .and_then(|pr| pr.stat())
                .ok()
                .map(|st| st.state);
            let ns = crate::proc::NS_TYPES
                .iter()
                .map(|k| {
                    std::fs::read_link(format!("/proc/{}/ns/{k}", p.pid))
                        .map(|l| l.display().to_string())
                        .unwrap_or_default()
                })
                .collect();
            (p.pid, p.comm.clone(), state, ns)
        })
        .collect()
}

/// Wait until the sandbox's processes have stopped changing (no process
/// started, ended, executed a program, changed state or namespace) for
/// `quiet`, or `max` has passed: what a solution left in the background
/// (`unshare ... &`) may still be setting up when it returns.
pub fn settle(sandbox: &Sandboxed, quiet: Duration, max: Duration) {
    let start = Instant::now();
    let mut last = fingerprint(sandbox);
    let mut since = Instant::now();
    while start.elapsed() < max {
        std::thread::sleep(Duration::from_millis(20));
        let now = fingerprint(sandbox);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return;
        }
    }
}

/// A path under `/proc/PID/root/` as the student would name it.
pub fn shown(path: &Path) -> String {
    let text = path.display().to_string();
    match text.strip_prefix("/proc/") {
        Some(rest) => match rest.split_once('/') {
            Some((pid, tail)) if pid.chars().all(|c| c.is_ascii_digit()) => match tail.strip_prefix("root") {
                Some("") => "/".into(),
                Some(inner) => inner.to_string(),
                None => format!("/proc/PID/{tail}"),
            },
            _ => text,
        },
        None => text,
    }
}

/// The hostname of the UTS namespace the caller is in.
pub fn hostname_here() -> anyhow::Result<String> {
    Ok(nix::unistd::gethostname()?.to_string_lossy().into_owned())
}

/// The first line of `/proc/PID/uid_map` (or `gid_map`), as the three
/// numbers `inside outside count`, read by `lab` (outside ids are ids of
/// `lab`'s user namespace); `None` when the map is empty.
pub fn first_map_line(pid: i32, file: &str) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let f: Vec<u64> = text
        .lines()
        .next()?
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    match f[..] {
        [a, b, c] => Some((a, b, c)),
        _ => None,
    }
}

/// How many lines `/proc/PID/uid_map` has.
pub fn map_lines(pid: i32, file: &str) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_keeps_the_first_hint_and_lists_unchecked() {
        let mut v = Verdict::default();
        assert!(!v.passed(), "no check is no pass");
        v.check("a", true, "x", "x", || "never".into());
        v.check("b", false, "y", "z", || "first".into());
        v.check("c", false, "y", "z", || "second".into());
        v.not_checked(&[("d", "w")]);
        assert!(!v.passed());
        assert_eq!(v.hint.as_deref(), Some("first"));
        assert_eq!(v.first_failure().map(|c| c.name.as_str()), Some("b"));
        assert_eq!(v.checks[3].actual, NOT_CHECKED);
    }

    #[test]
    fn paths_read_as_the_student_names_them() {
        assert_eq!(shown(Path::new("/proc/123/root/tmp/uts-kept")), "/tmp/uts-kept");
        assert_eq!(shown(Path::new("/proc/123/root")), "/");
        assert_eq!(shown(Path::new("/proc/123/ns/uts")), "/proc/PID/ns/uts");
        assert_eq!(shown(Path::new("/run/x")), "/run/x");
    }
}
