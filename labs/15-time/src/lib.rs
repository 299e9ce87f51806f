//! Lab 15: the time namespace. `unshare(CLONE_NEWTIME)` prepares a namespace
//! for the caller's children whose `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` run
//! at an offset; `CLOCK_REALTIME` is shared by all. Seen in
//! `/proc/PID/ns/time`, `time_for_children`, `/proc/PID/timens_offsets` and
//! `/proc/uptime`.

use lab_kit::prelude::*;
use nix::time::{ClockId, clock_gettime};
use procfs::Current as _;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "15",
    slug: "time",
    title: "Time namespace: clocks with an offset",
    mechanisms: &[Mechanism::NsTime],
    requires: &[Requirement::Kernel(5, 6), Requirement::Namespace("time")],
    rootless: Rootless::EnterUserns,
    steps: &[UNSHARE, OFFSETS, CHILD, FROZEN],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const UNSHARE: StepDecl = StepDecl {
    title: "unshare(CLONE_NEWTIME) prepares a namespace for the children",
    why: "Like a PID namespace, a time namespace is entered by the caller's next children, not by the caller: its clocks must not jump under a running process.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["time"],
    },
};
const OFFSETS: StepDecl = StepDecl {
    title: "Offsets are written before anyone enters",
    why: "/proc/PID/timens_offsets holds the offsets of the namespace in time_for_children; they can be set only while no process is in it.",
    privilege: Privilege::Userns,
    needs: Needs::caps(&[Capability::CAP_SYS_TIME]),
};
const CHILD: StepDecl = StepDecl {
    title: "The child's monotonic and boot clocks are shifted, wall time is not",
    why: "CLOCK_MONOTONIC and CLOCK_BOOTTIME (and /proc/uptime, which is boot time) read with the offsets added; CLOCK_REALTIME has no offset, so the date is the same everywhere.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};
const FROZEN: StepDecl = StepDecl {
    title: "Once entered, the offsets are frozen",
    why: "The kernel maps the offsets into the first process that enters; after that a write to timens_offsets fails with EACCES.",
    privilege: Privilege::Userns,
    needs: Needs::NOTHING,
};

const MONOTONIC_OFFSET: i64 = 86_400; // one day
const BOOTTIME_OFFSET: i64 = 7 * 86_400; // one week
const NS: i128 = 1_000_000_000;

/// The clocks as one process reads them, in nanoseconds.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Clocks {
    monotonic: i128,
    boottime: i128,
    realtime: i128,
    uptime: i128,
}

fn read_clocks() -> anyhow::Result<Clocks> {
    let ns = |id: ClockId| -> anyhow::Result<i128> {
        let t = clock_gettime(id).with_context(|| format!("clock_gettime({id})"))?;
        Ok(i128::from(t.tv_sec()) * NS + i128::from(t.tv_nsec()))
    };
    let uptime = procfs::Uptime::current().context("reading /proc/uptime")?.uptime;
    Ok(Clocks {
        monotonic: ns(ClockId::CLOCK_MONOTONIC)?,
        boottime: ns(ClockId::CLOCK_BOOTTIME)?,
        realtime: ns(ClockId::CLOCK_REALTIME)?,
        uptime: (uptime * 1e9) as i128,
    })
}

fn offsets() -> anyhow::Result<String> {
    let text = std::fs::read_to_string("/proc/self/timens_offsets").context("reading /proc/self/timens_offsets")?;
    Ok(text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", "))
}

fn write_offsets(s: &mut impl Narrate, text: &str) -> Result<(), Errno> {
    s.run(op::WriteFile::new("/proc/self/timens_offsets", text))
}

