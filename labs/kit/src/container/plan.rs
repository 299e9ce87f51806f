//! The container's recipe as data: phases of call values, in the order a
//! runtime applies them (like bubblewrap's list of setup operations, or the
//! mounts of an OCI config). A plan is built from a [`Config`] and what the
//! host looks like ([`HostView`]); building it needs no privilege and makes
//! no call, so its unit tests run on any machine. Running a phase runs its
//! actions in order, each narrated from its value.

use std::fmt;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability};
use nix::fcntl::OFlag;
use nix::mount::MsFlags;

use super::{DEFAULT_CAPS, DEVICES, NEW_ROOT, PROC_MASKED, PROC_READ_ONLY};
use crate::narrate::Narrate;
use crate::op::{Capset, Chdir, CloexecFrom, Mkdir, Mount, Open, PivotRoot, Prctl, Sethostname, Symlink, Umount2};

/// What the container is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// A prepared root filesystem (bound at [`NEW_ROOT`]) instead of the one
    /// assembled from the host's `/usr`.
    pub rootfs: Option<PathBuf>,
    /// The container's hostname.
    pub hostname: String,
    /// Whether `lo` comes up (otherwise the network namespace has it down).
    pub loopback: bool,
}

/// What the plan needs to know of the host: which top-level directories
/// are links into `/usr` (merged /usr) and which are directories, and
/// which capabilities the kernel knows.
#[derive(Debug, Clone, PartialEq)]
pub struct HostView {
    /// `bin -> usr/bin` and friends.
    pub links: Vec<(String, PathBuf)>,
    /// Top-level directories bound read-only as they are (`/lib64` on a
    /// system without merged /usr).
    pub dirs: Vec<String>,
    /// Every capability this kernel knows (`/proc/sys/kernel/cap_last_cap`).
    pub capabilities: Vec<Capability>,
}

impl HostView {
    /// The tops a root filesystem takes from the host besides `/usr`.
    pub const TOPS: [&'static str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    /// Read it from this machine.
    pub fn read() -> HostView {
        let mut links = Vec::new();
        let mut dirs = Vec::new();
        for top in Self::TOPS {
            let host = Path::new("/").join(top);
            match std::fs::read_link(&host) {
                Ok(target) => links.push((top.to_string(), target)),
                Err(_) if host.is_dir() => dirs.push(top.to_string()),
                Err(_) => {}
            }
        }
        let mut capabilities: Vec<Capability> = caps::runtime::procfs_all_supported(None)
            .unwrap_or_else(|_| caps::all())
            .into_iter()
            .collect();
        capabilities.sort_by_key(|c| c.index());
        HostView {
            links,
            dirs,
            capabilities,
        }
    }
}

/// The phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseName {
    /// Make every mount private, so nothing propagates to the host.
    Mounts,
    /// Assemble the root filesystem at [`NEW_ROOT`].
    Rootfs,
    /// `pivot_root` into it and detach the old root.
    Pivot,
    /// The hostname, and `lo` up.
    Identity,
    /// Capabilities cut to Docker's default set, `no_new_privs`, close-on-exec.
    Restrict,
}

