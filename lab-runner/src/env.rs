//! What the machine offers the labs, probed once per run: the `environment`
//! of a JSON report, `lab doctor`, and the "here" column of `lab list`. The
//! facts and the gate are the kit's ([`Environment`], [`lab::predict`]), the
//! same a lab process decides on before its first step.

use lab_kit::decl::LabDecl;
use lab_kit::lab::{self, Environment};
use lab_kit::privilege::Caller;

/// Probe the environment. Forks a short-lived child to try a user namespace,
/// so call it before the runner starts threads.
pub fn probe() -> (Environment, Caller) {
    (Environment::probe(), Caller::read())
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

/// The word `lab list` and `lab doctor` show for a readiness, in the
/// current language.
pub fn readiness_word(r: Readiness) -> &'static str {
    use lab_kit::i18n::tr;
    match r {
        Readiness::Full => tr("full"),
        Readiness::Partial => tr("partial"),
        Readiness::None => tr("none"),
    }
}

/// Whether `decl` can run here, and if not fully, why (the reason of the
/// first step that cannot run, as the lab would report it).
pub fn readiness(decl: &LabDecl, caller: &Caller, env: &Environment) -> (Readiness, Option<String>) {
    let gates = lab::predict(decl, caller, env);
    let runnable = gates.iter().filter(|g| g.is_ok()).count();
    let why = gates
        .iter()
        .find_map(|g| g.as_ref().err())
        .map(|(_, reason)| reason.clone());
    match runnable {
        n if n == decl.steps.len() => (Readiness::Full, None),
        0 => (Readiness::None, why),
        _ => (Readiness::Partial, why),
    }
}
