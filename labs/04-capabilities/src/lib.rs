//! Lab 04: capabilities. Root's power is split into some forty
//! capabilities, held in five sets per thread. Seen in `/proc/PID/status`
//! (`CapInh`, `CapPrm`, `CapEff`, `CapBnd`, `CapAmb`, `NoNewPrivs`).

use caps::{CapSet, Capability};
use lab_kit::capability::{self, holds, relative};
use lab_kit::exec::{CapMasks, Probe};
use lab_kit::inspect;
use lab_kit::lab::CannotRun;
use lab_kit::prelude::*;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "04",
    slug: "capabilities",
    title: "Capabilities: five sets, and what execve does to them",
    mechanisms: &[Mechanism::Capabilities],
    requires: &[],
    rootless: Rootless::EnterUserns,
    steps: &[
        SETS,
        LISTING,
        EFFECTIVE,
        EXEC_ROOT,
        BOUNDING,
        POWERLESS,
        EXEC_USER,
        AMBIENT,
        NO_NEW_PRIVS,
    ],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const SETS: StepDecl = StepDecl {
    title: "The five sets of the lab's process",
    why: "The kernel checks the effective set; permitted bounds what effective may hold; inheritable and ambient decide what survives execve; bounding caps what any execve can grant.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const LISTING: StepDecl = StepDecl {
    title: "Which processes hold capabilities (pscap -a)",
    why: "Every process's sets are readable in /proc/PID/status; listing the non-empty ones shows where privilege lives on the machine.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const EFFECTIVE: StepDecl = StepDecl {
    title: "Only the effective set counts; permitted is the reserve",
    why: "A capability dropped from the effective set can be raised again from the permitted set. Dropped from permitted, it is gone for good. Ports below 1024 need CAP_NET_BIND_SERVICE (tried in a network namespace of the lab's own).",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN, Capability::CAP_NET_BIND_SERVICE],
        namespaces: &["net"],
    },
};
const EXEC_ROOT: StepDecl = StepDecl {
    title: "execve as root keeps the sets",
    why: "For uid 0 the kernel treats every program as if it carried every file capability, so root's permitted and effective sets survive execve (limited by the bounding set).",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const BOUNDING: StepDecl = StepDecl {
    title: "A capability removed from the bounding set never comes back",
    why: "PR_CAPBSET_DROP removes it from the bounding set, and no later execve, not even of a root program, can grant it again.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SETPCAP]),
};
const POWERLESS: StepDecl = StepDecl {
    title: "A full set in a new user namespace is powerless outside it",
    why: "Capabilities count against what the holder's user namespace owns. The lab's mount namespace belongs to the user namespace above: mounting there is refused, in a mount namespace of its own it works.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt", "user"],
    },
};
const EXEC_USER: StepDecl = StepDecl {
    title: "execve as a non-root user empties the sets",
    why: "With PR_SET_KEEPCAPS a process keeps its permitted set across setuid, but execve of an ordinary program by a non-root user computes new sets from the file: none.",
    privilege: Privilege::Root,
    needs: Needs::caps(&[Capability::CAP_SETUID, Capability::CAP_SETGID]),
};
const AMBIENT: StepDecl = StepDecl {
    title: "Ambient capabilities survive execve for a non-root program",
    why: "A capability in the ambient set (which needs it in permitted and inheritable) is given to the next program, even one without file capabilities.",
    privilege: Privilege::Root,
    needs: Needs::caps(&[
        Capability::CAP_SETUID,
        Capability::CAP_SETGID,
        Capability::CAP_NET_BIND_SERVICE,
    ]),
};
const NO_NEW_PRIVS: StepDecl = StepDecl {
    title: "PR_SET_NO_NEW_PRIVS: execve cannot grant more",
    why: "A setuid-root program normally runs with euid 0 and full capabilities. With no_new_privs set (inherited and irreversible) execve ignores the setuid bit and file capabilities.",
    privilege: Privilege::Root,
    needs: Needs::caps(&[
        Capability::CAP_SETUID,
        Capability::CAP_SETGID,
        Capability::CAP_CHOWN,
        Capability::CAP_FSETID,
    ]),
};

const CAP: Capability = Capability::CAP_NET_BIND_SERVICE;

