//! Which cgroup hierarchies the machine has and which one holds each
//! controller, computed as a pure function of what the kernel shows:
//! `/proc/self/mountinfo` (where `cgroup` and `cgroup2` filesystems are
//! mounted, and for v1 which controllers each carries), `/proc/cgroups`
//! (every controller the kernel has, its v1 hierarchy id, whether it is
//! enabled), the filesystem magic of each mount point (`statfs`) and the v2
//! root's `cgroup.controllers`. [`Layout::read`] gathers the inputs; the
//! detection itself ([`Layout::from_inputs`]) is tested on fixture files.

use std::path::{Path, PathBuf};

use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, FsType, statfs};
use procfs::FromRead as _;
use procfs::process::MountInfos;
use serde::Serialize;

use super::CgroupMode;
use crate::error::KitError;

/// cgroup v1 (one hierarchy per mount, with its own controllers) or v2 (the unified hierarchy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// A legacy hierarchy.
    V1,
    /// The unified hierarchy.
    V2,
}

impl Version {
    /// `v1` or `v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        }
    }
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hierarchy {
    /// v1 or v2.
    pub version: Version,
    /// Where it is mounted (`/sys/fs/cgroup/pids`).
    pub mount: PathBuf,
    /// The cgroup the mount shows as its root (mountinfo's fourth field; `/` unless a subtree is mounted).
    pub root: String,
    /// The controllers it holds: from the mount options for v1 (named hierarchies such as
    /// `name=systemd` hold none), from `cgroup.controllers` for v2.
    pub controllers: Vec<String>,
    /// The name of a v1 hierarchy without controllers (`systemd` for `name=systemd`).
    pub name: Option<String>,
}

impl Hierarchy {
    /// Whether this hierarchy holds `controller`.
    pub fn holds(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// `v1 /sys/fs/cgroup/pids`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.version.as_str(), self.mount.display())
    }

    /// The directory of `cgroup` (a path as `/proc/PID/cgroup` shows it) under
    /// this mount, if the mount shows it.
    pub fn dir_of(&self, cgroup: &str) -> Option<PathBuf> {
        let rel = if self.root == "/" {
            cgroup
        } else {
            let rest = cgroup.strip_prefix(self.root.as_str())?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            rest
        };
        let rel = rel.trim_start_matches('/');
        Some(if rel.is_empty() {
            self.mount.clone()
        } else {
            self.mount.join(rel)
        })
    }
}

/// A controller the kernel has, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerPlace {
    /// Its name (`memory`).
    pub name: String,
    /// Whether the kernel enables it (`cgroup_disable=` turns it off).
    pub enabled: bool,
    /// The index in [`Layout::hierarchies`] of the hierarchy holding it, if any.
    pub hierarchy: Option<usize>,
}

/// The cgroup layout of the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// v2, v1, hybrid or none.
    pub mode: CgroupMode,
    /// The mounted hierarchies, in mountinfo order (one entry per hierarchy).
    pub hierarchies: Vec<Hierarchy>,
    /// Every controller of `/proc/cgroups`, in its order.
    pub controllers: Vec<ControllerPlace>,
}

/// What the detector reads. Everything is passed in so that it can be tested.
pub struct Inputs<'a> {
    /// `/proc/self/mountinfo`.
    pub mountinfo: &'a str,
    /// `/proc/cgroups` (`None` on kernels that no longer have it).
    pub cgroups: Option<&'a str>,
    /// The filesystem magic (`statfs().f_type`) of a path, `None` if it cannot be read.
    pub magic: &'a dyn Fn(&Path) -> Option<FsType>,
    /// The content of `cgroup.controllers` at a v2 mount point.
    pub v2_controllers: &'a dyn Fn(&Path) -> Option<String>,
}

/// What the v1 superblock options of a `cgroup` mount say: its controllers and name.
fn v1_options<'a>(
    opts: impl Iterator<Item = (&'a String, &'a Option<String>)>,
    known: &[String],
) -> (Vec<String>, Option<String>) {
    let mut controllers = Vec::new();
    let mut name = None;
    for (k, v) in opts {
        if k == "name" {
            name = v.clone();
        } else if v.is_none() && (known.is_empty() || known.contains(k)) && !NOT_CONTROLLERS.contains(&k.as_str()) {
            controllers.push(k.clone());
        }
    }
    controllers.sort();
    (controllers, name)
}

