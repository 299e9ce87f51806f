//! The privilege matrix: the whole suite in five privilege modes, and on
//! sixteen emulated machines that refuse something (Docker's defaults, a
//! user namespace whose privileged calls are refused, each namespace kind
//! limited to 0, single calls refused by seccomp), each emulated without
//! changing anything machine-wide (`tests/src/bin/`).
//!
//! In every mode: no lab ends `fail` or `error`, every step that does not
//! pass says why (a skipped one with the re-run command). In the privilege
//! modes each lab's status is exactly what its declaration predicts. On the
//! refusing machines every `unsupported` step names the cause and the fix
//! (or the earlier step that does), every lab the refusal cannot reach ends
//! exactly as it does without it (the refused call, or the namespace kind,
//! appears nowhere in its narration there), and lab 01 passes as root with
//! Docker's defaults. README.md's two tables are the ones this run
//! produces (`UPDATE_MATRIX=1 cargo test -p container-labs-tests --test
//! matrix` rewrites them).
//!
//! The modes run in parallel, four at a time, so that the 21 runs of the
//! suite take well under a minute.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::sync::Mutex;

use caps::Capability;
use common::{DOCKER_LIKE, LAB, Mode, NS_LIMIT, REFUSE, ROOT, USERNS_REFUSED};
use lab_kit::decl::{LabDecl, Privilege};
use lab_runner::registry::LABS;
use serde_json::Value;

const MODES: [(Mode, &str); 5] = [
    (Mode::Root, "root"),
    (Mode::RootNoSysAdmin, "root without CAP_SYS_ADMIN"),
    (Mode::Nobody, "uid 65534"),
    (Mode::NobodyNoUserns, "uid 65534, no user namespaces"),
    (Mode::UsernsRoot, "root in a user namespace"),
];

/// The namespace kinds whose limit is set to 0 (`user` is the privilege
/// mode "no user namespaces").
const LIMITED: [&str; 7] = ["mnt", "uts", "ipc", "pid", "net", "cgroup", "time"];

/// The calls a seccomp filter refuses, one at a time, as root.
const REFUSED: [&str; 7] = [
    "sethostname",
    "mount",
    "umount2",
    "unshare",
    "setns",
    "pivot_root",
    "chroot",
];

