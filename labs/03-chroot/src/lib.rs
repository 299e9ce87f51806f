//! Lab 03: chroot and pivot_root. `chroot` changes where a process's path
//! lookups start, and nothing else; `pivot_root` in a new mount namespace
//! replaces the root mount itself. Seen in `/proc/PID/root` and
//! `/proc/PID/mountinfo`.

use lab_kit::mount;
use lab_kit::prelude::*;
use nix::fcntl::OFlag;
use std::os::fd::AsFd;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "03",
    slug: "chroot",
    title: "chroot, why it is no boundary, and pivot_root",
    mechanisms: &[Mechanism::Chroot, Mechanism::PivotRoot],
    requires: &[Requirement::Namespace("mnt")],
    rootless: Rootless::EnterUserns,
    steps: &[EMPTY, PROGRAMS, PROC, KEPT_FILE, WALK_OUT, PIVOT],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const EMPTY: StepDecl = StepDecl {
    title: "chroot into an empty directory: no /bin/sh there",
    why: "After chroot every absolute path starts at the new root, including the program execve loads and the dynamic loader named inside it. An empty root has neither.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN, Capability::CAP_SYS_CHROOT],
        namespaces: &["mnt"],
    },
};
const PROGRAMS: StepDecl = StepDecl {
    title: "Bind what the program needs and it runs",
    why: "The host's /usr, bound read-only (with the top-level links or directories that lead into it), gives the shell its loader and libraries; ls / then shows only what was put there.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN, Capability::CAP_SYS_CHROOT]),
};
const PROC: StepDecl = StepDecl {
    title: "A proc mounted inside; /proc/PID/root names the new root",
    why: "The kernel keeps each process's root directory; /proc/PID/root shows it. Inside it reads as /, from outside as the directory chroot was given.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN, Capability::CAP_SYS_CHROOT],
        namespaces: &["pid"],
    },
};
const KEPT_FILE: StepDecl = StepDecl {
    title: "A file opened before chroot stays readable",
    why: "chroot changes how paths are looked up, not what is already open: a descriptor still reaches the file outside the new root.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_CHROOT]),
};
const WALK_OUT: StepDecl = StepDecl {
    title: "A directory kept from outside lets root walk back out",
    why: "\"..\" stops at the process's root only when the walk passes through it. A process whose working directory is outside its root climbs to the real root, and chroot(\".\") makes that the root again.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_CHROOT]),
};
const PIVOT: StepDecl = StepDecl {
    title: "The fix: pivot_root in a new mount namespace, then drop the old root",
    why: "pivot_root makes the new root the root mount of the namespace and moves the old one aside; once it is unmounted, no path and no \"..\" leads to the host's files.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN, Capability::CAP_SYS_CHROOT],
        namespaces: &["mnt"],
    },
};

