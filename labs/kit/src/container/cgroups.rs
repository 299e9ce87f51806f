//! A container's cgroups. On cgroup v2 a process is in exactly one cgroup,
//! so the container gets one, with every controller it is limited by
//! enabled down the path; on v1 each hierarchy holds its own controllers,
//! so it gets one cgroup in each hierarchy that holds one of them. All live
//! under the run guard, which removes them on every exit path (a reaper
//! covers SIGKILL).

use crate::cgroup::{CgroupError, Group, Hierarchy, Layout, Refusal, RunGuard};
use crate::narrate::Narrate;

/// A controller a container can be limited by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    /// `pids`: how many processes.
    Pids,
    /// `memory`: how much memory.
    Memory,
    /// `cpu`: how much CPU time.
    Cpu,
}

impl Controller {
    /// Its name in `/proc/cgroups` and `cgroup.controllers`.
    pub fn as_str(self) -> &'static str {
        match self {
            Controller::Pids => "pids",
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
        }
    }
}

/// Resource limits of a container, each through the cgroup controller that
/// enforces it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// `pids.max`: how many processes.
    pub pids: Option<u64>,
    /// `memory.max` (v2) or `memory.limit_in_bytes` (v1), swap off where offered.
    pub memory: Option<u64>,
    /// A share of one CPU: `cpu.max` (v2) or the CFS quota (v1) over 100 ms.
    pub cpus: Option<f64>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        !self.controllers().is_empty()
    }

    /// The controllers the limits need.
    pub fn controllers(&self) -> Vec<Controller> {
        [
            (self.pids.is_some(), Controller::Pids),
            (self.memory.is_some(), Controller::Memory),
            (self.cpus.is_some(), Controller::Cpu),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect()
    }
}

/// Which hierarchy each controller is placed in, grouped: one entry per
/// hierarchy, with the controllers it holds. A pure function of the layout.
pub fn placement(layout: &Layout, controllers: &[Controller]) -> Result<Vec<(Hierarchy, Vec<Controller>)>, Refusal> {
    let mut out: Vec<(Hierarchy, Vec<Controller>)> = Vec::new();
    for c in controllers {
        let h = layout
            .holder(c.as_str())
            .ok_or_else(|| Refusal::NoController(c.as_str().to_string()))?;
        match out.iter_mut().find(|(held, _)| held.mount == h.mount) {
            Some((_, cs)) => cs.push(*c),
            None => out.push((h.clone(), vec![*c])),
        }
    }
    Ok(out)
}

/// A container's cgroups, under the run guard.
pub struct Cgroups {
    guard: RunGuard,
    groups: Vec<(Vec<Controller>, Group)>,
}

impl Cgroups {
    /// Create the cgroups `limits` needs (root, or a delegated v2 subtree).
    pub fn create(n: &mut impl Narrate, limits: &Limits) -> Result<Cgroups, CgroupError> {
        let layout = Layout::read()?;
        let placed = placement(&layout, &limits.controllers())?;
        let mut guard = RunGuard::create(n, &layout)?;
        let mut groups = Vec::new();
        for (h, controllers) in placed {
            let names: Vec<&str> = controllers.iter().map(|c| c.as_str()).collect();
            groups.push((controllers, guard.group_in(n, &h, "container", &names)?));
        }
        Ok(Cgroups { guard, groups })
    }

    /// Move process `pid` (shown as `who`) into every group.
    pub fn join(&self, n: &mut impl Narrate, pid: i32, who: &str) -> nix::Result<()> {
        self.groups.iter().try_for_each(|(_, g)| g.add(n, pid, who))
    }

    /// Write the limits.
    pub fn apply(&self, n: &mut impl Narrate, limits: &Limits) -> nix::Result<()> {
        for (controllers, g) in &self.groups {
            for c in controllers {
                match c {
                    Controller::Pids => g.set_pids_max(n, limits.pids.unwrap_or(u64::MAX))?,
                    Controller::Memory => g.set_memory_limit(n, limits.memory.unwrap_or(u64::MAX))?,
                    Controller::Cpu => {
                        let quota = (limits.cpus.unwrap_or(1.0) * 100_000.0).round().max(1000.0) as u64;
                        g.set_cpu_quota(n, quota, 100_000)?
                    }
                }
            }
        }
        Ok(())
    }

    /// The group holding a controller.
    pub fn group(&self, controller: Controller) -> Option<&Group> {
        self.groups
            .iter()
            .find(|(cs, _)| cs.contains(&controller))
            .map(|(_, g)| g)
    }

    /// Remove everything now (dropping does the same, silently).
    pub fn close(self, n: &mut impl Narrate) -> Vec<String> {
        self.guard.close(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(fixture: &str) -> Layout {
        crate::cgroup::layout::tests::detect(fixture)
    }

    #[test]
    fn on_v2_every_controller_shares_one_cgroup() {
        let l = layout("v2");
        let placed = placement(&l, &[Controller::Pids, Controller::Memory, Controller::Cpu]).expect("placed");
        assert_eq!(placed.len(), 1, "{placed:?}");
        assert_eq!(placed[0].1, [Controller::Pids, Controller::Memory, Controller::Cpu]);
    }

    #[test]
    fn on_v1_each_hierarchy_gets_its_own() {
        let l = layout("v1");
        let placed = placement(&l, &[Controller::Pids, Controller::Memory]).expect("placed");
        assert_eq!(placed.len(), 2, "{placed:?}");
    }
}
