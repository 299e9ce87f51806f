//! Lab 05: seccomp. A filter in the kernel answers each system call of a
//! process before the call runs: allow it, refuse it with an errno, kill the
//! process, send SIGSYS, or log it. Seen in `/proc/PID/status` (`Seccomp:`,
//! `Seccomp_filters:`, `NoNewPrivs:`) and `/proc/sys/kernel/seccomp/`.
//! Every filter is installed in a forked child, never in the lab process.

use std::io::Read;
use std::os::fd::AsFd;

use caps::{CapSet, Capability};
use lab_kit::lab::CannotRun;
use lab_kit::prelude::*;
use lab_kit::seccomp::{
    self, Abi, Action, CatchSigsys, Clone3Child, CloneChild, Filter, GetMode, InstallFilter, NoCoreDump, Program,
    RawCall, SetStrict,
};
use nix::mount::MsFlags;

/// The lab's declaration.
pub static LAB: LabDecl = LabDecl {
    id: "05",
    slug: "seccomp",
    title: "seccomp: a filter that answers system calls before they run",
    mechanisms: &[Mechanism::Seccomp],
    requires: &[],
    rootless: Rootless::EnterUserns,
    steps: &[
        STATE,
        STRICT,
        ERRNO,
        KILL,
        TRAP,
        LOG,
        NO_NEW_PRIVS,
        SYS_ADMIN,
        INHERIT,
        ARCH,
        ARGUMENT,
        CLONE3,
        DOCKER,
    ],
    explanation: include_str!("../explain.md"),
    i18n: LabI18n {
        ja_po: include_str!("../ja.po"),
        ja_explanation: Some(include_str!("../explain.ja.md")),
    },
    run,
};

const STATE: StepDecl = StepDecl {
    title: "Where the lab starts: Seccomp in /proc/self/status",
    why: "Every thread has a seccomp mode (0 disabled, 1 strict, 2 filter), shown in /proc/PID/status with the number of stacked filters; prctl(PR_GET_SECCOMP) asks the same.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const STRICT: StepDecl = StepDecl {
    title: "Strict mode: read, write, _exit and sigreturn, nothing else",
    why: "SECCOMP_MODE_STRICT, the original seccomp, leaves a thread four calls; the first other call kills it with SIGKILL.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const ERRNO: StepDecl = StepDecl {
    title: "A filter refuses one call with an errno; every other call runs",
    why: "A BPF filter sees each call's number and arguments and returns an action: SECCOMP_RET_ERRNO makes the call fail with the errno the filter chose, without running it.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const KILL: StepDecl = StepDecl {
    title: "SECCOMP_RET_KILL_PROCESS: the call kills the process",
    why: "The process dies as if by SIGSYS, in the middle of the call, which never returns.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const TRAP: StepDecl = StepDecl {
    title: "SECCOMP_RET_TRAP: SIGSYS, with the call in si_syscall",
    why: "The call does not run; the thread gets SIGSYS with si_code SYS_SECCOMP and the call's number and ABI, so a handler can emulate or report it.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const LOG: StepDecl = StepDecl {
    title: "SECCOMP_RET_LOG: the call runs and is logged",
    why: "For building a filter: the call is allowed, and the kernel writes an audit record of type 1326 (SECCOMP) with the call's number to the kernel log, or to the audit log under auditd.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const NO_NEW_PRIVS: StepDecl = StepDecl {
    title: "Without CAP_SYS_ADMIN, a filter needs no_new_privs first",
    why: "A filter could trick a setuid program into misbehaving, so a process without CAP_SYS_ADMIN must first give up gaining privilege through execve (PR_SET_NO_NEW_PRIVS): EACCES before, success after.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const SYS_ADMIN: StepDecl = StepDecl {
    title: "With CAP_SYS_ADMIN, a filter needs no no_new_privs",
    why: "The kernel asks for CAP_SYS_ADMIN in the caller's own user namespace instead; so runc installs Docker's profile before it drops the capability, and the container runs without no_new_privs.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["user"],
    },
};
const INHERIT: StepDecl = StepDecl {
    title: "Filters are inherited across fork and execve, and only stack",
    why: "A child and a new program keep every filter; nothing removes one, and a new filter that allows everything does not loosen the old: the kernel runs all of them and takes the strictest answer.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const ARCH: StepDecl = StepDecl {
    title: "A filter must check the architecture",
    why: "System call numbers differ per ABI, and one x86_64 kernel also serves i386 (int $0x80) and x32 programs. A filter that compares x86_64 numbers without checking seccomp_data.arch misreads their calls.",
    privilege: Privilege::None,
    needs: Needs::NOTHING,
};
const ARGUMENT: StepDecl = StepDecl {
    title: "A filter on an argument: unshare and clone only with CLONE_NEWUSER",
    why: "A filter sees the arguments in registers, so it can refuse a call only with some flags, as Docker refuses clone with namespace flags to a container without CAP_SYS_ADMIN.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["user"],
    },
};
const CLONE3: StepDecl = StepDecl {
    title: "clone3 answers ENOSYS, so libc falls back to clone",
    why: "clone3's flags are in memory, which a filter cannot read: a rule on clone's flags misses it. Refusing clone3 with ENOSYS (not EPERM) makes libc retry with clone, whose flags the filter sees.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["user"],
    },
};
const DOCKER: StepDecl = StepDecl {
    title: "Docker's default profile, as the kit reproduces it",
    why: "What Docker refuses to a container without CAP_SYS_ADMIN: mount, sethostname, unshare, clone with namespace flags, and clone3 with ENOSYS; an ordinary fork still works.",
    privilege: Privilege::Userns,
    needs: Needs {
        caps: &[Capability::CAP_SYS_ADMIN],
        namespaces: &["user"],
    },
};

