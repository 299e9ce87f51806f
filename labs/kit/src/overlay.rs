//! Overlay filesystems (overlayfs): read-only *lower* directories and one
//! writable *upper* directory (with its *work* directory on the same
//! filesystem) mounted as one tree, the way container runtimes build a
//! container's root from image layers.
//!
//! Where the kernel shows it:
//! - `/proc/filesystems` lists `nodev overlay` once the module is loaded;
//! - `/proc/PID/mountinfo` gives an overlay mount's layers in its super
//!   options: `lowerdir=TOP:…:BOTTOM,upperdir=…,workdir=…` (and `userxattr`),
//!   read back by [`options_at`];
//! - in the upper directory, a deleted lower file is a *whiteout*, a
//!   character device 0/0 ([`Entry::Whiteout`]), and a directory that hides
//!   the lower's contents carries the xattr `trusted.overlay.opaque` (or
//!   `user.overlay.opaque` with `userxattr`) set to `y` ([`Layers::xattr`]).
//!
//! [`Layers`] builds the `mount(2)` options from paths, escaping what
//! overlay's option parser splits on; [`mount_root`] mounts a container root
//! from image layers with its writable layer on a tmpfs. Everything here is
//! meant for a mount namespace the lab made private first
//! ([`crate::ops::private_mount_ns`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use serde::Serialize;

use crate::mount::{self, MountError};
use crate::narrate::Narrate;
use crate::op::{self, Arg, Op};
use crate::proc::Who;

/// Errors building or mounting an overlay.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// No lower directory was given.
    #[error("an overlay needs at least one lower directory")]
    NoLower,
    /// A layer's path cannot go into the options string.
    #[error("overlay layer path {0:?} is empty, not UTF-8 or holds a NUL byte")]
    BadPath(PathBuf),
    /// The options do not fit the one page `mount(2)` copies.
    #[error(
        "overlay options are {len} bytes, more than the {max} mount(2) takes: use shorter layer paths (Docker links each layer as l/<short id>)"
    )]
    TooLong {
        /// Bytes of the options string.
        len: usize,
        /// The most `mount(2)` reads: a page, less its final NUL.
        max: usize,
    },
    /// A call failed.
    #[error("{call} failed: {errno}")]
    Call {
        /// The call as narrated.
        call: String,
        /// The errno.
        errno: Errno,
    },
    /// Reading `/proc/filesystems` failed.
    #[error("cannot read /proc/filesystems: {0}")]
    Filesystems(std::io::Error),
}

impl OverlayError {
    /// The errno of a failed call.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            OverlayError::Call { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// The layers of an overlay, as `mount(2)` takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// The read-only layers, the top one first (`lowerdir=TOP:…:BOTTOM`).
    pub lower: Vec<PathBuf>,
    /// The writable layer and its work directory (an empty directory on
    /// the same filesystem). Without them the overlay is read-only.
    pub upper: Option<(PathBuf, PathBuf)>,
    /// `userxattr`: keep overlay's own xattrs in `user.overlay.*`, which a
    /// user namespace may write, instead of `trusted.overlay.*`, which needs
    /// `CAP_SYS_ADMIN` in the initial user namespace (Linux 5.11).
    pub userxattr: bool,
}

impl Layers {
    /// Read-only layers, the top one first.
    pub fn new<P: AsRef<Path>>(lower: impl IntoIterator<Item = P>) -> Self {
        Layers {
            lower: lower.into_iter().map(|p| p.as_ref().to_path_buf()).collect(),
            upper: None,
            userxattr: false,
        }
    }

    /// With a writable layer and its work directory.
    pub fn upper(mut self, upper: impl AsRef<Path>, work: impl AsRef<Path>) -> Self {
        self.upper = Some((upper.as_ref().to_path_buf(), work.as_ref().to_path_buf()));
        self
    }

    /// With `userxattr` (for a mount made inside a user namespace).
    pub fn userxattr(mut self, on: bool) -> Self {
        self.userxattr = on;
        self
    }

