//! seccomp: a filter in the kernel that answers each system call of a
//! process before the call runs. Shown in `/proc/PID/status` (`Seccomp:` 0
//! disabled, 1 strict, 2 filter; `Seccomp_filters:` how many are stacked;
//! `NoNewPrivs:`), offered actions in `/proc/sys/kernel/seccomp/actions_avail`.
//!
//! Filters are classic BPF programs over `struct seccomp_data` (the call's
//! number, the `AUDIT_ARCH_*` of its ABI, the instruction pointer and six
//! arguments, never the memory they point to). They are compiled with
//! `seccompiler` (rust-vmm, pure Rust: `lab` stays one executable without
//! libseccomp) and installed with our own `seccomp(2)` call
//! ([`crate::sys::seccomp_set_mode_filter`]), because seccompiler's
//! `apply_filter` always sets `no_new_privs` first, which the labs must
//! show as a call of its own.
//!
//! A [`Filter`] here is "answer these calls so, allow everything else": a
//! deny list with, per call, an [`Action`] and optionally a condition on an
//! argument (any of some flag bits set). Every compiled [`Program`] starts
//! with the architecture check: system call numbers differ per ABI (getpid
//! is 39 on x86_64, 20 on i386, 172 on arm64), and one x86_64 kernel also
//! serves the i386 ABI (`int $0x80`, `AUDIT_ARCH_I386`) and, where enabled,
//! the x32 ABI (`AUDIT_ARCH_X86_64` with bit 30 of the number set). A filter
//! that compared numbers without looking at the ABI would refuse i386's
//! `mkdir` (39) instead of `getpid` and let i386's `getpid` (20) through. So
//! a call of a foreign `AUDIT_ARCH` kills the process (seccompiler's check),
//! and on x86_64 so does a number with the x32 bit (the kit's guard after
//! it), whatever the deny list says.
//!
//! [`docker_default`] reproduces what Docker's default profile
//! (moby `profiles/seccomp/default.json`) refuses to a container holding
//! Docker's default capabilities, where it matters for the labs. Docker's
//! profile is an allow list: every call it does not name answers `EPERM`
//! (`defaultErrnoRet` 1), and some calls are allowed only when the
//! container holds a capability. Reproduced here, all with `EPERM`:
//! - the calls allowed only with `CAP_SYS_ADMIN`: `mount`, `umount2`,
//!   `unshare`, `setns`, `sethostname`, `setdomainname`, the new mount API
//!   (`fsopen`, `fsconfig`, `fsmount`, `fspick`, `move_mount`, `open_tree`,
//!   `mount_setattr`), `bpf`, `perf_event_open`, `fanotify_init`,
//!   `lookup_dcookie`, `quotactl`, `quotactl_fd`, `syslog`;
//! - `clone` with any of `CLONE_NEWNS`, `CLONE_NEWCGROUP`, `CLONE_NEWUTS`,
//!   `CLONE_NEWIPC`, `CLONE_NEWUSER`, `CLONE_NEWPID`, `CLONE_NEWNET` in its
//!   flags (argument 0 on x86_64: Docker's mask `0x7E020000`), and `clone3`
//!   answering `ENOSYS` (38), because its flags are in memory a filter cannot
//!   read: libc then falls back to `clone`, whose flags it can;
//! - calls allowed only with capabilities outside Docker's default set:
//!   `init_module`, `finit_module`, `delete_module` (`CAP_SYS_MODULE`),
//!   `open_by_handle_at` (`CAP_DAC_READ_SEARCH`), `reboot` (`CAP_SYS_BOOT`),
//!   `acct` (`CAP_SYS_PACCT`), `kcmp`, `pidfd_getfd`, `process_madvise`
//!   (`CAP_SYS_PTRACE`), `settimeofday`, `clock_settime` (`CAP_SYS_TIME`),
//!   `vhangup` (`CAP_SYS_TTY_CONFIG`), `get_mempolicy`, `mbind`,
//!   `set_mempolicy`, `set_mempolicy_home_node` (`CAP_SYS_NICE`), and on
//!   x86_64 `iopl`, `ioperm` (`CAP_SYS_RAWIO`);
//! - calls the profile never allows: `pivot_root`, `keyctl`, `add_key`,
//!   `request_key`, `kexec_load`, `kexec_file_load`, `swapon`, `swapoff`,
//!   `userfaultfd`, `move_pages`, `migrate_pages`, `nfsservctl`, and on x86_64
//!   `uselib`, `ustat`, `sysfs`, `_sysctl`, `afs_syscall`, `tuxcall`,
//!   `security`, `vserver`.
//!
//! Not reproduced: the allow list itself (a call the profile does not know,
//! such as one added to the kernel after it, is allowed here and refused by
//! Docker); the argument rules for `personality` (only a few personas) and
//! `socket` (no `AF_VSOCK`); the capability-dependent allowances
//! (`CAP_SYS_ADMIN` re-allows the calls above in Docker, not here: the
//! filter does not depend on the capabilities of whoever installs it); and
//! the i386 and x32 ABIs, which Docker's profile allows with their own
//! numbers and which this filter kills (see above). `chroot` is allowed in
//! both (Docker grants `CAP_SYS_CHROOT`).

use std::collections::BTreeMap;
use std::fmt;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use crate::error::KitError;
use crate::op::{Op, clone_flag_names};
use crate::proc::Who;

/// Errors building a filter: a kit bug or a bad name from the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeccompError {
    /// A system call the kit has no number for.
    #[error("unknown system call {0:?} (known: {known})", known = known_calls())]
    UnknownCall(String),
    /// One call given two different actions (a program answers a call once).
    #[error("system call {0} has rules with two different actions")]
    TwoActions(String),
    /// An argument index above 5 or an empty mask.
    #[error("bad argument condition for {call}: {why}")]
    BadCondition {
        /// The call.
        call: String,
        /// What is wrong.
        why: &'static str,
    },
    /// seccompiler refused to compile (or this architecture is not one it knows).
    #[error("compiling the filter {name}: {why}")]
    Compile {
        /// The filter.
        name: String,
        /// seccompiler's message.
        why: String,
    },
}

// ---------------------------------------------------------------- call numbers

