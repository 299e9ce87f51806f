//! Reading process state back from `/proc` (through procfs) and normalizing
//! it so the same kernel behaviour reads the same on every machine.
//!
//! Shown here: `/proc/PID/ns/*` (a namespace is its device and inode number),
//! `/proc/PID/status` (`Uid`, `Gid`, `Cap*`, `NSpid`), `/proc/PID/uid_map`.

use std::collections::HashMap;

use nix::errno::Errno;
use procfs::process::Process;

use crate::error::KitError;

/// The namespace types, in the order `/proc/PID/ns` lists them.
pub const NS_TYPES: &[&str] = &[
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// Which process to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The calling process (`/proc/self`).
    This,
    /// Another process, by its pid as seen from the caller.
    Pid(i32),
}

impl Who {
    /// Open it in procfs.
    pub fn process(self) -> Result<Process, KitError> {
        match self {
            Who::This => Process::myself().map_err(|e| KitError::proc("/proc/self", e)),
            Who::Pid(p) => Process::new(p).map_err(|e| KitError::proc(format!("/proc/{p}"), e)),
        }
    }

    fn label(self) -> String {
        match self {
            Who::This => "/proc/self".into(),
            Who::Pid(p) => format!("/proc/{p}"),
        }
    }
}

/// A namespace's identity: the device and inode of its `/proc/PID/ns` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId {
    /// Device of the nsfs.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

