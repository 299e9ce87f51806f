//! `execve`: what a program inherits and what it loses when a process
//! replaces itself with another program.
//!
//! Labs need "a program" to exec that exists on every machine and reports
//! what the kernel gave it: that is the lab's own executable, re-executed
//! through `/proc/self/exe` as the *probe helper*. Every `main` (a lab
//! binary's and the runner's) first calls [`helper_main`]; when the process
//! was started as the helper it reads its own credentials, capability sets and
//! descriptors from `/proc/self`, prints them as one JSON line on stdout and
//! exits. The program needs nothing from the host but `/proc`.
//!
//! [`run_captured`] runs a program in a forked child after a narrated setup
//! (dropping privileges, `chroot`, ...) and hands back what it printed.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use serde::{Deserialize, Serialize};

use crate::child::{self, ChildCtx};
use crate::error::KitError;
use crate::narrate::Narrate;

/// The environment variable that, with [`HELPER_ARG`], turns an executable into the probe helper.
pub const HELPER_ENV: &str = "CONTAINER_LABS_HELPER";
/// The first argument of the probe helper.
pub const HELPER_ARG: &str = "__lab-helper";
/// Where the helper is executed from: the running executable, whatever its path.
pub const SELF_EXE: &str = "/proc/self/exe";

/// What the probe helper reports about itself, read from the kernel after `execve`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Probe {
    /// Real, effective and saved uid.
    pub uid: [u32; 3],
    /// Real, effective and saved gid.
    pub gid: [u32; 3],
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// `CapInh`, `CapPrm`, `CapEff`, `CapBnd`, `CapAmb` of `/proc/self/status`.
    pub caps: CapMasks,
    /// `NoNewPrivs` of `/proc/self/status`.
    pub no_new_privs: bool,
    /// Open descriptors listed in `/proc/self/fd` (without the one reading it).
    pub fds: Vec<i32>,
    /// `open(PATH, O_RDONLY)` and a read, when asked with `--open PATH`: the text or the errno name.
    pub open: Option<Result<String, String>>,
    /// A read of an inherited descriptor, when asked with `--read-fd N`: the text or the errno name.
    pub read_fd: Option<Result<String, String>>,
    /// `setuid(0)`, when asked with `--setuid0`: `success` or the errno name.
    pub setuid0: Option<String>,
    /// `Seccomp:` of `/proc/self/status` (0 disabled, 1 strict, 2 filter),
    /// when the kernel shows it.
    #[serde(default)]
    pub seccomp: Option<u32>,
    /// `Seccomp_filters:` of `/proc/self/status` (Linux 5.9+).
    #[serde(default)]
    pub seccomp_filters: Option<u32>,
    /// `uname()`, when asked with `--uname`: `success` or the errno name.
    #[serde(default)]
    pub uname: Option<String>,
}

/// The five capability sets of a process, as masks.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CapMasks {
    /// Inheritable.
    pub inh: u64,
    /// Permitted.
    pub prm: u64,
    /// Effective.
    pub eff: u64,
    /// Bounding.
    pub bnd: u64,
    /// Ambient.
    pub amb: u64,
}

impl CapMasks {
    /// Read them from `/proc/PID/status`.
    pub fn read(who: crate::proc::Who) -> Result<Self, KitError> {
        let st = crate::proc::status(who)?;
        Ok(CapMasks {
            inh: st.capinh,
            prm: st.capprm,
            eff: st.capeff,
            bnd: st.capbnd.unwrap_or(0),
            amb: st.capamb.unwrap_or(0),
        })
    }
}

/// If this process was started as the probe helper, be it and return the
/// exit code; otherwise `None`. Call it first thing in `main`.
pub fn helper_main() -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    if std::env::var_os(HELPER_ENV).is_none() || args.get(1).map(String::as_str) != Some(HELPER_ARG) {
        return None;
    }
    match probe(&args[2..]) {
        Ok(p) => match serde_json::to_string(&p) {
            Ok(line) => {
                println!("{line}");
                Some(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("lab helper: {e}");
                Some(ExitCode::from(1))
            }
        },
        Err(e) => {
            eprintln!("lab helper: {e}");
            Some(ExitCode::from(1))
        }
    }
}

fn errno_name(e: Errno) -> String {
    format!("{e:?}")
}

fn read_all(fd: impl std::os::fd::AsFd) -> Result<String, String> {
    let mut buf = [0u8; 256];
    // pread: the descriptor may be shared with the parent, whose offset must not move.
    nix::sys::uio::pread(fd, &mut buf, 0)
        .map(|n| String::from_utf8_lossy(&buf[..n]).trim_end().to_string())
        .map_err(errno_name)
}

