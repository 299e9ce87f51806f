//! 02-bind: `/tmp/xroot/bin` shows `/usr/bin` without a copy. Checked in the
//! sandbox's `/proc/PID/mountinfo` (a mount at that path) and by `stat`: the
//! mount's root directory is `/usr/bin` itself (same device and inode).

use std::path::Path;

use lab_kit::exercise::{ExerciseDecl, Needs, Probe, Verdict};
use lab_kit::tr;

use crate::MOUNT;

/// The exercise.
pub static EXERCISE: ExerciseDecl = ExerciseDecl {
    id: "02-bind",
    lab: "bind-mount",
    needs: Needs::Sandbox,
    tools: &[MOUNT],
    text: include_str!("../text/02-bind.md"),
    text_ja: include_str!("../text/ja/02-bind.md"),
    check,
};

const TARGET: &str = "/tmp/xroot/bin";

fn check(p: &mut Probe<'_>) -> Verdict {
    let mut v = Verdict::default();
    let init = p.sandbox.init;
    let mount = p.mount_at(init, TARGET);
    let path = p.path_in_sandbox(TARGET);
    let meta = std::fs::symlink_metadata(&path);
    let missing = meta.is_err();
    let symlink = meta.as_ref().is_ok_and(|m| m.file_type().is_symlink());
    let what = match &meta {
        Err(_) => tr!("no such directory"),
        Ok(_) if symlink => tr!("a symbolic link, not a mount"),
        Ok(m) if m.is_dir() => tr!("a directory, nothing mounted on it"),
        Ok(_) => tr!("a file, nothing mounted on it"),
    };
    let actual = match &mount {
        Some(m) => tr!("mounted ({})", m.fs_type),
        None => what,
    };
    let mounted = v.check(
        format!("a mount at {TARGET} (the sandbox's mountinfo)"),
        mount.is_some(),
        tr!("mounted"),
        &actual,
        || {
            if missing {
                tr!("{TARGET} does not exist yet: a mount needs a directory to mount on (`mkdir -p {TARGET}`)")
            } else if symlink {
                tr!(
                    "{TARGET} is a symbolic link: it points at /usr/bin, but the task is a second place for the same \
                     directory in the mount table; remove it, make a directory and mount on it"
                )
            } else {
                tr!(
                    "{TARGET} exists but nothing is mounted on it: `mount --bind SOURCE TARGET` puts a directory at a second place"
                )
            }
        },
    );
    let want = Probe::identity(Path::new("/usr/bin"));
    match (mounted, &mount) {
        (true, Some(m)) => {
            let shows = Probe::identity(&path);
            let same = shows.is_some() && shows == want;
            let actual = if same {
                "/usr/bin".to_string()
            } else {
                tr!("{root} of a {fs} filesystem", root = m.root, fs = m.fs_type)
            };
            v.check(
                "what it shows is /usr/bin itself (same device and inode)",
                same,
                "/usr/bin",
                &actual,
                || {
                    tr!(
                        "something is mounted at {TARGET}, but it is {actual}, not /usr/bin: unmount it (`umount {TARGET}`) \
                         and bind /usr/bin"
                    )
                },
            );
        }
        _ => v.not_checked(&[("what it shows is /usr/bin itself (same device and inode)", "/usr/bin")]),
    }
    v
}
