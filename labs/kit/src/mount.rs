//! Mounts and their propagation, narrated and read back from
//! `/proc/PID/mountinfo` (through procfs). The optional fields of mountinfo
//! tell a mount's propagation: `shared:N` (member of peer group N: mounts and
//! unmounts under it propagate to the peers), `master:N` (a slave receiving
//! from peer group N), `propagate_from:N` (the nearest dominant peer group
//! visible here), `unbindable`, or nothing (private). Peer group numbers
//! differ on every machine, so [`PeerGroups`] names them `A`, `B`, ... by
//! first appearance.
//!
//! Every helper here is meant for a mount namespace the lab created and made
//! private first ([`crate::ops::private_mount_ns`]): nothing reaches the host.
//!
//! Bind mounts, read-only binds and new roots (labs 02, 03) are here too:
//! `/proc/PID/mountinfo` gives each mount's root inside its filesystem and
//! its mount point as seen from the reader's root.

use std::collections::HashMap;
use std::path::Path;

use nix::mount::MsFlags;
use nix::sys::statvfs::{FsFlags, statvfs};
use procfs::process::{MountInfo, MountOptFields};

use serde::{Deserialize, Serialize};

use crate::child::{self, Child, Cue};
use crate::error::KitError;
use crate::narrate::Narrate;
use crate::op;
use crate::proc::Who;

/// Errors reading the mount table.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// procfs could not read or parse mountinfo.
    #[error("cannot read {path}: {err}")]
    Mountinfo {
        /// `/proc/PID/mountinfo`.
        path: String,
        /// The cause.
        err: procfs::ProcError,
    },
}

/// A propagation type, set with `mount(NULL, target, NULL, MS_*, NULL)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Propagation {
    /// `MS_SHARED`: a member of a peer group.
    Shared,
    /// `MS_SLAVE`: receives from its former peer group, sends nothing.
    Slave,
    /// `MS_PRIVATE`: no propagation.
    Private,
    /// `MS_UNBINDABLE`: private, and may not be bind-mounted.
    Unbindable,
}

impl Propagation {
    fn flag(self) -> MsFlags {
        match self {
            Propagation::Shared => MsFlags::MS_SHARED,
            Propagation::Slave => MsFlags::MS_SLAVE,
            Propagation::Private => MsFlags::MS_PRIVATE,
            Propagation::Unbindable => MsFlags::MS_UNBINDABLE,
        }
    }
}

/// `mount(NULL, target, NULL, MS_REC?|MS_<TYPE>, NULL)`: change propagation.
pub fn set_propagation(n: &mut impl Narrate, target: &str, p: Propagation, recursive: bool) -> nix::Result<()> {
    let mut flag = p.flag();
    if recursive {
        flag |= MsFlags::MS_REC;
    }
    n.run(op::Mount::change(target, flag))
}

/// `mount(source, target, fstype, 0, NULL)`: a new filesystem instance.
pub fn mount_fs(n: &mut impl Narrate, source: &str, target: &str, fstype: &str) -> nix::Result<()> {
    n.run(op::Mount::fs(source, target, fstype))
}

/// `mount(source, target, NULL, MS_BIND, NULL)`; the source may carry a
/// placeholder ([`op::Arg::child_proc`]: `/proc/<child>/ns/uts`).
pub fn bind_as(n: &mut impl Narrate, source: op::Arg, target: &str) -> nix::Result<()> {
    n.run(op::Mount::bind(source, target))
}

/// `umount2(target, 0)`.
pub fn unmount(n: &mut impl Narrate, target: &str) -> nix::Result<()> {
    n.run(op::Umount2::new(target))
}

/// `mkdir(path, 0755)`.
pub fn mkdir(n: &mut impl Narrate, path: &str) -> nix::Result<()> {
    n.run(op::Mkdir::new(path))
}

/// Create an empty file (a mount point for a bind mount of a file).
pub fn touch(n: &mut impl Narrate, path: &str) -> nix::Result<()> {
    use nix::fcntl::OFlag;
    // The descriptor is closed at once: only the file is needed.
    n.run(op::Open::create(
        path,
        OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        0o644,
    ))
    .map(drop)
}