/// One thing a phase does.
#[derive(Debug, Clone)]
pub enum Action {
    /// `mount(…)`.
    Mount(Mount),
    /// A bind mount made read-only, keeping the flags the kernel locked on it
    /// (decided when it runs, from the mount's `statvfs` flags).
    RemountReadonly(String),
    /// `umount2(…)`.
    Umount2(Umount2),
    /// `mkdir(…)`.
    Mkdir(Mkdir),
    /// A mount point made when missing; `in_rootfs` names a prepared root
    /// filesystem whose lack of it is the user's to fix.
    MountPoint {
        /// The directory.
        path: String,
        /// The prepared root filesystem it must be in, if any.
        in_rootfs: Option<PathBuf>,
    },
    /// A file created empty or with content: `open(…, O_CREAT…)` and one `write`.
    File {
        /// The file.
        path: String,
        /// Its content.
        content: String,
    },
    /// `symlink(…)`.
    Symlink(Symlink),
    /// Hide a part of `/proc`, if this kernel has it: a read-only tmpfs over
    /// a directory, `/dev/null` over a file.
    Mask(String),
    /// Make a part of `/proc` read-only, if this kernel has it.
    ReadOnlyIfPresent(String),
    /// `chdir(…)`.
    Chdir(Chdir),
    /// `pivot_root(…)`.
    PivotRoot(PivotRoot),
    /// `sethostname(…)`.
    Sethostname(Sethostname),
    /// Bring a network interface up (rtnetlink `RTM_NEWLINK` with `IFF_UP`).
    LinkUp(String),
    /// `prctl(…)`.
    Prctl(Prctl),
    /// `capset(…)`.
    Capset(Capset),
    /// `close_range(…, CLOSE_RANGE_CLOEXEC)`.
    CloexecFrom(CloexecFrom),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Mount(o) => o.fmt(f),
            Action::RemountReadonly(p) => write!(f, "remount {p} read-only, keeping its locked flags"),
            Action::Umount2(o) => o.fmt(f),
            Action::Mkdir(o) => o.fmt(f),
            Action::MountPoint { path, .. } => write!(f, "mount point {path}"),
            Action::File { path, content } => write!(f, "create {path} ({} bytes)", content.len()),
            Action::Symlink(o) => o.fmt(f),
            Action::Mask(p) => write!(f, "mask {p}"),
            Action::ReadOnlyIfPresent(p) => write!(f, "read-only {p}"),
            Action::Chdir(o) => o.fmt(f),
            Action::PivotRoot(o) => o.fmt(f),
            Action::Sethostname(o) => o.fmt(f),
            Action::LinkUp(name) => write!(f, "link {name} up"),
            Action::Prctl(o) => o.fmt(f),
            Action::Capset(o) => o.fmt(f),
            Action::CloexecFrom(o) => o.fmt(f),
        }
    }
}

impl Action {
    /// Run it, narrating every call it makes.
    pub fn run(&self, n: &mut impl Narrate) -> anyhow::Result<()> {
        match self {
            Action::Mount(o) => n.run(o.clone())?,
            Action::RemountReadonly(p) => crate::mount::remount_readonly(n, p)?,
            Action::Umount2(o) => n.run(o.clone())?,
            Action::Mkdir(o) => n.run(o.clone())?,
            Action::MountPoint { path, in_rootfs } => {
                if !Path::new(path).is_dir()
                    && let Err(e) = n.run(Mkdir::new(path.as_str()))
                {
                    match in_rootfs {
                        // A prepared root normally has its mount points; a root we
                        // may not write says so.
                        Some(given) => anyhow::bail!(
                            "the root filesystem {} has no {} to mount on, and it cannot be made there: {e}",
                            given.display(),
                            path.trim_start_matches(NEW_ROOT)
                        ),
                        None => anyhow::bail!("mkdir {path}: {e}"),
                    }
                }
            }
            Action::File { path, content } => {
                let fd = n.run(Open::create(
                    path.as_str(),
                    OFlag::O_WRONLY | OFlag::O_TRUNC | OFlag::O_CLOEXEC,
                    0o644,
                ))?;
                if !content.is_empty() {
                    n.run(crate::op::Write {
                        fd: std::os::fd::AsFd::as_fd(&fd),
                        text: content,
                    })?;
                }
            }
            Action::Symlink(o) => n.run(o.clone())?,
            Action::Mask(p) => {
                let path = Path::new(p);
                if path.is_dir() {
                    n.run(Mount::fs("masked", p.as_str(), "tmpfs").flags(MsFlags::MS_RDONLY))?;
                } else if path.exists() {
                    n.run(Mount::bind("/dev/null", p.as_str()))?;
                }
            }
            Action::ReadOnlyIfPresent(p) => {
                if Path::new(p).exists() {
                    crate::mount::bind_readonly(n, p, p)?;
                }
            }
            Action::Chdir(o) => n.run(o.clone())?,
            Action::PivotRoot(o) => n.run(o.clone())?,
            Action::Sethostname(o) => n.run(o.clone())?,
            Action::LinkUp(name) => crate::net::link_up(n, name)?,
            Action::Prctl(o) => n.run(*o)?,
            Action::Capset(o) => n.run(o.clone())?,
            Action::CloexecFrom(o) => n.run(*o)?,
        }
        Ok(())
    }
}

