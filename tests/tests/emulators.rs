//! The refusal emulators refuse what they say, and only that: each refusal
//! is shown against the same command without the emulator (which must
//! work), so that the emulator, not the machine, made the difference. They
//! change nothing machine-wide: the host's namespace limits are compared
//! before and after.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::process::Command;

use common::{DOCKER_LIKE, NS_LIMIT, REFUSE, USERNS_REFUSED};

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(argv: &[&str]) -> Ran {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn succeeds(argv: &[&str]) {
    let r = run(argv);
    assert_eq!(r.code, Some(0), "{argv:?} should succeed; stderr: {}", r.stderr);
}

/// The command fails and says `strerror(errno)` (util-linux's `unshare`
/// and `nsenter` print it).
fn fails_with(argv: &[&str], strerror: &str) {
    let r = run(argv);
    assert!(
        r.code != Some(0) && r.stderr.contains(strerror),
        "{argv:?} should fail with {strerror:?}; exit {:?}, stderr: {}",
        r.code,
        r.stderr
    );
}

const NOBODY: [&str; 7] = [
    "setpriv",
    "--reuid",
    "65534",
    "--regid",
    "65534",
    "--clear-groups",
    "--",
];

fn as_nobody<'a>(argv: &[&'a str]) -> Vec<&'a str> {
    NOBODY.iter().copied().chain(argv.iter().copied()).collect()
}

