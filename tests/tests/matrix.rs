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

/// What the declaration predicts for a mode.
fn predicted(mode: Mode, lab: &LabDecl) -> &'static str {
    // Delegated steps run rootless only in a cgroup v2 subtree delegated to
    // the caller, which the machines this test runs on do not give uid 65534.
    let can = |p: Privilege| match (mode, p) {
        (_, Privilege::None) | (Mode::Root, _) => true,
        (Mode::NobodyNoUserns, _) | (_, Privilege::Root | Privilege::Delegated) => false,
        (_, Privilege::Userns) => true,
    };
    if lab.steps.iter().all(|s| can(s.privilege)) {
        "pass"
    } else if mode == Mode::NobodyNoUserns && lab.steps.iter().any(|s| s.privilege == Privilege::Userns) {
        "unsupported"
    } else {
        "skip"
    }
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
            assert_eq!(
                status,
                predicted(mode, decl),
                "{name}: lab {} ({})",
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
