//! 11-map-root: without privilege, a process that is uid 0 in a new user
//! namespace and the shell's uid outside. Checked from `/proc/PID/ns/user`,
//! `/proc/PID/uid_map` and the process's `Uid:`, read by a child in the
//! sandbox's own user namespace: `uid_map` and `status` show ids as the
//! reader's namespace numbers them, so the numbers are the ones the
//! student's shell sees.

use lab_kit::exercise::probe::{first_map_line, map_lines};
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Verdict};
use lab_kit::tr;

use crate::{SLEEP, UNSHARE, labels};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "11-map-root",
    lab: "user",
    needs: Needs::Sandbox,
    tools: &[UNSHARE, SLEEP],
    text: include_str!("../text/11-map-root.md"),
    text_ja: include_str!("../text/ja/11-map-root.md"),
    check,
};

/// `uid_map` as `inside outside count` (or `empty`), and `Uid:`'s real uid.
type Seen = (String, Option<u32>);

fn seen_from_sandbox(p: &Probe<'_>, pids: Vec<i32>) -> Result<Vec<Seen>, String> {
    p.inside(&[], move || {
        Ok(pids
            .into_iter()
            .map(|pid| {
                let map = match (first_map_line(pid, "uid_map"), map_lines(pid, "uid_map")) {
                    (Some((a, b, c)), 1) => format!("{a} {b} {c}"),
                    (Some((a, b, c)), n) => tr!("{a} {b} {c} (and {} more lines)", n - 1),
                    (None, _) => tr!("empty"),
                };
                let uid = lab_kit::proc::status(lab_kit::proc::Who::Pid(pid)).ok().map(|s| s.ruid);
                (map, uid)
            })
            .collect())
    })
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let shell = p.sandbox.shell.unwrap_or(p.sandbox.init);
    let others = p.in_other_ns("user");
    let mut pids = vec![shell];
    pids.extend(others.iter().map(|o| o.pid));
    let seen = seen_from_sandbox(p, pids).unwrap_or_default();
    let uid = seen.first().and_then(|(_, u)| *u);
    let uid_text = uid.map_or(tr!("unknown"), |u| u.to_string());
    let want = format!("0 {uid_text} 1");
    let rows: Vec<_> = others.iter().cloned().zip(seen.iter().skip(1).cloned()).collect();
    let best = rows
        .iter()
        .find(|(_, (map, _))| *map == want)
        .or_else(|| rows.first())
        .cloned();
    let found = v.check(
        "a live process in a user namespace other than the shell's",
        best.is_some(),
        tr!("at least one"),
        labels(&others),
        || {
            tr!(
                "no process is in a user namespace of its own yet: `unshare --user` runs a command in a new one, no privilege needed"
            )
        },
    );
    let Some((proc, (map, outside))) = best.filter(|_| found) else {
        v.not_checked(&[
            ("its uid_map maps uid 0 to the shell's uid, one id", &want),
            ("outside it runs as the shell's uid", &uid_text),
        ]);
        return v;
    };
    v.check(
        "its uid_map maps uid 0 to the shell's uid, one id",
        map == want,
        &want,
        &map,
        || {
            if map == "empty" {
                tr!(
                    "{} is in a new user namespace that maps no uid yet (inside it runs as the overflow uid 65534): write one \
                     line to its uid_map (`--map-root-user` does it for you)",
                    proc.label()
                )
            } else {
                tr!("{}'s uid_map is {map:?}: map uid 0 inside to {uid_text} outside, one id", proc.label())
            }
        },
    );
    let outside_text = outside.map_or(tr!("unknown"), |u| u.to_string());
    v.check(
        "outside it runs as the shell's uid",
        outside.is_some() && outside == uid,
        &uid_text,
        &outside_text,
        || {
            tr!(
                "{} runs as uid {outside_text} as the shell sees it; it must keep the shell's uid",
                proc.label()
            )
        },
    );
    v
}
