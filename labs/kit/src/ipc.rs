//! System V IPC objects and POSIX message queues, which live in an IPC
//! namespace. `/proc/sysvipc/{msg,sem,shm}` list the objects of the *reader's*
//! IPC namespace; `/dev/mqueue` (an `mqueue` mount) lists the message queues of
//! the namespace of whoever mounted it.
//!
//! Labs create objects only in IPC namespaces they created themselves, so a
//! killed lab cannot leave any behind: the objects die with the namespace.

use procfs::Current as _;

use crate::narrate::Narrate;
pub use crate::sys::SysvKind;

/// Errors reading the IPC listings.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// The listing could not be read.
    #[error("cannot read {path}: {err}")]
    Read {
        /// The file.
        path: &'static str,
        /// The cause.
        err: std::io::Error,
    },
    /// procfs could not parse `/proc/sysvipc/shm`.
    #[error("cannot read /proc/sysvipc/shm: {0}")]
    Shm(procfs::ProcError),
    /// A line did not have the expected columns.
    #[error("unexpected line in {path}: {line:?}")]
    Format {
        /// The file.
        path: &'static str,
        /// The line.
        line: String,
    },
}

impl SysvKind {
    /// Every kind, in the order `ipcs` prints them.
    pub const ALL: [SysvKind; 3] = [SysvKind::Msg, SysvKind::Shm, SysvKind::Sem];

    /// `/proc/sysvipc/msg`, ...
    pub fn proc_path(self) -> &'static str {
        match self {
            SysvKind::Msg => "/proc/sysvipc/msg",
            SysvKind::Sem => "/proc/sysvipc/sem",
            SysvKind::Shm => "/proc/sysvipc/shm",
        }
    }

    /// The system call that creates one (`msgget`).
    pub fn getter(self) -> &'static str {
        match self {
            SysvKind::Msg => "msgget",
            SysvKind::Sem => "semget",
            SysvKind::Shm => "shmget",
        }
    }
}

/// The keys of the objects of `kind` in the caller's IPC namespace, sorted.
pub fn keys(kind: SysvKind) -> Result<Vec<i32>, IpcError> {
    let mut keys = match kind {
        // procfs parses the shared memory listing; the other two share its layout (key first).
        SysvKind::Shm => procfs::SharedMemorySegments::current()
            .map_err(IpcError::Shm)?
            .0
            .iter()
            .map(|s| s.key)
            .collect(),
        _ => {
            let path = kind.proc_path();
            let text = std::fs::read_to_string(path).map_err(|err| IpcError::Read { path, err })?;
            text.lines()
                .skip(1)
                .map(|line| {
                    line.split_whitespace()
                        .next()
                        .and_then(|k| k.parse::<i32>().ok())
                        .ok_or_else(|| IpcError::Format {
                            path,
                            line: line.to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    keys.sort_unstable();
    Ok(keys)
}

/// How many objects of `kind` with `key` the caller's IPC namespace lists.
pub fn count(kind: SysvKind, key: i32) -> Result<usize, IpcError> {
    Ok(keys(kind)?.into_iter().filter(|k| *k == key).count())
}

/// Create an object of `kind` with `key` (`IPC_CREAT|IPC_EXCL`), narrated;
/// the id the kernel gave it is not shown (it is not stable).
pub fn create(n: &mut impl Narrate, kind: SysvKind, key: i32) -> nix::Result<i32> {
    let args = match kind {
        SysvKind::Msg => format!("{key:#x}, IPC_CREAT|IPC_EXCL|0600"),
        SysvKind::Sem => format!("{key:#x}, 1, IPC_CREAT|IPC_EXCL|0600"),
        SysvKind::Shm => format!("{key:#x}, 4096, IPC_CREAT|IPC_EXCL|0600"),
    };
    n.call_shows(
        format!("{}({args})", kind.getter()),
        crate::sys::sysv_create(kind, key),
        |_| "<id>".into(),
    )
}

/// Remove an object (`IPC_RMID`), narrated.
pub fn remove(n: &mut impl Narrate, kind: SysvKind, id: i32) -> nix::Result<()> {
    let call = match kind {
        SysvKind::Msg => "msgctl(<id>, IPC_RMID, NULL)",
        SysvKind::Sem => "semctl(<id>, 0, IPC_RMID)",
        SysvKind::Shm => "shmctl(<id>, IPC_RMID, NULL)",
    };
    n.call(call, crate::sys::sysv_remove(kind, id))
}
