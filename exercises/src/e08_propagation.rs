//! 08-propagation: a mount namespace that receives the sandbox's mounts but
//! sends none back (a slave). Checked in mountinfo (the optional fields of
//! the root mount: `master:N` naming the sandbox's `shared:N` peer group)
//! and by behaviour: a child enters the sandbox's mount namespace with
//! `setns` and mounts a tmpfs, which must appear in the process's table; a
//! child in the process's namespace mounts one, which must not appear in the
//! sandbox's. Both are unmounted afterwards.

use lab_kit::exercise::probe::Proc;
use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Verdict};
use lab_kit::mount::PeerGroups;
use lab_kit::tr;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::CloneFlags;
use procfs::process::MountOptFields;

use crate::{SLEEP, UNSHARE, labels, ns_file};

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "08-propagation",
    lab: "mount",
    needs: Needs::Sandbox,
    tools: &[UNSHARE, SLEEP],
    text: include_str!("../text/08-propagation.md"),
    text_ja: include_str!("../text/ja/08-propagation.md"),
    check,
};

const PROBE_DIR: &str = "/run/lab/probe";

/// In the mount namespace of `pid`: make `PROBE_DIR/name` and mount a tmpfs
/// on it (`mount = true`), or unmount it.
fn probe_mount(p: &Probe<'_>, pid: i32, name: &str, mount_it: bool) -> Result<(), String> {
    let target = format!("{PROBE_DIR}/{name}");
    p.inside(&[(ns_file(pid, "mnt"), CloneFlags::CLONE_NEWNS)], move || {
        if mount_it {
            std::fs::create_dir_all(&target)?;
            mount(
                Some("lab-probe"),
                target.as_str(),
                Some("tmpfs"),
                MsFlags::empty(),
                Some("size=4k"),
            )
            .map_err(|e| anyhow::anyhow!("mount(\"lab-probe\", {target:?}, \"tmpfs\") failed: {e}"))?;
        } else {
            let _ = umount2(target.as_str(), MntFlags::MNT_DETACH);
        }
        Ok(())
    })
}

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let init = p.sandbox.init;
    let others = p.in_other_ns("mnt");
    let mut groups = PeerGroups::default();
    let home_root = p.mount_at(init, "/");
    let home_group = home_root.as_ref().and_then(|m| {
        m.opt_fields.iter().find_map(|f| match f {
            MountOptFields::Shared(id) => Some(*id),
            _ => None,
        })
    });
    let home_shown = home_root
        .as_ref()
        .map_or("?".to_string(), |m| groups.describe(&m.opt_fields));
    let slave_of_home = |p: &Probe<'_>, pr: &Proc| {
        p.mount_at(pr.pid, "/").is_some_and(|m| {
            m.opt_fields
                .iter()
                .any(|f| matches!(f, MountOptFields::Master(id) if Some(*id) == home_group))
        })
    };
    let best = others
        .iter()
        .find(|pr| slave_of_home(p, pr))
        .or_else(|| others.first())
        .cloned();
    let found = v.check(
        "a live process in a mount namespace other than the sandbox's",
        best.is_some(),
        tr!("at least one"),
        labels(&others),
        || {
            tr!(
                "no process is in a mount namespace of its own yet: `unshare --mount` runs a command in a copy of the \
                 sandbox's mount table; keep it running"
            )
        },
    );
    let Some(proc) = best.filter(|_| found) else {
        v.not_checked(&[
            (
                "its root mount receives from the sandbox's (mountinfo master:)",
                "master:A",
            ),
            ("a mount made afterwards in the sandbox appears in it", &tr!("appears")),
            (
                "a mount made in it does not appear in the sandbox",
                &tr!("does not appear"),
            ),
        ]);
        return v;
    };
    let root = p.mount_at(proc.pid, "/");
    let shown = root
        .as_ref()
        .map_or(tr!("no root mount"), |m| groups.describe(&m.opt_fields));
    let expected = tr!(
        "master:{} (the sandbox's / is {home_shown})",
        home_group.map_or("?".into(), |g| groups.name(g))
    );
    v.check(
        "its root mount receives from the sandbox's (mountinfo master:)",
        slave_of_home(p, &proc),
        &expected,
        &shown,
        || {
            if shown.starts_with("shared:") && !shown.contains("master:") {
                tr!(
                    "{}'s mounts are still peers of the sandbox's ({shown}): mounts go both ways; a slave receives but does not send",
                    proc.label()
                )
            } else {
                tr!(
                    "{}'s root mount is {shown}: nothing propagates to it (`unshare --mount` makes mounts private unless \
                     `--propagation` says otherwise)",
                    proc.label()
                )
            }
        },
    );
    // Behaviour: one mount each way, undone afterwards.
    let down = probe_mount(p, init, "from-sandbox", true).map(|()| {
        let seen = p.mount_at(proc.pid, &format!("{PROBE_DIR}/from-sandbox")).is_some();
        let _ = probe_mount(p, init, "from-sandbox", false);
        seen
    });
    let actual = match &down {
        Ok(true) => tr!("appears"),
        Ok(false) => tr!("does not appear"),
        Err(e) => e.clone(),
    };
    v.check(
        "a mount made afterwards in the sandbox appears in it",
        down == Ok(true),
        tr!("appears"),
        &actual,
        || {
            tr!(
                "a tmpfs mounted in the sandbox at {PROBE_DIR}/from-sandbox {actual} in {}'s namespace",
                proc.label()
            )
        },
    );
    let up = probe_mount(p, proc.pid, "from-process", true).map(|()| {
        let seen = p.mount_at(init, &format!("{PROBE_DIR}/from-process")).is_some();
        let _ = probe_mount(p, proc.pid, "from-process", false);
        seen
    });
    let actual = match &up {
        Ok(true) => tr!("appears"),
        Ok(false) => tr!("does not appear"),
        Err(e) => e.clone(),
    };
    v.check(
        "a mount made in it does not appear in the sandbox",
        up == Ok(false),
        tr!("does not appear"),
        &actual,
        || {
            tr!(
                "a tmpfs mounted in {}'s namespace {actual} in the sandbox: its mounts propagate back (a shared peer); \
                 make it a slave",
                proc.label()
            )
        },
    );
    v
}
