//! The labs leave the host exactly as they found it: mounts, hostname, SysV
//! IPC, cgroups, named network namespaces, interfaces and temp files are the
//! same after the whole suite, root and rootless.

mod common;

use common::{HostState, LAB, Mode};

#[test]
fn suite_leaves_the_host_unchanged() {
    require_root!();
    let before = HostState::read();
    for mode in [Mode::Root, Mode::Nobody] {
        let out = mode.command(LAB, &["run", "--format", "json"]).output().expect("runs");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "suite broke in mode {}: {}",
            mode.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            before,
            HostState::read(),
            "the host changed after the suite ran in mode {}",
            mode.name()
        );
    }
}
