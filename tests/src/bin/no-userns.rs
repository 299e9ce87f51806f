//! `no-userns CMD [ARGS...]`: run CMD as uid/gid 65534 inside a user
//! namespace (mapped 1:1 for ids 0..65536) whose `user.max_user_namespaces`
//! is 0. To CMD this is an unprivileged user on a system with user namespaces
//! disabled; the host's own sysctl is never changed, and the setting dies
//! with the namespace. Needs root.

use std::ffi::CString;
use std::process::ExitCode;

use anyhow::{Context, bail};
use lab_kit::sys::{Forked, exit_child, fork_tied};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Gid, Uid, execvp, pipe, read, setgroups, setresgid, setresuid, write};

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("no-userns: {e:#}");
            ExitCode::from(125)
        }
    }
}

fn run() -> anyhow::Result<u8> {
    let args: Vec<CString> = std::env::args()
        .skip(1)
        .map(CString::new)
        .collect::<Result<_, _>>()
        .context("argument contains a NUL byte")?;
    if args.is_empty() {
        bail!("usage: no-userns CMD [ARGS...]");
    }
    let (unshared_r, unshared_w) = pipe()?;
    let (mapped_r, mapped_w) = pipe()?;
    match fork_tied()? {
        Forked::Child => {
            drop(unshared_r);
            drop(mapped_w);
            let res = (|| -> anyhow::Result<()> {
                unshare(CloneFlags::CLONE_NEWUSER).context("unshare(CLONE_NEWUSER)")?;
                write(&unshared_w, b"u")?;
                let mut b = [0u8; 1];
                if read(&mapped_r, &mut b)? != 1 {
                    bail!("the parent did not write the maps");
                }
                std::fs::write("/proc/sys/user/max_user_namespaces", "0")
                    .context("writing user.max_user_namespaces in the new user namespace")?;
                setgroups(&[]).context("setgroups")?;
                setresgid(Gid::from_raw(65534), Gid::from_raw(65534), Gid::from_raw(65534)).context("setresgid")?;
                setresuid(Uid::from_raw(65534), Uid::from_raw(65534), Uid::from_raw(65534)).context("setresuid")?;
                execvp(&args[0], &args).context("execvp")?;
                Ok(())
            })();
            if let Err(e) = res {
                eprintln!("no-userns: {e:#}");
            }
            exit_child(125)
        }
        Forked::Parent(pid) => {
            drop(unshared_w);
            drop(mapped_r);
            let mut b = [0u8; 1];
            if read(&unshared_r, &mut b)? != 1 {
                bail!("the child could not create a user namespace");
            }
            for f in ["uid_map", "gid_map"] {
                std::fs::write(format!("/proc/{pid}/{f}"), "0 0 65536").with_context(|| format!("writing {f}"))?;
            }
            write(&mapped_w, b"m")?;
            match waitpid(pid, None)? {
                WaitStatus::Exited(_, code) => Ok(u8::try_from(code).unwrap_or(1)),
                WaitStatus::Signaled(_, sig, _) => Ok(128u8.saturating_add(sig as u8)),
                _ => Ok(1),
            }
        }
    }
}
