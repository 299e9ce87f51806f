//! Lab 14: the cgroup namespace. It changes no limit: it changes where a
//! process's view of the cgroup tree starts. After `unshare(CLONE_NEWCGROUP)`
//! the caller's cgroups (in every hierarchy) are its root: seen in
//! `/proc/self/cgroup`, `/proc/PID/ns/cgroup`, and a cgroup filesystem mounted
//! inside, which shows only that subtree.

use lab_kit::cgroup::{self, Hierarchy, Layout, RunGuard, Version};
use lab_kit::lab::CannotRun;
use lab_kit::prelude::*;
use nix::unistd::{getpid, pause};

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "14",
    slug: "cgroupns",
    title: "cgroup namespace: your own cgroup is the root",
    mechanisms: &[Mechanism::NsCgroup],
    requires: &[Requirement::Namespace("cgroup")],
    rootless: Rootless::EnterUserns,
    steps: &[BEFORE, MOVE, UNSHARE, MOUNT, CLEANUP],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const BEFORE: StepDecl = StepDecl {
    title: "Before: /proc/self/cgroup shows paths from each hierarchy's root",
    why: "Outside a cgroup namespace of its own, a process sees the whole path of its cgroup, in every hierarchy: how the host organizes its processes leaks to it.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const MOVE: StepDecl = StepDecl {
    title: "Two children move into cgroups of the lab",
    why: "A cgroup namespace takes the caller's cgroups at the time of unshare as its root, so the child first moves into a cgroup the lab made (a sibling goes into another, to be seen from inside).",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const UNSHARE: StepDecl = StepDecl {
    title: "unshare(CLONE_NEWCGROUP): the child's cgroup becomes /",
    why: "Inside the new namespace every line of /proc/self/cgroup reads /, in every hierarchy (v1 and v2 alike); another process's cgroup reads relative to the namespace root, with .. for what lies above.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["cgroup"],
    },
};
const MOUNT: StepDecl = StepDecl {
    title: "A cgroup filesystem mounted inside shows only the subtree",
    why: "Mounting a cgroup hierarchy from inside the namespace mounts its root, which is the child's cgroup: the host's tree above it, the lab's parent and the sibling are out of sight. This is what a container sees at /sys/fs/cgroup.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt"],
    },
};
const CLEANUP: StepDecl = StepDecl {
    title: "The lab's cgroups are removed",
    why: "cgroups stay on the host until removed; the lab removes its own, leaves first, and a reaper does it if the lab is killed.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};

/// What the child sees from inside its namespace, sent to the lab.
#[derive(serde::Serialize, serde::Deserialize)]
struct Inside {
    own: Vec<(String, String)>,
    sibling: Vec<(String, String)>,
}

/// What a cgroup filesystem mounted inside shows.
#[derive(serde::Serialize, serde::Deserialize)]
struct Mounted {
    hierarchy: String,
    only_me: bool,
    subdirs: Vec<String>,
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: before
    let layout = lab.step(&BEFORE, |s| {
        let layout = Layout::read()?;
        s.observe("layout", layout.mode.as_str());
        s.observe_ns("cgroup namespace of the lab", Who::This, "cgroup")?;
        let own = cgroup::proc_cgroup(Who::This)?;
        // Where the lab runs depends on who started it: the paths go to a note.
        s.note(format!("/proc/self/cgroup of the lab: {}", cgroup::lines_text(&own)));
        let full = own.iter().all(|(_, p)| p.starts_with('/') && !p.contains(".."));
        s.check(
            "every path starts at its hierarchy's root",
            full,
            "from /",
            if full { "from /" } else { "relative" },
        );
        s.check_eq("one line per mounted hierarchy", &layout.hierarchies.len(), &own.len());
        Ok(layout)
    })?;
    // ANCHOR_END: before

    // ANCHOR: move
    let (guard, mut inner, sibling, chosen_labels) = lab.step(&MOVE, |s| {
        let mut guard = RunGuard::create(s, &layout)?;
        // The v2 hierarchy and one v1 hierarchy: the lesson holds for every one.
        let chosen = chosen(&guard.hierarchies());
        if chosen.is_empty() {
            // Nothing to move into: the steps below would check nothing.
            return Err(CannotRun::unsupported("no cgroup hierarchy this run may use is mounted").into());
        }
        let mut ns_groups = Vec::new();
        let mut sibling_groups = Vec::new();
        for h in &chosen {
            ns_groups.push((h.clone(), guard.group_in(s, h, "ns", &[])?));
            sibling_groups.push(guard.group_in(s, h, "sibling", &[])?);
        }
        let sibling = child::spawn(s, |c| {
            c.wait_for(Cue::Release)?;
            loop {
                pause();
            }
        })?;
        for g in &sibling_groups {
            g.add(s, sibling.pid().as_raw(), "<sibling>")?;
        }
        let to_mount = chosen.clone();
        let sibling_pid = sibling.pid().as_raw();
        let inner = child::spawn(s, move |c| inside(c, sibling_pid, to_mount))?;
        for (_, g) in &ns_groups {
            g.add(s, inner.pid().as_raw(), "<child>")?;
        }
        let seen = cgroup::proc_cgroup(Who::Pid(inner.pid().as_raw()))?;
        let norm = guard.norm();
        let outside = |p: &str| match p {
            p if p.contains(cgroup::PARENT) => norm.apply(p),
            _ => "<the lab's cgroup>".to_string(),
        };
        s.observe("/proc/CHILD/cgroup, read by the lab", shown(&seen, outside));
        let moved = ns_groups
            .iter()
            .all(|(h, g)| seen.iter().any(|(l, p)| *l == cgroup::label(h) && p == g.cgroup()));
        s.check(
            "the child is in the lab's cgroup in each hierarchy chosen",
            moved,
            "moved",
            if moved { "moved" } else { "not moved" },
        );
        let labels = chosen.iter().map(cgroup::label).collect::<Vec<_>>();
        Ok((guard, inner, sibling, labels))
    })?;
    // ANCHOR_END: move

    // ANCHOR: unshare
    lab.step(&UNSHARE, |s| {
        inner.tell(Cue::Release)?;
        let seen: Inside = inner.recv(s)?;
        let ns = s.observe_ns(
            "cgroup namespace of the child",
            Who::Pid(inner.pid().as_raw()),
            "cgroup",
        )?;
        s.check_eq("the child is in a new cgroup namespace", "new#1", ns.as_str());
        s.observe("its /proc/self/cgroup", shown(&seen.own, |p| p.to_string()));
        let all_root = seen.own.iter().all(|(_, p)| p == "/");
        s.check(
            "every line reads /",
            all_root,
            "/",
            if all_root { "/" } else { "a longer path" },
        );
        s.observe(
            "the sibling's /proc/PID/cgroup, read from inside",
            shown(&seen.sibling, |p| p.to_string()),
        );
        let in_scope: Vec<String> = chosen_labels.clone();
        let relative = seen
            .sibling
            .iter()
            .filter(|(l, _)| in_scope.contains(l))
            .all(|(_, p)| p == "/../sibling");
        s.check(
            "the sibling's cgroup reads relative to the namespace root",
            relative,
            "/../sibling",
            if relative { "/../sibling" } else { "another path" },
        );
        Ok(())
    })?;
    // ANCHOR_END: unshare

    // ANCHOR: mount
    lab.step(&MOUNT, |s| {
        inner.tell(Cue::Release)?;
        let mounted: Vec<Mounted> = inner.recv(s)?;
        for m in &mounted {
            s.observe(
                format!("directories at the root of the {} mount", m.hierarchy),
                &m.subdirs,
            );
            s.check(
                format!(
                    "the {} mount's root is the namespace root: the child alone is in it",
                    m.hierarchy
                ),
                m.only_me,
                "only the child",
                if m.only_me { "only the child" } else { "other processes" },
            );
            s.check(
                format!("the {} mount shows nothing above or beside it", m.hierarchy),
                m.subdirs.is_empty(),
                "no subdirectory",
                if m.subdirs.is_empty() {
                    "no subdirectory".to_string()
                } else {
                    m.subdirs.join(" ")
                },
            );
        }
        inner.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: mount

    lab.step(&CLEANUP, move |s| {
        drop(sibling); // SIGKILL and reap
        let left = guard.close(s);
        let shown = if left.is_empty() {
            "none".to_string()
        } else {
            left.join(", ")
        };
        s.check("no cgroup of the run remains", left.is_empty(), "none", shown);
        Ok(())
    })?;
    Ok(())
}

// ANCHOR: inside
/// In the child: unshare, report what it sees, then mount the hierarchies.
fn inside(c: &mut ChildCtx, sibling: i32, to_mount: Vec<Hierarchy>) -> anyhow::Result<()> {
    c.wait_for(Cue::Release)?;
    ops::unshare_ns(c, CloneFlags::CLONE_NEWCGROUP)?;
    let own = cgroup::proc_cgroup(Who::This)?;
    let sibling = cgroup::proc_cgroup(Who::Pid(sibling))?;
    c.send(&Inside { own, sibling })?;
    c.wait_for(Cue::Release)?;
    ops::private_mount_ns(c)?;
    ops::scratch(c)?;
    let mut mounted = Vec::new();
    for h in to_mount {
        let target = format!("/tmp/{}", h.version.as_str());
        std::fs::create_dir(&target).with_context(|| format!("mkdir {target}"))?;
        cgroup::mount_hierarchy(c, &h, &target)?;
        let procs = std::fs::read_to_string(format!("{target}/cgroup.procs")).context("reading cgroup.procs")?;
        let only_me = procs.split_whitespace().collect::<Vec<_>>() == [getpid().as_raw().to_string()];
        let mut subdirs: Vec<String> = std::fs::read_dir(&target)
            .with_context(|| format!("listing {target}"))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        subdirs.sort();
        mounted.push(Mounted {
            hierarchy: h.version.as_str().to_string(),
            only_me,
            subdirs,
        });
    }
    c.send(&mounted)?;
    Ok(())
}
// ANCHOR_END: inside

/// The hierarchies the lab uses: the v2 one, and one v1 hierarchy with a
/// controller (pids if there is one), among those the run may use.
fn chosen(usable: &[&Hierarchy]) -> Vec<Hierarchy> {
    let v2 = usable.iter().find(|h| h.version == Version::V2);
    let v1 = usable
        .iter()
        .filter(|h| h.version == Version::V1 && !h.controllers.is_empty())
        .min_by_key(|h| !h.holds("pids"));
    v2.into_iter().chain(v1).map(|h| (*h).clone()).collect()
}

/// `/proc/PID/cgroup` lines as `hierarchy: path`, the path passed through `path`.
fn shown(lines: &[(String, String)], path: impl Fn(&str) -> String) -> Vec<String> {
    lines.iter().map(|(h, p)| format!("{h}: {}", path(p))).collect()
}
