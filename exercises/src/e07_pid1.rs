//! 07-pid1: a shell that is PID 1 of a new PID namespace, a second process
//! beside it, and a procfs of that namespace in its mount namespace.
//! Checked from `NSpid:` of `/proc/PID/status` (the pid at each level, the
//! last its own namespace's), `/proc/PID/ns/pid`, the process's mountinfo and
//! `/proc/1/ns/pid` *in its own /proc* (that procfs's PID 1).

use std::path::Path;

use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Verdict};
use lab_kit::tr;

use crate::{SLEEP, UNSHARE, labels};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "07-pid1",
    lab: "pid",
    needs: Needs::Sandbox,
    tools: &[UNSHARE, SLEEP],
    text: include_str!("../text/07-pid1.md"),
    text_ja: include_str!("../text/ja/07-pid1.md"),
    check,
};

fn last_nspid(p: &Probe<'_>, pid: i32) -> Option<i32> {
    p.status(pid).and_then(|st| st.nspid.and_then(|l| l.last().copied()))
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let others = p.in_other_ns("pid");
    let firsts: Vec<Proc> = others
        .iter()
        .filter(|o| last_nspid(p, o.pid) == Some(1))
        .cloned()
        .collect();
    // Prefer a PID 1 with company.
    let company = |p: &mut Probe<'_>, one: &Proc| -> Vec<Proc> {
        let ns = p.ns(one.pid, "pid");
        others
            .iter()
            .filter(|o| o.pid != one.pid && p.ns(o.pid, "pid") == ns)
            .cloned()
            .collect()
    };
    let mut best = None;
    for one in &firsts {
        let c = company(p, one);
        if best
            .as_ref()
            .is_none_or(|(_, bc): &(Proc, Vec<Proc>)| bc.is_empty() && !c.is_empty())
        {
            best = Some((one.clone(), c));
        }
    }
    let found = v.check(
        "a live process that is PID 1 of a new PID namespace (NSpid ends in 1)",
        best.is_some(),
        tr!("at least one"),
        best.as_ref().map_or(tr!("none"), |(one, _)| one.label()),
        || {
            if others.is_empty() {
                tr!(
                    "no process is in a PID namespace of its own yet: `unshare --pid` makes one, and `--fork` makes the \
                     command its first process, PID 1 (without it, unshare itself would have to be)"
                )
            } else {
                tr!(
                    "{} in a new PID namespace, but its PID 1 is gone: when PID 1 of a namespace ends, the kernel kills the \
                     rest; keep a shell as PID 1 (`--fork`) running",
                    labels(&others)
                )
            }
        },
    );
    let Some((one, company)) = best.filter(|_| found) else {
        v.not_checked(&[
            ("another process in the same PID namespace", &tr!("at least one")),
            (
                "/proc in its mount namespace shows that PID namespace",
                &tr!("a procfs whose PID 1 is it"),
            ),
        ]);
        return v;
    };
    v.check(
        "another process in the same PID namespace",
        !company.is_empty(),
        tr!("at least one"),
        labels(&company),
        || {
            tr!(
                "{} is PID 1 of its namespace, but alone: let it start a second process that stays (a `sleep` in the background)",
                one.label()
            )
        },
    );
    let procfs = p.mount_at(one.pid, "/proc");
    let own_ns = Probe::identity(Path::new(&format!("/proc/{}/ns/pid", one.pid)));
    let shown_ns = Probe::identity(&p.path_of(one.pid, "/proc/1/ns/pid"));
    let home_ns = Probe::identity(Path::new(&format!("/proc/{}/ns/pid", p.sandbox.init)));
    let ok = procfs.as_ref().is_some_and(|m| m.fs_type == "proc") && own_ns.is_some() && shown_ns == own_ns;
    let actual = match (&procfs, shown_ns) {
        (None, _) => tr!("nothing mounted at /proc"),
        (Some(m), _) if m.fs_type != "proc" => tr!("a {} mount at /proc", m.fs_type),
        _ if ok => tr!("a procfs whose PID 1 is it"),
        (_, s) if s.is_some() && s == home_ns => tr!("the sandbox's procfs (its PID 1 is the sandbox's init)"),
        _ => tr!("a procfs of another PID namespace"),
    };
    v.check(
        "/proc in its mount namespace shows that PID namespace",
        ok,
        tr!("a procfs whose PID 1 is it"),
        &actual,
        || {
            tr!(
                "{}'s /proc is {actual}: a procfs shows the PID namespace of whoever mounted it, so it must be mounted \
                 again from inside, in a mount namespace of its own (`--mount-proc` does both)",
                one.label()
            )
        },
    );
    v
}