/// The system calls the kit can name in a filter, with this architecture's
/// numbers (from libc; seccompiler knows only 64-bit architectures, where
/// `c_long` is `i64`).
const CALLS: &[(&str, i64)] = &[
    ("read", libc::SYS_read),
    ("write", libc::SYS_write),
    ("openat", libc::SYS_openat),
    ("mkdirat", libc::SYS_mkdirat),
    ("chdir", libc::SYS_chdir),
    ("execve", libc::SYS_execve),
    ("kill", libc::SYS_kill),
    ("getpid", libc::SYS_getpid),
    ("getppid", libc::SYS_getppid),
    ("gettid", libc::SYS_gettid),
    ("sched_yield", libc::SYS_sched_yield),
    ("uname", libc::SYS_uname),
    ("prctl", libc::SYS_prctl),
    ("seccomp", libc::SYS_seccomp),
    ("ptrace", libc::SYS_ptrace),
    ("personality", libc::SYS_personality),
    ("socket", libc::SYS_socket),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("clone", libc::SYS_clone),
    ("clone3", libc::SYS_clone3),
    ("sethostname", libc::SYS_sethostname),
    ("setdomainname", libc::SYS_setdomainname),
    ("setgroups", libc::SYS_setgroups),
    ("setuid", libc::SYS_setuid),
    ("setgid", libc::SYS_setgid),
    ("capset", libc::SYS_capset),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("syslog", libc::SYS_syslog),
    ("acct", libc::SYS_acct),
    ("quotactl", libc::SYS_quotactl),
    ("quotactl_fd", libc::SYS_quotactl_fd),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    ("fanotify_init", libc::SYS_fanotify_init),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("settimeofday", libc::SYS_settimeofday),
    ("clock_settime", libc::SYS_clock_settime),
    ("vhangup", libc::SYS_vhangup),
    ("kcmp", libc::SYS_kcmp),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("process_madvise", libc::SYS_process_madvise),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("get_mempolicy", libc::SYS_get_mempolicy),
    ("mbind", libc::SYS_mbind),
    ("set_mempolicy", libc::SYS_set_mempolicy),
    ("set_mempolicy_home_node", libc::SYS_set_mempolicy_home_node),
    ("move_pages", libc::SYS_move_pages),
    ("migrate_pages", libc::SYS_migrate_pages),
    ("nfsservctl", libc::SYS_nfsservctl),
];

/// Calls of the x86_64 table only.
#[cfg(target_arch = "x86_64")]
const CALLS_ARCH: &[(&str, i64)] = &[
    ("open", libc::SYS_open),
    ("mkdir", libc::SYS_mkdir),
    ("iopl", libc::SYS_iopl),
    ("ioperm", libc::SYS_ioperm),
    ("modify_ldt", libc::SYS_modify_ldt),
    ("arch_prctl", libc::SYS_arch_prctl),
    ("uselib", libc::SYS_uselib),
    ("ustat", libc::SYS_ustat),
    ("sysfs", libc::SYS_sysfs),
    ("_sysctl", libc::SYS__sysctl),
    ("afs_syscall", libc::SYS_afs_syscall),
    ("tuxcall", libc::SYS_tuxcall),
    ("security", libc::SYS_security),
    ("vserver", libc::SYS_vserver),
];
#[cfg(not(target_arch = "x86_64"))]
const CALLS_ARCH: &[(&str, i64)] = &[];

fn all_calls() -> impl Iterator<Item = &'static (&'static str, i64)> {
    CALLS.iter().chain(CALLS_ARCH)
}

/// This architecture's number of a system call the kit knows, by name.
pub fn call_number(name: &str) -> Option<i64> {
    all_calls().find(|(n, _)| *n == name).map(|(_, nr)| *nr)
}

/// The name of a system call number the kit knows.
pub fn call_name(nr: i64) -> Option<&'static str> {
    all_calls().find(|(_, n)| *n == nr).map(|(name, _)| *name)
}

/// Every name [`call_number`] knows, sorted, comma-separated.
pub fn known_calls() -> String {
    let mut names: Vec<&str> = all_calls().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.join(", ")
}

// ---------------------------------------------------------------- filters

/// `AUDIT_ARCH_X86_64` (`EM_X86_64|__AUDIT_ARCH_64BIT|__AUDIT_ARCH_LE`): what
/// `seccomp_data.arch` holds for a call of the x86_64 (and x32) ABI.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (`EM_386|__AUDIT_ARCH_LE`): a call through `int $0x80`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`: set in the number of every x32 call.
pub const X32_SYSCALL_BIT: i64 = 0x4000_0000;
/// `SYS_SECCOMP`: the `si_code` of a SIGSYS sent by `SECCOMP_RET_TRAP`.
pub const SYS_SECCOMP: i32 = 1;

/// The `AUDIT_ARCH_*` value of this build's native ABI, by name.
pub fn native_arch_name() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "AUDIT_ARCH_X86_64",
        "aarch64" => "AUDIT_ARCH_AARCH64",
        "riscv64" => "AUDIT_ARCH_RISCV64",
        _ => "unknown",
    }
}

/// What a filter answers to a call it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `SECCOMP_RET_ERRNO`: the call does not run and fails with this errno.
    Errno(Errno),
    /// `SECCOMP_RET_KILL_PROCESS`: the process dies as if by SIGSYS.
    KillProcess,
    /// `SECCOMP_RET_TRAP`: the call does not run; the thread gets SIGSYS
    /// (`si_code` `SYS_SECCOMP`, the call in `si_syscall`).
    Trap,
    /// `SECCOMP_RET_LOG`: the call runs and is logged (the kernel's audit
    /// record type 1326, in the kernel log or the audit log).
    Log,
}

