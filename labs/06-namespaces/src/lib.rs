//! Lab 06: namespaces overview. Every process is in one namespace of each
//! type, listed in `/proc/PID/ns`; a namespace is identified by the device and
//! inode of those files. `clone`, `unshare` and `setns` create and join them;
//! a process, an open descriptor or a bind mount keeps one alive.

use lab_kit::mount;
use lab_kit::prelude::*;
use lab_kit::proc::{NS_TYPES, NsId};
use nix::unistd::{gethostname, getpid};

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "06",
    slug: "namespaces",
    title: "Namespaces overview: make, join, keep, list",
    mechanisms: &[Mechanism::NsOverview],
    requires: &[Requirement::Namespace("uts")],
    rootless: Rootless::EnterUserns,
    steps: &[TYPES, IDENTITY, CALLS, LISTING, LIFETIME],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const TYPES: StepDecl = StepDecl {
    title: "A process is in one namespace of each type",
    why: "/proc/PID/ns has one entry per namespace type the kernel knows; each names the namespace the process is in.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const IDENTITY: StepDecl = StepDecl {
    title: "A namespace is its device and inode number",
    why: "Two processes are in the same namespace exactly when their /proc/PID/ns/TYPE files have the same device and inode: what `ls -iL /proc/PID/ns` prints.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["uts"],
    },
};
const CALLS: StepDecl = StepDecl {
    title: "clone makes a process in new namespaces, setns joins one",
    why: "clone(CLONE_NEW*) creates a process in new namespaces, unshare moves the caller, setns moves the caller into the namespace behind a descriptor of /proc/PID/ns/TYPE (what nsenter does).",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["uts", "ipc"],
    },
};
const LIFETIME: StepDecl = StepDecl {
    title: "A bind mount keeps a namespace alive without any process",
    why: "A namespace lives while a process, an open descriptor or a bind mount of its file holds it: that is how `ip netns add` keeps network namespaces.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt", "uts"],
    },
};
const LISTING: StepDecl = StepDecl {
    title: "Listing namespaces like lsns",
    why: "Grouping every process by its /proc/PID/ns identities lists the machine's namespaces and who is in each.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["uts", "net"],
    },
};

/// The types in which two processes differ.
fn differing(a: Who, b: Who) -> anyhow::Result<Vec<String>> {
    let (a, b) = (proc::namespaces(a)?, proc::namespaces(b)?);
    Ok(NS_TYPES
        .iter()
        .filter(|t| a.get(**t) != b.get(**t))
        .map(|t| t.to_string())
        .collect())
}