    /// The name of one of overlay's xattrs on this mount: `opaque` is
    /// `trusted.overlay.opaque`, or `user.overlay.opaque` with `userxattr`.
    pub fn xattr(&self, name: &str) -> String {
        let prefix = if self.userxattr { "user" } else { "trusted" };
        format!("{prefix}.overlay.{name}")
    }

    /// The options string:
    /// `lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W[,userxattr]`, each path
    /// escaped with [`escape`]. Refused when it would not fit the page that
    /// `mount(2)` copies (the kernel would cut it silently).
    pub fn data(&self) -> Result<String, OverlayError> {
        if self.lower.is_empty() {
            return Err(OverlayError::NoLower);
        }
        let lower: Vec<String> = self.lower.iter().map(|p| escaped(p)).collect::<Result<_, _>>()?;
        let mut data = format!("lowerdir={}", lower.join(":"));
        if let Some((upper, work)) = &self.upper {
            data.push_str(&format!(",upperdir={},workdir={}", escaped(upper)?, escaped(work)?));
        }
        if self.userxattr {
            data.push_str(",userxattr");
        }
        let max = page_size() - 1;
        if data.len() > max {
            return Err(OverlayError::TooLong { len: data.len(), max });
        }
        Ok(data)
    }

    /// `mount("overlay", target, "overlay", 0, options)`.
    pub fn mount(&self, target: impl Into<Arg>) -> Result<op::Mount, OverlayError> {
        Ok(op::Mount::fs("overlay", target, "overlay").data(self.data()?))
    }
}

/// A path as overlay's option parser reads it back: `\`, `,` and `:` each
/// preceded by `\`. The parser splits the options on unescaped `,` and
/// `lowerdir` on unescaped `:`, then drops each `\` and keeps the character
/// after it (`fs/overlayfs/params.c`: `ovl_next_opt`,
/// `ovl_parse_param_split_lowerdirs`, `ovl_unescape`; upper and work
/// directories are unescaped the same way).
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '\\' | ',' | ':') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn escaped(p: &Path) -> Result<String, OverlayError> {
    match p.to_str() {
        Some(s) if !s.is_empty() && !s.contains('\0') => Ok(escape(s)),
        _ => Err(OverlayError::BadPath(p.to_path_buf())),
    }
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(4096)
}

/// Split `lowerdir`'s value into layer paths, the top one first: on each
/// unescaped `:`, then each unescaped (the reverse of [`escape`]).
pub fn split_lowerdir(value: &str) -> Vec<String> {
    let mut layers = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        let Some(last) = layers.last_mut() else { break };
        match c {
            // Kept for `unescape`: only an unescaped colon splits.
            '\\' => {
                last.push(c);
                last.extend(chars.next());
            }
            ':' => layers.push(String::new()),
            c => last.push(c),
        }
    }
    // `::` separates data-only layers; they hold no names of their own.
    layers.iter().filter(|l| !l.is_empty()).map(|l| unescape(l)).collect()
}

/// Each `\` dropped and the character after it kept, as `ovl_unescape` does.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// mountinfo writes `,`, `=`, space, tab, newline and `\` in an option's
/// value as `\ooo` (octal); this reads them back.
pub fn mountinfo_unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An overlay mount's layers as mountinfo shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Options {
    /// `lowerdir`, split into layers, the top one first.
    pub lowerdir: Vec<String>,
    /// `upperdir`, if the mount has one.
    pub upperdir: Option<String>,
    /// `workdir`, if the mount has one.
    pub workdir: Option<String>,
    /// Whether `userxattr` is set.
    pub userxattr: bool,
}

impl Options {
    /// The layers from a mount's super options (as procfs splits them).
    pub fn from_super_options(opts: &HashMap<String, Option<String>>) -> Options {
        let value = |key: &str| opts.get(key).cloned().flatten().map(|v| mountinfo_unescape(&v));
        Options {
            lowerdir: value("lowerdir").map(|v| split_lowerdir(&v)).unwrap_or_default(),
            upperdir: value("upperdir").map(|v| unescape(&v)),
            workdir: value("workdir").map(|v| unescape(&v)),
            userxattr: opts.contains_key("userxattr"),
        }
    }
}