/// A machine that refuses something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusing {
    /// Root with Docker's 14 capabilities and its default seccomp profile.
    Docker,
    /// uid 65534 where a user namespace can be made but not used.
    UsernsRefused,
    /// uid 65534 where `user.max_KIND_namespaces` is 0.
    Limit(&'static str),
    /// Root under a seccomp filter refusing one call with EPERM.
    Seccomp(&'static str),
}

impl Refusing {
    fn all() -> Vec<Refusing> {
        let mut v = vec![Refusing::Docker, Refusing::UsernsRefused];
        v.extend(LIMITED.iter().map(|k| Refusing::Limit(k)));
        v.extend(REFUSED.iter().map(|c| Refusing::Seccomp(c)));
        v
    }

    fn header(self) -> String {
        match self {
            Refusing::Docker => "Docker's defaults, as root".into(),
            Refusing::UsernsRefused => "user namespace refused, as uid 65534".into(),
            Refusing::Limit(k) => format!("max_{k}_namespaces = 0"),
            Refusing::Seccomp(c) => format!("seccomp refuses {c}"),
        }
    }

    fn argv(self, args: &[&str]) -> Vec<String> {
        let prefix: Vec<&str> = match self {
            Refusing::Docker => vec![DOCKER_LIKE, "--"],
            Refusing::UsernsRefused => vec![USERNS_REFUSED, "--"],
            Refusing::Limit(k) => vec![NS_LIMIT, k, "--"],
            Refusing::Seccomp(c) => vec![REFUSE, c, "--"],
        };
        prefix
            .into_iter()
            .chain([LAB])
            .chain(args.iter().copied())
            .map(String::from)
            .collect()
    }

    /// The privilege mode that is the same machine without the refusal.
    fn baseline(self) -> Option<Mode> {
        match self {
            Refusing::Docker => None,
            Refusing::UsernsRefused | Refusing::Limit(_) => Some(Mode::Nobody),
            Refusing::Seccomp(_) => Some(Mode::Root),
        }
    }

    /// Whether the refusal can reach a lab, judged by what the lab did in
    /// the baseline run (its setup's calls and every step's) and, for a
    /// namespace limit, by the kinds its steps declare.
    fn reaches(self, baseline: &Value, decl: &LabDecl) -> bool {
        let calls = calls_of(baseline);
        match self {
            Refusing::Docker => true,
            Refusing::UsernsRefused => baseline["mode"] == "rootless",
            Refusing::Limit(k) => {
                let flag = lab_kit::op::NS_FLAGS
                    .iter()
                    .find(|(_, kind)| *kind == k)
                    .map(|(f, _)| *f)
                    .expect("a namespace kind");
                calls.iter().any(|c| c.contains(flag)) || decl.steps.iter().any(|s| s.needs.namespaces.contains(&k))
            }
            // Any filter reaches the seccomp lab: strict mode cannot be entered over one.
            Refusing::Seccomp(c) => {
                decl.mechanisms.contains(&lab_kit::Mechanism::Seccomp)
                    || calls.iter().any(|l| l.starts_with(&format!("{c}(")))
            }
        }
    }

    /// What every `unsupported` reason on this machine must name: the
    /// cause and the fix.
    fn names_cause_and_fix(self, reason: &str) -> bool {
        match self {
            // Docker refuses through its capabilities or its seccomp profile.
            Refusing::Docker => {
                (reason.contains("CAP_SYS_ADMIN") && reason.contains("--cap-add SYS_ADMIN"))
                    || reason.contains("--security-opt seccomp=unconfined")
            }
            // Emulated with a seccomp filter; on a machine with AppArmor's
            // restriction on, that is named first for the maps' writes.
            Refusing::UsernsRefused => {
                (reason.contains("a user namespace can be made here, but not used")
                    && (reason.contains("seccomp=unconfined")
                        || reason.contains("kernel.apparmor_restrict_unprivileged_userns=0")))
                    // The emulation's own filter, which strict mode cannot be entered over.
                    || reason.contains("already runs under a seccomp filter")
            }
            Refusing::Limit(k) => {
                reason.contains(&format!("user.max_{k}_namespaces = 0"))
                    && reason.contains(&format!("sudo sysctl -w user.max_{k}_namespaces="))
            }
            Refusing::Seccomp(_) => {
                // The call itself, or one the same filter refuses with it
                // (`refuse unshare` refuses clone with namespace flags too).
                (reason.contains("a seccomp filter refused ") || reason.contains("already runs under a seccomp filter"))
                    && reason.contains("--security-opt seccomp=unconfined")
            }
        }
    }
}

/// Every narrated call of a lab report, setup included.
fn calls_of(lab: &Value) -> Vec<String> {
    let mut calls: Vec<String> = lab["setup"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect();
    for step in lab["steps"].as_array().into_iter().flatten() {
        calls.extend(
            step["calls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(String::from)),
        );
    }
    calls
}

/// What the declaration predicts for a privilege mode: the statuses the
/// lab may end with. `delegated` steps (cgroups) leave a choice outside
/// real root: a caller who owns a writable cgroup v2 subtree (e.g. root
/// without CAP_SYS_ADMIN, whose cgroup files it still owns) runs them,
/// others skip. Root without CAP_SYS_ADMIN runs a `root` step that declares
/// only other capabilities, in a lab that needs no user namespace (one that
/// creates no namespace and uses no CAP_SYS_ADMIN).
fn predicted(mode: Mode, lab: &LabDecl) -> Vec<&'static str> {
    let sys_admin = |caps: &[Capability]| caps.contains(&Capability::CAP_SYS_ADMIN);
    let needs_userns = lab
        .steps
        .iter()
        .any(|s| s.privilege == Privilege::Userns && (!s.needs.namespaces.is_empty() || sys_admin(s.needs.caps)));
    let can = |s: &lab_kit::decl::StepDecl, delegated: bool| match (mode, s.privilege) {
        (_, Privilege::None) | (Mode::Root, _) => true,
        (Mode::NobodyNoUserns, _) => false,
        (Mode::RootNoSysAdmin, Privilege::Root) => {
            !needs_userns && !s.needs.caps.is_empty() && !sys_admin(s.needs.caps)
        }
        (_, Privilege::Root) => false,
        (_, Privilege::Delegated) => delegated,
        (_, Privilege::Userns) => true,
    };
    let status = |delegated: bool| {
        if lab.steps.iter().all(|s| can(s, delegated)) {
            "pass"
        } else if mode == Mode::NobodyNoUserns && lab.steps.iter().any(|s| s.privilege == Privilege::Userns) {
            "unsupported"
        } else {
            "skip"
        }
    };
    let mut statuses = vec![status(false), status(true)];
    statuses.dedup();
    statuses
}

/// Run the whole suite under `argv` and return its report's labs.
fn run_suite(name: &str, argv: &[String]) -> Vec<Value> {
    let out = common::command(argv).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: not JSON ({e}); stderr: {stderr}"));
    assert_eq!(out.status.code(), Some(0), "{name}: exit code; stderr: {stderr}");
    let labs = v["labs"].as_array().expect("labs").clone();
    assert_eq!(labs.len(), LABS.len(), "{name}: every lab ran");
    labs
}

fn passed(lab: &Value) -> usize {
    lab["steps"]
        .as_array()
        .map_or(0, |s| s.iter().filter(|s| s["status"] == "pass").count())
}

fn cell(lab: &Value, decl: &LabDecl) -> String {
    format!(
        "{} ({}/{})",
        lab["status"].as_str().unwrap_or("none"),
        passed(lab),
        decl.steps.len()
    )
}

/// Every step ends pass, skip (a reason and a re-run command) or
/// unsupported (a reason); never fail or error.
fn no_step_fails(name: &str, lab: &Value, decl: &LabDecl) {
    for step in lab["steps"].as_array().expect("steps") {
        match step["status"].as_str() {
            Some("pass") => {}
            Some("skip") => {
                assert!(step["reason"].as_str().is_some_and(|r| !r.is_empty()), "{name}: {step}");
                assert!(
                    step["rerun"].as_str().is_some_and(|r| r.contains(" run ")),
                    "{name}: {step}"
                );
            }
            Some("unsupported") => {
                assert!(step["reason"].as_str().is_some_and(|r| !r.is_empty()), "{name}: {step}")
            }
            other => panic!("{name}: lab {} step ended {other:?}: {step}", decl.id),
        }
    }
}

/// Run `jobs` on four threads; the results in the order of `jobs`.
fn in_parallel<T: Send>(jobs: Vec<Box<dyn FnOnce() -> T + Send + '_>>) -> Vec<T> {
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new((0..n).map(|_| None).collect::<Vec<Option<T>>>());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let job = queue.lock().expect("queue").pop();
                    let Some((i, job)) = job else { break };
                    let r = job();
                    results.lock().expect("results")[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

fn table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut t = String::from("| lab |");
    for h in headers {
        t.push_str(&format!(" {h} |"));
    }
    t.push_str("\n|-----|");
    t.push_str(&"---|".repeat(headers.len()));
    t.push('\n');
    for (decl, cells) in LABS.iter().zip(rows) {
        t.push_str(&format!("| {} {} |", decl.id, decl.slug));
        for c in cells {
            t.push_str(&format!(" {c} |"));
        }
        t.push('\n');
    }
    t
}

fn check_readme(readme: &mut String, marker: &str, table: &str) -> bool {
    let (start, end) = (format!("<!-- {marker}:start -->\n"), format!("<!-- {marker}:end -->"));
    let a = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README has the {marker} start marker"))
        + start.len();
    let b = readme
        .find(&end)
        .unwrap_or_else(|| panic!("README has the {marker} end marker"));
    let fresh = readme[a..b] == *table;
    readme.replace_range(a..b, table);
    fresh
}

#[test]
fn every_mode_ends_as_the_declarations_predict_and_no_refusal_fails() {
    require_root!();
    let started = std::time::Instant::now();
    let refusing = Refusing::all();
    let mut jobs: Vec<Box<dyn FnOnce() -> Vec<Value> + Send>> = Vec::new();
    for (mode, name) in MODES {
        jobs.push(Box::new(move || {
            run_suite(name, &mode.argv(LAB, &["run", "--format", "json"]))
        }));
    }
    for r in &refusing {
        let r = *r;
        jobs.push(Box::new(move || {
            run_suite(&r.header(), &r.argv(&["run", "--format", "json"]))
        }));
    }
    let mut results = in_parallel(jobs).into_iter();
    let privileged: Vec<(Mode, &str, Vec<Value>)> = MODES
        .iter()
        .map(|(m, n)| (*m, *n, results.next().expect("a run")))
        .collect();
    let refused: Vec<(Refusing, Vec<Value>)> = refusing.iter().map(|r| (*r, results.next().expect("a run"))).collect();
    eprintln!("21 runs of the suite in {:?}", started.elapsed());

    let mut rows: Vec<Vec<String>> = LABS.iter().map(|_| Vec::new()).collect();
    for (mode, name, labs) in &privileged {
        for ((lab, decl), row) in labs.iter().zip(LABS).zip(rows.iter_mut()) {
            let status = lab["status"].as_str().unwrap_or("none");
            let allowed = predicted(*mode, decl);
            assert!(
                allowed.contains(&status),
                "{name}: lab {} ended {status}, expected one of {allowed:?} ({})",
                decl.id,
                lab["reason"]
            );
            no_step_fails(name, lab, decl);
            row.push(cell(lab, decl));
        }
    }
    let baseline = |m: Mode| {
        &privileged
            .iter()
            .find(|(mode, _, _)| *mode == m)
            .expect("the baseline ran")
            .2
    };

    let mut refusal_rows: Vec<Vec<String>> = LABS.iter().map(|_| Vec::new()).collect();
    for (r, labs) in &refused {
        let name = r.header();
        for (i, ((lab, decl), row)) in labs.iter().zip(LABS).zip(refusal_rows.iter_mut()).enumerate() {
            no_step_fails(&name, lab, decl);
            let steps = lab["steps"].as_array().expect("steps");
            for step in steps {
                let reason = step["reason"].as_str().unwrap_or("");
                if step["status"] != "unsupported" {
                    continue;
                }
                // A step after the one that could not run points at it.
                let named = match reason
                    .strip_prefix("needs step ")
                    .and_then(|r| r.split(' ').next())
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(n) => steps[n - 1]["reason"].as_str().unwrap_or(""),
                    None => reason,
                };
                assert!(
                    r.names_cause_and_fix(named),
                    "{name}: lab {} step {:?} does not name the cause and the fix: {reason:?}",
                    decl.id,
                    step["title"]
                );
            }
            if let Some(m) = r.baseline() {
                let before = &baseline(m)[i];
                if !r.reaches(before, decl) {
                    assert_eq!(
                        (lab["status"].as_str(), passed(lab)),
                        (before["status"].as_str(), passed(before)),
                        "{name}: lab {} is out of the refusal's reach but ended otherwise ({})",
                        decl.id,
                        lab["reason"]
                    );
                }
            }
            row.push(cell(lab, decl));
        }
        if *r == Refusing::Docker {
            let lab01 = labs.iter().find(|l| l["id"] == "01").expect("lab 01");
            assert_eq!(lab01["status"], "pass", "{name}: lab 01 needs no namespace: {lab01}");
        }
    }

    let headers: Vec<String> = MODES.iter().map(|(_, n)| n.to_string()).collect();
    let refusal_headers: Vec<String> = refusing.iter().map(|r| r.header()).collect();
    let readme_path = format!("{ROOT}/README.md");
    let mut readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let fresh = check_readme(&mut readme, "privilege-matrix", &table(&headers, &rows))
        & check_readme(&mut readme, "refusal-matrix", &table(&refusal_headers, &refusal_rows));
    if std::env::var_os("UPDATE_MATRIX").is_some() {
        std::fs::write(&readme_path, readme).expect("write README");
    } else {
        assert!(
            fresh,
            "README's privilege matrices are stale: UPDATE_MATRIX=1 cargo test -p container-labs-tests --test matrix"
        );
    }
}
