//! The suite on other kernels: `lab matrix` boots Debian's cloud kernels
//! under qemu (`lab vm`), pure cgroup v2, as root and as uid 65534 with and
//! without a delegated subtree, two VMs at a time, and every lab must pass,
//! or be skipped for a missing privilege with the reason (the rootless
//! case). On the newest kernel each lab's report must equal its snapshot:
//! the pure v2 snapshots of the cgroup labs are pinned here.
//!
//! The kernels are `.deb` packages fetched without installing them by
//! `.ci/vm-kernels target/vm-kernels 6.1 6.12` (CI does it); the test finds
//! them there or in `CONTAINER_LABS_VM_KERNELS` (paths separated by `:`).
//! Without them or without qemu the test says so and returns, except under
//! CI, where it fails. Nothing on the host changes: a VM is all it touches.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{LAB, ROOT};
use serde_json::Value;

fn kernels() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("CONTAINER_LABS_VM_KERNELS") {
        // Relative paths are the workspace's (the test runs in tests/).
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| PathBuf::from(ROOT).join(p))
            .collect();
    }
    let dir = PathBuf::from(ROOT).join("target/vm-kernels");
    let mut found: Vec<PathBuf> = ["6.1.", "6.12."]
        .iter()
        .filter_map(|series| {
            let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let n = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    n.starts_with(&format!("linux-image-{series}")) && n.ends_with(".deb")
                })
                .collect();
            debs.sort();
            debs.pop()
        })
        .collect();
    found.sort();
    found
}

/// root, uid 65534 with a delegated cgroup subtree (a systemd user
/// session), uid 65534 without (what the snapshot tests run as).
const USERS: usize = 3;

/// `6.12.95+deb12-cloud-amd64` → `[6, 12, 95]`, to order releases.
fn version(release: &str) -> Vec<u64> {
    release
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect()
}

