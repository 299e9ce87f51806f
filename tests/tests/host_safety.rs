//! The labs leave the host exactly as they found it: mounts, hostname, SysV
//! IPC, cgroups, named network namespaces, interfaces and temp files are the
//! same after the whole suite, root and rootless.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

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

#[test]
fn without_user_namespaces_rootless_labs_are_unsupported_with_the_reason() {
    require_root!();
    let out = Mode::NobodyNoUserns
        .command(LAB, &["run", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    for lab in v["labs"].as_array().expect("labs") {
        let needs_userns = lab["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .any(|s| s["privilege"] == "userns");
        if needs_userns {
            assert_eq!(lab["status"], "unsupported", "lab {}", lab["id"]);
            let reason = lab["reason"].as_str().unwrap_or("");
            assert!(
                reason.contains("user.max_user_namespaces = 0"),
                "lab {}: reason {reason:?}",
                lab["id"]
            );
        }
    }
}
