//! Control groups: the kernel's mechanism for grouping processes and
//! limiting what the group may use (pids, memory, CPU time) or do (freeze,
//! be killed at once).
//!
//! Seen in `/proc/self/cgroup` (a process's cgroup in each hierarchy),
//! `/proc/cgroups` (the controllers and their v1 hierarchy), `/proc/self/mountinfo`
//! (where the `cgroup` and `cgroup2` filesystems are mounted) and the files of
//! each cgroup directory (`cgroup.procs`, `pids.max`, `memory.max`, ...).
//!
//! - [`layout`]: which hierarchy holds each controller (v2, v1 or hybrid), a
//!   pure function of what the kernel shows, so it is tested on fixtures.
//! - [`run`]: the lab's cgroups on the host, under one parent named after the
//!   project, removed on every exit path, even SIGKILL (a reaper process).
//! - [`Group`]: one cgroup directory, with narrated reads and writes; the
//!   version-specific file names are in [`v1`] and [`v2`].

pub mod layout;
pub mod run;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use serde::Serialize;

pub use layout::{Hierarchy, Layout, Version};
pub use run::{PARENT, RunGuard};

use crate::error::KitError;
use crate::narrate::Narrate;
use crate::op::{Arg, Mount, WriteFile};

/// The cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// Only the unified hierarchy.
    V2,
    /// Only v1 hierarchies.
    V1,
    /// v1 controllers plus a v2 hierarchy (usually at `/sys/fs/cgroup/unified`).
    Hybrid,
    /// No cgroup filesystem mounted.
    None,
}

impl CgroupMode {
    /// Detect the machine's layout ([`Layout::read`]).
    pub fn detect() -> CgroupMode {
        Layout::read().map_or(CgroupMode::None, |l| l.mode)
    }

    /// The word used in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::V2 => "v2",
            CgroupMode::V1 => "v1",
            CgroupMode::Hybrid => "hybrid",
            CgroupMode::None => "none",
        }
    }
}

/// Errors of the cgroup machinery.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The kit's own machinery failed (reading a file, forking).
    #[error(transparent)]
    Kit(#[from] KitError),
    /// A system call on a cgroup path failed.
    #[error("{call}({path}) failed: {errno}")]
    Sys {
        /// The call.
        call: &'static str,
        /// The path.
        path: PathBuf,
        /// The errno.
        errno: Errno,
    },
    /// A cgroup file did not say what it should.
    #[error("{path}: unexpected content {content:?}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What it held.
        content: String,
    },
    /// This machine or caller cannot do it: why, in the cgroups' terms.
    /// Which status that gives a step is decided by the kit's outcome
    /// module ([`CannotRun`]'s `From<Refusal>`), not here.
    #[error("{0}")]
    Refused(#[from] Refusal),
}

/// Why cgroups cannot be used here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not root, and no cgroup v2 subtree is delegated to the caller.
    #[error("{0}")]
    NotDelegated(String),
    /// The controller is on a v1 hierarchy, which only root may change.
    #[error(
        "{what} is on a cgroup v1 hierarchy ({mount}), which only root may change; only a cgroup v2 subtree can be delegated"
    )]
    V1NeedsRoot {
        /// `the pids controller`.
        what: String,
        /// The hierarchy's mount point.
        mount: String,
    },
    /// No mounted hierarchy holds the controller: this kernel or system lacks it.
    #[error("no mounted cgroup hierarchy holds the {0} controller")]
    NoController(String),
    /// The controller is not enabled for the children of the run's base cgroup.
    #[error(
        "the {controller} controller is not enabled for the children of {base} (its cgroup.subtree_control lacks it), and the lab changes no cgroup it did not create"
    )]
    NotEnabled {
        /// The controller.
        controller: String,
        /// The base cgroup, normalized.
        base: String,
        /// Whether the base is a subtree delegated to the caller (which its
        /// owner could change) rather than the system's.
        delegated: bool,
    },
}

/// How long a freeze or thaw may take to be reported done. Usually a few
/// milliseconds; a loaded machine (or an emulated one) may need seconds,
/// and a step measuring a frozen group must not start before.
pub const FREEZE_WAIT: Duration = Duration::from_secs(10);