impl Action {
    fn to_seccompiler(self) -> SeccompAction {
        match self {
            Action::Errno(e) => SeccompAction::Errno(e as u32),
            Action::KillProcess => SeccompAction::KillProcess,
            Action::Trap => SeccompAction::Trap,
            Action::Log => SeccompAction::Log,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Errno(e) => write!(f, "SECCOMP_RET_ERRNO|{e:?}"),
            Action::KillProcess => f.write_str("SECCOMP_RET_KILL_PROCESS"),
            Action::Trap => f.write_str("SECCOMP_RET_TRAP"),
            Action::Log => f.write_str("SECCOMP_RET_LOG"),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    call: &'static str,
    nr: i64,
    action: Action,
    /// `(arg, mask)`: matches only when `args[arg] & mask != 0`.
    when: Option<(u8, u64)>,
}

/// "Answer these calls so, allow every other": built call by call, then
/// compiled into a [`Program`].
#[derive(Debug, Clone)]
pub struct Filter {
    name: String,
    rules: Vec<Rule>,
}

impl Filter {
    /// An empty filter named `name` (the name the narration shows): it
    /// allows every call of the native ABI.
    pub fn new(name: impl Into<String>) -> Self {
        Filter {
            name: name.into(),
            rules: Vec::new(),
        }
    }

    fn known(call: &str) -> Result<(&'static str, i64), SeccompError> {
        all_calls()
            .find(|(n, _)| *n == call)
            .map(|(n, nr)| (*n, *nr))
            .ok_or_else(|| SeccompError::UnknownCall(call.to_string()))
    }

    /// Refuse `call` with `errno`, whatever its arguments.
    pub fn refuse(self, call: &str, errno: Errno) -> Result<Self, SeccompError> {
        self.on(call, Action::Errno(errno))
    }

    /// Refuse each of `calls` with `errno`.
    pub fn refuse_all(mut self, calls: &[&str], errno: Errno) -> Result<Self, SeccompError> {
        for call in calls {
            self = self.refuse(call, errno)?;
        }
        Ok(self)
    }

    /// Answer `call` with `action`, whatever its arguments.
    pub fn on(mut self, call: &str, action: Action) -> Result<Self, SeccompError> {
        let (call, nr) = Self::known(call)?;
        self.rules.push(Rule {
            call,
            nr,
            action,
            when: None,
        });
        Ok(self)
    }

    /// Answer `call` with `action` only when argument `arg` (0 to 5) has any
    /// bit of `mask` set: `clone` with `CLONE_NEWUSER` in its flags is
    /// `on_any_flag("clone", action, 0, CLONE_NEWUSER)` on x86_64. Other
    /// values of the argument are allowed.
    pub fn on_any_flag(mut self, call: &str, action: Action, arg: u8, mask: u64) -> Result<Self, SeccompError> {
        let (name, nr) = Self::known(call)?;
        let bad = |why| SeccompError::BadCondition {
            call: call.to_string(),
            why,
        };
        if arg > 5 {
            return Err(bad("a call has six arguments, 0 to 5"));
        }
        if mask == 0 {
            return Err(bad("the mask has no bit set"));
        }
        self.rules.push(Rule {
            call: name,
            nr,
            action,
            when: Some((arg, mask)),
        });
        Ok(self)
    }

    /// The calls this filter answers, with the action and the condition, in
    /// the order given: `clone: SECCOMP_RET_ERRNO|EPERM if arg0 & 0x10000000`.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| match r.when {
                None => format!("{}: {}", r.call, r.action),
                Some((arg, mask)) => format!("{}: {} if arg{arg} & {mask:#x}", r.call, r.action),
            })
            .collect()
    }

    /// Compile to a BPF program: the architecture check, then one answer
    /// per call, then `SECCOMP_RET_ALLOW`.
    pub fn compile(&self) -> Result<Program, SeccompError> {
        let fail = |why: String| SeccompError::Compile {
            name: self.name.clone(),
            why,
        };
        let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| fail(e.to_string()))?;
        // seccompiler gives one filter one action; a program here answers
        // each call with the action of its rules, so the rules are compiled
        // per action and the programs joined (see `join`).
        let mut groups: Vec<(Action, BTreeMap<i64, Vec<SeccompRule>>)> = Vec::new();
        let mut action_of: BTreeMap<i64, Action> = BTreeMap::new();
        let mut unconditional: BTreeMap<i64, bool> = BTreeMap::new();
        for r in &self.rules {
            if let Some(a) = action_of.insert(r.nr, r.action)
                && a != r.action
            {
                return Err(SeccompError::TwoActions(r.call.to_string()));
            }
            let i = match groups.iter().position(|(a, _)| *a == r.action) {
                Some(i) => i,
                None => {
                    groups.push((r.action, BTreeMap::new()));
                    groups.len() - 1
                }
            };
            let chain = groups[i].1.entry(r.nr).or_default();
            match r.when {
                // An empty chain matches the call whatever its arguments.
                None => {
                    unconditional.insert(r.nr, true);
                    chain.clear();
                }
                Some(_) if unconditional.get(&r.nr) == Some(&true) => {}
                Some((arg, mask)) => {
                    // Rules of a chain are or-ed: one rule per bit.
                    for bit in (0..64).map(|b| 1u64 << b).filter(|b| mask & b != 0) {
                        let cond =
                            SeccompCondition::new(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(bit), bit)
                                .map_err(|e| fail(e.to_string()))?;
                        chain.push(SeccompRule::new(vec![cond]).map_err(|e| fail(e.to_string()))?);
                    }
                }
            }
        }
        let mut programs = Vec::new();
        if groups.is_empty() {
            // No rule: the architecture check, then allow. seccompiler wants
            // a match action that differs from the default; none matches.
            let f = SeccompFilter::new(BTreeMap::new(), SeccompAction::Allow, SeccompAction::KillProcess, arch)
                .map_err(|e| fail(e.to_string()))?;
            programs.push(BpfProgram::try_from(f).map_err(|e| fail(e.to_string()))?);
        }
        for (action, rules) in groups {
            let f = SeccompFilter::new(rules, SeccompAction::Allow, action.to_seccompiler(), arch)
                .map_err(|e| fail(e.to_string()))?;
            programs.push(BpfProgram::try_from(f).map_err(|e| fail(e.to_string()))?);
        }
        let mut insns = join(programs).map_err(fail)?;
        if cfg!(target_arch = "x86_64") {
            insns.splice(ARCH_CHECK_LEN..ARCH_CHECK_LEN, x32_guard());
        }
        if insns.len() > BPF_MAXINSNS {
            return Err(fail(format!(
                "{} instructions, more than the kernel's {BPF_MAXINSNS}",
                insns.len()
            )));
        }
        Ok(Program {
            name: self.name.clone(),
            insns: insns.iter().map(to_libc).collect(),
        })
    }
}

/// The kernel's limit on a program's length (`BPF_MAXINSNS`).
const BPF_MAXINSNS: usize = 4096;
/// seccompiler's programs start with the architecture check: load
/// `seccomp_data.arch`, compare, `SECCOMP_RET_KILL_PROCESS` if different.
const ARCH_CHECK_LEN: usize = 3;
/// The kit's x32 guard after it (x86_64).
const X32_GUARD_LEN: usize = 4;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> seccompiler::sock_filter {
    seccompiler::sock_filter { code, jt, jf, k }
}