// ANCHOR: filters
/// uname refused with EPERM (which the kernel's own uname never answers).
fn refuse_uname() -> anyhow::Result<Program> {
    Ok(Filter::new("refuse-uname").refuse("uname", Errno::EPERM)?.compile()?)
}

/// sched_yield answered with `action`: a call without arguments whose
/// result (0) is the same on every machine.
fn on_yield(name: &str, action: Action) -> anyhow::Result<Program> {
    Ok(Filter::new(name).on("sched_yield", action)?.compile()?)
}

/// unshare and clone refused with EPERM when their flags (argument 0 on
/// x86_64 and arm64) hold CLONE_NEWUSER.
fn refuse_newuser(name: &str) -> anyhow::Result<Filter> {
    let user = CloneFlags::CLONE_NEWUSER.bits() as u64;
    Ok(Filter::new(name)
        .on_any_flag("unshare", Action::Errno(Errno::EPERM), 0, user)?
        .on_any_flag("clone", Action::Errno(Errno::EPERM), 0, user)?)
}
// ANCHOR_END: filters

fn sched_yield() -> anyhow::Result<RawCall> {
    RawCall::native("sched_yield").context("sched_yield is not in the kit's table")
}

fn getpid() -> anyhow::Result<RawCall> {
    RawCall::native("getpid").context("getpid is not in the kit's table")
}

/// The i386 number of getpid (`arch/x86/entry/syscalls/syscall_32.tbl`).
const I386_GETPID: u32 = 20;

/// A result as a child sends it.
type Sent = Result<(), i32>;

fn sent<T>(r: &Result<T, Errno>) -> Sent {
    r.as_ref().map(drop).map_err(|e| *e as i32)
}

fn back(r: Sent) -> Result<(), Errno> {
    r.map_err(Errno::from_raw)
}

/// The kernel has seccomp and installs filters (tried in a throwaway child).
fn ready() -> anyhow::Result<()> {
    if seccomp::status(Who::This)?.is_none() {
        return Err(CannotRun::unsupported(seccomp::NO_SECCOMP).into());
    }
    seccomp::probe_filters().map_err(CannotRun::unsupported)?;
    Ok(())
}

/// The kernel offers `action` (`/proc/sys/kernel/seccomp/actions_avail`).
fn offers(action: &str, name: &str) -> anyhow::Result<()> {
    match seccomp::actions_avail() {
        Some(a) if a.iter().any(|x| x == action) => Ok(()),
        _ => Err(CannotRun::unsupported(format!(
            "this kernel does not offer {name} (/proc/sys/kernel/seccomp/actions_avail lacks {action}; Linux 4.14+)"
        ))
        .into()),
    }
}

/// What every filtering child does first: no core dump (a filter may kill
/// it by SIGSYS), and no_new_privs (so that it may install filters).
fn lock_down(c: &mut ChildCtx) -> anyhow::Result<()> {
    c.run(NoCoreDump)?;
    c.run(op::Prctl::SetNoNewPrivs)?;
    Ok(())
}

/// The seccomp lines of a child's `/proc/PID/status`.
fn status_of(child: &Child) -> anyhow::Result<seccomp::Status> {
    seccomp::status(Who::Pid(child.pid().as_raw()))?.context("no Seccomp: line for the child")
}