/// The layers of the overlay mounted at `path` in a process's mount
/// namespace, or `None` when the topmost mount there is not an overlay.
pub fn options_at(who: Who, path: &str) -> Result<Option<Options>, MountError> {
    Ok(mount::mountinfo_at(who, path)?
        .filter(|m| m.fs_type == "overlay")
        .map(|m| Options::from_super_options(&m.super_options)))
}

/// What a path in a layer is, as overlay reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Nothing there.
    Missing,
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A character device 0/0: overlay's mark that the name is deleted.
    Whiteout,
    /// Anything else (a symlink, another device, a socket, a FIFO).
    Other,
}

impl Entry {
    /// Read it (`lstat`: a symlink is itself, not its target).
    pub fn of(path: impl AsRef<Path>) -> std::io::Result<Entry> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Missing),
            Err(e) => return Err(e),
        };
        let t = meta.file_type();
        Ok(if t.is_file() {
            Entry::File
        } else if t.is_dir() {
            Entry::Directory
        } else if t.is_char_device() && meta.rdev() == 0 {
            Entry::Whiteout
        } else {
            Entry::Other
        })
    }

    /// The word observations use.
    pub fn as_str(self) -> &'static str {
        match self {
            Entry::Missing => "missing",
            Entry::File => "file",
            Entry::Directory => "directory",
            Entry::Whiteout => "whiteout (character device 0/0)",
            Entry::Other => "other",
        }
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `/proc/filesystems` (its text) lists overlay: `nodev\toverlay`.
pub fn lists_overlay(filesystems: &str) -> bool {
    filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
}

/// Whether this kernel has overlay now (built in, or its module loaded).
pub fn in_proc_filesystems() -> Result<bool, OverlayError> {
    std::fs::read_to_string("/proc/filesystems")
        .map(|t| lists_overlay(&t))
        .map_err(OverlayError::Filesystems)
}

/// Why this kernel lacks overlay, when `/proc/filesystems` does not list it.
pub fn not_in_proc_filesystems() -> String {
    crate::tr!(
        "this kernel has no overlay filesystem (no `overlay` in /proc/filesystems): the overlay module is not loaded, or not built (CONFIG_OVERLAY_FS); load it with `sudo modprobe overlay`"
    )
}

/// Why overlay refuses (`EIO`) to replace a lower directory in a user
/// namespace: the opaque xattr cannot be stored in the upper layer.
pub fn no_user_xattrs_in_upper() -> String {
    crate::tr!(
        "overlay could not mark the new directory opaque (EIO): the upper layer's filesystem stores no user.* xattrs, which overlay needs with userxattr (tmpfs has them from Linux 6.6); run the lab as root"
    )
}

/// When a refused overlay mount means this system cannot run it, why
/// (naming the cause and the fix); `None` when the refusal is not one of
/// those, and so a failure. `in_userns`: the mount was made inside a user
/// namespace (rootless).
pub fn refusal(errno: Errno, in_userns: bool) -> Option<String> {
    let kernel = procfs::KernelVersion::current().ok();
    let old = kernel.is_some_and(|v| v < procfs::KernelVersion::new(5, 11, 0));
    let version = kernel.map_or_else(|| "unknown".to_string(), |v| format!("{}.{}", v.major, v.minor));
    match errno {
        Errno::ENODEV => Some(crate::tr!("mount answered ENODEV: {}", not_in_proc_filesystems())),
        Errno::EPERM | Errno::EINVAL if in_userns && old => Some(crate::tr!(
            "overlay can be mounted in a user namespace from Linux 5.11 (userxattr); this is Linux {version}: run the lab as root"
        )),
        Errno::EPERM if in_userns => Some(crate::tr!(
            "the overlay mount in the lab's user namespace was refused (EPERM) although Linux {version} allows it: a seccomp filter or an LSM (AppArmor, SELinux) blocks it; run the lab as root or outside that policy"
        )),
        Errno::EPERM | Errno::EACCES => Some(
            "the overlay mount was refused although the lab is root: a seccomp filter or an LSM (AppArmor, SELinux) blocks mount(2); run the lab outside that policy".to_string(),
        ),
        _ => None,
    }
}