/// Superblock options of a v1 mount that are not controller names.
const NOT_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "all",
    "none",
];

impl Layout {
    /// Detect the layout from its inputs (pure: no file is read here).
    pub fn from_inputs(inputs: &Inputs<'_>) -> Result<Layout, KitError> {
        let mounts = MountInfos::from_read(inputs.mountinfo.as_bytes())
            .map_err(|e| KitError::proc("/proc/self/mountinfo", e))?;
        let listed = match inputs.cgroups {
            Some(text) => {
                procfs::CGroupControllers::from_read(text.as_bytes())
                    .map_err(|e| KitError::proc("/proc/cgroups", e))?
                    .0
            }
            None => Vec::new(),
        };
        let known: Vec<String> = listed.iter().map(|c| c.name.clone()).collect();
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        for m in mounts.iter() {
            let (version, magic) = match m.fs_type.as_str() {
                "cgroup2" => (Version::V2, CGROUP2_SUPER_MAGIC),
                "cgroup" => (Version::V1, CGROUP_SUPER_MAGIC),
                _ => continue,
            };
            // A mount hidden by a later one no longer answers with its magic.
            if (inputs.magic)(&m.mount_point) != Some(magic) {
                continue;
            }
            let (controllers, name) = match version {
                Version::V1 => v1_options(m.super_options.iter(), &known),
                Version::V2 => (
                    (inputs.v2_controllers)(&m.mount_point)
                        .map(|s| s.split_whitespace().map(String::from).collect())
                        .unwrap_or_default(),
                    None,
                ),
            };
            let h = Hierarchy {
                version,
                mount: m.mount_point.clone(),
                root: m.root.clone(),
                controllers,
                name,
            };
            // The same hierarchy mounted twice (a bind mount): keep the first.
            if !hierarchies
                .iter()
                .any(|o| o.version == h.version && o.controllers == h.controllers && o.name == h.name)
            {
                hierarchies.push(h);
            }
        }
        let controllers: Vec<ControllerPlace> = if listed.is_empty() {
            // No /proc/cgroups: list what the mounts carry.
            let mut names: Vec<String> = hierarchies.iter().flat_map(|h| h.controllers.clone()).collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|name| ControllerPlace {
                    hierarchy: place(&hierarchies, &name, true),
                    name,
                    enabled: true,
                })
                .collect()
        } else {
            listed
                .iter()
                .map(|c| ControllerPlace {
                    name: c.name.clone(),
                    enabled: c.enabled,
                    // hierarchy 0 in /proc/cgroups: on v2, or on no hierarchy at all.
                    hierarchy: place(&hierarchies, &c.name, c.hierarchy != 0).filter(|_| c.enabled),
                })
                .collect()
        };
        let on_v1 = controllers
            .iter()
            .filter_map(|c| c.hierarchy)
            .any(|i| hierarchies[i].version == Version::V1);
        let has_v2 = hierarchies.iter().any(|h| h.version == Version::V2);
        let mode = match (on_v1, has_v2) {
            (true, true) => CgroupMode::Hybrid,
            (true, false) => CgroupMode::V1,
            (false, true) => CgroupMode::V2,
            (false, false) if hierarchies.is_empty() => CgroupMode::None,
            // Only named v1 hierarchies: no controller anywhere.
            (false, false) => CgroupMode::V1,
        };
        Ok(Layout {
            mode,
            hierarchies,
            controllers,
        })
    }

    /// Read the machine's layout.
    pub fn read() -> Result<Layout, KitError> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| KitError::io("/proc/self/mountinfo", e))?;
        let cgroups = std::fs::read_to_string("/proc/cgroups").ok();
        let magic = |p: &Path| statfs(p).ok().map(|s| s.filesystem_type());
        let v2 = |p: &Path| std::fs::read_to_string(p.join("cgroup.controllers")).ok();
        Layout::from_inputs(&Inputs {
            mountinfo: &mountinfo,
            cgroups: cgroups.as_deref(),
            magic: &magic,
            v2_controllers: &v2,
        })
    }

    /// The hierarchy holding `controller`, if one does.
    pub fn holder(&self, controller: &str) -> Option<&Hierarchy> {
        match self.controllers.iter().find(|c| c.name == controller) {
            Some(c) => c.hierarchy.map(|i| &self.hierarchies[i]),
            None => place(&self.hierarchies, controller, true).map(|i| &self.hierarchies[i]),
        }
    }

    /// The unified (v2) hierarchy, if mounted.
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// Where the freezer is: the v1 `freezer` controller, else the v2
    /// hierarchy, where freezing is built into every cgroup (`cgroup.freeze`).
    pub fn freezer(&self) -> Option<&Hierarchy> {
        self.holder("freezer").or_else(|| self.v2())
    }

    /// Where a whole group can be killed: the v2 hierarchy (`cgroup.kill`,
    /// Linux 5.14+), else the v1 freezer hierarchy (freeze, kill each, thaw).
    pub fn killer(&self) -> Option<&Hierarchy> {
        self.v2().or_else(|| self.holder("freezer"))
    }

    /// `controller: v1 /sys/fs/cgroup/pids` for each controller the kernel has.
    pub fn placements(&self) -> Vec<(String, String)> {
        self.controllers
            .iter()
            .map(|c| {
                let at = match (c.enabled, c.hierarchy) {
                    (false, _) => "disabled".to_string(),
                    (true, Some(i)) => self.hierarchies[i].describe(),
                    (true, None) => "unused".to_string(),
                };
                (c.name.clone(), at)
            })
            .collect()
    }
}