/// A filter count relative to the lab's own: `the lab's + 1`.
fn filters_rel(n: Option<u32>, base: Option<u32>) -> String {
    match (n, base) {
        (Some(n), Some(b)) if n >= b => format!("the lab's + {}", n - b),
        (Some(n), _) => n.to_string(),
        (None, _) => "not shown (Linux 5.9+)".into(),
    }
}

fn run(lab: &mut Lab) -> Result<(), Halt> {
    // ANCHOR: state
    let base = lab.step(&STATE, |s| {
        let Some(st) = seccomp::status(Who::This)? else {
            return Err(CannotRun::unsupported(seccomp::NO_SECCOMP).into());
        };
        s.note(format!(
            "/proc/self/status of the lab: Seccomp: {} ({}), Seccomp_filters: {}, NoNewPrivs: {}",
            st.mode,
            st.mode_name(),
            st.filters.map_or("-".into(), |n| n.to_string()),
            u8::from(st.no_new_privs)
        ));
        let mode = s.run(GetMode)?;
        s.check_eq(
            "prctl(PR_GET_SECCOMP) says what Seccomp: says",
            &st.mode.to_string(),
            &mode.to_string(),
        );
        let avail = seccomp::actions_avail().map_or("(no actions_avail: before Linux 4.14)".into(), |a| a.join(" "));
        s.observe("actions this kernel offers (actions_avail)", &avail);
        Ok(st.filters)
    })?;
    // ANCHOR_END: state

    // ANCHOR: strict
    // Strict mode cannot be entered over a filter the environment
    // installed; the steps after it do not build on it.
    let _ = lab.step(&STRICT, |s| {
        ready()?;
        // The kernel moves a thread into strict mode only from mode 0: over
        // a filter the environment installed, prctl answers EINVAL.
        if lab_kit::seccomp::status(Who::This).is_ok_and(|st| st.is_some_and(|st| st.mode == 2)) {
            return Err(CannotRun::unsupported(
                "this process already runs under a seccomp filter (Seccomp: 2 in /proc/self/status: a container runtime or service manager installed it), and the kernel refuses strict mode over a filter (EINVAL); run the lab outside the filter (in Docker: --security-opt seccomp=unconfined)",
            )
            .into());
        }
        let (events, events_end) = nix::unistd::pipe()?;
        let (data, data_end) = nix::unistd::pipe()?;
        // The closure owns the write ends: the lab's copies close with it
        // when spawn returns, so the lab reads to the end of what the child
        // wrote.
        let child = child::spawn(s, move |c| {
            c.note("In strict mode the child narrates with write(2) on a pipe: the kit's channel uses sendto(2), which strict mode does not allow.");
            let mut n = WriteNarrator(events_end);
            // Nor may it ask the kernel for memory (brk, mmap): the
            // narration must find it in the heap.
            drop(std::hint::black_box(Vec::<u8>::with_capacity(64 * 1024)));
            n.run(SetStrict)?;
            n.run(op::Write {
                fd: data_end.as_fd(),
                text: "written in strict mode",
            })?;
            let _ = n.run(sched_yield()?);
            n.note("sched_yield returned");
            Ok(())
        })?;
        let status = child.wait(s)?;
        let mut lines = String::new();
        std::fs::File::from(events).read_to_string(&mut lines)?;
        let mut returned = false;
        for line in lines.lines() {
            let event = lab_kit::event::LabReport::parse_line(line)?;
            returned |= matches!(&event, lab_kit::Event::Note { text } if text == "sched_yield returned");
            s.emit(event);
        }
        let mut text = String::new();
        std::fs::File::from(data).read_to_string(&mut text)?;
        s.check_eq("what the child wrote in strict mode reached the lab", "written in strict mode", text.as_str());
        s.check_eq(
            "sched_yield in strict mode",
            "never returned",
            if returned { "returned" } else { "never returned" },
        );
        s.check_eq("the child", "killed by SIGKILL", child::describe(&status).as_str());
        Ok(())
    });
    // ANCHOR_END: strict

    // ANCHOR: errno
    lab.step(&ERRNO, |s| {
        ready()?;
        let program = refuse_uname()?;
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            let before = c.run(op::Uname);
            c.run(InstallFilter(&program))?;
            let after = c.run(op::Uname);
            let other = c.run(op::Chdir::new("/"));
            c.send(&[sent(&before), sent(&after), sent(&other)])?;
            Ok(())
        })?;
        let [before, after, other]: [Sent; 3] = child.recv(s)?;
        child.wait(s)?;
        s.check_ok("uname before the filter", &back(before));
        s.check_errno("uname under the filter", Errno::EPERM, &back(after));
        s.check_ok("chdir under the filter", &back(other));
        Ok(())
    })?;
    // ANCHOR_END: errno

    lab.step(&KILL, |s| {
        ready()?;
        offers("kill_process", "SECCOMP_RET_KILL_PROCESS")?;
        let program = on_yield("kill-on-sched_yield", Action::KillProcess)?;
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&program))?;
            c.tell(Cue::Ready)?;
            let _ = c.run(sched_yield()?);
            c.send(&"sched_yield returned")?;
            Ok(())
        })?;
        child.wait_for(Cue::Ready, s)?;
        let after: Option<String> = child.recv_or_eof(s)?;
        let status = child.wait(s)?;
        s.check_eq(
            "sched_yield under the filter",
            "never returned",
            after.as_deref().unwrap_or("never returned"),
        );
        s.check_eq("the child", "killed by SIGSYS", child::describe(&status).as_str());
        s.note("A process killed by SIGSYS would dump core; the child turned that off (PR_SET_DUMPABLE 0) so that no core file is left behind.");
        Ok(())
    })?;

    // ANCHOR: trap
    lab.step(&TRAP, |s| {
        ready()?;
        offers("trap", "SECCOMP_RET_TRAP")?;
        let program = on_yield("trap-sched_yield", Action::Trap)?;
        let call = sched_yield()?;
        let mut child = child::spawn(s, move |c| {
            c.run(NoCoreDump)?;
            c.run(CatchSigsys)?;
            c.run(op::Prctl::SetNoNewPrivs)?;
            c.run(InstallFilter(&program))?;
            let returned = c.run(call);
            let info = lab_kit::sys::take_sigsys().map(|i| (i.code, i.syscall, i.arch));
            c.send(&(returned.map_err(|e| e as i32), info))?;
            Ok(())
        })?;
        type Trapped = (Result<i64, i32>, Option<(i32, i32, u32)>);
        let (returned, info): Trapped = child.recv(s)?;
        let status = child.wait(s)?;
        let Some((code, nr, arch)) = info else {
            s.check("SIGSYS reached the handler", false, "yes", "no");
            return Ok(());
        };
        let code_name = if code == seccomp::SYS_SECCOMP { "SYS_SECCOMP".to_string() } else { code.to_string() };
        s.check_eq("si_code", "SYS_SECCOMP", code_name.as_str());
        s.check_eq(
            "si_syscall",
            "sched_yield",
            seccomp::call_name(i64::from(nr)).unwrap_or("another call"),
        );
        let arch_name = if arch == seccomp::AUDIT_ARCH_X86_64 || std::env::consts::ARCH != "x86_64" {
            seccomp::native_arch_name().to_string()
        } else {
            format!("{arch:#x}")
        };
        s.check_eq("si_arch", seccomp::native_arch_name(), arch_name.as_str());
        let returned = returned.map_or_else(|e| format!("{:?}", Errno::from_raw(e)), |v| v.to_string());
        if cfg!(target_arch = "x86_64") {
            s.check_eq("what the trapped call returned after the handler", &call.nr.to_string(), &returned);
            s.note("The call never ran: the kernel restored the registers as they were at the call, so its return value is its own number.");
        } else {
            s.observe("what the trapped call returned after the handler", &returned);
        }
        s.check_eq("the child, which handled SIGSYS", "exited 0", child::describe(&status).as_str());
        Ok(())
    })?;
    // ANCHOR_END: trap

    lab.step(&LOG, |s| {
        ready()?;
        offers("log", "SECCOMP_RET_LOG")?;
        let program = on_yield("log-sched_yield", Action::Log)?;
        let call = sched_yield()?;
        let logged = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged").unwrap_or_default();
        let logs = logged.split_whitespace().any(|a| a == "log");
        s.observe("log is in /proc/sys/kernel/seccomp/actions_logged", if logs { "yes" } else { "no" });
        // Only real root may read the audit records as they are made.
        let mut records = (s.mode() == Mode::Root && logs).then(AuditRecords::open).flatten();
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&program))?;
            let r = c.run(call);
            c.send(&sent(&r))?;
            Ok(())
        })?;
        let pid = child.pid();
        let r: Sent = child.recv(s)?;
        child.wait(s)?;
        s.check_ok("sched_yield under SECCOMP_RET_LOG runs", &back(r));
        match records.as_mut() {
            Some(r) => {
                let found = r.find(&[
                    &format!(" pid={pid} "),
                    &format!(" syscall={} ", call.nr),
                    "code=0x7ffc0000",
                ]);
                s.check_eq(
                    "the kernel made its audit record (type 1326, the call's number, code=SECCOMP_RET_LOG)",
                    "yes",
                    if found { "yes" } else { "no" },
                );
            }
            None => s.note("The record goes to the kernel log (dmesg) or, under auditd, to the audit log (ausearch -m SECCOMP); reading it needs real root."),
        }
        Ok(())
    })?;

    // ANCHOR: no_new_privs
    lab.step(&NO_NEW_PRIVS, |s| {
        ready()?;
        let program = refuse_uname()?;
        let mut child = child::spawn(s, move |c| {
            c.run(NoCoreDump)?;
            c.run(op::Capset::Drop(CapSet::Effective, Capability::CAP_SYS_ADMIN))?;
            let without = c.run(InstallFilter(&program));
            c.run(op::Prctl::SetNoNewPrivs)?;
            let with = c.run(InstallFilter(&program));
            c.send(&[sent(&without), sent(&with)])?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        let [without, with]: [Sent; 2] = child.recv(s)?;
        let st = status_of(&child)?;
        child.tell(Cue::Release)?;
        child.wait(s)?;
        s.check_errno("without CAP_SYS_ADMIN or no_new_privs", Errno::EACCES, &back(without));
        s.check_ok("after prctl(PR_SET_NO_NEW_PRIVS, 1)", &back(with));
        s.check_eq("NoNewPrivs of the child", "1", if st.no_new_privs { "1" } else { "0" });
        Ok(())
    })?;
    // ANCHOR_END: no_new_privs

    // Independent of the steps before: a step that cannot run here does
    // not keep the next ones from running.
    let _ = lab.step(&SYS_ADMIN, |s| {
        ready()?;
        let program = refuse_uname()?;
        let mut child = child::spawn(s, move |c| {
            c.run(NoCoreDump)?;
            c.run(InstallFilter(&program))?;
            c.tell(Cue::Ready)?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        child.wait_for(Cue::Ready, s)?;
        let st = status_of(&child)?;
        child.tell(Cue::Release)?;
        child.wait(s)?;
        s.check_eq(
            "Seccomp of the child",
            "2 (filter)",
            &format!("{} ({})", st.mode, st.mode_name()),
        );
        s.check_eq("its NoNewPrivs", "0", if st.no_new_privs { "1" } else { "0" });
        Ok(())
    });

    // ANCHOR: inherit
    let _ = lab.step(&INHERIT, |s| {
        ready()?;
        let program = refuse_uname()?;
        let allow_all = Filter::new("allow-everything").compile()?;
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&program))?;
            let mut grandchild = child::spawn(c, |g| {
                let r = g.run(op::Uname);
                g.send(&sent(&r))?;
                Ok(())
            })?;
            let forked: Sent = grandchild.recv(c)?;
            grandchild.wait(c)?;
            let p = exec::run_captured(c, |_| Ok(()), exec::Program::helper(&["--uname"]))?.probe()?;
            c.run(InstallFilter(&allow_all))?;
            let stacked = c.run(op::Uname);
            c.send(&(forked, p.uname, p.seccomp, p.seccomp_filters, sent(&stacked)))?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        type Got = (Sent, Option<String>, Option<u32>, Option<u32>, Sent);
        let (forked, exec_uname, exec_mode, exec_filters, stacked): Got = child.recv(s)?;
        let st = status_of(&child)?;
        child.tell(Cue::Release)?;
        child.wait(s)?;
        s.check_errno("uname in a forked grandchild", Errno::EPERM, &back(forked));
        s.check_eq(
            "uname in the program after execve",
            "EPERM",
            exec_uname.as_deref().unwrap_or("not asked"),
        );
        s.check_eq(
            "Seccomp of that program",
            "2",
            &exec_mode.map_or("-".to_string(), |m| m.to_string()),
        );
        s.observe("its Seccomp_filters", filters_rel(exec_filters, base));
        s.check_errno(
            "uname after a filter that allows everything",
            Errno::EPERM,
            &back(stacked),
        );
        let filters = filters_rel(st.filters, base);
        s.observe("Seccomp_filters of the child", &filters);
        if st.filters.is_some() && base.is_some() {
            s.check_eq(
                "the second filter stacked on the first",
                "the lab's + 2",
                filters.as_str(),
            );
        }
        Ok(())
    });
    // ANCHOR_END: inherit

    // ANCHOR: arch
    let _ = lab.step(&ARCH, |s| {
        ready()?;
        if !cfg!(target_arch = "x86_64") {
            return Err(CannotRun::unsupported("the i386 and x32 ABIs are x86_64's; this step runs there only").into());
        }
        let native = getpid()?;
        let i386 = native.via(Abi::I386(I386_GETPID));
        let program = Filter::new("refuse-getpid").refuse("getpid", Errno::EPERM)?.compile()?;
        let unchecked = program.without_arch_check();
        s.note(format!(
            "getpid is {} on x86_64 and {I386_GETPID} on i386; x86_64's {} is i386's mkdir, x86_64's {I386_GETPID} is writev.",
            native.nr, native.nr
        ));

        // The same kernel answers the i386 ABI: int $0x80 with eax=20 is getpid.
        let mut plain = child::spawn(s, move |c| {
            c.run(NoCoreDump)?;
            let me = i64::from(std::process::id());
            let r = c.run(i386);
            c.send(&r.map(|v| v == me).map_err(|e| e as i32))?;
            Ok(())
        })?;
        let plain_said: Option<Result<bool, i32>> = plain.recv_or_eof(s)?;
        let status = plain.wait(s)?;
        let Some(plain_said) = plain_said else {
            // Under a filter of the environment's (Docker's checks the
            // architecture too), the call never reached the kernel's i386 ABI.
            if lab_kit::seccomp::status(Who::This).is_ok_and(|st| st.is_some_and(|st| st.mode == 2)) {
                return Err(CannotRun::unsupported(format!(
                    "this process already runs under a seccomp filter that refuses i386 calls (int $0x80 {}), as Docker's default profile does; run the lab outside the filter (in Docker: --security-opt seccomp=unconfined)",
                    child::describe(&status)
                ))
                .into());
            }
            return Err(CannotRun::unsupported(format!(
                "this kernel runs no i386 code (int $0x80 {}: CONFIG_IA32_EMULATION off, or ia32_emulation=0)",
                child::describe(&status)
            ))
            .into());
        };
        s.check_eq("i386 getpid without a filter returns the child's pid", "yes", if plain_said == Ok(true) { "yes" } else { "no" });

        // With the check (seccompiler puts it first): the i386 call kills.
        let checked = program.clone();
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&checked))?;
            let r = c.run(native);
            c.send(&sent(&r))?;
            let _ = c.run(i386);
            c.send(&Ok::<(), i32>(()))?;
            Ok(())
        })?;
        let refused: Sent = child.recv(s)?;
        let after: Option<Sent> = child.recv_or_eof(s)?;
        let status = child.wait(s)?;
        s.check_errno("x86_64 getpid under the filter", Errno::EPERM, &back(refused));
        s.check_eq(
            "i386 getpid under the filter",
            "killed by SIGSYS",
            if after.is_none() { child::describe(&status) } else { "returned".into() }.as_str(),
        );

        // Without it, the i386 call's number 20 is not the 39 the filter refuses.
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            let me = i64::from(std::process::id());
            c.run(InstallFilter(&unchecked))?;
            let r = c.run(native);
            let r386 = c.run(i386);
            c.send(&(sent(&r), r386.map(|v| v == me).map_err(|e| e as i32)))?;
            Ok(())
        })?;
        let (refused, passed): (Sent, Result<bool, i32>) = child.recv(s)?;
        child.wait(s)?;
        s.check_errno("without the check: x86_64 getpid", Errno::EPERM, &back(refused));
        s.check_eq(
            "without the check: i386 getpid passes the filter",
            "returns the child's pid",
            if passed == Ok(true) { "returns the child's pid".to_string() } else { format!("{passed:?}") }.as_str(),
        );

        // x32 calls carry AUDIT_ARCH_X86_64 too: the kit's guard kills them.
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            let plain = c.run(native.via(Abi::X32));
            c.send(&sent(&plain))?;
            c.run(InstallFilter(&program))?;
            let _ = c.run(native.via(Abi::X32));
            c.send(&Ok::<(), i32>(()))?;
            Ok(())
        })?;
        let plain: Sent = child.recv(s)?;
        let after: Option<Sent> = child.recv_or_eof(s)?;
        let status = child.wait(s)?;
        s.note(match plain {
            Ok(()) => "This kernel runs x32 programs (CONFIG_X86_X32_ABI).".to_string(),
            Err(e) => format!("This kernel runs no x32 programs: without a filter the call is {:?}.", Errno::from_raw(e)),
        });
        s.check_eq(
            "x32 getpid under the filter",
            "killed by SIGSYS",
            if after.is_none() { child::describe(&status) } else { "returned".into() }.as_str(),
        );
        Ok(())
    });
    // ANCHOR_END: arch

    // ANCHOR: argument
    let _ = lab.step(&ARGUMENT, |s| {
        ready()?;
        let program = refuse_newuser("refuse-newuser")?.compile()?;
        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            let before = c.run(CloneChild(CloneFlags::CLONE_NEWUSER));
            c.run(InstallFilter(&program))?;
            let uts = c.run(op::Unshare(CloneFlags::CLONE_NEWUTS));
            let user = c.run(op::Unshare(CloneFlags::CLONE_NEWUSER));
            let cloned = c.run(CloneChild(CloneFlags::CLONE_NEWUSER));
            let forked = c.run(CloneChild(CloneFlags::empty()));
            c.send(&[sent(&before), sent(&uts), sent(&user), sent(&cloned), sent(&forked)])?;
            Ok(())
        })?;
        let [before, uts, user, cloned, forked]: [Sent; 5] = child.recv(s)?;
        child.wait(s)?;
        s.check_ok("clone with CLONE_NEWUSER before the filter", &back(before));
        s.check_ok("unshare(CLONE_NEWUTS) under the filter", &back(uts));
        s.check_errno("unshare(CLONE_NEWUSER) under the filter", Errno::EPERM, &back(user));
        s.check_errno("clone with CLONE_NEWUSER under the filter", Errno::EPERM, &back(cloned));
        s.check_ok("clone without it (fork)", &back(forked));
        Ok(())
    });
    // ANCHOR_END: argument

    // ANCHOR: clone3
    let _ = lab.step(&CLONE3, |s| {
        ready()?;
        let blind = refuse_newuser("refuse-newuser")?.compile()?;
        let fixed = refuse_newuser("refuse-newuser-clone3-enosys")?
            .refuse("clone3", Errno::ENOSYS)?
            .compile()?;
        let eperm = refuse_newuser("refuse-newuser-clone3-eperm")?
            .refuse("clone3", Errno::EPERM)?
            .compile()?;
        let newuser = CloneFlags::CLONE_NEWUSER;

        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&blind))?;
            let r = c.run(Clone3Child(newuser));
            c.send(&sent(&r))?;
            Ok(())
        })?;
        let passed: Sent = child.recv(s)?;
        child.wait(s)?;
        s.check_ok("clone3 with CLONE_NEWUSER passes a filter on clone's flags", &back(passed));

        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&fixed))?;
            let r3 = c.run(Clone3Child(newuser));
            let thread = start_thread();
            let r = c.run(CloneChild(newuser));
            c.send(&[sent(&r3), thread, sent(&r)])?;
            Ok(())
        })?;
        let [r3, thread, r]: [Sent; 3] = child.recv(s)?;
        child.wait(s)?;
        s.check_errno("clone3 with clone3 answered ENOSYS", Errno::ENOSYS, &back(r3));
        s.check_ok("a thread starts (libc falls back to clone)", &back(thread));
        s.note("The thread's calls are libc's, not the lab's, and are not narrated (strace -f shows them).");
        s.check_errno("clone with CLONE_NEWUSER, which the filter sees", Errno::EPERM, &back(r));

        let mut child = child::spawn(s, move |c| {
            lock_down(c)?;
            c.run(InstallFilter(&eperm))?;
            c.send(&start_thread())?;
            Ok(())
        })?;
        let thread: Sent = child.recv(s)?;
        child.wait(s)?;
        s.note(match thread {
            Err(e) => format!(
                "With clone3 answered EPERM instead, no thread starts ({:?}): this libc tries clone3 first and falls back to clone on ENOSYS only.",
                Errno::from_raw(e)
            ),
            Ok(()) => "With clone3 answered EPERM instead, a thread still starts: this libc makes threads with clone and never tries clone3.".into(),
        });
        Ok(())
    });
    // ANCHOR_END: clone3

    // ANCHOR: docker
    let _ = lab.step(&DOCKER, |s| {
        ready()?;
        let program = seccomp::docker_default()?;
        s.note(format!(
            "docker-default: {} instructions, refusing {} calls with EPERM, clone with namespace flags, and clone3 with ENOSYS.",
            program.len(),
            seccomp::DOCKER_REFUSED.len() + seccomp::DOCKER_REFUSED_ARCH.len()
        ));
        let mut child = child::spawn(s, move |c| {
            // Where a call slips through, it changes only the child's own namespaces.
            c.run(op::Unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS))?;
            c.run(op::Mount::change("/", MsFlags::MS_REC | MsFlags::MS_PRIVATE))?;
            c.run(NoCoreDump)?;
            // As runc does without no_new_privs: installed while CAP_SYS_ADMIN is held.
            c.run(InstallFilter(&program))?;
            let results = [
                sent(&c.run(op::Mount::fs("lab-scratch", "/tmp", "tmpfs"))),
                sent(&c.run(op::Sethostname::new("lab-16"))),
                sent(&c.run(op::Unshare(CloneFlags::CLONE_NEWUSER))),
                sent(&c.run(CloneChild(CloneFlags::CLONE_NEWNET))),
                sent(&c.run(Clone3Child(CloneFlags::empty()))),
                sent(&c.run(CloneChild(CloneFlags::empty()))),
                start_thread(),
            ];
            c.send(&results)?;
            c.wait_for(Cue::Release)?;
            Ok(())
        })?;
        let [mount, hostname, userns, clone_net, clone3, fork, thread]: [Sent; 7] = child.recv(s)?;
        let st = status_of(&child)?;
        child.tell(Cue::Release)?;
        child.wait(s)?;
        s.check_errno("mount", Errno::EPERM, &back(mount));
        s.check_errno("sethostname", Errno::EPERM, &back(hostname));
        s.check_errno("unshare(CLONE_NEWUSER)", Errno::EPERM, &back(userns));
        s.check_errno("clone with CLONE_NEWNET", Errno::EPERM, &back(clone_net));
        s.check_errno("clone3", Errno::ENOSYS, &back(clone3));
        s.check_ok("fork", &back(fork));
        s.check_ok("a thread", &back(thread));
        s.check_eq("NoNewPrivs of the child", "0", if st.no_new_privs { "1" } else { "0" });
        s.observe("Seccomp_filters of the child", filters_rel(st.filters, base));
        Ok(())
    });
    // ANCHOR_END: docker
    Ok(())
}

