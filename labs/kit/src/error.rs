//! The kit's error type: lower-case messages that name the path or the call.

use std::path::PathBuf;

/// Errors of the kit's own machinery (not the kernel behaviours labs check).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// A system call failed.
    #[error("{call} failed: {errno}")]
    Sys {
        /// The call, as narrated.
        call: &'static str,
        /// The errno.
        errno: nix::errno::Errno,
    },
    /// A system call on a path failed.
    #[error("{call}({path}) failed: {errno}")]
    SysPath {
        /// The call.
        call: &'static str,
        /// The path.
        path: PathBuf,
        /// The errno.
        errno: nix::errno::Errno,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        err: std::io::Error,
    },
    /// procfs could not read or parse a `/proc` file.
    #[error("cannot read {what}: {err}")]
    Proc {
        /// What was read.
        what: String,
        /// The cause.
        err: procfs::ProcError,
    },
    /// The channel to a child process broke or carried something unexpected.
    #[error("child channel: {0}")]
    Channel(String),
    /// A fork was refused because the process has other threads.
    #[error("refusing to fork a process with {0} threads: its child could find a lock held forever")]
    Threads(usize),
    /// A child reported an error.
    #[error("child process: {0}")]
    Child(String),
    /// A child found that its step cannot run here (skip or unsupported):
    /// the step gets that status, as if the parent had found it.
    #[error("child process: {0}")]
    CannotRun(#[source] crate::lab::CannotRun),
}

impl KitError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KitError::Io {
            path: path.into(),
            err: source,
        }
    }

    /// Wrap a procfs error with what was being read.
    pub fn proc(what: impl Into<String>, source: procfs::ProcError) -> Self {
        KitError::Proc {
            what: what.into(),
            err: source,
        }
    }
}

impl KitError {
    /// The errno behind the error, when a system call failed.
    pub fn errno(&self) -> Option<nix::errno::Errno> {
        match self {
            KitError::Sys { errno, .. } | KitError::SysPath { errno, .. } => Some(*errno),
            KitError::Io { err, .. } => err.raw_os_error().map(nix::errno::Errno::from_raw),
            _ => None,
        }
    }
}