/// How far `child` is from the lab's clock: the shift lies between what the
/// lab read just after and just before (`slack` absorbs a clock's resolution).
fn shift(child: i128, before: i128, after: i128, expected_s: i64, slack: i128) -> String {
    let expected = i128::from(expected_s) * NS;
    if child - after - slack <= expected && expected <= child - before + slack {
        format!("{expected_s} s")
    } else {
        format!("about {} s", (child - (before + after) / 2) / NS)
    }
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: unshare
    lab.step(&UNSHARE, |s| {
        ops::unshare_ns(s, ops::CLONE_NEWTIME)?;
        let own = s.observe_ns("time namespace of the lab", Who::This, "time")?;
        let children = s.observe_ns("time_for_children of the lab", Who::This, "time_for_children")?;
        s.check_eq(
            "the lab itself stays in the host's time namespace",
            "host",
            own.as_str(),
        );
        s.check_eq("its children will be born in a new one", "new#1", children.as_str());
        Ok(())
    })?;
    // ANCHOR_END: unshare

    // ANCHOR: offsets
    lab.step(&OFFSETS, |s| {
        let initial = offsets()?;
        s.observe("timens_offsets of the new namespace", &initial);
        s.check_eq(
            "a new namespace starts without offsets",
            "monotonic 0 0, boottime 0 0",
            initial.as_str(),
        );
        write_offsets(
            s,
            &format!("monotonic {MONOTONIC_OFFSET} 0\nboottime {BOOTTIME_OFFSET} 0\n"),
        )?;
        let now = offsets()?;
        s.observe("timens_offsets after the write", &now);
        s.check_eq(
            "the offsets are set",
            format!("monotonic {MONOTONIC_OFFSET} 0, boottime {BOOTTIME_OFFSET} 0").as_str(),
            now.as_str(),
        );
        Ok(())
    })?;
    // ANCHOR_END: offsets

    // ANCHOR: child
    let child = lab.step(&CHILD, |s| {
        let before = read_clocks()?;
        let mut child = child::spawn(s, |c| {
            c.send(&read_clocks()?)?;
            c.wait_for(Cue::Release)?; // stay in the namespace until the parent has tried to write
            Ok(())
        })?;
        let inside: Clocks = child.recv(s)?;
        let after = read_clocks()?;
        let ns = s.observe_ns("time namespace of the child", Who::Pid(child.pid().as_raw()), "time")?;
        s.check_eq("the child was born in the new namespace", "new#1", ns.as_str());
        let mono = shift(inside.monotonic, before.monotonic, after.monotonic, MONOTONIC_OFFSET, 0);
        let boot = shift(inside.boottime, before.boottime, after.boottime, BOOTTIME_OFFSET, 0);
        let real = shift(inside.realtime, before.realtime, after.realtime, 0, 0);
        // /proc/uptime has a resolution of 10 ms.
        let up = shift(inside.uptime, before.uptime, after.uptime, BOOTTIME_OFFSET, NS / 50);
        for (name, seen, offset) in [
            ("CLOCK_MONOTONIC", &mono, MONOTONIC_OFFSET),
            ("CLOCK_BOOTTIME", &boot, BOOTTIME_OFFSET),
            ("/proc/uptime", &up, BOOTTIME_OFFSET),
            ("CLOCK_REALTIME", &real, 0),
        ] {
            s.observe(format!("{name} in the child, ahead of the lab's by"), seen);
            let claim = if offset == 0 {
                "is not shifted"
            } else {
                "is shifted by its offset"
            };
            s.check_eq(format!("{name} {claim}"), format!("{offset} s").as_str(), seen.as_str());
        }
        Ok(child)
    })?;
    // ANCHOR_END: child

    // ANCHOR: frozen
    lab.step(&FROZEN, |s| {
        let res = write_offsets(s, "monotonic 0 0\n");
        s.check_errno("writing the offsets once a process is inside", Errno::EACCES, &res);
        let now = offsets()?;
        s.check_eq(
            "the offsets are unchanged",
            format!("monotonic {MONOTONIC_OFFSET} 0, boottime {BOOTTIME_OFFSET} 0").as_str(),
            now.as_str(),
        );
        let mut child = child;
        child.tell(Cue::Release)?;
        child.wait(s)?;
        Ok(())
    })?;
    // ANCHOR_END: frozen
    Ok(())
}
