//! Lab 12: the IPC namespace. System V message queues, semaphore sets and
//! shared memory segments, and POSIX message queues, exist per IPC namespace:
//! `/proc/sysvipc/*` lists those of the reader's namespace, an `mqueue` mount
//! those of the mounter's.
//!
//! The lab never creates an object in the host's IPC namespace: its
//! "outside" is a fresh namespace it enters first, so even a SIGKILL leaves
//! nothing behind (the objects die with the namespace).

use lab_kit::ipc::{self, SysvKind};
use lab_kit::mount;
use lab_kit::prelude::*;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "12",
    slug: "ipc",
    title: "IPC namespace: queues and shared memory",
    mechanisms: &[Mechanism::NsIpc],
    requires: &[Requirement::Namespace("ipc")],
    rootless: Rootless::EnterUserns,
    steps: &[OWN_NS, OUTSIDE, INSIDE, SEPARATE, MQUEUE],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const OWN_NS: StepDecl = StepDecl {
    title: "The lab leaves the host's IPC namespace first",
    why: "Everything the lab creates must vanish with it, even on SIGKILL. SysV objects outlive their creator, but not their namespace, so the lab's \"outside\" is a fresh IPC namespace: it starts empty.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["ipc"],
    },
};
const OUTSIDE: StepDecl = StepDecl {
    title: "Outside: a message queue, a semaphore set, a shared memory segment",
    why: "A System V object is found by its key in the caller's IPC namespace; /proc/sysvipc lists the reader's namespace's objects.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const INSIDE: StepDecl = StepDecl {
    title: "Inside a new IPC namespace none of them exists",
    why: "A child born with CLONE_NEWIPC starts with no objects at all, and its keys are its own: IPC_EXCL with the same key succeeds.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["ipc"],
    },
};
const SEPARATE: StepDecl = StepDecl {
    title: "Same key, two objects: removing one leaves the other",
    why: "The two namespaces hold two distinct objects under one key; each side sees and removes only its own.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const MQUEUE: StepDecl = StepDecl {
    title: "POSIX message queues belong to the namespace too",
    why: "mq_open(3) names a queue in the caller's IPC namespace; mounting the mqueue filesystem inside shows that namespace's queues as files.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};

/// "Lab\x10": the key every object of the lab uses.
const KEY: i32 = 0x4c61_6210;
const QUEUE: &str = "/lab-10";

/// Keys of each kind, as `ipcs` would print them.
type Listing = Vec<(String, Vec<String>)>;

fn listing() -> anyhow::Result<Listing> {
    SysvKind::ALL
        .iter()
        .map(|k| {
            let keys = ipc::keys(*k)?;
            Ok((
                k.proc_path().to_string(),
                keys.iter().map(|key| format!("{key:#010x}")).collect(),
            ))
        })
        .collect()
}

fn observe_listing(s: &mut impl Narrate, whose: &str, l: &Listing) {
    for (path, keys) in l {
        s.observe(format!("{path} {whose}"), keys);
    }
}

fn expect_listing(s: &mut impl Narrate, claim: &str, l: &Listing, expected: &[&str]) {
    for (path, keys) in l {
        s.check_eq(
            format!("{claim}: {path}"),
            expected.join(" ").as_str(),
            keys.join(" ").as_str(),
        );
    }
}

fn create_all(n: &mut impl Narrate) -> anyhow::Result<Vec<(SysvKind, i32)>> {
    SysvKind::ALL
        .iter()
        .map(|k| Ok((*k, ipc::create(n, *k, KEY)?)))
        .collect()
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let key = format!("{KEY:#010x}");

    // ANCHOR: own_ns
    lab.step(&OWN_NS, |s| {
        ops::unshare_ns(s, CloneFlags::CLONE_NEWIPC)?;
        let ns = s.observe_ns("IPC namespace of the lab (\"outside\")", Who::This, "ipc")?;
        s.check_eq("the lab is in an IPC namespace of its own", "new#1", ns.as_str());
        let l = listing()?;
        observe_listing(s, "outside", &l);
        expect_listing(s, "a new IPC namespace is empty", &l, &[]);
        Ok(())
    })?;
    // ANCHOR_END: own_ns

    // ANCHOR: outside
    let ours = lab.step(&OUTSIDE, |s| {
        let ours = create_all(s)?;
        let l = listing()?;
        observe_listing(s, "outside", &l);
        expect_listing(s, "listed outside", &l, &[&key]);
        Ok(ours)
    })?;
    // ANCHOR_END: outside

    // ANCHOR: inside
    let mut child = lab.step(&INSIDE, |s| {
        let mut child = child::spawn_in(s, CloneFlags::CLONE_NEWIPC, |c| {
            c.send(&listing()?)?;
            create_all(c)?;
            c.send(&listing()?)?;
            c.wait_for(Cue::Release)?; // the parent has removed its objects
            c.send(&listing()?)?;
            c.wait_for(Cue::Release)?;
            mqueue_inside(c)?;
            c.wait_for(Cue::Release)?; // the parent has looked for the queue
            Ok(())
        })?;
        s.note("clone(CLONE_NEWIPC): the child is born in a new IPC namespace.");
        let ns = s.observe_ns("IPC namespace of the child", Who::Pid(child.pid().as_raw()), "ipc")?;
        s.check_eq("the child is in another IPC namespace", "new#2", ns.as_str());
        let before: Listing = child.recv(s)?;
        observe_listing(s, "inside, at birth", &before);
        expect_listing(s, "nothing from outside is listed inside", &before, &[]);
        let after: Listing = child.recv(s)?;
        observe_listing(s, "inside, after creating", &after);
        expect_listing(s, "the same key is free inside", &after, &[&key]);
        let outside = listing()?;
        expect_listing(s, "outside still lists exactly one", &outside, &[&key]);
        Ok(child)
    })?;
    // ANCHOR_END: inside

    lab.step(&SEPARATE, |s| {
        for (kind, id) in &ours {
            ipc::remove(s, *kind, *id)?;
        }
        let outside = listing()?;
        observe_listing(s, "outside", &outside);
        expect_listing(s, "outside, the objects are gone", &outside, &[]);
        child.tell(Cue::Release)?;
        let inside: Listing = child.recv(s)?;
        observe_listing(s, "inside", &inside);
        expect_listing(s, "inside, the child's objects remain", &inside, &[&key]);
        Ok(())
    })?;

    // ANCHOR: mqueue
    lab.step(&MQUEUE, |s| {
        child.tell(Cue::Release)?;
        let files: Vec<String> = child.recv(s)?;
        s.observe("files in the child's mqueue mount", &files);
        s.check_eq(
            "the queue is a file of the child's mqueue",
            "lab-10",
            files.join(" ").as_str(),
        );
        let res = s.run(ipc::MqOpen {
            name: QUEUE.into(),
            create: None,
        });
        s.check_errno("outside, the queue does not exist", Errno::ENOENT, &res);
        child.tell(Cue::Release)?;
        child.wait(s)?;
        s.note("The child has exited: its IPC namespace, and every object in it, is gone.");
        Ok(())
    })?;
    // ANCHOR_END: mqueue
    Ok(())
}

// ANCHOR: mqueue_inside
/// In the child: a POSIX message queue, and an mqueue mount that shows it.
fn mqueue_inside(c: &mut ChildCtx) -> anyhow::Result<()> {
    ops::private_mount_ns(c)?;
    ops::scratch(c)?;
    mount::mkdir(c, "/tmp/mqueue")?;
    mount::mount_fs(c, "mqueue", "/tmp/mqueue", "mqueue")?;
    c.run(ipc::MqOpen {
        name: QUEUE.into(),
        create: Some((4, 64)),
    })?;
    let mut files: Vec<String> = std::fs::read_dir("/tmp/mqueue")
        .context("listing /tmp/mqueue")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    c.send(&files)?;
    Ok(())
}
// ANCHOR_END: mqueue_inside
