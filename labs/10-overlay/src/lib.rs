//! Lab 10: overlayfs. Read-only lower directories and a writable upper
//! directory (with its work directory) mounted as one tree: how a container's
//! root is made of image layers. Seen in `/proc/self/mountinfo` (the layers
//! in the mount's options), in the upper directory (copied-up files,
//! whiteouts, the `*.overlay.opaque` xattr) and in `stat` (the merged tree's
//! own device).
//!
//! Everything happens on the scratch tmpfs of the lab's private mount
//! namespace: nothing reaches the host.

use std::os::fd::AsFd;

use lab_kit::lab::CannotRun;
use lab_kit::mount::{self, file_id};
use lab_kit::overlay::{self, Entry, Layers};
use lab_kit::prelude::*;
use nix::fcntl::OFlag;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "10",
    slug: "overlay",
    title: "overlayfs: image layers and a writable layer as one tree",
    mechanisms: &[Mechanism::Overlayfs],
    requires: &[Requirement::Namespace("mnt")],
    rootless: Rootless::EnterUserns,
    steps: &[SETUP, MOUNT, READ, COPY_UP, WHITEOUT, OPAQUE, COMMIT, ORDER],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const SETUP: StepDecl = StepDecl {
    title: "A private mount namespace, overlay in /proc/filesystems, and the layers",
    why: "The layers are plain directories on the scratch tmpfs of the lab's own mount namespace. overlay is a filesystem type like tmpfs: /proc/filesystems lists it once its module is loaded.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const MOUNT: StepDecl = StepDecl {
    title: "Lower, upper and work directory mounted as one tree",
    why: "mount(\"overlay\") takes the layers as options: lowerdir (read-only), upperdir (where changes go) and workdir (an empty directory on the upper's filesystem). The merged tree is a filesystem of its own, with its own st_dev, and mountinfo names its layers.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const READ: StepDecl = StepDecl {
    title: "Reading a lower file reads the lower's",
    why: "A name is looked up in the upper first, then in the lowers. Opening for reading uses the file where it is found: nothing is copied.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const COPY_UP: StepDecl = StepDecl {
    title: "Opening a lower file for writing copies it up",
    why: "A lower layer is never written. Before a lower file is opened for writing, overlay copies it whole into the upper, and from then on the merged tree shows the copy.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const WHITEOUT: StepDecl = StepDecl {
    title: "Deleting a lower file leaves a whiteout in the upper",
    why: "The lower cannot lose the file, so overlay marks the name deleted in the upper: a character device 0/0, a whiteout, which hides the lower's file.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const OPAQUE: StepDecl = StepDecl {
    title: "A directory removed and made again is opaque",
    why: "A new directory in place of a lower one must not show the lower's entries: overlay sets the xattr overlay.opaque=y on it in the upper (trusted.* as root, user.* with userxattr), and the lookup stops there.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const COMMIT: StepDecl = StepDecl {
    title: "The stopped container's upper, stacked on the lower, is a new image",
    why: "An image is a stack of read-only layers, lowerdir=TOP:...:BOTTOM. A container's upper put on top of its lower is one more layer (docker commit): its copies, whiteouts and opaque directories still decide what shows, and a new container gets a fresh upper on a tmpfs.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const ORDER: StepDecl = StepDecl {
    title: "The leftmost layer is on top: the other order is another tree",
    why: "overlay looks a name up from the leftmost lower layer to the rightmost and stops at the first it finds, or at a whiteout or an opaque directory. Swapped, the same two layers give the old files back.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};

const LOWER: &str = "/tmp/lower";
const UPPER: &str = "/tmp/upper";
const WORK: &str = "/tmp/work";
const MERGED: &str = "/tmp/merged";
const IMAGE: &str = "/tmp/image";
const SWAPPED: &str = "/tmp/swapped";
const HELLO: &str = "from the lower layer";
const CHANGE: &str = "; changed in the container";

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let rootless = lab.mode() == Mode::Rootless;
    // Root keeps overlay's xattrs in trusted.overlay.*; a user namespace may
    // write only user.overlay.*, which the userxattr option selects.
    let layers = Layers::new([LOWER]).upper(UPPER, WORK).userxattr(rootless);

    lab.step(&SETUP, |s| {
        ops::private_mount_ns(s)?;
        ops::scratch(s)?;
        let listed = overlay::in_proc_filesystems()?;
        s.observe("overlay in /proc/filesystems", yes(listed));
        if !listed {
            return Err(CannotRun::unsupported(overlay::not_in_proc_filesystems()).into());
        }
        for dir in [LOWER, "/tmp/lower/dir", UPPER, WORK, MERGED, "/tmp/rw", IMAGE, SWAPPED] {
            s.run(op::Mkdir::new(dir))?;
        }
        put(s, "/tmp/lower/hello.txt", HELLO)?;
        put(s, "/tmp/lower/gone.txt", "deleted in the container")?;
        put(s, "/tmp/lower/dir/old.txt", "in the lower's dir")?;
        put(s, "/tmp/upper/notes.txt", "already in the upper")?;
        Ok(())
    })?;

    // ANCHOR: mount
    lab.step(&MOUNT, |s| {
        mount_overlay(s, &layers, MERGED)?;
        let entries = mount::list_dir(MERGED)?.join(" ");
        s.observe("entries in /tmp/merged", &entries);
        s.check_eq(
            "the lower's and the upper's entries are one tree",
            "dir gone.txt hello.txt notes.txt",
            entries.as_str(),
        );
        let opts = overlay::options_at(Who::This, MERGED)?.context("no overlay at /tmp/merged in mountinfo")?;
        s.observe("layers of /tmp/merged in /proc/self/mountinfo", &opts);
        s.check_eq("mountinfo names the lowerdir", LOWER, opts.lowerdir.join(":").as_str());
        s.check_eq("the upperdir", UPPER, opts.upperdir.as_deref().unwrap_or("none"));
        s.check_eq("the workdir", WORK, opts.workdir.as_deref().unwrap_or("none"));
        s.check_eq("userxattr, as asked", yes(layers.userxattr), yes(opts.userxattr));
        let dev = |p: &str| file_id(p).map(|(dev, _)| dev);
        let merged = dev(MERGED)?;
        let own = merged != dev(LOWER)? && merged != dev(UPPER)?;
        s.check_eq("st_dev of /tmp/merged differs from the layers'", "yes", yes(own));
        let file = dev("/tmp/merged/hello.txt")? == merged && dev("/tmp/lower/hello.txt")? != merged;
        s.check_eq("a lower file in it has the merged tree's st_dev", "yes", yes(file));
        Ok(())
    })?;
    // ANCHOR_END: mount

    // ANCHOR: read
    lab.step(&READ, |s| {
        let fd = s.run(op::Open::read("/tmp/merged/hello.txt"))?;
        let text = std::io::read_to_string(std::fs::File::from(fd)).context("reading /tmp/merged/hello.txt")?;
        s.observe("read through /tmp/merged/hello.txt", &text);
        s.check_eq("it is the lower's content", HELLO, text.as_str());
        let upper = Entry::of("/tmp/upper/hello.txt")?;
        s.observe("/tmp/upper/hello.txt", upper.as_str());
        s.check_eq("reading copied nothing into the upper", "missing", upper.as_str());
        Ok(())
    })?;
    // ANCHOR_END: read

    // ANCHOR: copy_up
    lab.step(&COPY_UP, |s| {
        let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CLOEXEC;
        let fd = s.run(op::Open::new("/tmp/merged/hello.txt", flags))?;
        let copied = Entry::of("/tmp/upper/hello.txt")?;
        s.observe("/tmp/upper/hello.txt after open, before any write", copied.as_str());
        s.check_eq("open for writing copied the file up", "file", copied.as_str());
        s.run(op::Write {
            fd: fd.as_fd(),
            text: CHANGE,
        })?;
        drop(fd);
        let [lower, upper, merged] = ["/tmp/lower/hello.txt", "/tmp/upper/hello.txt", "/tmp/merged/hello.txt"]
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {p}")));
        let (lower, upper, merged) = (lower?, upper?, merged?);
        s.observe("/tmp/lower/hello.txt", &lower);
        s.observe("/tmp/upper/hello.txt", &upper);
        s.check_eq("the lower's file is unchanged", HELLO, lower.as_str());
        s.check_eq(
            "the upper's copy holds it and the change",
            &format!("{HELLO}{CHANGE}"),
            &upper,
        );
        s.check_eq("the merged tree shows the upper's copy", &upper, &merged);
        Ok(())
    })?;
    // ANCHOR_END: copy_up

    // ANCHOR: whiteout
    lab.step(&WHITEOUT, |s| {
        s.run(op::Unlink::new("/tmp/merged/gone.txt"))?;
        let listed = mount::list_dir(MERGED)?.contains(&"gone.txt".to_string());
        s.check_eq("/tmp/merged lists gone.txt", "no", yes(listed));
        let lower = Entry::of("/tmp/lower/gone.txt")?;
        let mark = Entry::of("/tmp/upper/gone.txt")?;
        s.observe("/tmp/lower/gone.txt", lower.as_str());
        s.observe("/tmp/upper/gone.txt", mark.as_str());
        s.check_eq("the lower still has it", "file", lower.as_str());
        s.check_eq(
            "the upper has a whiteout in its place",
            Entry::Whiteout.as_str(),
            mark.as_str(),
        );
        Ok(())
    })?;
    // ANCHOR_END: whiteout

    // ANCHOR: opaque
    lab.step(&OPAQUE, |s| {
        s.run(op::Unlink::new("/tmp/merged/dir/old.txt"))?;
        match s.run(op::Rmdir::new("/tmp/merged/dir")) {
            Err(Errno::EIO) if rootless => {
                return Err(CannotRun::unsupported(overlay::no_user_xattrs_in_upper()).into());
            }
            res => res?,
        }
        s.run(op::Mkdir::new("/tmp/merged/dir"))?;
        put(s, "/tmp/merged/dir/new.txt", "in the new dir")?;
        let value = s.run(op::Lgetxattr::new("/tmp/upper/dir", &layers.xattr("opaque")))?;
        let value = String::from_utf8_lossy(&value);
        s.observe("overlay.opaque of /tmp/upper/dir", &value);
        s.check_eq("the upper's new directory is opaque", "y", &value);
        let [merged, lower] = ["/tmp/merged/dir", "/tmp/lower/dir"].map(mount::list_dir);
        let (merged, lower) = (merged?.join(" "), lower?.join(" "));
        s.observe("entries in /tmp/merged/dir", &merged);
        s.check_eq(
            "the merged directory hides the lower's entries",
            "new.txt",
            merged.as_str(),
        );
        s.check_eq("which the lower still has", "old.txt", lower.as_str());
        Ok(())
    })?;
    // ANCHOR_END: opaque

    // ANCHOR: commit
    lab.step(&COMMIT, |s| {
        s.run(op::Umount2::new(MERGED))?;
        let image = overlay::mount_root(s, &[UPPER, LOWER], "/tmp/rw", IMAGE, rootless)?;
        let opts = overlay::options_at(Who::This, IMAGE)?.context("no overlay at /tmp/image in mountinfo")?;
        s.observe("lowerdir of /tmp/image in /proc/self/mountinfo", &opts.lowerdir);
        s.check_eq(
            "the layers, top first",
            "/tmp/upper:/tmp/lower",
            opts.lowerdir.join(":").as_str(),
        );
        let [entries, hello, dir] = look(s, IMAGE)?;
        s.check_eq(
            "the whiteout hides gone.txt",
            "dir hello.txt notes.txt",
            entries.as_str(),
        );
        s.check_eq("hello.txt is the upper's copy", &format!("{HELLO}{CHANGE}"), &hello);
        s.check_eq("the opaque dir hides the lower's old.txt", "new.txt", dir.as_str());
        put(s, "/tmp/image/next.txt", "written by the next container")?;
        let (fresh, _) = image.upper.context("mount_root makes an upper")?;
        let [fresh, old] = [fresh.as_path(), UPPER.as_ref()].map(|d| Entry::of(d.join("next.txt")));
        s.check_eq(
            "its write lands in the fresh upper on the tmpfs",
            "file",
            fresh?.as_str(),
        );
        s.check_eq("not in the image's layers", "missing", old?.as_str());
        Ok(())
    })?;
    // ANCHOR_END: commit

    // ANCHOR: order
    lab.step(&ORDER, |s| {
        let swapped = Layers::new([LOWER, UPPER]).userxattr(rootless);
        mount_overlay(s, &swapped, SWAPPED)?;
        let [entries, hello, dir] = look(s, SWAPPED)?;
        s.check_eq(
            "gone.txt is back: its whiteout is below it",
            "dir gone.txt hello.txt notes.txt",
            entries.as_str(),
        );
        s.check_eq("hello.txt is the lower's", HELLO, hello.as_str());
        s.check_eq(
            "dir shows both: the opaque one is below",
            "new.txt old.txt",
            dir.as_str(),
        );
        let res = s.run(op::Open::create(
            "/tmp/swapped/x",
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            0o644,
        ));
        s.check_errno("without an upper the tree is read-only", Errno::EROFS, &res);
        Ok(())
    })?;
    // ANCHOR_END: order
    Ok(())
}