fn have_qemu() -> bool {
    Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn pure_cgroup_v2_passes_every_lab_as_root_and_rootless() {
    let kernels = kernels();
    let ci = std::env::var_os("CI").is_some();
    if kernels.is_empty() || !have_qemu() {
        let why = "no kernel package or no qemu-system-x86_64 (`.ci/vm-kernels target/vm-kernels 6.1 6.12`, \
                   `apt-get install qemu-system-x86`)";
        assert!(!ci, "CI must run the VM test: {why}");
        eprintln!("skipped: {why}");
        return;
    }
    let reports = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(LAB);
    cmd.arg("matrix");
    for k in &kernels {
        cmd.arg("--kernel").arg(k);
    }
    cmd.args([
        "--cgroup",
        "v2",
        "--as",
        "root,65534,65534:undelegated",
        "--jobs",
        "2",
        "--format",
        "json",
        "--reports",
    ])
    .arg(reports.path())
    .env("NO_COLOR", "1");
    let start = std::time::Instant::now();
    let out = cmd.output().expect("lab matrix starts");
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}lab matrix took {:.0} s", elapsed.as_secs_f64());
    let matrix: Value = serde_json::from_slice(&out.stdout).expect("lab matrix prints JSON");
    let columns = matrix["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), kernels.len() * USERS, "a column per kernel and user");

    let mut problems = Vec::new();
    let mut runs = 0;
    let mut guest_reports = Vec::new();
    for entry in std::fs::read_dir(reports.path()).expect("reports") {
        let path = entry.expect("entry").path();
        let r: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("a JSON report");
        runs += 1;
        let env = &r["environment"];
        let vm = &env["vm"];
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rootless = vm["user"] != "root";
        assert_eq!(vm["outcome"], "completed", "{name}: {vm:#}");
        assert_eq!(env["cgroup_mode"], "v2", "{name}: the guest's own probe says pure v2");
        assert_eq!(env["real_root"], !rootless, "{name}");
        assert_eq!(
            vm["root"], "tmpfs",
            "{name}: / is an ordinary mount, not the initial rootfs"
        );
        assert!(
            ["kvm", "tcg"].contains(&vm["accelerator"].as_str().unwrap_or("")),
            "{name}"
        );
        let loaded: Vec<&str> = vm["modules_loaded"]
            .as_array()
            .expect("modules")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let builtin: Vec<&str> = vm["modules_builtin"]
            .as_array()
            .expect("builtin")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for m in ["veth", "overlay"] {
            assert!(
                loaded.contains(&m) || builtin.contains(&m),
                "{name}: module {m} loaded or built in"
            );
        }
        let release = vm["kernel_release"].as_str().unwrap_or("");
        assert!(
            env["kernel"].as_str().is_some_and(|k| release.starts_with(k)),
            "{name}: the report's kernel {} is the booted {release}",
            env["kernel"]
        );
        guest_reports.push((name.clone(), release.to_string(), r.clone()));
        let labs = r["labs"].as_array().expect("labs");
        assert_eq!(labs.len(), lab_runner::registry::LABS.len(), "{name}: every lab ran");
        for lab in labs {
            let id = format!(
                "{} {}",
                lab["id"].as_str().unwrap_or("?"),
                lab["slug"].as_str().unwrap_or("?")
            );
            let status = lab["status"].as_str().unwrap_or("none");
            let ok = match (rootless, status) {
                (_, "pass") => true,
                // Rootless, a step may be skipped for a missing privilege,
                // with the reason; nothing is unsupported, failed or broken.
                // Or a rootless step is unsupported because this kernel is
                // older than what it needs (its reason names the version),
                // with the steps that build on it.
                (true, "skip" | "unsupported") => lab["steps"].as_array().into_iter().flatten().all(|s| {
                    let reason = s["reason"].as_str().unwrap_or("");
                    s["status"] == "pass"
                        || (s["status"] == "skip" && (reason.contains("root") || reason.starts_with("needs step")))
                        || (s["status"] == "unsupported"
                            && (reason.contains("from Linux") || reason.starts_with("needs step")))
                }),
                _ => false,
            };
            if !ok {
                let bad: Vec<String> = lab["steps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["status"] != "pass")
                    .map(|s| format!("{}: {} ({})", s["title"], s["status"], s["reason"]))
                    .collect();
                let why = lab["reason"].as_str().unwrap_or("");
                problems.push(format!("{name}: {id} is {status} ({why}): {}", bad.join("; ")));
            }
        }
    }
    let why: Vec<String> = columns
        .iter()
        .filter(|c| c["outcome"] != "completed")
        .map(|c| format!("{} {}: {} ({})", c["kernel"], c["user"], c["outcome"], c["problem"]))
        .collect();
    assert_eq!(
        runs,
        kernels.len() * USERS,
        "a report per kernel and user; runs that did not complete:\n{}",
        why.join("\n")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // On the newest kernel, every lab reports what the snapshots pinned on
    // the development machine (another kernel, another cgroup layout,
    // another machine), and the cgroup labs what their pure v2 snapshots
    // hold: nothing machine-specific reached a snapshot.
    let newest = guest_reports
        .iter()
        .map(|(_, release, _)| release.clone())
        .max_by(|a, b| version(a).cmp(&version(b)))
        .unwrap_or_default();
    let mut differ = Vec::new();
    for (name, release, report) in &guest_reports {
        if *release != newest {
            continue;
        }
        let (mode, layout) = if name.ends_with("-root.json") {
            ("root", "v2")
        } else if name.ends_with("-undelegated.json") {
            ("rootless", "v2")
        } else {
            ("rootless", "v2-delegated")
        };
        differ.extend(common::pin_report(report, mode, layout));
    }
    assert!(
        differ.is_empty(),
        "on {newest}, these labs report other than their snapshots (diffs above): {differ:?}"
    );
    assert_eq!(out.status.code(), Some(0), "lab matrix exits 0 when everything passed");
}

#[test]
fn misuse_of_vm_matrix_and_diff_is_one_line_and_exit_2() {
    let not_a_report = PathBuf::from(ROOT).join("Cargo.toml");
    let report = PathBuf::from(ROOT).join("lab-runner/tests/fixtures/reports/base.json");
    let (bad, good) = (not_a_report.to_string_lossy(), report.to_string_lossy());
    let cases: Vec<Vec<&str>> = vec![
        vec!["vm"],
        vec!["vm", "--kernel", "/nonexistent", "--", "run"],
        vec!["vm", "--kernel", &bad, "--", "run"],
        vec!["vm", "--kernel", &good, "--", "list"],
        vec!["vm", "--kernel", &good, "--", "run", "99"],
        vec!["vm", "--kernel", &good, "--cgroup", "v3", "--", "run"],
        vec!["vm", "--kernel", &good, "--as", "nobody", "--", "run"],
        vec!["vm", "--kernel", &good, "--memory", "1", "--", "run"],
        vec!["matrix"],
        vec!["matrix", "--kernel", "/nonexistent"],
        vec!["matrix", "--kernel", &good, "--", "doctor"],
        vec!["matrix", "--kernel", &good, "--update-readme", "/nonexistent/README.md"],
        vec!["matrix", "--kernel", &good, "--config", "/nonexistent.toml"],
        vec!["diff"],
        vec!["diff", &good],
        vec!["diff", &good, &bad],
        vec!["diff", &bad, &good],
        vec!["diff", &good, "/nonexistent.json"],
        vec!["diff", &good, &good, "--known", &bad],
        vec!["diff", &good, "--vm", "--kernel", "/nonexistent"],
    ];
    for args in &cases {
        let out = Command::new(LAB)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown = args.join(" ");
        assert_eq!(
            out.status.code(),
            Some(2),
            "`lab {shown}` should exit 2; stderr: {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "`lab {shown}` should say one line, said:\n{stderr}"
        );
        assert!(stderr.starts_with("error: "), "`lab {shown}`: {stderr}");
        assert!(out.stdout.is_empty(), "`lab {shown}` printed on stdout");
    }
}

#[test]
fn diff_of_a_report_with_itself_is_0_and_with_another_is_1() {
    let dir = PathBuf::from(ROOT).join("lab-runner/tests/fixtures/reports");
    let run = |a: &str, b: &str, format: &str| {
        Command::new(LAB)
            .args(["diff", "--format", format])
            .arg(dir.join(a))
            .arg(dir.join(b))
            .output()
            .expect("runs")
    };
    let same = run("base.json", "base.json", "human");
    assert_eq!(same.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&same.stdout).contains("no differences"));
    let other = run("base.json", "changed.json", "json");
    assert_eq!(other.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&other.stdout).expect("JSON");
    assert_eq!(v["summary"]["regression"], 3);
    assert_eq!(v["differences"].as_array().map(Vec::len), Some(19));
    let md = run("base.json", "changed.json", "markdown");
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(
        text.contains("| regression | 07-uts | Two hostnames at once |"),
        "{text}"
    );
}

#[test]
fn on_the_initial_rootfs_pivot_root_is_unsupported_with_its_reason() {
    // A kernel's initial ramfs as `/` (what an initramfs-only system runs
    // on): pivot_root refuses to move it, with EINVAL. Labs 03 and 17 must
    // say so, not fail.
    let Some(kernel) = kernels().pop() else {
        assert!(std::env::var_os("CI").is_none(), "CI must run the VM test");
        eprintln!("skipped: no kernel package (`.ci/vm-kernels target/vm-kernels 6.12`)");
        return;
    };
    if !have_qemu() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the VM test");
        eprintln!("skipped: no qemu-system-x86_64");
        return;
    }
    let out = Command::new(LAB)
        .args(["vm", "--kernel"])
        .arg(&kernel)
        .args([
            "--initial-rootfs",
            "--",
            "run",
            "chroot",
            "container",
            "--format",
            "json",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("lab vm starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    for lab in report["labs"].as_array().expect("labs") {
        assert_eq!(lab["status"], "unsupported", "{lab:#}");
        let reason = lab["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("initial ramfs") && reason.contains("switch_root"),
            "{reason}"
        );
    }
}