fn status_line(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn limits() -> Vec<String> {
    ["user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"]
        .iter()
        .map(|k| std::fs::read_to_string(format!("/proc/sys/user/max_{k}_namespaces")).unwrap_or_default())
        .collect()
}

#[test]
fn refuse_refuses_the_named_calls_with_the_errno() {
    require_root!();
    succeeds(&["unshare", "--uts", "hostname", "lab-emulated"]);
    let r = run(&[
        REFUSE,
        "sethostname",
        "--",
        "unshare",
        "--uts",
        "hostname",
        "lab-emulated",
    ]);
    assert!(
        r.code != Some(0) && r.stderr.contains("must be root"),
        "sethostname is refused with EPERM: {}",
        r.stderr
    );
    succeeds(&["unshare", "--user", "true"]);
    fails_with(
        &[
            REFUSE, "--errno", "ENOSYS", "unshare", "--", "unshare", "--user", "true",
        ],
        "Function not implemented",
    );
    // Joining one's own UTS namespace: setns works, unless refused.
    let nsenter = ["sh", "-c", "exec nsenter --target $$ --uts true"];
    succeeds(&nsenter);
    let refused: Vec<&str> = [REFUSE, "setns,mount", "--"].into_iter().chain(nsenter).collect();
    fails_with(&refused, "Operation not permitted");
    // Other calls still run.
    succeeds(&[REFUSE, "sethostname", "--", "unshare", "--user", "true"]);
    // Root installs without no_new_privs; anyone else sets it first.
    let r = run(&[REFUSE, "uname", "--", "grep", "NoNewPrivs", "/proc/self/status"]);
    assert_eq!(status_line(&r.stdout, "NoNewPrivs"), "0", "{}", r.stderr);
    let r = run(&as_nobody(&[
        REFUSE,
        "uname",
        "--",
        "grep",
        "-E",
        "NoNewPrivs|Seccomp",
        "/proc/self/status",
    ]));
    assert_eq!(status_line(&r.stdout, "NoNewPrivs"), "1", "{}", r.stderr);
    assert_eq!(status_line(&r.stdout, "Seccomp"), "2", "{}", r.stderr);
    fails_with(
        &as_nobody(&[REFUSE, "unshare", "--", "unshare", "--user", "true"]),
        "Operation not permitted",
    );
}

#[test]
fn refuse_rejects_bad_usage_in_one_line_with_exit_2() {
    for argv in [
        vec![REFUSE],
        vec![REFUSE, "no_such_call", "--", "true"],
        vec![REFUSE, "--errno", "EWHAT", "uname", "--", "true"],
        vec![REFUSE, "uname", "--"],
        vec![NS_LIMIT, "bogus", "--", "true"],
        vec![NS_LIMIT, "net"],
        vec![DOCKER_LIKE],
        vec![USERNS_REFUSED, "--"],
    ] {
        let r = run(&argv);
        assert_eq!(r.code, Some(2), "{argv:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{argv:?}: one line: {}", r.stderr);
    }
    let r = run(&[REFUSE, "uname", "--", "/nonexistent/container-labs"]);
    assert_eq!(r.code, Some(127), "{}", r.stderr);
}

#[test]
fn ns_limit_refuses_each_kind_with_enospc_and_only_that_kind() {
    require_root!();
    let before = limits();
    for (kind, flag) in [
        ("user", None),
        ("mnt", Some("--mount")),
        ("uts", Some("--uts")),
        ("ipc", Some("--ipc")),
        ("pid", Some("--pid")),
        ("net", Some("--net")),
        ("cgroup", Some("--cgroup")),
        ("time", Some("--time")),
    ] {
        if !std::path::Path::new(&format!("/proc/sys/user/max_{kind}_namespaces")).exists() {
            eprintln!("this kernel has no {kind} namespace limit; not checked");
            continue;
        }
        // An unprivileged user makes the namespace inside a user namespace of its own.
        let mut cmd = vec!["unshare", "--user"];
        cmd.extend(flag);
        cmd.push("true");
        let other = if kind == "ipc" { "uts" } else { "ipc" };
        let with =
            |k: &'static str| -> Vec<&str> { [NS_LIMIT, k, "--"].into_iter().chain(cmd.iter().copied()).collect() };
        succeeds(&with(other));
        fails_with(&with(kind), "No space left on device");
    }
    let r = run(&[NS_LIMIT, "net", "--", "id", "-u"]);
    assert_eq!(r.stdout.trim(), "65534", "{}", r.stderr);
    // The limit is not CMD's to lift.
    let r = run(&[
        NS_LIMIT,
        "net",
        "--",
        "sh",
        "-c",
        "echo 1 > /proc/sys/user/max_net_namespaces",
    ]);
    assert_ne!(r.code, Some(0), "uid 65534 raised the limit");
    assert_eq!(before, limits(), "the host's namespace limits changed");
}

#[test]
fn docker_like_holds_docker_capabilities_and_its_refusals() {
    require_root!();
    let r = run(&[DOCKER_LIKE, "--", "cat", "/proc/self/status"]);
    let mask = format!("{:016x}", lab_kit::container::default_caps_mask());
    for key in ["CapInh", "CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(status_line(&r.stdout, key), mask, "{key}; stderr: {}", r.stderr);
    }
    assert_eq!(status_line(&r.stdout, "CapAmb"), "0000000000000000");
    assert_eq!(status_line(&r.stdout, "Seccomp"), "2");
    assert_eq!(
        status_line(&r.stdout, "NoNewPrivs"),
        "0",
        "Docker does not set no_new_privs by default"
    );
    assert_eq!(lab_kit::container::DEFAULT_CAPS.len(), 14);
    // A user namespace needs no capability: only the filter refuses it.
    succeeds(&["unshare", "--user", "true"]);
    fails_with(
        &[DOCKER_LIKE, "--", "unshare", "--user", "true"],
        "Operation not permitted",
    );
    fails_with(
        &[DOCKER_LIKE, "--", "unshare", "--mount", "true"],
        "Operation not permitted",
    );
    succeeds(&[DOCKER_LIKE, "--", "sh", "-c", "true & wait"]);
}

#[test]
fn userns_refused_allows_the_namespace_and_refuses_what_needs_privilege_in_it() {
    require_root!();
    // Without the emulator uid 65534 may do all of this here (if the
    // machine allows unprivileged user namespaces at all).
    if run(&as_nobody(&["unshare", "--user", "--map-root-user", "--uts", "true"])).code != Some(0) {
        eprintln!("skipped: this machine refuses unprivileged user namespaces itself");
        return;
    }
    let r = run(&[USERNS_REFUSED, "--", "unshare", "--user", "--map-root-user", "id", "-u"]);
    assert_eq!(r.stdout.trim(), "0", "a user namespace can be made: {}", r.stderr);
    let r = run(&[USERNS_REFUSED, "--", "id", "-u"]);
    assert_eq!(r.stdout.trim(), "65534");
    for ns in ["--uts", "--mount", "--net", "--ipc", "--pid", "--cgroup"] {
        fails_with(
            &[USERNS_REFUSED, "--", "unshare", "--user", "--map-root-user", ns, "true"],
            "Operation not permitted",
        );
    }
}
