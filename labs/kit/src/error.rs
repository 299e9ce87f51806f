//! The kit's error type: lower-case messages that name the path or the call.

use std::path::PathBuf;

/// Errors of the kit's own machinery (not the kernel behaviours labs check).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// A system call failed.
    #[error("{call} failed: {source}")]
    Sys {
        /// The call, as narrated.
        call: &'static str,
        /// The errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// procfs could not read or parse a `/proc` file.
    #[error("cannot read {what} from /proc: {source}")]
    Proc {
        /// What was read.
        what: String,
        /// The cause.
        #[source]
        source: procfs::ProcError,
    },
    /// The channel to a child process broke or carried something unexpected.
    #[error("child channel: {0}")]
    Channel(String),
    /// A child reported an error.
    #[error("child process: {0}")]
    Child(String),
}

impl KitError {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KitError::Io { path: path.into(), source }
    }

    /// Wrap a procfs error with what was being read.
    pub fn proc(what: impl Into<String>, source: procfs::ProcError) -> Self {
        KitError::Proc { what: what.into(), source }
    }
}
