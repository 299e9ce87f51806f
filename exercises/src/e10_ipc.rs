//! 10-ipc: a System V message queue that exists only in a new IPC namespace,
//! with a process left in it. `/proc/sysvipc/msg` lists the queues of the
//! *reader's* IPC namespace, so a child enters each namespace with `setns`
//! and reads it there (the kit's `ipc::keys`).

use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, UTIL_LINUX, Verdict};
use lab_kit::ipc::SysvKind;
use lab_kit::tr;
use nix::sched::CloneFlags;

use crate::{SLEEP, UNSHARE, labels, ns_file};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "10-ipc",
    lab: "ipc",
    needs: Needs::Sandbox,
    tools: &[
        UNSHARE,
        Tool {
            command: "ipcmk",
            package: UTIL_LINUX,
        },
        SLEEP,
    ],
    text: include_str!("../text/10-ipc.md"),
    text_ja: include_str!("../text/ja/10-ipc.md"),
    check,
};

/// How many message queues the IPC namespace of `pid` holds.
fn queues(p: &Probe<'_>, pid: i32) -> Result<usize, String> {
    p.inside(&[(ns_file(pid, "ipc"), CloneFlags::CLONE_NEWIPC)], || {
        Ok(lab_kit::ipc::keys(SysvKind::Msg)?.len())
    })
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let others = p.in_other_ns("ipc");
    let counted: Vec<(Proc, Result<usize, String>)> = others.iter().map(|o| (o.clone(), queues(p, o.pid))).collect();
    let home = queues(p, p.sandbox.init);
    let best = counted
        .iter()
        .find(|(_, n)| *n == Ok(1))
        .or_else(|| counted.first())
        .cloned();
    let found = v.check(
        "a live process in an IPC namespace other than the sandbox's",
        best.is_some(),
        tr!("at least one"),
        labels(&others),
        || {
            if home.as_ref().is_ok_and(|n| *n > 0) {
                tr!(
                    "the queue you made is in the sandbox's own IPC namespace (`ipcs -q` in your shell lists it): the task wants \
                     it in a new namespace, made with `unshare --ipc`, with a process that stays in it"
                )
            } else {
                tr!("no process is in an IPC namespace of its own yet: `unshare --ipc` runs a command in a new one")
            }
        },
    );
    match best.filter(|_| found) {
        Some((proc, n)) => {
            let actual = match &n {
                Ok(n) => n.to_string(),
                Err(e) => e.clone(),
            };
            v.check(
                "its namespace holds one message queue (/proc/sysvipc/msg read inside it)",
                n == Ok(1),
                "1",
                &actual,
                || {
                    tr!(
                        "{} is in a new IPC namespace, which holds {actual} queue(s): create one from inside it (`ipcmk -Q` run \
                         by a shell in that namespace, before the long-running command)",
                        proc.label()
                    )
                },
            );
        }
        None => v.not_checked(&[(
            "its namespace holds one message queue (/proc/sysvipc/msg read inside it)",
            "1",
        )]),
    }
    let actual = match &home {
        Ok(n) => n.to_string(),
        Err(e) => e.clone(),
    };
    v.check(
        "the sandbox's own IPC namespace holds none",
        home == Ok(0),
        "0",
        &actual,
        || tr!("the sandbox's own namespace holds {actual} queue(s): remove them (`ipcrm --all=msg`)"),
    );
    v
}