/// x32 calls carry `AUDIT_ARCH_X86_64` too, so the architecture check lets
/// them by; their numbers have bit 30 set, which no deny list of x86_64
/// numbers matches. Kill them, as libseccomp does for a filter without
/// the x32 ABI: `nr >= 0x40000000 && nr != -1` (-1 is a call a tracer
/// skipped). The jumps stay inside the guard, so inserting it right after
/// the architecture check moves no target of the program's other jumps.
fn x32_guard() -> [seccompiler::sock_filter; X32_GUARD_LEN] {
    [
        insn(BPF_LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        insn(BPF_JGE_K, 0, 2, X32_SYSCALL_BIT as u32),
        insn(BPF_JEQ_K, 1, 0, u32::MAX),
        insn(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

/// Join programs compiled by seccompiler for different actions into one:
/// each ends with `SECCOMP_RET_ALLOW`, reached when no call of its table
/// matched (a call it names returns inside it); that last instruction is
/// replaced by the next program's body (after its architecture check).
/// Jumps are relative and forward, and no jump crosses the point of the
/// join, so both halves keep their meaning. The layout is checked, not
/// assumed: another seccompiler version with another layout is an error
/// here, not a wrong filter.
fn join(programs: Vec<BpfProgram>) -> Result<BpfProgram, String> {
    let mut it = programs.into_iter();
    let Some(mut out) = it.next() else {
        return Err("no program".into());
    };
    let check: Vec<_> = out.iter().take(ARCH_CHECK_LEN).cloned().collect();
    let arch_check_ok = check.len() == ARCH_CHECK_LEN
        && check[0].code == BPF_LD_W_ABS
        && check[0].k == 4
        && check[2].code == BPF_RET_K
        && check[2].k == libc::SECCOMP_RET_KILL_PROCESS;
    if !arch_check_ok {
        return Err("seccompiler's program does not start with the architecture check".into());
    }
    for next in it {
        if next[..ARCH_CHECK_LEN] != check[..] {
            return Err("programs with different architecture checks".into());
        }
        let last = out.last().cloned();
        if last.is_none_or(|l| l.code != BPF_RET_K || l.k != libc::SECCOMP_RET_ALLOW) {
            return Err("seccompiler's program does not end with SECCOMP_RET_ALLOW".into());
        }
        if next
            .get(ARCH_CHECK_LEN)
            .is_none_or(|i| i.code != BPF_LD_W_ABS || i.k != 0)
        {
            return Err("seccompiler's program does not load the call number after the check".into());
        }
        out.pop();
        out.extend(next.into_iter().skip(ARCH_CHECK_LEN));
    }
    Ok(out)
}

fn to_libc(i: &seccompiler::sock_filter) -> libc::sock_filter {
    libc::sock_filter {
        code: i.code,
        jt: i.jt,
        jf: i.jf,
        k: i.k,
    }
}

/// A compiled filter, ready to install with [`InstallFilter`].
#[derive(Clone)]
pub struct Program {
    name: String,
    insns: Vec<libc::sock_filter>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Program({:?}, {} instructions)", self.name, self.insns.len())
    }
}

impl Program {
    /// The filter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many BPF instructions it has.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether it has none (never: every program has the architecture check).
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The instructions.
    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.insns
    }

    /// The program as `struct sock_filter` bytes in this machine's byte
    /// order: what `bwrap --seccomp FD` reads from its descriptor.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.insns
            .iter()
            .flat_map(|i| {
                let mut b = Vec::with_capacity(8);
                b.extend(i.code.to_ne_bytes());
                b.push(i.jt);
                b.push(i.jf);
                b.extend(i.k.to_ne_bytes());
                b
            })
            .collect()
    }

    /// The same program without the architecture check (and the x32 guard):
    /// for the lesson only, which shows what a filter that compares numbers
    /// of one ABI does with a call of another.
    pub fn without_arch_check(&self) -> Program {
        let skip = ARCH_CHECK_LEN + if cfg!(target_arch = "x86_64") { X32_GUARD_LEN } else { 0 };
        Program {
            name: format!("{}-without-arch-check", self.name),
            insns: self.insns[skip.min(self.insns.len())..].to_vec(),
        }
    }
}

/// Docker's mask of namespace flags that `clone` may not carry without
/// `CAP_SYS_ADMIN` (`0x7E020000`: `CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|
/// CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET`; `CLONE_NEWTIME`
/// cannot be given to `clone` at all).
pub const DOCKER_CLONE_NS_MASK: u64 = 0x7E02_0000;

/// The calls [`docker_default`] refuses with `EPERM` whatever their
/// arguments (besides `clone` with a namespace flag and `clone3`).
pub const DOCKER_REFUSED: &[&str] = &[
    // Allowed by Docker only with CAP_SYS_ADMIN.
    "mount",
    "umount2",
    "unshare",
    "setns",
    "sethostname",
    "setdomainname",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "bpf",
    "perf_event_open",
    "fanotify_init",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "syslog",
    // Allowed only with a capability outside Docker's default set.
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "reboot",
    "acct",
    "kcmp",
    "pidfd_getfd",
    "process_madvise",
    "settimeofday",
    "clock_settime",
    "vhangup",
    "get_mempolicy",
    "mbind",
    "set_mempolicy",
    "set_mempolicy_home_node",
    // Never allowed.
    "pivot_root",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "swapon",
    "swapoff",
    "userfaultfd",
    "move_pages",
    "migrate_pages",
    "nfsservctl",
];

/// Calls of this architecture's table only that [`docker_default`] refuses
/// too (x86_64: `iopl`, `ioperm`, and calls the profile never allows).
#[cfg(target_arch = "x86_64")]
pub const DOCKER_REFUSED_ARCH: &[&str] = &[
    "iopl",
    "ioperm",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "afs_syscall",
    "tuxcall",
    "security",
    "vserver",
];
/// Calls of this architecture's table only that [`docker_default`] refuses too.
#[cfg(not(target_arch = "x86_64"))]
pub const DOCKER_REFUSED_ARCH: &[&str] = &[];

/// The filter of [`docker_default`], before compiling (to describe it).
pub fn docker_default_filter() -> Result<Filter, SeccompError> {
    Filter::new("docker-default")
        .refuse_all(DOCKER_REFUSED, Errno::EPERM)?
        .refuse_all(DOCKER_REFUSED_ARCH, Errno::EPERM)?
        .on_any_flag("clone", Action::Errno(Errno::EPERM), 0, DOCKER_CLONE_NS_MASK)?
        .refuse("clone3", Errno::ENOSYS)
}

/// What Docker's default seccomp profile refuses to a container with
/// Docker's default capabilities, where it matters for the labs (the module
/// documentation says which of its rules are reproduced): one program named
/// `docker-default`.
pub fn docker_default() -> Result<Program, SeccompError> {
    docker_default_filter()?.compile()
}

/// The namespace flags other than `CLONE_NEWUSER` (and `CLONE_NEWTIME`,
/// which only `unshare` and `clone3` take).
const NS_FLAGS_BUT_USER: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// An emulation, for tests, of Ubuntu 24.04's AppArmor restriction
/// (`kernel.apparmor_restrict_unprivileged_userns=1`) for an unprivileged
/// process: a user namespace can be created, but the process is moved to
/// the `unprivileged_userns` profile, which denies every capability, so the
/// privileged calls inside it fail with `EPERM`. Refused here with `EPERM`:
/// `mount`, `umount2`, `pivot_root`, `chroot`, `sethostname`,
/// `setdomainname`, `setns`, `setgroups`, the new mount API, and
/// `unshare`/`clone` with any namespace flag but `CLONE_NEWUSER`; `clone3`
/// answers `ENOSYS` (its flags are invisible to a filter; libc falls back
/// to `clone`). Outside a user namespace these calls fail for an
/// unprivileged process anyway.
///
/// Not reproduced: AppArmor also refuses a process inside the new
/// namespace writing its *own* `uid_map`, `gid_map` or `setgroups` (the
/// kernel's `map_write` wants `CAP_SYS_ADMIN` over the namespace, checked
/// through the security module), while the parent outside may write them;
/// a filter cannot tell those writes from others, so here both work. Nor
/// are other capability checks (`chown`, `CAP_DAC_OVERRIDE`, raw sockets...)
/// refused.
pub fn userns_refused() -> Result<Program, SeccompError> {
    Filter::new("userns-refused")
        .refuse_all(
            &[
                "mount",
                "umount2",
                "pivot_root",
                "chroot",
                "sethostname",
                "setdomainname",
                "setns",
                "setgroups",
                "fsopen",
                "fsconfig",
                "fsmount",
                "fspick",
                "move_mount",
                "open_tree",
                "mount_setattr",
            ],
            Errno::EPERM,
        )?
        .on_any_flag(
            "unshare",
            Action::Errno(Errno::EPERM),
            0,
            NS_FLAGS_BUT_USER | libc::CLONE_NEWTIME as u64,
        )?
        .on_any_flag("clone", Action::Errno(Errno::EPERM), 0, NS_FLAGS_BUT_USER)?
        .refuse("clone3", Errno::ENOSYS)?
        .compile()
}

// ---------------------------------------------------------------- /proc

/// The seccomp lines of `/proc/PID/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `Seccomp:`: 0 disabled, 1 strict, 2 filter.
    pub mode: u32,
    /// `Seccomp_filters:` (Linux 5.9+): how many filters are stacked.
    pub filters: Option<u32>,
    /// `NoNewPrivs:`.
    pub no_new_privs: bool,
}

