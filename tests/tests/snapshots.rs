//! Every lab's normalized observations and checks, pinned per privilege mode.
//! A kernel or distribution that behaves differently shows up as a diff here
//! (`cargo insta review` to look at it). Each lab also runs a second time
//! under another hostname, TMPDIR and working directory, and must report
//! exactly the same: nothing machine-specific may reach a snapshot. What a
//! report holds from the machine rather than the kernel is replaced by what
//! it stands for (`common::machine_independent`), and a lab that makes
//! cgroups is pinned per cgroup layout (`@root-hybrid`, `@root-v2`), since
//! its lesson differs there; the pure v2 snapshots come from a VM
//! (tests/tests/vm.rs holds the guest's reports against them).

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use common::{LAB, Mode, elsewhere, machine_independent, run_folded, run_lab, snapshot_suffix};
use lab_runner::registry::LABS;

fn pin_all(mode: Mode) {
    require_root!();
    let cgroup_mode = lab_kit::cgroup::CgroupMode::detect();
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
        machine_independent(&mut report);
        machine_independent(&mut again);
        assert_eq!(
            report, again,
            "lab {} reports differently under another hostname/TMPDIR/cwd",
            lab.id
        );
        let suffix = snapshot_suffix(lab, mode.name(), cgroup_mode.as_str());
        insta::with_settings!({ snapshot_suffix => suffix, omit_expression => true }, {
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