/// Every namespace of a process, by type. A link that cannot be resolved is
/// left out: `pid_for_children` after `unshare(CLONE_NEWPID)` cannot be,
/// until the first child is born.
pub fn namespaces(who: Who) -> Result<HashMap<String, NsId>, KitError> {
    let mut all = HashMap::new();
    for kind in NS_TYPES {
        match namespace(who, kind) {
            Ok(id) => {
                all.insert(kind.to_string(), id);
            }
            // Absent on this kernel, or not resolvable yet.
            Err(KitError::SysPath {
                errno: Errno::ENOENT, ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

/// One namespace of a process: `stat` of its `/proc/PID/ns/KIND` link (the
/// link resolves to the namespace's nsfs inode).
pub fn namespace(who: Who, kind: &str) -> Result<NsId, KitError> {
    let path = format!("{}/ns/{kind}", who.label());
    let st = nix::sys::stat::stat(path.as_str()).map_err(|source| KitError::SysPath {
        call: "stat",
        path: path.into(),
        errno: source,
    })?;
    Ok(NsId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// Names namespaces by their relation to where the lab started: `host` for
/// the namespace the lab process was born in, `new#1`, `new#2`, ... for the
/// others in the order the run first sees them. Inode numbers never leave it.
#[derive(Debug, Clone, Default)]
pub struct NsNamer {
    baseline: HashMap<String, NsId>,
    seen: HashMap<(String, NsId), String>,
    counters: HashMap<String, usize>,
}

impl NsNamer {
    /// Take the baseline from the calling process, before it changes anything.
    pub fn from_this_process() -> Result<Self, KitError> {
        Ok(Self::with_baseline(namespaces(Who::This)?))
    }

    /// A namer with a given baseline (tests).
    pub fn with_baseline(baseline: HashMap<String, NsId>) -> Self {
        NsNamer {
            baseline,
            ..Default::default()
        }
    }

    /// The stable name of namespace `id` of type `kind`.
    pub fn name(&mut self, kind: &str, id: NsId) -> String {
        // `pid_for_children` is a pid namespace, and so on: compare like with like.
        let base_kind = kind.trim_end_matches("_for_children");
        if self.baseline.get(base_kind) == Some(&id) {
            return "host".into();
        }
        let key = (base_kind.to_string(), id);
        if let Some(name) = self.seen.get(&key) {
            return name.clone();
        }
        let n = self.counters.entry(base_kind.to_string()).or_default();
        *n += 1;
        let name = format!("new#{n}");
        self.seen.insert(key, name.clone());
        name
    }

    /// The stable name of a process's namespace of type `kind`.
    pub fn of(&mut self, who: Who, kind: &str) -> Result<String, KitError> {
        let id = namespace(who, kind)?;
        Ok(self.name(kind, id))
    }
}

/// How many processes this caller can see in namespace `id` of type `kind`
/// (processes whose `/proc/PID/ns` it may not read are not counted).
pub fn processes_in(kind: &str, id: NsId) -> usize {
    let Ok(all) = procfs::process::all_processes() else {
        return 0;
    };
    all.flatten()
        .filter(|p| {
            p.namespaces().ok().and_then(|ns| {
                ns.0.get(std::ffi::OsStr::new(kind)).map(|n| NsId {
                    dev: n.device_id,
                    ino: n.identifier,
                })
            }) == Some(id)
        })
        .count()
}

/// One row of an `lsns`-like listing: a namespace and the processes in it.
#[derive(Debug, Clone)]
pub struct NsUse {
    /// Its type (`uts`, ...).
    pub kind: String,
    /// Its identity.
    pub id: NsId,
    /// The pids in it, as the caller sees them, sorted.
    pub pids: Vec<i32>,
    /// The command (`comm`) of the lowest pid.
    pub command: String,
}

/// Every namespace that a process the caller may look at is in, by type and
/// identity (what `lsns` lists). Processes whose `/proc/PID/ns` the caller may
/// not read are left out; `*_for_children` links are not namespaces of their own.
pub fn census() -> Vec<NsUse> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    let mut rows: HashMap<(String, NsId), Vec<i32>> = HashMap::new();
    for p in all.flatten() {
        let Ok(ns) = namespaces(Who::Pid(p.pid)) else {
            continue;
        };
        for (kind, id) in ns {
            if !kind.ends_with("_for_children") {
                rows.entry((kind, id)).or_default().push(p.pid);
            }
        }
    }
    let mut out: Vec<NsUse> = rows
        .into_iter()
        .map(|((kind, id), mut pids)| {
            pids.sort_unstable();
            let command = pids
                .first()
                .and_then(|p| procfs::process::Process::new(*p).ok())
                .and_then(|p| p.stat().ok())
                .map(|st| st.comm)
                .unwrap_or_default();
            NsUse {
                kind,
                id,
                pids,
                command,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.kind, a.pids.first()).cmp(&(&b.kind, b.pids.first())));
    out
}

/// The pids (as the caller sees them) whose parent is `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.flatten()
        .filter(|p| p.stat().is_ok_and(|st| st.ppid == pid))
        .map(|p| p.pid)
        .collect()
}

/// The pids listed in the `/proc` the caller has mounted, sorted.
pub fn visible_pids() -> Result<Vec<i32>, KitError> {
    let all = procfs::process::all_processes().map_err(|e| KitError::proc("/proc", e))?;
    let mut pids: Vec<i32> = all.flatten().map(|p| p.pid).collect();
    pids.sort_unstable();
    Ok(pids)
}

/// `NSpid` of `/proc/PID/status`: the pid in each PID namespace from the
/// reader's down to the process's own. All levels but the last are pids of
/// namespaces above the process, so they are redacted as `<outer>`.
pub fn nspid_normalized(who: Who) -> Result<Vec<String>, KitError> {
    let st = status(who)?;
    let levels = st.nspid.unwrap_or_else(|| vec![st.pid]);
    let n = levels.len();
    Ok(levels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            if i + 1 == n {
                p.to_string()
            } else {
                "<outer>".to_string()
            }
        })
        .collect())
}

/// Whether descriptor `fd` of the caller is close-on-exec: the `flags:` line
/// of `/proc/self/fdinfo/FD` (octal open flags) holds `O_CLOEXEC`.
pub fn fd_is_cloexec(fd: i32) -> Result<bool, KitError> {
    let path = format!("/proc/self/fdinfo/{fd}");
    let text = std::fs::read_to_string(&path).map_err(|e| KitError::io(&path, e))?;
    let flags = text
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .ok_or_else(|| KitError::io(&path, std::io::Error::other("no octal flags: line")))?;
    Ok(flags & libc::O_CLOEXEC as u32 != 0)
}

/// The caller's open descriptors, from `/proc/self/fd`.
pub fn open_fds() -> Result<Vec<i32>, KitError> {
    let fds = Process::myself()
        .and_then(|p| p.fd())
        .map_err(|e| KitError::proc("/proc/self/fd", e))?;
    let mut v: Vec<i32> = fds.flatten().map(|f| f.fd).collect();
    v.sort_unstable();
    Ok(v)
}

/// The caller's descriptors above stderr that would survive `execve` (not
/// close-on-exec). Descriptors that vanish while looking (the listing's own)
/// are not counted.
pub fn inheritable_fds() -> Result<Vec<i32>, KitError> {
    let mut out = Vec::new();
    for fd in open_fds()?.into_iter().filter(|fd| *fd > 2) {
        match fd_is_cloexec(fd) {
            Ok(true) => {}
            Ok(false) => out.push(fd),
            Err(e) if e.errno() == Some(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// `/proc/PID/status` of a process.
pub fn status(who: Who) -> Result<procfs::process::Status, KitError> {
    who.process()?
        .status()
        .map_err(|e| KitError::proc(format!("{}/status", who.label()), e))
}

/// The capability names in a `Cap*` mask, or `full`/`none` for the obvious cases.
pub fn cap_names(mask: u64) -> String {
    let all = caps::all();
    let known: u64 = all.iter().map(|c| c.bitmask()).fold(0, |a, b| a | b);
    if mask == 0 {
        return "none".into();
    }
    if mask & known == known {
        return "full".into();
    }
    let missing: Vec<String> = all
        .iter()
        .filter(|c| mask & c.bitmask() == 0)
        .map(|c| c.to_string().to_lowercase())
        .collect();
    if missing.len() <= 4 {
        return format!("full except {}", missing.join(","));
    }
    let mut names: Vec<(u8, String)> = all
        .iter()
        .filter(|c| mask & c.bitmask() != 0)
        .map(|c| (c.index(), c.to_string().to_lowercase()))
        .collect();
    names.sort();
    names.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ino: u64) -> NsId {
        NsId { dev: 4, ino }
    }

    #[test]
    fn names_by_relation_not_inode() {
        let mut namer = NsNamer::with_baseline(HashMap::from([
            ("uts".to_string(), id(100)),
            ("pid".to_string(), id(200)),
        ]));
        assert_eq!(namer.name("uts", id(100)), "host");
        assert_eq!(namer.name("uts", id(555)), "new#1");
        assert_eq!(namer.name("uts", id(333)), "new#2");
        assert_eq!(namer.name("uts", id(555)), "new#1");
        // Numbering is per type, and *_for_children is the same type.
        assert_eq!(namer.name("pid_for_children", id(999)), "new#1");
        assert_eq!(namer.name("pid", id(999)), "new#1");
        assert_eq!(namer.name("pid_for_children", id(200)), "host");
    }

    #[test]
    fn same_inode_on_another_device_is_another_namespace() {
        let mut namer = NsNamer::with_baseline(HashMap::from([("net".to_string(), id(7))]));
        assert_eq!(namer.name("net", NsId { dev: 5, ino: 7 }), "new#1");
    }

    #[test]
    fn capability_masks_read_as_names() {
        assert_eq!(cap_names(0), "none");
        assert_eq!(cap_names(u64::MAX), "full");
        assert_eq!(cap_names(1 << 21), "cap_sys_admin");
        assert_eq!(cap_names(!(1 << 24)), "full except cap_sys_resource");
        assert_eq!(cap_names((1 << 0) | (1 << 10)), "cap_chown,cap_net_bind_service");
    }
}
