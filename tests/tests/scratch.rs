//! The fallback scratch directory (`lab_kit::scratch`): where no private
//! mount namespace can be had (root with Docker's defaults), lab 01 keeps
//! its secret in a directory of its own in the temp directory, and nothing
//! of it is left, whether the lab ends, fails or is killed at any moment.
//! Only directories named after the pids this test started are looked at,
//! so that other runs on the machine do not disturb it.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{DOCKER_LIKE, LAB};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The fallback directories of the lab with this pid.
fn left_by(pid: u32) -> Vec<String> {
    let prefix = format!("{}run-{pid}-", lab_kit::scratch::PREFIX);
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

fn lab01() -> Command {
    let mut cmd = Command::new(DOCKER_LIKE);
    cmd.args(["--", LAB, "__lab", "01", "--format", "json"]);
    cmd
}

#[test]
fn the_fallback_directory_is_used_and_removed() {
    require_root!();
    let out = lab01().output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = common::fold(&stdout);
    assert_eq!(report.status, Some(lab_kit::Status::Pass), "{stdout}");
    let calls: Vec<&str> = report.steps[1].calls.iter().map(String::as_str).collect();
    assert!(
        calls.contains(&r#"mkdir("<scratch>", 0755) = 0"#),
        "the secret went to a fallback directory: {calls:?}"
    );
}

#[test]
fn a_killed_lab_leaves_no_directory() {
    require_root!();
    let mut seed = std::process::id() as u64 | 1;
    let mut killed_inside = 0;
    for _ in 0..30 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = lab01()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        // docker-like execs the lab: the child's pid is the lab's.
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_micros(seed % 150_000);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if !left_by(pid).is_empty() {
            killed_inside += 1;
        }
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        let _ = child.wait();
        let gone = Instant::now() + Duration::from_secs(5);
        while !left_by(pid).is_empty() && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            left_by(pid),
            Vec::<String>::new(),
            "the reaper removes the directory of a killed lab"
        );
    }
    eprintln!("{killed_inside} of 30 kills hit a lab whose directory existed");
    assert!(
        killed_inside > 0,
        "no kill hit the directory's lifetime: the test proved nothing"
    );
}