const ROOT: &str = "/tmp/root";
const MARKER: &str = "/tmp/marker";
const MARKER_TEXT: &str = "only the real root has this file";

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: empty
    lab.step(&EMPTY, |s| {
        ops::private_mount_ns(s)?;
        ops::scratch(s)?;
        s.run(op::Mkdir::new(ROOT))?;
        ops::create_file(s, MARKER, MARKER_TEXT)?;
        s.note(format!(
            "The lab wrote {MARKER}, outside the new root: the proof of any escape."
        ));
        let run = exec::run_captured(s, enter_root, sh("ls /"))?;
        s.check_errno(
            "execve(\"/bin/sh\") in the empty root",
            Errno::ENOENT,
            &run.exec_error.map_or(Ok(()), Err),
        );
        Ok(())
    })?;
    // ANCHOR_END: empty

    // ANCHOR: programs
    lab.step(&PROGRAMS, |s| {
        let put = mount::host_programs_into(s, ROOT)?;
        let run = exec::run_captured(s, enter_root, sh("ls /"))?;
        s.check_eq("the shell runs", "exited 0", run.status.as_str());
        let listed: Vec<&str> = run.stdout.lines().collect();
        let ok = listed == put;
        s.check(
            "ls / inside lists exactly what the lab put there",
            ok,
            "what the lab put there",
            if ok {
                "what the lab put there".into()
            } else {
                listed.join(" ")
            },
        );
        s.check_eq("/usr is there", "yes", yes(listed.contains(&"usr")));
        Ok(())
    })?;
    // ANCHOR_END: programs

    lab.step(&PROC, |s| {
        let proc_dir = format!("{ROOT}/proc");
        s.run(op::Mkdir {
            path: proc_dir.as_str().into(),
            mode: 0o555,
        })?;
        // procfs may be mounted only by a process that owns its PID namespace: give it one.
        let mut outer = child::spawn(s, |c| {
            ops::unshare_ns(c, CloneFlags::CLONE_NEWPID)?;
            let mut inner = child::spawn(c, |p| {
                ops::mount_proc(p, &format!("{ROOT}/proc"))?;
                enter_root(p)?;
                let own = std::fs::read_link("/proc/self/root")?.display().to_string();
                p.send(&own)?;
                Ok(p.wait_for(Cue::Release)?)
            })?;
            let own: String = inner.recv(c)?;
            let outside = std::fs::read_link(format!("/proc/{}/root", inner.pid()))?
                .display()
                .to_string();
            c.send(&(own, outside))?;
            c.wait_for(Cue::Release)?;
            inner.tell(Cue::Release)?;
            inner.wait(c)?;
            Ok(())
        })?;
        let (own, outside): (String, String) = outer.recv(s)?;
        s.observe("/proc/self/root, read inside", &own);
        s.observe("/proc/PID/root, read from outside", &outside);
        s.check_eq("inside, the root is /", "/", own.as_str());
        s.check_eq("outside, it is the directory given to chroot", ROOT, outside.as_str());
        outer.tell(Cue::Release)?;
        outer.wait(s)?;
        ops::detach(s, &proc_dir)?;
        Ok(())
    })?;

    // ANCHOR: kept_file
    lab.step(&KEPT_FILE, |s| {
        let mut child = child::spawn(s, |c| {
            let fd = c.run(op::Open::read(MARKER))?;
            enter_root(c)?;
            let by_path = c.run(op::Open::read(MARKER));
            c.send(&by_path.map(drop).map_err(|e| e as i32))?;
            let text = c.run(op::Pread {
                fd: fd.as_fd(),
                len: 64,
            })?;
            c.send(&String::from_utf8_lossy(&text))?;
            Ok(())
        })?;
        let by_path: Result<(), i32> = child.recv(s)?;
        s.check_errno(
            "the marker by its path, inside",
            Errno::ENOENT,
            &by_path.map_err(Errno::from_raw),
        );
        let text: String = child.recv(s)?;
        s.check_eq("the marker through the kept descriptor", MARKER_TEXT, text.as_str());
        child.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: kept_file

    // ANCHOR: walk_out
    lab.step(&WALK_OUT, |s| {
        let mut child = child::spawn(s, |c| {
            let outside = c.run(op::Open::new("/tmp", OFlag::O_DIRECTORY | OFlag::O_CLOEXEC))?;
            enter_root(c)?;
            let before = c.run(op::Open::read(MARKER));
            c.send(&before.map(drop).map_err(|e| e as i32))?;
            ops::escape_chroot(c, outside.as_fd())?;
            c.send(&read_marker())?;
            Ok(())
        })?;
        let before: Result<(), i32> = child.recv(s)?;
        s.check_errno(
            "the marker by its path, inside",
            Errno::ENOENT,
            &before.map_err(Errno::from_raw),
        );
        let after: Result<String, String> = child.recv(s)?;
        let shown = after.unwrap_or_else(|e| e);
        s.observe("the marker, read after the walk", &shown);
        s.check_eq("the process is out: it reads the marker", MARKER_TEXT, shown.as_str());
        child.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: walk_out

    // ANCHOR: pivot
    lab.step(&PIVOT, |s| {
        // ANCHOR: pivot_child
        let mut child = child::spawn(s, |c| {
            ops::private_mount_ns(c)?;
            mount::bind(c, ROOT, ROOT, true)?; // pivot_root wants a mount point
            let old = format!("{ROOT}/.old");
            c.run(op::Mkdir {
                path: old.as_str().into(),
                mode: 0o700,
            })?;
            c.run(op::Chdir::new(ROOT))?;
            c.run(op::PivotRoot::new(".", ".old"))?;
            c.run(op::Chdir::new("/"))?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?; // the lab has read our mount table
            ops::detach(c, "/.old")?;
            c.run(op::Rmdir::new("/.old"))?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?;
            // The same attack as before, from inside the pivoted root.
            let below = c.run(op::Open::new("/usr", OFlag::O_DIRECTORY | OFlag::O_CLOEXEC))?;
            c.run(op::Mkdir::new("/jail"))?;
            c.run(op::Chroot::new("/jail"))?;
            ops::escape_chroot(c, below.as_fd())?;
            c.send(&read_marker())?;
            c.send(&mount::list_dir("/")?)?;
            Ok(())
        })?;
        // ANCHOR_END: pivot_child
        let pid = child.pid().as_raw();
        child.wait_for(Cue::Ready, s)?;
        let under_old = |m: &[mount::MountEntry]| m.iter().filter(|e| e.mount_point.starts_with("/.old")).count();
        let before = under_old(&mount::mounts(Who::Pid(pid))?);
        s.check(
            "after pivot_root, mountinfo lists the old root at /.old",
            before > 0,
            "listed",
            if before > 0 { "listed" } else { "absent" },
        );
        child.tell(Cue::Release)?;
        child.wait_for(Cue::Ready, s)?;
        let mounts = mount::mounts(Who::Pid(pid))?;
        let after = under_old(&mounts);
        s.check(
            "after umount, mountinfo no longer lists it",
            after == 0,
            "absent",
            if after == 0 { "absent" } else { "listed" },
        );
        let root = mounts.first().map(|m| m.root.clone()).unwrap_or_default();
        s.observe("root of the first mount now (inside the scratch tmpfs)", &root);
        s.check_eq("the root mount is the new root", "/root", root.as_str());
        child.tell(Cue::Release)?;
        let marker: Result<String, String> = child.recv(s)?;
        let shown = marker.unwrap_or_else(|e| e);
        s.observe("the marker, read after the walk", &shown);
        s.check_eq("the walk ends in the new root: no marker", "ENOENT", shown.as_str());
        let top: Vec<String> = child.recv(s)?;
        s.check_eq(
            "where it ends has the new root's /usr",
            "yes",
            yes(top.contains(&"usr".to_string())),
        );
        child.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: pivot
    Ok(())
}

// ANCHOR: enter_root
/// `chroot(ROOT)` then `chdir("/")`, as `chroot(8)` does.
fn enter_root(c: &mut impl Narrate) -> anyhow::Result<()> {
    c.run(op::Chroot::new(ROOT))?;
    c.run(op::Chdir::new("/"))?;
    Ok(())
}
// ANCHOR_END: enter_root

fn read_marker() -> Result<String, String> {
    std::fs::read_to_string(MARKER).map_err(|e| {
        e.raw_os_error()
            .map_or_else(|| e.to_string(), |n| format!("{:?}", Errno::from_raw(n)))
    })
}

fn sh(script: &str) -> Program {
    Program::path("/bin/sh", &["sh", "-c", script])
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
