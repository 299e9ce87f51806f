//! Lab 07: the UTS namespace. `unshare(CLONE_NEWUTS)` gives a process its own
//! hostname; `/proc/PID/ns/uts` shows which UTS namespace a process is in.

use lab_kit::prelude::*;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "07",
    slug: "uts",
    title: "UTS namespace: a hostname of one's own",
    mechanisms: &[Mechanism::NsUts],
    requires: &[Requirement::Namespace("uts")],
    rootless: Rootless::EnterUserns,
    steps: &[HOST, UNSHARE, HOST_UNTOUCHED, LIFETIME],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const HOST: StepDecl = StepDecl {
    title: "Where the lab starts",
    why: "Every process is in exactly one UTS namespace, which holds the hostname and NIS domain name that uname(2) reports.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const UNSHARE: StepDecl = StepDecl {
    title: "A child unshares its UTS namespace and sets a hostname",
    why: "unshare(CLONE_NEWUTS) moves the caller into a new UTS namespace, a copy of the old one; sethostname then changes only the copy.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["uts"],
    },
};
const HOST_UNTOUCHED: StepDecl = StepDecl {
    title: "The host keeps its hostname",
    why: "The lab itself never left the original namespace, so it still reads the hostname it started with.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const LIFETIME: StepDecl = StepDecl {
    title: "A namespace lives as long as something holds it",
    why: "A process is one holder; an open descriptor of /proc/PID/ns/uts is another. With one open, the namespace outlives the child, and setns finds it; once the descriptor is closed nothing refers to it and the kernel frees it.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};

const NEW_NAME: &str = "lab-06";

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let before = lab.step(&HOST, |s| {
        s.observe_ns("uts namespace of the lab", Who::This, "uts")?;
        let name = s.run(op::Uname)?;
        s.note("The host's hostname is read but not shown: reports must read the same on every machine.");
        Ok(name)
    })?;

    // ANCHOR: unshare
    let (child, child_ns) = lab.step(&UNSHARE, |s| {
        let mut child = child::spawn(s, |c| {
            ops::unshare_ns(c, CloneFlags::CLONE_NEWUTS)?;
            c.run(op::Sethostname::new(NEW_NAME))?;
            let seen = c.run(op::Uname)?;
            c.send(&seen)?;
            c.wait_for(Cue::Release)?; // stay alive until the parent has looked
            Ok(())
        })?;
        let seen: String = child.recv(s)?;
        let ns = proc::namespace(Who::Pid(child.pid().as_raw()), "uts")?;
        let name = s.ns_name("uts", ns);
        s.observe("uts namespace of the child", &name);
        s.check("the child is in a new UTS namespace", name != "host", "new#1", &name);
        s.check_eq("hostname inside the child", NEW_NAME, &seen);
        Ok((child, ns))
    })?;
    // ANCHOR_END: unshare

    lab.step(&HOST_UNTOUCHED, |s| {
        let after = s.run(op::Uname)?;
        s.check_unchanged("the host's hostname", &before, &after);
        let ns = s.observe_ns("uts namespace of the lab", Who::This, "uts")?;
        s.check_eq("the lab is still in the host's UTS namespace", "host", ns.as_str());
        Ok(())
    })?;

    // ANCHOR: lifetime
    lab.step(&LIFETIME, |s| {
        let mut child = child;
        let held = s.run(op::Open::new(
            Arg::child_proc(child.pid(), "ns/uts"),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        ))?;
        child.tell(Cue::Release)?;
        let status = child.wait(s)?;
        s.observe("the child", child::describe(&status));
        // A new process joins the namespace through the descriptor alone.
        let mut visitor = child::spawn(s, move |c| {
            c.run(op::Setns::new(&held, CloneFlags::CLONE_NEWUTS))?;
            let seen = c.run(op::Uname)?;
            c.send(&seen)?;
            Ok(())
        })?;
        let seen: String = visitor.recv(s)?;
        visitor.wait(s)?;
        s.check_eq("after its last process, setns through the descriptor finds", NEW_NAME, seen.as_str());
        let ns = s.ns_name("uts", child_ns);
        s.observe("the namespace the descriptor held", &ns);
        s.note("The lab's copy of the descriptor is closed when the step ends: then nothing holds the namespace, and the kernel frees it.");
        Ok(())
    })?;
    // ANCHOR_END: lifetime
    Ok(())
}