/// `pivot_root(new_root, put_old)`.
pub fn pivot_root(n: &mut impl Narrate, new_root: &str, put_old: &str) -> nix::Result<()> {
    n.run(op::PivotRoot::new(new_root, put_old))
}

/// The mount table of a process.
pub fn mountinfo(who: Who) -> Result<Vec<MountInfo>, MountError> {
    let path = match who {
        Who::This => "/proc/self/mountinfo".to_string(),
        Who::Pid(p) => format!("/proc/{p}/mountinfo"),
    };
    let process = who.process().map_err(|e| MountError::Mountinfo {
        path: path.clone(),
        err: match e {
            crate::KitError::Proc { err, .. } => err,
            other => procfs::ProcError::Other(other.to_string()),
        },
    })?;
    process
        .mountinfo()
        .map(|m| m.0)
        .map_err(|err| MountError::Mountinfo { path, err })
}

/// The topmost mount at `path` in a process's mount table, if any.
pub fn mountinfo_at(who: Who, path: &str) -> Result<Option<MountInfo>, MountError> {
    Ok(mountinfo(who)?.into_iter().rfind(|m| m.mount_point == Path::new(path)))
}

/// Whether something is mounted at `path` in a process's mount namespace.
pub fn is_mounted(who: Who, path: &str) -> Result<bool, MountError> {
    Ok(mountinfo_at(who, path)?.is_some())
}

/// `mounted` or `not mounted`, for observations.
pub fn visibility(who: Who, path: &str) -> Result<&'static str, MountError> {
    Ok(if is_mounted(who, path)? {
        "mounted"
    } else {
        "not mounted"
    })
}

/// Names peer groups by first appearance (`A`, `B`, ...): the kernel's
/// numbers depend on what else was mounted since boot.
#[derive(Debug, Default)]
pub struct PeerGroups {
    names: HashMap<u32, String>,
}

impl PeerGroups {
    /// The stable name of peer group `id`.
    pub fn name(&mut self, id: u32) -> String {
        let next = self.names.len();
        self.names
            .entry(id)
            .or_insert_with(|| {
                let letter = char::from(b'A' + (next % 26) as u8);
                if next < 26 {
                    letter.to_string()
                } else {
                    format!("{letter}{}", next / 26)
                }
            })
            .clone()
    }

    /// The optional fields of a mount, normalized: `shared:A`, `master:A`,
    /// `shared:B master:A`, `unbindable`, or `private` when there are none.
    pub fn describe(&mut self, fields: &[MountOptFields]) -> String {
        let parts: Vec<String> = fields
            .iter()
            .map(|f| match f {
                MountOptFields::Shared(id) => format!("shared:{}", self.name(*id)),
                MountOptFields::Master(id) => format!("master:{}", self.name(*id)),
                MountOptFields::PropagateFrom(id) => format!("propagate_from:{}", self.name(*id)),
                MountOptFields::Unbindable => "unbindable".to_string(),
            })
            .collect();
        if parts.is_empty() {
            "private".into()
        } else {
            parts.join(" ")
        }
    }

    /// The normalized propagation of the topmost mount at `path`, or
    /// `not mounted`.
    pub fn of(&mut self, who: Who, path: &str) -> Result<String, MountError> {
        Ok(match mountinfo_at(who, path)? {
            Some(m) => self.describe(&m.opt_fields),
            None => "not mounted".into(),
        })
    }
}

/// What an [`Agent`] can be asked to do in its mount namespace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MountCmd {
    /// [`mkdir`].
    Mkdir(String),
    /// [`mount_fs`] of a tmpfs named `source`.
    Tmpfs {
        /// The name shown in mountinfo.
        source: String,
        /// Where.
        target: String,
    },
    /// [`set_propagation`].
    Propagation {
        /// Which mount.
        target: String,
        /// The new type.
        propagation: Propagation,
        /// With `MS_REC`.
        recursive: bool,
    },
    /// [`unmount`].
    Unmount(String),
    /// [`pivot_root`].
    PivotRoot {
        /// The new root (a mount point).
        new_root: String,
        /// Where the old root goes.
        put_old: String,
    },
}

