//! Every lab the `lab` executable carries, in teaching order.

use lab_kit::LabDecl;

/// The labs, in teaching order.
pub static LABS: &[&LabDecl] = &[
    &lab_01_privileges::LAB,
    &lab_02_bind_mount::LAB,
    &lab_03_chroot::LAB,
    &lab_04_capabilities::LAB,
    &lab_05_namespaces::LAB,
    &lab_06_uts::LAB,
    &lab_07_pid::LAB,
    &lab_08_mount::LAB,
    &lab_09_net::LAB,
    &lab_10_ipc::LAB,
    &lab_11_user::LAB,
    &lab_12_cgroupns::LAB,
    &lab_13_time::LAB,
    &lab_14_cgroups::LAB,
    &lab_15_container::LAB,
    &lab_17_overlay::LAB,
];

/// Find a lab by `06`, `6`, `uts` or `06-uts`.
pub fn find(query: &str) -> Option<&'static LabDecl> {
    LABS.iter().copied().find(|l| l.matches(query))
}
