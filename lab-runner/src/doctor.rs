//! `lab doctor`: what this machine offers the labs, and why a lab cannot run
//! fully here. Everything is read from the kernel (`/proc`, `/sys`).

use std::io::Write;

use lab_kit::cgroup::{CgroupMode, Layout};
use lab_kit::environment::FeatureState;
use lab_kit::lab::Environment;
use serde::Serialize;

use crate::env::{Readiness, readiness};
use crate::registry::LABS;

/// Everything `lab doctor` reports.
#[derive(Debug, Serialize)]
pub struct Doctor {
    /// The machine as the labs see it: kernel, privilege, seccomp, security
    /// modules, namespace limits, container signs, kernel features.
    #[serde(flatten)]
    pub environment: Environment,
    /// Where each cgroup controller lives.
    pub cgroup_controllers: Vec<Controller>,
    /// Per lab: full, partial or none, and why.
    pub labs: Vec<LabReadiness>,
    /// What to do about what blocks the labs here, one line each.
    pub unblock: Vec<String>,
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

/// The fixes for what this machine refuses, from the reasons of the labs
/// that cannot run fully: each distinct cause once.
fn unblock(labs: &[LabReadiness]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labs {
        if let Some(r) = &l.reason
            && !out.contains(r)
        {
            out.push(r.clone());
        }
    }
    out
}

/// Gather the facts.
pub fn gather() -> Doctor {
    let (environment, caller) = crate::env::probe();
    let labs: Vec<LabReadiness> = LABS
        .iter()
        .map(|l| {
            let (readiness, reason) = readiness(l, &caller, &environment);
            LabReadiness {
                id: l.id,
                slug: l.slug,
                readiness,
                reason,
            }
        })
        .collect();
    Doctor {
        cgroup_controllers: controllers(Layout::read().ok().as_ref()),
        unblock: unblock(&labs),
        labs,
        environment,
    }
}

/// Print for people.
pub fn print(d: &Doctor, out: &mut impl Write) -> std::io::Result<()> {
    use colored::Colorize;
    use lab_kit::i18n::{Translator, pad, tr};
    let t = Translator::default();
    // A label of the machine's table, padded by display width.
    let label = |en: &'static str| pad(tr(en), 16);
    let e = &d.environment;
    writeln!(out, "{}", tr("Machine").bold())?;
    writeln!(out, "  {} {}", label("kernel"), e.kernel)?;
    writeln!(
        out,
        "  {} {}{}",
        label("euid"),
        e.euid,
        if e.real_root { tr(" (real root)") } else { "" }
    )?;
    writeln!(out, "  {} {}", label("capabilities"), e.capabilities)?;
    let filters = e
        .seccomp
        .filters
        .map(|n| lab_kit::i18n::trf(", {n} filter(s)", &[&n]))
        .unwrap_or_default();
    writeln!(
        out,
        "  {} {}{filters}{}",
        label("seccomp"),
        e.seccomp.mode,
        if e.seccomp.no_new_privs { ", no_new_privs" } else { "" }
    )?;
    let modules = e
        .lsm
        .modules
        .as_ref()
        .map_or_else(|| tr("unknown (securityfs not mounted)").into(), |m| m.join(","));
    writeln!(out, "  {} {modules}", label("security modules"))?;
    writeln!(
        out,
        "  {} {}",
        label("label"),
        e.lsm.label.as_deref().unwrap_or(tr("none"))
    )?;
    writeln!(out, "  {} {}", label("user namespaces"), t.text(&e.userns))?;
    for (k, v) in &e.sysctls {
        writeln!(out, "    {k} = {}", v.as_deref().unwrap_or(tr("(absent)")))?;
    }
    let limits: Vec<String> = e.namespace_limits.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(out, "  {} {}", label("namespace limits"), limits.join(", "))?;
    writeln!(out, "  {} {}", label("cgroup mode"), e.cgroup_mode)?;
    if e.cgroup_mode != CgroupMode::None.as_str() {
        for c in &d.cgroup_controllers {
            let at = match (&c.mount, c.enabled) {
                (_, false) => tr("disabled").to_string(),
                (Some(m), true) => lab_kit::i18n::trf("{hierarchy} at {mount}", &[&c.hierarchy, m]),
                (None, true) => c.hierarchy.clone(),
            };
            writeln!(out, "    {:<12} {at}", c.name)?;
        }
    }
    if e.container_signs.is_empty() {
        writeln!(out, "  {} {}", label("container signs"), tr("none"))?;
    } else {
        for s in &e.container_signs {
            writeln!(out, "  {} {}", label("container sign"), t.text(s))?;
        }
    }
    writeln!(out, "\n{}", tr("Kernel features").bold())?;
    for f in &e.features {
        let word = match f.state {
            FeatureState::Available => tr("yes"),
            FeatureState::Loadable => tr("module"),
            FeatureState::Refused => tr("refused"),
            FeatureState::Unknown => tr("unknown"),
            FeatureState::Missing => tr("no"),
        };
        let padded = pad(word, 7);
        let word = match f.state {
            FeatureState::Available => padded.green(),
            FeatureState::Missing => padded.red(),
            _ => padded.yellow(),
        };
        writeln!(out, "  {:<16} {word} {}", f.name, t.text(&f.detail))?;
    }
    writeln!(out, "\n{}", tr("Labs here").bold())?;
    for l in &d.labs {
        let padded = pad(crate::env::readiness_word(l.readiness), 8);
        let word = match l.readiness {
            Readiness::Full => padded.green(),
            Readiness::Partial => padded.yellow(),
            Readiness::None => padded.red(),
        };
        let reason = match crate::registry::find(l.id) {
            Some(decl) => Translator::for_lab(decl)
                .text(l.reason.as_deref().unwrap_or(""))
                .into_owned(),
            None => l.reason.clone().unwrap_or_default(),
        };
        writeln!(out, "  {} {:<12} {word} {reason}", l.id, l.slug)?;
    }
    if !d.unblock.is_empty() {
        writeln!(out, "\n{}", tr("To run more here").bold())?;
        for u in &d.unblock {
            writeln!(out, "  - {}", t.text(u))?;
        }
    }
    Ok(())
}