impl MountCmd {
    fn apply(&self, n: &mut impl Narrate) -> nix::Result<()> {
        match self {
            MountCmd::Mkdir(p) => mkdir(n, p),
            MountCmd::Tmpfs { source, target } => mount_fs(n, source, target, "tmpfs"),
            MountCmd::Propagation {
                target,
                propagation,
                recursive,
            } => set_propagation(n, target, *propagation, *recursive),
            MountCmd::Unmount(p) => unmount(n, p),
            MountCmd::PivotRoot { new_root, put_old } => pivot_root(n, new_root, put_old),
        }
    }
}

/// A child in a mount namespace of its own (a copy of the caller's, made
/// with `unshare(CLONE_NEWNS)`) that runs mount commands on request: the
/// other side of a propagation experiment. Dropping it kills it.
pub struct Agent {
    child: Child,
}

impl Agent {
    /// Fork the child and let it unshare its mount namespace.
    pub fn spawn(n: &mut impl Narrate) -> Result<Agent, KitError> {
        let mut child = child::spawn(n, |c| {
            crate::ops::unshare_ns(c, nix::sched::CloneFlags::CLONE_NEWNS)?;
            c.tell(Cue::Ready)?;
            while let Some(cmd) = c.recv::<Option<MountCmd>>()? {
                let res = cmd.apply(c);
                c.send(&res.map_err(|e| e as i32))?;
            }
            Ok(())
        })?;
        child.wait_for(Cue::Ready, n)?;
        Ok(Agent { child })
    }

    /// The child, to read its `/proc/PID/mountinfo`.
    pub fn who(&self) -> Who {
        Who::Pid(self.child.pid().as_raw())
    }

    /// Run one command in the child's mount namespace; its narration goes to `n`.
    pub fn run(&mut self, n: &mut impl Narrate, cmd: MountCmd) -> Result<nix::Result<()>, KitError> {
        self.child.send(&Some(cmd))?;
        let res: Result<(), i32> = self.child.recv(n)?;
        Ok(res.map_err(nix::errno::Errno::from_raw))
    }

    /// Let the child exit, and reap it.
    pub fn finish(mut self, n: &mut impl Narrate) -> Result<(), KitError> {
        self.child.send(&None::<MountCmd>)?;
        self.child.wait(n).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_groups_are_named_by_first_appearance() {
        let mut p = PeerGroups::default();
        assert_eq!(p.describe(&[]), "private");
        assert_eq!(p.describe(&[MountOptFields::Shared(412)]), "shared:A");
        assert_eq!(
            p.describe(&[MountOptFields::Shared(7), MountOptFields::Master(412)]),
            "shared:B master:A"
        );
        assert_eq!(p.describe(&[MountOptFields::Master(7)]), "master:B");
        assert_eq!(p.describe(&[MountOptFields::Unbindable]), "unbindable");
    }
}

/// `mount(src, dst, NULL, MS_BIND[|MS_REC], NULL)`.
pub fn bind(n: &mut impl Narrate, src: &str, dst: &str, recursive: bool) -> nix::Result<()> {
    let rec = if recursive { MsFlags::MS_REC } else { MsFlags::empty() };
    n.run(op::Mount::bind(src, dst).flags(rec))
}

/// Make the bind mount at `dst` read-only: `MS_BIND|MS_REMOUNT|MS_RDONLY`.
/// The mount's other per-mount flags (nosuid, nodev, noexec, atime) are
/// kept: inside a user namespace the kernel refuses to clear flags that a
/// more privileged namespace set ("locked" flags), and elsewhere keeping
/// them is what `mount -o remount,bind,ro` does too.
pub fn remount_readonly(n: &mut impl Narrate, dst: &str) -> nix::Result<()> {
    let kept = kept_flags_of(dst);
    n.run(op::Mount::change(dst, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY).keeping(kept))
}

/// The flags a remount of the mount at `path` must keep (see [`kept_flags`]).
pub fn kept_flags_of(path: &str) -> MsFlags {
    statvfs(path)
        .map(|st| kept_flags(st.flags()))
        .unwrap_or(MsFlags::empty())
}

fn kept_flags(f: FsFlags) -> MsFlags {
    [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ]
    .into_iter()
    .filter(|(st, _)| f.contains(*st))
    .fold(MsFlags::empty(), |acc, (_, ms)| acc | ms)
}

/// A bind mount made read-only: [`bind`] then [`remount_readonly`].
pub fn bind_readonly(n: &mut impl Narrate, src: &str, dst: &str) -> nix::Result<()> {
    bind(n, src, dst, true)?;
    remount_readonly(n, dst)
}

/// One line of `/proc/PID/mountinfo`, the parts that read the same on every machine.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MountEntry {
    /// The directory of the filesystem that is mounted (`/` for a whole filesystem).
    pub root: String,
    /// Where it is mounted, as seen from the process's root.
    pub mount_point: String,
    /// Filesystem type.
    pub fstype: String,
    /// `ro` or `rw` (per mount).
    pub access: String,
}

