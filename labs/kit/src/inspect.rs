//! What makes a process a "container", read back from `/proc`: its
//! namespaces compared with PID 1's (`/proc/PID/ns/*`), its id maps
//! (`uid_map`, `gid_map`), its capability sets, no_new_privs and seccomp mode
//! (`status`), its cgroups (`cgroup`) and its root directory (`root`). Used by
//! `lab inspect PID`, and by lab 04 for a `pscap -a`-like listing of the
//! processes that hold capabilities.

use std::path::PathBuf;

use serde::Serialize;

use crate::exec::CapMasks;
use crate::i18n::{Translator, pad, tr, trf};
use crate::proc::{self, NS_TYPES, Who};

/// Why a process could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// There is no such process (or it exited meanwhile).
    #[error("no process with PID {0}")]
    NoSuchProcess(i32),
    /// A file of the process could not be read.
    #[error("cannot read /proc/{pid}/{file}: {reason}")]
    Unreadable {
        /// The process.
        pid: i32,
        /// The file under `/proc/PID`.
        file: &'static str,
        /// Why.
        reason: String,
    },
}

/// One process's container-relevant state.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Its pid.
    pub pid: i32,
    /// Its parent's pid.
    pub ppid: i32,
    /// The owner of its effective uid (`root`, `nobody`, or the number).
    pub user: String,
    /// Its command name.
    pub command: String,
    /// Each namespace: `same as PID 1`, `differs from PID 1` or why it cannot be read.
    pub namespaces: Vec<(String, String)>,
    /// `/proc/PID/uid_map`, one mapping per entry.
    pub uid_map: Vec<String>,
    /// `/proc/PID/gid_map`, one mapping per entry.
    pub gid_map: Vec<String>,
    /// The capability sets by name: inheritable, permitted, effective, bounding, ambient.
    pub capabilities: Vec<(String, String)>,
    /// `/proc/PID/cgroup`, one line per hierarchy.
    pub cgroups: Vec<String>,
    /// Where `/proc/PID/root` points (as seen from the reader's root).
    pub root: String,
    /// `disabled`, `strict` or `filter`.
    pub seccomp: String,
    /// Whether `PR_SET_NO_NEW_PRIVS` is set.
    pub no_new_privs: bool,
}

fn unreadable(pid: i32, file: &'static str, reason: impl ToString) -> InspectError {
    InspectError::Unreadable {
        pid,
        file,
        reason: reason.to_string(),
    }
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

fn lines(pid: i32, file: &'static str) -> Result<Vec<String>, InspectError> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .map(|t| {
            t.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect()
        })
        .map_err(|e| unreadable(pid, file, e))
}

/// Inspect process `pid`.
pub fn inspect(pid: i32) -> Result<Inspection, InspectError> {
    if pid <= 0 || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Err(InspectError::NoSuchProcess(pid));
    }
    let st = proc::status(Who::Pid(pid)).map_err(|e| unreadable(pid, "status", e))?;
    let caps = CapMasks::read(Who::Pid(pid)).map_err(|e| unreadable(pid, "status", e))?;
    let namespaces = NS_TYPES
        .iter()
        .map(|kind| {
            let rel = match (proc::namespace(Who::Pid(pid), kind), proc::namespace(Who::Pid(1), kind)) {
                (Ok(a), Ok(b)) if a == b => crate::tr!("same as PID 1"),
                (Ok(_), Ok(_)) => crate::tr!("differs from PID 1"),
                (Err(e), _) => crate::tr!("unreadable ({})", e.errno().map_or("?".into(), |e| format!("{e:?}"))),
                (_, Err(e)) => crate::tr!(
                    "PID 1's is unreadable ({})",
                    e.errno().map_or("?".into(), |e| format!("{e:?}"))
                ),
            };
            (kind.to_string(), rel)
        })
        .collect();
    let root = std::fs::read_link(format!("/proc/{pid}/root"))
        .map(|p: PathBuf| p.display().to_string())
        .unwrap_or_else(|e| crate::tr!("unreadable ({e})"));
    Ok(Inspection {
        pid,
        ppid: st.ppid,
        user: user_name(st.euid),
        command: st.name.clone(),
        namespaces,
        uid_map: lines(pid, "uid_map")?,
        gid_map: lines(pid, "gid_map")?,
        capabilities: vec![
            ("inheritable".into(), proc::cap_names(caps.inh)),
            ("permitted".into(), proc::cap_names(caps.prm)),
            ("effective".into(), proc::cap_names(caps.eff)),
            ("bounding".into(), proc::cap_names(caps.bnd)),
            ("ambient".into(), proc::cap_names(caps.amb)),
        ],
        cgroups: lines(pid, "cgroup")?,
        root,
        seccomp: match st.seccomp {
            Some(0) => crate::tr!("disabled"),
            Some(1) => "strict".into(),
            Some(2) => "filter".into(),
            Some(n) => crate::tr!("mode {n}"),
            None => crate::tr!("not reported by this kernel"),
        },
        no_new_privs: st.nonewprivs == Some(1),
    })
}

