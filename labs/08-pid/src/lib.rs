//! Lab 08: the PID namespace. After `unshare(CLONE_NEWPID)` the caller's
//! children are born into a new PID namespace, the first as PID 1. Seen in
//! `/proc/PID/ns/pid` and `pid_for_children`, `NSpid` in `/proc/PID/status`,
//! and a `/proc` mounted inside that lists only the namespace's processes.

use lab_kit::prelude::*;
use lab_kit::sys::Forked;
use nix::unistd::{getpid, pause};

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "08",
    slug: "pid",
    title: "PID namespace: the first process is PID 1",
    mechanisms: &[Mechanism::NsPid],
    requires: &[Requirement::Namespace("pid")],
    rootless: Rootless::EnterUserns,
    steps: &[UNSHARE, FIRST_CHILD, OWN_PROC, INIT_EXITS],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const UNSHARE: StepDecl = StepDecl {
    title: "unshare(CLONE_NEWPID) moves the children, not the caller",
    why: "A process's pid never changes, so the caller stays where it is; only the children it creates from now on are born into the new namespace.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["pid"],
    },
};
const FIRST_CHILD: StepDecl = StepDecl {
    title: "The first child is PID 1 inside",
    why: "The first process of a PID namespace gets pid 1 and plays init there; outside it has an ordinary pid. NSpid lists both.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const OWN_PROC: StepDecl = StepDecl {
    title: "A /proc mounted inside shows only the namespace",
    why: "procfs shows the PID namespace of whoever mounted it. PID 1 mounts a fresh one in a private mount namespace, so the host's /proc stays as it was.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const INIT_EXITS: StepDecl = StepDecl {
    title: "When PID 1 exits, the kernel kills the rest",
    why: "A PID namespace cannot outlive its init: when PID 1 exits, the kernel sends SIGKILL to every other process in the namespace.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: unshare
    lab.step(&UNSHARE, |s| {
        ops::unshare_ns(s, CloneFlags::CLONE_NEWPID)?;
        let pid = s.observe_ns("pid namespace of the lab", Who::This, "pid")?;
        s.check_eq("the lab's own pid namespace is unchanged", "host", pid.as_str());
        let res = proc::namespace(Who::This, "pid_for_children");
        let shown = match &res {
            Ok(_) => "resolvable".to_string(),
            Err(e) => e.errno().map_or_else(|| e.to_string(), |e| format!("{e:?}")),
        };
        s.observe("pid_for_children of the lab", &shown);
        s.check_eq(
            "pid_for_children names no namespace until the first child is born",
            "ENOENT",
            shown.as_str(),
        );
        Ok(())
    })?;
    // ANCHOR_END: unshare

    // ANCHOR: first_child
    let mut init = lab.step(&FIRST_CHILD, |s| {
        let mut init = child::spawn(s, |c| {
            c.send(&getpid().as_raw())?; // getpid() inside the namespace
            mount_proc_and_list(c)?;
            c.wait_for(Cue::Release)?; // until the parent says "exit"
            Ok(())
        })?;
        let inside: i32 = init.recv(s)?;
        s.observe("getpid() in the child", inside);
        s.check_eq("the child is PID 1 inside", &1, &inside);
        let ns = s.observe_ns("pid namespace of the child", Who::Pid(init.pid().as_raw()), "pid")?;
        let children = s.observe_ns("pid_for_children of the lab", Who::This, "pid_for_children")?;
        s.check_eq("the child is in the new namespace", "new#1", ns.as_str());
        s.check_eq("pid_for_children of the lab now names it", "new#1", children.as_str());
        let nspid = proc::nspid_normalized(Who::Pid(init.pid().as_raw()))?;
        s.observe("NSpid of the child, read from the host's /proc", &nspid);
        s.check_eq(
            "NSpid has one pid per level, ending in 1",
            "<outer> 1",
            nspid.join(" ").as_str(),
        );
        Ok(init)
    })?;
    // ANCHOR_END: first_child

    lab.step(&OWN_PROC, |s| {
        let listed: Vec<i32> = init.recv(s)?;
        s.observe("pids in the /proc mounted inside", &listed);
        s.check_eq("only the namespace's processes are listed", "1 2", &join(&listed));
        let own: Vec<String> = init.recv(s)?;
        s.observe("NSpid of PID 1, read from its own /proc", &own);
        s.check_eq("inside, PID 1 has a single level", "1", own.join(" ").as_str());
        let ns = s.observe_ns("mount namespace of the lab", Who::This, "mnt")?;
        s.check_eq(
            "the lab's mounts (and the host's /proc) are untouched",
            "host",
            ns.as_str(),
        );
        Ok(())
    })?;

    // ANCHOR: init_exits
    lab.step(&INIT_EXITS, |s| {
        let init_pid = init.pid().as_raw();
        let others = proc::children_of(init_pid);
        s.observe("other processes in the namespace", others.len());
        init.tell(Cue::Release)?;
        let status = init.wait(s)?;
        s.observe("PID 1", child::describe(&status));
        let alive: Vec<i32> = others
            .into_iter()
            .filter(|p| proc::status(Who::Pid(*p)).is_ok())
            .collect();
        s.check(
            "PID 2 was killed by the kernel with PID 1",
            alive.is_empty(),
            "no survivors",
            format!("{} alive", alive.len()),
        );
        let res = ops::fork_and_reap(s);
        s.check_errno("fork() into a namespace whose init is gone", Errno::ENOMEM, &res);
        Ok(())
    })?;
    // ANCHOR_END: init_exits
    Ok(())
}

/// In PID 1: start a second process, mount a fresh /proc, list it.
fn mount_proc_and_list(c: &mut ChildCtx) -> anyhow::Result<()> {
    // PID 2 sleeps without a death signal: only the kernel's rule will end it.
    if let Forked::Child = op::fork_narrated(c, &op::ForkUntied)? {
        loop {
            pause();
        }
    }
    ops::private_mount_ns(c)?;
    ops::mount_proc(c, "/proc")?;
    c.send(&proc::visible_pids()?)?;
    c.send(&proc::nspid_normalized(Who::This)?)?;
    Ok(())
}

fn join(v: &[i32]) -> String {
    v.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
}
