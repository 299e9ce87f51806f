//! Lab 13: the user namespace. Created without privilege, it makes its
//! creator root inside, with every capability, over what the namespace owns
//! and nothing else. Seen in `/proc/PID/uid_map`, `gid_map`, `setgroups`,
//! `/proc/PID/status` (`Uid`, `CapEff`) and `/proc/PID/ns/user`.

use lab_kit::prelude::*;
use nix::unistd::{Uid, gethostname, getuid};

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "13",
    slug: "user",
    title: "User namespace: root inside, nobody special outside",
    mechanisms: &[Mechanism::NsUser],
    requires: &[Requirement::Namespace("user")],
    rootless: Rootless::Manual,
    steps: &[CALLER, CREATE, MAP, POWERLESS, OWN_NS],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const CALLER: StepDecl = StepDecl {
    title: "Who the lab runs as",
    why: "The lesson works the same for root and for an unprivileged user: that is the point of user namespaces.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const CREATE: StepDecl = StepDecl {
    title: "A child creates a user namespace, without privilege",
    why: "unshare(CLONE_NEWUSER) needs no capability. Until a mapping is written, the child's uid inside is the overflow uid, yet it holds a full capability set in the new namespace.",
    privilege: Privilege::Userns,
    needs: Needs::namespaces(&["user"]),
};
const MAP: StepDecl = StepDecl {
    title: "The parent maps uid 0 inside to the caller outside",
    why: "uid_map and gid_map translate ids between the namespace and its parent. An unprivileged parent may map exactly one id: its own. For gid_map it must first deny setgroups.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const POWERLESS: StepDecl = StepDecl {
    title: "Capabilities stop at what the namespace does not own",
    why: "Every other namespace is owned by a user namespace. The host's UTS namespace belongs to the initial one, so root with all capabilities inside may not rename the host.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const OWN_NS: StepDecl = StepDecl {
    title: "...and reach what it creates",
    why: "A UTS namespace created from inside is owned by the new user namespace, so the same capabilities now work: this is how rootless containers get their own hostname.",
    privilege: Privilege::Userns,
    needs: Needs::namespaces(&["uts"]),
};

/// What the child reports about itself.
#[derive(serde::Serialize, serde::Deserialize)]
struct Me {
    uid: u32,
    cap_eff: String,
}

fn me() -> anyhow::Result<Me> {
    let st = proc::status(Who::This)?;
    Ok(Me {
        uid: getuid().as_raw(),
        cap_eff: proc::cap_names(st.capeff),
    })
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let caller = Uid::effective().as_raw();
    lab.step(&CALLER, |s| {
        s.observe(
            "euid",
            if caller == 0 {
                "root (0)"
            } else {
                "an unprivileged user"
            },
        );
        s.observe_ns("user namespace of the lab", Who::This, "user")?;
        Ok(())
    })?;

    // ANCHOR: create
    let mut child = lab.step(&CREATE, |s| {
        let mut child = child::spawn(s, |c| {
            ops::unshare_ns(c, CloneFlags::CLONE_NEWUSER)?;
            c.send(&me()?)?;
            c.wait_for(Cue::Release)?; // the parent has written the maps
            c.send(&me()?)?;
            c.wait_for(Cue::Release)?;
            let res = c.run(op::Sethostname::new("lab-11"));
            c.send(&res.map_err(|e| e as i32))?;
            c.wait_for(Cue::Release)?;
            ops::unshare_ns(c, CloneFlags::CLONE_NEWUTS)?;
            let res = c.run(op::Sethostname::new("lab-11"));
            c.send(&res.map_err(|e| e as i32))?;
            c.send(&gethostname()?.to_string_lossy())?;
            Ok(())
        })?;
        let before: Me = child.recv(s)?;
        let ns = s.observe_ns("user namespace of the child", Who::Pid(child.pid().as_raw()), "user")?;
        s.check_eq("the child is in a new user namespace", "new#1", ns.as_str());
        let overflow = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
            .context("reading /proc/sys/kernel/overflowuid")?
            .trim()
            .parse::<u32>()
            .context("parsing /proc/sys/kernel/overflowuid")?;
        s.observe("getuid() inside, before a mapping", before.uid);
        s.check_eq("unmapped, the child is the overflow uid", &overflow, &before.uid);
        s.observe("CapEff inside", &before.cap_eff);
        s.check_eq(
            "it has every capability in the new namespace",
            "full",
            before.cap_eff.as_str(),
        );
        Ok(child)
    })?;
    // ANCHOR_END: create

    // ANCHOR: map
    lab.step(&MAP, |s| {
        let pid = child.pid().as_raw();
        let egid = nix::unistd::Gid::effective().as_raw();
        for (file, content, shown) in [
            ("setgroups", "deny".to_string(), "deny"),
            ("uid_map", format!("0 {caller} 1"), "0 <caller uid> 1"),
            ("gid_map", format!("0 {egid} 1"), "0 <caller gid> 1"),
        ] {
            s.run(op::WriteFile::new(
                Arg::child_proc(child.pid(), file),
                Arg::shown_as(content, shown),
            ))?;
        }
        child.tell(Cue::Release)?;
        let after: Me = child.recv(s)?;
        s.observe("getuid() inside", after.uid);
        s.check_eq("inside, the child is root", &0, &after.uid);
        let outside = proc::status(Who::Pid(pid))?.euid;
        s.check_eq("outside, it is still the caller", &caller, &outside);
        s.observe(
            "outside, the child's uid is",
            if outside == caller { "the caller's" } else { "another" },
        );
        Ok(())
    })?;
    // ANCHOR_END: map

    // ANCHOR: powerless
    lab.step(&POWERLESS, |s| {
        child.tell(Cue::Release)?;
        let res: Result<(), i32> = child.recv(s)?;
        let res = res.map_err(Errno::from_raw);
        let uts = s.observe_ns("UTS namespace of the child", Who::Pid(child.pid().as_raw()), "uts")?;
        s.check_eq("the child is still in the host's UTS namespace", "host", uts.as_str());
        s.check_errno("sethostname on the host's UTS namespace is refused", Errno::EPERM, &res);
        Ok(())
    })?;
    // ANCHOR_END: powerless

    lab.step(&OWN_NS, |s| {
        let before = gethostname()?;
        child.tell(Cue::Release)?;
        let res: Result<(), i32> = child.recv(s)?;
        s.check_ok(
            "sethostname in a UTS namespace the child created",
            &res.map_err(Errno::from_raw),
        );
        let name: String = child.recv(s)?;
        s.check_eq("the child's hostname", "lab-11", name.as_str());
        child.wait(s)?;
        let after = gethostname()?;
        s.check_unchanged(
            "the host's hostname",
            &before.to_string_lossy(),
            &after.to_string_lossy(),
        );
        Ok(())
    })?;
    Ok(())
}
