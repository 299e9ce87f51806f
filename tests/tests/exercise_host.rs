//! The exercises' sandboxes leave the host as they found it: after every
//! reference, near-miss and empty solution has run, as root and as uid 65534,
//! and after `lab exercise run` was killed with SIGKILL at random moments,
//! the host's mounts, hostname, SysV IPC, cgroups, `/run/netns`, interfaces
//! and temp files are the same as before (the comparison of the kill test),
//! and no process of a sandbox is left.
//!
//! These compare machine-wide state: run them when nothing else runs labs.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{HostState, LAB, Mode, ROOT, host_turn};
use lab_exercises::EXERCISES;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn solution(id: &str, name: &str) -> String {
    Path::new(ROOT)
        .join("tests/exercises")
        .join(id)
        .join(name)
        .display()
        .to_string()
}

/// Processes that belong to a run: `lab` itself and what the solutions leave
/// (`sleep 1000`).
fn leftovers() -> Vec<String> {
    let Ok(all) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    all.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let ours = exe.to_string_lossy().starts_with(LAB) || cmdline == b"sleep\x001000\x00";
            ours.then(|| format!("{pid} {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")))
        })
        .collect()
}

/// Wait (a little) until nothing is left and the host reads as `before`.
fn settled(before: &HostState) -> (Vec<String>, HostState) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (left, now) = (leftovers(), HostState::read());
        if (left.is_empty() && now == *before) || Instant::now() > deadline {
            return (left, now);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_solution_leaves_the_host_unchanged() {
    require_root!();
    let _turn = host_turn();
    let before = HostState::read();
    for mode in [Mode::Root, Mode::Nobody] {
        std::thread::scope(|scope| {
            for e in EXERCISES {
                scope.spawn(move || {
                    for name in ["solution.sh", "near-miss.sh", "../empty.sh"] {
                        let out = mode
                            .command(LAB, &["exercise", "run", e.id, "--solution", &solution(e.id, name)])
                            .output()
                            .expect("runs");
                        assert!(
                            matches!(out.status.code(), Some(0 | 1)),
                            "{} {name} ({}): {}",
                            e.id,
                            mode.name(),
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                });
            }
        });
        let (left, after) = settled(&before);
        assert_eq!(left, Vec::<String>::new(), "processes survived ({})", mode.name());
        assert_eq!(
            before,
            after,
            "the host changed after the exercises ran ({})",
            mode.name()
        );
    }
}

/// xorshift64*, seeded from the clock unless `KILL_SEED` is set (printed,
/// so that a failing run can be repeated).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

#[test]
fn sigkill_of_exercise_run_anywhere_leaves_the_host_as_it_was() {
    require_root!();
    let _turn = host_turn();
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
    eprintln!("exercise kill test seed: KILL_SEED={seed}");
    let mut rng = Rng(seed);
    for round in 0..30 {
        let e = EXERCISES[rng.below(EXERCISES.len() as u64) as usize];
        let mode = if round % 2 == 0 { Mode::Root } else { Mode::Nobody };
        let mut child = mode
            .command(
                LAB,
                &["exercise", "run", e.id, "--solution", &solution(e.id, "solution.sh")],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        // A run takes a few hundred milliseconds: aim over the whole of it.
        std::thread::sleep(Duration::from_micros(rng.below(700_000)));
        // setpriv executes lab in place: the pid is lab's.
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        let _ = child.wait();
    }
    let (left, after) = settled(&before);
    assert_eq!(left, Vec::<String>::new(), "processes survived (seed {seed})");
    assert_eq!(before, after, "the host changed after the kills (seed {seed})");
}