/// Observe what a merged tree shows of the names the container changed:
/// its entries, the content of hello.txt, the entries of dir.
fn look(s: &mut impl Narrate, root: &str) -> anyhow::Result<[String; 3]> {
    let seen = [
        mount::list_dir(root)?.join(" "),
        std::fs::read_to_string(format!("{root}/hello.txt")).with_context(|| format!("reading {root}/hello.txt"))?,
        mount::list_dir(&format!("{root}/dir"))?.join(" "),
    ];
    for (what, value) in ["entries in", "hello.txt in", "entries of dir in"].iter().zip(&seen) {
        s.observe(format!("{what} {root}"), value);
    }
    Ok(seen)
}

/// Mount an overlay, or say why this system cannot.
fn mount_overlay(s: &mut Step<'_>, layers: &Layers, target: &str) -> anyhow::Result<()> {
    let rootless = s.mode() == Mode::Rootless;
    match s.run(layers.mount(target)?) {
        Ok(()) => Ok(()),
        Err(errno) => match overlay::refusal(errno, rootless) {
            Some(why) => Err(CannotRun::unsupported(why).into()),
            None => Err(anyhow::Error::from(errno).context(format!("mounting overlay at {target}"))),
        },
    }
}

/// A new file with its content: `open(O_CREAT|O_EXCL)` and one `write`.
fn put(s: &mut impl Narrate, path: &str, text: &str) -> anyhow::Result<()> {
    let flags = OFlag::O_WRONLY | OFlag::O_EXCL | OFlag::O_CLOEXEC;
    let fd = s.run(op::Open::create(path, flags, 0o644))?;
    s.run(op::Write { fd: fd.as_fd(), text })?;
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
