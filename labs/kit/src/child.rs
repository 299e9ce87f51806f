//! Child processes of a lab: forked, tied to the lab's life, talking back
//! over a socket pair. A child narrates through the same [`Narrate`] trait;
//! its events reach the report through the parent, in order. The fork (or
//! clone) itself is narrated by the parent from the call value it made
//! ([`crate::op::Fork`]), with the child's pid as `<child>`.
//!
//! A child and its parent talk in values: a [`Cue`] for a handshake (what
//! the other side waits for is named), any serializable value otherwise.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::KitError;
use crate::event::Event;
use crate::lab::CannotRun;
use crate::narrate::Narrate;
use crate::op::Fork;
use crate::sys::Forked;

#[derive(Debug, Serialize, Deserialize)]
enum Msg {
    Event(Event),
    Value(Value),
    Cue(Cue),
    Error(String),
    /// The child's step cannot run here; travels as itself, not as text, so
    /// that the parent's step is skipped or unsupported rather than failed.
    CannotRun(CannotRun),
}

impl Msg {
    /// An error of the child's body, as the parent should receive it.
    fn of_error(e: &anyhow::Error) -> Msg {
        match e.chain().find_map(|c| c.downcast_ref::<CannotRun>()) {
            Some(c) => Msg::CannotRun(c.clone()),
            None => Msg::Error(format!("{e:#}")),
        }
    }
}

/// An error a child reported, as the parent returns it.
fn reported(msg: Msg) -> Option<KitError> {
    match msg {
        Msg::Error(e) => Some(KitError::Child(e)),
        Msg::CannotRun(c) => Some(KitError::CannotRun(c)),
        Msg::Event(_) | Msg::Value(_) | Msg::Cue(_) => None,
    }
}

/// A handshake between a lab and its child: what one side tells the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cue {
    /// The child has done what it was made for and may be looked at.
    Ready,
    /// The parent has looked: the child may go on (usually: exit).
    Release,
    /// The parent has placed the child (in its cgroups, its maps written).
    Placed,
}

struct Channel {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Channel {
    fn new(sock: UnixStream) -> Result<Self, KitError> {
        let writer = sock
            .try_clone()
            .map_err(|e| KitError::Channel(format!("socketpair: {e}")))?;
        Ok(Channel {
            reader: BufReader::new(sock),
            writer,
        })
    }

    fn send(&mut self, msg: &Msg) -> Result<(), KitError> {
        let mut line = serde_json::to_string(msg).map_err(|e| KitError::Channel(e.to_string()))?;
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| KitError::Channel(format!("write: {e}")))
    }

    fn recv(&mut self) -> Result<Option<Msg>, KitError> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => serde_json::from_str(&line)
                .map(Some)
                .map_err(|e| KitError::Channel(format!("malformed message: {e}"))),
            Err(e) => Err(KitError::Channel(format!("read: {e}"))),
        }
    }
}

/// The child's side: narrate, and exchange values with the parent.
pub struct ChildCtx {
    chan: Channel,
}

impl Narrate for ChildCtx {
    fn emit(&mut self, event: Event) {
        // A broken channel means the parent is gone; PDEATHSIG ends us soon.
        let _ = self.chan.send(&Msg::Event(event));
    }
}

impl ChildCtx {
    /// Send a value to the parent ([`Child::recv`] gets it).
    pub fn send<T: Serialize>(&mut self, value: &T) -> Result<(), KitError> {
        let v = serde_json::to_value(value).map_err(|e| KitError::Channel(e.to_string()))?;
        self.chan.send(&Msg::Value(v))
    }

    /// Tell the parent `cue` ([`Child::wait_for`] waits for it).
    pub fn tell(&mut self, cue: Cue) -> Result<(), KitError> {
        self.chan.send(&Msg::Cue(cue))
    }

    /// Wait until the parent tells `cue` ([`Child::tell`]); anything else is an error.
    pub fn wait_for(&mut self, cue: Cue) -> Result<(), KitError> {
        match self.chan.recv()? {
            Some(Msg::Cue(c)) if c == cue => Ok(()),
            Some(other) => Err(KitError::Channel(format!(
                "waiting for {cue:?}, the parent sent {other:?}"
            ))),
            None => Err(KitError::Channel(format!(
                "waiting for {cue:?}, the parent closed the channel"
            ))),
        }
    }

    /// Report an error to the parent ([`Child::recv`] returns it), for a
    /// process that leaves without going back through [`spawn`].
    pub fn fail(&mut self, message: &str) {
        let _ = self.chan.send(&Msg::Error(message.to_string()));
    }