fn probe(args: &[String]) -> Result<Probe, KitError> {
    let st = crate::proc::status(crate::proc::Who::This)?;
    let mut p = Probe {
        uid: [st.ruid, st.euid, st.suid],
        gid: [st.rgid, st.egid, st.sgid],
        groups: st.groups.clone(),
        caps: CapMasks::read(crate::proc::Who::This)?,
        no_new_privs: st.nonewprivs == Some(1),
        fds: open_fds()?,
        open: None,
        read_fd: None,
        setuid0: None,
        seccomp: None,
        seccomp_filters: None,
        uname: None,
    };
    if let Some(sc) = crate::seccomp::status(crate::proc::Who::This)? {
        p.seccomp = Some(sc.mode);
        p.seccomp_filters = sc.filters;
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.clone().next()) {
            ("--open", Some(path)) => {
                it.next();
                p.open = Some(
                    nix::fcntl::open(
                        path.as_str(),
                        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                        nix::sys::stat::Mode::empty(),
                    )
                    .map_err(errno_name)
                    .and_then(read_all),
                );
            }
            ("--read-fd", Some(n)) => {
                it.next();
                let n: i32 = n.parse().map_err(|_| KitError::Channel(format!("bad --read-fd {n}")))?;
                p.read_fd = Some(read_raw_fd(n));
            }
            ("--uname", _) => {
                p.uname = Some(match nix::sys::utsname::uname() {
                    Ok(_) => "success".into(),
                    Err(e) => errno_name(e),
                });
            }
            ("--setuid0", _) => {
                p.setuid0 = Some(match nix::unistd::setuid(nix::unistd::Uid::from_raw(0)) {
                    Ok(()) => "success".into(),
                    Err(e) => errno_name(e),
                });
            }
            (other, _) => return Err(KitError::Channel(format!("unknown helper argument {other}"))),
        }
    }
    Ok(p)
}

/// Read an inherited descriptor by number, without taking ownership of it.
fn read_raw_fd(n: i32) -> Result<String, String> {
    crate::sys::inherited_fd(n, |fd| read_all(fd)).unwrap_or_else(|| Err("EBADF".into()))
}

/// The descriptors listed in `/proc/self/fd`, without the directory handle
/// used to list them.
pub fn open_fds() -> Result<Vec<i32>, KitError> {
    let dir = std::fs::read_dir("/proc/self/fd").map_err(|e| KitError::io("/proc/self/fd", e))?;
    let mut fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .filter(|n| {
            std::fs::read_link(format!("/proc/self/fd/{n}"))
                .is_ok_and(|t| !(t.starts_with("/proc/") && t.ends_with("fd")))
        })
        .collect();
    fds.sort_unstable();
    Ok(fds)
}

/// What to execute in the child.
#[derive(Debug, Clone)]
pub enum Program {
    /// The probe helper, from `path` (usually [`SELF_EXE`]), with helper arguments.
    Helper {
        /// The executable.
        path: String,
        /// Arguments after `__lab-helper`.
        args: Vec<String>,
    },
    /// Any program, with its argv; the environment is only `PATH=/usr/bin:/bin`.
    Path {
        /// The program's path.
        path: String,
        /// argv, including argv\[0\].
        argv: Vec<String>,
    },
}

