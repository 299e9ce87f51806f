//! Lab 02: bind mounts. `mount --bind DIR MOUNTPOINT` makes one directory
//! tree visible at a second place. Seen in `/proc/self/mountinfo` (the
//! mount's root inside its filesystem and its mount point) and in `stat`
//! (the same device and inode through both paths).

use lab_kit::mount::{self, file_id};
use lab_kit::prelude::*;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "02",
    slug: "bind-mount",
    title: "Bind mount: one tree at two places",
    mechanisms: &[Mechanism::BindMount],
    requires: &[Requirement::Namespace("mnt")],
    rootless: Rootless::EnterUserns,
    steps: &[SETUP, BIND, SUBMOUNTS, READONLY, UNMOUNT],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const SETUP: StepDecl = StepDecl {
    title: "A private mount namespace and two directories",
    why: "Everything mounted from here on is in the lab's own mount namespace, on a scratch tmpfs: the host's mount table never sees it.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const BIND: StepDecl = StepDecl {
    title: "Bind /tmp/a onto /tmp/b",
    why: "A bind mount attaches an existing directory (not a device) at a mount point. When a path walk reaches the mount point, the kernel finds the mount in the mount table and continues in the mounted tree.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const SUBMOUNTS: StepDecl = StepDecl {
    title: "A plain bind leaves submounts behind; MS_REC takes them",
    why: "A bind mount copies one mount. Mounts below the source directory are separate entries in the mount table; only MS_REC copies them too.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const READONLY: StepDecl = StepDecl {
    title: "A read-only view of a writable tree",
    why: "Read-only is a property of the mount, not of the files: remounting the bind with MS_RDONLY refuses writes through it (EROFS) while the original path stays writable.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const UNMOUNT: StepDecl = StepDecl {
    title: "Unmounting restores the original view",
    why: "umount removes the entry from the mount table; the mount point is an ordinary empty directory again.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let empty_b = lab.step(&SETUP, |s| {
        ops::private_mount_ns(s)?;
        ops::scratch(s)?;
        for dir in ["/tmp/a", "/tmp/a/sub", "/tmp/b", "/tmp/plain", "/tmp/rec", "/tmp/ro"] {
            s.run(op::Mkdir::new(dir))?;
        }
        s.observe("entries in /tmp/b", mount::list_dir("/tmp/b")?);
        Ok(file_id("/tmp/b")?)
    })?;

    // ANCHOR: bind
    lab.step(&BIND, |s| {
        mount::bind(s, "/tmp/a", "/tmp/b", false)?;
        ops::create_file(s, "/tmp/a/hello", "written through /tmp/a")?;
        let text = std::fs::read_to_string("/tmp/b/hello").context("reading /tmp/b/hello")?;
        s.observe("read through /tmp/b/hello", &text);
        s.check_eq(
            "the file written through /tmp/a is read through /tmp/b",
            "written through /tmp/a",
            text.as_str(),
        );
        let same = file_id("/tmp/a/hello")? == file_id("/tmp/b/hello")?;
        s.check_eq(
            "/tmp/a/hello and /tmp/b/hello are one inode",
            "same",
            if same { "same" } else { "different" },
        );
        let now_b = file_id("/tmp/b")?;
        s.check_eq(
            "/tmp/b now resolves to /tmp/a's inode",
            "yes",
            yes(now_b == file_id("/tmp/a")?),
        );
        s.check_eq("not to the directory under it", "yes", yes(now_b != empty_b));
        let entry = mount::mount_at(Who::This, "/tmp/b")?.context("/tmp/b is not in /proc/self/mountinfo")?;
        s.observe(
            "mountinfo line of /tmp/b (root, mount point, type)",
            (&entry.root, &entry.mount_point, &entry.fstype),
        );
        s.check_eq("its root is /a inside the scratch tmpfs", "/a", entry.root.as_str());
        Ok(())
    })?;
    // ANCHOR_END: bind

    // ANCHOR: submounts
    lab.step(&SUBMOUNTS, |s| {
        ops::mount_tmpfs(s, "/tmp/a/sub")?;
        ops::create_file(s, "/tmp/a/sub/inner", "on the submount")?;
        mount::bind(s, "/tmp/a", "/tmp/plain", false)?;
        mount::bind(s, "/tmp/a", "/tmp/rec", true)?;
        let plain = mount::list_dir("/tmp/plain/sub")?;
        let rec = mount::list_dir("/tmp/rec/sub")?;
        s.observe("entries in /tmp/plain/sub", &plain);
        s.observe("entries in /tmp/rec/sub", &rec);
        s.check_eq(
            "MS_BIND shows the empty directory under the submount",
            "",
            plain.join(" ").as_str(),
        );
        s.check_eq("MS_BIND|MS_REC carries the submount", "inner", rec.join(" ").as_str());
        let copied = mount::mount_at(Who::This, "/tmp/rec/sub")?.is_some();
        s.check_eq("mountinfo lists /tmp/rec/sub", "yes", yes(copied));
        let not = mount::mount_at(Who::This, "/tmp/plain/sub")?.is_some();
        s.check_eq("mountinfo lists /tmp/plain/sub", "no", yes(not));
        Ok(())
    })?;
    // ANCHOR_END: submounts

    // ANCHOR: readonly
    lab.step(&READONLY, |s| {
        mount::bind(s, "/tmp/a", "/tmp/ro", false)?;
        mount::remount_readonly(s, "/tmp/ro")?;
        let through_ro = ops::create_file(s, "/tmp/ro/new", "");
        s.check_errno("writing through the read-only bind", Errno::EROFS, &through_ro);
        let through_a = ops::create_file(s, "/tmp/a/new", "");
        s.check_ok("writing through the original path", &through_a);
        let shows = mount::list_dir("/tmp/ro")?.contains(&"new".to_string());
        s.check_eq("the read-only view shows the new file", "yes", yes(shows));
        let entry = mount::mount_at(Who::This, "/tmp/ro")?.context("/tmp/ro is not in mountinfo")?;
        s.observe("mountinfo options of /tmp/ro", &entry.access);
        s.check_eq("mountinfo marks /tmp/ro read-only", "ro", entry.access.as_str());
        Ok(())
    })?;
    // ANCHOR_END: readonly

    lab.step(&UNMOUNT, |s| {
        s.run(op::Umount2::new("/tmp/b"))?;
        s.check_eq(
            "/tmp/b is the directory it was",
            "yes",
            yes(file_id("/tmp/b")? == empty_b),
        );
        let left = mount::list_dir("/tmp/b")?;
        s.observe("entries in /tmp/b", &left);
        s.check_eq("/tmp/b is empty again", "", left.join(" ").as_str());
        let listed = mount::mount_at(Who::This, "/tmp/b")?.is_some();
        s.check_eq("mountinfo lists /tmp/b", "no", yes(listed));
        Ok(())
    })?;
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