/// The index of the hierarchy holding `name`: a v1 one if the kernel says it
/// is on v1, else the v2 one if its `cgroup.controllers` lists it.
fn place(hierarchies: &[Hierarchy], name: &str, on_v1: bool) -> Option<usize> {
    let v1 = hierarchies
        .iter()
        .position(|h| h.version == Version::V1 && h.holds(name));
    let v2 = hierarchies
        .iter()
        .position(|h| h.version == Version::V2 && h.holds(name));
    if on_v1 { v1.or(v2) } else { v2 }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn fixture(layout: &str, file: &str) -> Option<String> {
        let path = format!("{}/tests/fixtures/{layout}/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok()
    }

    /// Detect from a fixture: every cgroup mount answers with its magic.
    pub(crate) fn detect(layout: &str) -> Layout {
        let mountinfo = fixture(layout, "mountinfo").expect("fixture mountinfo");
        let cgroups = fixture(layout, "cgroups");
        let mounts = MountInfos::from_read(mountinfo.as_bytes()).expect("parses");
        let magic = |p: &Path| {
            mounts
                .iter()
                .rev()
                .find(|m| m.mount_point == p)
                .and_then(|m| match m.fs_type.as_str() {
                    "cgroup2" => Some(CGROUP2_SUPER_MAGIC),
                    "cgroup" => Some(CGROUP_SUPER_MAGIC),
                    _ => None,
                })
        };
        let v2 = |_: &Path| fixture(layout, "cgroup.controllers");
        Layout::from_inputs(&Inputs {
            mountinfo: &mountinfo,
            cgroups: cgroups.as_deref(),
            magic: &magic,
            v2_controllers: &v2,
        })
        .expect("detects")
    }

    fn at(l: &Layout, c: &str) -> String {
        l.holder(c).map_or("none".into(), Hierarchy::describe)
    }

    #[test]
    fn pure_v2_puts_every_controller_on_the_unified_hierarchy() {
        let l = detect("v2");
        assert_eq!(l.mode, CgroupMode::V2);
        assert_eq!(l.hierarchies.len(), 1);
        for c in ["pids", "memory", "cpu", "hugetlb"] {
            assert_eq!(at(&l, c), "v2 /sys/fs/cgroup", "{c}");
        }
        // v1-only controllers have no home on v2.
        assert_eq!(at(&l, "net_cls"), "none");
        assert_eq!(
            l.freezer().map(Hierarchy::describe).as_deref(),
            Some("v2 /sys/fs/cgroup")
        );
        assert_eq!(l.killer().map(|h| h.version), Some(Version::V2));
    }

    #[test]
    fn hybrid_keeps_v1_controllers_and_the_rest_on_unified() {
        let l = detect("hybrid");
        assert_eq!(l.mode, CgroupMode::Hybrid);
        assert_eq!(at(&l, "pids"), "v1 /sys/fs/cgroup/pids");
        assert_eq!(at(&l, "cpu"), "v1 /sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(at(&l, "cpuacct"), "v1 /sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(at(&l, "misc"), "v2 /sys/fs/cgroup/unified");
        assert_eq!(
            l.freezer().map(Hierarchy::describe).as_deref(),
            Some("v1 /sys/fs/cgroup/freezer")
        );
        // cgroup.kill is a v2 core file: available on the unified hierarchy.
        assert_eq!(
            l.killer().map(Hierarchy::describe).as_deref(),
            Some("v2 /sys/fs/cgroup/unified")
        );
        let systemd = l
            .hierarchies
            .iter()
            .find(|h| h.name.as_deref() == Some("systemd"))
            .expect("named");
        assert!(systemd.controllers.is_empty());
    }

    #[test]
    fn pure_v1_has_no_unified_hierarchy() {
        let l = detect("v1");
        assert_eq!(l.mode, CgroupMode::V1);
        assert!(l.v2().is_none());
        assert_eq!(at(&l, "memory"), "v1 /sys/fs/cgroup/memory");
        assert_eq!(at(&l, "net_prio"), "v1 /sys/fs/cgroup/net_cls,net_prio");
        assert_eq!(
            l.killer().map(Hierarchy::describe).as_deref(),
            Some("v1 /sys/fs/cgroup/freezer")
        );
        assert!(l.placements().iter().all(|(_, at)| at.starts_with("v1 ")));
    }

    #[test]
    fn a_mount_that_does_not_answer_with_its_magic_is_ignored() {
        let mountinfo = fixture("v1", "mountinfo").expect("fixture");
        let magic = |p: &Path| (!p.ends_with("memory")).then_some(CGROUP_SUPER_MAGIC);
        let none = |_: &Path| None;
        let l = Layout::from_inputs(&Inputs {
            mountinfo: &mountinfo,
            cgroups: None,
            magic: &magic,
            v2_controllers: &none,
        })
        .expect("detects");
        assert!(l.holder("memory").is_none());
        assert_eq!(at(&l, "pids"), "v1 /sys/fs/cgroup/pids");
    }

    #[test]
    fn disabled_controllers_and_no_cgroup_mounts() {
        let cgroups = "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t0\npids\t0\t1\t1\n";
        let mountinfo = "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";
        let no_magic = |_: &Path| None;
        let no_v2 = |_: &Path| None;
        let l = Layout::from_inputs(&Inputs {
            mountinfo,
            cgroups: Some(cgroups),
            magic: &no_magic,
            v2_controllers: &no_v2,
        })
        .expect("detects");
        assert_eq!(l.mode, CgroupMode::None);
        assert_eq!(
            l.placements(),
            [
                ("memory".to_string(), "disabled".to_string()),
                ("pids".to_string(), "unused".to_string())
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let no_magic = |_: &Path| None;
        let no_v2 = |_: &Path| None;
        let res = Layout::from_inputs(&Inputs {
            mountinfo: "garbage",
            cgroups: None,
            magic: &no_magic,
            v2_controllers: &no_v2,
        });
        assert!(res.is_err());
    }

    #[test]
    fn a_subtree_mount_maps_cgroup_paths_below_its_root() {
        let h = Hierarchy {
            version: Version::V2,
            mount: "/sys/fs/cgroup".into(),
            root: "/docker/abc".into(),
            controllers: vec![],
            name: None,
        };
        assert_eq!(h.dir_of("/docker/abc/x"), Some(PathBuf::from("/sys/fs/cgroup/x")));
        assert_eq!(h.dir_of("/docker/abc"), Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(h.dir_of("/docker/abcd"), None);
        assert_eq!(h.dir_of("/other"), None);
    }
}
