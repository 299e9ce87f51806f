//! cgroup v1 file names: one hierarchy per controller (or group of
//! controllers), `memory.limit_in_bytes`, `cpu.cfs_quota_us`, the `freezer`
//! controller's `freezer.state`, and no `cgroup.kill`.

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{CgroupError, Group};
use crate::narrate::Narrate;

/// `memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` (memory plus
/// swap) to the same value where swap accounting exists: no swap.
pub fn set_memory_limit(g: &Group, n: &mut impl Narrate, bytes: u64) -> Result<(), Errno> {
    g.write(n, "memory.limit_in_bytes", &bytes.to_string())?;
    if g.has("memory.memsw.limit_in_bytes") {
        g.write(n, "memory.memsw.limit_in_bytes", &bytes.to_string())?;
    }
    Ok(())
}

/// `oom_kill` of `memory.oom_control` (Linux 4.13+). (`memory.failcnt` is
/// no witness: with a memory+swap limit the kernel counts no failure in it.)
pub fn oom_kills(g: &Group) -> Result<Vec<(String, u64)>, CgroupError> {
    Ok(vec![(
        "memory.oom_control oom_kill".into(),
        g.read_key("memory.oom_control", "oom_kill")?,
    )])
}

/// `cpu.cfs_period_us` then `cpu.cfs_quota_us`.
pub fn set_cpu_quota(g: &Group, n: &mut impl Narrate, quota_us: u64, period_us: u64) -> Result<(), Errno> {
    g.write(n, "cpu.cfs_period_us", &period_us.to_string())?;
    g.write(n, "cpu.cfs_quota_us", &quota_us.to_string())
}

/// `freezer.state`, then wait for it to read `FROZEN` or `THAWED`.
pub fn freeze(g: &Group, n: &mut impl Narrate, frozen: bool) -> Result<bool, Errno> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    g.write(n, "freezer.state", want)?;
    Ok(g.wait_until(super::FREEZE_WAIT, |g| g.read("freezer.state").is_ok_and(|s| s == want)))
}

/// Without `cgroup.kill` (v1, and v2 before Linux 5.14): freeze the group so
/// that nothing new is forked, SIGKILL each process of `cgroup.procs`, then
/// thaw so that they can die.
pub fn kill_all(g: &Group, n: &mut impl Narrate) -> Result<(), Errno> {
    let frozen = (g.has("freezer.state") || g.has("cgroup.freeze")) && g.freeze(n, true)?;
    let pids = g.procs().map_err(|_| Errno::EIO)?;
    for pid in pids {
        n.run(crate::op::Kill::shown_as(
            Pid::from_raw(pid),
            Signal::SIGKILL,
            "<pid from cgroup.procs>",
        ))?;
    }
    if frozen {
        g.freeze(n, false)?;
    }
    Ok(())
}
