//! Faults: a lab that crashes, hangs, prints garbage, stops half-way or is
//! missing is reported as `error` with its stderr excerpt, and the suite goes
//! on; Ctrl-C stops the current lab, prints what was done and exits 130; the
//! machine formats parse back.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{LAB, Mode};

/// A directory of stand-in lab executables, removed when dropped.
struct Fakes(PathBuf);

impl Fakes {
    fn new(name: &str) -> Fakes {
        let dir = std::env::temp_dir().join(format!("cl-fault-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Fakes(dir)
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.0.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }
}

impl Drop for Fakes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_with(exe: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, Duration) {
    let start = Instant::now();
    let out = Command::new(LAB)
        .args(args)
        .env("CONTAINER_LABS_LAB_EXE", exe)
        .output()
        .expect("the runner starts");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v, start.elapsed())
}

fn assert_broken(v: &serde_json::Value, want: &str) {
    let labs = v["labs"].as_array().expect("labs");
    assert_eq!(labs.len(), 2, "the suite goes on after a broken lab");
    for lab in labs {
        assert_eq!(lab["status"], "error", "{lab}");
        let reason = lab["reason"].as_str().unwrap_or("");
        assert!(reason.contains(want), "reason {reason:?} should contain {want:?}");
    }
    assert_eq!(v["summary"]["error"], 2);
}

#[test]
fn a_crashing_lab_is_reported_with_its_stderr() {
    let f = Fakes::new("crash");
    let exe = f.script("crash", "echo 'boom: the lab fell over' >&2\nkill -SEGV $$");
    let (code, v, _) = run_with(&exe, &["run", "uts", "pid", "--format", "json"]);
    assert_eq!(code, Some(3));
    assert_broken(&v, "boom: the lab fell over");
    assert_broken(&v, "SIGSEGV");
}

#[test]
fn garbage_output_is_reported_not_trusted() {
    let f = Fakes::new("garbage");
    let exe = f.script("garbage", "echo 'this is not an event'\nsleep 5");
    let (code, v, elapsed) = run_with(&exe, &["run", "uts", "pid", "--format", "json"]);
    assert_eq!(code, Some(3));
    assert_broken(&v, "malformed event line");
    assert!(
        elapsed < Duration::from_secs(8),
        "garbage stops the lab at once, took {elapsed:?}"
    );
}

#[test]
fn a_lab_that_stops_half_way_is_broken() {
    let f = Fakes::new("half");
    let exe = f.script(
        "half",
        r#"echo '{"event":"lab_start","id":"07","slug":"uts","title":"t","mode":"root","steps":2}'
echo '{"event":"step_start","index":0,"title":"s","why":"w","privilege":"none"}'
exit 0"#,
    );
    let (code, v, _) = run_with(&exe, &["run", "uts", "pid", "--format", "json"]);
    assert_eq!(code, Some(3));
    assert_broken(&v, "before reporting its end");
    assert_eq!(
        v["labs"][0]["steps"][0]["status"], "error",
        "the open step is closed as error"
    );
}

#[test]
fn a_missing_lab_executable_is_broken() {
    let (code, v, _) = run_with(
        Path::new("/nonexistent/lab"),
        &["run", "uts", "pid", "--format", "json"],
    );
    assert_eq!(code, Some(3));
    assert_broken(&v, "cannot start /nonexistent/lab");
}

#[test]
fn a_hanging_lab_is_killed_after_the_timeout_with_its_children() {
    let f = Fakes::new("hang");
    let marker = f.0.join("pids");
    let exe = f.script(
        "hang",
        &format!("sleep 60 &\necho $! >> {m}\necho $$ >> {m}\nwait", m = marker.display()),
    );
    let (code, v, elapsed) = run_with(&exe, &["run", "uts", "pid", "--format", "json", "--timeout", "1"]);
    assert_eq!(code, Some(3));
    assert_broken(&v, "timed out after 1s");
    assert!(elapsed < Duration::from_secs(10), "two 1 s timeouts took {elapsed:?}");
    let pids = std::fs::read_to_string(&marker).expect("the fake wrote its pids");
    for pid in pids.split_whitespace() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} of a timed-out lab survived"
        );
    }
}

