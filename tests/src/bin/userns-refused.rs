//! `userns-refused [--] CMD [ARGS...]` (as root): run CMD as uid/gid 65534
//! the way Ubuntu 24.04 (`kernel.apparmor_restrict_unprivileged_userns=1`)
//! treats an unprivileged program: it may create user namespaces, but the
//! privileged calls it makes in them are refused with `EPERM`, emulated by
//! the seccomp filter `lab_kit::seccomp::userns_refused()` (whose
//! documentation lists the calls, and what differs from AppArmor: there, a
//! process inside the new namespace may not write its own `uid_map`,
//! `gid_map` or `setgroups`; here it may). The filter is installed while
//! still root, before the switch to 65534, so `no_new_privs` stays unset as
//! for any user's program. Nothing machine-wide changes.

mod emulate;

use std::process::ExitCode;

use emulate::{Failure, c_args, exec, split_command};
use lab_kit::op::Op;
use lab_kit::seccomp::{InstallFilter, userns_refused};
use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};

const USAGE: &str = "userns-refused [--] CMD [ARGS...]";

fn main() -> ExitCode {
    emulate::main("userns-refused", USAGE, run)
}

fn run(args: Vec<String>) -> Result<u8, Failure> {
    let (_, cmd) = split_command(&args, 0)?;
    let cmd = c_args(&cmd)?;
    if !lab_kit::privilege::Caller::read().is_real_root() {
        return Err(Failure::Setup(anyhow::anyhow!(
            "needs real root (it becomes uid 65534)"
        )));
    }
    let program = userns_refused().map_err(|e| Failure::Setup(e.into()))?;
    // setgroups first: the filter refuses it.
    setgroups(&[]).map_err(|e| anyhow::anyhow!("setgroups([]): {e}"))?;
    let install = InstallFilter(&program);
    install.run().map_err(|e| anyhow::anyhow!("{install}: {e}"))?;
    let (g, u) = (Gid::from_raw(emulate::NOBODY), Uid::from_raw(emulate::NOBODY));
    setresgid(g, g, g).map_err(|e| anyhow::anyhow!("setresgid(65534): {e}"))?;
    setresuid(u, u, u).map_err(|e| anyhow::anyhow!("setresuid(65534): {e}"))?;
    Err(exec(&cmd))
}