impl Status {
    /// `disabled`, `strict` or `filter`.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            0 => "disabled",
            1 => "strict",
            2 => "filter",
            _ => "unknown",
        }
    }
}

/// The seccomp state of a process, from `/proc/PID/status`; `None` when the
/// kernel shows no `Seccomp:` line (built without `CONFIG_SECCOMP`).
pub fn status(who: Who) -> Result<Option<Status>, KitError> {
    let path = match who {
        Who::This => "/proc/self/status".to_string(),
        Who::Pid(p) => format!("/proc/{p}/status"),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| KitError::io(&path, e))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    Ok(field("Seccomp").map(|mode| Status {
        mode,
        filters: field("Seccomp_filters"),
        no_new_privs: field("NoNewPrivs") == Some(1),
    }))
}

/// The actions this kernel offers (`/proc/sys/kernel/seccomp/actions_avail`,
/// Linux 4.14+), or `None` when the file is missing.
pub fn actions_avail() -> Option<Vec<String>> {
    std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail")
        .ok()
        .map(|s| s.split_whitespace().map(String::from).collect())
}

/// Why a kernel cannot run a filter, from `seccomp(SECCOMP_SET_MODE_FILTER)`'s
/// errno, for `CannotRun::unsupported`; `None` for an errno that is a
/// lesson, not a missing feature (`EACCES` without `no_new_privs`).
pub fn unsupported_reason(errno: Errno) -> Option<String> {
    match errno {
        Errno::ENOSYS => Some("this kernel has no seccomp(2) call (CONFIG_SECCOMP is off)".into()),
        Errno::EINVAL => Some("this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER is off)".into()),
        _ => None,
    }
}

/// Whether this kernel installs filters, tried in a throwaway child (after
/// `no_new_privs`), never in the caller: `Err` with the reason for
/// `CannotRun::unsupported` when it does not.
pub fn probe_filters() -> Result<(), String> {
    use crate::sys::{Forked, exit_child, fork_tied};
    use nix::sys::wait::{WaitStatus, waitpid};
    let program = Filter::new("probe").compile().map_err(|e| e.to_string())?;
    match fork_tied() {
        Ok(Forked::Child) => {
            let res = nix::sys::prctl::set_no_new_privs().and_then(|()| InstallFilter(&program).run());
            exit_child(res.err().map_or(0, |e| e as i32))
        }
        Ok(Forked::Parent(pid)) => match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, code)) => {
                let e = Errno::from_raw(code);
                Err(unsupported_reason(e).unwrap_or_else(|| {
                    format!(
                        "seccomp(SECCOMP_SET_MODE_FILTER) is refused here: {}",
                        crate::narrate::errno_text(e)
                    )
                }))
            }
            other => Err(format!("the seccomp probe ended unexpectedly: {other:?}")),
        },
        Err(e) => Err(e.to_string()),
    }
}

/// The reason for a kernel that shows no `Seccomp:` line.
pub const NO_SECCOMP: &str =
    "this kernel has no seccomp: /proc/self/status has no Seccomp: line (CONFIG_SECCOMP is off)";