#[test]
fn ctrl_c_stops_the_current_lab_and_exits_130() {
    let f = Fakes::new("sigint");
    let marker = f.0.join("pid");
    let exe = f.script("slow", &format!("echo $$ > {}\nexec sleep 60", marker.display()));
    let child = Command::new(LAB)
        .args(["run", "uts", "pid", "--color", "never"])
        .env("CONTAINER_LABS_LAB_EXE", &exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal the runner");
    let out = child.wait_with_output().expect("runner ends");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Summary") && text.contains("interrupted"),
        "prints what was done:\n{text}"
    );
    assert!(!text.contains("07  pid"), "no lab starts after Ctrl-C:\n{text}");
    let pid = std::fs::read_to_string(&marker).expect("pid");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the interrupted lab survived"
    );
}

fn tap_points(tap: &str) -> Vec<(bool, String)> {
    let mut lines = tap.lines();
    assert_eq!(lines.next(), Some("TAP version 13"));
    let plan = lines.next().expect("a plan line");
    let n: usize = plan
        .strip_prefix("1..")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad plan {plan:?}"));
    let mut points = Vec::new();
    let mut in_yaml = false;
    for line in lines {
        if line == "  ---" {
            in_yaml = true;
        } else if line == "  ..." {
            in_yaml = false;
        } else if in_yaml {
            assert!(line.starts_with("  ") && line.contains(": "), "bad YAML line {line:?}");
        } else {
            let (ok, rest) = match line.strip_prefix("not ok ") {
                Some(r) => (false, r),
                None => (
                    true,
                    line.strip_prefix("ok ")
                        .unwrap_or_else(|| panic!("not a test point: {line:?}")),
                ),
            };
            let (num, desc) = rest.split_once(" - ").expect("numbered point");
            assert_eq!(
                num.parse::<usize>().ok(),
                Some(points.len() + 1),
                "points are numbered in order"
            );
            points.push((ok, desc.to_string()));
        }
    }
    assert_eq!(points.len(), n, "the plan counts every point");
    points
}

#[test]
fn tap_and_junit_parse_back() {
    require_root!();
    for mode in [Mode::Root, Mode::NobodyNoUserns] {
        let json = mode.command(LAB, &["run", "--format", "json"]).output().expect("runs");
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
        let steps: usize = v["labs"]
            .as_array()
            .expect("labs")
            .iter()
            .map(|l| l["steps"].as_array().map_or(0, Vec::len))
            .sum();
        let skipped = v["labs"]
            .as_array()
            .expect("labs")
            .iter()
            .flat_map(|l| l["steps"].as_array().cloned().unwrap_or_default())
            .filter(|s| s["status"] == "skip" || s["status"] == "unsupported")
            .count();

        let tap = mode.command(LAB, &["run", "--format", "tap"]).output().expect("runs");
        let points = tap_points(&String::from_utf8_lossy(&tap.stdout));
        assert_eq!(points.len(), steps, "one TAP point per step");
        assert_eq!(points.iter().filter(|(_, d)| d.contains(" # SKIP ")).count(), skipped);

        let xml = mode.command(LAB, &["run", "--format", "junit"]).output().expect("runs");
        let report =
            quick_junit::Report::deserialize_from_str(&String::from_utf8_lossy(&xml.stdout)).expect("valid JUnit XML");
        assert_eq!(report.tests, steps, "one test case per step");
        assert_eq!(report.test_suites.len(), v["labs"].as_array().map_or(0, Vec::len));
        let junit_skipped: usize = report
            .test_suites
            .iter()
            .map(|s| {
                s.test_cases
                    .iter()
                    .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::Skipped { .. }))
                    .count()
            })
            .sum();
        assert_eq!(junit_skipped, skipped);
    }
}

#[test]
fn failures_carry_expected_and_actual_in_tap() {
    let f = Fakes::new("fail");
    let exe = f.script(
        "fail",
        r#"echo '{"event":"lab_start","id":"07","slug":"uts","title":"t","mode":"root","steps":1}'
echo '{"event":"step_start","index":0,"title":"s","why":"w","privilege":"none"}'
echo '{"event":"check","name":"hostname inside","ok":false,"expected":"lab-06","actual":"other"}'
echo '{"event":"step_end","status":"fail","reason":"1 check(s) failed"}'
echo '{"event":"lab_end","status":"fail","reason":"1 check(s) failed"}'"#,
    );
    let out = Command::new(LAB)
        .args(["run", "uts", "--format", "tap"])
        .env("CONTAINER_LABS_LAB_EXE", &exe)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1");
    let text = String::from_utf8_lossy(&out.stdout);
    let points = tap_points(&text);
    assert_eq!(points, [(false, "07-uts step 1: s".to_string())]);
    assert!(text.contains("  expected: \"lab-06\"\n  actual: \"other\""), "{text}");
}