/// A narrator that writes each event as a JSON line with write(2), the
/// one output call strict mode leaves.
struct WriteNarrator(std::os::fd::OwnedFd);

impl Narrate for WriteNarrator {
    fn emit(&mut self, event: lab_kit::Event) {
        if let Ok(mut line) = serde_json::to_string(&event) {
            line.push('\n');
            let _ = nix::unistd::write(&self.0, line.as_bytes());
        }
    }
}

/// Start a thread and join it: libc's `pthread_create` picks the call.
fn start_thread() -> Sent {
    match std::thread::Builder::new().spawn(|| 7).map(|h| h.join()) {
        Ok(Ok(7)) => Ok(()),
        Ok(_) => Err(Errno::EIO as i32),
        Err(e) => Err(e.raw_os_error().unwrap_or(Errno::EIO as i32)),
    }
}

/// The kernel's audit records as they are made: a netlink socket joined
/// to the audit read-log multicast group (real root only: `CAP_AUDIT_READ`).
/// Unlike the kernel log, it is not rate-limited, and it gets the records
/// whether or not an audit daemon runs.
struct AuditRecords(netlink_sys::Socket);

/// `AUDIT_NLGRP_READLOG`.
const AUDIT_NLGRP_READLOG: u32 = 1;
/// `AUDIT_SECCOMP`: the record type of a seccomp event.
const AUDIT_SECCOMP: u16 = 1326;

impl AuditRecords {
    fn open() -> Option<AuditRecords> {
        let mut sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_AUDIT).ok()?;
        sock.bind(&netlink_sys::SocketAddr::new(0, AUDIT_NLGRP_READLOG)).ok()?;
        sock.set_non_blocking(true).ok()?;
        Some(AuditRecords(sock))
    }

    /// Whether a seccomp record holding every one of `parts` arrives
    /// within a second (the kernel's audit thread sends it after the call).
    fn find(&mut self, parts: &[&str]) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            match self.0.recv_from_full() {
                Ok((buf, _)) => {
                    let mut off = 0;
                    // nlmsghdr: u32 length, u16 type, u16 flags, u32 seq, u32 pid; then the text.
                    while off + 16 <= buf.len() {
                        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
                        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                        if len < 16 || off + len > buf.len() {
                            break;
                        }
                        let text = String::from_utf8_lossy(&buf[off + 16..off + len]);
                        if kind == AUDIT_SECCOMP && parts.iter().all(|p| text.contains(p)) {
                            return true;
                        }
                        off += (len + 3) & !3;
                    }
                }
                Err(_) if std::time::Instant::now() > deadline => return false,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
}
