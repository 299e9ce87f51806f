//! 03-chroot-seed: a live process whose root directory is `/tmp/xroot`,
//! with `/proc` mounted inside and `bin` bound from the host. Checked by
//! `stat` of `/proc/PID/root` (the same directory as the sandbox's
//! `/tmp/xroot`) and the process's own `/proc/PID/mountinfo`, whose mount
//! points read from its root.

use std::path::Path;

use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Tool, Verdict};
use lab_kit::tr;

use crate::{MOUNT, SLEEP};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "03-chroot-seed",
    lab: "chroot",
    needs: Needs::Sandbox,
    tools: &[
        MOUNT,
        Tool {
            command: "chroot",
            package: "coreutils",
        },
        SLEEP,
    ],
    text: include_str!("../text/03-chroot-seed.md"),
    text_ja: include_str!("../text/ja/03-chroot-seed.md"),
    check,
};

const XROOT: &str = "/tmp/xroot";

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let xroot = Probe::identity(&p.path_in_sandbox(XROOT));
    let host_bin = [
        Probe::identity(Path::new("/usr/bin")),
        Probe::identity(Path::new("/bin")),
    ];
    let rooted: Vec<Proc> = p
        .processes()
        .iter()
        .filter(|pr| {
            let root = Probe::identity(Path::new(&format!("/proc/{}/root", pr.pid)));
            xroot.is_some() && root == xroot
        })
        .cloned()
        .collect();
    // The one that has most of it: /proc inside, then bin.
    let has_proc = |p: &Probe<'_>, pr: &Proc| p.mount_at(pr.pid, "/proc").is_some_and(|m| m.fs_type == "proc");
    let best = rooted
        .iter()
        .find(|pr| has_proc(p, pr))
        .or_else(|| rooted.first())
        .cloned();
    let found = v.check(
        format!("a live process whose root is {XROOT}"),
        best.is_some(),
        tr!("at least one"),
        best.as_ref().map_or(tr!("none"), Proc::label),
        || {
            if xroot.is_none() {
                tr!("{XROOT} does not exist yet: make it, then put in it what a program needs to run (`bin`, `lib`, `lib64`, bound from the host)")
            } else {
                tr!(
                    "no process runs with {XROOT} as its root yet: `chroot DIR CMD` runs CMD there, which needs the command and \
                     its libraries inside (bind them from the host: `ldd /bin/sleep` lists them); leave it running (`&`)"
                )
            }
        },
    );
    let Some(proc) = best.filter(|_| found) else {
        v.not_checked(&[
            ("/proc inside it is a procfs mount", "proc"),
            (
                "its /bin is a bind mount of the host's binaries",
                &tr!("the host's /usr/bin"),
            ),
        ]);
        return v;
    };
    let procfs = p.mount_at(proc.pid, "/proc");
    let actual = procfs
        .as_ref()
        .map_or(tr!("not mounted"), |m| tr!("a {} mount", m.fs_type));
    v.check(
        "/proc inside it is a procfs mount",
        procfs.as_ref().is_some_and(|m| m.fs_type == "proc"),
        "proc",
        &actual,
        || {
            tr!(
                "{} runs in {XROOT}, but its /proc is {actual}: `ps` and anything that reads /proc fail there; mount a procfs \
                 at {XROOT}/proc (`mount -t proc proc DIR`), from outside or from inside the chroot",
                proc.label()
            )
        },
    );
    let bin = p.mount_at(proc.pid, "/bin");
    let shows = Probe::identity(&p.path_of(proc.pid, "/bin"));
    let same = shows.is_some() && host_bin.contains(&shows);
    let actual = match (&bin, same) {
        (Some(_), true) => tr!("the host's /usr/bin"),
        (Some(m), false) => tr!("a mount of {} ({})", m.root, m.fs_type),
        (None, _) => tr!("not a mount"),
    };
    v.check(
        "its /bin is a bind mount of the host's binaries",
        bin.is_some() && same,
        tr!("the host's /usr/bin"),
        &actual,
        || tr!("{XROOT}/bin is {actual}: bind the host's binaries there (`mount --bind /usr/bin {XROOT}/bin`)"),
    );
    v
}
