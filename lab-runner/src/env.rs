//! What the machine offers the labs, probed once per run: the `environment`
//! of a JSON report, `lab doctor`, and the "here" column of `lab list`.

use lab_kit::cgroup::CgroupMode;
use lab_kit::decl::{LabDecl, Privilege};
use lab_kit::lab::{Environment, requirement_missing};
use lab_kit::privilege::{Caller, probe_userns};

/// Probe the environment. Forks a short-lived child to try a user namespace,
/// so call it before the runner starts threads.
pub fn probe() -> (Environment, Caller, Result<(), String>) {
    let caller = Caller::read();
    let userns = probe_userns();
    let env = Environment {
        kernel: procfs::sys::kernel::Version::current()
            .map(|v| format!("{}.{}.{}", v.major, v.minor, v.patch))
            .unwrap_or_else(|_| "unknown".into()),
        cgroup_mode: CgroupMode::detect().as_str().into(),
        euid: caller.euid,
        real_root: caller.is_real_root(),
        userns: match &userns {
            Ok(()) => "available".into(),
            Err(why) => why.clone(),
        },
    };
    (env, caller, userns)
}

/// How much of a lab can run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// Every step.
    Full,
    /// Some steps; the others are skipped or unsupported.
    Partial,
    /// None.
    None,
}

/// Whether `decl` can run here, and if not fully, why.
pub fn readiness(decl: &LabDecl, caller: &Caller, userns: &Result<(), String>) -> (Readiness, Option<String>) {
    if let Some(why) = decl.requires.iter().find_map(requirement_missing) {
        return (Readiness::None, Some(why));
    }
    let delegated = || {
        lab_kit::cgroup::Layout::read()
            .map_err(|e| e.to_string())
            .and_then(|l| lab_kit::cgroup::run::delegated_subtree(&l))
            .map(drop)
    };
    let can = |p: Privilege| match p {
        Privilege::None => true,
        Privilege::Userns => caller.is_real_root() || caller.is_userns_root() || userns.is_ok(),
        Privilege::Delegated => caller.is_real_root() || delegated().is_ok(),
        Privilege::Root => caller.is_real_root(),
    };
    let runnable = decl.steps.iter().filter(|s| can(s.privilege)).count();
    let why = || {
        if decl.privilege() == Privilege::Root && !caller.is_real_root() {
            Some(caller.missing_root())
        } else if decl.steps.iter().any(|s| s.privilege == Privilege::Delegated) && !caller.is_real_root() {
            delegated().err().or_else(|| userns.clone().err())
        } else {
            userns.clone().err()
        }
    };
    match runnable {
        n if n == decl.steps.len() => (Readiness::Full, None),
        0 => (Readiness::None, why()),
        _ => (Readiness::Partial, why()),
    }
}
