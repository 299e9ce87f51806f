//! Capabilities: the five sets of a thread (inheritable, permitted,
//! effective, bounding, ambient), changed with `capset(2)` and `prctl(2)`
//! through the `caps` crate, narrated. Seen in `/proc/PID/status`
//! (`CapInh`, `CapPrm`, `CapEff`, `CapBnd`, `CapAmb`).

use caps::{CapSet, Capability};
use nix::errno::Errno;

use crate::narrate::Narrate;

/// The errno behind a `caps` error (its message ends in `(os error N)`).
pub fn errno_of(e: &caps::errors::CapsError) -> Errno {
    let text = e.to_string();
    text.rsplit_once("(os error ")
        .and_then(|(_, rest)| rest.trim_end_matches(')').parse::<i32>().ok())
        .map_or(Errno::EINVAL, Errno::from_raw)
}

fn set_name(set: CapSet) -> &'static str {
    match set {
        CapSet::Ambient => "ambient",
        CapSet::Bounding => "bounding",
        CapSet::Effective => "effective",
        CapSet::Inheritable => "inheritable",
        CapSet::Permitted => "permitted",
    }
}

/// The call that changes `set`, as strace would name it.
fn call_name(set: CapSet, raise: bool, cap: Capability) -> String {
    let cap = cap.to_string();
    match (set, raise) {
        (CapSet::Bounding, _) => format!("prctl(PR_CAPBSET_DROP, {cap})"),
        (CapSet::Ambient, true) => format!("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, {cap})"),
        (CapSet::Ambient, false) => format!("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, {cap})"),
        (s, true) => format!("capset({} += {cap})", set_name(s)),
        (s, false) => format!("capset({} -= {cap})", set_name(s)),
    }
}

/// Add `cap` to `set` of the calling thread, narrated.
pub fn raise(n: &mut impl Narrate, set: CapSet, cap: Capability) -> nix::Result<()> {
    let res = caps::raise(None, set, cap).map_err(|e| errno_of(&e));
    n.call(call_name(set, true, cap), res)
}

/// Remove `cap` from `set` of the calling thread, narrated.
pub fn drop(n: &mut impl Narrate, set: CapSet, cap: Capability) -> nix::Result<()> {
    let res = caps::drop(None, set, cap).map_err(|e| errno_of(&e));
    n.call(call_name(set, false, cap), res)
}

/// Whether a mask holds `cap`, in words for a report.
pub fn holds(mask: u64, cap: Capability) -> &'static str {
    if mask & cap.bitmask() != 0 { "yes" } else { "no" }
}

/// A mask described relative to another: `none`, `same as X`, or `X without A,B`.
pub fn relative(mask: u64, reference: u64, reference_name: &str) -> String {
    if mask == 0 {
        return "none".into();
    }
    if mask == reference {
        return format!("same as {reference_name}");
    }
    if mask & !reference == 0 {
        return format!("{reference_name} without {}", crate::proc::cap_names(reference & !mask));
    }
    crate::proc::cap_names(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_is_read_from_the_message() {
        let e: caps::errors::CapsError = "capset failure: Operation not permitted (os error 1)".into();
        assert_eq!(errno_of(&e), Errno::EPERM);
    }

    #[test]
    fn masks_read_relative_to_a_reference() {
        let full = (1u64 << 41) - 1;
        assert_eq!(relative(0, full, "bounding"), "none");
        assert_eq!(relative(full, full, "bounding"), "same as bounding");
        assert_eq!(
            relative(full & !(1 << 10), full, "bounding"),
            "bounding without cap_net_bind_service"
        );
    }
}
