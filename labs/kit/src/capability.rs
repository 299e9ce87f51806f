//! Capabilities: the five sets of a thread (inheritable, permitted,
//! effective, bounding, ambient), changed with `capset(2)` and `prctl(2)`
//! through the `caps` crate, narrated. Seen in `/proc/PID/status`
//! (`CapInh`, `CapPrm`, `CapEff`, `CapBnd`, `CapAmb`).

use caps::{CapSet, Capability};
use nix::errno::Errno;

use crate::narrate::Narrate;
use crate::op::{Capset, Prctl};

/// The errno behind a `caps` error (its message ends in `(os error N)`).
pub fn errno_of(e: &caps::errors::CapsError) -> Errno {
    let text = e.to_string();
    text.rsplit_once("(os error ")
        .and_then(|(_, rest)| rest.trim_end_matches(')').parse::<i32>().ok())
        .map_or(Errno::EINVAL, Errno::from_raw)
}

/// The call that adds `cap` to `set`, or removes it, as a value: `capset`
/// for the thread's own sets, `prctl` for the bounding and ambient sets.
fn change(set: CapSet, raise: bool, cap: Capability) -> Change {
    match (set, raise) {
        (CapSet::Bounding, _) => Change::Prctl(Prctl::CapbsetDrop(cap)),
        (CapSet::Ambient, true) => Change::Prctl(Prctl::AmbientRaise(cap)),
        (CapSet::Ambient, false) => Change::Prctl(Prctl::AmbientLower(cap)),
        (s, true) => Change::Capset(Capset::Raise(s, cap)),
        (s, false) => Change::Capset(Capset::Drop(s, cap)),
    }
}

enum Change {
    Prctl(Prctl),
    Capset(Capset),
}

fn run(n: &mut impl Narrate, c: Change) -> nix::Result<()> {
    match c {
        Change::Prctl(p) => n.run(p),
        Change::Capset(c) => n.run(c),
    }
}

/// Add `cap` to `set` of the calling thread, narrated.
pub fn raise(n: &mut impl Narrate, set: CapSet, cap: Capability) -> nix::Result<()> {
    run(n, change(set, true, cap))
}

/// Remove `cap` from `set` of the calling thread, narrated.
pub fn drop(n: &mut impl Narrate, set: CapSet, cap: Capability) -> nix::Result<()> {
    run(n, change(set, false, cap))
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
