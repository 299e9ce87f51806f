//! The classroom exercises: hands-on tasks solved with standard tools
//! (`unshare`, `mount`, `chroot`, `ip`, `setpriv`, ...) in a sandbox, and
//! the checks that read what the kernel holds afterwards.
//!
//! Each exercise is one file here (its declaration and its checks) and one
//! Markdown text in `text/` (task, explanation, hints), which `lab exercise`
//! prints and the book includes. Each names its lab by slug, which stays
//! when labs are renumbered. The machinery (the sandbox, the readers, the
//! progress file) is the kit's [`lab_kit::exercise`].

use std::path::PathBuf;

use lab_kit::tr;

use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Probe, Tool};
use nix::sched::CloneFlags;

mod e01_drop_privileges;
mod e02_bind;
mod e03_chroot_seed;
mod e05_keep_alive;
mod e06_hostname;
mod e07_pid1;
mod e08_propagation;
mod e09_netns_veth;
mod e10_ipc;
mod e11_map_root;
mod e14_pids_limit;

/// The Japanese of the checks' names, expected and actual texts and first
/// hints (the texts marked `tr!`, and the names given to `.check(`): the
/// runner translates them where it draws a verdict.
pub const JA_PO: &str = include_str!("../ja.po");

/// Every exercise, in the order of the labs they practise.
pub static EXERCISES: &[&ExerciseDecl] = &[
    &e01_drop_privileges::EXERCISE,
    &e02_bind::EXERCISE,
    &e03_chroot_seed::EXERCISE,
    &e05_keep_alive::EXERCISE,
    &e06_hostname::EXERCISE,
    &e07_pid1::EXERCISE,
    &e08_propagation::EXERCISE,
    &e09_netns_veth::EXERCISE,
    &e10_ipc::EXERCISE,
    &e11_map_root::EXERCISE,
    &e14_pids_limit::EXERCISE,
];

/// Find an exercise by `06-hostname`, `06`, `6` or `hostname`.
pub fn find(query: &str) -> Option<&'static ExerciseDecl> {
    EXERCISES.iter().copied().find(|e| e.matches(query))
}

const UNSHARE: Tool = Tool {
    command: "unshare",
    package: "util-linux",
};
const SLEEP: Tool = Tool {
    command: "sleep",
    package: "coreutils",
};
const MOUNT: Tool = Tool {
    command: "mount",
    package: "mount",
};

/// `/proc/PID/ns/KIND`.
fn ns_file(pid: i32, kind: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{kind}"))
}

/// The hostname of the UTS namespace of process `pid`, read by a child that
/// entered it.
fn hostname_of(p: &Probe<'_>, pid: i32) -> Result<String, String> {
    p.inside(
        &[(ns_file(pid, "uts"), CloneFlags::CLONE_NEWUTS)],
        lab_kit::exercise::probe::hostname_here,
    )
}

/// `pid 5 (sleep), pid 6 (sh)`, or `none`.
fn labels(procs: &[Proc]) -> String {
    if procs.is_empty() {
        tr!("none")
    } else {
        procs.iter().map(Proc::label).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_found_by_number_and_name() {
        for e in EXERCISES {
            assert_eq!(find(e.id).map(|f| f.id), Some(e.id));
            assert_eq!(find(e.number()).map(|f| f.id), Some(e.id), "{}", e.id);
            let name = e.id.split_once('-').map(|(_, n)| n).unwrap_or_default();
            assert_eq!(find(name).map(|f| f.id), Some(e.id));
        }
        assert_eq!(find("6").map(|e| e.id), Some("06-hostname"));
        assert!(find("99").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn every_text_has_a_title_a_task_and_hints() {
        for e in EXERCISES {
            assert!(!e.title().is_empty(), "{}: no `# ` title", e.id);
            assert!(!e.task().is_empty(), "{}: no `## Task`", e.id);
            assert!(e.hints().len() >= 2, "{}: fewer than two hints under `## Hints`", e.id);
        }
    }
}