/// One phase: a name and its actions.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Which phase.
    pub name: PhaseName,
    /// What it does, in order.
    pub actions: Vec<Action>,
}

impl Phase {
    /// Run every action in order; the first failure ends the phase.
    pub fn run(&self, n: &mut impl Narrate) -> anyhow::Result<()> {
        self.actions.iter().try_for_each(|a| a.run(n))
    }
}

/// The whole recipe.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The phases in the order they run.
    pub phases: Vec<Phase>,
}

fn at(rel: &str) -> String {
    format!("{NEW_ROOT}{rel}")
}

impl Plan {
    /// The plan for `config` on a host that looks like `host`.
    pub fn new(config: &Config, host: &HostView) -> Plan {
        let phases = vec![
            Phase {
                name: PhaseName::Mounts,
                actions: vec![Action::Mount(Mount::change("/", MsFlags::MS_REC | MsFlags::MS_PRIVATE))],
            },
            Phase {
                name: PhaseName::Rootfs,
                actions: rootfs(config, host),
            },
            // ANCHOR: pivot
            Phase {
                name: PhaseName::Pivot,
                actions: vec![
                    Action::Chdir(Chdir::new(NEW_ROOT)),
                    // pivot_root(".", ".") stacks the old root on top of the new
                    // one, so no directory for it is needed in the new root
                    // (which may be read-only, or not ours to write).
                    Action::PivotRoot(PivotRoot::new(".", ".")),
                    Action::Umount2(Umount2::detach(".")),
                    Action::Chdir(Chdir::new("/")),
                ],
            },
            // ANCHOR_END: pivot
            Phase {
                name: PhaseName::Identity,
                actions: {
                    let mut v = vec![Action::Sethostname(Sethostname::new(&config.hostname))];
                    if config.loopback {
                        v.push(Action::LinkUp("lo".into()));
                    }
                    v
                },
            },
            Phase {
                name: PhaseName::Restrict,
                actions: restrict(host),
            },
        ];
        Plan { phases }
    }

    /// The plan for `config` on this machine.
    pub fn for_this_host(config: &Config) -> Plan {
        Plan::new(config, &HostView::read())
    }

    /// One phase.
    pub fn phase(&self, name: PhaseName) -> &Phase {
        // Every plan has every phase (built in `new`).
        self.phases.iter().find(|p| p.name == name).unwrap_or(&self.phases[0])
    }

    /// Run every phase in order.
    pub fn run(&self, n: &mut impl Narrate) -> anyhow::Result<()> {
        self.phases.iter().try_for_each(|p| p.run(n))
    }
}