    /// Wait for a value from the parent ([`Child::send`]).
    pub fn recv<T: DeserializeOwned>(&mut self) -> Result<T, KitError> {
        match self.chan.recv()? {
            Some(Msg::Value(v)) => serde_json::from_value(v).map_err(|e| KitError::Channel(e.to_string())),
            Some(other) => Err(KitError::Channel(format!("unexpected message from parent: {other:?}"))),
            None => Err(KitError::Channel("parent closed the channel".into())),
        }
    }
}

/// The parent's handle on a child. Dropping it kills and reaps the child.
pub struct Child {
    pid: Pid,
    chan: Channel,
    reaped: bool,
    error: Option<KitError>,
}

/// Fork a child that runs `body`, then exits: 0 on success, 1 when `body`
/// returns an error (which the parent receives), 101 on a panic. The
/// `fork()` is narrated to `n`.
pub fn spawn<F>(n: &mut impl Narrate, body: F) -> Result<Child, KitError>
where
    F: FnOnce(&mut ChildCtx) -> anyhow::Result<()>,
{
    spawn_in(n, nix::sched::CloneFlags::empty(), body)
}

/// Like [`spawn`], but the child is born in new namespaces: `clone(flags)`
/// instead of `fork()`. With no flags it is [`spawn`].
pub fn spawn_in<F>(n: &mut impl Narrate, flags: nix::sched::CloneFlags, body: F) -> Result<Child, KitError>
where
    F: FnOnce(&mut ChildCtx) -> anyhow::Result<()>,
{
    let (ours, theirs) = UnixStream::pair().map_err(|e| KitError::Channel(format!("socketpair: {e}")))?;
    // What is buffered must not be printed twice, by both processes.
    let _ = std::io::stdout().flush();
    let forked = crate::op::fork_narrated(n, &Fork::new(flags));
    match forked {
        Err(errno) => Err(KitError::Sys {
            call: if flags.is_empty() { "fork()" } else { "clone()" },
            errno,
        }),
        Ok(Forked::Child) => {
            drop(ours);
            let code = match Channel::new(theirs) {
                Ok(chan) => {
                    let mut ctx = ChildCtx { chan };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut ctx)));
                    match outcome {
                        Ok(Ok(())) => 0,
                        Ok(Err(e)) => {
                            let _ = ctx.chan.send(&Msg::of_error(&e));
                            1
                        }
                        Err(_) => {
                            let _ = ctx.chan.send(&Msg::Error("the child panicked".into()));
                            101
                        }
                    }
                }
                Err(_) => 1,
            };
            let _ = std::io::stdout().flush();
            crate::sys::exit_child(code)
        }
        Ok(Forked::Parent(pid)) => {
            drop(theirs);
            Ok(Child {
                error: None,
                pid,
                chan: Channel::new(ours)?,
                reaped: false,
            })
        }
    }
}

impl Child {
    /// The child's pid as the parent sees it (a host pid: never put it in a report).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Send a value to the child.
    pub fn send<T: Serialize>(&mut self, value: &T) -> Result<(), KitError> {
        let v = serde_json::to_value(value).map_err(|e| KitError::Channel(e.to_string()))?;
        self.chan.send(&Msg::Value(v))
    }

    /// Tell the child `cue` ([`ChildCtx::wait_for`] waits for it).
    pub fn tell(&mut self, cue: Cue) -> Result<(), KitError> {
        self.chan.send(&Msg::Cue(cue))
    }

    /// Wait until the child tells `cue`, passing its narration on to `to`.
    pub fn wait_for(&mut self, cue: Cue, to: &mut impl Narrate) -> Result<(), KitError> {
        loop {
            match self.chan.recv()? {
                Some(Msg::Event(e)) => to.emit(e),
                Some(Msg::Cue(c)) if c == cue => return Ok(()),
                Some(Msg::Error(e)) => return Err(KitError::Child(e)),
                Some(other) => {
                    return Err(KitError::Channel(format!(
                        "waiting for {cue:?}, the child sent {other:?}"
                    )));
                }
                None => {
                    let status = waitpid(self.pid, None);
                    self.reaped = true;
                    return Err(KitError::Channel(format!(
                        "waiting for {cue:?}, the child ended ({status:?})"
                    )));
                }
            }
        }
    }

