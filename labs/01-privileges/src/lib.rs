//! Lab 01: process privileges. The story every login follows: a root
//! process forks, the child becomes the user (`setgroups`, `setgid`,
//! `setuid`) and execs a program. Seen in `/proc/PID/status` (`Uid`, `Gid`,
//! `CapPrm`, `CapEff`) and `/proc/PID/fd`.

use lab_kit::exec::Probe;
use lab_kit::prelude::*;
use lab_kit::scratch::Scratch;
use nix::fcntl::OFlag;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "01",
    slug: "privileges",
    title: "Process privileges: fork, setuid, execve",
    mechanisms: &[
        Mechanism::Fork,
        Mechanism::Setuid,
        Mechanism::Execve,
        Mechanism::FdInheritance,
    ],
    requires: &[],
    rootless: Rootless::EnterUserns,
    steps: &[FORK, SECRET, CLOEXEC, RIGHT_ORDER, WRONG_ORDER, LEAK],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const FORK: StepDecl = StepDecl {
    title: "A forked child inherits who its parent is",
    why: "fork copies the process: its uids and gids, its capability sets and its table of open descriptors, which point at the same open files as the parent's.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const SECRET: StepDecl = StepDecl {
    title: "The lab makes a file only root may read",
    why: "A private scratch /tmp (a tmpfs in the lab's own mount namespace) holds a mode 0600 file owned by root: the secret a daemon must not hand on.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const CLOEXEC: StepDecl = StepDecl {
    title: "execve keeps open descriptors, except close-on-exec ones",
    why: "execve replaces the program but not the descriptor table: every descriptor stays open in the new program unless it was opened with O_CLOEXEC (or closed before).",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const RIGHT_ORDER: StepDecl = StepDecl {
    title: "Dropping privileges: setgroups, setgid, setuid, then execve",
    why: "Groups and gid first, while still root; setuid last, since after it nothing may be changed back. The program then runs as the user with empty capability sets. Inside a user namespace that maps one uid there is no second user to become, so this needs real root.",
    privilege: Privilege::Root,
    needs: Needs::caps(&[Capability::CAP_SETUID, Capability::CAP_SETGID]),
};
const WRONG_ORDER: StepDecl = StepDecl {
    title: "The wrong order: setuid first, then setgid is refused",
    why: "Once the uid is not 0, the process has lost CAP_SETGID: it can no longer change its gid, and keeps root's group.",
    privilege: Privilege::Root,
    needs: Needs::caps(&[Capability::CAP_SETUID, Capability::CAP_SETGID]),
};
const LEAK: StepDecl = StepDecl {
    title: "The leak: an inherited descriptor outlives the privilege",
    why: "Permissions are checked at open, not at read. A descriptor opened by root and inherited across setuid and execve still reads the file the user may not open; close-on-exec closes the leak.",
    privilege: Privilege::Root,
    needs: Needs::caps(&[Capability::CAP_SETUID, Capability::CAP_SETGID]),
};

const NOBODY: u32 = 65534;
const SECRET_TEXT: &str = "the secret of lab 01";

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: fork
    lab.step(&FORK, |s| {
        let before = exec::open_fds()?;
        let null = s.run(op::Open::read("/dev/null"))?;
        let mut child = child::spawn(s, |c| {
            c.tell(Cue::Ready)?;
            Ok(c.wait_for(Cue::Release)?)
        })?;
        child.wait_for(Cue::Ready, s)?;
        let (parent, kid) = (proc::status(Who::This)?, proc::status(Who::Pid(child.pid().as_raw()))?);
        same(
            s,
            "the child's uids",
            [parent.ruid, parent.euid, parent.suid],
            [kid.ruid, kid.euid, kid.suid],
        );
        same(
            s,
            "the child's gids",
            [parent.rgid, parent.egid, parent.sgid],
            [kid.rgid, kid.egid, kid.sgid],
        );
        same(s, "the child's CapPrm", parent.capprm, kid.capprm);
        same(s, "the child's CapEff", parent.capeff, kid.capeff);
        let fd = null.as_raw_fd();
        let target = std::fs::read_link(format!("/proc/{}/fd/{fd}", child.pid()))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| format!("unreadable: {e}"));
        s.observe(format!("/proc/CHILD/fd/{fd}"), &target);
        s.check_eq("the child has the parent's descriptor", "/dev/null", target.as_str());
        let theirs: Vec<i32> = std::fs::read_dir(format!("/proc/{}/fd", child.pid()))
            .context("reading /proc/CHILD/fd")?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        let missing: Vec<&i32> = before.iter().filter(|fd| !theirs.contains(fd)).collect();
        s.check(
            "every descriptor the parent had before fork is open in the child",
            missing.is_empty(),
            "all",
            if missing.is_empty() {
                "all".to_string()
            } else {
                format!("missing {missing:?}")
            },
        );
        child.tell(Cue::Release)?;
        child.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: fork

    let (scratch, secret) = lab.step(&SECRET, |s| {
        let scratch = Scratch::make(s)?;
        let secret = scratch.path("secret");
        let fd = s.run(op::Open::create(
            secret.as_str(),
            OFlag::O_WRONLY | OFlag::O_EXCL | OFlag::O_CLOEXEC,
            0o600,
        ))?;
        s.run(op::Write {
            fd: fd.as_fd(),
            text: SECRET_TEXT,
        })?;
        let st = nix::sys::stat::stat(secret.as_str())?;
        let mode = format!("{:04o}", st.st_mode & 0o7777);
        s.observe("owner of the secret", st.st_uid);
        s.check_eq("its mode: only its owner may read it", "0600", mode.as_str());
        s.check_eq("its owner is root", &0, &st.st_uid);
        Ok((scratch, secret))
    })?;
    let secret = secret.as_str();

    // ANCHOR: cloexec
    lab.step(&CLOEXEC, |s| {
        let kept = open_secret(s, secret, OFlag::O_RDONLY)?;
        let closed = open_secret(s, secret, OFlag::O_RDONLY | OFlag::O_CLOEXEC)?;
        let (k, c) = (kept.as_raw_fd(), closed.as_raw_fd());
        let run = exec::run_captured(s, |_| Ok(()), Program::helper(&["--read-fd", &k.to_string()]))?;
        let probe = run.probe()?;
        s.check_eq(
            format!("fd {k} (no O_CLOEXEC) is still open"),
            "yes",
            yes(probe.fds.contains(&k)),
        );
        s.check_eq(
            format!("fd {c} (O_CLOEXEC) was closed by execve"),
            "no",
            yes(probe.fds.contains(&c)),
        );
        s.check_eq(
            format!("read(fd {k}) in the new program"),
            SECRET_TEXT,
            shown(&probe.read_fd).as_str(),
        );
        Ok(())
    })?;
    // ANCHOR_END: cloexec

    // ANCHOR: right_order
    lab.step(&RIGHT_ORDER, |s| {
        let run = exec::run_captured(s, ops::become_nobody, Program::helper(&["--setuid0"]))?;
        let p: Probe = run.probe()?;
        s.observe("uids of the program (real, effective, saved)", p.uid);
        s.observe("gids of the program (real, effective, saved)", p.gid);
        s.check_eq("it runs as the user", "65534 65534 65534", join(&p.uid).as_str());
        s.check_eq("in the user's group", "65534 65534 65534", join(&p.gid).as_str());
        s.check_eq("with no supplementary groups", "[]", format!("{:?}", p.groups).as_str());
        s.check_eq("CapPrm of the program", "none", proc::cap_names(p.caps.prm).as_str());
        s.check_eq("CapEff of the program", "none", proc::cap_names(p.caps.eff).as_str());
        s.check_eq(
            "setuid(0) from the program",
            "EPERM",
            p.setuid0.as_deref().unwrap_or("not tried"),
        );
        Ok(())
    })?;
    // ANCHOR_END: right_order

    // ANCHOR: wrong_order
    lab.step(&WRONG_ORDER, |s| {
        let mut child = child::spawn(s, |c| {
            c.run(op::Setuid(NOBODY))?;
            let res = c.run(op::Setgid(NOBODY));
            c.send(&res.map_err(|e| e as i32))?;
            c.send(&proc::status(Who::This)?.egid)?;
            Ok(())
        })?;
        let res: Result<(), i32> = child.recv(s)?;
        s.check_errno("setgid after setuid", Errno::EPERM, &res.map_err(Errno::from_raw));
        let gid: u32 = child.recv(s)?;
        s.observe("effective gid left", gid);
        s.check_eq("the process keeps root's group", &0, &gid);
        child.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: wrong_order

    // ANCHOR: leak
    lab.step(&LEAK, |s| {
        let fd = open_secret(s, secret, OFlag::O_RDONLY)?;
        let n = fd.as_raw_fd().to_string();
        let args = ["--open", secret, "--read-fd", n.as_str()];
        let p = exec::run_captured(s, ops::become_nobody, Program::helper(&args))?.probe()?;
        s.check_eq(
            "the user opens the secret by its path",
            "EACCES",
            shown(&p.open).as_str(),
        );
        s.check_eq(
            format!("the user reads inherited fd {n}"),
            SECRET_TEXT,
            shown(&p.read_fd).as_str(),
        );

        s.run(op::SetCloexec(fd.as_fd()))?;
        let p = exec::run_captured(s, ops::become_nobody, Program::helper(&args))?.probe()?;
        s.check_eq(
            format!("fd {n} in the program's /proc/self/fd"),
            "no",
            yes(p.fds.contains(&fd.as_raw_fd())),
        );
        s.check_eq(format!("the user reads fd {n}"), "EBADF", shown(&p.read_fd).as_str());
        Ok(())
    })?;
    // ANCHOR_END: leak
    // The scratch space goes last: a fallback directory is removed here.
    drop(scratch);
    Ok(())
}

fn open_secret(s: &mut Step<'_>, path: &str, flags: OFlag) -> anyhow::Result<OwnedFd> {
    Ok(s.run(op::Open::new(path, flags))?)
}

/// Check that the child has the parent's value, without showing the value.
fn same<T: PartialEq>(s: &mut Step<'_>, what: &str, parent: T, child: T) {
    let ok = parent == child;
    s.check(what, ok, "the parent's", if ok { "the parent's" } else { "different" });
}

fn join(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A helper's result: the text read, or the errno name.
fn shown(r: &Option<Result<String, String>>) -> String {
    match r {
        Some(Ok(t)) | Some(Err(t)) => t.clone(),
        None => "not tried".into(),
    }
}
