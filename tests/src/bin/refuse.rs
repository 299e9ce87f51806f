//! `refuse [--errno ERRNO] CALL[,CALL...] [--] CMD [ARGS...]`: run CMD
//! under a seccomp filter that refuses those system calls with ERRNO
//! (`EPERM` unless given; a name such as `ENOSYS` or a number) and allows
//! every other: a machine whose container runtime or service manager
//! refuses single calls. CMD runs as the caller. A caller without
//! `CAP_SYS_ADMIN` sets `no_new_privs` first, as the kernel requires; root
//! does not, so that CMD may still gain privilege through a setuid program
//! as it would without the filter. The filter ends with CMD; nothing
//! machine-wide changes. The calls are named as `lab_kit::seccomp` knows
//! them (`refuse --list` prints the names).

mod emulate;

use std::process::ExitCode;

use emulate::{Failure, c_args, exec, parse_errno, split_command};
use lab_kit::op::Op;
use lab_kit::seccomp::{Filter, InstallFilter, known_calls};
use nix::errno::Errno;

const USAGE: &str = "refuse [--errno ERRNO] CALL[,CALL...] [--] CMD [ARGS...]";

fn main() -> ExitCode {
    emulate::main("refuse", USAGE, run)
}

fn run(mut args: Vec<String>) -> Result<u8, Failure> {
    if args.first().map(String::as_str) == Some("--list") {
        println!("{}", known_calls());
        return Ok(0);
    }
    let mut errno = Errno::EPERM;
    if args.first().map(String::as_str) == Some("--errno") {
        let name = args
            .get(1)
            .ok_or_else(|| Failure::Usage("--errno needs a value".into()))?;
        errno = parse_errno(name).ok_or_else(|| Failure::Usage(format!("unknown errno {name:?}")))?;
        args.drain(..2);
    }
    let (calls, cmd) = split_command(&args, 1)?;
    let names: Vec<&str> = calls[0].split(',').filter(|c| !c.is_empty()).collect();
    if names.is_empty() {
        return Err(Failure::Usage("no system call to refuse".into()));
    }
    let program = Filter::new(format!("refuse-{}", names.join(",")))
        .refuse_all(&names, errno)
        .map_err(|e| Failure::Usage(e.to_string()))?
        .compile()
        .map_err(|e| Failure::Setup(e.into()))?;
    let cmd = c_args(&cmd)?;
    let privileged = caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SYS_ADMIN).unwrap_or(false);
    if !privileged {
        nix::sys::prctl::set_no_new_privs().map_err(|e| anyhow::anyhow!("prctl(PR_SET_NO_NEW_PRIVS, 1): {e}"))?;
    }
    let install = InstallFilter(&program);
    install.run().map_err(|e| anyhow::anyhow!("{install}: {e}"))?;
    Err(exec(&cmd))
}
