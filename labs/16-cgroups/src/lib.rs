//! Lab 16: control groups. A cgroup is a directory in a cgroup filesystem;
//! the processes listed in its `cgroup.procs` share the limits written to its
//! files. Seen in `/proc/self/cgroup`, `/proc/cgroups`, `/proc/self/mountinfo`
//! and the files of each cgroup: `pids.max`, `memory.max` or
//! `memory.limit_in_bytes`, `cpu.max` or `cpu.cfs_quota_us`, `cgroup.freeze`
//! or `freezer.state`, `cgroup.kill`, and the counters beside them.

use std::time::{Duration, Instant};

use lab_kit::cgroup::{self, Layout, RunGuard};
use lab_kit::lab::CannotRun;
use lab_kit::prelude::*;
use lab_kit::sys::Forked;
use nix::time::{ClockId, clock_gettime};
use nix::unistd::pause;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "16",
    slug: "cgroups",
    title: "cgroups: limits the kernel enforces on a group of processes",
    mechanisms: &[Mechanism::Cgroups],
    // No requirement to probe up front: a machine without the cgroup
    // filesystem, or without a controller, says so in the step that needs it.
    requires: &[],
    rootless: Rootless::Manual,
    steps: &[LAYOUT, CREATE, PIDS, MEMORY, CPU, FREEZE, KILL, CLEANUP],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const LAYOUT: StepDecl = StepDecl {
    title: "Where each controller lives: v2, v1 or hybrid",
    why: "A controller sits on one hierarchy: the unified v2 one, or a v1 hierarchy of its own. Distributions differ, so the lab reads the mounts and /proc/cgroups and uses, per controller, the hierarchy that holds it.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const CREATE: StepDecl = StepDecl {
    title: "A cgroup is a directory; moving a process in is a write",
    why: "mkdir creates a cgroup, writing a pid to cgroup.procs (tasks in v1) moves that process, and its children are born in the same cgroup. Everything the lab makes sits under one parent, container-labs, and is removed at the end.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const PIDS: StepDecl = StepDecl {
    title: "pids.max: fork fails with EAGAIN at the limit",
    why: "The pids controller counts the processes of the group; at pids.max the kernel refuses fork() with EAGAIN and counts the refusal in pids.events. This is what stops a fork bomb in a container.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const MEMORY: StepDecl = StepDecl {
    title: "A memory limit: the OOM killer ends the process that exceeds it",
    why: "When a group's pages exceed its limit and cannot be reclaimed (no swap for the group), the kernel's OOM killer kills a process of that group only, and counts it.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const CPU: StepDecl = StepDecl {
    title: "A CPU quota: 10 ms of CPU time per 100 ms",
    why: "The CPU bandwidth controller lets the group run for its quota in each period, then throttles it until the next. A busy loop gets about 10% of one CPU, whatever the load.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const FREEZE: StepDecl = StepDecl {
    title: "Freezing a group stops it; thawing resumes it",
    why: "The freezer takes every process of the group off the CPU without a signal it could notice; a thawed group goes on where it stopped. Runtimes use it for `pause`.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const KILL: StepDecl = StepDecl {
    title: "Killing a whole group at once",
    why: "cgroup.kill (v2, Linux 5.14+) sends SIGKILL to every process of the group in one write, with no race against fork. Without it, freeze the group, kill each pid of cgroup.procs, thaw.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};
const CLEANUP: StepDecl = StepDecl {
    title: "Everything the lab made is removed",
    why: "A cgroup outlives its processes until someone removes it: the lab kills what is left, removes the leaves first, then its own directories. A reaper process does the same if the lab is killed.",
    privilege: Privilege::Delegated,
    needs: Needs::NOTHING,
};

const PIDS_MAX: u64 = 5;
/// Forks the lab tries at most: far above the limit, far below harm.
const FORK_CAP: usize = 64;

/// The errno that refused a fork, or that none did before the lab's cap.
fn refusal(errno: Option<i32>) -> String {
    match errno {
        Some(e) => format!("{:?}", Errno::from_raw(e)),
        None => format!("no refusal within the lab's cap of {FORK_CAP} forks"),
    }
}
const MEMORY_LIMIT: u64 = 32 << 20;
const TOUCHED: usize = 128 << 20;
const QUOTA_US: u64 = 10_000;
const PERIOD_US: u64 = 100_000;
const BUSY: Duration = Duration::from_millis(500);

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: layout
    let layout = lab.step(&LAYOUT, |s| {
        let layout = Layout::read()?;
        s.observe("layout", layout.mode.as_str());
        for c in ["pids", "memory", "cpu"] {
            let at = layout.holder(c).map_or("none".into(), |h| h.describe());
            s.observe(format!("{c} controller"), at);
        }
        let freezer = layout.freezer().map_or("none".into(), |h| h.describe());
        s.observe("freezer", freezer);
        let own = cgroup::proc_cgroup(Who::This)?;
        // Where the lab runs depends on who started it: the paths go to a note.
        s.note(format!("/proc/self/cgroup of the lab: {}", cgroup::lines_text(&own)));
        let hierarchies: Vec<&str> = own.iter().map(|(h, _)| h.as_str()).collect();
        s.observe("hierarchies in /proc/self/cgroup of the lab", &hierarchies);
        let listed = layout
            .hierarchies
            .iter()
            .filter(|h| own.iter().any(|(l, _)| cgroup::label(h) == *l))
            .count();
        s.check_eq(
            "each mounted hierarchy has its line in /proc/self/cgroup",
            &layout.hierarchies.len(),
            &listed,
        );
        Ok(layout)
    })?;
    // ANCHOR_END: layout

    // ANCHOR: create
    let (mut guard, pids, mut forker) = lab.step(&CREATE, |s| {
        let mut guard = RunGuard::create(s, &layout)?;
        let pids = guard.group_for(s, "pids", "pids")?;
        let h = layout.holder("pids").cloned().context("no pids hierarchy")?;
        let mut forker = child::spawn(s, move |c| {
            c.wait_for(Cue::Placed)?;
            c.send(&cgroup::cgroup_of(Who::This, &h)?)?;
            c.wait_for(Cue::Release)?; // the limit is set
            fork_until_refused(c)
        })?;
        pids.add(s, forker.pid().as_raw(), "<child>")?;
        forker.tell(Cue::Placed)?;
        let seen: String = forker.recv(s)?;
        s.observe("the child's cgroup in /proc/self/cgroup", pids.normalize(&seen));
        s.check_eq(
            "the child reads the lab's cgroup as its own",
            pids.shown_cgroup().as_str(),
            pids.normalize(&seen).as_str(),
        );
        let listed = pids.procs()?.contains(&forker.pid().as_raw());
        s.check(
            "cgroup.procs lists the child",
            listed,
            "listed",
            if listed { "listed" } else { "absent" },
        );
        Ok((guard, pids, forker))
    })?;
    // ANCHOR_END: create

    // ANCHOR: pids
    lab.step(&PIDS, |s| {
        let refused_before = pids.pids_max_events()?;
        pids.set_pids_max(s, PIDS_MAX)?;
        forker.tell(Cue::Release)?;
        let (forked, errno): (u64, Option<i32>) = forker.recv(s)?;
        s.observe("forks that succeeded", forked);
        s.check_eq("fork() is refused with", "EAGAIN", refusal(errno).as_str());
        let current = pids.read_u64("pids.current")?;
        s.observe("pids.current", current);
        s.check_eq("exactly pids.max processes exist", &PIDS_MAX, &current);
        let refused = pids.pids_max_events()? - refused_before;
        s.check("pids.events counts the refusal", refused >= 1, "grew", grew(refused));
        Ok(())
    })?;
    drop(forker); // SIGKILL; its children die with it (PR_SET_PDEATHSIG)
    // ANCHOR_END: pids

    // ANCHOR: memory
    lab.step(&MEMORY, |s| {
        let mem = guard.group_for(s, "memory", "memory")?;
        let before = mem.oom_kills()?;
        mem.set_memory_limit(s, MEMORY_LIMIT)?;
        let mut hog = child::spawn(s, |c| {
            c.wait_for(Cue::Release)?;
            let mut pages = vec![0u8; TOUCHED];
            for i in (0..TOUCHED).step_by(4096) {
                pages[i] = 1; // the first write to a page allocates it
            }
            c.send(&std::hint::black_box(pages).len())?;
            Ok(())
        })?;
        mem.add(s, hog.pid().as_raw(), "<child>")?;
        hog.tell(Cue::Release)?;
        let status = hog.wait(s)?;
        s.observe("the child touching 128 MiB", child::describe(&status));
        s.check_eq(
            "it was killed by SIGKILL",
            "killed by SIGKILL",
            child::describe(&status).as_str(),
        );
        for ((file, b), (_, a)) in before.iter().zip(mem.oom_kills()?) {
            s.check(format!("{file} counts it"), a > *b, "grew", grew(a - b));
        }
        Ok(())
    })?;
    // ANCHOR_END: memory

    // ANCHOR: cpu
    lab.step(&CPU, |s| {
        let cpu = guard.group_for(s, "cpu", "cpu")?;
        cpu.set_cpu_quota(s, QUOTA_US, PERIOD_US)?;
        let mut busy = child::spawn(s, |c| {
            c.wait_for(Cue::Release)?;
            c.send(&busy_loop(BUSY)?)?;
            Ok(())
        })?;
        cpu.add(s, busy.pid().as_raw(), "<child>")?;
        busy.tell(Cue::Release)?;
        let (cpu_ns, wall_ns): (u64, u64) = busy.recv(s)?;
        busy.wait(s)?;
        let share = cpu_ns as f64 / wall_ns as f64;
        // The number depends on the machine: it goes to a note, the check holds its outcome.
        s.note(format!(
            "the busy loop ran {} ms of CPU time in {} ms: {:.1}% of a CPU",
            cpu_ns / 1_000_000,
            wall_ns / 1_000_000,
            share * 100.0
        ));
        // At most the quota plus the kernel's slack (a tick per period); at
        // least a little, even when other work shares the CPUs.
        let within = (0.02..=0.20).contains(&share);
        let bucket = "between 2% and 20% of a CPU";
        s.check(
            "the busy loop gets about 10% of a CPU",
            within,
            bucket,
            if within {
                bucket.to_string()
            } else {
                format!("{:.1}%", share * 100.0)
            },
        );
        let throttled = cpu.throttled_periods()?;
        s.check(
            "cpu.stat counts throttled periods",
            throttled > 0,
            "some",
            if throttled > 0 { "some" } else { "none" },
        );
        Ok(())
    })?;
    // ANCHOR_END: cpu

    // ANCHOR: freeze
    lab.step(&FREEZE, |s| {
        let h = layout
            .freezer()
            .cloned()
            .ok_or_else(|| CannotRun::unsupported("no freezer: neither a v1 freezer hierarchy nor cgroup v2"))?;
        let group = guard.group_in(s, &h, "freezer", &[])?;
        let spinner = child::spawn(s, |c| {
            c.wait_for(Cue::Release)?;
            let mut counter = 0u64;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        })?;
        group.add(s, spinner.pid().as_raw(), "<child>")?;
        let mut spinner = spinner;
        spinner.tell(Cue::Release)?;
        let clock = ClockId::pid_cpu_clock_id(spinner.pid())?;
        let runs = |d: Duration| -> anyhow::Result<bool> { Ok(cpu_time_in(clock, d)? > 0) };
        let moved = until(|| runs(Duration::from_millis(20)))?;
        s.check("the counter runs", moved, "progress", progress(moved));
        // Nothing may end the step between freeze and thaw: a v1-frozen
        // child cannot die, and its handle waits for it when dropped.
        let frozen = group.freeze(s, true)?;
        s.check_eq("the kernel reports the group frozen", &true, &frozen);
        let moved = runs(Duration::from_millis(150));
        let thawed = group.freeze(s, false)?;
        let moved = moved?;
        s.check(
            "frozen, it gets no CPU time in 150 ms",
            !moved,
            "no progress",
            progress(moved),
        );
        s.check_eq("the kernel reports the group thawed", &true, &thawed);
        let moved = until(|| runs(Duration::from_millis(20)))?;
        s.check("thawed, it runs again", moved, "progress", progress(moved));
        Ok(())
    })?;
    // ANCHOR_END: freeze

    // ANCHOR: kill
    lab.step(&KILL, |s| {
        let h = layout
            .killer()
            .cloned()
            .ok_or_else(|| CannotRun::unsupported("no cgroup v2 and no v1 freezer to kill a group with"))?;
        let group = guard.group_in(s, &h, "kill", &[])?;
        if group.version() == cgroup::Version::V2 && !group.has("cgroup.kill") {
            s.note("this kernel has no cgroup.kill (Linux 5.14+): the manual way follows");
        }
        let mut family = child::spawn(s, |c| {
            c.wait_for(Cue::Release)?;
            for _ in 0..3 {
                if let Forked::Child = op::fork_narrated(c, &op::Fork::new(CloneFlags::empty()))? {
                    loop {
                        pause();
                    }
                }
            }
            c.tell(Cue::Ready)?;
            loop {
                pause();
            }
        })?;
        group.add(s, family.pid().as_raw(), "<child>")?;
        family.tell(Cue::Release)?;
        family.wait_for(Cue::Ready, s)?;
        let before = group.procs()?.len();
        s.observe("processes in the group", before);
        s.check_eq("the child and its three children are in it", &4, &before);
        group.kill_all(s)?;
        let status = family.reap()?;
        s.check_eq(
            "the child was killed by SIGKILL",
            "killed by SIGKILL",
            child::describe(&status).as_str(),
        );
        let emptied = group.wait_until(Duration::from_secs(1), |g| g.procs().is_ok_and(|p| p.is_empty()));
        s.check(
            "no process is left in the group",
            emptied,
            "empty",
            if emptied { "empty" } else { "not empty" },
        );
        Ok(())
    })?;
    // ANCHOR_END: kill

    // ANCHOR: cleanup
    lab.step(&CLEANUP, move |s| {
        drop(pids);
        let left = guard.close(s);
        s.check("no cgroup of the run remains", left.is_empty(), "none", leftover(&left));
        let children = proc::children_of(nix::unistd::getpid().as_raw());
        s.check_eq("no child process of the lab remains", &0, &children.len());
        Ok(())
    })?;
    // ANCHOR_END: cleanup
    Ok(())
}