/// Mount a container root at `target`: the image's read-only layers
/// `lower`, the top one first, under a writable layer that lives on a fresh
/// tmpfs mounted at `rw` (`rw/upper` and its work directory `rw/work`), so
/// the container's changes vanish with the mount. `target` and `rw` are
/// existing directories.
/// Each call is narrated (`mount`, `mkdir`, `mkdir`, `mount`). Pass
/// `userxattr` when the caller is in a user namespace. Returns the layers
/// mounted, whose `upper` holds what the container changed (what `docker
/// diff` lists).
pub fn mount_root<P: AsRef<Path>>(
    n: &mut impl Narrate,
    lower: &[P],
    rw: &str,
    target: &str,
    userxattr: bool,
) -> Result<Layers, OverlayError> {
    let (upper, work) = (format!("{rw}/upper"), format!("{rw}/work"));
    let layers = Layers::new(lower).upper(&upper, &work).userxattr(userxattr);
    // Built first: bad paths are refused before anything is mounted.
    let root = layers.mount(target)?;
    run(n, op::Mount::fs("lab-overlay-rw", rw, "tmpfs").data("mode=0755"))?;
    run(n, op::Mkdir::new(upper.as_str()))?;
    run(n, op::Mkdir::new(work.as_str()))?;
    run(n, root)?;
    Ok(layers)
}