fn rootfs(config: &Config, host: &HostView) -> Vec<Action> {
    let mut v = Vec::new();
    match &config.rootfs {
        Some(dir) => {
            v.push(Action::Mount(
                Mount::bind(dir.as_path(), NEW_ROOT).flags(MsFlags::MS_REC),
            ));
            // Device nodes the container makes in the host's directory (it
            // keeps CAP_MKNOD) must not open host devices.
            v.push(Action::Mount(
                Mount::change(NEW_ROOT, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_NODEV)
                    .keeping(crate::mount::kept_flags_of(NEW_ROOT)),
            ));
        }
        None => {
            v.push(Action::Mount(
                Mount::fs("rootfs", NEW_ROOT, "tmpfs")
                    .flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
                    .data("mode=0755"),
            ));
            v.push(Action::Mkdir(Mkdir::new(at("/usr"))));
            v.push(Action::Mount(Mount::bind("/usr", at("/usr")).flags(MsFlags::MS_REC)));
            v.push(Action::RemountReadonly(at("/usr")));
            for (top, target) in &host.links {
                v.push(Action::Symlink(Symlink {
                    target: target.as_path().into(),
                    linkpath: at(&format!("/{top}")).into(),
                }));
            }
            for top in &host.dirs {
                v.push(Action::Mkdir(Mkdir::new(at(&format!("/{top}")))));
                v.push(Action::Mount(
                    Mount::bind(format!("/{top}"), at(&format!("/{top}"))).flags(MsFlags::MS_REC),
                ));
                v.push(Action::RemountReadonly(at(&format!("/{top}"))));
            }
            v.push(Action::Mkdir(Mkdir::new(at("/etc"))));
            for (file, content) in [
                (
                    "passwd",
                    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                ),
                ("group", "root:x:0:\nnogroup:x:65534:\n"),
                ("hosts", "127.0.0.1 localhost\n::1 localhost\n"),
            ] {
                v.push(Action::File {
                    path: at(&format!("/etc/{file}")),
                    content: content.to_string(),
                });
            }
            v.push(Action::Mkdir(Mkdir::new(at("/root"))));
        }
    }
    for dir in ["/proc", "/dev", "/tmp"] {
        v.push(Action::MountPoint {
            path: at(dir),
            in_rootfs: config.rootfs.clone(),
        });
    }
    v.push(Action::Mount(
        Mount::fs("proc", at("/proc"), "proc").flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC),
    ));
    for name in PROC_READ_ONLY {
        v.push(Action::ReadOnlyIfPresent(at(&format!("/proc/{name}"))));
    }
    for name in PROC_MASKED {
        v.push(Action::Mask(at(&format!("/proc/{name}"))));
    }
    v.push(Action::Mount(
        Mount::fs("dev", at("/dev"), "tmpfs")
            .flags(MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV)
            .data("mode=0755"),
    ));
    for node in DEVICES {
        let target = at(&format!("/dev/{node}"));
        v.push(Action::File {
            path: target.clone(),
            content: String::new(),
        });
        v.push(Action::Mount(Mount::bind(format!("/dev/{node}"), target)));
    }
    for sub in ["pts", "shm"] {
        v.push(Action::Mkdir(Mkdir::new(at(&format!("/dev/{sub}")))));
    }
    v.push(Action::Mount(
        Mount::fs("devpts", at("/dev/pts"), "devpts")
            .flags(MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC)
            .data("newinstance,ptmxmode=0666,mode=0620"),
    ));
    v.push(Action::Mount(
        Mount::fs("shm", at("/dev/shm"), "tmpfs")
            .flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
            .data("mode=1777"),
    ));
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        v.push(Action::Symlink(Symlink {
            target: target.into(),
            linkpath: at(&format!("/dev/{link}")).into(),
        }));
    }
    v.push(Action::Mount(
        Mount::fs("tmp", at("/tmp"), "tmpfs")
            .flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
            .data("mode=1777"),
    ));
    v
}

// ANCHOR: restrict
/// Cut the capabilities to Docker's default set (bounding set first, so no
/// later `execve` can regain the rest), set `no_new_privs`, and mark every
/// descriptor above stderr close-on-exec.
fn restrict(host: &HostView) -> Vec<Action> {
    let mut v: Vec<Action> = host
        .capabilities
        .iter()
        .filter(|c| !DEFAULT_CAPS.contains(c))
        .map(|c| Action::Prctl(Prctl::CapbsetDrop(*c)))
        .collect();
    // For root, execve makes the new permitted set inheritable | bounding:
    // both must hold the default set and nothing more. Effective before
    // permitted: a capability may not stay effective once it is not permitted.
    for set in [CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        v.push(Action::Capset(Capset::Set(set, DEFAULT_CAPS.to_vec())));
    }
    v.push(Action::Prctl(Prctl::AmbientClearAll));
    v.push(Action::Prctl(Prctl::SetNoNewPrivs));
    v.push(Action::CloexecFrom(CloexecFrom(3)));
    v
}
// ANCHOR_END: restrict