    /// Wait for the child's next value, passing its narration on to `to`.
    pub fn recv<T: DeserializeOwned>(&mut self, to: &mut impl Narrate) -> Result<T, KitError> {
        loop {
            match self.chan.recv()? {
                Some(Msg::Event(e)) => to.emit(e),
                Some(Msg::Value(v)) => return serde_json::from_value(v).map_err(|e| KitError::Channel(e.to_string())),
                Some(Msg::Cue(c)) => {
                    return Err(KitError::Channel(format!("waiting for a value, the child sent {c:?}")));
                }
                Some(Msg::Error(e)) => return Err(KitError::Child(e)),
                Some(Msg::CannotRun(c)) => return Err(KitError::CannotRun(c)),
                None => {
                    let status = waitpid(self.pid, None);
                    self.reaped = true;
                    return Err(KitError::Channel(format!(
                        "the child ended without answering ({status:?})"
                    )));
                }
            }
        }
    }

    /// Like [`Child::recv`], but `None` when the child closed the channel
    /// without a value (e.g. it replaced itself with `execve`); the child is
    /// not reaped, so [`Child::wait`] still gives its status.
    pub fn recv_or_eof<T: DeserializeOwned>(&mut self, to: &mut impl Narrate) -> Result<Option<T>, KitError> {
        loop {
            match self.chan.recv()? {
                Some(Msg::Event(e)) => to.emit(e),
                Some(Msg::Value(v)) => {
                    return serde_json::from_value(v)
                        .map(Some)
                        .map_err(|e| KitError::Channel(e.to_string()));
                }
                Some(Msg::Cue(c)) => {
                    return Err(KitError::Channel(format!("waiting for a value, the child sent {c:?}")));
                }
                Some(Msg::Error(e)) => return Err(KitError::Child(e)),
                Some(Msg::CannotRun(c)) => return Err(KitError::CannotRun(c)),
                None => return Ok(None),
            }
        }
    }

    /// Pass on the rest of the child's narration, then reap it.
    pub fn wait(mut self, to: &mut impl Narrate) -> Result<WaitStatus, KitError> {
        let mut error = None;
        loop {
            match self.chan.recv() {
                Ok(Some(Msg::Event(e))) => to.emit(e),
                Ok(Some(Msg::Value(_) | Msg::Cue(_))) => {}
                Ok(Some(m @ (Msg::Error(_) | Msg::CannotRun(_)))) => error = reported(m),
                Ok(None) | Err(_) => break,
            }
        }
        let status = waitpid(self.pid, None).map_err(|e| KitError::Sys {
            call: "waitpid()",
            errno: e,
        })?;
        self.reaped = true;
        match error {
            Some(e) => Err(e),
            None => Ok(status),
        }
    }

    /// The channel's descriptor, for a caller that polls it together with
    /// other things; call [`Child::pump`] when it is readable.
    pub fn channel_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.chan.reader.get_ref().as_fd()
    }

    /// Pass on what the child has sent so far, then return: `false` at the
    /// end of the channel. An error the child reported is kept for
    /// [`Child::reaped`].
    pub fn pump(&mut self, to: &mut impl Narrate) -> Result<bool, KitError> {
        loop {
            match self.chan.recv()? {
                Some(Msg::Event(e)) => to.emit(e),
                Some(Msg::Value(_) | Msg::Cue(_)) => {}
                Some(m @ (Msg::Error(_) | Msg::CannotRun(_))) => self.error = reported(m),
                None => return Ok(false),
            }
            if self.chan.reader.buffer().is_empty() {
                return Ok(true);
            }
        }
    }

    /// The caller has reaped the child itself (`waitpid`): pass on the rest
    /// of its channel and return the error it reported, if any.
    pub fn reaped(mut self, to: &mut impl Narrate) -> Result<(), KitError> {
        self.reaped = true;
        while self.pump(to).unwrap_or(false) {}
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Reap the child without reading its channel (after it was told to exit or killed).
    pub fn reap(mut self) -> Result<WaitStatus, KitError> {
        let status = waitpid(self.pid, None).map_err(|e| KitError::Sys {
            call: "waitpid()",
            errno: e,
        })?;
        self.reaped = true;
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
    }
}

/// A wait status in words that hold on every machine: `exited 0`, `killed by SIGKILL`.
pub fn describe(status: &WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited {code}"),
        WaitStatus::Signaled(_, sig, _) => format!("killed by {sig:?}"),
        other => format!("{other:?}")
            .split('(')
            .next()
            .unwrap_or("unknown")
            .to_lowercase(),
    }
}