/// The identity of the namespace behind a file (a bind mount of an ns file).
fn ns_of_file(path: &str) -> anyhow::Result<NsId> {
    let st = nix::sys::stat::stat(path).with_context(|| format!("stat({path})"))?;
    Ok(NsId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// `setns(open(path), CLONE_NEWUTS)` in a new child; what it then reads as hostname.
fn join_uts(s: &mut impl Narrate, path: &str, shown: &str) -> anyhow::Result<Result<String, Errno>> {
    let file = s.run(op::Open::new(
        Arg::shown_as(path, shown),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
    ))?;
    let mut joiner = child::spawn(s, |c| {
        let res = c.run(op::Setns::new(&file, CloneFlags::CLONE_NEWUTS));
        let name = res.and_then(|()| gethostname().map(|h| h.to_string_lossy().into_owned()));
        c.send(&name.map_err(|e| e as i32))?;
        Ok(())
    })?;
    let res: Result<String, i32> = joiner.recv(s)?;
    joiner.wait(s)?;
    Ok(res.map_err(Errno::from_raw))
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    lab.step(&TYPES, |s| {
        let mut types: Vec<String> = std::fs::read_dir("/proc/self/ns")
            .context("listing /proc/self/ns")?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        types.sort();
        s.observe("/proc/self/ns", &types);
        let unknown: Vec<&String> = types.iter().filter(|t| !NS_TYPES.contains(&t.as_str())).collect();
        let actual = if unknown.is_empty() {
            "none unknown".to_string()
        } else {
            format!("{unknown:?}")
        };
        s.check("every entry is a namespace type", unknown.is_empty(), "none unknown", actual);
        // Whether PID 1 can be read depends on the machine (ptrace rules), so
        // the comparison is told, not recorded.
        match differing(Who::This, Who::Pid(1)) {
            Ok(d) if d.is_empty() => s.note("The lab shares every namespace with PID 1."),
            Ok(d) => s.note(format!("The lab is not in PID 1's {} namespace(s).", d.join(", "))),
            Err(e) => s.note(format!(
                "PID 1's namespaces cannot be compared here ({e}): reading another process's /proc/PID/ns needs ptrace access to it."
            )),
        }
        Ok(())
    })?;

    // ANCHOR: identity
    // Children are kept alive until the end, so that no namespace the lab
    // names is freed and its inode reused for a later one.
    let unsharer = lab.step(&IDENTITY, |s| {
        let link = nix::fcntl::readlink("/proc/self/ns/uts").context("readlink(/proc/self/ns/uts)")?;
        let link = link.to_string_lossy().into_owned();
        let own = proc::namespace(Who::This, "uts")?;
        s.observe("readlink(/proc/self/ns/uts)", "uts:[<inode>]");
        let same = link == format!("uts:[{}]", own.ino);
        s.check(
            "the number in the link is the inode that stat() gives",
            same,
            "the same number",
            if same { "the same number" } else { "another number" },
        );
        let mut child = child::spawn(s, |c| {
            c.wait_for(Cue::Release)?;
            ops::unshare_ns(c, CloneFlags::CLONE_NEWUTS)?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        let who = Who::Pid(child.pid().as_raw());
        let d = differing(Who::This, who)?;
        s.observe("types in which a forked child differs from the lab", &d);
        s.check_eq("fork() shares every namespace", "", d.join(" ").as_str());
        child.tell(Cue::Release)?;
        child.wait_for(Cue::Ready, s)?;
        let d = differing(Who::This, who)?;
        s.observe("after the child's unshare, they differ in", &d);
        s.check_eq(
            "unshare(CLONE_NEWUTS) changed only the UTS namespace",
            "uts",
            d.join(" ").as_str(),
        );
        s.observe_ns("uts namespace of the child", who, "uts")?;
        s.note("The child stays alive until the end of the lab, and so does its namespace.");
        Ok(child)
    })?;
    // ANCHOR_END: identity

    // ANCHOR: calls
    let cloned = lab.step(&CALLS, |s| {
        let flags = CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC;
        let mut made = child::spawn_in(s, flags, |c| {
            c.run(op::Sethostname::new("lab-05"))?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        made.wait_for(Cue::Ready, s)?;
        let who = Who::Pid(made.pid().as_raw());
        let d = differing(Who::This, who)?;
        s.observe("the cloned child differs from the lab in", &d);
        s.check_eq(
            "born in exactly the namespaces asked for",
            "ipc uts",
            d.join(" ").as_str(),
        );
        let target = s.observe_ns("uts namespace of the cloned child", who, "uts")?;
        let joined = join_uts(s, &format!("/proc/{}/ns/uts", made.pid()), "/proc/<child>/ns/uts")?;
        s.check_eq(
            "after setns, another child reads the cloned child's hostname",
            "lab-05",
            joined.unwrap_or_else(|e| format!("setns: {e:?}")).as_str(),
        );
        s.observe("namespace joined", &target);
        Ok(made)
    })?;
    // ANCHOR_END: calls

    // ANCHOR: listing
    let listed = lab.step(&LISTING, |s| {
        let first = child::spawn_in(s, CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWNET, |c| {
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        let file = s.run(op::Open::new(
            Arg::child_proc(first.pid(), "ns/uts"),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        ))?;
        let mut second = child::spawn(s, |c| {
            c.run(op::Setns::new(&file, CloneFlags::CLONE_NEWUTS))?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        second.wait_for(Cue::Ready, s)?;
        let ours = [
            (getpid().as_raw(), "the lab"),
            (unsharer.pid().as_raw(), "step-2 child"),
            (cloned.pid().as_raw(), "step-3 child"),
            (first.pid().as_raw(), "child 1"),
            (second.pid().as_raw(), "child 2"),
        ];
        let relation = |p: &i32| ours.iter().find(|(q, _)| q == p).map(|(_, r)| *r);
        s.note("TYPE    NAME     NPROCS  LOWEST     COMMAND");
        let mut own = Vec::new();
        for row in proc::census() {
            // Only the namespaces the lab's processes are in; "host" ones hold
            // the machine's other processes, whose number and pids vary.
            if !row.pids.iter().any(|p| relation(p).is_some()) {
                continue;
            }
            let name = s.ns_name(&row.kind, row.id);
            let lowest = row.pids.first().and_then(relation).unwrap_or("a host process");
            // How many of the machine's other processes share a namespace
            // changes from one run to the next: not a number to print.
            let nprocs = if row.pids.iter().all(|p| relation(p).is_some()) {
                row.pids.len().to_string()
            } else {
                "many".to_string()
            };
            s.note(format!(
                "{:<7} {:<8} {:>6}  {:<10} {}",
                row.kind, name, nprocs, lowest, row.command
            ));
            if name != "host" {
                // In the order of `ours`, not by pid: pids may wrap around.
                let members: Vec<&str> = ours
                    .iter()
                    .filter(|(p, _)| row.pids.contains(p))
                    .map(|(_, r)| *r)
                    .collect();
                own.push((
                    format!("{} {name}", row.kind),
                    format!("{} process(es): {}", row.pids.len(), members.join(", ")),
                ));
            }
        }
        own.sort();
        for (name, value) in own {
            s.observe(name, value);
        }
        let target = proc::namespace(Who::Pid(first.pid().as_raw()), "uts")?;
        let uts = s.ns_name("uts", target);
        let members = proc::processes_in("uts", target);
        s.check_eq(
            format!("uts {uts} holds child 1 (clone) and child 2 (setns)").as_str(),
            &2,
            &members,
        );
        Ok([first, second])
    })?;
    // ANCHOR_END: listing
    let kept = (unsharer, cloned, listed);

    lab.step(&LIFETIME, lifetime)?;
    drop(kept); // kills and reaps the children
    Ok(())
}

// ANCHOR: lifetime
/// Step 5: a UTS namespace kept by a bind mount of its file, then released.
fn lifetime(s: &mut Step<'_>) -> anyhow::Result<()> {
    ops::private_mount_ns(s)?;
    ops::scratch(s)?;
    mount::touch(s, "/tmp/uts")?;
    let mut holder = child::spawn_in(s, CloneFlags::CLONE_NEWUTS, |c| {
        c.run(op::Sethostname::new("lab-05-kept"))?;
        c.tell(Cue::Ready)?;
        c.wait_for(Cue::Release)?;
        Ok(())
    })?;
    holder.wait_for(Cue::Ready, s)?;
    let pid = holder.pid().as_raw();
    let id = proc::namespace(Who::Pid(pid), "uts")?;
    let name = s.ns_name("uts", id);
    s.observe("uts namespace of the child", &name);
    mount::bind_as(s, Arg::child_proc(holder.pid(), "ns/uts"), "/tmp/uts")?;
    holder.tell(Cue::Release)?;
    holder.wait(s)?;
    s.note("The child has exited: no process is in its UTS namespace any more.");
    let left = proc::processes_in("uts", id);
    s.check_eq("processes left in the namespace", &0, &left);
    let held = ns_of_file("/tmp/uts")?;
    let held = s.ns_name("uts", held);
    s.observe("namespace behind /tmp/uts", &held);
    s.check_eq("the bind mount still holds it", name.as_str(), held.as_str());
    let joined = join_uts(s, "/tmp/uts", "/tmp/uts")?;
    s.check_eq(
        "setns through the file finds the child's hostname",
        "lab-05-kept",
        joined.unwrap_or_else(|e| format!("setns: {e:?}")).as_str(),
    );
    mount::unmount(s, "/tmp/uts")?;
    let after = join_uts(s, "/tmp/uts", "/tmp/uts")?;
    s.check_errno(
        "after the unmount /tmp/uts is an empty file: setns refuses it",
        Errno::EINVAL,
        &after,
    );
    s.note("Nothing holds the namespace any more, so the kernel has freed it.");
    Ok(())
}
// ANCHOR_END: lifetime
