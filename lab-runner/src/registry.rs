//! Every lab the `lab` executable carries, in teaching order.

use lab_kit::LabDecl;

/// The labs, in teaching order.
pub static LABS: &[&LabDecl] = &[
    &lab_06_uts::LAB,
    &lab_07_pid::LAB,
    &lab_11_user::LAB,
    &lab_12_cgroupns::LAB,
    &lab_14_cgroups::LAB,
];

/// Find a lab by `06`, `6`, `uts` or `06-uts`.
pub fn find(query: &str) -> Option<&'static LabDecl> {
    LABS.iter().copied().find(|l| l.matches(query))
}
