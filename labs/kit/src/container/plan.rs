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

use super::{DEFAULT_CAPS, DEVICES, PROC_MASKED, PROC_READ_ONLY, STAGES};
use crate::narrate::Narrate;
use crate::op::{Capset, Chdir, CloexecFrom, Mkdir, Mount, Open, PivotRoot, Prctl, Sethostname, Symlink, Umount2};
use crate::overlay::{Layers, OverlayError};
use crate::seccomp::{InstallFilter, Program, SeccompError};

/// What the container is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The image's layers, the top one first: one is a prepared root
    /// filesystem (e.g. made by debootstrap), several are stacked by
    /// overlayfs. None: the root is assembled from the host's `/usr`.
    pub layers: Vec<PathBuf>,
    /// No writable layer: the base stays read-only (`EROFS`) instead of
    /// taking the container's writes into a tmpfs above it.
    pub read_only: bool,
    /// The seccomp filter installed last, before `execve`.
    pub seccomp: Seccomp,
    /// The container's hostname.
    pub hostname: String,
    /// Whether `lo` comes up (otherwise the network namespace has it down).
    pub loopback: bool,
    /// The container has a user namespace of its own: its overlay keeps its
    /// xattrs in `user.overlay.*` (`userxattr`).
    pub rootless: bool,
}

/// Which seccomp filter the container gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seccomp {
    /// What Docker's default profile refuses ([`crate::seccomp::docker_default`]).
    Default,
    /// None, as `docker run --security-opt seccomp=unconfined`.
    Unconfined,
}

/// Why a plan cannot be made of a [`Config`].
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The layers cannot be given to overlay.
    #[error("the container's layers: {0}")]
    Layers(#[from] OverlayError),
    /// The seccomp filter does not compile.
    #[error("the container's seccomp filter: {0}")]
    Filter(#[from] SeccompError),
    /// Every place the container could be set up overlaps a layer.
    #[error("no place to set the container up outside its layers: each of {} holds or lies inside a layer", .0.join(", "))]
    NoStage(Vec<String>),
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
    /// Those of [`STAGES`] that are directories here.
    pub stages: Vec<String>,
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
            stages: STAGES
                .iter()
                .filter(|d| Path::new(d).is_dir())
                .map(|d| d.to_string())
                .collect(),
        }
    }
}

/// The phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseName {
    /// Make every mount private, so nothing propagates to the host.
    Mounts,
    /// Assemble the root filesystem at [`Stage::root`].
    Rootfs,
    /// `pivot_root` into it and detach the old root.
    Pivot,
    /// The hostname, and `lo` up.
    Identity,
    /// Capabilities cut to Docker's default set, `no_new_privs`,
    /// close-on-exec, the seccomp filter.
    Restrict,
}

/// One thing a phase does.
#[derive(Debug, Clone)]
pub enum Action {
    /// `mount(…)`.
    Mount(Mount),
    /// `mount("overlay", …)`: where this system cannot mount it (no overlay,
    /// a kernel too old for one in a user namespace, a policy), the
    /// container cannot be made, and the error names why and what to do.
    Overlay {
        /// The mount.
        mount: Mount,
        /// Made in a user namespace of the container's own.
        in_userns: bool,
    },
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
        /// The same, as the container will see it.
        inside: String,
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
    /// `seccomp(SECCOMP_SET_MODE_FILTER, …)`.
    InstallFilter(Program),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Mount(o) => o.fmt(f),
            Action::Overlay { mount, .. } => mount.fmt(f),
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
            Action::InstallFilter(p) => InstallFilter(p).fmt(f),
        }
    }
}

