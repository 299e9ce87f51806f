//! What the refusal emulators share: parsing `[OPTIONS] ARGS -- CMD...`,
//! becoming uid/gid 65534, and `execvp` with the exit codes of `lab
//! container` (125: the emulator could not set up, 126: CMD cannot be
//! executed, 127: CMD not found, 2: usage). None of them changes anything
//! machine-wide: a filter, dropped capabilities or a sysctl of a user
//! namespace of their own end with CMD.

#![allow(dead_code)] // each emulator uses a part of it

use std::ffi::CString;
use std::process::ExitCode;

use anyhow::Context;
use nix::errno::Errno;
use nix::unistd::{Gid, Uid, execvp, setgroups, setresgid, setresuid};

/// The uid and gid CMD runs as when the emulator says "as uid 65534".
pub const NOBODY: u32 = 65534;

/// The end of an emulator: the code it exits with.
pub enum Failure {
    /// Bad command line (exit 2), with the message.
    Usage(String),
    /// The emulator itself failed (exit 125).
    Setup(anyhow::Error),
    /// `execvp` failed (126, or 127 for ENOENT).
    Exec(String, Errno),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Setup(e)
    }
}

/// Run an emulator's body and turn its failure into a one-line message on
/// stderr and the documented exit code.
pub fn main(name: &str, usage: &str, body: impl FnOnce(Vec<String>) -> Result<u8, Failure>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match body(args) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(msg)) => {
            eprintln!("{name}: {msg}; usage: {usage}");
            ExitCode::from(2)
        }
        Err(Failure::Setup(e)) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(125)
        }
        Err(Failure::Exec(cmd, e)) => {
            eprintln!("{name}: cannot execute {cmd}: {}", e.desc());
            ExitCode::from(if e == Errno::ENOENT { 127 } else { 126 })
        }
    }
}

/// Split `ARGS [--] CMD...` after `n` leading arguments: the first `n`
/// (options already removed by the caller) and the command, which must not
/// be empty.
pub fn split_command(args: &[String], n: usize) -> Result<(Vec<String>, Vec<String>), Failure> {
    if args.len() < n {
        return Err(Failure::Usage("missing arguments".into()));
    }
    let (head, rest) = args.split_at(n);
    let rest = match rest.first().map(String::as_str) {
        Some("--") => &rest[1..],
        _ => rest,
    };
    if rest.is_empty() {
        return Err(Failure::Usage("missing the command to run".into()));
    }
    Ok((head.to_vec(), rest.to_vec()))
}

/// The command as C strings.
pub fn c_args(cmd: &[String]) -> Result<Vec<CString>, Failure> {
    cmd.iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| Failure::Usage("an argument contains a NUL byte".into()))
}

/// `execvp(CMD)`; returns only on failure.
pub fn exec(cmd: &[CString]) -> Failure {
    let shown = cmd[0].to_string_lossy().into_owned();
    match execvp(&cmd[0], cmd) {
        Err(e) => Failure::Exec(shown, e),
        Ok(never) => match never {},
    }
}

/// Become uid and gid 65534 with no supplementary groups (real, effective
/// and saved), as `setpriv --reuid 65534 --regid 65534 --clear-groups`.
pub fn become_nobody() -> anyhow::Result<()> {
    setgroups(&[]).context("setgroups([])")?;
    let g = Gid::from_raw(NOBODY);
    setresgid(g, g, g).context("setresgid(65534)")?;
    let u = Uid::from_raw(NOBODY);
    setresuid(u, u, u).context("setresuid(65534)")?;
    Ok(())
}

/// An errno by name (`EPERM`) or number (`1`).
pub fn parse_errno(s: &str) -> Option<Errno> {
    let e = match s.parse::<i32>() {
        Ok(n) => Errno::from_raw(n),
        Err(_) => (1..4096).map(Errno::from_raw).find(|e| format!("{e:?}") == s)?,
    };
    (e != Errno::UnknownErrno).then_some(e)
}
