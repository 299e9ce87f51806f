//! Without root, the cgroup labs run in a cgroup v2 subtree delegated to the
//! caller, the way systemd delegates one to each user: the test (as root,
//! playing systemd) makes a cgroup owned by uid 65534, puts the lab's process
//! in a leaf below it, and runs the labs as 65534. Lab 14 must pass; lab 16
//! passes where its controllers are on v2 and otherwise skips with the reason.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::io::Write;
use std::os::unix::fs::chown;
use std::path::Path;
use std::process::Stdio;

use common::{LAB, Mode, fold};
use lab_kit::Status;
use lab_kit::cgroup::{Layout, Version};

fn delegate(dir: &Path) {
    std::fs::create_dir(dir).expect("mkdir");
    for f in ["", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
        chown(dir.join(f), Some(65534), Some(65534)).expect("chown");
    }
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir(dir.join("leaf"));
    let _ = std::fs::remove_dir(dir);
}

fn run_in(leaf: &Path, id: &str) -> lab_kit::LabReport {
    // The shell waits for a line, so that it is moved before the lab starts.
    let argv = Mode::Nobody.argv(
        "sh",
        &["-c", "read go && exec \"$0\" __lab \"$1\" --format json", LAB, id],
    );
    let mut child = common::command(&argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    std::fs::write(leaf.join("cgroup.procs"), child.id().to_string()).expect("move into the leaf");
    child.stdin.take().expect("stdin").write_all(b"go\n").expect("release");
    let out = child.wait_with_output().expect("runs");
    fold(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn cgroup_labs_run_rootless_in_a_delegated_subtree() {
    require_root!();
    let layout = Layout::read().expect("layout");
    let Some(v2) = layout.v2() else {
        eprintln!("skipped: no cgroup v2 hierarchy");
        return;
    };
    let dir = v2.mount.join("container-labs-delegation-test");
    remove(&dir);
    delegate(&dir);
    // What a systemd delegation offers: the controllers the parent has.
    let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    for c in offered
        .split_whitespace()
        .filter(|c| ["pids", "memory", "cpu"].contains(c))
    {
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
    delegate(&dir.join("leaf"));

    let r12 = run_in(&dir.join("leaf"), "cgroupns");
    let r14 = run_in(&dir.join("leaf"), "cgroups");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "leaf")
        .map(|e| e.path())
        .collect();
    remove(&dir);

    assert!(leftovers.is_empty(), "left in the delegated subtree: {leftovers:?}");
    assert_eq!(r12.mode, "rootless");
    assert_eq!(r12.status, Some(Status::Pass), "lab 14: {:?}", r12.reason);
    let pids_on_v2 = layout.holder("pids").is_some_and(|h| h.version == Version::V2);
    if pids_on_v2 && ["pids", "memory", "cpu"].iter().all(|c| offered.contains(c)) {
        assert_eq!(r14.status, Some(Status::Pass), "lab 16: {:?}", r14.reason);
    } else {
        assert_eq!(
            r14.steps[1].status,
            Some(Status::Skip),
            "lab 16: {:?}",
            r14.steps[1].reason
        );
    }
}