/// Every mount of a process, in mount-table order.
pub fn mounts(who: Who) -> Result<Vec<MountEntry>, KitError> {
    let info = who.process()?.mountinfo().map_err(|e| KitError::proc("mountinfo", e))?;
    Ok(info
        .into_iter()
        .map(|m| MountEntry {
            root: m.root,
            mount_point: m.mount_point.display().to_string(),
            fstype: m.fs_type,
            access: if m.mount_options.contains_key("ro") {
                "ro".into()
            } else {
                "rw".into()
            },
        })
        .collect())
}

/// The mount a path resolves to at `mount_point` (the last one mounted there), if any.
pub fn mount_at(who: Who, mount_point: &str) -> Result<Option<MountEntry>, KitError> {
    Ok(mounts(who)?.into_iter().rev().find(|m| m.mount_point == mount_point))
}

/// `stat` a path: its device and inode, to compare two paths (never shown).
pub fn file_id(path: &str) -> nix::Result<(u64, u64)> {
    nix::sys::stat::stat(path).map(|st| (st.st_dev, st.st_ino))
}

/// Put what a dynamically linked program needs into `root`: the host's
/// `/usr`, bind-mounted read-only, and the top-level `bin`, `sbin`, `lib*`
/// as the host has them (symbolic links into `usr` on merged-/usr systems,
/// read-only bind mounts otherwise). Returns the names created in `root`,
/// sorted. Only the `/usr` mount is narrated as calls (it is the same on
/// every system); the distribution-specific rest is told in a note.
pub fn host_programs_into(n: &mut impl Narrate, root: &str) -> Result<Vec<String>, KitError> {
    let io = |p: &str, e| KitError::io(p, e);
    let usr = format!("{root}/usr");
    std::fs::create_dir_all(&usr).map_err(|e| io(&usr, e))?;
    bind_readonly(n, "/usr", &usr).map_err(|errno| KitError::SysPath {
        call: "mount",
        path: usr.clone().into(),
        errno,
    })?;
    let mut made = vec!["usr".to_string()];
    let mut told = Vec::new();
    let mut top: Vec<String> = std::fs::read_dir("/")
        .map_err(|e| io("/", e))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|name| name == "bin" || name == "sbin" || name.starts_with("lib"))
        .collect();
    top.sort();
    for name in top {
        let host = format!("/{name}");
        let inside = format!("{root}/{name}");
        let meta = std::fs::symlink_metadata(&host).map_err(|e| io(&host, e))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&host).map_err(|e| io(&host, e))?;
            std::os::unix::fs::symlink(&target, &inside).map_err(|e| io(&inside, e))?;
            told.push(format!("/{name} -> {}", target.display()));
        } else if meta.is_dir() {
            std::fs::create_dir(&inside).map_err(|e| io(&inside, e))?;
            let mut quiet = crate::narrate::Quiet;
            bind_readonly(&mut quiet, &host, &inside).map_err(|errno| KitError::SysPath {
                call: "mount",
                path: inside.clone().into(),
                errno,
            })?;
            told.push(format!("/{name} bind-mounted read-only"));
        } else {
            continue;
        }
        made.push(name);
    }
    if !told.is_empty() {
        n.note(format!("As on this host: {}.", told.join(", ")));
    }
    made.sort();
    Ok(made)
}

/// The names in a directory, sorted.
pub fn list_dir(path: &str) -> Result<Vec<String>, KitError> {
    let mut names: Vec<String> = std::fs::read_dir(path)
        .map_err(|e| KitError::io(path, e))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    names.sort();
    Ok(names)
}

/// Whether `path` exists (without following a final symbolic link).
pub fn exists(path: impl AsRef<Path>) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}