fn run<O: Op>(n: &mut impl Narrate, op: O) -> Result<O::Output, OverlayError> {
    let call = op.to_string();
    n.run(op).map_err(|errno| OverlayError::Call { call, errno })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_name_the_layers_top_first() {
        let l = Layers::new(["/l/3", "/l/2", "/l/1"]).upper("/rw/upper", "/rw/work");
        assert_eq!(
            l.data().ok().as_deref(),
            Some("lowerdir=/l/3:/l/2:/l/1,upperdir=/rw/upper,workdir=/rw/work")
        );
        let ro = Layers::new(["/a", "/b"]).userxattr(true);
        assert_eq!(ro.data().ok().as_deref(), Some("lowerdir=/a:/b,userxattr"));
        assert_eq!(ro.xattr("opaque"), "user.overlay.opaque");
        assert_eq!(l.xattr("opaque"), "trusted.overlay.opaque");
        assert!(matches!(
            Layers::new(Vec::<&str>::new()).data(),
            Err(OverlayError::NoLower)
        ));
        assert!(matches!(Layers::new([""]).data(), Err(OverlayError::BadPath(_))));
    }

    #[test]
    fn colons_commas_and_backslashes_are_escaped() {
        assert_eq!(escape(r"/img/a:b,c\d"), r"/img/a\:b\,c\\d");
        let l = Layers::new(["/x:1", "/y"]).upper("/u,v", "/w");
        assert_eq!(
            l.data().ok().as_deref(),
            Some(r"lowerdir=/x\:1:/y,upperdir=/u\,v,workdir=/w")
        );
        // What the kernel's parser makes of it is what was asked for.
        assert_eq!(split_lowerdir(r"/x\:1:/y:/z\\"), ["/x:1", "/y", r"/z\"]);
        assert_eq!(unescape(r"/u\,v"), "/u,v");
        assert_eq!(unescape(r"/u\:v\\"), r"/u:v\");
    }

    #[test]
    fn the_mount_call_reads_like_strace() {
        let m = Layers::new(["/tmp/lower"])
            .upper("/tmp/upper", "/tmp/work")
            .mount("/tmp/merged");
        assert_eq!(
            m.map(|m| m.to_string()).ok().as_deref(),
            Some(
                r#"mount("overlay", "/tmp/merged", "overlay", 0, "lowerdir=/tmp/lower,upperdir=/tmp/upper,workdir=/tmp/work")"#
            )
        );
    }

    #[test]
    fn options_that_do_not_fit_a_page_are_refused() {
        let long = format!("/{}", "x".repeat(page_size()));
        assert!(matches!(Layers::new([long]).data(), Err(OverlayError::TooLong { .. })));
    }

    #[test]
    fn mountinfo_options_read_back() {
        let line = r"69 66 0:41 / /tmp/merged rw,relatime - overlay overlay rw,lowerdir=/tmp/a\134\054b:/tmp/c,upperdir=/tmp/u\054v,workdir=/tmp/work,redirect_dir=nofollow,uuid=on,userxattr";
        let info = procfs::process::MountInfo::from_line(line).expect("a mountinfo line");
        let o = Options::from_super_options(&info.super_options);
        assert_eq!(o.lowerdir, ["/tmp/a,b", "/tmp/c"]);
        assert_eq!(o.upperdir.as_deref(), Some("/tmp/u,v"));
        assert_eq!(o.workdir.as_deref(), Some("/tmp/work"));
        assert!(o.userxattr);
        assert_eq!(mountinfo_unescape(r"a\040b\134"), r"a b\");
        // Linux 6.18, after a mount with `Layers::new(["/tmp/a:1", "/tmp/b,2", r"/tmp/c\3"])`
        // (the three layers' files all showed in /tmp/m).
        let real = r"71 66 0:41 / /tmp/m rw,relatime - overlay overlay rw,lowerdir=/tmp/a\134:1:/tmp/b\134\0542:/tmp/c\134\1343,upperdir=/tmp/u,workdir=/tmp/w,uuid=on";
        let info = procfs::process::MountInfo::from_line(real).expect("a mountinfo line");
        let o = Options::from_super_options(&info.super_options);
        assert_eq!(o.lowerdir, ["/tmp/a:1", "/tmp/b,2", r"/tmp/c\3"]);
        assert!(!o.userxattr);
        assert_eq!(
            Layers::new(["/tmp/a:1", "/tmp/b,2", r"/tmp/c\3"])
                .data()
                .ok()
                .as_deref(),
            Some(r"lowerdir=/tmp/a\:1:/tmp/b\,2:/tmp/c\\3")
        );
    }

    #[test]
    fn proc_filesystems_lists_overlay_or_not() {
        assert!(lists_overlay("nodev\tsysfs\nnodev\toverlay\n\text4\n"));
        assert!(!lists_overlay("nodev\tsysfs\n\text4\n"));
    }

    #[test]
    fn refusals_name_the_cause() {
        let enodev = refusal(Errno::ENODEV, false).unwrap_or_default();
        assert!(enodev.contains("modprobe overlay"), "{enodev}");
        assert!(refusal(Errno::EPERM, true).is_some());
        assert!(refusal(Errno::ENOENT, true).is_none());
        assert!(refusal(Errno::EINVAL, false).is_none());
    }

    #[test]
    fn entries_are_read_without_following_links() {
        assert_eq!(Entry::of("/nonexistent/container-labs").ok(), Some(Entry::Missing));
        assert_eq!(Entry::of("/").ok(), Some(Entry::Directory));
        // /dev/null is a character device, but 1/3: not a whiteout.
        assert_eq!(Entry::of("/dev/null").ok(), Some(Entry::Other));
    }

    #[test]
    fn a_root_with_bad_layers_is_refused_before_any_call() {
        struct Count(usize);
        impl Narrate for Count {
            fn emit(&mut self, _: crate::event::Event) {
                self.0 += 1;
            }
        }
        let mut n = Count(0);
        let none: [&str; 0] = [];
        assert!(matches!(
            mount_root(&mut n, &none, "/tmp/rw", "/tmp/root", false),
            Err(OverlayError::NoLower)
        ));
        assert!(matches!(
            mount_root(&mut n, &["/img/a\0b"], "/tmp/rw", "/tmp/root", true),
            Err(OverlayError::BadPath(_))
        ));
        assert_eq!(n.0, 0);
    }
}