impl Program {
    /// The probe helper from the running executable.
    pub fn helper(args: &[&str]) -> Self {
        Program::Helper {
            path: SELF_EXE.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A program by path and argv.
    pub fn path(path: &str, argv: &[&str]) -> Self {
        Program::Path {
            path: path.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn parts(&self) -> (String, Vec<String>, Vec<String>) {
        match self {
            Program::Helper { path, args } => {
                let mut argv = vec!["lab-helper".to_string(), HELPER_ARG.to_string()];
                argv.extend(args.iter().cloned());
                (path.clone(), argv, vec![format!("{HELPER_ENV}=1")])
            }
            Program::Path { path, argv } => (path.clone(), argv.clone(), vec!["PATH=/usr/bin:/bin".into()]),
        }
    }
}

impl Program {
    /// The call as strace shows it.
    pub fn call_text(&self) -> String {
        self.to_string()
    }
}

/// `execve(path, [argv…], ...)`: the environment is not shown.
impl std::fmt::Display for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, argv, _) = self.parts();
        let shown: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
        write!(f, "execve({path:?}, [{}], ...)", shown.join(", "))
    }
}

impl crate::op::Op for Program {
    type Output = ();
    /// Returns only on failure: on success the image is gone.
    fn run(&self) -> Result<(), Errno> {
        let (path, argv, env) = self.parts();
        let c = |s: &str| CString::new(s).map_err(|_| Errno::EINVAL);
        let cpath = c(&path)?;
        let cargv = argv.iter().map(|a| c(a)).collect::<Result<Vec<_>, _>>()?;
        let cenv = env.iter().map(|a| c(a)).collect::<Result<Vec<_>, _>>()?;
        nix::unistd::execve(&cpath, &cargv, &cenv).map(drop)
    }
}

/// `execve` the program. Returns only on failure, which it narrates; a
/// success cannot be told from here (the image is gone), so whoever waits
/// for the program tells it ([`run_captured`] does, from the same value).
pub fn execve(n: &mut impl Narrate, program: &Program) -> Errno {
    match n.run(program.clone()) {
        Ok(()) => Errno::UnknownErrno,
        Err(e) => e,
    }
}

/// What a program run by [`run_captured`] did.
#[derive(Debug)]
pub struct Captured {
    /// What it wrote on stdout.
    pub stdout: String,
    /// `Some(errno)` when `execve` itself failed.
    pub exec_error: Option<Errno>,
    /// How the child ended (`exited 0`, ...).
    pub status: String,
}

impl Captured {
    /// The probe helper's report.
    pub fn probe(&self) -> Result<Probe, KitError> {
        if let Some(e) = self.exec_error {
            return Err(KitError::Child(format!("execve of the helper failed: {e:?}")));
        }
        serde_json::from_str(self.stdout.trim())
            .map_err(|e| KitError::Channel(format!("the helper's report is malformed ({e}): {:?}", self.stdout)))
    }
}

/// Fork a child, run `setup` in it (narrated), then `execve` `program` with
/// its stdout on a pipe; read the pipe to its end and reap the child.
pub fn run_captured(
    n: &mut impl Narrate,
    setup: impl FnOnce(&mut ChildCtx) -> anyhow::Result<()>,
    program: Program,
) -> Result<Captured, KitError> {
    let (read, write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| KitError::Sys { call: "pipe2()", errno })?;
    let shown = program.clone();
    let mut child = child::spawn(n, move |c| {
        setup(c)?;
        // A change of uid or gid in `setup` clears the parent-death signal: arm it
        // again so the program dies with the lab. (A setuid program's execve clears
        // it once more; the probe only reads /proc and prints a line, then exits.)
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
        // dup2 onto 1 clears close-on-exec there only: the program's stdout is the pipe.
        nix::unistd::dup2_stdout(&write)?;
        drop(write);
        let errno = execve(c, &program);
        c.send(&(errno as i32))?;
        Ok(())
    })?;
    let mut stdout = String::new();
    let mut file = std::fs::File::from(read);
    file.read_to_string(&mut stdout)
        .map_err(|e| KitError::io(format!("pipe:{}", file.as_raw_fd()), e))?;
    let exec_error = child.recv_or_eof::<i32>(n)?.map(Errno::from_raw);
    if exec_error.is_none() {
        // The pipe closed on exec without an errno: execve returned no error.
        n.emit(crate::Event::Call {
            text: crate::op::line(&shown, &Ok(())),
        });
    }
    let status = child.wait(n)?;
    Ok(Captured {
        stdout,
        exec_error,
        status: child::describe(&status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_read_like_strace() {
        assert_eq!(
            Program::helper(&["--read-fd", "3"]).call_text(),
            r#"execve("/proc/self/exe", ["lab-helper", "__lab-helper", "--read-fd", "3"], ...)"#
        );
        assert_eq!(
            Program::path("/bin/sh", &["sh", "-c", "ls /"]).call_text(),
            r#"execve("/bin/sh", ["sh", "-c", "ls /"], ...)"#
        );
    }

    #[test]
    fn the_helper_answers_only_when_asked() {
        // The test binary is not started as the helper.
        assert!(helper_main().is_none());
    }

    #[test]
    fn the_probe_reports_descriptors_and_refuses_unknown_arguments() {
        let p = probe(&[]).expect("probe of this process");
        assert!(p.fds.contains(&0) || p.fds.contains(&1) || p.fds.contains(&2));
        assert_eq!(p.uid[1], nix::unistd::geteuid().as_raw());
        assert!(probe(&["--bogus".to_string()]).is_err());
        let p = probe(&["--read-fd".into(), "999".into()]).expect("probe");
        assert_eq!(p.read_fd, Some(Err("EBADF".into())));
    }
}
