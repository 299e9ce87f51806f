//! `ns-limit KIND[,KIND...] [--] CMD [ARGS...]` (as root): run CMD as
//! uid/gid 65534 on what looks to it like a machine whose
//! `user.max_KIND_namespaces` is 0, KIND being `user`, `mnt`, `uts`, `ipc`,
//! `pid`, `net`, `cgroup` or `time`; `ns-limit user` is an unprivileged
//! user where user namespaces are disabled.
//!
//! The limits are per user namespace and count upwards: a namespace made
//! anywhere below a user namespace whose limit is 0 is refused (`ENOSPC`).
//! So the emulator makes a user namespace of its own (uids and gids 0..65536
//! mapped onto themselves, written by the parent outside), sets the limits
//! there as its root, and runs CMD as uid 65534 *in that namespace*, as an
//! unprivileged user sits in the initial one under a machine-wide sysctl:
//! CMD may not change the limits back (the sysctl files belong to the
//! namespace's root), and a user namespace CMD makes below it inherits
//! them. Running CMD as that namespace's root instead would give it
//! `CAP_SYS_ADMIN` there, which no unprivileged user has. The host's own
//! sysctls never change, and the settings die with the namespace.

mod emulate;

use std::process::ExitCode;

use anyhow::Context;
use emulate::{Failure, become_nobody, c_args, exec, split_command};
use lab_kit::sys::{Forked, exit_child, fork_tied};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{pipe, read, write};

const USAGE: &str = "ns-limit KIND[,KIND...] [--] CMD [ARGS...] (KIND: user, mnt, uts, ipc, pid, net, cgroup, time)";
const KINDS: [&str; 8] = ["user", "mnt", "uts", "ipc", "pid", "net", "cgroup", "time"];

fn main() -> ExitCode {
    emulate::main("ns-limit", USAGE, run)
}

fn run(args: Vec<String>) -> Result<u8, Failure> {
    let (kinds, cmd) = split_command(&args, 1)?;
    let kinds: Vec<&str> = kinds[0].split(',').filter(|k| !k.is_empty()).collect();
    if kinds.is_empty() {
        return Err(Failure::Usage("no namespace kind given".into()));
    }
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(k)) {
        return Err(Failure::Usage(format!("unknown namespace kind {bad:?}")));
    }
    for k in &kinds {
        let path = format!("/proc/sys/user/max_{k}_namespaces");
        if !std::path::Path::new(&path).exists() {
            return Err(Failure::Setup(anyhow::anyhow!("this kernel has no {path}")));
        }
    }
    let cmd = c_args(&cmd)?;
    if !lab_kit::privilege::Caller::read().is_real_root() {
        return Err(Failure::Setup(anyhow::anyhow!(
            "needs real root (it maps uids 0..65536 into its user namespace)"
        )));
    }
    let (unshared_r, unshared_w) = pipe().context("pipe")?;
    let (mapped_r, mapped_w) = pipe().context("pipe")?;
    match fork_tied().context("fork")? {
        Forked::Child => {
            drop(unshared_r);
            drop(mapped_w);
            let res = (|| -> Result<(), Failure> {
                unshare(CloneFlags::CLONE_NEWUSER).context("unshare(CLONE_NEWUSER)")?;
                write(&unshared_w, b"u").context("pipe")?;
                let mut b = [0u8; 1];
                if read(&mapped_r, &mut b).context("pipe")? != 1 {
                    return Err(anyhow::anyhow!("the parent did not write the maps").into());
                }
                for k in &kinds {
                    let path = format!("/proc/sys/user/max_{k}_namespaces");
                    std::fs::write(&path, "0").with_context(|| format!("writing {path} in the new user namespace"))?;
                }
                become_nobody()?;
                Err(exec(&cmd))
            })();
            let code = match res {
                Err(Failure::Exec(c, e)) => {
                    eprintln!("ns-limit: cannot execute {c}: {}", e.desc());
                    if e == nix::errno::Errno::ENOENT { 127 } else { 126 }
                }
                Err(Failure::Setup(e)) => {
                    eprintln!("ns-limit: {e:#}");
                    125
                }
                _ => 125,
            };
            exit_child(code)
        }
        Forked::Parent(pid) => {
            drop(unshared_w);
            drop(mapped_r);
            let mut b = [0u8; 1];
            if read(&unshared_r, &mut b).context("pipe")? != 1 {
                // The child said why on stderr.
                let _ = waitpid(pid, None);
                return Ok(125);
            }
            let maps = (|| -> anyhow::Result<()> {
                for f in ["uid_map", "gid_map"] {
                    std::fs::write(format!("/proc/{pid}/{f}"), "0 0 65536").with_context(|| format!("writing {f}"))?;
                }
                write(&mapped_w, b"m").context("pipe")?;
                Ok(())
            })();
            drop(mapped_w);
            let status = waitpid(pid, None).context("waitpid")?;
            maps?;
            match status {
                WaitStatus::Exited(_, code) => Ok(u8::try_from(code).unwrap_or(1)),
                WaitStatus::Signaled(_, sig, _) => Ok(128u8.saturating_add(sig as u8)),
                other => Err(anyhow::anyhow!("the child ended oddly: {other:?}").into()),
            }
        }
    }
}