/// One cgroup directory in one hierarchy.
#[derive(Debug, Clone)]
pub struct Group {
    version: Version,
    path: PathBuf,
    cgroup: String,
    norm: Norm,
}

/// How paths of a run read in a report: the run's own name and a delegated
/// subtree's location are machine-specific.
#[derive(Debug, Clone, Default)]
pub struct Norm {
    /// `run-<pid>-<start>-<pidns>-<timens>`.
    pub run: String,
    /// The delegated subtree, as a directory and as a cgroup path.
    pub delegated: Option<(String, String)>,
}

impl Norm {
    /// `…/container-labs/run-<lab>/…`, `<delegated>/…`.
    pub fn apply(&self, text: &str) -> String {
        let mut t = text.to_string();
        if let Some((dir, cgroup)) = &self.delegated {
            t = t.replace(dir.as_str(), "<delegated>");
            if cgroup != "/" {
                t = t.replace(cgroup.as_str(), "<delegated>");
            }
        }
        if !self.run.is_empty() {
            t = t.replace(self.run.as_str(), "run-<lab>");
        }
        t
    }
}

impl Group {
    /// v1 or v2.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cgroup's path as `/proc/PID/cgroup` shows it (from the lab's cgroup namespace).
    pub fn cgroup(&self) -> &str {
        &self.cgroup
    }

    /// The same, as it may appear in a report.
    pub fn shown_cgroup(&self) -> String {
        self.norm.apply(&self.cgroup)
    }

    /// Any text about this run, as it may appear in a report.
    pub fn normalize(&self, text: &str) -> String {
        self.norm.apply(text)
    }

    /// The directory, as it may appear in a report.
    pub fn shown(&self) -> String {
        self.norm.apply(&self.path.display().to_string())
    }

    /// Whether the cgroup has `file` (knobs depend on version and kernel).
    pub fn has(&self, file: &str) -> bool {
        self.path.join(file).exists()
    }

    /// Write `value` to `file`, narrated as `write(PATH, "value") = 0`.
    pub fn write(&self, n: &mut impl Narrate, file: &str, value: &str) -> Result<(), Errno> {
        self.write_shown(n, file, value, value)
    }

    /// Write `value` to `file`, narrating `shown` instead (a pid).
    pub fn write_shown(&self, n: &mut impl Narrate, file: &str, value: &str, shown: &str) -> Result<(), Errno> {
        n.run(WriteFile::new(
            Arg::shown_as(
                self.path.join(file).display().to_string(),
                format!("{}/{file}", self.shown()),
            ),
            Arg::shown_as(value, shown),
        ))
    }

