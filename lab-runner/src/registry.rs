//! Every lab the `lab` executable carries, in teaching order.

use lab_kit::LabDecl;

/// The labs, in teaching order.
pub static LABS: &[&LabDecl] = &[
    &lab_01_privileges::LAB,
    &lab_02_bind_mount::LAB,
    &lab_03_chroot::LAB,
    &lab_04_capabilities::LAB,
    &lab_05_seccomp::LAB,
    &lab_06_namespaces::LAB,
    &lab_07_uts::LAB,
    &lab_08_pid::LAB,
    &lab_09_mount::LAB,
    &lab_10_overlay::LAB,
    &lab_11_net::LAB,
    &lab_12_ipc::LAB,
    &lab_13_user::LAB,
    &lab_14_cgroupns::LAB,
    &lab_15_time::LAB,
    &lab_16_cgroups::LAB,
    &lab_17_container::LAB,
];

/// Find a lab by `07`, `7`, `uts` or `07-uts`.
pub fn find(query: &str) -> Option<&'static LabDecl> {
    LABS.iter().copied().find(|l| l.matches(query))
}
