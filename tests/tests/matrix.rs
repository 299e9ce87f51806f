//! The privilege matrix: the whole suite in five privilege modes. Every lab
//! ends `pass`, `skip` or `unsupported` with a reason, never `fail` or
//! `error`; each lab's status is exactly what its declaration predicts for
//! the mode; and README.md's table is the one this run produces
//! (`UPDATE_MATRIX=1 cargo test -p container-labs-tests --test matrix`
//! rewrites it).

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use common::{LAB, Mode, ROOT};
use lab_kit::decl::{LabDecl, Privilege};
use lab_runner::registry::LABS;

const MODES: [(Mode, &str); 5] = [
    (Mode::Root, "root"),
    (Mode::RootNoSysAdmin, "root without CAP_SYS_ADMIN"),
    (Mode::Nobody, "uid 65534"),
    (Mode::NobodyNoUserns, "uid 65534, no user namespaces"),
    (Mode::UsernsRoot, "root in a user namespace"),
];

/// What the declaration predicts for a mode: the statuses the lab may end
/// with. Only `delegated` steps (cgroups) leave a choice outside real root:
/// a caller who owns a writable cgroup v2 subtree (e.g. root without
/// CAP_SYS_ADMIN, whose cgroup files it still owns) runs them, others skip.
fn predicted(mode: Mode, lab: &LabDecl) -> Vec<&'static str> {
    let can = |p: Privilege, delegated: bool| match (mode, p) {
        (_, Privilege::None) | (Mode::Root, _) => true,
        (Mode::NobodyNoUserns, _) | (_, Privilege::Root) => false,
        (_, Privilege::Delegated) => delegated,
        (_, Privilege::Userns) => true,
    };
    let status = |delegated: bool| {
        if lab.steps.iter().all(|s| can(s.privilege, delegated)) {
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

#[test]
fn every_mode_ends_as_the_declarations_predict() {
    require_root!();
    let mut table = String::from("| lab |");
    for (_, name) in MODES {
        table.push_str(&format!(" {name} |"));
    }
    table.push_str("\n|-----|");
    table.push_str(&"---|".repeat(MODES.len()));
    table.push('\n');
    let mut rows: Vec<String> = LABS.iter().map(|l| format!("| {} {} |", l.id, l.slug)).collect();
    for (mode, name) in MODES {
        let out = mode.command(LAB, &["run", "--format", "json"]).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: not JSON ({e}); stderr: {stderr}"));
        assert_eq!(out.status.code(), Some(0), "{name}: exit code; stderr: {stderr}");
        let labs = v["labs"].as_array().expect("labs");
        assert_eq!(labs.len(), LABS.len(), "{name}: every lab ran");
        for ((lab, decl), row) in labs.iter().zip(LABS).zip(rows.iter_mut()) {
            let status = lab["status"].as_str().unwrap_or("none");
            let allowed = predicted(mode, decl);
            assert!(
                allowed.contains(&status),
                "{name}: lab {} ended {status}, expected one of {allowed:?} ({})",
                decl.id,
                lab["reason"]
            );
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
            let passed = lab["steps"]
                .as_array()
                .map_or(0, |s| s.iter().filter(|s| s["status"] == "pass").count());
            row.push_str(&format!(" {status} ({passed}/{}) |", decl.steps.len()));
        }
    }
    for row in rows {
        table.push_str(&row);
        table.push('\n');
    }
    let readme_path = format!("{ROOT}/README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let (start, end) = ("<!-- privilege-matrix:start -->\n", "<!-- privilege-matrix:end -->");
    let a = readme.find(start).expect("README has the matrix start marker") + start.len();
    let b = readme.find(end).expect("README has the matrix end marker");
    if std::env::var_os("UPDATE_MATRIX").is_some() {
        std::fs::write(&readme_path, format!("{}{table}{}", &readme[..a], &readme[b..])).expect("write README");
    } else {
        assert_eq!(
            readme[a..b],
            table,
            "README's privilege matrix is stale: UPDATE_MATRIX=1 cargo test -p container-labs-tests --test matrix"
        );
    }
}