    /// Read `file`, trimmed.
    pub fn read(&self, file: &str) -> Result<String, CgroupError> {
        let path = self.path.join(file);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|e| KitError::io(path, e).into())
    }

    /// A number file (`pids.current`).
    pub fn read_u64(&self, file: &str) -> Result<u64, CgroupError> {
        let text = self.read(file)?;
        text.parse().map_err(|_| CgroupError::Format {
            path: self.path.join(file),
            content: text,
        })
    }

    /// One key of a flat-keyed file (`pids.events`: `max 3`).
    pub fn read_key(&self, file: &str, key: &str) -> Result<u64, CgroupError> {
        let text = self.read(file)?;
        keyed(&text, key).ok_or_else(|| CgroupError::Format {
            path: self.path.join(file),
            content: text,
        })
    }

    /// Move process `pid` in: `cgroup.procs` (v2) or `tasks` (v1, one thread:
    /// the lab's children are single-threaded). `who` is what the narration shows.
    pub fn add(&self, n: &mut impl Narrate, pid: i32, who: &str) -> Result<(), Errno> {
        let file = match self.version {
            Version::V1 => "tasks",
            Version::V2 => "cgroup.procs",
        };
        self.write_shown(n, file, &pid.to_string(), who)
    }

    /// The pids in `cgroup.procs`.
    pub fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let text = self.read("cgroup.procs")?;
        Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
    }

    /// Wait until `cond` holds on this group, up to `limit`. Returns whether it did.
    /// (For freezing, see [`FREEZE_WAIT`].)
    pub fn wait_until(&self, limit: Duration, mut cond: impl FnMut(&Group) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if cond(self) {
                return true;
            }
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Set the largest number of processes (`pids.max`, the same in v1 and v2).
    pub fn set_pids_max(&self, n: &mut impl Narrate, max: u64) -> Result<(), Errno> {
        self.write(n, "pids.max", &max.to_string())
    }

    /// How often a fork was refused for the limit (`max` of `pids.events`).
    pub fn pids_max_events(&self) -> Result<u64, CgroupError> {
        self.read_key("pids.events", "max")
    }

    /// Limit memory to `bytes`, without swap where the kernel offers the knob.
    pub fn set_memory_limit(&self, n: &mut impl Narrate, bytes: u64) -> Result<(), Errno> {
        match self.version {
            Version::V1 => v1::set_memory_limit(self, n, bytes),
            Version::V2 => v2::set_memory_limit(self, n, bytes),
        }
    }

    /// How many processes the OOM killer killed in the group, and the files that say so.
    pub fn oom_kills(&self) -> Result<Vec<(String, u64)>, CgroupError> {
        match self.version {
            Version::V1 => v1::oom_kills(self),
            Version::V2 => v2::oom_kills(self),
        }
    }

    /// Allow `quota_us` of CPU time per `period_us`.
    pub fn set_cpu_quota(&self, n: &mut impl Narrate, quota_us: u64, period_us: u64) -> Result<(), Errno> {
        match self.version {
            Version::V1 => v1::set_cpu_quota(self, n, quota_us, period_us),
            Version::V2 => v2::set_cpu_quota(self, n, quota_us, period_us),
        }
    }

    /// How many periods the group was throttled in (`nr_throttled` of `cpu.stat`, v1 and v2).
    pub fn throttled_periods(&self) -> Result<u64, CgroupError> {
        self.read_key("cpu.stat", "nr_throttled")
    }

    /// Freeze (`true`) or thaw the group, and wait until the kernel says it
    /// is done (v2: `frozen 1` in `cgroup.events`; v1: `freezer.state` reads
    /// `FROZEN`), at most [`FREEZE_WAIT`]. Frozen, it also waits until no
    /// thread of the group is still running: the kernel counts a task frozen
    /// just before it leaves the CPU (cgroup_enter_frozen, then schedule), so
    /// a CPU clock read right after `frozen 1` may still move by a few
    /// microseconds. Returns whether both held in time.
    pub fn freeze(&self, n: &mut impl Narrate, frozen: bool) -> Result<bool, Errno> {
        let done = match self.version {
            Version::V1 => v1::freeze(self, n, frozen),
            Version::V2 => v2::freeze(self, n, frozen),
        }?;
        Ok(done && (!frozen || self.wait_until(FREEZE_WAIT, Group::off_cpu)))
    }

    /// Whether no thread of the group's processes is running or runnable
    /// (`R` in `/proc/PID/task/TID/stat`).
    fn off_cpu(&self) -> bool {
        let Ok(pids) = self.procs() else { return false };
        pids.into_iter().all(|pid| {
            let Ok(tasks) = procfs::process::Process::new(pid).and_then(|p| p.tasks()) else {
                return true; // gone: not running
            };
            tasks.flatten().all(|t| t.stat().is_ok_and(|st| st.state != 'R'))
        })
    }

    /// Kill every process of the group: `cgroup.kill` on v2, the manual way on v1.
    pub fn kill_all(&self, n: &mut impl Narrate) -> Result<(), Errno> {
        if self.version == Version::V2 && self.has("cgroup.kill") {
            v2::kill_all(self, n)
        } else {
            v1::kill_all(self, n)
        }
    }
}

/// The value of `key` in a flat-keyed cgroup file (`key value` per line).
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(key)).then(|| f.next()?.parse().ok()).flatten()
    })
}

/// Write a cgroup file in one `write(2)`, as the kernel expects.
pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), Errno> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| crate::narrate::errno_of_io(&e))?;
    f.write_all(value.as_bytes())
        .map_err(|e| crate::narrate::errno_of_io(&e))
}

