//! `docker-like [--] CMD [ARGS...]` (as root): run CMD the way Docker's
//! defaults leave a container's root process, where it matters for the
//! labs: Docker's 14 default capabilities (`lab_kit::container::DEFAULT_CAPS`)
//! in the bounding, permitted, effective and inheritable sets (ambient
//! empty), under `lab_kit::seccomp::docker_default()`. As runc does without
//! `no_new_privs` (Docker's default), the filter is installed first, while
//! the process still holds `CAP_SYS_ADMIN`, and the capabilities dropped
//! after; `no_new_privs` stays unset. CMD runs as uid 0 in the caller's
//! namespaces (no new namespaces: this emulates the refusals, not the
//! isolation). Nothing machine-wide changes.

mod emulate;

use std::process::ExitCode;

use caps::{CapSet, CapsHashSet};
use emulate::{Failure, c_args, exec, split_command};
use lab_kit::container::DEFAULT_CAPS;
use lab_kit::op::Op;
use lab_kit::seccomp::{InstallFilter, docker_default};

const USAGE: &str = "docker-like [--] CMD [ARGS...]";

fn main() -> ExitCode {
    emulate::main("docker-like", USAGE, run)
}

fn run(args: Vec<String>) -> Result<u8, Failure> {
    let (_, cmd) = split_command(&args, 0)?;
    let cmd = c_args(&cmd)?;
    if !lab_kit::privilege::Caller::read().is_real_root() {
        return Err(Failure::Setup(anyhow::anyhow!(
            "needs real root (it drops to Docker's capabilities)"
        )));
    }
    let program = docker_default().map_err(|e| Failure::Setup(e.into()))?;
    let install = InstallFilter(&program);
    install.run().map_err(|e| anyhow::anyhow!("{install}: {e}"))?;
    let keep: CapsHashSet = DEFAULT_CAPS.iter().copied().collect();
    for cap in caps::all().difference(&keep) {
        if caps::has_cap(None, CapSet::Bounding, *cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, *cap)
                .map_err(|e| anyhow::anyhow!("prctl(PR_CAPBSET_DROP, {cap}): {e}"))?;
        }
    }
    // Effective before permitted: nothing may stay effective once it is not permitted.
    for set in [CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        caps::set(None, set, &keep).map_err(|e| anyhow::anyhow!("capset({set:?}): {e}"))?;
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| anyhow::anyhow!("prctl(PR_CAP_AMBIENT_CLEAR_ALL): {e}"))?;
    Err(exec(&cmd))
}