const SETUID_COPY: &str = "/tmp/setuid-probe";

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: sets
    let mine = lab.step(&SETS, |s| {
        let m = CapMasks::read(Who::This)?;
        for (name, mask) in [
            ("CapInh", m.inh),
            ("CapPrm", m.prm),
            ("CapEff", m.eff),
            ("CapBnd", m.bnd),
            ("CapAmb", m.amb),
        ] {
            s.note(format!("{name} {mask:016x} = {}", proc::cap_names(mask)));
        }
        s.observe("CapPrm", relative(m.prm, m.bnd, "bounding"));
        s.observe("CapEff", relative(m.eff, m.prm, "permitted"));
        s.observe("CapInh", proc::cap_names(m.inh));
        s.observe("CapAmb", proc::cap_names(m.amb));
        // Root gets every capability the bounding set allows; anyone else none (without file capabilities).
        let (who, want) = if nix::unistd::geteuid().is_root() {
            ("root's", "same as bounding")
        } else {
            ("a non-root user's", "none")
        };
        let prm = relative(m.prm, m.bnd, "bounding");
        s.check_eq(format!("{who} permitted set"), want, prm.as_str());
        let eff = relative(m.eff, m.prm, "permitted");
        let want_eff = if m.prm == 0 { "none" } else { "same as permitted" };
        s.check_eq("its effective set", want_eff, eff.as_str());
        Ok(m)
    })?;
    // ANCHOR_END: sets

    lab.step(&LISTING, |s| {
        let rows = inspect::capability_listing();
        s.note("pid (ppid) user command: capabilities, like pscap -a (`lab inspect` prints the same):");
        for r in &rows {
            s.note(format!(
                "{} ({}) {} {}: {}",
                r.pid, r.ppid, r.user, r.command, r.capabilities
            ));
        }
        let me = std::process::id() as i32;
        let own = rows.iter().find(|r| r.pid == me);
        let holds_any = mine.prm | mine.eff | mine.amb != 0;
        s.check_eq("the lab's own process is listed", yes(holds_any), yes(own.is_some()));
        let shown = own.map(|r| r.capabilities.clone()).unwrap_or_default();
        let ok = own.is_none() || shown == proc::cap_names(mine.prm | mine.eff | mine.amb);
        s.check(
            "its row names its sets",
            ok,
            "its CapPrm",
            if ok { "its CapPrm".into() } else { shown },
        );
        Ok(())
    })?;

    // Steps that do not build on each other go on where one cannot run (root
    // in a container lacks CAP_SYS_ADMIN for the namespaces, not CAP_SETUID).
    // ANCHOR: effective
    let _ = lab.step(&EFFECTIVE, |s| {
        let mut child = child::spawn(s, |c| {
            ops::unshare_ns(c, CloneFlags::CLONE_NEWNET)?;
            let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")?;
            c.send(&start.trim())?;
            bind_80(c)?;
            capability::drop(c, CapSet::Effective, CAP)?;
            bind_80(c)?;
            capability::raise(c, CapSet::Effective, CAP)?;
            bind_80(c)?;
            capability::drop(c, CapSet::Effective, CAP)?;
            capability::drop(c, CapSet::Permitted, CAP)?;
            let again = capability::raise(c, CapSet::Effective, CAP);
            c.send(&again.map_err(|e| e as i32))?;
            bind_80(c)?;
            Ok(())
        })?;
        let start: String = child.recv(s)?;
        s.observe("ip_unprivileged_port_start in the new network namespace", &start);
        let mut next = |s: &mut Step<'_>| -> anyhow::Result<Result<(), Errno>> {
            Ok(child.recv::<Result<(), i32>>(s)?.map_err(Errno::from_raw))
        };
        let r = next(s)?;
        s.check_ok("bind(0.0.0.0:80) with the capability effective", &r);
        let r = next(s)?;
        s.check_errno("bind after dropping it from effective", Errno::EACCES, &r);
        let r = next(s)?;
        s.check_ok("bind after raising it again from permitted", &r);
        let r = next(s)?;
        s.check_errno("raising it after dropping it from permitted", Errno::EPERM, &r);
        let r = next(s)?;
        s.check_errno("bind without it", Errno::EACCES, &r);
        child.wait(s)?;
        Ok(())
    });
    // ANCHOR_END: effective

    let _ = lab.step(&EXEC_ROOT, |s| {
        let p = exec::run_captured(s, |_| Ok(()), Program::helper(&[]))?.probe()?;
        s.observe("CapPrm of the program", relative(p.caps.prm, mine.prm, "the lab's"));
        s.observe("CapEff of the program", relative(p.caps.eff, mine.eff, "the lab's"));
        s.check_eq(
            "the program's permitted set",
            "same as the lab's",
            relative(p.caps.prm, mine.prm, "the lab's").as_str(),
        );
        s.check_eq(
            "its effective set",
            "same as the lab's",
            relative(p.caps.eff, mine.eff, "the lab's").as_str(),
        );
        Ok(())
    });

    // ANCHOR: bounding
    let _ = lab.step(&BOUNDING, |s| {
        let p = exec::run_captured(
            s,
            |c| {
                capability::drop(c, CapSet::Bounding, CAP)?;
                // The inheritable set hands a capability on to a root
                // program past the bounding set (older Docker filled it).
                if CapMasks::read(Who::This)?.inh & CAP.bitmask() != 0 {
                    c.note(format!(
                        "{CAP} is in the inheritable set too, which would hand it on: drop it there as well"
                    ));
                    capability::drop(c, CapSet::Inheritable, CAP)?;
                }
                let prm = CapMasks::read(Who::This)?.prm;
                c.note(format!("{CAP} is still permitted before execve: {}", holds(prm, CAP)));
                Ok(())
            },
            Program::helper(&[]),
        )?
        .probe()?;
        s.check_eq(
            format!("{CAP} in the program's bounding set"),
            "no",
            holds(p.caps.bnd, CAP),
        );
        s.check_eq(format!("{CAP} in its permitted set"), "no", holds(p.caps.prm, CAP));
        s.check_eq(format!("{CAP} in its effective set"), "no", holds(p.caps.eff, CAP));
        s.observe("CapPrm of the program", relative(p.caps.prm, mine.prm, "the lab's"));
        Ok(())
    });
    // ANCHOR_END: bounding

    // ANCHOR: powerless
    let private_tmp = lab.step(&POWERLESS, |s| {
        ops::private_mount_ns(s)?;
        ops::scratch(s)?;
        let mut child = child::spawn(s, |c| {
            ops::unshare_ns(c, CloneFlags::CLONE_NEWUSER)?;
            c.send(&proc::cap_names(CapMasks::read(Who::This)?.eff))?;
            let res = ops::mount_tmpfs(c, "/tmp");
            c.send(&res.map_err(|e| e as i32))?;
            ops::unshare_ns(c, CloneFlags::CLONE_NEWNS)?;
            let res = ops::mount_tmpfs(c, "/tmp");
            c.send(&res.map_err(|e| e as i32))?;
            Ok(())
        })?;
        let eff: String = child.recv(s)?;
        s.observe("CapEff in the new user namespace", &eff);
        s.check_eq("a full set", "full", eff.as_str());
        let res: Result<(), i32> = child.recv(s)?;
        s.check_errno(
            "mount in the lab's mount namespace",
            Errno::EPERM,
            &res.map_err(Errno::from_raw),
        );
        let res: Result<(), i32> = child.recv(s)?;
        s.check_ok("mount in a mount namespace it created", &res.map_err(Errno::from_raw));
        child.wait(s)?;
        Ok(())
    });
    // ANCHOR_END: powerless

    // ANCHOR: exec_user
    let _ = lab.step(&EXEC_USER, |s| {
        let p = exec::run_captured(
            s,
            |c| {
                c.run(op::Prctl::SetKeepcaps)?;
                become_nobody(c)?;
                let m = CapMasks::read(Who::This)?;
                c.note(format!(
                    "after setuid: CapPrm {}, CapEff {}",
                    proc::cap_names(m.prm),
                    proc::cap_names(m.eff)
                ));
                Ok(())
            },
            Program::helper(&[]),
        )?
        .probe()?;
        check_user(s, &p);
        s.check_eq("CapPrm of the program", "none", proc::cap_names(p.caps.prm).as_str());
        s.check_eq("CapEff of the program", "none", proc::cap_names(p.caps.eff).as_str());
        Ok(())
    });
    // ANCHOR_END: exec_user

    // ANCHOR: ambient
    let _ = lab.step(&AMBIENT, |s| {
        let p = exec::run_captured(
            s,
            |c| {
                c.run(op::Prctl::SetKeepcaps)?;
                become_nobody(c)?;
                capability::raise(c, CapSet::Inheritable, CAP)?;
                capability::raise(c, CapSet::Ambient, CAP)?;
                Ok(())
            },
            Program::helper(&[]),
        )?
        .probe()?;
        check_user(s, &p);
        let want = proc::cap_names(CAP.bitmask());
        s.check_eq(
            "CapAmb of the program",
            want.as_str(),
            proc::cap_names(p.caps.amb).as_str(),
        );
        s.check_eq(
            "CapPrm of the program",
            want.as_str(),
            proc::cap_names(p.caps.prm).as_str(),
        );
        s.check_eq(
            "CapEff of the program",
            want.as_str(),
            proc::cap_names(p.caps.eff).as_str(),
        );
        Ok(())
    });
    // ANCHOR_END: ambient

    // ANCHOR: no_new_privs
    let private_tmp = private_tmp.is_ok();
    lab.step(&NO_NEW_PRIVS, |s| {
        // The setuid copy goes on the private tmpfs of step 6, never the host's /tmp.
        if !private_tmp {
            return Err(CannotRun::unsupported(format!(
                "needs step 6 ({}), which did not complete: the setuid copy goes on its private tmpfs",
                POWERLESS.title
            ))
            .into());
        }
        make_setuid_copy(s)?;
        let program = Program::Helper {
            path: SETUID_COPY.into(),
            args: vec![],
        };
        let p = exec::run_captured(s, become_nobody, program.clone())?.probe()?;
        s.observe("uids of the setuid program (real, effective, saved)", p.uid);
        s.check_eq("without no_new_privs: effective uid", &0, &p.uid[1]);
        s.check_eq(
            "and its CapEff",
            "same as bounding",
            relative(p.caps.eff, p.caps.bnd, "bounding").as_str(),
        );
        let p = exec::run_captured(
            s,
            |c| {
                become_nobody(c)?;
                c.run(op::Prctl::SetNoNewPrivs)?;
                Ok(())
            },
            program,
        )?
        .probe()?;
        s.observe("uids of the setuid program with no_new_privs", p.uid);
        s.check_eq("with no_new_privs: effective uid", &NOBODY, &p.uid[1]);
        s.check_eq("and its CapEff", "none", proc::cap_names(p.caps.eff).as_str());
        s.check_eq("NoNewPrivs of the program", "1", if p.no_new_privs { "1" } else { "0" });
        Ok(())
    })?;
    // ANCHOR_END: no_new_privs
    Ok(())
}