impl Action {
    /// Run it, narrating every call it makes.
    pub fn run(&self, n: &mut impl Narrate) -> anyhow::Result<()> {
        match self {
            Action::Mount(o) => n.run(o.clone())?,
            Action::Overlay { mount, in_userns } => {
                if let Err(errno) = n.run(mount.clone()) {
                    return Err(match crate::overlay::refusal(errno, *in_userns) {
                        Some(why) => crate::lab::CannotRun::unsupported(crate::tr!(
                            "{why} (or keep the root read-only, without an overlay: `lab container --read-only`)"
                        ))
                        .into(),
                        None => anyhow::anyhow!("{mount}: {errno}"),
                    });
                }
            }
            Action::RemountReadonly(p) => crate::mount::remount_readonly(n, p)?,
            Action::Umount2(o) => n.run(o.clone())?,
            Action::Mkdir(o) => n.run(o.clone())?,
            Action::MountPoint {
                path,
                inside,
                in_rootfs,
            } => {
                if !Path::new(path).is_dir()
                    && let Err(e) = n.run(Mkdir::new(path.as_str()))
                {
                    match in_rootfs {
                        // A prepared root normally has its mount points; a root we
                        // may not write says so.
                        Some(given) => anyhow::bail!(
                            "the root filesystem {} has no {} to mount on, and it cannot be made there: {e}",
                            given.display(),
                            inside
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
            Action::CloexecFrom(o) => drop(n.run(*o)?),
            Action::InstallFilter(p) => n.run(InstallFilter(p))?,
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
    /// Where it is set up.
    pub stage: Stage,
    /// The phases in the order they run.
    pub phases: Vec<Phase>,
}

/// Where the container is set up: a directory of the host's tree that a
/// tmpfs covers in the container's mount namespace (see [`super::STAGE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage(pub String);

impl Stage {
    /// The stage for a container made of `layers` on `host`: the first of
    /// its [`HostView::stages`] that neither holds a layer nor lies inside
    /// one (overlay refuses layers that overlap, with `ELOOP`).
    pub fn choose(host: &HostView, layers: &[PathBuf]) -> Result<Stage, PlanError> {
        let free = |dir: &&String| {
            !layers
                .iter()
                .any(|l| l.starts_with(dir.as_str()) || Path::new(dir.as_str()).starts_with(l))
        };
        match host.stages.iter().find(free) {
            Some(dir) => Ok(Stage(dir.clone())),
            None => Err(PlanError::NoStage(host.stages.clone())),
        }
    }

    /// The new root.
    pub fn root(&self) -> String {
        format!("{}/root", self.0)
    }

    /// The overlay's writable layer.
    pub fn upper(&self) -> String {
        format!("{}/upper", self.0)
    }

    /// The overlay's work directory.
    pub fn work(&self) -> String {
        format!("{}/work", self.0)
    }

    /// A path in the new root: `at("/usr")`.
    pub fn at(&self, rel: &str) -> String {
        format!("{}/root{rel}", self.0)
    }
}

impl Plan {
    /// The plan for `config` on a host that looks like `host`.
    pub fn new(config: &Config, host: &HostView) -> Result<Plan, PlanError> {
        let stage = Stage::choose(host, &config.layers)?;
        let phases = vec![
            Phase {
                name: PhaseName::Mounts,
                actions: vec![Action::Mount(Mount::change("/", MsFlags::MS_REC | MsFlags::MS_PRIVATE))],
            },
            Phase {
                name: PhaseName::Rootfs,
                actions: rootfs(config, host, &stage)?,
            },
            // ANCHOR: pivot
            Phase {
                name: PhaseName::Pivot,
                actions: vec![
                    Action::Chdir(Chdir::new(stage.root())),
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
                actions: restrict(config, host)?,
            },
        ];
        Ok(Plan { stage, phases })
    }

    /// The plan for `config` on this machine.
    pub fn for_this_host(config: &Config) -> Result<Plan, PlanError> {
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

fn rootfs(config: &Config, host: &HostView, stage: &Stage) -> Result<Vec<Action>, PlanError> {
    let root = stage.root();
    let at = |rel: &str| stage.at(rel);
    let mut v = vec![
        Action::Mount(
            Mount::fs("container", stage.0.as_str(), "tmpfs")
                .flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
                .data("mode=0755"),
        ),
        Action::Mkdir(Mkdir::new(root.as_str())),
    ];
    let writable = !config.read_only;
    if writable {
        v.push(Action::Mkdir(Mkdir::new(stage.upper())));
        v.push(Action::Mkdir(Mkdir::new(stage.work())));
    }
    let overlay = |lower: &[PathBuf], target: &str, flags: MsFlags| {
        let layers = Layers::new(lower).userxattr(config.rootless);
        let layers = if writable {
            layers.upper(stage.upper(), stage.work())
        } else {
            layers
        };
        Ok::<_, OverlayError>(Action::Overlay {
            mount: layers.mount(target)?.flags(flags),
            in_userns: config.rootless,
        })
    };
    match config.layers.as_slice() {
        [] => {
            v.push(Action::Mount(
                Mount::fs("rootfs", root.as_str(), "tmpfs")
                    .flags(MsFlags::MS_NOSUID | MsFlags::MS_NODEV)
                    .data("mode=0755"),
            ));
            v.push(Action::Mkdir(Mkdir::new(at("/usr"))));
            if writable {
                // ANCHOR: usr_overlay
                // The host's /usr is the lower layer: the container reads it and
                // writes above it, into the stage's tmpfs.
                v.push(overlay(&["/usr".into()], &at("/usr"), MsFlags::empty())?);
                // ANCHOR_END: usr_overlay
            } else {
                v.push(Action::Mount(Mount::bind("/usr", at("/usr")).flags(MsFlags::MS_REC)));
                v.push(Action::RemountReadonly(at("/usr")));
            }
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
        // One read-only layer: overlay wants two or more without an upper.
        [dir] if !writable => {
            v.push(Action::Mount(
                Mount::bind(dir.as_path(), root.as_str()).flags(MsFlags::MS_REC),
            ));
            v.push(Action::RemountReadonly(root.clone()));
        }
        // Device nodes the container makes (it keeps CAP_MKNOD) must not
        // open host devices: the image's root is nodev.
        layers => v.push(overlay(
            layers,
            &root,
            if writable {
                MsFlags::MS_NODEV
            } else {
                MsFlags::MS_NODEV | MsFlags::MS_RDONLY
            },
        )?),
    }
    for dir in ["/proc", "/dev", "/tmp"] {
        v.push(Action::MountPoint {
            path: at(dir),
            inside: dir.to_string(),
            in_rootfs: config.layers.first().filter(|_| config.read_only).cloned(),
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
    Ok(v)
}

// ANCHOR: restrict
/// Cut the capabilities to Docker's default set (bounding set first, so no
/// later `execve` can regain the rest), set `no_new_privs`, and mark every
/// descriptor above stderr close-on-exec; the seccomp filter comes last,
/// once `no_new_privs` lets it be installed without `CAP_SYS_ADMIN`.
fn restrict(config: &Config, host: &HostView) -> Result<Vec<Action>, PlanError> {
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
    if config.seccomp == Seccomp::Default {
        v.push(Action::InstallFilter(crate::seccomp::docker_default()?));
    }
    Ok(v)
}
// ANCHOR_END: restrict

impl From<&str> for Config {
    fn from(hostname: &str) -> Self {
        Config {
            layers: Vec::new(),
            read_only: false,
            seccomp: Seccomp::Default,
            hostname: hostname.to_string(),
            loopback: true,
            rootless: false,
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
            stages: vec!["/tmp".into(), "/run".into()],
        }
    }

    fn plan(config: &Config) -> Plan {
        Plan::new(config, &host()).expect("the plan is made")
    }

    fn lines(p: &Phase) -> Vec<String> {
        p.actions.iter().map(ToString::to_string).collect()
    }

    fn position(l: &[String], s: &str) -> usize {
        l.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} not in {l:#?}"))
    }

    #[test]
    fn propagation_is_private_before_anything_is_mounted() {
        let plan = plan(&Config::from("c"));
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
    fn the_assembled_root_takes_the_hosts_usr_as_its_lower_layer() {
        let l = lines(plan(&Config::from("c")).phase(PhaseName::Rootfs));
        assert_eq!(
            l[..5],
            [
                r#"mount("container", "/tmp", "tmpfs", MS_NOSUID|MS_NODEV, "mode=0755")"#,
                r#"mkdir("/tmp/root", 0755)"#,
                r#"mkdir("/tmp/upper", 0755)"#,
                r#"mkdir("/tmp/work", 0755)"#,
                r#"mount("rootfs", "/tmp/root", "tmpfs", MS_NOSUID|MS_NODEV, "mode=0755")"#,
            ]
        );
        let usr = position(
            &l,
            r#"mount("overlay", "/tmp/root/usr", "overlay", 0, "lowerdir=/usr,upperdir=/tmp/upper,workdir=/tmp/work")"#,
        );
        assert!(position(&l, r#"mkdir("/tmp/root/usr", 0755)"#) < usr);
        position(&l, r#"symlink("usr/bin", "/tmp/root/bin")"#);
        position(&l, r#"mount("/lib64", "/tmp/root/lib64", NULL, MS_BIND|MS_REC, NULL)"#);
        let proc_ = position(
            &l,
            r#"mount("proc", "/tmp/root/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)"#,
        );
        assert!(position(&l, "mask /tmp/root/proc/kcore") > proc_);
        assert!(position(&l, "read-only /tmp/root/proc/sys") > proc_);
        position(&l, r#"mount("/dev/null", "/tmp/root/dev/null", NULL, MS_BIND, NULL)"#);
        position(
            &l,
            r#"mount("devpts", "/tmp/root/dev/pts", "devpts", MS_NOSUID|MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")"#,
        );
        let last = l.last().map(String::as_str);
        assert_eq!(
            last,
            Some(r#"mount("tmp", "/tmp/root/tmp", "tmpfs", MS_NOSUID|MS_NODEV, "mode=1777")"#)
        );
    }

    #[test]
    fn read_only_binds_usr_and_makes_no_writable_layer() {
        let config = Config {
            read_only: true,
            ..Config::from("c")
        };
        let l = lines(plan(&config).phase(PhaseName::Rootfs));
        let usr = position(&l, r#"mount("/usr", "/tmp/root/usr", NULL, MS_BIND|MS_REC, NULL)"#);
        assert!(usr < position(&l, "remount /tmp/root/usr read-only, keeping its locked flags"));
        assert!(
            !l.iter().any(|x| x.contains("overlay") || x.contains("/tmp/upper")),
            "{l:#?}"
        );
    }

    #[test]
    fn rootless_overlays_keep_their_xattrs_in_the_user_namespace() {
        let config = Config {
            rootless: true,
            ..Config::from("c")
        };
        let l = lines(plan(&config).phase(PhaseName::Rootfs));
        position(
            &l,
            r#"mount("overlay", "/tmp/root/usr", "overlay", 0, "lowerdir=/usr,upperdir=/tmp/upper,workdir=/tmp/work,userxattr")"#,
        );
    }

    #[test]
    fn image_layers_are_stacked_top_first_and_nodev() {
        let layers = vec![PathBuf::from("/img/app"), PathBuf::from("/img/base")];
        let config = Config {
            layers: layers.clone(),
            ..Config::from("c")
        };
        let l = lines(plan(&config).phase(PhaseName::Rootfs));
        position(
            &l,
            r#"mount("overlay", "/tmp/root", "overlay", MS_NODEV, "lowerdir=/img/app:/img/base,upperdir=/tmp/upper,workdir=/tmp/work")"#,
        );
        assert!(!l.iter().any(|x| x.contains(r#""/usr""#)), "{l:#?}");
        let read_only = Config {
            layers,
            read_only: true,
            ..Config::from("c")
        };
        let l = lines(plan(&read_only).phase(PhaseName::Rootfs));
        position(
            &l,
            r#"mount("overlay", "/tmp/root", "overlay", MS_RDONLY|MS_NODEV, "lowerdir=/img/app:/img/base")"#,
        );
    }

    #[test]
    fn one_read_only_layer_is_a_read_only_bind() {
        let config = Config {
            layers: vec!["/srv/root".into()],
            read_only: true,
            ..Config::from("c")
        };
        let l = lines(plan(&config).phase(PhaseName::Rootfs));
        assert_eq!(l[2], r#"mount("/srv/root", "/tmp/root", NULL, MS_BIND|MS_REC, NULL)"#);
        assert_eq!(l[3], "remount /tmp/root read-only, keeping its locked flags");
    }

    #[test]
    fn a_layer_overlay_cannot_parse_is_refused_before_anything_runs() {
        let config = Config {
            layers: vec![PathBuf::from("/img/a\0b")],
            ..Config::from("c")
        };
        assert!(matches!(
            Plan::new(&config, &host()),
            Err(PlanError::Layers(OverlayError::BadPath(_)))
        ));
    }

    #[test]
    fn the_stage_moves_off_a_directory_that_holds_a_layer() {
        let config = Config {
            layers: vec!["/tmp/image".into()],
            ..Config::from("c")
        };
        let plan = plan(&config);
        assert_eq!(plan.stage, Stage("/run".into()));
        let l = lines(plan.phase(PhaseName::Rootfs));
        assert_eq!(
            l[0],
            r#"mount("container", "/run", "tmpfs", MS_NOSUID|MS_NODEV, "mode=0755")"#
        );
        position(
            &l,
            r#"mount("overlay", "/run/root", "overlay", MS_NODEV, "lowerdir=/tmp/image,upperdir=/run/upper,workdir=/run/work")"#,
        );
        assert_eq!(lines(plan.phase(PhaseName::Pivot))[0], r#"chdir("/run/root")"#);
        let everything = Config {
            layers: vec!["/".into()],
            ..Config::from("c")
        };
        assert!(matches!(Plan::new(&everything, &host()), Err(PlanError::NoStage(_))));
    }

    #[test]
    fn pivot_detaches_the_old_root() {
        let l = lines(plan(&Config::from("c")).phase(PhaseName::Pivot));
        assert_eq!(
            l,
            [
                r#"chdir("/tmp/root")"#,
                r#"pivot_root(".", ".")"#,
                r#"umount2(".", MNT_DETACH)"#,
                r#"chdir("/")"#
            ]
        );
    }

    #[test]
    fn restrictions_cut_the_bounding_set_first_and_filter_last() {
        let l = lines(plan(&Config::from("c")).phase(PhaseName::Restrict));
        let first_capset = l.iter().position(|x| x.starts_with("capset(")).expect("capset");
        assert!(
            l[..first_capset]
                .iter()
                .all(|x| x.starts_with("prctl(PR_CAPBSET_DROP, "))
        );
        assert!(l.contains(&"prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)".to_string()));
        assert!(!l.contains(&"prctl(PR_CAPBSET_DROP, CAP_CHOWN)".to_string()));
        let tail: Vec<&str> = l[l.len() - 4..l.len() - 1].iter().map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)",
                "prctl(PR_SET_NO_NEW_PRIVS, 1)",
                "close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)"
            ]
        );
        let filter = l.last().expect("a last action");
        assert!(
            filter.starts_with("seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=")
                && filter.ends_with("filter=<docker-default>})"),
            "{filter}"
        );
        let unconfined = Config {
            seccomp: Seccomp::Unconfined,
            ..Config::from("c")
        };
        let l = lines(plan(&unconfined).phase(PhaseName::Restrict));
        assert!(!l.iter().any(|x| x.starts_with("seccomp(")), "{l:#?}");
    }

    #[test]
    fn identity_brings_lo_up_only_when_asked() {
        let config = Config {
            loopback: false,
            ..Config::from("box")
        };
        let l = lines(plan(&config).phase(PhaseName::Identity));
        assert_eq!(l, [r#"sethostname("box", 3)"#]);
        let l = lines(plan(&Config::from("box")).phase(PhaseName::Identity));
        assert_eq!(l, [r#"sethostname("box", 3)"#, "link lo up"]);
    }
}
