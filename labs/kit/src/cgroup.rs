//! Which cgroup layout the machine has: v2 (unified), v1 (legacy) or hybrid
//! (v1 controllers plus a v2 hierarchy). Read from the filesystem magic of
//! `/sys/fs/cgroup` and its children.

use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC, statfs};
use serde::Serialize;

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
    /// No cgroup filesystem mounted at `/sys/fs/cgroup`.
    None,
}

impl CgroupMode {
    /// Detect the layout under `root` (normally `/sys/fs/cgroup`).
    pub fn detect_at(root: &str) -> CgroupMode {
        let magic = |p: &str| statfs(p).ok().map(|s| s.filesystem_type());
        match magic(root) {
            Some(m) if m == CGROUP2_SUPER_MAGIC => CgroupMode::V2,
            Some(m) if m == TMPFS_MAGIC => {
                if magic(&format!("{root}/unified")) == Some(CGROUP2_SUPER_MAGIC) {
                    CgroupMode::Hybrid
                } else if std::fs::read_dir(root).is_ok_and(|d| {
                    d.flatten()
                        .any(|e| magic(&e.path().to_string_lossy()) == Some(CGROUP_SUPER_MAGIC))
                }) {
                    CgroupMode::V1
                } else {
                    CgroupMode::None
                }
            }
            _ => CgroupMode::None,
        }
    }

    /// Detect the machine's layout.
    pub fn detect() -> CgroupMode {
        Self::detect_at("/sys/fs/cgroup")
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
