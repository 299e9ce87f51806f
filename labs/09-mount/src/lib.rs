//! Lab 09: the mount namespace and mount propagation. A new mount namespace
//! is a copy of the caller's mount table; whether a later mount or unmount
//! reaches the other copy depends on each mount's propagation type, shown in
//! the optional fields of `/proc/PID/mountinfo`.
//!
//! Everything happens under a scratch tmpfs in the lab's private mount
//! namespace, between it and children's copies of it: nothing reaches the host.

use lab_kit::mount::{self, Agent, MountCmd, PeerGroups, Propagation};
use lab_kit::prelude::*;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "09",
    slug: "mount",
    title: "Mount namespace and mount propagation",
    mechanisms: &[Mechanism::NsMnt, Mechanism::MountPropagation],
    requires: &[Requirement::Namespace("mnt")],
    rootless: Rootless::EnterUserns,
    steps: &[COPY, SHARED, SLAVE, PRIVATE, UNBINDABLE, PIVOT],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const COPY: StepDecl = StepDecl {
    title: "A new mount namespace is a copy; private mounts stay on their side",
    why: "unshare(CLONE_NEWNS) copies the caller's mount table. Between private mounts nothing propagates: an unmount in the copy leaves the original mounted, a new mount in the original does not appear in the copy.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const SHARED: StepDecl = StepDecl {
    title: "shared: mounts propagate both ways",
    why: "The copy of a shared mount joins its peer group (same shared:N), and mount events under any peer reach all of them. This is why `unshare` makes everything private first: otherwise the new namespace's mounts would show up on the host.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const SLAVE: StepDecl = StepDecl {
    title: "slave: from the master only",
    why: "A slave (master:N) still receives mounts from its former peer group but sends nothing back: what `unshare --propagation slave` and most container runtimes use.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const PRIVATE: StepDecl = StepDecl {
    title: "private: neither way",
    why: "A private mount has no optional field in mountinfo: it neither sends nor receives mount events.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const UNBINDABLE: StepDecl = StepDecl {
    title: "unbindable: private, and no bind mounts of it",
    why: "An unbindable mount refuses to be the source of a bind mount (EINVAL), which keeps recursive bind mounts from copying it over and over.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const PIVOT: StepDecl = StepDecl {
    title: "pivot_root refuses a shared root",
    why: "pivot_root moves the old root mount away; with a shared / that move would have to propagate to the peers, so the kernel refuses with EINVAL until / is private.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};

const SHARED_DIR: &str = "/tmp/shared";

fn tmpfs(name: &str, target: &str) -> MountCmd {
    MountCmd::Tmpfs {
        source: name.into(),
        target: target.into(),
    }
}

fn make(target: &str, propagation: Propagation) -> MountCmd {
    MountCmd::Propagation {
        target: target.into(),
        propagation,
        recursive: false,
    }
}

fn pivot(new_root: &str, put_old: &str) -> MountCmd {
    MountCmd::PivotRoot {
        new_root: new_root.into(),
        put_old: put_old.into(),
    }
}

/// Mount a tmpfs at `target` (creating the directory) in the lab's namespace.
fn mount_here(s: &mut impl Narrate, name: &str, target: &str) -> anyhow::Result<()> {
    mount::mkdir(s, target)?;
    mount::mount_fs(s, name, target, "tmpfs")?;
    Ok(())
}

/// Mount a tmpfs at `target` (creating the directory) in the agent's namespace.
fn mount_there(s: &mut impl Narrate, agent: &mut Agent, name: &str, target: &str) -> anyhow::Result<()> {
    agent.run(s, MountCmd::Mkdir(target.into()))??;
    agent.run(s, tmpfs(name, target))??;
    Ok(())
}

/// Record and check where `path` is mounted: in the lab, in the child.
fn expect_seen(s: &mut impl Narrate, agent: &Agent, path: &str, in_lab: bool, in_child: bool) -> anyhow::Result<()> {
    let word = |b: bool| if b { "mounted" } else { "not mounted" };
    for (who, side, expected) in [(Who::This, "the lab", in_lab), (agent.who(), "the child", in_child)] {
        let seen = mount::visibility(who, path)?;
        s.observe(format!("{path} in {side}"), seen);
        s.check_eq(format!("{path} in {side}"), word(expected), seen);
    }
    Ok(())
}

/// Record the normalized propagation of `path` on both sides.
fn observe_propagation(
    s: &mut impl Narrate,
    peers: &mut PeerGroups,
    agent: &Agent,
    path: &str,
) -> anyhow::Result<(String, String)> {
    let here = peers.of(Who::This, path)?;
    let there = peers.of(agent.who(), path)?;
    s.observe(format!("mountinfo of {path} in the lab"), &here);
    s.observe(format!("mountinfo of {path} in the child"), &there);
    Ok((here, there))
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let mut peers = PeerGroups::default();

    // ANCHOR: copy
    lab.step(&COPY, |s| {
        ops::private_mount_ns(s)?;
        ops::scratch(s)?;
        let own = s.observe_ns("mount namespace of the lab", Who::This, "mnt")?;
        s.check_eq("the lab works in a private mount namespace", "new#1", own.as_str());
        mount::mkdir(s, "/tmp/src")?;
        mount::mkdir(s, "/tmp/a")?;
        mount::bind(s, "/tmp/src", "/tmp/a", false)?;
        let mut agent = Agent::spawn(s)?;
        let ns = s.observe_ns("mount namespace of the child", agent.who(), "mnt")?;
        s.check_eq("the child has a mount namespace of its own", "new#2", ns.as_str());
        let (here, _) = observe_propagation(s, &mut peers, &agent, "/tmp/a")?;
        s.check_eq("after MS_REC|MS_PRIVATE, mounts are private", "private", here.as_str());
        expect_seen(s, &agent, "/tmp/a", true, true)?;
        agent.run(s, MountCmd::Unmount("/tmp/a".into()))??;
        expect_seen(s, &agent, "/tmp/a", true, false)?;
        mount_here(s, "lab-b", "/tmp/b")?;
        expect_seen(s, &agent, "/tmp/b", true, false)?;
        agent.finish(s)?;
        Ok(())
    })?;
    // ANCHOR_END: copy

    // ANCHOR: shared
    lab.step(&SHARED, |s| {
        mount_here(s, "lab-shared", SHARED_DIR)?;
        mount::set_propagation(s, SHARED_DIR, Propagation::Shared, false)?;
        let mut agent = Agent::spawn(s)?;
        let (here, there) = observe_propagation(s, &mut peers, &agent, SHARED_DIR)?;
        s.check_eq("the lab's mount is shared", "shared:A", here.as_str());
        s.check_eq("its copy is in the same peer group", "shared:A", there.as_str());
        mount_here(s, "lab-1", "/tmp/shared/from-lab")?;
        expect_seen(s, &agent, "/tmp/shared/from-lab", true, true)?;
        mount_there(s, &mut agent, "lab-2", "/tmp/shared/from-child")?;
        expect_seen(s, &agent, "/tmp/shared/from-child", true, true)?;
        agent.finish(s)?;
        Ok(())
    })?;
    // ANCHOR_END: shared

    // ANCHOR: slave
    lab.step(&SLAVE, |s| {
        let mut agent = Agent::spawn(s)?;
        agent.run(s, make(SHARED_DIR, Propagation::Slave))??;
        let (here, there) = observe_propagation(s, &mut peers, &agent, SHARED_DIR)?;
        s.check_eq("the lab's mount is still shared", "shared:A", here.as_str());
        s.check_eq(
            "the child's copy is a slave of that peer group",
            "master:A",
            there.as_str(),
        );
        mount_here(s, "lab-3", "/tmp/shared/to-slave")?;
        expect_seen(s, &agent, "/tmp/shared/to-slave", true, true)?;
        mount_there(s, &mut agent, "lab-4", "/tmp/shared/from-slave")?;
        expect_seen(s, &agent, "/tmp/shared/from-slave", false, true)?;
        agent.finish(s)?;
        Ok(())
    })?;
    // ANCHOR_END: slave

    lab.step(&PRIVATE, |s| {
        let mut agent = Agent::spawn(s)?;
        agent.run(s, make(SHARED_DIR, Propagation::Private))??;
        let (_, there) = observe_propagation(s, &mut peers, &agent, SHARED_DIR)?;
        s.check_eq("the child's copy is private", "private", there.as_str());
        mount_here(s, "lab-5", "/tmp/shared/to-private")?;
        expect_seen(s, &agent, "/tmp/shared/to-private", true, false)?;
        mount_there(s, &mut agent, "lab-6", "/tmp/shared/from-private")?;
        expect_seen(s, &agent, "/tmp/shared/from-private", false, true)?;
        agent.finish(s)?;
        Ok(())
    })?;

    lab.step(&UNBINDABLE, |s| {
        mount_here(s, "lab-unbindable", "/tmp/unbindable")?;
        mount::set_propagation(s, "/tmp/unbindable", Propagation::Unbindable, false)?;
        let seen = peers.of(Who::This, "/tmp/unbindable")?;
        s.observe("mountinfo of /tmp/unbindable", &seen);
        s.check_eq("mountinfo says unbindable", "unbindable", seen.as_str());
        mount::mkdir(s, "/tmp/copy")?;
        let res = mount::bind(s, "/tmp/unbindable", "/tmp/copy", false);
        s.check_errno("a bind mount of it is refused", Errno::EINVAL, &res);
        Ok(())
    })?;

    // ANCHOR: pivot
    lab.step(&PIVOT, |s| {
        let mut agent = Agent::spawn(s)?;
        // First, like a container runtime, the child moves into a root of its
        // own (a tmpfs, private like everything under /tmp), so that its "/"
        // is a mount the lab may make shared.
        agent.run(s, MountCmd::Mkdir("/tmp/box".into()))??;
        agent.run(s, tmpfs("lab-box", "/tmp/box"))??;
        agent.run(s, MountCmd::Mkdir("/tmp/box/old".into()))??;
        agent.run(s, pivot("/tmp/box", "/tmp/box/old"))??;
        agent.run(s, MountCmd::Mkdir("/new".into()))??;
        agent.run(s, tmpfs("lab-new", "/new"))??;
        agent.run(s, MountCmd::Mkdir("/new/old".into()))??;
        agent.run(s, make("/", Propagation::Shared))??;
        let root = peers.of(agent.who(), "/")?;
        s.observe("mountinfo of / in the child", &root);
        s.check_eq("the child's / is shared", "shared:B", root.as_str());
        let res = agent.run(s, pivot("/new", "/new/old"))?;
        s.check_errno("pivot_root with a shared /", Errno::EINVAL, &res);
        agent.run(s, make("/", Propagation::Private))??;
        let res = agent.run(s, pivot("/new", "/new/old"))?;
        s.check_ok("pivot_root once / is private", &res);
        // Which filesystems now sit at / and /old tells the swap happened:
        // the new root is lab-new, and the old one (lab-box) moved to /old.
        let source = |at: &str| -> anyhow::Result<String> {
            Ok(mount::mountinfo_at(agent.who(), at)?
                .and_then(|m| m.mount_source)
                .unwrap_or_else(|| "nothing".into()))
        };
        let (new_root, old_root) = (source("/")?, source("/old")?);
        s.observe("mounted at / in the child", &new_root);
        s.observe("mounted at /old in the child", &old_root);
        s.check_eq("the new root is the lab-new tmpfs", "lab-new", new_root.as_str());
        s.check_eq(
            "the old root (lab-box) is now mounted at /old",
            "lab-box",
            old_root.as_str(),
        );
        agent.finish(s)?;
        Ok(())
    })?;
    // ANCHOR_END: pivot
    Ok(())
}
