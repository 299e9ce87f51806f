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

/// `msgget`/`semget`/`shmget(key, …, IPC_CREAT|IPC_EXCL|0600)` as a call
/// value; the id the kernel gives is shown as `<id>` (it is not stable).
#[derive(Debug, Clone, Copy)]
pub struct SysvGet {
    /// What kind of object.
    pub kind: SysvKind,
    /// Its key.
    pub key: i32,
}

impl std::fmt::Display for SysvGet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = self.key;
        let args = match self.kind {
            SysvKind::Msg => format!("{key:#x}, IPC_CREAT|IPC_EXCL|0600"),
            SysvKind::Sem => format!("{key:#x}, 1, IPC_CREAT|IPC_EXCL|0600"),
            SysvKind::Shm => format!("{key:#x}, 4096, IPC_CREAT|IPC_EXCL|0600"),
        };
        write!(f, "{}({args})", self.kind.getter())
    }
}

impl crate::op::Op for SysvGet {
    type Output = i32;
    fn run(&self) -> nix::Result<i32> {
        crate::sys::sysv_create(self.kind, self.key)
    }
    fn shown(&self, _: &i32) -> String {
        "<id>".into()
    }
}

/// `msgctl`/`semctl`/`shmctl(id, IPC_RMID)` as a call value.
#[derive(Debug, Clone, Copy)]
pub struct SysvRemove {
    /// What kind of object.
    pub kind: SysvKind,
    /// Its id.
    pub id: i32,
}

impl std::fmt::Display for SysvRemove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            SysvKind::Msg => "msgctl(<id>, IPC_RMID, NULL)",
            SysvKind::Sem => "semctl(<id>, 0, IPC_RMID)",
            SysvKind::Shm => "shmctl(<id>, IPC_RMID, NULL)",
        })
    }
}

impl crate::op::Op for SysvRemove {
    type Output = ();
    fn run(&self) -> nix::Result<()> {
        crate::sys::sysv_remove(self.kind, self.id)
    }
}

/// Create an object of `kind` with `key` (`IPC_CREAT|IPC_EXCL`), narrated.
pub fn create(n: &mut impl Narrate, kind: SysvKind, key: i32) -> nix::Result<i32> {
    n.run(SysvGet { kind, key })
}

/// Remove an object (`IPC_RMID`), narrated.
pub fn remove(n: &mut impl Narrate, kind: SysvKind, id: i32) -> nix::Result<()> {
    n.run(SysvRemove { kind, id })
}

/// `mq_open(name, flags[, 0600, {mq_maxmsg, mq_msgsize}])`: open or create a
/// POSIX message queue of the caller's IPC namespace.
#[derive(Debug, Clone)]
pub struct MqOpen {
    /// The queue's name (`/lab-10`).
    pub name: String,
    /// `Some((maxmsg, msgsize))` creates it exclusively, read-write, mode 0600;
    /// `None` opens it read-only.
    pub create: Option<(i64, i64)>,
}

impl std::fmt::Display for MqOpen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.create {
            Some((max, size)) => write!(
                f,
                "mq_open({:?}, O_RDWR|O_CREAT|O_EXCL, 0600, {{mq_maxmsg={max}, mq_msgsize={size}}})",
                self.name
            ),
            None => write!(f, "mq_open({:?}, O_RDONLY)", self.name),
        }
    }
}

impl crate::op::Op for MqOpen {
    type Output = nix::mqueue::MqdT;
    fn run(&self) -> nix::Result<nix::mqueue::MqdT> {
        use nix::mqueue::{MQ_OFlag, MqAttr, mq_open};
        use nix::sys::stat::Mode;
        match self.create {
            // nix passes the mode only together with attributes.
            Some((max, size)) => mq_open(
                self.name.as_str(),
                MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR,
                Mode::from_bits_truncate(0o600),
                Some(&MqAttr::new(0, max, size, 0)),
            ),
            None => mq_open(self.name.as_str(), MQ_OFlag::O_RDONLY, Mode::empty(), None),
        }
    }
    fn shown(&self, q: &nix::mqueue::MqdT) -> String {
        use std::os::fd::AsRawFd;
        q.as_raw_fd().to_string()
    }
}
