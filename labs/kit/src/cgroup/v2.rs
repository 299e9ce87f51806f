//! cgroup v2 file names: one hierarchy, controllers enabled per subtree
//! (`cgroup.subtree_control`), `memory.max`, `cpu.max`, and two core files
//! every cgroup has: `cgroup.freeze` (Linux 5.2+) and `cgroup.kill` (5.14+).

use nix::errno::Errno;

use super::{CgroupError, Group, keyed};
use crate::narrate::Narrate;

/// `memory.max`, and `memory.swap.max` = 0 where swap accounting exists.
pub fn set_memory_limit(g: &Group, n: &mut impl Narrate, bytes: u64) -> Result<(), Errno> {
    g.write(n, "memory.max", &bytes.to_string())?;
    if g.has("memory.swap.max") {
        g.write(n, "memory.swap.max", "0")?;
    }
    Ok(())
}

/// `oom_kill` of `memory.events`.
pub fn oom_kills(g: &Group) -> Result<Vec<(String, u64)>, CgroupError> {
    Ok(vec![(
        "memory.events oom_kill".into(),
        g.read_key("memory.events", "oom_kill")?,
    )])
}

/// `cpu.max` = `"QUOTA PERIOD"`.
pub fn set_cpu_quota(g: &Group, n: &mut impl Narrate, quota_us: u64, period_us: u64) -> Result<(), Errno> {
    g.write(n, "cpu.max", &format!("{quota_us} {period_us}"))
}

/// `cgroup.freeze`, then wait for `frozen` in `cgroup.events` to follow.
pub fn freeze(g: &Group, n: &mut impl Narrate, frozen: bool) -> Result<bool, Errno> {
    let want = u64::from(frozen);
    g.write(n, "cgroup.freeze", &want.to_string())?;
    Ok(g.wait_until(super::FREEZE_WAIT, |g| {
        g.read("cgroup.events").ok().and_then(|t| keyed(&t, "frozen")) == Some(want)
    }))
}

/// `cgroup.kill`: the kernel sends SIGKILL to every process of the subtree at once.
pub fn kill_all(g: &Group, n: &mut impl Narrate) -> Result<(), Errno> {
    g.write(n, "cgroup.kill", "1")
}
