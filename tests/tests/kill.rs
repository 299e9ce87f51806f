//! SIGKILL at random moments, 30 times the runner and 30 times a lab process,
//! spread over every lab: afterwards the host is exactly as before (mounts,
//! hostname, SysV IPC, cgroups, /run/netns, interfaces, temp files) and no
//! lab process outlives its kill by more than 200 ms. One more full run then proves that whatever a killed
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

/// How long a lab process may outlive the process it is tied to.
const LINGER: Duration = Duration::from_millis(200);

/// `1234 (lab __lab 16 …)`, for a report of what survived.
fn describe(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    format!("{pid} ({})", args.join(" "))
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

    let mut late = Vec::new();
    let mut longest = Duration::ZERO;
    for round in 0..60 {
        // One round in three kills inside a lab that makes cgroups, whose
        // processes only a reaper can clean up after.
        let i = if round % 3 == 0 {
            let cgroup_labs: Vec<usize> = (0..LABS.len())
                .filter(|&i| ["cgroups", "container"].contains(&LABS[i].slug))
                .collect();
            cgroup_labs[rng.below(cgroup_labs.len() as u64) as usize]
        } else {
            rng.below(LABS.len() as u64) as usize
        };
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
        // Everything dies with the process it is tied to (PR_SET_PDEATHSIG,
        // cgroup.kill): within LINGER, no lab process is left to be seen by
        // the next command.
        let killed = Instant::now();
        while !lab_processes().is_empty() && killed.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let lingered = killed.elapsed();
        let left = lab_processes();
        let who = if kill_runner { "the runner" } else { "the lab process" };
        if !left.is_empty() || lingered > LINGER {
            late.push(format!(
                "round {round}, {} killed {} ms in ({who}): {} ms, {} left ({})",
                lab.full_id(),
                delay.as_millis(),
                lingered.as_millis(),
                left.len(),
                left.iter().map(|p| describe(*p)).collect::<Vec<_>>().join(", ")
            ));
        }
        longest = longest.max(lingered);
    }
    eprintln!("longest time a lab process outlived a kill: {} ms", longest.as_millis());
    assert!(
        late.is_empty(),
        "lab processes outlived a kill by more than {} ms (seed {seed}):\n{}",
        LINGER.as_millis(),
        late.join("\n")
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
