//! The cgroup labs leave nothing behind when they are killed: SIGKILL at
//! several moments (right after each step starts, and a little later), then
//! no cgroup of the run remains in any hierarchy and every process the lab
//! started (children, grandchildren, its reaper) has ended. The test process
//! makes itself a child subreaper, so that the lab's orphans become its
//! children and it can see them end.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{LAB, Mode};
use lab_kit::cgroup::{Layout, PARENT};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid};

/// Directories of run `pid` under `container-labs` in every hierarchy.
fn run_dirs(layout: &Layout, pid: u32) -> Vec<String> {
    let prefix = format!("run-{pid}-");
    layout
        .hierarchies
        .iter()
        .flat_map(|h| std::fs::read_dir(h.mount.join(PARENT)).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path().display().to_string())
        .collect()
}

/// Our children (the lab's orphans, once it is dead).
fn children() -> Vec<i32> {
    lab_kit::proc::children_of(getpid().as_raw())
}

/// Reap what has ended; true when no child is left.
fn reap_all() -> bool {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => {}
        }
    }
    children().is_empty()
}

fn kill_at_step(id: &str, step: usize, extra: Duration, layout: &Layout) {
    let mut cmd = Mode::Root.command(LAB, &["__lab", id, "--format", "json"]);
    let mut lab = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lab starts");
    let pid = lab.id();
    let out = lab.stdout.take().expect("stdout");
    let marker = format!("{{\"event\":\"step_start\",\"index\":{step},");
    let mut reached = false;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if line.starts_with(&marker) {
            reached = true;
            break;
        }
    }
    assert!(reached, "lab {id} ended before step {}", step + 1);
    std::thread::sleep(extra);
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("kill the lab");
    let _ = lab.wait();
    let start = Instant::now();
    let (mut left, mut alive) = (run_dirs(layout, pid), !reap_all());
    while (alive || !left.is_empty()) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
        left = run_dirs(layout, pid);
        alive = !reap_all();
    }
    assert!(
        left.is_empty(),
        "lab {id} killed at step {} (+{extra:?}): cgroups left: {left:?}",
        step + 1
    );
    assert!(
        !alive,
        "lab {id} killed at step {} (+{extra:?}): processes left: {:?}",
        step + 1,
        children()
    );
}

/// One test, not two: the subreaper reaps every child of the process, which
/// would race with another test's `wait`.
#[test]
fn killed_runs_leave_nothing_and_leftovers_are_swept() {
    require_root!();
    a_run_sweeps_what_a_dead_run_left();
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    let layout = Layout::read().expect("cgroup layout");
    for (id, steps) in [("cgroups", 8), ("cgroupns", 5)] {
        for step in 1..steps {
            for extra in [0, 7 + 31 * (step as u64 % 3)] {
                kill_at_step(id, step, Duration::from_millis(extra), &layout);
            }
        }
    }
}

fn a_run_sweeps_what_a_dead_run_left() {
    let layout = Layout::read().expect("cgroup layout");
    let h = layout.holder("pids").expect("a pids hierarchy");
    // pid 0 never belongs to a lab: a run named after it in our own PID and
    // time namespaces is dead. One named in other namespaces cannot be
    // judged from here and must be left alone (its own reaper removes it).
    let ino = |kind: &str| {
        std::fs::metadata(format!("/proc/self/ns/{kind}")).map_or(0, |m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        })
    };
    let leftover = h
        .mount
        .join(PARENT)
        .join(format!("run-0-1-{}-{}", ino("pid"), ino("time")));
    let foreign = h.mount.join(PARENT).join("run-1-1-1-1");
    std::fs::create_dir_all(leftover.join("pids")).expect("a leftover run");
    std::fs::create_dir_all(&foreign).expect("a run of another PID namespace");
    let out = Mode::Root
        .command(LAB, &["__lab", "cgroups", "--format", "json"])
        .output()
        .expect("lab runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let removed = !leftover.exists();
    let foreign_kept = foreign.exists();
    let _ = std::fs::remove_dir(leftover.join("pids"));
    let _ = std::fs::remove_dir(&leftover);
    let _ = std::fs::remove_dir(&foreign);
    let _ = std::fs::remove_dir(h.mount.join(PARENT));
    assert!(removed, "the leftover run was not swept");
    assert!(
        foreign_kept,
        "a run of another PID namespace was swept: it may be alive"
    );
    assert!(
        stdout.contains("left by an earlier run that was killed"),
        "no note of the sweep"
    );
}
