//! 05-keep-alive: a UTS namespace with the hostname `kept`, held by a bind
//! mount of its namespace file on `/tmp/uts-kept` and by no process.
//! Checked in the sandbox's mountinfo (an `nsfs` mount there), by `stat`
//! of the file (the namespace's identity) against every process's
//! `/proc/PID/ns/uts`, and by a child that enters it with `setns` and reads
//! `uname`.

use lab_kit::exercise::probe::{Proc, hostname_here};
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, Verdict};
use lab_kit::proc::NsId;
use lab_kit::tr;
use nix::sched::CloneFlags;

use crate::{UNSHARE, labels};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "05-keep-alive",
    lab: "namespaces",
    needs: Needs::Sandbox,
    tools: &[
        UNSHARE,
        Tool {
            command: "hostname",
            package: "hostname",
        },
        Tool {
            command: "touch",
            package: "coreutils",
        },
    ],
    text: include_str!("../text/05-keep-alive.md"),
    text_ja: include_str!("../text/ja/05-keep-alive.md"),
    check,
};

const FILE: &str = "/tmp/uts-kept";
const WANT: &str = "kept";

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let mount = p.mount_at(p.sandbox.init, FILE);
    let path = p.path_in_sandbox(FILE);
    let exists = std::fs::symlink_metadata(&path).is_ok();
    let actual = match &mount {
        Some(m) => tr!("a {} mount", m.fs_type),
        None if exists => tr!("a plain file, nothing mounted on it"),
        None => tr!("no such file"),
    };
    let is_nsfs = mount.as_ref().is_some_and(|m| m.fs_type == "nsfs");
    v.check(
        format!("{FILE} is a bind mount of a namespace file (nsfs)"),
        is_nsfs,
        tr!("an nsfs mount"),
        &actual,
        || {
            if !exists {
                tr!("{FILE} does not exist yet: a bind mount needs a file to mount on (`touch {FILE}`)")
            } else if mount.is_none() {
                tr!(
                    "{FILE} is there but nothing is mounted on it: bind a namespace file onto it (`mount --bind \
                     /proc/PID/ns/uts {FILE}`), or let `unshare --uts={FILE}` make the namespace and the mount at once"
                )
            } else {
                tr!("{FILE} is {actual}, not a namespace file: unmount it (`umount {FILE}`)")
            }
        },
    );
    if !is_nsfs {
        v.not_checked(&[
            (
                "it is a UTS namespace other than the sandbox's",
                &tr!("another UTS namespace"),
            ),
            ("no process is in that namespace", &tr!("none")),
            ("entering it (setns) shows the hostname", WANT),
        ]);
        return v;
    }
    let id = Probe::identity(&path).map(|(dev, ino)| NsId { dev, ino });
    let home = p.home_ns("uts");
    // setns(CLONE_NEWUTS) refuses a file of any other namespace type (EINVAL).
    let name = p.inside(&[(path.clone(), CloneFlags::CLONE_NEWUTS)], hostname_here);
    let other = id.is_some() && id != home && name.is_ok();
    let actual = match (&name, id == home) {
        (Err(e), _) => tr!("not a UTS namespace ({e})"),
        (Ok(_), true) => tr!("the sandbox's own UTS namespace"),
        (Ok(_), false) => tr!("another UTS namespace"),
    };
    v.check(
        "it is a UTS namespace other than the sandbox's",
        other,
        tr!("another UTS namespace"),
        &actual,
        || {
            tr!(
                "{FILE} holds {actual}: it must hold a new one, made for it (`unshare --uts=FILE` makes one and binds it)"
            )
        },
    );
    if !other {
        v.not_checked(&[
            ("no process is in that namespace", &tr!("none")),
            ("entering it (setns) shows the hostname", WANT),
        ]);
        return v;
    }
    let members: Vec<Proc> = p
        .processes()
        .to_vec()
        .into_iter()
        .filter(|pr| p.ns(pr.pid, "uts") == id)
        .collect();
    let anywhere = id.map_or(0, |id| lab_kit::proc::processes_in("uts", id));
    let actual = if members.is_empty() && anywhere > 0 {
        tr!("{anywhere} process(es)")
    } else {
        labels(&members)
    };
    v.check("no process is in that namespace", anywhere == 0, tr!("none"), &actual, || {
        tr!(
            "{actual} still in the namespace: the point is that the mount alone keeps it alive; let the process end \
             (a namespace kept by a mount needs no process)"
        )
    });
    let shown = name.clone().unwrap_or_else(|e| e);
    v.check(
        "entering it (setns) shows the hostname",
        name.as_deref() == Ok(WANT),
        WANT,
        &shown,
        || {
            tr!(
                "the kept namespace's hostname is {shown:?}, the one it copied when it was made: set it by a process inside \
                 it (`unshare --uts={FILE} hostname {WANT}`, or `nsenter --uts={FILE} hostname {WANT}` now)"
            )
        },
    );
    v
}