/// The cgroup of `who` in hierarchy `h`, as its `/proc/PID/cgroup` says.
pub fn cgroup_of(who: crate::proc::Who, h: &Hierarchy) -> Result<String, KitError> {
    let groups = who
        .process()?
        .cgroups()
        .map_err(|e| KitError::proc("/proc/PID/cgroup", e))?;
    groups
        .0
        .into_iter()
        .find(|g| line_is(h, g.hierarchy, &g.controllers))
        .map(|g| g.pathname)
        .ok_or_else(|| KitError::Channel(format!("no line for {} in /proc/PID/cgroup", h.describe())))
}

/// `/proc/PID/cgroup`, one `(hierarchy, path)` per line in the kernel's
/// order, the hierarchy named by its controllers (`cpu`, `name=systemd`) or
/// `v2`, not by its id (which depends on mount order).
pub fn proc_cgroup(who: crate::proc::Who) -> Result<Vec<(String, String)>, KitError> {
    let groups = who
        .process()?
        .cgroups()
        .map_err(|e| KitError::proc("/proc/PID/cgroup", e))?;
    Ok(groups
        .0
        .into_iter()
        .map(|g| {
            let mut c: Vec<String> = g.controllers.into_iter().filter(|c| !c.is_empty()).collect();
            c.sort();
            let label = if g.hierarchy == 0 && c.is_empty() {
                "v2".to_string()
            } else {
                c.join(",")
            };
            (label, g.pathname)
        })
        .collect())
}

/// [`proc_cgroup`] lines as one text, `hierarchy:path` separated by spaces
/// (machine-specific: for notes, not observations).
pub fn lines_text(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Mount hierarchy `h` again at `target` (inside a private mount namespace):
/// `cgroup2`, or `cgroup` with the v1 hierarchy's controllers or name, which
/// selects the existing hierarchy. Seen from a cgroup namespace, the mount's
/// root is the namespace's root.
pub fn mount_hierarchy(n: &mut impl Narrate, h: &Hierarchy, target: &str) -> Result<(), Errno> {
    match h.version {
        Version::V2 => n.run(Mount::fs("cgroup2", target, "cgroup2")),
        Version::V1 => {
            let mut opts = h.controllers.clone();
            opts.extend(h.name.iter().map(|n| format!("name={n}")));
            n.run(Mount::fs("cgroup", target, "cgroup").data(opts.join(",")))
        }
    }
}

/// The `/proc/PID/cgroup` label of a hierarchy, as [`proc_cgroup`] names it.
pub fn label(h: &Hierarchy) -> String {
    match h.version {
        Version::V2 => "v2".into(),
        Version::V1 => {
            let mut c = h.controllers.clone();
            c.extend(h.name.iter().map(|n| format!("name={n}")));
            c.sort();
            c.join(",")
        }
    }
}

/// Whether a `/proc/PID/cgroup` line (`id:controllers:path`) is the one of hierarchy `h`.
pub fn line_is(h: &Hierarchy, id: u32, controllers: &[String]) -> bool {
    match h.version {
        Version::V2 => id == 0 && controllers.iter().all(|c| c.is_empty()),
        Version::V1 => {
            let mut mine: Vec<String> = h.controllers.clone();
            if let Some(name) = &h.name {
                mine.push(format!("name={name}"));
            }
            let mut theirs: Vec<String> = controllers.iter().filter(|c| !c.is_empty()).cloned().collect();
            mine.sort();
            theirs.sort();
            id != 0 && mine == theirs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed_files() {
        let text = "usage_usec 100\nnr_periods 7\nnr_throttled 3\nthrottled_usec 9";
        assert_eq!(keyed(text, "nr_throttled"), Some(3));
        assert_eq!(keyed(text, "nr"), None);
        assert_eq!(keyed("max x", "max"), None);
    }

    #[test]
    fn run_names_and_delegated_subtrees_are_normalized() {
        let n = Norm {
            run: "run-4242-99".into(),
            delegated: Some((
                "/sys/fs/cgroup/user.slice/user@1000.service".into(),
                "/user.slice/user@1000.service".into(),
            )),
        };
        assert_eq!(
            n.apply("/sys/fs/cgroup/user.slice/user@1000.service/container-labs/run-4242-99/pids"),
            "<delegated>/container-labs/run-<lab>/pids"
        );
        assert_eq!(
            n.apply("/user.slice/user@1000.service/container-labs/run-4242-99"),
            "<delegated>/container-labs/run-<lab>"
        );
    }
}
