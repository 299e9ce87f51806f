//! SIGKILL at random moments, 30 times the runner and 30 times a lab process,
//! spread over every lab: afterwards the host is exactly as before (mounts,
//! hostname, SysV IPC, cgroups, /run/netns, interfaces, temp files) and no
//! lab process is left. One more full run then proves that whatever a killed
//! run may leave by design is swept.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{HostState, LAB};
use lab_runner::registry::LABS;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// xorshift64*: enough randomness for kill moments, and the seed is printed
/// so a failing run can be repeated (KILL_SEED=...).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn lab_processes() -> Vec<i32> {
    let Ok(all) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    all.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p.to_string_lossy().starts_with(LAB))
        })
        .collect()
}

fn children(pid: i32) -> Vec<i32> {
    lab_kit::proc::children_of(pid)
}

#[test]
fn sigkill_anywhere_leaves_the_host_as_it_was() {
    require_root!();
    let before = HostState::read();
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("kill test seed: KILL_SEED={seed}");
    let mut rng = Rng(seed);

    // How long each lab takes, to aim the kills inside it.
    let out = Command::new(LAB)
        .args(["run", "--format", "json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let durations: Vec<u64> = v["labs"]
        .as_array()
        .expect("labs")
        .iter()
        .map(|l| l["duration_ms"].as_u64().unwrap_or(50))
        .collect();

    for round in 0..60 {
        let i = rng.below(LABS.len() as u64) as usize;
        let lab = LABS[i];
        let kill_runner = round % 2 == 0;
        let mut runner = Command::new(LAB)
            .args(["run", lab.id, "--format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        let runner_pid = runner.id() as i32;
        // The lab process starts a few ms after the runner; aim over its whole life.
        let delay = Duration::from_micros(rng.below((durations[i] + 20) * 1000));
        std::thread::sleep(delay);
        if kill_runner {
            let _ = kill(Pid::from_raw(runner_pid), Signal::SIGKILL);
        } else {
            for child in children(runner_pid) {
                let _ = kill(Pid::from_raw(child), Signal::SIGKILL);
            }
        }
        let _ = runner.wait();
    }

    // Everything dies with its parent (PR_SET_PDEATHSIG); give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lab_processes().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        lab_processes(),
        Vec::<i32>::new(),
        "lab processes survived (seed {seed})"
    );
    assert_eq!(
        before,
        HostState::read(),
        "the host changed after the kills (seed {seed})"
    );

    let out = Command::new(LAB)
        .args(["run", "--format", "json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let failed: Vec<String> = v["labs"]
        .as_array()
        .map(|labs| {
            labs.iter()
                .filter(|l| l["status"] == "fail" || l["status"] == "error")
                .map(|l| format!("{} {}: {}", l["id"], l["status"], l["reason"]))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a full run after the kills passes; failed: {failed:?}"
    );
    assert_eq!(
        before,
        HostState::read(),
        "the host changed after the sweep run (seed {seed})"
    );
}
