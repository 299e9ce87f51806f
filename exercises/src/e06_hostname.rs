//! 06-hostname: a long-running process with a hostname of its own, while
//! the shell keeps the sandbox's. Checked from `/proc/PID/ns/uts` (which
//! processes are in a UTS namespace other than the sandbox's) and, in a
//! child that entered each namespace with `setns`, `uname`.

use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, Verdict};
use lab_kit::tr;

use crate::{SLEEP, UNSHARE, hostname_of, labels};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "06-hostname",
    lab: "uts",
    needs: Needs::Sandbox,
    tools: &[
        UNSHARE,
        Tool {
            command: "hostname",
            package: "hostname",
        },
        SLEEP,
    ],
    text: include_str!("../text/06-hostname.md"),
    text_ja: include_str!("../text/ja/06-hostname.md"),
    check,
};

const WANT: &str = "myhost";

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let home = p.sandbox.hostname.clone();
    let shell_name = hostname_of(p, p.sandbox.init);
    let others = p.in_other_ns("uts");
    let named: Vec<(lab_kit::exercise::probe::Proc, Result<String, String>)> =
        others.iter().map(|o| (o.clone(), hostname_of(p, o.pid))).collect();
    let best = named
        .iter()
        .find(|(_, h)| h.as_deref() == Ok(WANT))
        .or_else(|| named.first());
    let changed_home = shell_name.as_deref().is_ok_and(|h| h != home);
    let found = v.check(
        "a live process in a UTS namespace other than the shell's",
        best.is_some(),
        tr!("at least one"),
        labels(&others),
        || {
            if changed_home {
                tr!(
                    "you changed the hostname of the sandbox itself (it is now {:?}); the task wants it in a new UTS namespace, \
                     while the shell keeps {home:?}: set it back with `hostname {home}`, then start a process in a UTS namespace of its own",
                    shell_name.clone().unwrap_or_default()
                )
            } else {
                tr!(
                    "no process is in a UTS namespace of its own yet: `unshare --uts` runs a command in a new one; \
                     keep it running (a long `sleep`, in the background with `&`)"
                )
            }
        },
    );
    if !found {
        v.not_checked(&[("its hostname", WANT)]);
    } else if let Some((proc, name)) = best {
        let actual = name.clone().unwrap_or_else(|e| e);
        v.check("its hostname", name.as_deref() == Ok(WANT), WANT, &actual, || {
            tr!(
                "you created a UTS namespace ({} is in it) but its hostname is still {actual:?}, the one it copied from the sandbox: \
                 set it from inside that namespace (a shell started by unshare can run `hostname {WANT}` before the long-running command)",
                proc.label()
            )
        });
    }
    let shown = shell_name.clone().unwrap_or_else(|e| e);
    v.check(
        "the shell's hostname",
        shell_name.as_deref() == Ok(home.as_str()),
        tr!("{home} (unchanged)"),
        &shown,
        || tr!("the sandbox's own hostname changed to {shown:?}: set it back with `hostname {home}`"),
    );
    v
}