// ---------------------------------------------------------------- calls as values

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=N, filter=<name>})`: install a
/// program as a filter of the calling thread (and its future children).
/// Without `CAP_SYS_ADMIN` in its user namespace the caller must have set
/// `no_new_privs` first (`EACCES` otherwise).
#[derive(Debug, Clone, Copy)]
pub struct InstallFilter<'a>(pub &'a Program);

impl fmt::Display for InstallFilter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seccomp(SECCOMP_SET_MODE_FILTER, 0, {{len={}, filter=<{}>}})",
            self.0.len(),
            self.0.name
        )
    }
}

impl Op for InstallFilter<'_> {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        crate::sys::seccomp_set_mode_filter(&self.0.insns, 0)
    }
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)`: strict mode, the original
/// seccomp (2005): only `read`, `write`, `_exit` and `sigreturn`; any other
/// call kills the thread with SIGKILL.
#[derive(Debug, Clone, Copy)]
pub struct SetStrict;

impl fmt::Display for SetStrict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)")
    }
}

impl Op for SetStrict {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        crate::sys::seccomp_strict()
    }
}

/// `prctl(PR_GET_SECCOMP)`: the caller's mode, as the result (0 disabled,
/// 2 filter).
#[derive(Debug, Clone, Copy)]
pub struct GetMode;

impl fmt::Display for GetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("prctl(PR_GET_SECCOMP)")
    }
}

impl Op for GetMode {
    type Output = i32;
    fn run(&self) -> Result<i32, Errno> {
        crate::sys::seccomp_mode()
    }
    fn shown(&self, mode: &i32) -> String {
        mode.to_string()
    }
}

/// `rt_sigaction(SIGSYS, {sa_handler=<record siginfo>, sa_mask=[],
/// sa_flags=SA_RESTORER|SA_SIGINFO}, <old action>, 8)` (libc adds its
/// restorer):
/// catch SIGSYS with the kit's handler, which records `si_code`,
/// `si_syscall`, `si_arch` and `si_errno` ([`crate::sys::take_sigsys`]).
#[derive(Debug, Clone, Copy)]
pub struct CatchSigsys;

impl fmt::Display for CatchSigsys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "rt_sigaction(SIGSYS, {sa_handler=<record siginfo>, sa_mask=[], sa_flags=SA_RESTORER|SA_SIGINFO}, <old action>, 8)",
        )
    }
}

impl Op for CatchSigsys {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        crate::sys::catch_sigsys().map_err(|e| e.errno().unwrap_or(Errno::EINVAL))
    }
}

/// `prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE)` (0): no core dump. A process a filter kills dies
/// as if by SIGSYS, whose default action dumps core (into the working
/// directory with `core_pattern` = `core`, or to a crash collector): a lab
/// must leave no such file behind.
#[derive(Debug, Clone, Copy)]
pub struct NoCoreDump;

impl fmt::Display for NoCoreDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE)")
    }
}

impl Op for NoCoreDump {
    type Output = ();
    fn run(&self) -> Result<(), Errno> {
        nix::sys::prctl::set_dumpable(false)
    }
}

/// Which ABI a [`RawCall`] enters the kernel through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// The native one (`syscall`).
    Native,
    /// i386 through `int $0x80` (x86_64 only), with its own number.
    I386(u32),
    /// x32: the x86_64 number with bit 30 set (x86_64 only).
    X32,
}

/// A call without arguments by number, through an [`Abi`], with its raw
/// result: `sched_yield() = 0`, or `= 24` after a trap whose handler
/// returned (the call did not run; the register still holds its number).
#[derive(Debug, Clone, Copy)]
pub struct RawCall {
    /// The call's name (shown).
    pub name: &'static str,
    /// The native number.
    pub nr: i64,
    /// The ABI.
    pub abi: Abi,
    /// The result is the caller's pid: shown as `<child>` (it is a host pid).
    pub returns_pid: bool,
}

impl RawCall {
    /// A native call the kit knows by name; `None` for an unknown name.
    pub fn native(name: &'static str) -> Option<Self> {
        Some(RawCall {
            name,
            nr: call_number(name)?,
            abi: Abi::Native,
            returns_pid: name == "getpid",
        })
    }

    /// The same call through another ABI.
    pub fn via(mut self, abi: Abi) -> Self {
        self.abi = abi;
        self
    }
}

impl fmt::Display for RawCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.abi {
            Abi::Native => write!(f, "{}()", self.name),
            Abi::I386(nr) => write!(f, "{}() [i386 ABI: int $0x80, eax={nr}]", self.name),
            Abi::X32 => write!(f, "{}() [x32 ABI: number {:#x}]", self.name, self.nr | X32_SYSCALL_BIT),
        }
    }
}

impl Op for RawCall {
    type Output = i64;
    fn run(&self) -> Result<i64, Errno> {
        match self.abi {
            Abi::Native => crate::sys::syscall0(self.nr as libc::c_long),
            Abi::X32 => crate::sys::syscall0((self.nr | X32_SYSCALL_BIT) as libc::c_long),
            #[cfg(target_arch = "x86_64")]
            Abi::I386(nr) => match crate::sys::i386_syscall0(nr) {
                r if (-4095..0).contains(&r) => Err(Errno::from_raw(-r as i32)),
                r => Ok(r),
            },
            #[cfg(not(target_arch = "x86_64"))]
            Abi::I386(_) => Err(Errno::ENOSYS),
        }
    }
    fn shown(&self, out: &i64) -> String {
        // No call here: the narration must not make calls a filter answers.
        if self.returns_pid && *out > 0 {
            "<child>".to_string()
        } else {
            out.to_string()
        }
    }
}

/// `clone(child_stack=NULL, flags=FLAGS|SIGCHLD)`: a child that exits at
/// once (and is reaped), to see whether the call is allowed. With no flags
/// it is `fork`.
#[derive(Debug, Clone, Copy)]
pub struct CloneChild(pub CloneFlags);

impl fmt::Display for CloneChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = clone_flag_names(self.0);
        if self.0.is_empty() {
            f.write_str("clone(child_stack=NULL, flags=SIGCHLD)")
        } else {
            write!(f, "clone(child_stack=NULL, flags={flags}|SIGCHLD)")
        }
    }
}

impl Op for CloneChild {
    type Output = Pid;
    fn run(&self) -> Result<Pid, Errno> {
        let pid = crate::sys::clone_exit_at_once(self.0)?;
        let _ = nix::sys::wait::waitpid(pid, None);
        Ok(pid)
    }
    fn shown(&self, _: &Pid) -> String {
        "<child>".to_string()
    }
}

/// `clone3({flags=FLAGS, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88)`: the same with the
/// flags in a structure in memory, where a filter cannot read them.
#[derive(Debug, Clone, Copy)]
pub struct Clone3Child(pub CloneFlags);