/// `bind(0.0.0.0:80)` on a fresh TCP socket, narrated, and the result sent
/// to the lab; the socket is closed at once.
fn bind_80(c: &mut ChildCtx) -> anyhow::Result<()> {
    let fd = c.run(op::TcpSocket)?;
    let res = c.run(op::Bind {
        fd: std::os::fd::AsFd::as_fd(&fd),
        addr: std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 80),
        port_placeholder: false,
    });
    c.send(&res.map_err(|e| e as i32))?;
    Ok(())
}

/// Dropping to nobody in the right order, as the privileges lab teaches.
use lab_kit::ops::{NOBODY, become_nobody};

fn check_user(s: &mut Step<'_>, p: &Probe) {
    s.check_eq("the program runs as uid 65534", &NOBODY, &p.uid[1]);
}

/// A copy of the lab's executable, setuid root, on the scratch tmpfs.
fn make_setuid_copy(s: &mut Step<'_>) -> anyhow::Result<()> {
    std::fs::copy(exec::SELF_EXE, SETUID_COPY).context("copying the lab's executable")?;
    s.note(format!("The lab copied its own executable to {SETUID_COPY}."));
    s.run(op::Chown {
        path: SETUID_COPY.into(),
        uid: 0,
        gid: 0,
    })?;
    s.run(op::Chmod {
        path: SETUID_COPY.into(),
        mode: 0o4755,
    })?;
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
