//! 01-drop-privileges: a long-running process as uid and gid 65534 without
//! supplementary groups, while the shell stays root. Checked from
//! `/proc/PID/status` (`Uid:`, `Gid:` real, effective, saved; `Groups:`).
//! It needs real root: a student's sandbox is a user namespace that maps one
//! uid (theirs, as root), so there is no uid 65534 to switch to.

use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, UTIL_LINUX, Verdict};
use lab_kit::tr;

use crate::SLEEP;

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "01-drop-privileges",
    lab: "privileges",
    needs: Needs::Root,
    tools: &[
        Tool {
            command: "setpriv",
            package: UTIL_LINUX,
        },
        SLEEP,
    ],
    text: include_str!("../text/01-drop-privileges.md"),
    text_ja: include_str!("../text/ja/01-drop-privileges.md"),
    check,
};

const NOBODY: u32 = 65534;

fn triple(a: u32, b: u32, c: u32) -> String {
    format!("{a} {b} {c}")
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let want = triple(NOBODY, NOBODY, NOBODY);
    // The process that comes closest: most of the ids right.
    let mut best: Option<(usize, Proc, procfs::process::Status)> = None;
    for proc in p.processes().to_vec() {
        let Some(st) = p.status(proc.pid) else { continue };
        let uids = [st.ruid, st.euid, st.suid];
        let gids = [st.rgid, st.egid, st.sgid];
        if !uids.contains(&NOBODY) {
            continue;
        }
        let score =
            usize::from(uids == [NOBODY; 3]) + usize::from(gids == [NOBODY; 3]) + usize::from(st.groups.is_empty());
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, proc, st));
        }
    }
    let found = v.check(
        "a live process with uid 65534",
        best.is_some(),
        tr!("at least one"),
        best.as_ref().map_or(tr!("none"), |(_, p, _)| p.label()),
        || {
            tr!(
                "no process of the sandbox runs as uid 65534 yet: start one in the background (`&`) with a tool that \
             changes ids before it executes a command: `setpriv` (see `setpriv --help`)"
            )
        },
    );
    if let (true, Some((_, proc, st))) = (found, &best) {
        let uids = triple(st.ruid, st.euid, st.suid);
        v.check("its real, effective and saved uid", uids == want, &want, &uids, || {
            tr!(
                "{} has uids {uids} (real, effective, saved): a process that changes only its effective uid can \
                 change it back; all three must be 65534 (`--reuid`, not `--euid`)",
                proc.label()
            )
        });
        let gids = triple(st.rgid, st.egid, st.sgid);
        v.check("its real, effective and saved gid", gids == want, &want, &gids, || {
            tr!("{} has gids {gids}: set the group ids too (`--regid`)", proc.label())
        });
        let groups = if st.groups.is_empty() {
            tr!("none")
        } else {
            st.groups.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
        };
        v.check("its supplementary groups (Groups:)", st.groups.is_empty(), tr!("none"), &groups, || {
            tr!(
                "{} still has supplementary groups {groups}, inherited from root: they give access too; clear them (`--clear-groups`)",
                proc.label()
            )
        });
    } else {
        v.not_checked(&[
            ("its real, effective and saved uid", "65534 65534 65534"),
            ("its real, effective and saved gid", "65534 65534 65534"),
            ("its supplementary groups (Groups:)", &tr!("none")),
        ]);
    }
    let shell = p.sandbox.shell.and_then(|s| p.status(s));
    let shell_uid = shell
        .as_ref()
        .map_or(tr!("unknown (the shell is gone)"), |s| s.euid.to_string());
    v.check(
        "the shell's uid",
        shell.as_ref().is_some_and(|s| s.euid == 0 && s.ruid == 0),
        "0",
        &shell_uid,
        || {
            tr!(
                "your shell itself is now uid {shell_uid}: only the long-running process should drop its privileges \
             (a process that gave up root cannot get it back; leave this shell with `exit` and start again)"
            )
        },
    );
    v
}