impl fmt::Display for Clone3Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "clone3({{flags={}, exit_signal=SIGCHLD, stack=NULL, stack_size=0}}, {})",
            clone_flag_names(self.0),
            std::mem::size_of::<libc::clone_args>()
        )
    }
}

impl Op for Clone3Child {
    type Output = Pid;
    fn run(&self) -> Result<Pid, Errno> {
        let pid = crate::sys::clone3_exit_at_once(self.0.bits() as u64)?;
        let _ = nix::sys::wait::waitpid(pid, None);
        Ok(pid)
    }
    fn shown(&self, _: &Pid) -> String {
        "<child>".to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;
    use crate::sys::{Forked, exit_child, fork_tied};
    use nix::sys::signal::Signal;
    use nix::sys::wait::{WaitStatus, waitpid};

    /// Run `body` in a forked child (filters are never installed in the
    /// test process) and return how it ended: its exit code is what `body`
    /// returned, or it was killed.
    fn in_child(body: impl FnOnce() -> i32) -> WaitStatus {
        match fork_tied().expect("fork") {
            Forked::Child => {
                // A child a filter kills must not dump core into the crate.
                let code = if NoCoreDump.run().is_ok() { body() } else { 99 };
                exit_child(code)
            }
            Forked::Parent(pid) => waitpid(pid, None).expect("waitpid"),
        }
    }

    fn exited(status: WaitStatus) -> Option<i32> {
        match status {
            WaitStatus::Exited(_, c) => Some(c),
            _ => None,
        }
    }

    fn errno_code(r: Result<impl Sized, Errno>) -> i32 {
        match r {
            Ok(_) => 0,
            Err(e) => e as i32,
        }
    }

    /// Install `program` (with no_new_privs), then report `call`'s errno (0 on success).
    fn refused_with(program: &Program, call: impl FnOnce() -> i32) -> WaitStatus {
        in_child(|| {
            if nix::sys::prctl::set_no_new_privs().is_err() {
                return 98;
            }
            if InstallFilter(program).run().is_err() {
                return 97;
            }
            call()
        })
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(call_number("getpid"), Some(libc::SYS_getpid));
        assert_eq!(call_name(libc::SYS_unshare), Some("unshare"));
        assert!(Filter::new("x").refuse("no_such_call", Errno::EPERM).is_err());
        let e = Filter::new("x").refuse("nope", Errno::EPERM).unwrap_err();
        assert!(e.to_string().contains("\"nope\"") && e.to_string().contains("sethostname"));
        assert!(matches!(
            Filter::new("x")
                .refuse("uname", Errno::EPERM)
                .unwrap()
                .on("uname", Action::Log)
                .unwrap()
                .compile(),
            Err(SeccompError::TwoActions(_))
        ));
        assert!(Filter::new("x").on_any_flag("clone", Action::Trap, 6, 1).is_err());
        assert!(Filter::new("x").on_any_flag("clone", Action::Trap, 0, 0).is_err());
    }

    #[test]
    fn the_narration_reads_like_strace() {
        let p = Filter::new("refuse-uname")
            .refuse("uname", Errno::EPERM)
            .unwrap()
            .compile()
            .unwrap();
        assert_eq!(
            InstallFilter(&p).to_string(),
            format!(
                "seccomp(SECCOMP_SET_MODE_FILTER, 0, {{len={}, filter=<refuse-uname>}})",
                p.len()
            )
        );
        assert_eq!(SetStrict.to_string(), "prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)");
        assert_eq!(
            Clone3Child(CloneFlags::CLONE_NEWUSER).to_string(),
            "clone3({flags=CLONE_NEWUSER, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88)"
        );
        assert_eq!(
            CloneChild(CloneFlags::CLONE_NEWUSER).to_string(),
            "clone(child_stack=NULL, flags=CLONE_NEWUSER|SIGCHLD)"
        );
        assert_eq!(
            CloneChild(CloneFlags::empty()).to_string(),
            "clone(child_stack=NULL, flags=SIGCHLD)"
        );
        let y = RawCall::native("sched_yield").unwrap();
        assert_eq!(y.to_string(), "sched_yield()");
        assert_eq!(
            RawCall::native("getpid").unwrap().via(Abi::I386(20)).to_string(),
            "getpid() [i386 ABI: int $0x80, eax=20]"
        );
        let d = docker_default_filter().unwrap().describe();
        assert!(d.contains(&"clone3: SECCOMP_RET_ERRNO|ENOSYS".to_string()), "{d:?}");
        assert!(
            d.contains(&"clone: SECCOMP_RET_ERRNO|EPERM if arg0 & 0x7e020000".to_string()),
            "{d:?}"
        );
    }

    #[test]
    fn a_program_starts_with_the_architecture_check_and_ends_allowing() {
        let p = docker_default().unwrap();
        let i = p.instructions();
        assert_eq!((i[0].code, i[0].k), (BPF_LD_W_ABS, 4), "loads seccomp_data.arch");
        assert_eq!(i[2].k, libc::SECCOMP_RET_KILL_PROCESS);
        let last = i.last().unwrap();
        assert_eq!((last.code, last.k), (BPF_RET_K, libc::SECCOMP_RET_ALLOW));
        let bare = p.without_arch_check();
        assert_eq!(
            bare.len() + ARCH_CHECK_LEN + X32_GUARD_LEN * usize::from(cfg!(target_arch = "x86_64")),
            p.len()
        );
        // No jump leaves the program.
        for (n, ins) in i.iter().enumerate() {
            if ins.code & 0x07 == libc::BPF_JMP as u16 {
                let far = if ins.code == (libc::BPF_JMP | libc::BPF_JA) as u16 {
                    ins.k as usize
                } else {
                    usize::from(ins.jt.max(ins.jf))
                };
                assert!(n + 1 + far < i.len(), "jump at {n} leaves the program");
            }
        }
    }

    #[test]
    fn a_refused_call_answers_the_errno_and_the_rest_runs() {
        let p = Filter::new("t")
            .refuse("uname", Errno::ETXTBSY)
            .unwrap()
            .compile()
            .unwrap();
        let st = refused_with(&p, || errno_code(nix::sys::utsname::uname()));
        assert_eq!(exited(st), Some(Errno::ETXTBSY as i32));
        let st = refused_with(&p, || errno_code(RawCall::native("sched_yield").unwrap().run()));
        assert_eq!(exited(st), Some(0));
    }

    #[test]
    fn a_program_as_bytes_is_its_instructions_in_order() {
        let p = docker_default().unwrap();
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), p.len() * 8, "struct sock_filter is 8 bytes");
        for (i, chunk) in p.instructions().iter().zip(bytes.chunks(8)) {
            assert_eq!(u16::from_ne_bytes([chunk[0], chunk[1]]), i.code);
            assert_eq!((chunk[2], chunk[3]), (i.jt, i.jf));
            assert_eq!(u32::from_ne_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]), i.k);
        }
    }

    #[test]
    fn docker_default_refuses_what_docker_refuses_without_cap_sys_admin() {
        let p = docker_default().unwrap();
        type Case = (&'static str, Box<dyn FnOnce() -> i32>, Errno);
        let cases: Vec<Case> = vec![
            (
                "unshare(CLONE_NEWUSER)",
                Box::new(|| errno_code(nix::sched::unshare(CloneFlags::CLONE_NEWUSER))),
                Errno::EPERM,
            ),
            (
                "clone(CLONE_NEWUSER)",
                Box::new(|| errno_code(CloneChild(CloneFlags::CLONE_NEWUSER).run())),
                Errno::EPERM,
            ),
            (
                "clone(CLONE_NEWNET)",
                Box::new(|| errno_code(CloneChild(CloneFlags::CLONE_NEWNET).run())),
                Errno::EPERM,
            ),
            (
                "clone3",
                Box::new(|| errno_code(Clone3Child(CloneFlags::empty()).run())),
                Errno::ENOSYS,
            ),
            (
                "keyctl",
                Box::new(|| errno_code(crate::sys::syscall0(libc::SYS_keyctl))),
                Errno::EPERM,
            ),
            (
                "mount",
                Box::new(|| {
                    errno_code(nix::mount::mount(
                        None::<&str>,
                        "/",
                        None::<&str>,
                        nix::mount::MsFlags::MS_REMOUNT,
                        None::<&str>,
                    ))
                }),
                Errno::EPERM,
            ),
            (
                "sethostname",
                Box::new(|| errno_code(nix::unistd::sethostname("x"))),
                Errno::EPERM,
            ),
        ];
        for (what, call, want) in cases {
            assert_eq!(exited(refused_with(&p, call)), Some(want as i32), "{what}");
        }
        // fork (clone without namespace flags) and threads still work:
        // glibc's pthread_create meets ENOSYS from clone3 and falls back.
        let st = refused_with(&p, || errno_code(CloneChild(CloneFlags::empty()).run()));
        assert_eq!(exited(st), Some(0), "fork");
        let st = refused_with(&p, || match std::thread::spawn(|| 7).join() {
            Ok(7) => 0,
            _ => 1,
        });
        assert_eq!(exited(st), Some(0), "a thread");
    }

    #[test]
    fn kill_trap_and_strict_end_as_the_kernel_says() {
        let y = RawCall::native("sched_yield").unwrap();
        let kill = Filter::new("k")
            .on("sched_yield", Action::KillProcess)
            .unwrap()
            .compile()
            .unwrap();
        let st = refused_with(&kill, || errno_code(y.run()));
        assert!(matches!(st, WaitStatus::Signaled(_, Signal::SIGSYS, false)), "{st:?}");

        let trap = Filter::new("t")
            .on("sched_yield", Action::Trap)
            .unwrap()
            .compile()
            .unwrap();
        let st = refused_with(&trap, || {
            if crate::sys::catch_sigsys().is_err() {
                return 90;
            }
            let r = y.run();
            match (r, crate::sys::take_sigsys()) {
                (Ok(v), Some(s)) if v == y.nr && s.code == SYS_SECCOMP && i64::from(s.syscall) == y.nr => 0,
                _ => 91,
            }
        });
        assert_eq!(
            exited(st),
            Some(0),
            "trapped, handled, and the call returned its own number"
        );

        let st = in_child(|| {
            if SetStrict.run().is_err() {
                return 92;
            }
            let _ = y.run();
            93
        });
        assert!(matches!(st, WaitStatus::Signaled(_, Signal::SIGKILL, _)), "{st:?}");
    }

    #[test]
    fn without_no_new_privs_an_unprivileged_process_may_not_install() {
        let p = Filter::new("t")
            .refuse("uname", Errno::EPERM)
            .unwrap()
            .compile()
            .unwrap();
        let st = in_child(|| {
            if caps::drop(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_ADMIN).is_err() {
                return 80;
            }
            errno_code(InstallFilter(&p).run())
        });
        assert_eq!(exited(st), Some(Errno::EACCES as i32));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_call_of_another_abi_kills() {
        let getpid = RawCall::native("getpid").unwrap();
        let p = Filter::new("t")
            .refuse("getpid", Errno::EPERM)
            .unwrap()
            .compile()
            .unwrap();
        // The native getpid is refused; x32's is killed by the kit's guard
        // (whether or not the kernel runs x32 programs).
        assert_eq!(
            exited(refused_with(&p, || errno_code(getpid.run()))),
            Some(Errno::EPERM as i32)
        );
        let st = refused_with(&p, || errno_code(getpid.via(Abi::X32).run()));
        assert!(
            matches!(st, WaitStatus::Signaled(_, Signal::SIGSYS, false)),
            "x32: {st:?}"
        );
        // i386's getpid (20): killed by the architecture check where the
        // kernel runs i386 code; without the check it passes the filter.
        let i386 = getpid.via(Abi::I386(20));
        let plain = in_child(|| i32::from(i386.run().is_ok_and(|v| v == i64::from(std::process::id()))));
        if exited(plain) == Some(1) {
            let st = refused_with(&p, || errno_code(i386.run()));
            assert!(
                matches!(st, WaitStatus::Signaled(_, Signal::SIGSYS, false)),
                "i386: {st:?}"
            );
            let st = refused_with(&p.without_arch_check(), || errno_code(i386.run()));
            assert_eq!(exited(st), Some(0), "i386 without the check");
        }
    }

    #[test]
    fn status_reads_the_seccomp_lines() {
        let s = status(Who::This).unwrap().expect("this kernel has seccomp");
        let p = Filter::new("t").compile().unwrap();
        let before = s.filters.unwrap_or(0);
        let st = refused_with(&p, || {
            let s = status(Who::This).ok().flatten();
            match s {
                Some(s) if s.mode == 2 && s.no_new_privs && s.filters.is_none_or(|n| n == before + 1) => 0,
                _ => 1,
            }
        });
        assert_eq!(exited(st), Some(0));
    }
}
