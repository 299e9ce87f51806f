//! Bind mounts, read-only binds, new roots: the mount-table operations of
//! labs 02 and 03, narrated. Seen in `/proc/PID/mountinfo` (one line per
//! mount: its root inside the filesystem, its mount point as seen from the
//! reader's root, its options and filesystem type) and `/proc/PID/root`.
//!
//! Call these only inside a private mount namespace ([`crate::ops::private_mount_ns`]).

use std::path::Path;

use nix::mount::{MsFlags, mount};
use nix::sys::statvfs::{FsFlags, statvfs};
use serde::Serialize;

use crate::error::KitError;
use crate::narrate::Narrate;
use crate::proc::Who;

/// `mount(src, dst, NULL, MS_BIND[|MS_REC], NULL)`.
pub fn bind(n: &mut impl Narrate, src: &str, dst: &str, recursive: bool) -> nix::Result<()> {
    let (flags, shown) = if recursive {
        (MsFlags::MS_BIND | MsFlags::MS_REC, "MS_BIND|MS_REC")
    } else {
        (MsFlags::MS_BIND, "MS_BIND")
    };
    n.call(
        format!("mount(\"{src}\", \"{dst}\", NULL, {shown}, NULL)"),
        mount(Some(src), dst, None::<&str>, flags, None::<&str>),
    )
}

/// Make the bind mount at `dst` read-only: `MS_BIND|MS_REMOUNT|MS_RDONLY`.
/// The mount's other per-mount flags (nosuid, nodev, noexec, atime) are
/// kept: inside a user namespace the kernel refuses to clear flags that a
/// more privileged namespace set ("locked" flags), and elsewhere keeping
/// them is what `mount -o remount,bind,ro` does too.
pub fn remount_readonly(n: &mut impl Narrate, dst: &str) -> nix::Result<()> {
    let kept = statvfs(dst)
        .map(|st| kept_flags(st.flags()))
        .unwrap_or(MsFlags::empty());
    n.call(
        format!("mount(NULL, \"{dst}\", NULL, MS_BIND|MS_REMOUNT|MS_RDONLY, NULL)"),
        mount(
            None::<&str>,
            dst,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | kept,
            None::<&str>,
        ),
    )
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