impl Inspection {
    /// The human form: one `field: value` per line, in the current
    /// language. The values are the kernel's (names of namespaces, sets and
    /// capabilities, maps, paths) and stay as read, but for the words this
    /// module put there (`same as PID 1`, `disabled`).
    pub fn render(&self) -> String {
        let t = Translator::default();
        let label = |text: &str| pad(text, 16);
        let mut out = trf(
            "pid {pid} (ppid {ppid}), user {user}, command {command}",
            &[&self.pid, &self.ppid, &self.user, &self.command],
        );
        out.push('\n');
        out.push_str(tr("namespaces (compared with PID 1's):"));
        out.push('\n');
        for (k, v) in &self.namespaces {
            out.push_str(&format!("  {k:<18} {}\n", t.text(v)));
        }
        out.push_str(&format!("{}{}\n", label(tr("uid_map:")), self.uid_map.join("; ")));
        out.push_str(&format!("{}{}\n", label(tr("gid_map:")), self.gid_map.join("; ")));
        out.push_str(tr("capabilities:"));
        out.push('\n');
        for (k, v) in &self.capabilities {
            let v = if v == "none" { tr("none") } else { v };
            out.push_str(&format!("  {k:<12} {v}\n"));
        }
        out.push_str(tr("cgroups:"));
        out.push('\n');
        for c in &self.cgroups {
            out.push_str(&format!("  {c}\n"));
        }
        out.push_str(&format!("{}{}\n", label(tr("root:")), t.text(&self.root)));
        out.push_str(&format!("{}{}\n", label(tr("seccomp:")), t.text(&self.seccomp)));
        let nnp = if self.no_new_privs { tr("true") } else { tr("false") };
        out.push_str(&format!("{}{nnp}\n", label(tr("no_new_privs:"))));
        out
    }
}

/// One row of the `pscap -a`-like listing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CapRow {
    /// Parent pid.
    pub ppid: i32,
    /// Pid.
    pub pid: i32,
    /// Owner of the effective uid.
    pub user: String,
    /// Command name.
    pub command: String,
    /// `full`, or the names in the permitted and effective sets.
    pub capabilities: String,
}

/// Every visible process whose permitted, effective or ambient set is not
/// empty, by pid. Kernel threads (kthreadd, pid 2, and its children) and
/// processes that exit while being read are left out.
pub fn capability_listing() -> Vec<CapRow> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    let mut rows: Vec<CapRow> = all
        .flatten()
        .filter_map(|p| p.status().ok())
        .filter(|st| st.pid != 2 && st.ppid != 2)
        .filter(|st| st.capprm | st.capeff | st.capamb.unwrap_or(0) != 0)
        .map(|st| CapRow {
            ppid: st.ppid,
            pid: st.pid,
            user: user_name(st.euid),
            command: st.name.clone(),
            capabilities: proc::cap_names(st.capprm | st.capeff | st.capamb.unwrap_or(0)),
        })
        .collect();
    rows.sort_by_key(|r| r.pid);
    rows
}

/// The listing as `pscap -a` prints it.
pub fn render_listing(rows: &[CapRow]) -> String {
    let mut out = format!(
        "{:>6} {:>6} {} {} {}\n",
        "ppid",
        "pid",
        pad(tr("user"), 10),
        pad(tr("command"), 16),
        tr("capabilities")
    );
    for r in rows {
        out.push_str(&format!(
            "{:>6} {:>6} {:<10} {:<16} {}\n",
            r.ppid, r.pid, r.user, r.command, r.capabilities
        ));
    }
    out
}
