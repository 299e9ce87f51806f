//! Every lab's normalized observations and checks, pinned per privilege mode.
//! A kernel or distribution that behaves differently shows up as a diff here
//! (`cargo insta review` to look at it). Each lab also runs a second time
//! under another hostname, TMPDIR and working directory, and must report
//! exactly the same: nothing machine-specific may reach a snapshot.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use common::{LAB, Mode, elsewhere, run_folded, run_lab};
use lab_runner::registry::LABS;

fn pin_all(mode: Mode) {
    require_root!();
    for lab in LABS {
        let (mut report, out) = run_lab(mode, lab.id);
        assert!(
            report.status.is_some(),
            "lab {} did not finish in mode {}; stderr:\n{}",
            lab.id,
            mode.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        let (mut again, _) = run_folded(elsewhere(&mode.argv(LAB, &["__lab", lab.id, "--format", "json"])));
        report.duration_ms = 0;
        again.duration_ms = 0;
        assert_eq!(
            report, again,
            "lab {} reports differently under another hostname/TMPDIR/cwd",
            lab.id
        );
        insta::with_settings!({ snapshot_suffix => mode.name(), omit_expression => true }, {
            insta::assert_yaml_snapshot!(format!("lab-{}", lab.full_id()), report, {
                ".duration_ms" => "[duration]",
                ".steps[].rerun" => "[re-run command]",
            });
        });
    }
}

#[test]
fn every_lab_as_root() {
    pin_all(Mode::Root);
}

#[test]
fn every_lab_rootless() {
    pin_all(Mode::Nobody);
}
