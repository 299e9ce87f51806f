//! `lab doctor`: what this machine offers the labs, and why a lab cannot run
//! fully here. Everything is read from the kernel (`/proc`, `/sys`).

use std::io::Write;

use lab_kit::cgroup::{CgroupMode, Layout};
use lab_kit::lab::Environment;
use lab_kit::privilege::{Caller, sysctl};
use serde::Serialize;

use crate::env::{Readiness, readiness};
use crate::registry::LABS;

/// Everything `lab doctor` reports.
#[derive(Debug, Serialize)]
pub struct Doctor {
    /// Kernel, cgroup mode, euid, user namespace availability.
    #[serde(flatten)]
    pub environment: Environment,
    /// Where each cgroup controller lives.
    pub cgroup_controllers: Vec<Controller>,
    /// Sysctls that decide whether unprivileged user namespaces work.
    pub userns_sysctls: Vec<(String, Option<String>)>,
    /// Effective capabilities, by name.
    pub capabilities: String,
    /// `Seccomp` of /proc/self/status: 0 off, 1 strict, 2 filter.
    pub seccomp: Option<u32>,
    /// `NoNewPrivs` of /proc/self/status.
    pub no_new_privs: Option<u64>,
    /// Signs that this process already runs inside a container.
    pub container_signs: Vec<String>,
    /// Per lab: full, partial or none, and why.
    pub labs: Vec<LabReadiness>,
}

/// A cgroup controller and the hierarchy holding it.
#[derive(Debug, Serialize)]
pub struct Controller {
    /// Name (`memory`).
    pub name: String,
    /// `v1`, `v2`, or `unused`.
    pub hierarchy: String,
    /// Where that hierarchy is mounted.
    pub mount: Option<String>,
    /// Whether the kernel enables it.
    pub enabled: bool,
}

/// One line of the per-lab table.
#[derive(Debug, Serialize)]
pub struct LabReadiness {
    /// Lab id.
    pub id: &'static str,
    /// Slug.
    pub slug: &'static str,
    /// How much can run.
    pub readiness: Readiness,
    /// Why not fully.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn controllers(layout: Option<&Layout>) -> Vec<Controller> {
    let Some(layout) = layout else { return Vec::new() };
    layout
        .controllers
        .iter()
        .map(|c| {
            let h = c.hierarchy.map(|i| &layout.hierarchies[i]);
            Controller {
                name: c.name.clone(),
                hierarchy: h.map_or("unused", |h| h.version.as_str()).into(),
                mount: h.map(|h| h.mount.display().to_string()),
                enabled: c.enabled,
            }
        })
        .collect()
}

fn container_signs(caller: &Caller) -> Vec<String> {
    let mut signs = Vec::new();
    for f in ["/.dockerenv", "/run/.containerenv"] {
        if std::path::Path::new(f).exists() {
            signs.push(format!("{f} exists"));
        }
    }
    if let Ok(c) = std::env::var("container") {
        signs.push(format!("environment variable container={c}"));
    }
    if !caller.initial_userns {
        signs.push("not in the initial user namespace (/proc/self/uid_map maps a subrange)".into());
    }
    if let Ok(comm) = std::fs::read_to_string("/proc/1/comm") {
        let comm = comm.trim();
        if !["systemd", "init", "launchd"].contains(&comm) {
            signs.push(format!("PID 1 is {comm:?}, not an init system"));
        }
    }
    signs
}

/// Gather the facts.
pub fn gather() -> Doctor {
    let (environment, caller, userns) = crate::env::probe();
    let status = procfs::process::Process::myself().and_then(|p| p.status()).ok();
    Doctor {
        cgroup_controllers: controllers(Layout::read().ok().as_ref()),
        userns_sysctls: [
            "/proc/sys/user/max_user_namespaces",
            "/proc/sys/kernel/unprivileged_userns_clone",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ]
        .iter()
        .map(|p| (p.trim_start_matches("/proc/sys/").replace('/', "."), sysctl(p)))
        .collect(),
        capabilities: status
            .as_ref()
            .map(|s| lab_kit::proc::cap_names(s.capeff))
            .unwrap_or_default(),
        seccomp: status.as_ref().and_then(|s| s.seccomp),
        no_new_privs: status.as_ref().and_then(|s| s.nonewprivs),
        container_signs: container_signs(&caller),
        labs: LABS
            .iter()
            .map(|l| {
                let (readiness, reason) = readiness(l, &caller, &userns);
                LabReadiness {
                    id: l.id,
                    slug: l.slug,
                    readiness,
                    reason,
                }
            })
            .collect(),
        environment,
    }
}

/// Print for people.
pub fn print(d: &Doctor, out: &mut impl Write) -> std::io::Result<()> {
    use colored::Colorize;
    let e = &d.environment;
    writeln!(out, "{}", "Machine".bold())?;
    writeln!(out, "  kernel           {}", e.kernel)?;
    writeln!(
        out,
        "  euid             {}{}",
        e.euid,
        if e.real_root { " (real root)" } else { "" }
    )?;
    writeln!(out, "  capabilities     {}", d.capabilities)?;
    writeln!(
        out,
        "  seccomp          {}",
        d.seccomp.map_or("unknown".into(), |s| s.to_string())
    )?;
    writeln!(
        out,
        "  no_new_privs     {}",
        d.no_new_privs.map_or("unknown".into(), |s| s.to_string())
    )?;
    writeln!(out, "  user namespaces  {}", e.userns)?;
    for (k, v) in &d.userns_sysctls {
        writeln!(out, "    {k} = {}", v.as_deref().unwrap_or("(absent)"))?;
    }
    writeln!(out, "  cgroup mode      {}", e.cgroup_mode)?;
    if e.cgroup_mode != CgroupMode::None.as_str() {
        for c in &d.cgroup_controllers {
            let at = match (&c.mount, c.enabled) {
                (_, false) => "disabled".to_string(),
                (Some(m), true) => format!("{} at {m}", c.hierarchy),
                (None, true) => c.hierarchy.clone(),
            };
            writeln!(out, "    {:<12} {at}", c.name)?;
        }
    }
    if d.container_signs.is_empty() {
        writeln!(out, "  container signs  none")?;
    } else {
        for s in &d.container_signs {
            writeln!(out, "  container sign   {s}")?;
        }
    }
    writeln!(out, "\n{}", "Labs here".bold())?;
    for l in &d.labs {
        let word = match l.readiness {
            Readiness::Full => "full".green(),
            Readiness::Partial => "partial".yellow(),
            Readiness::None => "none".red(),
        };
        let pad = " ".repeat(8 - format!("{:?}", l.readiness).len());
        writeln!(
            out,
            "  {} {:<12} {word}{pad} {}",
            l.id,
            l.slug,
            l.reason.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}
