//! Lab 17: a container. Every mechanism of the earlier labs, applied in the
//! order a runtime applies them, then checked from inside by PID 1 before it
//! `execve`s the command. Seen in `/proc/PID/ns/*`, `/proc/self/mountinfo`
//! (the overlay's layers), `/proc/PID/status` (capabilities, `NoNewPrivs`,
//! `Seccomp`) and `/proc/net/dev` of the container.

use std::path::Path;

use lab_kit::cgroup::CgroupError;
use lab_kit::container::{self, Config, PhaseName, Plan};
use lab_kit::lab::CannotRun;
use lab_kit::mount;
use lab_kit::net;
use lab_kit::overlay;
use lab_kit::prelude::*;
use lab_kit::seccomp::{self, RawCall};
use nix::sys::stat::stat;
use nix::unistd::{Uid, getpid};
use serde::{Deserialize, Serialize};

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "17",
    slug: "container",
    title: "A container: every mechanism combined",
    mechanisms: &[
        Mechanism::Fork,
        Mechanism::Execve,
        Mechanism::FdInheritance,
        Mechanism::BindMount,
        Mechanism::Overlayfs,
        Mechanism::PivotRoot,
        Mechanism::Capabilities,
        Mechanism::Seccomp,
        Mechanism::NsPid,
        Mechanism::NsMnt,
        Mechanism::MountPropagation,
        Mechanism::NsUts,
        Mechanism::NsIpc,
        Mechanism::NsNet,
        Mechanism::NsUser,
        Mechanism::NsCgroup,
        Mechanism::Cgroups,
    ],
    requires: &[Requirement::Namespace("user"), Requirement::Namespace("cgroup")],
    rootless: Rootless::Manual,
    steps: &[NAMESPACES, ROOTFS, PIVOT, IDENTITY, LIMITS, RESTRICT, EXEC],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const NAMESPACES: StepDecl = StepDecl {
    title: "clone() into new namespaces, user namespace first: PID 1",
    why: "Rootless, the user namespace must come first (the kernel creates it first in one clone): it grants the capabilities to create the others, which it then owns. A new PID namespace only takes new processes, so the runtime clones its PID 1 rather than unsharing.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["mnt", "pid", "uts", "ipc", "net", "cgroup"],
    },
};
const ROOTFS: StepDecl = StepDecl {
    title: "Private mounts and a root filesystem over the host's /usr",
    why: "Propagation is made private before anything is mounted, so no mount leaks back to the host. The root is a tmpfs holding the merged-/usr links, a fresh /proc, a minimal /dev and a private /tmp; its /usr is an overlay whose lower layer is the host's /usr and whose upper layer is a tmpfs, so the container may write there while the host's files stay as they are.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const PIVOT: StepDecl = StepDecl {
    title: "pivot_root into it and detach the old root",
    why: "chroot only changes where path lookup starts; pivot_root swaps the mount namespace's root, and detaching the old one leaves nothing of the host's tree to escape to.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN]),
};
const IDENTITY: StepDecl = StepDecl {
    title: "A hostname of its own, and lo up",
    why: "The UTS namespace was made in step 1; the container now names itself. Its new network namespace has only a loopback interface, down until the container brings it up.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_ADMIN, Capability::CAP_NET_ADMIN]),
};
const LIMITS: StepDecl = StepDecl {
    title: "Resource limits through the container's cgroups",
    why: "The container's first process joined a cgroup per controller before it unshared the cgroup namespace, so everything it starts is counted there, and it sees that cgroup as its root. The limits are written from outside.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const RESTRICT: StepDecl = StepDecl {
    title: "Capabilities cut to Docker's default set, no_new_privs, no stray descriptors, a seccomp filter",
    why: "The bounding set is cut first so that no later execve can regain a capability; no_new_privs stops setuid binaries from granting more; descriptors the command must not see are marked close-on-exec. Last comes a seccomp filter like Docker's default profile, which no_new_privs allows without CAP_SYS_ADMIN and which no later call can remove.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SETPCAP]),
};
const EXEC: StepDecl = StepDecl {
    title: "Checked from inside, then execve",
    why: "PID 1 checks what it can reach before it hands over to the command: the same process, with the same restrictions, becomes the container's program.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};

const HOSTNAME: &str = "lab-17";

/// The file PID 1 writes into its root's /usr before the pivot, and the
/// one it creates there from inside: both must land in the upper layer.
const PROBE: &str = "lab-17-probe";
const PROBE_INSIDE: &str = "lab-17-inside";

/// What the container may use: processes, memory, a share of a CPU.
const CONTAINER_LIMITS: container::Limits = container::Limits {
    pids: Some(16),
    memory: Some(256 << 20),
    cpus: Some(0.5),
};

/// Forks PID 1 tries at most: far above `pids.max`, far below harm.
const FORK_CAP: usize = 64;

/// What PID 1 tells the lab, phase by phase.
#[derive(Debug, Serialize, Deserialize)]
enum Report {
    /// `getpid()` inside.
    Pid(i32),
    /// `ls /` of the assembled root, its /usr's overlay layers, and where
    /// the file written into its /usr is: in the upper layer, in the lower.
    Root {
        listing: Vec<String>,
        layers: Option<(String, String)>,
        in_upper: bool,
        in_lower: bool,
    },
    /// After `pivot_root`: the mount points, and whether the old root is listed.
    Pivoted { mounts: Vec<String>, old_root_listed: bool },
    /// The hostname and the interfaces inside.
    Identity { hostname: String, links: Vec<String> },
    /// Forks until refused: how many succeeded, the refusal, `/proc/self/cgroup`.
    Limited {
        forked: usize,
        refused: Option<i32>,
        cgroup: Vec<String>,
    },
    /// The capability sets after the restrictions.
    Restricted { cap_eff: u64, cap_bnd: u64 },
    /// Everything PID 1 checks from inside before `execve`.
    Inside(Inside),
}

/// What the lab tells PID 1 at the limits step.
#[derive(Debug, Serialize, Deserialize)]
enum Limits {
    /// The limits are written: fork until refused.
    Written,
    /// No limits for this container: go on.
    None,
}

/// What PID 1 finds out about its own container, from inside.
#[derive(Debug, Serialize, Deserialize)]
struct Inside {
    pid: i32,
    hostname: String,
    interfaces: Vec<String>,
    escape_reaches_old_root: bool,
    usr_write: Result<(), i32>,
    unshare_user: Result<(), i32>,
    keyctl: Result<(), i32>,
    proc_sys_write: Result<(), i32>,
    device_open: Result<(), i32>,
    cap_eff: u64,
    cap_bnd: u64,
    no_new_privs: u64,
    inheritable_fds: Vec<i32>,
}

/// The container as the lab holds it: its PID 1, and its cgroups (or why
/// it has none).
struct Container {
    pid1: Child,
    cgroups: Result<container::Cgroups, CannotRun>,
}

impl Container {
    fn report(&mut self, s: &mut Step<'_>) -> anyhow::Result<Report> {
        Ok(self.pid1.recv(s)?)
    }
}

fn plan(rootless: bool) -> Result<Plan, container::PlanError> {
    Plan::for_this_host(&Config {
        rootless,
        ..Config::from(HOSTNAME)
    })
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    let rootless = lab.mode() != Mode::Root;

    // ANCHOR: namespaces
    let mut ctr = lab.step(&NAMESPACES, |s| {
        // Cgroups first, where they can be written: the process joins them
        // before it unshares its cgroup namespace.
        let cgroups = match s.may(Privilege::Delegated) {
            Err(why) => Err(why),
            Ok(()) => match container::Cgroups::create(s, &CONTAINER_LIMITS) {
                Ok(cg) => Ok(cg),
                Err(CgroupError::Refused(why)) => Err(CannotRun::from(why)),
                Err(e) => return Err(e.into()),
            },
        };
        let plan = plan(rootless)?;
        let mut pid1 = container::start(s, rootless, true, |c| pid1(c, plan))?;
        let init_pid = pid1.pid().as_raw();
        match &cgroups {
            Ok(cg) => cg.join(s, init_pid, "<child>")?,
            Err(why) => s.note(format!("No cgroups for this container: {}.", why.reason)),
        }
        pid1.tell(Cue::Placed)?;
        let mut ctr = Container { pid1, cgroups };
        let Report::Pid(pid) = ctr.report(s)? else {
            bail!("PID 1 did not say its pid")
        };
        s.check_eq("getpid() in the container", &1, &pid);
        for kind in ["user", "mnt", "pid", "uts", "ipc", "net", "cgroup"] {
            let name = s.ns(Who::Pid(init_pid), kind)?;
            s.observe(format!("{kind} namespace"), &name);
            let want = if kind == "user" && !rootless { "host" } else { "new#1" };
            s.check_eq(format!("{kind} namespace of the container"), want, name.as_str());
        }
        Ok(ctr)
    })?;
    // ANCHOR_END: namespaces
    let init_pid = ctr.pid1.pid().as_raw();

    lab.step(&ROOTFS, |s| {
        ctr.pid1.tell(Cue::Release)?;
        let Report::Root {
            listing,
            layers,
            in_upper,
            in_lower,
        } = ctr.report(s)?
        else {
            bail!("PID 1 did not list its root")
        };
        s.observe("ls / of the new root", listing.join(" "));
        let (lower, upper) = layers.context("PID 1's /usr is not an overlay")?;
        s.check_eq("lowerdir of the root's /usr", "/usr", lower.as_str());
        s.check_eq("upperdir of the root's /usr", container::UPPER, upper.as_str());
        s.check(
            format!("{PROBE}, written into the root's /usr, is in the upper layer"),
            in_upper,
            "present",
            if in_upper { "present" } else { "absent" },
        );
        s.check(
            format!("the lower layer (the host's /usr) has no {PROBE}"),
            !in_lower && !Path::new("/usr").join(PROBE).exists(),
            "absent",
            "present",
        );
        let missing: Vec<&str> = ["bin", "dev", "etc", "proc", "tmp", "usr"]
            .into_iter()
            .filter(|d| !listing.iter().any(|l| l == d))
            .collect();
        s.check(
            "the new root holds /usr, the links, /proc, /dev and /tmp",
            missing.is_empty(),
            "nothing missing",
            format!("missing {missing:?}"),
        );
        Ok(())
    })?;

    lab.step(&PIVOT, |s| {
        ctr.pid1.tell(Cue::Release)?;
        let Report::Pivoted {
            mounts,
            old_root_listed,
        } = ctr.report(s)?
        else {
            bail!("PID 1 did not report its pivot")
        };
        s.observe("mount points inside", mounts.join(" "));
        s.check(
            "/proc/self/mountinfo no longer lists the old root's mount",
            !old_root_listed,
            "absent",
            if old_root_listed { "present" } else { "absent" },
        );
        Ok(())
    })?;

    lab.step(&IDENTITY, |s| {
        ctr.pid1.tell(Cue::Release)?;
        let Report::Identity { hostname, links } = ctr.report(s)? else {
            bail!("PID 1 did not report its identity")
        };
        s.check_eq("hostname inside", HOSTNAME, hostname.as_str());
        s.observe("interfaces inside", &links);
        s.check(
            "lo is the only interface, and it is up",
            links.len() == 1 && links[0].starts_with("lo ") && links[0].contains("UP"),
            "lo UP",
            links.join("; "),
        );
        Ok(())
    })?;

    // ANCHOR: limits
    let mut told = false;
    let _ = lab.step(&LIMITS, |s| {
        let cg = ctr.cgroups.as_ref().map_err(Clone::clone)?;
        cg.apply(s, &CONTAINER_LIMITS)?;
        told = true;
        ctr.pid1.send(&Limits::Written)?;
        let Report::Limited {
            forked,
            refused,
            cgroup,
        } = ctr.pid1.recv(s)?
        else {
            bail!("PID 1 did not report its forks")
        };
        let outside: Vec<&String> = cgroup.iter().filter(|l| !l.ends_with(":/")).collect();
        let shown = if outside.is_empty() {
            "/".to_string()
        } else {
            format!("{outside:?}")
        };
        s.check(
            "inside, every line of /proc/self/cgroup reads /",
            outside.is_empty(),
            "/",
            shown,
        );
        let pids = cg.group(container::Controller::Pids).context("no pids cgroup")?;
        let in_group = pids.procs().map_or(0, |p| p.len());
        s.observe("processes already in the pids cgroup", in_group);
        let refusal = match refused {
            Some(e) => format!("{:?}", Errno::from_raw(e)),
            None => format!("no refusal within the lab's cap of {FORK_CAP} forks"),
        };
        s.check_eq("a fork beyond pids.max is refused with", "EAGAIN", refusal.as_str());
        s.check_eq(
            "processes in the container at the refusal = pids.max",
            &CONTAINER_LIMITS.pids.unwrap_or(0),
            &((forked + in_group) as u64),
        );
        Ok(())
    });
    // ANCHOR_END: limits
    if !told {
        // No limits to check (skipped, or no cgroups): PID 1 goes on. Should
        // the channel be broken, the next step reports it.
        let _ = ctr.pid1.send(&Limits::None);
    }

    lab.step(&RESTRICT, |s| {
        ctr.pid1.tell(Cue::Release)?;
        let Report::Restricted { cap_eff, cap_bnd } = ctr.report(s)? else {
            bail!("PID 1 did not report its capabilities")
        };
        // Read by the lab, from the host: the kernel's own account of PID 1.
        let filter = seccomp::status(Who::Pid(init_pid))?.context("this kernel shows no Seccomp: line")?;
        s.observe("Seccomp of PID 1", format!("{} ({})", filter.mode, filter.mode_name()));
        s.check_eq("Seccomp of PID 1 (2: a filter)", &2, &filter.mode);
        // Filters stack: PID 1 has the container's above any the lab itself runs under.
        let inherited = seccomp::status(Who::This)?.and_then(|st| st.filters).unwrap_or(0);
        if let Some(filters) = filter.filters {
            s.check_eq(
                "Seccomp_filters of PID 1: one more than the lab's",
                &(inherited + 1),
                &filters,
            );
        }
        s.observe("CapEff", proc::cap_names(cap_eff));
        let want = container::default_caps_mask();
        s.check_eq(
            "effective set is the default set",
            &proc::cap_names(want),
            &proc::cap_names(cap_eff),
        );
        s.check_eq(
            "bounding set is the default set",
            &proc::cap_names(want),
            &proc::cap_names(cap_bnd),
        );
        Ok(())
    })?;

    // ANCHOR: checks
    lab.step(&EXEC, |s| {
        ctr.pid1.tell(Cue::Release)?;
        let Report::Inside(inside) = ctr.report(s)? else {
            bail!("PID 1 did not report from inside")
        };
        s.check_eq("it is PID 1", &1, &inside.pid);
        s.check_eq("it sees its own hostname", HOSTNAME, inside.hostname.as_str());
        s.check_eq("it sees only lo", "lo", inside.interfaces.join(" ").as_str());
        s.check(
            "the chroot escape does not reach the host's root",
            !inside.escape_reaches_old_root,
            "stays inside",
            if inside.escape_reaches_old_root {
                "reached the old root"
            } else {
                "stays inside"
            },
        );
        let usr_write = inside.usr_write.map_err(Errno::from_raw);
        s.check(
            format!("creating /usr/{PROBE_INSIDE} inside (it lands in the upper layer)"),
            usr_write.is_ok(),
            "Ok(())",
            format!("{usr_write:?}"),
        );
        s.check(
            format!("the host's /usr has no {PROBE_INSIDE}"),
            !Path::new("/usr").join(PROBE_INSIDE).exists(),
            "absent",
            "present",
        );
        s.check_errno(
            "unshare(CLONE_NEWUSER) is refused by the filter",
            Errno::EPERM,
            &inside.unshare_user.map_err(Errno::from_raw),
        );
        s.check_errno(
            "keyctl() is refused by the filter",
            Errno::EPERM,
            &inside.keyctl.map_err(Errno::from_raw),
        );
        // Read-only in any case (EROFS); when the container's root is not
        // the host's, the file's owner refuses first (EACCES).
        let sys = inside.proc_sys_write.map_err(Errno::from_raw);
        s.check(
            "writing /proc/sys/kernel/core_pattern is refused",
            matches!(sys, Err(Errno::EROFS | Errno::EACCES)),
            "EROFS or EACCES",
            format!("{sys:?}"),
        );
        let device = inside.device_open.map_err(Errno::from_raw);
        let refused = matches!(device, Err(Errno::EPERM | Errno::EACCES));
        s.check(
            "a device node for the host's disk cannot be made or opened",
            refused,
            "EPERM or EACCES",
            format!("{device:?}"),
        );
        s.check_eq(
            "CapEff is Docker's default set",
            &proc::cap_names(container::default_caps_mask()),
            &proc::cap_names(inside.cap_eff),
        );
        s.check_eq(
            "CapBnd is Docker's default set",
            &proc::cap_names(container::default_caps_mask()),
            &proc::cap_names(inside.cap_bnd),
        );
        s.check_eq("NoNewPrivs", &1, &inside.no_new_privs);
        s.check(
            "only stdin, stdout and stderr survive execve",
            inside.inheritable_fds.is_empty(),
            "none above 2",
            format!("{:?}", inside.inheritable_fds),
        );
        if rootless {
            let outside = proc::status(Who::Pid(init_pid))?.euid;
            s.check_eq(
                "uid 0 inside is the caller outside",
                &Uid::effective().as_raw(),
                &outside,
            );
        }
        ctr.pid1.tell(Cue::Release)?;
        let status = ctr.pid1.wait(s)?;
        s.observe("the command `sh -c 'exit 7'`", child::describe(&status));
        s.check_eq(
            "execve ran the command as the container's PID 1",
            "exited 7",
            child::describe(&status).as_str(),
        );
        Ok(())
    })?;
    // ANCHOR_END: checks
    Ok(())
}

// ANCHOR: pid1
/// PID 1 of the container: the plan's phases, one per step, each when the
/// lab says go; after each, a report of what it sees from inside.
fn pid1(c: &mut ChildCtx, plan: Plan) -> anyhow::Result<()> {
    c.send(&Report::Pid(getpid().as_raw()))?;

    c.wait_for(Cue::Release)?;
    plan.phase(PhaseName::Mounts).run(c)?;
    plan.phase(PhaseName::Rootfs).run(c)?;
    let usr = plan.stage.at("/usr");
    let layers = overlay::options_at(Who::This, &usr)?.map(|o| (o.lowerdir.join(":"), o.upperdir.unwrap_or_default()));
    c.run(op::Open::create(
        format!("{usr}/{PROBE}"),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        0o644,
    ))?;
    c.send(&Report::Root {
        listing: ls(Path::new(&plan.stage.root()))?,
        layers,
        in_upper: Path::new(&plan.stage.upper()).join(PROBE).is_file(),
        in_lower: Path::new("/usr").join(PROBE).exists(),
    })?;

    c.wait_for(Cue::Release)?;
    let old_root = stat("/")?;
    let old_mount = mount::mountinfo_at(Who::This, "/")?.map(|m| m.mnt_id);
    plan.phase(PhaseName::Pivot).run(c)?;
    let table = mount::mountinfo(Who::This)?;
    c.send(&Report::Pivoted {
        old_root_listed: table.iter().any(|m| Some(m.mnt_id) == old_mount),
        mounts: table.iter().map(|m| m.mount_point.display().to_string()).collect(),
    })?;

    c.wait_for(Cue::Release)?;
    plan.phase(PhaseName::Identity).run(c)?;
    c.send(&Report::Identity {
        hostname: nix::unistd::gethostname()?.to_string_lossy().into_owned(),
        links: net::describe(&net::Netlink::open()?.links()?),
    })?;

    if let Limits::Written = c.recv()? {
        let (children, refused) = ops::fork_until_refused(c, FORK_CAP);
        ops::kill_and_reap(&children);
        let cgroup = std::fs::read_to_string("/proc/self/cgroup")?
            .lines()
            .map(String::from)
            .collect();
        c.send(&Report::Limited {
            forked: children.len(),
            refused: refused.map(|e| e as i32),
            cgroup,
        })?;
    }

    c.wait_for(Cue::Release)?;
    plan.phase(PhaseName::Restrict).run(c)?;
    let st = proc::status(Who::This)?;
    c.send(&Report::Restricted {
        cap_eff: st.capeff,
        cap_bnd: st.capbnd.unwrap_or(0),
    })?;

    c.wait_for(Cue::Release)?;
    let inside = Inside {
        pid: getpid().as_raw(),
        hostname: nix::unistd::gethostname()?.to_string_lossy().into_owned(),
        interfaces: procfs::net::dev_status()?.into_keys().collect(),
        escape_reaches_old_root: escape_reaches(c, old_root),
        usr_write: probe_write(&format!("/usr/{PROBE_INSIDE}")),
        unshare_user: c
            .run(op::Unshare(nix::sched::CloneFlags::CLONE_NEWUSER))
            .map_err(|e| e as i32),
        keyctl: match RawCall::native("keyctl") {
            Some(call) => c.run(call).map(drop).map_err(|e| e as i32),
            None => Err(Errno::ENOSYS as i32),
        },
        proc_sys_write: std::fs::OpenOptions::new()
            .append(true)
            .open("/proc/sys/kernel/core_pattern")
            .map(drop)
            .map_err(|e| lab_kit::narrate::errno_of_io(&e) as i32),
        device_open: device_open(),
        cap_eff: st.capeff,
        cap_bnd: st.capbnd.unwrap_or(0),
        no_new_privs: st.nonewprivs.unwrap_or(0),
        inheritable_fds: proc::inheritable_fds()?,
    };
    c.send(&Report::Inside(inside))?;
    c.wait_for(Cue::Release)?;
    Err(container::exec(&["/bin/sh".into(), "-c".into(), "exit 7".into()]))
}
// ANCHOR_END: pid1

/// The chroot escape, from inside: chroot into a subdirectory, climb out
/// with `..`, chroot to where the climb ended. Does it reach the old root?
/// It runs in a child, which is thrown away: PID 1 must keep its root.
fn escape_reaches(c: &mut ChildCtx, old_root: nix::sys::stat::FileStat) -> bool {
    let attempt = child::spawn(c, move |e| {
        e.run(op::Mkdir::new("/tmp/escape"))?;
        let top = e.run(op::Open::new("/", OFlag::O_DIRECTORY | OFlag::O_CLOEXEC))?;
        e.run(op::Chroot::new("/tmp/escape"))?;
        ops::escape_chroot(e, std::os::fd::AsFd::as_fd(&top))?;
        let now = stat("/")?;
        e.send(&((now.st_dev, now.st_ino) == (old_root.st_dev, old_root.st_ino)))?;
        Ok(())
    });
    let Ok(mut attempt) = attempt else { return false };
    let reached = attempt.recv::<bool>(c).unwrap_or(false);
    let _ = attempt.wait(c);
    reached
}

/// Make a block device node for the first virtio disk and open it: a
/// container must not reach the host's devices (`mknod` is refused in a
/// user namespace; elsewhere `/dev` is `nodev`, so opening is refused).
fn device_open() -> Result<(), i32> {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    let path = "/dev/lab-17-disk";
    mknod(path, SFlag::S_IFBLK, Mode::from_bits_truncate(0o600), makedev(254, 0)).map_err(|e| e as i32)?;
    let res = std::fs::File::open(path)
        .map(drop)
        .map_err(|e| lab_kit::narrate::errno_of_io(&e) as i32);
    let _ = std::fs::remove_file(path);
    res
}

/// Try to create a file; remove it at once if that worked (it must not).
fn probe_write(path: &str) -> Result<(), i32> {
    match std::fs::File::create(path) {
        Ok(_) => {
            let _ = std::fs::remove_file(path);
            Ok(())
        }
        Err(e) => Err(lab_kit::narrate::errno_of_io(&e) as i32),
    }
}

fn ls(root: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(root)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    Ok(v)
}