/// In the child: fork until the kernel refuses; the new processes sleep.
fn fork_until_refused(c: &mut ChildCtx) -> anyhow::Result<()> {
    let (children, errno) = ops::fork_until_refused(c, FORK_CAP);
    c.send(&(children.len() as u64, errno.map(|e| e as i32)))?;
    c.wait_for(Cue::Release)?; // until the lab is done looking
    Ok(())
}

/// Spin for `wall`; the CPU time it got and the wall time it took, in ns.
fn busy_loop(wall: Duration) -> anyhow::Result<(u64, u64)> {
    let clock = ClockId::CLOCK_PROCESS_CPUTIME_ID;
    let start = Instant::now();
    let cpu0 = clock_gettime(clock)?;
    let mut x = 0u64;
    while start.elapsed() < wall {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    let cpu = clock_gettime(clock)? - cpu0;
    let ns = |t: nix::sys::time::TimeSpec| (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64;
    Ok((ns(cpu), start.elapsed().as_nanos() as u64))
}

/// The CPU time a process (its clock) gets during `d`, in ns.
fn cpu_time_in(clock: ClockId, d: Duration) -> anyhow::Result<i64> {
    let a = clock_gettime(clock)?;
    std::thread::sleep(d);
    let b = clock_gettime(clock)?;
    let diff = b - a;
    Ok(diff.tv_sec() * 1_000_000_000 + diff.tv_nsec())
}

/// Retry `f` for up to a second (a loaded machine may not schedule a process at once).
fn until(mut f: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<bool> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if f()? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn leftover(left: &[String]) -> String {
    if left.is_empty() {
        "none".into()
    } else {
        left.join(", ")
    }
}

fn grew(by: u64) -> String {
    if by > 0 { "grew".into() } else { "unchanged".into() }
}

fn progress(moved: bool) -> &'static str {
    if moved { "progress" } else { "no progress" }
}