impl From<&str> for Config {
    fn from(hostname: &str) -> Self {
        Config {
            rootfs: None,
            hostname: hostname.to_string(),
            loopback: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostView {
        HostView {
            links: vec![("bin".into(), "usr/bin".into()), ("lib".into(), "usr/lib".into())],
            dirs: vec!["lib64".into()],
            capabilities: caps::all().into_iter().collect(),
        }
    }

    fn lines(p: &Phase) -> Vec<String> {
        p.actions.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn propagation_is_private_before_anything_is_mounted() {
        let plan = Plan::new(&Config::from("c"), &host());
        assert_eq!(plan.phases[0].name, PhaseName::Mounts);
        assert_eq!(
            lines(&plan.phases[0]),
            [r#"mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)"#]
        );
        let order: Vec<PhaseName> = plan.phases.iter().map(|p| p.name).collect();
        assert_eq!(
            order,
            [
                PhaseName::Mounts,
                PhaseName::Rootfs,
                PhaseName::Pivot,
                PhaseName::Identity,
                PhaseName::Restrict
            ]
        );
    }

    #[test]
    fn the_assembled_root_holds_usr_read_only_and_the_hosts_layout() {
        let plan = Plan::new(&Config::from("c"), &host());
        let l = lines(plan.phase(PhaseName::Rootfs));
        let pos = |s: &str| {
            l.iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("{s} not in {l:#?}"))
        };
        let tmpfs = pos(r#"mount("rootfs", "/tmp", "tmpfs", MS_NOSUID|MS_NODEV, "mode=0755")"#);
        let usr = pos(r#"mount("/usr", "/tmp/usr", NULL, MS_BIND|MS_REC, NULL)"#);
        let ro = pos("remount /tmp/usr read-only, keeping its locked flags");
        assert!(tmpfs < usr && usr < ro);
        pos(r#"symlink("usr/bin", "/tmp/bin")"#);
        pos(r#"mount("/lib64", "/tmp/lib64", NULL, MS_BIND|MS_REC, NULL)"#);
        let proc_ = pos(r#"mount("proc", "/tmp/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)"#);
        assert!(pos("mask /tmp/proc/kcore") > proc_);
        assert!(pos("read-only /tmp/proc/sys") > proc_);
        pos(r#"mount("/dev/null", "/tmp/dev/null", NULL, MS_BIND, NULL)"#);
        pos(r#"mount("devpts", "/tmp/dev/pts", "devpts", MS_NOSUID|MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")"#);
        let last = l.last().map(String::as_str);
        assert_eq!(
            last,
            Some(r#"mount("tmp", "/tmp/tmp", "tmpfs", MS_NOSUID|MS_NODEV, "mode=1777")"#)
        );
    }

    #[test]
    fn a_prepared_root_is_bound_and_made_nodev() {
        let config = Config {
            rootfs: Some("/srv/root".into()),
            ..Config::from("c")
        };
        let l = lines(Plan::new(&config, &host()).phase(PhaseName::Rootfs));
        assert_eq!(l[0], r#"mount("/srv/root", "/tmp", NULL, MS_BIND|MS_REC, NULL)"#);
        assert!(l[1].starts_with(r#"mount(NULL, "/tmp", NULL, MS_NODEV|MS_REMOUNT|MS_BIND"#));
        assert!(!l.iter().any(|x| x.contains("/usr")), "{l:#?}");
    }

    #[test]
    fn pivot_detaches_the_old_root() {
        let l = lines(Plan::new(&Config::from("c"), &host()).phase(PhaseName::Pivot));
        assert_eq!(
            l,
            [
                r#"chdir("/tmp")"#,
                r#"pivot_root(".", ".")"#,
                r#"umount2(".", MNT_DETACH)"#,
                r#"chdir("/")"#
            ]
        );
    }

    #[test]
    fn restrictions_cut_the_bounding_set_first() {
        let l = lines(Plan::new(&Config::from("c"), &host()).phase(PhaseName::Restrict));
        let first_capset = l.iter().position(|x| x.starts_with("capset(")).expect("capset");
        assert!(
            l[..first_capset]
                .iter()
                .all(|x| x.starts_with("prctl(PR_CAPBSET_DROP, "))
        );
        assert!(l.contains(&"prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)".to_string()));
        assert!(!l.contains(&"prctl(PR_CAPBSET_DROP, CAP_CHOWN)".to_string()));
        let tail: Vec<&str> = l[l.len() - 3..].iter().map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)",
                "prctl(PR_SET_NO_NEW_PRIVS, 1)",
                "close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)"
            ]
        );
    }

    #[test]
    fn identity_brings_lo_up_only_when_asked() {
        let config = Config {
            loopback: false,
            ..Config::from("box")
        };
        let l = lines(Plan::new(&config, &host()).phase(PhaseName::Identity));
        assert_eq!(l, [r#"sethostname("box", 3)"#]);
        let l = lines(Plan::new(&Config::from("box"), &host()).phase(PhaseName::Identity));
        assert_eq!(l, [r#"sethostname("box", 3)"#, "link lo up"]);
    }
}
